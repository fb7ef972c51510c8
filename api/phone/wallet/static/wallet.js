/*
 * The citycard wallet page (docs/wallet.md, "Our wallet page").
 *
 * 1. Opened from the kiosk's QR (/wallet/#p=<pickup id>&k=<key>), on load or as a new fragment
 *    of a wallet tab already open: clears the fragment from the address bar first, checks the
 *    link whole (a damaged link must not spend the one-time pickup), fetches the sealed package
 *    once with the proof that it holds the key (a key garbled into another is refused and the
 *    pickup stays), decrypts it here (AES-256-GCM, the key from the fragment), checks that the card
 *    reads, imports the holder key as a NON-extractable ECDSA key and drops the JWK, and keeps
 *    the SD-JWT VC, the display data and that CryptoKey in IndexedDB.
 * 2. Shows the card (photo, name, validity, entitlements by name) in the holder's language
 *    (texts.json, from api/phone/translations/*.po; programmes.json, the names the venue page
 *    shows). A stored card that no longer reads is said so, and can be removed.
 * 3. "Show to a venue": reads the venue's request QR (camera, or its text pasted), lists what
 *    it asks for in plain words (a request out of date is refused, and a venue the page does
 *    not know is named only as its code calls itself: the request is not signed), and only
 *    when the holder agrees shows the answer QR code(s):
 *    the requested disclosures and a key binding signed with the non-extractable key
 *    (presentation.js). Nothing leaves the phone except what the holder shows on its screen.
 * window.citycardWallet exposes the page's state for automation.
 */
