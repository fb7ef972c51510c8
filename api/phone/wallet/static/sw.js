/*
 * Service worker of the citycard wallet page: the page opens and works with no network.
 * Its own files are cached at install and served from the cache first (refreshed in the
 * background). The card itself is in IndexedDB, never in this cache, and the one-time pickup
 * (/wallet/pickups/...) always goes to the network and is never cached.
 */
"use strict";
const CACHE = "citycard-wallet-v8";
// The manifest here is the browser's language's; the page then asks for the card's
// (manifest.webmanifest?lang=...), kept by the fetch handler below as it is fetched.
const SHELL = [
  "./", "./index.html", "./wallet.js", "./wallet.css", "./texts.json", "./programmes.json",
  "./manifest.webmanifest", "./icon.svg", "./presentation.js", "./qrcode.js", "./jsQR.js",
  "./venues.json",
];

self.addEventListener("install", (event) => {
  event.waitUntil(caches.open(CACHE).then((cache) => cache.addAll(SHELL)).then(() => self.skipWaiting()));
});

self.addEventListener("activate", (event) => {
  event.waitUntil(
    caches.keys()
      .then((names) => Promise.all(names.filter((n) => n !== CACHE).map((n) => caches.delete(n))))
      .then(() => self.clients.claim())
  );
});

self.addEventListener("fetch", (event) => {
  const request = event.request;
  const url = new URL(request.url);
  const scope = new URL(self.registration.scope);
  if (request.method !== "GET" || url.origin !== self.location.origin) return;
  if (!url.pathname.startsWith(scope.pathname) || url.pathname.startsWith(scope.pathname + "pickups/")) return;
  event.respondWith(
    caches.open(CACHE).then(async (cache) => {
      // the address as asked first (the manifest differs by ?lang=), then any cached form
      const hit = (await cache.match(request)) || (await cache.match(request, { ignoreSearch: true }));
      const fresh = fetch(request)
        .then((response) => {
          if (response.ok) cache.put(request, response.clone());
          return response;
        })
        .catch(() => null);
      if (hit) {
        event.waitUntil(fresh);
        return hit;
      }
      return (await fresh) || Response.error();
    })
  );
});
