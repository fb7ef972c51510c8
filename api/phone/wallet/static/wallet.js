/*
 * The citycard wallet page (docs/wallet.md, "Our wallet page").
 *
 * 1. Opened from the kiosk's QR (/wallet/#p=<pickup id>&k=<key>): clears the fragment from the
 *    address bar first, fetches the sealed package once, decrypts it here (AES-256-GCM, the
 *    key from the fragment), imports the holder key as a NON-extractable ECDSA key and drops
 *    the JWK, and keeps the SD-JWT VC, the display data and that CryptoKey in IndexedDB.
 * 2. Shows the card (photo, name, validity, entitlements by name) in the holder's language
 *    (texts.json, from api/phone/translations/*.po).
 * 3. "Show to a venue": reads the venue's request QR (camera, or its text pasted), lists what
 *    it asks for in plain words, and only when the holder agrees shows the answer QR code(s):
 *    the requested disclosures and a key binding signed with the non-extractable key
 *    (presentation.js). Nothing leaves the phone except what the holder shows on its screen.
 * window.citycardWallet exposes the page's state for automation.
 */
"use strict";
(function () {
  const P = window.citycardPresentation;
  const $ = (id) => document.getElementById(id);
  const AAD = new TextEncoder().encode("citycard-wallet-package-1");
  const DB_NAME = "citycard-wallet";
  const STORE = "card";
  const CARD = "card";
  const ANSWER_CHARS = 600; // one version 15 QR at level M; longer answers are shown in parts
  const ADVANCE_MS = 1800;
  const wallet = { card: null, items: null, request: null, parts: [], part: 0, language: "en", problem: null };
  let texts = { languages: { en: { dir: "ltr", texts: {} } } };
  let programmes = {};
  let venues = [];
  let timer = null;
  let stopCamera = null;

  class Shown extends Error {} // a problem whose message is one of the page's texts (msgid)

  // -- words -----------------------------------------------------------------------------------
  function t(msgid, values) {
    const table = (texts.languages[wallet.language] || {}).texts || {};
    let s = table[msgid] || msgid;
    for (const [k, v] of Object.entries(values || {})) s = s.split("{" + k + "}").join(v);
    return s;
  }
  function chooseLanguage(tag) {
    const known = texts.languages;
    for (const c of [tag, String(tag || "").split("-")[0], "en"]) if (c && known[c]) return c;
    return "en";
  }
  function applyLanguage(tag) {
    wallet.language = chooseLanguage(tag);
    document.documentElement.lang = wallet.language;
    document.documentElement.dir = (texts.languages[wallet.language] || {}).dir || "ltr";
    for (const node of document.querySelectorAll("[data-t]")) node.textContent = t(node.getAttribute("data-t"));
  }
  function named(names, fallback) {
    if (!names) return fallback;
    return names[wallet.language] || names[wallet.language.split("-")[0]] || names.en || fallback;
  }
  function say(msgid, values) {
    $("status").textContent = msgid ? t(msgid, values) : "";
    $("status").hidden = !msgid;
  }
  async function loadJson(name, fallback) {
    try {
      const response = await fetch(name, { credentials: "omit" });
      return response.ok ? await response.json() : fallback;
    } catch (e) {
      return fallback;
    }
  }

  // -- IndexedDB: one card per phone ----------------------------------------------------------
  function openDb() {
    return new Promise((resolve, reject) => {
      const req = indexedDB.open(DB_NAME, 1);
      req.onupgradeneeded = () => req.result.createObjectStore(STORE);
      req.onsuccess = () => resolve(req.result);
      req.onerror = () => reject(req.error);
    });
  }
  async function dbDo(mode, action) {
    const db = await openDb();
    return new Promise((resolve, reject) => {
      const tx = db.transaction(STORE, mode);
      const req = action(tx.objectStore(STORE));
      tx.oncomplete = () => resolve(req.result);
      tx.onerror = () => reject(tx.error);
    });
  }
  const loadCard = () => dbDo("readonly", (s) => s.get(CARD));
  const saveCard = (card) => dbDo("readwrite", (s) => s.put(card, CARD));

  // -- the one-time pickup ----------------------------------------------------------------------
  async function pickup(id, keyText) {
    let response;
    try {
      response = await fetch("pickups/" + encodeURIComponent(id), { cache: "no-store", credentials: "omit" });
    } catch (e) {
      throw new Shown("The card could not be opened. Check the network and scan the kiosk's code again.");
    }
    if (response.status === 404) {
      throw new Shown("This card was already taken or its time ran out. Ask at the kiosk or the city card office for a new code.");
    }
    if (!response.ok) throw new Shown("The card could not be opened. Check the network and scan the kiosk's code again.");
    let pkg;
    try {
      const sealed = P.fromB64u((await response.json()).ciphertext);
      const key = await crypto.subtle.importKey("raw", P.fromB64u(keyText), "AES-GCM", false, ["decrypt"]);
      const plain = await crypto.subtle.decrypt(
        { name: "AES-GCM", iv: sealed.slice(0, 12), additionalData: AAD }, key, sealed.slice(12)
      );
      pkg = JSON.parse(new TextDecoder().decode(plain));
    } catch (e) {
      throw new Shown("The card could not be opened. Check the network and scan the kiosk's code again.");
    }
    const jwk = pkg && pkg.holder_key;
    if (!pkg || pkg.v !== 1 || typeof pkg.sd_jwt !== "string" || !jwk) {
      throw new Shown("The card could not be opened. Check the network and scan the kiosk's code again.");
    }
    // Non-extractable: the browser can sign with it, but nothing (this page included) can
    // read it out again; only the members of a P-256 private key are passed in.
    const holderKey = await crypto.subtle.importKey(
      "jwk", { kty: jwk.kty, crv: jwk.crv, x: jwk.x, y: jwk.y, d: jwk.d },
      { name: "ECDSA", namedCurve: "P-256" }, false, ["sign"]
    );
    delete pkg.holder_key;
    const card = { sd_jwt: pkg.sd_jwt, mdoc: typeof pkg.mdoc === "string" ? pkg.mdoc : null, display: pkg.display || {}, key: holderKey };
    await saveCard(card);
    return card;
  }

  // -- the card -------------------------------------------------------------------------------
  function imageType(b64) {
    if (b64.startsWith("iVBOR")) return "image/png";
    if (b64.startsWith("UklGR")) return "image/webp";
    return "image/jpeg";
  }
  function day(seconds) {
    const when = new Date(seconds * 1000);
    try {
      return new Intl.DateTimeFormat(wallet.language, { dateStyle: "long", timeZone: "UTC" }).format(when);
    } catch (e) {
      return when.toISOString().slice(0, 10);
    }
  }
  function entitlementName(code) {
    const own = (programmes[wallet.items.items.program] || {}).entitlements || {};
    return named(own[code], code);
  }
  async function showCard() {
    const card = wallet.card;
    wallet.items = await P.credentialItems(card.sd_jwt);
    applyLanguage(card.display.language);
    const items = wallet.items.items;
    const photo = $("photo");
    if (typeof items.photo === "string") {
      photo.src = "data:" + imageType(items.photo) + ";base64," + items.photo;
      photo.hidden = false;
    }
    $("name").textContent = [items.given_name, items.family_name].filter(Boolean).join(" ");
    const prog = programmes[items.program] || {};
    $("programme").textContent = card.display.programme || named(prog.names, items.program || "");
    const until = card.display.valid_until || wallet.items.expires;
    $("valid-until").textContent = day(until - 1);
    const list = $("entitlements");
    list.replaceChildren(...wallet.items.entitlements.map((code) => {
      const li = document.createElement("li");
      li.textContent = entitlementName(code);
      li.setAttribute("data-code", code);
      return li;
    }));
    say(null);
    show("card");
  }
  function show(section) {
    for (const id of ["card", "scan", "consent", "answer"]) $(id).hidden = id !== section;
    document.body.setAttribute("data-state", section);
  }

  // -- a venue's request ----------------------------------------------------------------------
  const ITEM_WORDS = {
    photo: "Your photo",
    given_name: "Your given name",
    family_name: "Your family name",
    birth_date: "Your date of birth",
    document_number: "Your card number",
    age_over_18: "You are over 18",
    age_over_65: "You are over 65",
  };
  function itemWords(item) {
    if (item.startsWith(P.ENTITLEMENT)) return entitlementName(item.slice(P.ENTITLEMENT.length));
    return ITEM_WORDS[item] ? t(ITEM_WORDS[item]) : t("Another detail of your card: {item}", { item });
  }
  function held(item) {
    if (item.startsWith(P.ENTITLEMENT)) return wallet.items.entitlements.includes(item.slice(P.ENTITLEMENT.length));
    return item in wallet.items.items;
  }
  function readRequest(text) {
    let request;
    try {
      request = P.parseRequest(String(text).trim());
    } catch (e) {
      $("scan-problem").textContent = t("This is not a venue's request code. Scan the code the venue shows.");
      return;
    }
    if (stopCamera) stopCamera();
    wallet.request = request;
    const known = venues.find((v) => v.name === request.venue);
    // the venue's title in the holder's language (venues.json, from the terminal's catalogue)
    const title = known && (((known.languages || {})[wallet.language] || {}).title || known.title);
    $("consent-title").textContent = t("{venue} asks for:", { venue: title || request.venue });
    $("consent-items").replaceChildren(...request.items.map((item) => {
      const li = document.createElement("li");
      li.setAttribute("data-item", item);
      li.textContent = itemWords(item);
      if (!held(item)) {
        li.className = "missing";
        li.textContent += " " + t("(not on your card)");
      }
      return li;
    }));
    show("consent");
  }
  function decoder() {
    if ("BarcodeDetector" in window) {
      const detector = new window.BarcodeDetector({ formats: ["qr_code"] });
      return async (video) => (await detector.detect(video)).map((c) => c.rawValue).find((v) => typeof v === "string") || null;
    }
    if (typeof window.jsQR !== "function") return null;
    const canvas = document.createElement("canvas");
    const ctx = canvas.getContext("2d", { willReadFrequently: true });
    return async (video) => {
      const w = video.videoWidth, h = video.videoHeight;
      if (!w || !h) return null;
      canvas.width = w;
      canvas.height = h;
      ctx.drawImage(video, 0, 0, w, h);
      const found = window.jsQR(ctx.getImageData(0, 0, w, h).data, w, h, { inversionAttempts: "attemptBoth" });
      return found ? found.data : null;
    };
  }
  async function scan() {
    $("request-text").value = "";
    $("scan-problem").textContent = "";
    show("scan");
    const decode = decoder();
    if (!decode || !navigator.mediaDevices) return; // the paste box is there
    const video = $("camera");
    let stream;
    let running = true;
    stopCamera = () => {
      running = false;
      if (stream) stream.getTracks().forEach((track) => track.stop());
      video.hidden = true;
      stopCamera = null;
    };
    try {
      stream = await navigator.mediaDevices.getUserMedia({ video: { facingMode: "environment" } });
      video.srcObject = stream;
      video.hidden = false;
      await video.play();
      while (running) {
        const text = await decode(video);
        if (text && text.startsWith(P.REQUEST_PREFIX)) {
          $("request-text").value = text;
          readRequest(text);
          break;
        }
        await new Promise((r) => setTimeout(r, 100));
      }
    } catch (e) {
      $("scan-problem").textContent = t("The camera cannot be used here; paste the code's text instead.");
    } finally {
      if (stopCamera) stopCamera();
    }
  }

  // -- the answer -----------------------------------------------------------------------------
  async function agree() {
    const request = wallet.request;
    const presentation = await P.present(wallet.card.sd_jwt, request, wallet.card.key);
    const text = await P.responseQr(presentation);
    wallet.parts = text.length <= ANSWER_CHARS ? [text] : P.splitQr(text, ANSWER_CHARS);
    wallet.part = 0;
    wallet.request = null;
    $("answer-next").hidden = wallet.parts.length === 1;
    showPart();
    show("answer");
    // parts go round by themselves for a venue's camera; a tap on Next takes over
    if (wallet.parts.length > 1) timer = setInterval(() => step(), ADVANCE_MS);
  }
  function showPart() {
    const box = $("answer-qr");
    box.replaceChildren(P.drawQr(wallet.parts[wallet.part], 4));
    box.setAttribute("data-part", String(wallet.part + 1));
    box.setAttribute("data-count", String(wallet.parts.length));
    $("answer-counter").textContent = wallet.parts.length > 1 ? t("Code {i} of {n}", { i: wallet.part + 1, n: wallet.parts.length }) : "";
  }
  function step() {
    wallet.part = (wallet.part + 1) % wallet.parts.length;
    showPart();
  }
  function stopAdvancing() {
    if (timer) clearInterval(timer);
    timer = null;
  }
  function done(message) {
    stopAdvancing();
    if (stopCamera) stopCamera();
    wallet.parts = [];
    wallet.request = null;
    $("answer-qr").replaceChildren();
    show("card");
    say(message || null);
  }

  // -- start ----------------------------------------------------------------------------------
  async function start() {
    const fragment = new URLSearchParams(location.hash.slice(1));
    const id = fragment.get("p");
    const key = fragment.get("k");
    // the key must not stay in the address bar, the history or a bookmark
    if (location.hash) history.replaceState(null, "", location.pathname + location.search);
    [texts, programmes, venues] = await Promise.all([
      loadJson("texts.json", texts), loadJson("programmes.json", {}), loadJson("venues.json", []),
    ]);
    applyLanguage(navigator.language);
    $("show-venue").addEventListener("click", scan);
    $("read-request").addEventListener("click", () => readRequest($("request-text").value));
    $("scan-cancel").addEventListener("click", () => done("Nothing was shared."));
    $("agree").addEventListener("click", agree);
    $("decline").addEventListener("click", () => done("Nothing was shared."));
    $("answer-next").addEventListener("click", () => {
      stopAdvancing();
      step();
    });
    $("answer-done").addEventListener("click", () => done(null));
    try {
      wallet.card = id && key ? await pickup(id, key) : await loadCard();
    } catch (e) {
      wallet.problem = e instanceof Shown ? e.message : "The card could not be opened. Check the network and scan the kiosk's code again.";
      wallet.card = await loadCard().catch(() => null);
    }
    if (wallet.card) await showCard();
    else say("No card on this phone yet. Scan the code the kiosk shows at the end of your enrolment.");
    if (wallet.problem) say(wallet.problem);
    if ("serviceWorker" in navigator) navigator.serviceWorker.register("sw.js").catch(() => {});
    document.body.setAttribute("data-ready", "1");
  }

  window.citycardWallet = wallet;
  if (document.readyState === "loading") document.addEventListener("DOMContentLoaded", start);
  else start();
})();