"use strict";
(function () {
  const P = window.citycardPresentation;
  const $ = (id) => document.getElementById(id);
  const AAD = new TextEncoder().encode("citycard-wallet-package-1");
  const PROOF_INFO = new TextEncoder().encode("citycard wallet pickup proof 1");
  const DB_NAME = "citycard-wallet";
  const STORE = "card";
  const CARD = "card";
  const PROBE = "probe";
  const ANSWER_CHARS = 600; // one version 15 QR at level M; longer answers are shown in parts
  const ADVANCE_MS = 1800;
  // A venue takes an answer to its request for REQUEST_WINDOW seconds, and allows the phone's
  // and its own clock to differ by CLOCK_SKEW (cardio.presentation.REQUEST_WINDOW, the
  // verifier policy's clock_skew): a request outside that cannot be answered.
  const REQUEST_WINDOW = 300;
  const CLOCK_SKEW = 300;
  // The kiosk's link: a pickup id of 16 bytes and a key of 32, base64url (docs/wallet.md).
  // The last character carries the encoding's unused zero bits, so only some can end one: a
  // camera's misreading there is a damaged link, not another (missing) card.
  const PICKUP_ID = /^[A-Za-z0-9_-]{21}[AQgw]$/;
  const PACKAGE_KEY = /^[A-Za-z0-9_-]{42}[AEIMQUYcgkosw048]$/;
  // Room a card needs in the browser's storage (a package is at most 256 KiB sealed): checked
  // before the pickup is taken, since taking it deletes it from the issuer.
  const ROOM_NEEDED = 1024 * 1024;
  // A card is taken until 12 h after its expiry instant (cardio.verify's expiry grace: the
  // printed last day ends last at UTC-12); after that every venue refuses it.
  const EXPIRY_GRACE = 12 * 3600;
  // Characters that reorder text: a venue's own name must not turn the sentence round.
  const BIDI_CONTROLS = /[\u061c\u200e\u200f\u202a-\u202e\u2066-\u2069]/g;
  const wallet = { card: null, items: null, request: null, parts: [], part: 0, language: "en", problem: null };
  let texts = { languages: { en: { dir: "ltr", texts: {} } } };
  let programmes = {};
  let venues = [];
  let timer = null;
  let stopCamera = null;

  class Shown extends Error {} // a problem whose message is one of the page's texts (msgid)

  // -- words -----------------------------------------------------------------------------------
  function N_(msgid) { // marks a msgid (api/phone/catalogue.py); t() translates it when shown
    return msgid;
  }
  const NO_NETWORK = N_("The card could not be opened. Check the network and scan the kiosk's code again.");
  const DAMAGED_LINK = N_("The link to your card is damaged or incomplete. Scan the kiosk's code again.");
  const UNREADABLE_PACKAGE = N_("The card in this code cannot be read. Ask at the kiosk or the city card office for a new code.");
  // Many phones share one public address (an office's Wi-Fi, a carrier's): the issuer then
  // asks them to wait (429); the pickup stays. A server error is not the phone's network either.
  const TOO_MANY_TRIES = N_("Too many tries from this network right now. Wait a minute, then scan the kiosk's code again; your card is still waiting.");
  const SERVICE_DOWN = N_("The city's card service has a problem right now. Scan the kiosk's code again in a few minutes.");
  const NO_CARD = N_("No card on this phone yet. Scan the code the kiosk shows at the end of your enrolment.");
  // Over plain http the browser withholds WebCrypto: nothing can be opened, kept or shown.
  const INSECURE_PAGE = N_("This page works only when it is opened over https; open its https address.");
  const STORED_BROKEN = N_("The card kept on this phone cannot be read. Remove it, and ask at a kiosk or the city card office for a new one.");
  const NO_ROOM = N_("This phone has no room left to keep your card. Free some space, then scan the kiosk's code again: your card is still waiting.");
  const NO_STORAGE = N_("This browser cannot keep your card (a private window, or storage turned off). Open the kiosk's code in a normal browser window: your card is still waiting.");
  const NOT_KEPT = N_("Your card could not be kept on this phone: it is shown only until you close this page. Ask at the kiosk or the city card office for a new code.");
  const EXPIRED = N_("This card has expired, so venues will not accept it. Renew it at the kiosk or the city card office.");
  const ALREADY_HERE = N_("This card is already on this phone.");
  function t(msgid, values) {
    const table = (texts.languages[wallet.language] || {}).texts || {};
    let s = table[msgid] || msgid;
    for (const [k, v] of Object.entries(values || {})) s = s.split("{" + k + "}").join(v);
    return s;
  }
  // The browser's languages in its order (zh-TW is zh-Hant, never zh: presentation.js has the
  // rule every phone page shares, cardio.languages.match's).
  function browserLanguages() {
    return navigator.languages && navigator.languages.length ? navigator.languages : [navigator.language];
  }
  // The first of `tags` the page has (else English): its words, direction, and the installed
  // app's name (the manifest in that language, api/phone/wallet/__init__.py).
  function applyLanguage(tags) {
    wallet.language = P.pickLanguage(tags, Object.keys(texts.languages));
    document.documentElement.lang = wallet.language;
    document.documentElement.dir = (texts.languages[wallet.language] || {}).dir || "ltr";
    for (const node of document.querySelectorAll("[data-t]")) node.textContent = t(node.getAttribute("data-t"));
    const manifest = document.querySelector('link[rel="manifest"]');
    if (manifest) manifest.setAttribute("href", "manifest.webmanifest?lang=" + encodeURIComponent(wallet.language));
  }
  // A name in the holder's language, else English: the page's languages are exactly the keys
  // these tables use (a language missing from one has the English name; zh is not zh-Hant).
  function named(names, fallback) {
    if (!names) return fallback;
    return names[wallet.language] || names.en || fallback;
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
      // a full storage aborts the transaction (QuotaExceededError) without an error event
      tx.onabort = () => reject(tx.error || new Error("The storage transaction was aborted."));
    });
  }
  // Whether this browser can keep a card now: storage that opens and takes a write, with room
  // for a card. A Shown problem otherwise, before the one-time pickup is spent.
  async function checkStorage() {
    try {
      await dbDo("readwrite", (s) => s.put(1, PROBE));
      await dbDo("readwrite", (s) => s.delete(PROBE));
    } catch (e) {
      throw new Shown(e && e.name === "QuotaExceededError" ? NO_ROOM : NO_STORAGE);
    }
    let estimate = null;
    try {
      estimate = navigator.storage && navigator.storage.estimate ? await navigator.storage.estimate() : null;
    } catch (e) {
      estimate = null; // the browser does not say: the write above is what there is to go by
    }
    if (estimate && Number.isFinite(estimate.quota) && estimate.quota - (estimate.usage || 0) < ROOM_NEEDED) {
      throw new Shown(NO_ROOM);
    }
  }
  const loadCard = () => dbDo("readonly", (s) => s.get(CARD));
  const saveCard = (card) => dbDo("readwrite", (s) => s.put(card, CARD));
  const removeCard = () => dbDo("readwrite", (s) => s.delete(CARD));

  function isPlainObject(v) {
    return typeof v === "object" && v !== null && !Array.isArray(v);
  }
  // What the page reads of a card ({items, entitlements, expires, ...}), or an Error: the
  // checks showCard and agree rely on, for a stored card and for a package before it is kept.
  async function readCard(sdJwt, display) {
    const read = await P.credentialItems(sdJwt);
    if (!isPlainObject(read.items) || !Array.isArray(read.entitlements) || !Number.isInteger(read.expires)) {
      throw new Error("The credential lacks what the page shows.");
    }
    if (!isPlainObject(display)) throw new Error("The card's display data is not an object.");
    return read;
  }
  function isHolderKey(key) {
    return key instanceof CryptoKey && key.type === "private" && key.usages.includes("sign");
  }

  // -- the one-time pickup ----------------------------------------------------------------------
  // The offer in the fragment, checked whole before anything is fetched: the first fetch
  // deletes the pickup, so a link cut short or garbled must be refused here, while the kiosk's
  // code still works. null when the fragment holds no offer at all.
  function offerIn(fragmentText) {
    const fragment = new URLSearchParams(fragmentText);
    if (!fragment.has("p") && !fragment.has("k")) return null;
    const ids = fragment.getAll("p");
    const keys = fragment.getAll("k");
    const damaged = { problem: DAMAGED_LINK };
    if (ids.length !== 1 || keys.length !== 1 || !PICKUP_ID.test(ids[0]) || !PACKAGE_KEY.test(keys[0])) return damaged;
    let key;
    try {
      key = P.fromB64u(keys[0]);
    } catch (e) {
      return damaged;
    }
    return key.length === 32 ? { id: ids[0], key } : damaged;
  }
  // Reads the fragment and removes it from the address bar at once: the key must not stay in
  // the address bar, the history or a bookmark.
  function takeFragment() {
    const text = location.hash.slice(1);
    if (location.hash || location.href.endsWith("#")) history.replaceState(null, "", location.pathname + location.search);
    return text ? offerIn(text) : null;
  }
  async function pickup(offer) {
    if (!window.crypto || !crypto.subtle) throw new Shown(INSECURE_PAGE); // the pickup stays
    if (offer.problem) throw new Shown(offer.problem);
    const taken = await pickupMark(offer.id);
    if (wallet.card && wallet.card.taken === taken) throw new Shown(ALREADY_HERE); // scanned again
    await checkStorage(); // the pickup stays
    let aesKey;
    let proof;
    try {
      aesKey = await crypto.subtle.importKey("raw", offer.key, "AES-GCM", false, ["decrypt"]);
      // The proof that this page holds K (cardio.wallet_package.pickup_proof): the issuer
      // hands the pickup over only for it, so a key garbled into another valid-looking one
      // is refused there and the pickup stays.
      const macKey = await crypto.subtle.importKey("raw", offer.key, { name: "HMAC", hash: "SHA-256" }, false, ["sign"]);
      proof = P.b64u(new Uint8Array(await crypto.subtle.sign("HMAC", macKey, PROOF_INFO)));
    } catch (e) {
      throw new Shown(DAMAGED_LINK);
    }
    let response;
    try {
      const address = "pickups/" + encodeURIComponent(offer.id) + "?proof=" + proof;
      response = await fetch(address, { cache: "no-store", credentials: "omit" });
    } catch (e) {
      throw new Shown(NO_NETWORK);
    }
    if (response.status === 403) throw new Shown(DAMAGED_LINK); // pickup_link_damaged: it stays
    if (response.status === 404) {
      throw new Shown("This card was already taken or its time ran out. Ask at the kiosk or the city card office for a new code.");
    }
    if (response.status === 429) throw new Shown(TOO_MANY_TRIES);
    if (response.status >= 500) throw new Shown(SERVICE_DOWN);
    if (!response.ok) throw new Shown(NO_NETWORK);
    // From here on the pickup is gone from the issuer: a failure needs a new code.
    let pkg;
    try {
      const sealed = P.fromB64u((await response.json()).ciphertext);
      const plain = await crypto.subtle.decrypt(
        { name: "AES-GCM", iv: sealed.slice(0, 12), additionalData: AAD }, aesKey, sealed.slice(12)
      );
      pkg = JSON.parse(new TextDecoder("utf-8", { fatal: true }).decode(plain));
    } catch (e) {
      throw new Shown(UNREADABLE_PACKAGE);
    }
    const jwk = isPlainObject(pkg) ? pkg.holder_key : null;
    const display = isPlainObject(pkg) && pkg.display !== undefined ? pkg.display : {};
    if (!isPlainObject(pkg) || pkg.v !== 1 || typeof pkg.sd_jwt !== "string" || !isPlainObject(jwk)) {
      throw new Shown(UNREADABLE_PACKAGE);
    }
    let read;
    let holderKey;
    try {
      read = await readCard(pkg.sd_jwt, display); // it reads as the page will read it
      // Non-extractable: the browser can sign with it, but nothing (this page included) can
      // read it out again; only the members of a P-256 private key are passed in.
      holderKey = await crypto.subtle.importKey(
        "jwk", { kty: jwk.kty, crv: jwk.crv, x: jwk.x, y: jwk.y, d: jwk.d },
        { name: "ECDSA", namedCurve: "P-256" }, false, ["sign"]
      );
    } catch (e) {
      throw new Shown(UNREADABLE_PACKAGE);
    }
    delete pkg.holder_key;
    const card = { sd_jwt: pkg.sd_jwt, mdoc: typeof pkg.mdoc === "string" ? pkg.mdoc : null, display, key: holderKey, taken };
    try {
      await saveCard(card);
    } catch (e) {
      // the pickup is spent: the card is shown for as long as the page is open, and said so
      return { card, read, problem: NOT_KEPT };
    }
    // ask the browser not to clear the card when the phone runs short of space
    if (navigator.storage && navigator.storage.persist) navigator.storage.persist().catch(() => {});
    return { card, read, problem: null };
  }
  // Which pickup a card came from (SHA-256 of its id, kept with the card): the same kiosk code
  // scanned again is then "already on this phone", not "already taken".
  async function pickupMark(id) {
    try {
      return P.b64u(new Uint8Array(await crypto.subtle.digest("SHA-256", new TextEncoder().encode(id))));
    } catch (e) {
      return null;
    }
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
  // An entitlement by its programme's name for it in the holder's language (programmes.json:
  // the names the venue and verification pages show); one the programme does not name, by
  // the venue's label for it (venues.json), else its code.
  function entitlementName(code, venue) {
    const own = (programmes[wallet.items.items.program] || {}).entitlements || {};
    if (own[code]) return named(own[code], code);
    if (venue) {
      const item = P.ENTITLEMENT + code;
      const labels = ((venue.languages || {})[wallet.language] || {}).labels || {};
      const label = labels[item] || ((venue.items || []).find((i) => i.item === item) || {}).label;
      if (typeof label === "string" && label) return label;
    }
    return code;
  }
  function showCard() {
    const card = wallet.card;
    const display = card.display;
    applyLanguage([display.language, ...browserLanguages()]);
    const items = wallet.items.items;
    const photo = $("photo");
    if (typeof items.photo === "string") {
      photo.src = "data:" + imageType(items.photo) + ";base64," + items.photo;
      photo.hidden = false;
    } else {
      photo.removeAttribute("src");
      photo.hidden = true;
    }
    $("name").textContent = [items.given_name, items.family_name].filter((n) => typeof n === "string" && n).join(" ");
    const prog = programmes[items.program] || {};
    const printed = typeof display.programme === "string" && display.programme;
    $("programme").textContent = printed || named(prog.names, String(items.program || ""));
    const until = Number.isInteger(display.valid_until) ? display.valid_until : wallet.items.expires;
    $("valid-until").textContent = day(until - 1);
    document.body.toggleAttribute("data-expired", expired());
    const list = $("entitlements");
    list.replaceChildren(...wallet.items.entitlements.map((code) => {
      const li = document.createElement("li");
      li.textContent = entitlementName(code);
      li.setAttribute("data-code", code);
      return li;
    }));
    say(expired() ? EXPIRED : null);
    show("card");
  }
  function expired() {
    return Boolean(wallet.items) && Date.now() / 1000 > wallet.items.expires + EXPIRY_GRACE;
  }
  // One section at a time; "empty" (no card on the phone) shows none of them.
  function show(section) {
    for (const id of ["card", "broken", "scan", "consent", "answer"]) $(id).hidden = id !== section;
    document.body.setAttribute("data-state", section);
  }
  function showEmpty() {
    wallet.card = null;
    wallet.items = null;
    show("empty");
    say(NO_CARD);
  }
  // The card in IndexedDB, shown; or why there is none to show.
  async function openStored() {
    let card;
    try {
      card = await loadCard();
    } catch (e) {
      card = undefined; // no IndexedDB here (a private window may have none)
    }
    if (!card) return showEmpty();
    try {
      if (!isHolderKey(card.key)) throw new Error("The stored card has no holder key.");
      wallet.items = await readCard(card.sd_jwt, card.display);
      wallet.card = card;
      showCard();
    } catch (e) {
      wallet.card = null;
      wallet.items = null;
      show("broken"); // what is stored cannot be shown or used: offer to remove it
      say(STORED_BROKEN);
    }
  }
  async function removeStored() {
    try {
      await removeCard();
    } catch (e) {
      // nothing to remove, or no IndexedDB: either way no card is left to show
    }
    showEmpty();
  }

  // -- a venue's request ----------------------------------------------------------------------
  // Every item a request can name (cardio.wallet_claims.ITEMS) but entitlements, in words.
  const ITEM_WORDS = {
    photo: N_("Your photo"),
    given_name: N_("Your given name"),
    family_name: N_("Your family name"),
    birth_date: N_("Your date of birth"),
    sex: N_("Your sex"),
    languages: N_("Your languages"),
    program: N_("Your city card programme"),
    document_number: N_("Your card number"),
    age_over_18: N_("Whether you are over 18"),
    age_over_65: N_("Whether you are over 65"),
    resident_of: N_("Your city of residence"),
  };
  function itemWords(item, venue) {
    if (item.startsWith(P.ENTITLEMENT)) return entitlementName(item.slice(P.ENTITLEMENT.length), venue);
    return Object.hasOwn(ITEM_WORDS, item) ? t(ITEM_WORDS[item]) : t("Another detail of your card: {item}", { item });
  }
  function held(item) {
    if (item.startsWith(P.ENTITLEMENT)) return wallet.items.entitlements.includes(item.slice(P.ENTITLEMENT.length));
    return item in wallet.items.items;
  }
  // Whether the venue would still take an answer to `request` made now (its rule, with the
  // clock skew it allows: this phone's clock is not the venue's).
  function inTime(request) {
    const now = Date.now() / 1000;
    return request.iat <= now + CLOCK_SKEW && now - request.iat <= REQUEST_WINDOW + CLOCK_SKEW;
  }
  // A venue asks for every code of an entitlement line (a card carries the one its programme
  // issues): a line the card holds is listed by its code alone, one it does not hold once.
  function consentItems(items, venue) {
    const line = (item) => (venue && item.startsWith(P.ENTITLEMENT) ? (venue.items.find((i) => i.item === item) || {}).label || null : null);
    const heldLines = new Set(items.filter((i) => held(i) && line(i)).map(line));
    const seen = new Set();
    return items.filter((item) => {
      const name = line(item);
      if (name === null || held(item)) return true;
      if (heldLines.has(name) || seen.has(name)) return false;
      seen.add(name);
      return true;
    });
  }
  const STALE_REQUEST = N_("This code is too old or its time is wrong. Ask the venue to show a new code, and check that this phone's clock is right.");
  // true when the consent list is shown; else the scan section says why not.
  function readRequest(text) {
    let request;
    try {
      request = P.parseRequest(String(text).trim());
    } catch (e) {
      $("scan-problem").textContent = t("This is not a venue's request code. Scan the code the venue shows.");
      return false;
    }
    if (!inTime(request)) {
      $("scan-problem").textContent = t(STALE_REQUEST);
      return false;
    }
    if (expired()) {
      $("scan-problem").textContent = t(EXPIRED);
      return false;
    }
    if (stopCamera) stopCamera();
    wallet.request = request;
    // The request is not signed: its venue's name is trusted only when it asks for nothing
    // beyond what that venue type asks for (venues.json); else it is what the code calls itself.
    const sameName = venues.find((v) => v.name === request.venue);
    const allowed = new Set(((sameName || {}).items || []).map((i) => i.item));
    const known = sameName && request.items.every((item) => allowed.has(item)) ? sameName : undefined;
    if (known) {
      // the venue's title in the holder's language (venues.json, from the terminal's catalogue)
      const title = ((known.languages || {})[wallet.language] || {}).title || known.title || known.name;
      $("consent-title").textContent = t("{venue} asks for:", { venue: title });
    } else {
      // The request is not signed: a name no venue type has is only what the code calls
      // itself. It is shown quoted and isolated, without characters that reorder text.
      const own = "\u2068" + request.venue.replace(BIDI_CONTROLS, "") + "\u2069";
      $("consent-title").textContent = t("A venue that calls itself “{venue}” asks for:", { venue: own });
    }
    $("consent-items").replaceChildren(...consentItems([...new Set(request.items)], known).map((item) => {
      const li = document.createElement("li");
      li.setAttribute("data-item", item);
      li.textContent = itemWords(item, known);
      if (!held(item)) {
        li.className = "missing";
        li.textContent += " " + t("(not on your card)");
      }
      return li;
    }));
    show("consent");
    return true;
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
    if (stopCamera) stopCamera(); // a camera still starting for an earlier tap
    let stream;
    let running = true;
    // Stops this scan's camera, also one that starts after it was called; the page's camera
    // (its video, stopCamera) only while this scan is the current one.
    const stop = () => {
      running = false;
      if (stream) stream.getTracks().forEach((track) => track.stop());
      if (stopCamera === stop) {
        video.hidden = true;
        stopCamera = null;
      }
    };
    stopCamera = stop;
    try {
      stream = await navigator.mediaDevices.getUserMedia({ video: { facingMode: "environment" } });
      if (!running) { // the code was pasted, or the holder went back, while the camera started
        stream.getTracks().forEach((track) => track.stop());
        return;
      }
      video.srcObject = stream;
      video.hidden = false;
      await video.play();
      while (running) {
        const text = await decode(video);
        if (text && text.startsWith(P.REQUEST_PREFIX)) {
          $("request-text").value = text;
          if (readRequest(text)) break; // else the camera stays on for the venue's next code
        }
        await new Promise((r) => setTimeout(r, 100));
      }
    } catch (e) {
      if (running) $("scan-problem").textContent = t("The camera cannot be used here; paste the code's text instead.");
    } finally {
      stop();
    }
  }

  // -- the answer -----------------------------------------------------------------------------
  let agreeing = false; // a second tap on Share while the answer is made does nothing
  async function agree() {
    const request = wallet.request;
    if (agreeing || !request || !wallet.card) return;
    if (!inTime(request)) return done(STALE_REQUEST);
    agreeing = true;
    $("agree").disabled = true;
    let parts;
    try {
      const presentation = await P.present(wallet.card.sd_jwt, request, wallet.card.key);
      const text = await P.responseQr(presentation);
      parts = text.length <= ANSWER_CHARS ? [text] : P.splitQr(text, ANSWER_CHARS);
    } catch (e) {
      parts = null;
    } finally {
      agreeing = false;
      $("agree").disabled = false;
    }
    if (wallet.request !== request) return; // declined, or another card came, meanwhile
    if (!parts || !parts.length) return done(N_("Your answer could not be made, so nothing was shared. Scan the venue's code again."));
    stopAdvancing();
    wallet.parts = parts;
    wallet.part = 0;
    wallet.request = null;
    $("answer-next").hidden = wallet.parts.length === 1;
    try {
      showPart();
    } catch (e) {
      return done(N_("Your answer could not be made, so nothing was shared. Scan the venue's code again."));
    }
    show("answer");
    // parts go round by themselves for a venue's camera; a tap on Next takes over
    if (wallet.parts.length > 1) timer = setInterval(step, ADVANCE_MS);
  }
  function showPart() {
    const box = $("answer-qr");
    const alt = wallet.parts.length > 1
      ? t("Answer code {i} of {n}", { i: wallet.part + 1, n: wallet.parts.length })
      : t("Your answer's code");
    box.replaceChildren(P.drawQr(wallet.parts[wallet.part], 4, alt));
    box.setAttribute("data-part", String(wallet.part + 1));
    box.setAttribute("data-count", String(wallet.parts.length));
    $("answer-counter").textContent = wallet.parts.length > 1 ? t("Code {i} of {n}", { i: wallet.part + 1, n: wallet.parts.length }) : "";
  }
  function step() {
    if (!wallet.parts.length) return stopAdvancing();
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
  // Takes the card an offer leaves and shows it; else says why not (the card shown so far,
  // if any, stays). Returns the msgid of the problem, or null.
  async function takeCard(offer) {
    try {
      const taken = await pickup(offer);
      wallet.card = taken.card;
      wallet.items = taken.read;
      showCard();
      return taken.problem || (expired() ? EXPIRED : null);
    } catch (e) {
      return e instanceof Shown ? e.message : UNREADABLE_PACKAGE; // (after the pickup was taken)
    }
  }
  let offersHandled = 0;
  function offerHandled() {
    offersHandled += 1;
    document.body.setAttribute("data-offers", String(offersHandled));
  }
  // A kiosk link opened in a wallet tab already open: only the fragment changes (no reload).
  async function newOffer(offer) {
    if (!offer) return;
    stopAdvancing();
    if (stopCamera) stopCamera();
    wallet.request = null;
    wallet.parts = [];
    $("answer-qr").replaceChildren();
    const state = document.body.getAttribute("data-state");
    if (["scan", "consent", "answer"].includes(state)) show(wallet.card ? "card" : "empty");
    say("Opening your card…");
    const problem = await takeCard(offer);
    if (problem) say(problem);
    offerHandled();
  }
  async function start() {
    const offer = takeFragment(); // before anything else
    // offers opened meanwhile in this tab wait for this one, and are taken one at a time
    let ready;
    let queue = new Promise((resolve) => { ready = resolve; });
    window.addEventListener("hashchange", () => {
      const next = takeFragment();
      if (next) queue = queue.then(() => newOffer(next)).catch(() => {});
    });
    [texts, programmes, venues] = await Promise.all([
      loadJson("texts.json", texts), loadJson("programmes.json", {}), loadJson("venues.json", []),
    ]);
    applyLanguage(browserLanguages());
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
    $("remove-card").addEventListener("click", removeStored);
    try {
      wallet.problem = offer ? await takeCard(offer) : null;
      if (!wallet.card) await openStored();
      if (!window.crypto || !crypto.subtle) wallet.problem = INSECURE_PAGE;
      if (wallet.problem) say(wallet.problem);
      if (offer) offerHandled();
    } finally {
      ready();
    }
    if ("serviceWorker" in navigator) navigator.serviceWorker.register("sw.js").catch(() => {});
    document.body.setAttribute("data-ready", "1");
  }

  window.citycardWallet = wallet;
  if (document.readyState === "loading") document.addEventListener("DOMContentLoaded", start);
  else start();
})();
