/*
 * Service worker of the citycard phone verification page: the page keeps working offline.
 * The page, its script, its words (texts.json) and the last lists fetched (trust list, status
 * lists, root key) are cached; every request goes to the network first (so lists stay fresh) and falls back to the
 * cache when there is no network. Signatures are checked by the page, never trusted here.
 */
"use strict";
const CACHE = "citycard-verify-v13"; // a new name when the shell changes: the old cache goes
const SHELL = ["./", "./index.html", "./verify.js", "./jsQR.js", "./names.json",
  "./venue.html", "./venue.css", "./venue.js", "./presentation.js", "./qrcode.js", "./venues.json",
  "./texts.json"]; // the pages' words in every language (api/phone/catalogue.py)
const LISTS = /^\/(\.well-known\/citycard\/(trust-list|root-key)|status\/[A-Za-z0-9._-]+)$/;

self.addEventListener("install", (event) => {
  event.waitUntil(
    caches.open(CACHE).then((cache) => cache.addAll(SHELL)).then(() => self.skipWaiting())
  );
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
  if (request.method !== "GET" || url.origin !== self.location.origin) return;
  const scope = new URL(self.registration.scope);
  if (!url.pathname.startsWith(scope.pathname) && !LISTS.test(url.pathname)) return;
  event.respondWith(
    fetch(request)
      .then((response) => {
        if (response.ok) {
          const copy = response.clone();
          caches.open(CACHE).then((cache) => cache.put(request, copy));
        }
        return response;
      })
      .catch(() =>
        caches.match(request, { ignoreSearch: true }).then((hit) => (hit ? offline(hit) : Response.error()))
      )
  );
});

// A cached answer, marked so that the page can say it is working offline.
async function offline(hit) {
  const headers = new Headers(hit.headers);
  headers.set("X-Citycard-Offline", "1");
  return new Response(await hit.arrayBuffer(), { status: hit.status, statusText: hit.statusText, headers });
}
