/*
 * citycard phone verification page: checks a scanned "CC1:" QR code in the browser, offline.
 *
 * The same checks, in the same order, with the same verdict names as the reference reader
 * (cardio/verify.py, docs/credential.md section 4): base45 (RFC 9285), a small strict CBOR
 * decoder, COSE_Sign1 with ES256 through WebCrypto (raw r || s signatures), the root-signed
 * trust list (the root key is fetched once and pinned by its fingerprint, shown on the page),
 * and the Token Status List (ZLIB inflated with DecompressionStream("deflate")).
 *
 * The last good lists are kept in localStorage and the page, this script and the lists are
 * cached by a service worker (sw.js), so the page keeps working without a network once loaded.
 * No build step. The only third-party code is jsQR (jsQR.js, vendored from npm, see
 * api/phone/jsQR.vendor.json), used for the camera where the browser has no BarcodeDetector.
 * Every text a person reads is a msgid (marked by t() or N_(), data-t in the HTML) translated
 * through texts.json (api/phone/translations/<language>/LC_MESSAGES/phone.po, written by
 * `python -m api.phone.wallet.files`); the language is ?lang=, else the browser's.
 * window.citycard exposes verifyText() for automation, and t() for the venue page.
 */
"use strict";
(function () {
  // -- words -----------------------------------------------------------------------------------
  function N_(msgid) {
    return msgid; // marks a msgid that is translated where it is shown
  }
  let texts = { order: ["en"], languages: { en: { dir: "ltr", name: "English", texts: {} } } };
  let language = "en";
  const onLanguage = []; // what redraws its words when the language changes
  function t(msgid, values) {
    const table = (texts.languages[language] || {}).texts || {};
    let s = table[msgid] || msgid;
    for (const [k, v] of Object.entries(values || {})) s = s.split("{" + k + "}").join(shownValue(v));
    return s;
  }
  // A value may itself be words ({msgid, values}), translated with the rest.
  function shownValue(v) {
    return v && typeof v === "object" && typeof v.msgid === "string" ? t(v.msgid, v.values) : String(v);
  }
  // Items as the page's language separates them: the msgid ", " is translated ("، ", "、").
  function list(items) {
    return items.map(String).join(t(", "));
  }
  // t() as nodes: each value in a <bdi data-value>, data shown as it is (a name, a number, a
  // date), isolated so that a right-to-left sentence keeps it whole.
  function tn(msgid, values) {
    const text = t(msgid);
    const out = document.createDocumentFragment();
    const slot = /\{(\w+)\}/g;
    let at = 0;
    for (let m = slot.exec(text); m; m = slot.exec(text)) {
      if (!(m[1] in values)) continue;
      const value = document.createElement("bdi");
      value.setAttribute("data-value", m[1]);
      value.textContent = shownValue(values[m[1]]);
      out.append(text.slice(at, m.index), value);
      at = slot.lastIndex;
    }
    out.append(text.slice(at));
    return out;
  }
  // A problem whose words are a msgid and its values, translated where it is shown.
  class Shown extends Error {
    constructor(msgid, values) {
      super(t(msgid, values));
      this.msgid = msgid;
      this.values = values || {};
    }
  }
  // ?lang=, else the browser's languages in its order, by the rule every phone page shares
  // (presentation.js, loaded before this script: cardio.languages.match).
  function chooseLanguage() {
    const asked = new URLSearchParams(location.search).get("lang");
    const tags = [asked, ...(navigator.languages || [navigator.language])];
    return window.citycardPresentation.pickLanguage(tags, Object.keys(texts.languages));
  }
  const ATTRIBUTES = ["title", "placeholder", "aria-label", "alt"];
  function applyLanguage(code) {
    language = texts.languages[code] ? code : "en";
    const root = document.documentElement;
    root.lang = language;
    root.dir = (texts.languages[language] || {}).dir || "ltr";
    for (const node of document.querySelectorAll("[data-t]")) node.textContent = t(node.getAttribute("data-t"));
    for (const name of ATTRIBUTES) {
      for (const node of document.querySelectorAll("[data-t-" + name + "]")) node.setAttribute(name, t(node.getAttribute("data-t-" + name)));
    }
    const select = document.getElementById("language");
    if (select) {
      select.replaceChildren(
        ...(texts.order || Object.keys(texts.languages)).filter((c) => texts.languages[c]).map((c) => {
          const option = document.createElement("option");
          option.value = c;
          option.lang = c;
          option.textContent = texts.languages[c].name || c;
          return option;
        })
      );
      select.value = language;
    }
    for (const redraw of onLanguage) redraw();
  }
  function setupLanguageList() {
    const select = document.getElementById("language");
    if (!select) return;
    select.addEventListener("change", () => {
      const url = new URL(location.href);
      url.searchParams.set("lang", select.value);
      history.replaceState(null, "", url);
      applyLanguage(select.value);
    });
  }
  const textsLoaded = fetch("texts.json")
    .then((r) => (r.ok ? r.json() : null))
    .then((loaded) => {
      if (loaded && loaded.languages && loaded.languages.en) texts = loaded;
    })
    .catch(() => {})
    .then(() => applyLanguage(chooseLanguage()));

  // -- verdicts: exactly cardio.verdict --------------------------------------------------------
  const SENTENCES = {
    VALID: N_("This card is valid."),
    EXPIRED: N_("This card has expired; the holder can renew it at any enrolment kiosk."),
    NOT_YET_VALID: N_("This card is not valid yet; check the reader's clock, then try again."),
    REVOKED: N_("This card has been revoked; do not accept it."),
    SUSPENDED: N_("This card is suspended; the holder should contact the city card office."),
    SUPERSEDED:
      N_("This card has been replaced by a newer card; do not accept it — the holder has the new one."),
    UNKNOWN_KEY: N_("Card of another city — not accepted here."),
    KEY_REVOKED: N_("This card was made by a kiosk whose key has been withdrawn; do not accept it."),
    KEY_EXPIRED: N_("This card was made outside its kiosk key's validity period; do not accept it."),
    BAD_SIGNATURE: N_("This card's signature is not genuine; do not accept it."),
    // the chip reader's sentence sends the holder to the printed QR; this page reads that QR
    MALFORMED:
      N_("The code could not be read; scan it again, holding the card flat, or type it exactly as printed."),
    WRONG_ISSUER: N_("This card was issued by another city; this reader cannot accept it."),
    STALE_STATUS:
      N_("The revocation list on this reader is too old to trust; connect the reader to refresh it."),
    STATUS_UNAVAILABLE:
      N_("The reader has no revocation list for this card; connect the reader to refresh it."),
    CLONE_SUSPECTED: N_("This card's data was copied from another chip; do not accept it."),
  };
  const REFRESH_WARNING = N_("The revocation list is due for a refresh; connect the reader soon.");
  // What staff read as the verdict's name (the staff screen's words, api/terminal/screen_text.py).
  const VERDICT_NAMES = {
    VALID: N_("VALID"),
    EXPIRED: N_("EXPIRED"),
    NOT_YET_VALID: N_("NOT YET VALID"),
    REVOKED: N_("REVOKED"),
    SUSPENDED: N_("SUSPENDED"),
    SUPERSEDED: N_("REPLACED BY A NEWER CARD"),
    UNKNOWN_KEY: N_("CARD OF ANOTHER CITY"), // a key the trust list does not name
    KEY_REVOKED: N_("KIOSK KEY WITHDRAWN"),
    KEY_EXPIRED: N_("KIOSK KEY EXPIRED"),
    BAD_SIGNATURE: N_("FORGED"),
    MALFORMED: N_("UNREADABLE"),
    WRONG_ISSUER: N_("CARD OF ANOTHER CITY"),
    STALE_STATUS: N_("LISTS TOO OLD"),
    STATUS_UNAVAILABLE: N_("NO REVOCATION LIST"),
    CLONE_SUSPECTED: N_("COPIED CHIP"),
  };
  // expiryGrace: exp is 00:00 UTC after the printed last day D, and D ends last at UTC-12, 12 h
  // later; a card is EXPIRED from exp + 12 h, valid through D anywhere (cardio.verify.EXPIRY_GRACE).
  const POLICY = { clockSkew: 300, maxStatusAge: 7 * 86400, expiryGrace: 12 * 3600 };

  // -- the kind of code a text is --------------------------------------------------------------
  // Told a code of another kind (or none), a page says what it is and where it belongs rather
  // than give a verdict: the card's printed code is this page's, a phone's answer the venue
  // page's (venue.html), a venue's request the holder's phone's, the holder's whole wallet card
  // no page's (the holder answers a venue's request with it). presentation.js tells them apart.
  const codeKind = (text) => window.citycardPresentation.codeKind(text);
  const KIND_WORDS = {
    card: {
      msgid: N_("This is the QR code printed on a city resident card, not a phone's answer; check it on the card check page."),
      href: "./",
      link: N_("Check a city resident card"),
    },
    answer: {
      msgid: N_("This is a phone wallet's answer, not the QR code printed on a card; check it on the venue page that showed the request."),
      href: "venue.html",
      link: N_("Ask for a phone card"),
    },
    request: { msgid: N_("This is a venue's request code for a phone wallet: the holder's phone scans it and answers with codes of its own.") },
    other: { msgid: N_("This QR code is not one of the city resident card's codes.") },
    wallet_card: {
      msgid: N_("This is the holder's whole card as their phone wallet keeps it, not a code to check: show a request on the venue page, and the holder answers it from their wallet."),
      href: "venue.html",
      link: N_("Ask for a phone card"),
    },
  };
  // The kinds this page answers with a notice, not a verdict: only a card's code is checked.
  const NOTICES = new Set(["empty", "answer", "request", "other", "wallet_card"]);
  // The camera loops give up after a while; they then say so.
  const CAMERA_STOPPED = { msgid: N_("The camera has stopped; tap “{button}” to scan again."), values: { button: { msgid: "Scan with camera" } } };
  // How often a camera sees a code of the wrong kind before it says so (a frame or two of
  // another code passing by says nothing).
  const SIGHTINGS = 3;
  // What a person reads when the camera cannot start: what to do, never the browser's own
  // words (those go to the console).
  function cameraProblem(e) {
    console.warn("citycard: the camera cannot start:", e);
    const name = e && e.name;
    if (!window.isSecureContext) {
      return N_("The camera works only when this page is opened over https; open its https address, or paste the code's text instead.");
    }
    if (["NotAllowedError", "PermissionDeniedError", "SecurityError"].includes(name)) {
      return N_("This page may not use the camera; allow the camera for this site in the browser's settings, or paste the code's text instead.");
    }
    if (["NotFoundError", "DevicesNotFoundError", "OverconstrainedError"].includes(name)) {
      return N_("No camera was found on this phone; paste the code's text instead.");
    }
    if (["NotReadableError", "TrackStartError", "AbortError"].includes(name)) {
      return N_("The camera is busy or cannot start; close other apps that use it and try again, or paste the code's text instead.");
    }
    return N_("The camera cannot be used here; paste the code's text instead.");
  }
  // The words of the page the server answers for an address under these pages that is no page
  // (api/phone/__init__.py, from this catalogue), beside links named as the two pages are.
  const NOT_FOUND = N_("There is no page at this address.");
  // Over plain http (any host but this phone itself) the browser withholds WebCrypto, and with
  // it every check: say so rather than blame the network.
  const INSECURE_PAGE = N_("This page works only when it is opened over https; open its https address.");

  const QR_PREFIX = "CC1:";
  const MAX_CREDENTIAL = 64 * 1024;
  const MAX_TRUST_LIST = 256 * 1024;
  const MAX_TOKEN = 1024 * 1024;
  const MAX_STATUS_BYTES = 4 * 1024 * 1024;
  const MAX_QR_TEXT = Math.floor((3 * MAX_CREDENTIAL) / 2) + 8;
  const TRUST_TYP = "application/vnd.citycard.trust-list+cwt";
  const STATUS_TYP = "application/statuslist+cwt";
  const TIME_LIMIT = 2 ** 40;
  const CARD_TIME_LIMIT = 253402300800; // 10000-01-01T00:00:00Z: every card time has a date

  class Malformed extends Error {}

  // -- small helpers ---------------------------------------------------------------------------
  const utf8 = new TextDecoder("utf-8", { fatal: true });
  const encoder = new TextEncoder();

  function hex(bytes) {
    let out = "";
    for (const b of bytes) out += b.toString(16).padStart(2, "0");
    return out;
  }
  function concat(parts) {
    let n = 0;
    for (const p of parts) n += p.length;
    const out = new Uint8Array(n);
    let at = 0;
    for (const p of parts) {
      out.set(p, at);
      at += p.length;
    }
    return out;
  }
  function equalBytes(a, b) {
    if (!(a instanceof Uint8Array) || !(b instanceof Uint8Array) || a.length !== b.length) return false;
    for (let i = 0; i < a.length; i++) if (a[i] !== b[i]) return false;
    return true;
  }
  function toBase64(bytes) {
    let s = "";
    for (let i = 0; i < bytes.length; i += 0x8000) s += String.fromCharCode(...bytes.subarray(i, i + 0x8000));
    return btoa(s);
  }
  function fromBase64(text) {
    const s = atob(text);
    const out = new Uint8Array(s.length);
    for (let i = 0; i < s.length; i++) out[i] = s.charCodeAt(i);
    return out;
  }
  function codePoints(text) {
    return [...text].length;
  }
  // Python's str.isspace characters: a name made only of them is blank, as in the reference.
  const PY_SPACE = "\\t\\n\\x0b\\x0c\\r\\x1c-\\x1f \\x85\\xa0\\u1680\\u2000-\\u200a\\u2028\\u2029\\u202f\\u205f\\u3000";
  const PY_NOT_SPACE = new RegExp("[^" + PY_SPACE + "]", "u");
  function isInt(v) {
    return typeof v === "number" && Number.isInteger(v);
  }
  function isTime(v) {
    return isInt(v) && v >= 0 && v < TIME_LIMIT;
  }
  function utcDay(seconds) {
    return new Date(Math.floor(seconds / 86400) * 86400000).toISOString().slice(0, 10);
  }

  // -- base45 (RFC 9285) ---------------------------------------------------------------------
  const B45 = "0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZ $%*+-./:";
  function base45Decode(text) {
    const values = [];
    for (const ch of text) {
      const v = ch.length === 1 ? B45.indexOf(ch) : -1;
      if (v < 0) throw new Malformed("The QR text holds a character that base45 does not use.");
      values.push(v);
    }
    if (values.length % 3 === 1) throw new Malformed("The QR text has a base45 length that cannot be decoded.");
    const out = [];
    for (let i = 0; i < values.length; i += 3) {
      if (i + 2 < values.length) {
        const n = values[i] + values[i + 1] * 45 + values[i + 2] * 2025;
        if (n > 0xffff) throw new Malformed("The QR text holds a base45 group out of range.");
        out.push(n >> 8, n & 0xff);
      } else {
        const n = values[i] + values[i + 1] * 45;
        if (n > 0xff) throw new Malformed("The QR text holds a base45 group out of range.");
        out.push(n);
      }
    }
    return new Uint8Array(out);
  }
  function fromQr(text) {
    if (typeof text !== "string" || !text.startsWith(QR_PREFIX)) {
      throw new Malformed("This QR code is not a citycard code (it does not start with CC1:).");
    }
    if (text.length > MAX_QR_TEXT) throw new Malformed("This QR code is too long to be a citycard code.");
    return base45Decode(text.slice(QR_PREFIX.length)); // exactly as written: docs/credential.md 1.2
  }

  // -- CBOR (RFC 8949): definite lengths only, no duplicate keys, at most 16 levels ------------
  // Integers become numbers (BigInt beyond 2^53), byte strings Uint8Array, text strings strings,
  // arrays Arrays, maps Map. Map keys are normalised as Python compares them (true == 1, 1.0 ==
  // 1), so that "exactly these keys" means the same here as in the reference. `strict` also
  // requires what the reference's re-encoding check requires: shortest heads, 64-bit floats, no
  // tags, nothing after the item. `tags` (non-strict only) names the tags read as CborTag
  // (an mdoc's #6.24 embedded CBOR, #6.0 tdate, #6.1004 full-date); any other is refused.
  class CborTag {
    constructor(tag, value) {
      this.tag = tag;
      this.value = value;
    }
  }
  class CborFloat {
    constructor(value) {
      this.value = value;
    }
  }
  class CborSimple {
    constructor(value) {
      this.value = value;
    }
  }
  const MAX_DEPTH = 16;
  const SAFE = BigInt(Number.MAX_SAFE_INTEGER);

  function normInt(big) {
    return big <= SAFE && big >= -SAFE ? Number(big) : big;
  }
  function keyId(k) {
    if (typeof k === "number") return "n:" + k;
    if (typeof k === "bigint") return "n:" + k.toString();
    if (typeof k === "boolean") return "n:" + Number(k);
    if (k instanceof CborFloat) return Number.isInteger(k.value) ? "n:" + (k.value + 0) : "f:" + k.value;
    if (typeof k === "string") return "s:" + k;
    if (k instanceof Uint8Array) return "y:" + hex(k);
    if (k === null) return "z";
    if (k instanceof CborSimple) return "S:" + k.value;
    throw new Malformed("A map key is not hashable."); // arrays and maps (Python: unhashable)
  }
  function mapKey(k) {
    if (typeof k === "boolean") return Number(k);
    if (k instanceof CborFloat && Number.isInteger(k.value)) return k.value + 0;
    return k;
  }

  // `canonical` (credential claims, docs/credential.md 1.3) adds: map keys are integers or text
  // strings, in length-first order (RFC 8949 section 4.2.3), so a repeat is also out of order.
  function compareEncoded(a, b) {
    if (a.length !== b.length) return a.length - b.length;
    for (let i = 0; i < a.length; i++) if (a[i] !== b[i]) return a[i] - b[i];
    return 0;
  }
  function decodeCbor(bytes, strict, canonical, tags) {
    const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
    let pos = 0;
    function need(n) {
      if (pos + n > bytes.length) throw new Malformed("The data is truncated.");
    }
    function nonMinimal() {
      throw new Malformed("The data has a non-minimal CBOR encoding.");
    }
    function arg(info) {
      if (info < 24) return info;
      if (info === 24) {
        need(1);
        const v = bytes[pos++];
        if (strict && v < 24) nonMinimal();
        return v;
      }
      if (info === 25) {
        need(2);
        const v = view.getUint16(pos);
        pos += 2;
        if (strict && v < 0x100) nonMinimal();
        return v;
      }
      if (info === 26) {
        need(4);
        const v = view.getUint32(pos);
        pos += 4;
        if (strict && v < 0x10000) nonMinimal();
        return v;
      }
      if (info === 27) {
        need(8);
        const v = view.getBigUint64(pos);
        pos += 8;
        if (strict && v < 0x100000000n) nonMinimal();
        return normInt(v);
      }
      throw new Malformed("The data uses an indefinite length or a reserved CBOR form.");
    }
    function length(info) {
      const n = arg(info);
      if (typeof n !== "number" || n > bytes.length - pos) throw new Malformed("The data is truncated.");
      return n;
    }
    function item(depth) {
      need(1);
      const initial = bytes[pos++];
      const major = initial >> 5;
      const info = initial & 0x1f;
      switch (major) {
        case 0:
          return arg(info);
        case 1: {
          const n = arg(info);
          return normInt(-1n - BigInt(n));
        }
        case 2: {
          const n = length(info);
          const out = bytes.slice(pos, pos + n);
          pos += n;
          return out;
        }
        case 3: {
          const n = length(info);
          let text;
          try {
            text = utf8.decode(bytes.subarray(pos, pos + n));
          } catch (e) {
            throw new Malformed("A text string is not UTF-8.");
          }
          pos += n;
          return text;
        }
        case 4: {
          if (depth + 1 > MAX_DEPTH) throw new Malformed("The data is nested too deeply.");
          const n = length(info);
          const out = [];
          for (let i = 0; i < n; i++) out.push(item(depth + 1));
          return out;
        }
        case 5: {
          if (depth + 1 > MAX_DEPTH) throw new Malformed("The data is nested too deeply.");
          const n = length(info);
          const out = new Map();
          const seen = new Set();
          let previous = null;
          for (let i = 0; i < n; i++) {
            const start = pos;
            const k = item(depth + 1);
            if (canonical) {
              if (typeof k !== "number" && typeof k !== "bigint" && typeof k !== "string") {
                throw new Malformed("A map key is not an integer or a text string.");
              }
              const encoded = bytes.subarray(start, pos);
              if (previous !== null && compareEncoded(previous, encoded) >= 0) {
                throw new Malformed("The map keys are not in deterministic order.");
              }
              previous = encoded;
            }
            const id = keyId(k);
            if (seen.has(id)) throw new Malformed("A map repeats a key.");
            seen.add(id);
            out.set(mapKey(k), item(depth + 1));
          }
          return out;
        }
        case 6: {
          const tag = arg(info);
          if (!strict && tags && tags.has(tag)) return new CborTag(tag, item(depth + 1));
          if (strict || (tag !== 2 && tag !== 3)) throw new Malformed("The data holds a CBOR tag.");
          const b = item(depth);
          if (!(b instanceof Uint8Array)) throw new Malformed("A bignum is not a byte string.");
          let n = 0n;
          for (const x of b) n = (n << 8n) | BigInt(x);
          return normInt(tag === 3 ? -1n - n : n);
        }
        default: {
          if (info < 20) return new CborSimple(info);
          if (info === 20) return false;
          if (info === 21) return true;
          if (info === 22) return null;
          if (info === 23) return new CborSimple(23);
          if (info === 24) {
            need(1);
            const v = bytes[pos++];
            if (v < 32) throw new Malformed("The data holds an invalid simple value.");
            return new CborSimple(v);
          }
          if (info === 25 || info === 26) {
            if (strict) nonMinimal();
            need(info === 25 ? 2 : 4);
            const v = info === 25 ? half(view.getUint16(pos)) : view.getFloat32(pos);
            pos += info === 25 ? 2 : 4;
            return new CborFloat(v);
          }
          if (info === 27) {
            need(8);
            const v = view.getFloat64(pos);
            pos += 8;
            return new CborFloat(v);
          }
          throw new Malformed("The data uses an indefinite length or a reserved CBOR form.");
        }
      }
    }
    const value = item(0);
    if (pos !== bytes.length) throw new Malformed("The data has trailing bytes.");
    return value;
  }
  function half(bits) {
    const exp = (bits >> 10) & 0x1f;
    const mant = bits & 0x3ff;
    const sign = bits & 0x8000 ? -1 : 1;
    if (exp === 0) return sign * mant * 2 ** -24;
    if (exp === 31) return mant ? NaN : sign * Infinity;
    return sign * (1 + mant / 1024) * 2 ** (exp - 15);
  }
  function isMap(v) {
    return v instanceof Map;
  }
  function keysAre(map, required, allowed) {
    for (const k of required) if (!map.has(k)) return false;
    for (const k of map.keys()) if (!allowed.includes(k)) return false;
    return true;
  }
  function pyEq(v, n) {
    return v === n || (typeof v === "boolean" && Number(v) === n) || (v instanceof CborFloat && v.value === n);
  }

  // -- COSE_Sign1 (RFC 9052), in the one encoding citycard accepts ---------------------------
  function head(major, n) {
    const m = major << 5;
    if (n < 24) return Uint8Array.of(m | n);
    if (n < 0x100) return Uint8Array.of(m | 24, n);
    if (n < 0x10000) return Uint8Array.of(m | 25, n >> 8, n & 0xff);
    return Uint8Array.of(m | 26, (n >>> 24) & 0xff, (n >> 16) & 0xff, (n >> 8) & 0xff, n & 0xff);
  }
  function bstr(data, pos) {
    if (pos >= data.length || data[pos] >> 5 !== 2) throw new Malformed("Not a COSE_Sign1 in the accepted encoding.");
    const info = data[pos] & 0x1f;
    let n;
    let start;
    if (info < 24) {
      n = info;
      start = pos + 1;
    } else if (info >= 24 && info <= 27) {
      const size = 1 << (info - 24);
      if (pos + 1 + size > data.length) throw new Malformed("Not a COSE_Sign1 in the accepted encoding.");
      let big = 0n;
      for (let i = 0; i < size; i++) big = (big << 8n) | BigInt(data[pos + 1 + i]);
      if (big > BigInt(data.length)) throw new Malformed("The data is truncated.");
      n = Number(big);
      if (!equalBytes(head(2, n), data.subarray(pos, pos + 1 + size))) {
        throw new Malformed("Not a COSE_Sign1 in the accepted encoding.");
      }
      start = pos + 1 + size;
    } else {
      throw new Malformed("Not a COSE_Sign1 in the accepted encoding.");
    }
    if (start + n > data.length) throw new Malformed("The data is truncated.");
    return [data.slice(start, start + n), start + n];
  }
  const COMMON_PROTECTED = Uint8Array.of(0xa2, 0x01, 0x26, 0x04, 0x48);
  function parseSign1(data, maxSize) {
    if (!(data instanceof Uint8Array)) throw new Malformed("Not bytes.");
    if (data.length > maxSize) throw new Malformed("The data is too large.");
    if (data[0] !== 0xd2 || data[1] !== 0x84) throw new Malformed("Not a tagged COSE_Sign1.");
    const [prot, p1] = bstr(data, 2);
    if (data[p1] !== 0xa0) throw new Malformed("The COSE_Sign1 carries unprotected headers.");
    const [payload, p2] = bstr(data, p1 + 1);
    if (data[p2] !== 0x58 || data[p2 + 1] !== 0x40 || data.length !== p2 + 66) {
      throw new Malformed("The COSE_Sign1 does not end with a 64-byte ES256 signature.");
    }
    let kid;
    let typ = null;
    if (prot.length === 13 && equalBytes(prot.subarray(0, 5), COMMON_PROTECTED)) {
      kid = prot.slice(5);
    } else {
      const h = decodeCbor(prot, true);
      if (!isMap(h) || !keysAre(h, [], [1, 3, 4, 16])) throw new Malformed("Unexpected protected headers.");
      if (!pyEq(h.get(1), -7)) throw new Malformed("Not signed with ES256.");
      kid = h.get(4);
      if (!(kid instanceof Uint8Array) || kid.length === 0) throw new Malformed("No key id.");
      const t = h.get(16);
      typ = typeof t === "string" ? t : null;
    }
    return { protected: prot, payload, signature: data.slice(p2 + 2), kid, typ };
  }
  const SIG1_CONTEXT = Uint8Array.of(0x84, 0x6a, ...encoder.encode("Signature1"));
  function sigStructure(prot, payload) {
    return concat([SIG1_CONTEXT, head(2, prot.length), prot, Uint8Array.of(0x40), head(2, payload.length), payload]);
  }
  const ECDSA = { name: "ECDSA", namedCurve: "P-256" };
  async function verifySign1(key, msg) {
    try {
      return await crypto.subtle.verify({ name: "ECDSA", hash: "SHA-256" }, key, msg.signature, sigStructure(msg.protected, msg.payload));
    } catch (e) {
      return false;
    }
  }
  async function sha256(bytes) {
    return new Uint8Array(await crypto.subtle.digest("SHA-256", bytes));
  }
  async function keyFromCose(obj) {
    if (!isMap(obj) || !keysAre(obj, [1, -1, -2, -3], [1, -1, -2, -3])) throw new Malformed("Not an EC2 COSE_Key.");
    const x = obj.get(-2);
    const y = obj.get(-3);
    if (!pyEq(obj.get(1), 2) || !pyEq(obj.get(-1), 1)) throw new Malformed("Not a P-256 key.");
    if (!(x instanceof Uint8Array && y instanceof Uint8Array && x.length === 32 && y.length === 32)) {
      throw new Malformed("The key coordinates are not 32 bytes each.");
    }
    const point = concat([Uint8Array.of(4), x, y]);
    let key;
    try {
      key = await crypto.subtle.importKey("raw", point, ECDSA, false, ["verify"]);
    } catch (e) {
      throw new Malformed("The key is not a point on P-256.");
    }
    return { key, kid: (await sha256(point)).slice(0, 8) };
  }

  // -- the trust list (docs/credential.md 4.6) -------------------------------------------------
  async function parseTrustList(data, root) {
    const msg = parseSign1(data, MAX_TRUST_LIST);
    if (msg.typ !== TRUST_TYP) throw new Malformed("The file is not a citycard trust list.");
    if (!equalBytes(msg.kid, root.kid) || !(await verifySign1(root.key, msg))) {
      throw new Shown(N_("The trust list is not signed by the pinned city root key; it was refused."));
    }
    const obj = decodeCbor(msg.payload, true);
    if (!isMap(obj) || !keysAre(obj, [1, 2, 3, 4, 5], [1, 2, 3, 4, 5])) throw new Malformed("The trust list has missing or unexpected fields.");
    let version = obj.get(1);
    if (!((isInt(version) && version > 0) || (typeof version === "bigint" && version > 0n && version < 2n ** 63n))) {
      throw new Malformed("The trust list version is not a positive number.");
    }
    version = BigInt(version);
    const issuer = obj.get(2);
    if (typeof issuer !== "string" || !isTime(obj.get(3))) throw new Malformed("The trust list issuer or date is malformed.");
    const entries = obj.get(4);
    const uris = obj.get(5);
    if (!Array.isArray(entries) || !Array.isArray(uris) || !uris.every((u) => typeof u === "string")) {
      throw new Malformed("The trust list keys or status lists are malformed.");
    }
    const keys = new Map();
    for (const e of entries) {
      if (!isMap(e) || !keysAre(e, [1, 2, 3, 4, 5, 6, 7], [1, 2, 3, 4, 5, 6, 7])) throw new Malformed("A key entry has missing or unexpected fields.");
      const { key, kid } = await keyFromCose(e.get(2));
      if (!equalBytes(e.get(1), kid)) throw new Malformed("A key entry's kid does not match its key.");
      const nb = e.get(4);
      const na = e.get(5);
      if (!(isTime(nb) && isTime(na) && nb <= na)) throw new Malformed("A key entry has an impossible validity window.");
      const label = e.get(7);
      if (typeof label !== "string" || codePoints(label) > 64) throw new Malformed("A key entry has a bad label.");
      const purpose = e.get(3);
      const state = e.get(6);
      if (!["issue", "status"].includes(purpose) || !["active", "retired", "revoked"].includes(state)) {
        throw new Malformed("A key entry has an unknown purpose or state.");
      }
      if (keys.has(hex(kid))) throw new Malformed("The trust list names the same key twice.");
      keys.set(hex(kid), { kid, key, purpose, state, label, notBefore: nb, notAfter: na });
    }
    return { version, issuer, issuedAt: obj.get(3), keys, statusLists: uris, raw: data };
  }

  // -- status lists (draft-ietf-oauth-status-list; docs/credential.md 4.7) ----------------------
  async function inflate(bytes, max) {
    const stream = new DecompressionStream("deflate");
    const writer = stream.writable.getWriter();
    writer.write(bytes).catch(() => {});
    writer.close().catch(() => {});
    const reader = stream.readable.getReader();
    const parts = [];
    let total = 0;
    try {
      for (;;) {
        const { done, value } = await reader.read();
        if (done) break;
        total += value.length;
        if (total > max) {
          reader.cancel().catch(() => {});
          throw new Malformed("The status list expands to more than " + max + " bytes.");
        }
        parts.push(value);
      }
    } catch (e) {
      if (e instanceof Malformed) throw e;
      throw new Malformed("The status list's 'lst' is not valid, complete ZLIB data.");
    }
    return concat(parts);
  }
  const SHIFT = { 1: 3, 2: 2, 4: 1, 8: 0 };
  async function parseStatusToken(data) {
    const msg = parseSign1(data, MAX_TOKEN);
    if (msg.typ !== STATUS_TYP) throw new Malformed("The data is not a status list token.");
    const claims = decodeCbor(msg.payload, true);
    if (!isMap(claims)) throw new Malformed("The status list claims are not a map.");
    const uri = claims.get(2);
    if (typeof uri !== "string" || !uri) throw new Malformed("The status list token names no URI.");
    const iat = claims.get(6);
    if (!(isInt(iat) && iat >= 0) && !(typeof iat === "bigint" && iat >= 0n)) throw new Malformed("No valid issue time.");
    const exp = claims.has(4) ? claims.get(4) : null;
    if (exp !== null && !(isInt(exp) && exp >= 0) && !(typeof exp === "bigint" && exp >= 0n)) throw new Malformed("Bad expiry.");
    const ttl = claims.has(65534) ? claims.get(65534) : null;
    if (ttl !== null && !(isInt(ttl) && ttl > 0) && !(typeof ttl === "bigint" && ttl > 0n)) throw new Malformed("Bad ttl.");
    const iss = claims.has(1) ? claims.get(1) : null;
    if (iss !== null && typeof iss !== "string") throw new Malformed("Bad issuer.");
    if (!claims.has(65533)) throw new Malformed("The token carries no status list.");
    const sl = claims.get(65533);
    if (!isMap(sl) || !keysAre(sl, ["bits", "lst"], ["bits", "lst", "aggregation_uri"])) {
      throw new Malformed("The status list must hold exactly 'bits' and 'lst'.");
    }
    const bits = sl.get("bits");
    const lst = sl.get("lst");
    if (!isInt(bits) || !(bits in SHIFT)) throw new Malformed("The status list's 'bits' is not 1, 2, 4 or 8.");
    if (!(lst instanceof Uint8Array)) throw new Malformed("The status list's 'lst' is not a byte string.");
    if (sl.has("aggregation_uri") && typeof sl.get("aggregation_uri") !== "string") throw new Malformed("Bad aggregation_uri.");
    const bytes = await inflate(lst, MAX_STATUS_BYTES);
    return {
      uri,
      iat: Number(iat),
      exp: exp === null ? null : Number(exp),
      ttl: ttl === null ? null : Number(ttl),
      bits,
      bytes,
      size: bytes.length * (8 / bits),
      kid: msg.kid,
      msg,
      raw: data,
    };
  }
  function statusAt(token, idx) {
    const shift = SHIFT[token.bits];
    return (token.bytes[idx >> shift] >> ((idx & ((1 << shift) - 1)) * token.bits)) & ((1 << token.bits) - 1);
  }
  // Verifier.add_status_list: the token must be signed by a status key of this trust list, be
  // dated at most the clock skew ahead of `now`, and not be older than the one held, unless
  // that one is itself dated beyond the skew (docs/credential.md 4.7).
  async function acceptStatus(trust, held, data, now) {
    const token = await parseStatusToken(data);
    const key = trust.keys.get(hex(token.kid));
    if (!key || key.purpose !== "status" || key.state === "revoked") {
      throw new Shown(N_("The status list is not signed by one of the city's status keys; it was refused."));
    }
    if (!(await verifySign1(key.key, token.msg))) throw new Shown(N_("The status list's signature is not genuine; it was refused."));
    if (!(key.notBefore <= token.iat && token.iat <= key.notAfter)) {
      throw new Shown(N_("The status list was signed outside its key's validity; it was refused."));
    }
    if (!trust.statusLists.includes(token.uri)) {
      throw new Shown(N_("The trust list does not name the status list {uri}; it was refused."), { uri: token.uri });
    }
    if (token.iat > now + POLICY.clockSkew) {
      throw new Shown(
        N_("The status list is dated {ahead} s in the future, more than the {skew} s this reader's clock may be behind; it was refused. Check the reader's clock."),
        { ahead: Math.floor(token.iat - now), skew: POLICY.clockSkew }
      );
    }
    const before = held.get(token.uri);
    if (before && token.iat < before.iat && before.iat <= now + POLICY.clockSkew) {
      throw new Shown(N_("The status list offered is older than the one held; it was refused."));
    }
    held.set(token.uri, token);
    return token;
  }

  // -- the credential claims (cardio/_fastpath.c claims, cardio/credential.py Credential) --------
  const CODE = /^[a-z0-9][a-z0-9-]{0,31}$/;
  const LANG = /^[A-Za-z]{2,3}(-[A-Za-z0-9]{1,8}){0,3}$/;
  const DOCNO = /^[A-Z0-9-]{4,24}$/;
  const BAD_NAME_CHAR = new RegExp(
    "[\\x00-\\x1f\\x7f-\\x9f\\xad\\u0600-\\u0605\\u061c\\u06dd\\u070f\\u0890-\\u0891\\u08e2\\u180e" +
      "\\u200b\\u200e-\\u200f\\u2028-\\u202e\\u2060-\\u2064\\u2066-\\u206f\\u{d800}-\\u{f8ff}\\ufeff" +
      "\\ufff9-\\ufffb\\u{110bd}\\u{110cd}\\u{13430}-\\u{13438}\\u{1bca0}-\\u{1bca3}" +
      "\\u{1d173}-\\u{1d17a}\\u{e0001}\\u{e0020}-\\u{e007f}\\u{f0000}-\\u{ffffd}\\u{100000}-\\u{10fffd}]",
    "u"
  );
  const TOP = [1, 4, 6, 7, 65535, -65537];
  const CARD_REQUIRED = [0, 1, 2, 3, 4];
  const CARD_ALLOWED = [0, 1, 2, 3, 4, 5, 6, 7, 8, 9];
  function bad(what) {
    throw new Malformed(what);
  }
  function checkCode(v, what) {
    if (typeof v !== "string" || !CODE.test(v)) bad("The " + what + " is not a short lower-case code.");
  }
  function checkName(v, what) {
    if (typeof v !== "string" || !PY_NOT_SPACE.test(v)) bad("The " + what + " is empty.");
    if (codePoints(v) > 100) bad("The " + what + " is too long.");
    if (BAD_NAME_CHAR.test(v)) bad("The " + what + " holds control or formatting characters.");
  }
  function strList(v) {
    if (!Array.isArray(v)) bad("A list claim is not a list.");
    return v;
  }
  function credentialFromClaims(claims) {
    if (!isMap(claims)) bad("The credential claims are not a map.");
    if (!keysAre(claims, TOP, TOP.concat([8]))) bad("The credential has missing or unexpected claims.");
    const card = claims.get(-65537);
    if (!isMap(card)) bad("The card claim is not a map.");
    if (!keysAre(card, CARD_REQUIRED, CARD_ALLOWED)) bad("The card claim has missing or unexpected fields.");
    const status = claims.get(65535);
    if (!isMap(status) || !status.has("status_list")) bad("The status claim is malformed.");
    const ref = status.get("status_list");
    if (status.size !== 1 || !isMap(ref) || ref.size !== 2 || !ref.has("idx") || !ref.has("uri")) bad("The status claim has unexpected fields.");
    const variant = card.get(0);
    if (!isInt(variant) || (variant !== 0 && variant !== 1)) bad("The card variant is not 0 or 1.");
    const birth = card.get(4);
    if (!isInt(birth) || !(birth > -30000 && birth < 100000)) bad("The birth date is not a day number.");
    checkCode(card.get(1), "programme id");
    checkName(card.get(2), "family name");
    checkName(card.get(3), "given name");
    if (birth < -25567) bad("The birth date is not after 1900-01-01.");
    const sex = card.has(5) ? card.get(5) : null;
    if (card.has(5) && !["F", "M", "X"].includes(sex)) bad("Sex must be F, M or X.");
    const entitlements = strList(card.has(7) ? card.get(7) : []);
    const languages = strList(card.has(8) ? card.get(8) : []);
    if (entitlements.length > 16 || languages.length > 8) bad("Too many entitlements or languages.");
    entitlements.forEach((c) => checkCode(c, "entitlement"));
    for (const l of languages) if (typeof l !== "string" || !LANG.test(l)) bad("A language tag is malformed.");
    const photo = card.has(6) ? card.get(6) : null;
    if (card.has(6) && !(photo instanceof Uint8Array && photo.length > 0 && photo.length <= 8192)) bad("Bad photo.");
    // A chip binding (card field 9 or claim 8) only fits the chip variant; this page reads QR
    // codes, which carry the print variant, so any binding or photo makes the code MALFORMED.
    if (card.has(9) || claims.has(8)) bad("A print credential carries no chip binding.");
    const cti = claims.get(7);
    if (!(cti instanceof Uint8Array) || cti.some((b) => b > 0x7f)) bad("The document number is not ASCII.");
    const documentNumber = String.fromCharCode(...cti);
    const issuer = claims.get(1);
    if (typeof issuer !== "string" || codePoints(issuer) < 1 || codePoints(issuer) > 64) bad("The issuer is not a short text.");
    if (!DOCNO.test(documentNumber)) bad("The document number is malformed.");
    const iat = claims.get(6);
    const exp = claims.get(4);
    if (!isTime(iat) || !isTime(exp) || exp >= CARD_TIME_LIMIT) bad("A time is not a time.");
    if (exp <= iat) bad("The card expires before it was issued.");
    const idx = ref.get("idx");
    const uri = ref.get("uri");
    if (!isInt(idx) || idx < 0 || idx >= 2 ** 32) bad("The status index is not a whole number.");
    if (typeof uri !== "string" || codePoints(uri) < 1 || codePoints(uri) > 200) bad("The status list URI is not a short text.");
    if (variant === 1) bad("A chip credential must be bound to its chip."); // chip variant: no binding here
    if (photo !== null) bad("A print credential carries no photo.");
    return {
      variant,
      issuer,
      documentNumber,
      iat,
      exp,
      idx,
      uri,
      holder: { program: card.get(1), familyName: card.get(2), givenName: card.get(3), birth, sex, entitlements, languages },
    };
  }
  function display(cred) {
    const h = cred.holder;
    return {
      document_number: cred.documentNumber,
      program: h.program,
      family_name: h.familyName,
      given_name: h.givenName,
      birth_date: utcDay(h.birth * 86400),
      sex: h.sex,
      entitlements: h.entitlements.slice(),
      languages: h.languages.slice(),
      issued: utcDay(cred.iat),
      expires: utcDay(cred.exp - 1),
      variant: "print",
    };
  }

  // -- verification (cardio/verify.py Verifier._check, docs/credential.md 4.1) -------------------
  function result(verdict, claims, warnings) {
    return { verdict, valid: verdict === "VALID", message: SENTENCES[verdict], warnings: warnings || [], claims: claims || null };
  }
  async function verifyBytes(data, now) {
    const trust = state.trust;
    let msg;
    try {
      msg = parseSign1(data, MAX_CREDENTIAL);
    } catch (e) {
      return result("MALFORMED");
    }
    const key = trust.keys.get(hex(msg.kid));
    if (!key || key.purpose !== "issue") return result("UNKNOWN_KEY");
    if (!(await verifySign1(key.key, msg))) return result("BAD_SIGNATURE");
    if (key.state === "revoked") return result("KEY_REVOKED");
    let cred;
    try {
      cred = credentialFromClaims(decodeCbor(msg.payload, true, true));
    } catch (e) {
      return result("MALFORMED");
    }
    if (cred.variant !== 0) return result("MALFORMED");
    if (cred.issuer !== trust.issuer) return result("WRONG_ISSUER");
    if (!(key.notBefore <= cred.iat && cred.iat <= key.notAfter)) return result("KEY_EXPIRED");
    const token = state.status.get(cred.uri);
    let status = null;
    if (token && cred.idx < token.size) status = statusAt(token, cred.idx);
    if (status === 2) return result("SUSPENDED");
    if (status === 3) return result("SUPERSEDED"); // citycard: renewed, the newer card replaces it
    if (status !== null && status !== 0) return result("REVOKED");
    if (cred.iat > now + POLICY.clockSkew) return result("NOT_YET_VALID");
    if (now >= cred.exp + POLICY.expiryGrace) return result("EXPIRED");
    if (!token || status === null) return result("STATUS_UNAVAILABLE");
    if (now - token.iat > POLICY.maxStatusAge || (token.exp !== null && now > token.exp)) return result("STALE_STATUS");
    const warnings = [];
    if (token.ttl !== null && now > token.iat + token.ttl) warnings.push(REFRESH_WARNING);
    return result("VALID", display(cred), warnings);
  }
  async function verifyText(text, now) {
    if (!state.trust) throw new Error("The trust list is not loaded yet; connect to the network once.");
    const when = now === undefined ? Date.now() / 1000 : now;
    let data;
    try {
      data = fromQr(text);
    } catch (e) {
      return result("MALFORMED");
    }
    try {
      return await verifyBytes(data, when);
    } catch (e) {
      return result("MALFORMED"); // hostile bytes must never end in an exception
    }
  }

  // -- loading and keeping the lists -------------------------------------------------------------
  const STORE = "citycard.verify.";
  const state = { root: null, trust: null, status: new Map(), problems: [], problemWords: [], loadedAt: null, offline: false };
  function meta(name) {
    const el = document.querySelector('meta[name="' + name + '"]');
    return el ? el.getAttribute("content") || "" : "";
  }
  const API = new URL(meta("citycard-api") || "/", location.href);
  function store(key, value) {
    try {
      if (value === null) localStorage.removeItem(STORE + key);
      else localStorage.setItem(STORE + key, value);
    } catch (e) {
      /* private mode or full: the service worker cache still helps */
    }
  }
  function stored(key) {
    try {
      return localStorage.getItem(STORE + key);
    } catch (e) {
      return null;
    }
  }
  async function fetchBytes(path, limit) {
    const response = await fetch(new URL(path, API), { cache: "no-cache", credentials: "omit" });
    if (!response.ok) throw new Shown(N_("The city API answered {status} for {path}."), { status: response.status, path });
    if (response.headers.get("X-Citycard-Offline")) state.offline = true;
    const body = new Uint8Array(await response.arrayBuffer());
    if (body.length > limit) throw new Shown(N_("The city API sent too much data for {path}."), { path });
    return body;
  }
  function pemToDer(pem) {
    const m = /-----BEGIN PUBLIC KEY-----([A-Za-z0-9+/=\s]+)-----END PUBLIC KEY-----/.exec(pem);
    if (!m) throw new Shown(N_("The city root key is not a PEM public key."));
    return fromBase64(m[1].replace(/\s+/g, ""));
  }
  function groupFingerprint(fp) {
    return fp.match(/.{1,4}/g).join(" ");
  }
  async function rootFromPem(pem) {
    const der = pemToDer(pem);
    const key = await crypto.subtle.importKey("spki", der, ECDSA, true, ["verify"]);
    const point = new Uint8Array(await crypto.subtle.exportKey("raw", key));
    const fingerprint = hex(await sha256(der)).toUpperCase();
    return { key, kid: (await sha256(point)).slice(0, 8), fingerprint, pem };
  }
  // The root key is fetched once, checked against the expected fingerprint when the page names
  // one, and pinned: later loads use the pinned copy and never a key from the network.
  async function loadRoot() {
    const expected = meta("citycard-root-fingerprint").replace(/[\s:]/g, "").toUpperCase();
    const pinned = stored("root-key");
    if (pinned) {
      const root = await rootFromPem(pinned);
      if (expected && root.fingerprint !== expected) {
        store("root-key", null);
        throw new Shown(N_("The pinned city root key does not match this page's fingerprint; reload the page."));
      }
      return root;
    }
    const response = await fetch(new URL(".well-known/citycard/root-key", API), { cache: "no-cache", credentials: "omit" });
    if (!response.ok) throw new Shown(N_("The city root key could not be fetched ({status})."), { status: response.status });
    const root = await rootFromPem(await response.text());
    if (expected && root.fingerprint !== expected) {
      throw new Shown(N_("The city API offered a root key with fingerprint {offered}, not {expected}; it was refused."), {
        offered: root.fingerprint,
        expected,
      });
    }
    store("root-key", root.pem);
    return root;
  }
  async function acceptTrust(data, root, problems) {
    const trust = await parseTrustList(data, root);
    const heldRaw = stored("trust-list");
    if (heldRaw) {
      const held = fromBase64(heldRaw);
      const heldVersion = BigInt(stored("trust-version") || "0");
      if (trust.version < heldVersion) {
        problems.push({
          msgid: N_("The trust list offered (version {offered}) is older than the one this page has (version {held}); it was refused."),
          values: { offered: trust.version, held: heldVersion },
        });
        return null;
      }
      if (trust.version === heldVersion && !equalBytes(held, data)) {
        problems.push({
          msgid: N_("Two different trust lists claim version {version}; the new one was refused. Tell the city IT team."),
          values: { version: trust.version },
        });
        return null;
      }
    }
    store("trust-list", toBase64(data));
    store("trust-version", trust.version.toString());
    return trust;
  }
  function listId(uri) {
    let path;
    try {
      path = new URL(uri).pathname;
    } catch (e) {
      return null;
    }
    const last = path.replace(/\/+$/, "").split("/").pop();
    return /^[A-Za-z0-9][A-Za-z0-9._-]{0,63}$/.test(last) ? last : null;
  }
  // The words of a problem met while loading the lists (see Shown).
  // The browser's or a parser's own words are English and technical: they go to the console.
  function problemWords(e) {
    if (e instanceof Shown) return { msgid: e.msgid, values: e.values };
    console.warn("citycard: the lists:", e);
    if (e instanceof Malformed) return { msgid: N_("The city API sent data that is not in the form citycard uses.") };
    return { msgid: N_("The city API cannot be reached; check the phone's connection, then refresh the lists.") };
  }
  function setProblems(words) {
    state.problemWords = words;
    state.problems = words.map((w) => t(w.msgid, w.values));
  }
  async function refresh() {
    await textsLoaded;
    if (!window.crypto || !crypto.subtle) {
      state.trust = null;
      setListsState("error", { msgid: INSECURE_PAGE });
      return state;
    }
    const problems = [];
    state.offline = false;
    setListsState("loading", { msgid: N_("Loading the city's lists…") });
    try {
      state.root = state.root || (await loadRoot());
    } catch (e) {
      problems.push(problemWords(e));
      setProblems(problems);
      setListsState("error", { msgid: "{problems}", values: { problems: joined(problems) } });
      return state;
    }
    const root = state.root;
    let trust = null;
    try {
      trust = await acceptTrust(await fetchBytes(".well-known/citycard/trust-list", MAX_TRUST_LIST), root, problems);
    } catch (e) {
      problems.push(problemWords(e));
    }
    if (!trust && stored("trust-list")) {
      try {
        trust = await parseTrustList(fromBase64(stored("trust-list")), root);
      } catch (e) {
        problems.push({ msgid: N_("The stored trust list cannot be used: {problem}"), values: { problem: problemWords(e) } });
      }
    }
    if (!trust) {
      state.trust = null;
      setProblems(problems);
      setListsState("error", { msgid: N_("No trust list: {problems}"), values: { problems: joined(problems) } });
      return state;
    }
    const held = new Map();
    for (const uri of trust.statusLists) {
      const id = listId(uri);
      if (!id) continue;
      const keep = stored("status." + id);
      if (keep) {
        try {
          await acceptStatus(trust, held, fromBase64(keep), Date.now() / 1000);
        } catch (e) {
          problems.push({ msgid: N_("Stored revocation list {id}: {problem}"), values: { id, problem: problemWords(e) } });
        }
      }
      try {
        const data = await fetchBytes("status/" + encodeURIComponent(id), MAX_TOKEN);
        await acceptStatus(trust, held, data, Date.now() / 1000);
        store("status." + id, toBase64(data));
      } catch (e) {
        problems.push({ msgid: N_("Revocation list {id}: {problem}"), values: { id, problem: problemWords(e) } });
      }
    }
    if (state.offline) problems.unshift({ msgid: N_("No network: using the lists kept on this phone (see their dates).") });
    state.trust = trust;
    state.status = held;
    setProblems(problems);
    state.loadedAt = Date.now() / 1000;
    renderLists();
    return state;
  }
  // Several problems as one text, each translated when shown.
  function joined(words) {
    return { msgid: words.map((_, i) => "{p" + i + "}").join(" "), values: Object.fromEntries(words.map((w, i) => ["p" + i, w])) };
  }

  // -- the page ------------------------------------------------------------------------------------
  function $(id) {
    return document.getElementById(id);
  }
  function el(tag, attrs, text) {
    const node = document.createElement(tag);
    for (const [k, v] of Object.entries(attrs || {})) node.setAttribute(k, v);
    if (text !== undefined) node.textContent = text;
    return node;
  }
  // What the lists box shows: "ready" (renderLists) or a state and its words, redrawn in
  // another language when the language changes.
  let listsView = null;
  function setListsState(kind, words) {
    listsView = { kind, words };
    const box = $("lists");
    if (!box) return;
    box.setAttribute("data-state", kind);
    box.replaceChildren(el("p", {}, t(words.msgid, words.values)));
  }
  function fmtTime(seconds) {
    return new Date(seconds * 1000).toISOString().replace("T", " ").slice(0, 16) + " UTC";
  }
  function renderLists() {
    listsView = { kind: "ready" };
    const box = $("lists");
    if (!box) return;
    const tr = state.trust;
    const items = [];
    const line = (attrs, msgid, values) => {
      const p = el("p", attrs);
      p.append(tn(msgid, values));
      return p;
    };
    items.push(line({ id: "fingerprint" }, N_("City root key fingerprint (pinned): {fingerprint}"), { fingerprint: groupFingerprint(state.root.fingerprint) }));
    items.push(line({}, N_("Trust list of {issuer}, version {version}, signed {when}."), { issuer: tr.issuer, version: tr.version, when: fmtTime(tr.issuedAt) }));
    for (const uri of tr.statusLists) {
      const token = state.status.get(uri);
      const id = listId(uri) || uri;
      items.push(token ? line({}, N_("Revocation list {id}: from {when}."), { id, when: fmtTime(token.iat) }) : line({}, N_("Revocation list {id}: missing."), { id }));
    }
    for (const p of state.problems) items.push(el("p", { class: "problem" }, p));
    box.replaceChildren(...items);
    box.setAttribute("data-state", "ready");
  }
  function redrawLists() {
    if (!listsView) return;
    if (state.problemWords) setProblems(state.problemWords);
    if (listsView.kind === "ready") renderLists();
    else setListsState(listsView.kind, listsView.words);
  }
  onLanguage.push(redrawLists);
  // What the page shows of a valid card: what anyone checking it needs to match it to its
  // holder and to know what it entitles to. Never the birth date or sex (a venue that needs
  // more uses a reader terminal, whose venue profile decides).
  const LABELS = [
    ["given_name", N_("Given name")],
    ["family_name", N_("Family name")],
    ["document_number", N_("Card number")],
    ["expires", N_("Valid until")],
    ["program", N_("Programme")],
    ["entitlements", N_("Entitlements")],
  ];
  // Programme and entitlement names from the programme profiles and the kiosk's catalogues
  // (names.json beside the page, written by api/phone/names.py); a code without a name is shown
  // as it is. names.json is {"languages": {tag: {programmes, entitlements}}}: English in full,
  // another language only the names that differ, so a name missing there is English's.
  let names = { programmes: {}, entitlements: {} };
  const namesLoaded = fetch("names.json")
    .then((r) => (r.ok ? r.json() : null))
    .then((n) => { if (n && ((n.programmes && n.entitlements) || n.languages)) names = n; })
    .catch(() => {});
  function namesHere() {
    if (!names.languages) return names;
    // `language` is already one of texts.json's tags (matched by the fallback rule): no base
    // language here, which would give Traditional Chinese the Simplified names.
    const en = names.languages.en || {};
    const own = names.languages[language] || {};
    const entitlements = { ...(en.entitlements || {}) };
    for (const [programme, codes] of Object.entries(own.entitlements || {})) {
      entitlements[programme] = { ...(entitlements[programme] || {}), ...codes };
    }
    return { programmes: { ...(en.programmes || {}), ...(own.programmes || {}) }, entitlements };
  }
  function shown(key, claims) {
    const v = claims[key];
    const here = namesHere();
    if (key === "program") return here.programmes[v] || v;
    if (key === "entitlements") {
      const own = here.entitlements[claims.program] || {};
      return list(v.map((code) => own[code] || code));
    }
    return Array.isArray(v) ? list(v) : v;
  }
  // The verdict's big word and name, as staff read them.
  function verdictWords(verdict) {
    return { big: verdict === "VALID" ? t("VALID") : t("NOT VALID"), name: t(VERDICT_NAMES[verdict] || verdict.replace(/_/g, " ")) };
  }
  // A notice's nodes: its sentence and, when it names another page, a link to that page in this
  // page's language.
  function noticeNodes(words) {
    const nodes = [el("p", { class: "sentence" }, t(words.msgid, words.values))];
    if (words.href) {
      const url = new URL(words.href, location.href);
      url.search = "";
      url.hash = "";
      url.searchParams.set("lang", language);
      const a = el("a", { href: url.href, class: "elsewhere" }, t(words.link));
      nodes.push(el("p", {}));
      nodes[1].append(a);
    }
    return nodes;
  }
  // What the page shows for a text that is not a card's code to check: no verdict, a prompt
  // (nothing given) or what the code is and where it belongs.
  const EMPTY_WORDS = { msgid: N_("Scan the QR code printed on the card, or paste its text.") };
  let lastResult = null;
  function renderNotice(kind) {
    lastResult = { notice: kind };
    const box = $("result");
    box.setAttribute("data-verdict", "");
    box.setAttribute("data-notice", kind);
    box.className = "notice";
    box.replaceChildren(...noticeNodes(kind === "empty" ? EMPTY_WORDS : KIND_WORDS[kind]));
  }
  function renderResult(res) {
    if (res.notice) return renderNotice(res.notice);
    lastResult = res;
    const box = $("result");
    box.setAttribute("data-verdict", res.verdict);
    box.removeAttribute("data-notice");
    box.className = res.valid ? "valid" : "invalid";
    const words = verdictWords(res.verdict);
    const parts = [el("div", { class: "big", id: "verdict-big" }, words.big)];
    if (!res.valid) parts.push(el("div", { class: "code", id: "verdict-code" }, words.name));
    parts.push(el("p", { class: "sentence", id: "verdict-sentence" }, t(res.message)));
    if (res.claims) {
      const dl = el("dl", { class: "claims" });
      for (const [key, label] of LABELS) {
        const v = res.claims[key];
        if (v === null || v === undefined || (Array.isArray(v) && !v.length)) continue;
        dl.append(el("dt", {}, t(label)), el("dd", { "data-claim": key }, String(shown(key, res.claims))));
      }
      parts.push(dl);
    }
    if (res.warnings.length) {
      const ul = el("ul", { class: "warnings" });
      for (const w of res.warnings) ul.append(el("li", {}, t(w)));
      parts.push(ul);
    }
    box.replaceChildren(...parts);
  }
  onLanguage.push(() => {
    if (lastResult && $("result")) renderResult(lastResult);
  });
  async function check(text) {
    const kind = codeKind(text);
    if (NOTICES.has(kind)) {
      renderNotice(kind);
      return null;
    }
    if (!state.trust) await refresh();
    if (!state.trust) return null;
    await namesLoaded;
    const res = await verifyText(text);
    renderResult(res);
    return res;
  }
  // The camera: BarcodeDetector where the browser has one, else the vendored jsQR (jsQR.js,
  // loaded before this script) on frames drawn into a canvas. Any code's text: the loop tells
  // a card's code from others.
  function qrDecoder() {
    if ("BarcodeDetector" in window) {
      const detector = new window.BarcodeDetector({ formats: ["qr_code"] });
      return async (video) => {
        const codes = await detector.detect(video);
        const texts = codes.map((c) => c.rawValue).filter((v) => typeof v === "string");
        return texts.find((v) => v.startsWith(QR_PREFIX)) || texts[0] || null;
      };
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
  // What the camera has to say (a code of another kind, it has stopped, it cannot start), under
  // the buttons; redrawn in another language.
  let scanWords = null;
  function scanHint(words) {
    scanWords = words;
    const box = $("scan-hint");
    if (!box) return;
    box.replaceChildren(...(words ? noticeNodes(words) : []));
  }
  onLanguage.push(() => scanHint(scanWords));
  function setupCamera() {
    const button = $("scan");
    const decode = qrDecoder();
    // no camera API outside a secure context: the button stays, to say why it cannot work
    if (!button || !decode || !(navigator.mediaDevices || !window.isSecureContext)) return;
    button.hidden = false;
    button.addEventListener("click", async () => {
      const video = $("camera");
      let stream;
      scanHint(null);
      try {
        if (!navigator.mediaDevices) throw new Error("no navigator.mediaDevices");
        stream = await navigator.mediaDevices.getUserMedia({ video: { facingMode: "environment" } });
        video.srcObject = stream;
        video.hidden = false;
        await video.play();
        let wrong = null;
        let seen = 0;
        // the camera looks for a minute, then says it stopped (a tap starts it again)
        for (const until = Date.now() + 60_000; Date.now() < until; ) {
          const text = await decode(video);
          const kind = text ? codeKind(text) : null;
          if (kind === "card") {
            $("qr").value = text;
            scanHint(null);
            await check(text);
            return;
          }
          if (kind && kind !== "empty") {
            seen = kind === wrong ? seen + 1 : 1;
            wrong = kind;
            if (seen === SIGHTINGS) scanHint(KIND_WORDS[kind]);
          }
          await new Promise((r) => setTimeout(r, 100));
        }
        scanHint(CAMERA_STOPPED);
      } catch (e) {
        scanHint({ msgid: cameraProblem(e) });
      } finally {
        if (stream) stream.getTracks().forEach((t) => t.stop());
        video.hidden = true;
      }
    });
  }
  function start() {
    // venue.html loads this script for its lists only: it has no check form
    if ($("check-form")) $("check-form").addEventListener("submit", (event) => {
      event.preventDefault();
      // A scanner typing into the box ends with one Enter: the input layer's to remove
      // (docs/credential.md 1.2); the decoder takes the rest exactly as written.
      check($("qr").value.replace(/(?:\r\n|\n|\r)$/, ""));
    });
    $("refresh").addEventListener("click", () => refresh());
    setupLanguageList();
    setupCamera();
    if ("serviceWorker" in navigator) {
      navigator.serviceWorker.register("sw.js").catch(() => {});
    }
  }

  const ready = refresh();
  window.citycard = {
    // the CBOR and COSE readers, for presentation.js's check of an mdoc answer
    cbor: { decodeCbor, CborTag, head, concat, equalBytes, hex, toBase64, keysAre, pyEq, verifySign1, keyFromCose },
    verifyText, verifyBytes, refresh, ready, state, POLICY, SENTENCES, VERDICT_NAMES, t, tn, N_, list, onLanguage, verdictWords,
    language: () => language,
    // the kinds of code, their words and the camera's problems, for the venue page
    codeKind, KIND_WORDS, CAMERA_STOPPED, SIGHTINGS, cameraProblem, noticeNodes, NOT_FOUND, INSECURE_PAGE,
  };
  if (document.readyState === "loading") document.addEventListener("DOMContentLoaded", start);
  else start();
})();
