/*
 * citycard presentations in the browser: the venue's request, the holder's answer, and the
 * venue's offline check of that answer (docs/credential.md section 9; the reference is
 * cardio/presentation.py, cardio/sdjwt.py, cardio/sdjwt_vc.py and cardio/mdoc.py, whose
 * checks, order, verdicts and typed reasons this file follows).
 *
 *   request QR  CCQ1:<base64url(JSON {v, aud, nonce, iat, items})>
 *   answer QR   CCS1:<base45(zlib(SD-JWT presentation))> or CCM1:<base45(zlib(CBOR [aud,
 *               nonce, iat, DeviceResponse]))>, or CCP1:<i>/<n>:<piece> parts
 *
 * Used by the wallet page (the holder's side: `present`) and by the venue page (venue.html:
 * `newRequest`, `verifyAnswer`); every phone page (the card check page too) loads it first for
 * the rules they share: the language of the page (`pickLanguage`) and the kind of a code. No build step, no third-party code except the vendored
 * qrcode-generator (qrcode.js) that `drawQr` uses. Exposed as window.citycardPresentation.
 */
"use strict";
(function () {
  const REQUEST_PREFIX = "CCQ1:";
  const SDJWT_PREFIX = "CCS1:";
  const MDOC_PREFIX = "CCM1:";
  const PART_PREFIX = "CCP1:";
  const QR_CHARS = 600; // alphanumeric characters of a version 15 QR at level M
  const REQUEST_WINDOW = 300;
  const POLICY = { clockSkew: 300, maxStatusAge: 7 * 86400, expiryGrace: 12 * 3600 }; // as verify.js
  const MAX_RESPONSE = 64 * 1024;
  const MAX_JWS = 64 * 1024;
  const MAX_DISCLOSURES = 64;
  const VCT = "urn:citycard:resident-card:1";
  const TYP = "dc+sd-jwt";
  const KB_TYP = "kb+jwt";
  const PERSONAL = ["family_name", "given_name", "birth_date", "sex", "photo", "languages", "program", "document_number"];
  const ITEMS = PERSONAL.concat(["age_over_18", "age_over_65", "resident_of"]);
  const VISIBLE = new Set(["iss", "iat", "exp", "vct", "status", "cnf", "entitlements"]);
  const RESERVED = new Set(["_sd", "...", "_sd_alg"]);
  const ENTITLEMENT = "entitlement:";
  const CODE = /^[a-z0-9][a-z0-9-]{0,31}$/;

  // Marks a msgid: the venue page shows these sentences translated (api/phone/catalogue.py).
  function N_(msgid) {
    return msgid;
  }
  // The typed reasons of cardio.presentation_errors, their verdicts and sentences.
  const REASONS = {
    malformed: ["MALFORMED", N_("The phone's answer cannot be read; ask the holder to show it again or use the card.")],
    wrong_format: ["MALFORMED", N_("This is not a citycard wallet credential or presentation; ask the holder for the citycard.")],
    unknown_key: ["UNKNOWN_KEY", N_("The credential was signed by a key the reader does not know; refresh the trust list, and if it persists do not accept it.")],
    unrequested_disclosure: ["MALFORMED", N_("The answer holds details this venue did not ask for, which a citycard wallet never sends; do not accept it, and show the request QR again.")],
    bad_issuer_signature: ["BAD_SIGNATURE", N_("The credential's signature is not genuine; do not accept it.")],
    unsigned_disclosure: ["BAD_SIGNATURE", N_("The answer holds a detail the city did not sign (changed or added); do not accept it.")],
    repeated_disclosure: ["BAD_SIGNATURE", N_("The answer holds the same detail twice, which a genuine wallet never sends; do not accept it.")],
    disclosures_changed: ["BAD_SIGNATURE", N_("The details were changed after the holder's phone signed them; do not accept them.")],
    no_key_binding: ["CLONE_SUSPECTED", N_("The answer is not signed by the holder's phone, so it may be a copy; ask the holder to answer this venue's request.")],
    bad_key_binding: ["CLONE_SUSPECTED", N_("The holder's signature on the answer is not genuine, so it may be a copy; do not accept it.")],
    wrong_nonce: ["CLONE_SUSPECTED", N_("The answer was made for another request (a replay or a copy); ask the holder to scan this venue's request again.")],
    wrong_audience: ["CLONE_SUSPECTED", N_("The answer was made for another venue; ask the holder to scan this venue's request.")],
    outside_time_window: ["CLONE_SUSPECTED", N_("The answer is too old or dated in the future; show a new request and check the reader's clock.")],
  };
  const STRONGER_THAN_BINDING = new Set(["REVOKED", "SUSPENDED", "SUPERSEDED", "KEY_REVOKED", "MALFORMED", "WRONG_ISSUER"]);
  const REFRESH_WARNING = N_("The revocation list is due for a refresh; connect the reader soon.");
  // What is wrong with scanned or pasted parts (cardio.presentation.join_qr's sentences): more
  // use to staff than the reason's sentence, so the venue page shows them (translated).
  const NOT_A_PART = N_("A scanned code is not part of a citycard answer (CCP1:).");
  const PARTS_MIXED = N_("The scanned parts do not belong to one answer; scan them again.");
  const PARTS_MISSING = N_("Some parts of the answer are missing; scan every code the phone shows.");
  const SHOWN_DETAILS = new Set([NOT_A_PART, PARTS_MIXED, PARTS_MISSING]);
  const NO_LISTS = N_("No trust list is loaded on this phone yet; connect it once to load the city's lists.");
  // The warning for items asked for but not shared; the venue page writes it in its language.
  function missingWarning(missing) {
    return "The holder did not share: " + missing.join(", ") + ".";
  }

  class Refused extends Error {
    constructor(reason, detail) {
      super(detail || REASONS[reason][1]);
      this.reason = reason;
    }
  }

  // -- bytes and text ------------------------------------------------------------------------
  const utf8 = new TextDecoder("utf-8", { fatal: true });
  const encoder = new TextEncoder();
  function ascii(text) {
    if (!/^[\x00-\x7f]*$/.test(text)) throw new Refused("malformed", "The answer holds characters a citycard answer never has.");
    return encoder.encode(text);
  }
  function b64u(bytes) {
    let s = "";
    for (let i = 0; i < bytes.length; i += 0x8000) s += String.fromCharCode(...bytes.subarray(i, i + 0x8000));
    return btoa(s).replace(/\+/g, "-").replace(/\//g, "_").replace(/=+$/, "");
  }
  function fromB64u(text) {
    if (typeof text !== "string" || !/^[A-Za-z0-9_-]*$/.test(text) || text.length % 4 === 1) {
      throw new Refused("malformed", "A part of the answer is not base64url text.");
    }
    const s = atob(text.replace(/-/g, "+").replace(/_/g, "/") + "===".slice((text.length + 3) % 4));
    const out = new Uint8Array(s.length);
    for (let i = 0; i < s.length; i++) out[i] = s.charCodeAt(i);
    return out;
  }
  function jsonOf(bytes) {
    try {
      return JSON.parse(utf8.decode(bytes));
    } catch (e) {
      throw new Refused("malformed", "A part of the answer is not JSON.");
    }
  }
  function jsonBytes(obj) {
    return encoder.encode(JSON.stringify(obj));
  }
  async function sha256(bytes) {
    return new Uint8Array(await crypto.subtle.digest("SHA-256", bytes));
  }
  async function digest(text) {
    return b64u(await sha256(ascii(text)));
  }
  function isPlainObject(v) {
    return typeof v === "object" && v !== null && !Array.isArray(v);
  }
  function isInt(v) {
    return typeof v === "number" && Number.isInteger(v);
  }

  // -- base45 (RFC 9285) and zlib ------------------------------------------------------------
  const B45 = "0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZ $%*+-./:";
  function base45Encode(bytes) {
    let out = "";
    for (let i = 0; i < bytes.length; i += 2) {
      if (i + 1 < bytes.length) {
        let n = bytes[i] * 256 + bytes[i + 1];
        const c = n % 45;
        n = (n - c) / 45;
        const d = n % 45;
        out += B45[c] + B45[d] + B45[(n - d) / 45];
      } else {
        out += B45[bytes[i] % 45] + B45[Math.floor(bytes[i] / 45)];
      }
    }
    return out;
  }
  function base45Decode(text) {
    const values = [];
    for (const ch of text) {
      const v = ch.length === 1 ? B45.indexOf(ch) : -1;
      if (v < 0) throw new Refused("malformed", "The answer's QR holds a character base45 does not use.");
      values.push(v);
    }
    if (values.length % 3 === 1) throw new Refused("malformed", "The answer's QR has a length base45 cannot decode.");
    const out = [];
    for (let i = 0; i < values.length; i += 3) {
      if (i + 2 < values.length) {
        const n = values[i] + values[i + 1] * 45 + values[i + 2] * 2025;
        if (n > 0xffff) throw new Refused("malformed", "The answer's QR holds a base45 group out of range.");
        out.push(n >> 8, n & 0xff);
      } else {
        const n = values[i] + values[i + 1] * 45;
        if (n > 0xff) throw new Refused("malformed", "The answer's QR holds a base45 group out of range.");
        out.push(n);
      }
    }
    return new Uint8Array(out);
  }
  async function pipe(bytes, transform, max) {
    const reader = new Blob([bytes]).stream().pipeThrough(transform).getReader();
    const parts = [];
    let total = 0;
    for (;;) {
      const { done, value } = await reader.read();
      if (done) break;
      total += value.length;
      if (total > max) {
        reader.cancel().catch(() => {});
        throw new Refused("malformed", "The answer's QR is too large.");
      }
      parts.push(value);
    }
    const out = new Uint8Array(total);
    let at = 0;
    for (const p of parts) {
      out.set(p, at);
      at += p.length;
    }
    return out;
  }
  function deflate(bytes) {
    return pipe(bytes, new CompressionStream("deflate"), Infinity); // "deflate" is zlib (RFC 1950)
  }
  async function inflate(bytes) {
    try {
      return await pipe(bytes, new DecompressionStream("deflate"), MAX_RESPONSE);
    } catch (e) {
      if (e instanceof Refused) throw e;
      throw new Refused("malformed", "The answer's QR is not compressed as citycard's are.");
    }
  }

  // -- the venue's request -------------------------------------------------------------------
  function checkItem(item) {
    // an entitlement by its code, as cards hold them (cardio.wallet_claims.check_item)
    const ok = typeof item === "string" && (ITEMS.includes(item) ||
      (item.startsWith(ENTITLEMENT) && CODE.test(item.slice(ENTITLEMENT.length))));
    if (!ok) throw new Refused("malformed", "The venue asks for something a citycard wallet cannot disclose.");
    return item;
  }
  function newRequest(venue, items, now) {
    const nonce = b64u(crypto.getRandomValues(new Uint8Array(16)));
    const request = { venue, nonce, iat: Math.floor(now === undefined ? Date.now() / 1000 : now), items: [...new Set(items.map(checkItem))] };
    request.qr = REQUEST_PREFIX + b64u(jsonBytes({ v: 1, aud: venue, nonce, iat: request.iat, items: request.items }));
    return request;
  }
  // cardio.presentation.VenueRequest.from_qr: an Error with a sentence when it is not one.
  function parseRequest(text) {
    if (typeof text !== "string" || !text.startsWith(REQUEST_PREFIX) || text.length > 2048) {
      throw new Refused("malformed", "This is not a citycard venue request (it does not start CCQ1:).");
    }
    const body = jsonOf(fromB64u(text.slice(REQUEST_PREFIX.length)));
    const keys = isPlainObject(body) ? Object.keys(body).sort().join(",") : "";
    if (keys !== "aud,iat,items,nonce,v") throw new Refused("malformed", "The venue request has missing or unexpected members.");
    const { aud, nonce, iat, items } = body;
    if (body.v !== 1 || typeof aud !== "string" || !aud.length || aud.length > 64) throw new Refused("malformed", "The venue request names no venue.");
    if (typeof nonce !== "string" || fromB64u(nonce).length < 16) throw new Refused("malformed", "The venue request's nonce is shorter than 128 bits.");
    if (!isInt(iat) || !Array.isArray(items) || !items.length || items.length > 32) throw new Refused("malformed", "The venue request's time or items are malformed.");
    return { venue: aud, nonce, iat, items: items.map(checkItem), qr: text };
  }

  // -- SD-JWT (RFC 9901) ---------------------------------------------------------------------
  async function parseDisclosure(encoded) {
    const parts = jsonOf(fromB64u(encoded));
    if (!Array.isArray(parts) || (parts.length !== 2 && parts.length !== 3)) throw new Refused("malformed", "A disclosure is not an array of two or three items.");
    if (typeof parts[0] !== "string" || !parts[0]) throw new Refused("malformed", "A disclosure's salt is not text.");
    const d = { encoded, salt: parts[0], name: null, value: parts[parts.length - 1], digest: await digest(encoded) };
    if (parts.length === 3) {
      if (typeof parts[1] !== "string" || RESERVED.has(parts[1])) throw new Refused("malformed", "A disclosure's claim name is not acceptable.");
      d.name = parts[1];
    }
    return d;
  }
  async function parseSdJwt(text) {
    if (typeof text !== "string" || text.length > MAX_JWS || !text.includes("~")) throw new Refused("malformed", "This is not an SD-JWT in compact form.");
    const parts = text.split("~");
    if (parts.length - 2 > MAX_DISCLOSURES) throw new Refused("malformed", "The SD-JWT carries too many disclosures.");
    if (parts.slice(1, -1).some((p) => !p)) throw new Refused("malformed", "The SD-JWT has an empty disclosure.");
    const disclosures = [];
    for (const p of parts.slice(1, -1)) disclosures.push(await parseDisclosure(p));
    return { jwt: parts[0], disclosures, kb: parts[parts.length - 1] || null };
  }
  function withoutKeyBinding(sd) {
    return sd.jwt + "~" + sd.disclosures.map((d) => d.encoded + "~").join("");
  }
  function itemOf(d) {
    return d.name === null ? ENTITLEMENT + String(d.value) : d.name;
  }
  function parseJws(token, reason) {
    const parts = typeof token === "string" && token.length <= MAX_JWS ? token.split(".") : [];
    if (parts.length !== 3) throw new Refused(reason, "A signed part of the answer is not a compact JWS.");
    const header = jsonOf(fromB64u(parts[0]));
    const payload = jsonOf(fromB64u(parts[1]));
    const signature = fromB64u(parts[2]);
    if (!isPlainObject(header) || header.alg !== "ES256" || "crit" in header || !isPlainObject(payload) || signature.length !== 64) {
      throw new Refused(reason, "A signed part of the answer is not an ES256 JWS citycard accepts.");
    }
    return { header, payload, input: ascii(parts[0] + "." + parts[1]), signature };
  }
  async function jwsVerifies(key, jws) {
    try {
      return await crypto.subtle.verify({ name: "ECDSA", hash: "SHA-256" }, key, jws.signature, jws.input);
    } catch (e) {
      return false;
    }
  }
  async function signJws(privateKey, header, payload) {
    const input = b64u(jsonBytes(header)) + "." + b64u(jsonBytes(payload));
    const signature = new Uint8Array(await crypto.subtle.sign({ name: "ECDSA", hash: "SHA-256" }, privateKey, encoder.encode(input)));
    return input + "." + b64u(signature);
  }

  // The holder's answer: only the disclosures the request names, and a KB-JWT over its nonce,
  // venue and time signed with the (non-extractable) holder key (cardio.sdjwt.SdJwt.present).
  async function present(issued, request, holderKey, now) {
    const sd = await parseSdJwt(issued);
    const wanted = new Set(request.items);
    const kept = { jwt: sd.jwt, disclosures: sd.disclosures.filter((d) => wanted.has(itemOf(d))), kb: null };
    const base = withoutKeyBinding(kept);
    const payload = {
      iat: Math.floor(now === undefined ? Date.now() / 1000 : now),
      aud: request.venue,
      nonce: request.nonce,
      sd_hash: await digest(base),
    };
    return base + (await signJws(holderKey, { alg: "ES256", typ: KB_TYP }, payload));
  }
  // What the holder's credential holds, item by item (for the card and the consent list).
  async function credentialItems(issued) {
    const sd = await parseSdJwt(issued);
    const jws = parseJws(sd.jwt, "malformed");
    const items = {};
    const entitlements = [];
    for (const d of sd.disclosures) {
      if (d.name === null) entitlements.push(String(d.value));
      else items[d.name] = d.value;
    }
    return { items, entitlements, expires: jws.payload.exp, issued: jws.payload.iat, issuer: jws.payload.iss };
  }

  // -- QR texts ------------------------------------------------------------------------------
  async function responseQr(presentation) {
    return SDJWT_PREFIX + base45Encode(await deflate(ascii(presentation)));
  }
  // cardio.presentation.split_qr / join_qr
  function splitQr(text, chars) {
    chars = chars || QR_CHARS;
    let count = 1;
    let pieces;
    for (;;) {
      const room = chars - (PART_PREFIX + count + "/" + count + ":").length;
      pieces = [];
      for (let i = 0; i < text.length; i += room) pieces.push(text.slice(i, i + room));
      if (!pieces.length) pieces = [""];
      if (pieces.length <= count) break;
      count = pieces.length;
    }
    return pieces.map((p, i) => PART_PREFIX + (i + 1) + "/" + pieces.length + ":" + p);
  }
  // A part's <i>/<n> as cardio.presentation reads it: ASCII digits, no leading zero, at most four.
  function partOf(text) {
    const m = /^CCP1:([1-9][0-9]{0,3})\/([1-9][0-9]{0,3}):/.exec(text);
    if (!m) return null;
    const number = Number(m[1]);
    const count = Number(m[2]);
    if (!(number > 0 && number <= count)) return null;
    return { number, count, piece: text.slice(m[0].length) };
  }
  // A part given twice is taken once, as the camera's PartCollector does (a paste of every code
  // scanned, one a line, may hold a repeat); another text under the same number is refused.
  function joinQr(parts) {
    const pieces = new Map();
    let total = null;
    for (const text of parts) {
      const part = partOf(text);
      if (!part) throw new Refused("malformed", NOT_A_PART);
      if ((total !== null && total !== part.count) || (pieces.has(part.number) && pieces.get(part.number) !== part.piece)) {
        throw new Refused("malformed", PARTS_MIXED);
      }
      total = part.count;
      pieces.set(part.number, part.piece);
    }
    if (total === null || pieces.size !== total) throw new Refused("malformed", PARTS_MISSING);
    let out = "";
    for (let i = 1; i <= total; i++) out += pieces.get(i);
    return out;
  }
  // Collects scanned parts (in any order, repeats ignored) until an answer is complete.
  class PartCollector {
    constructor() {
      this.parts = new Map();
      this.count = null;
    }
    add(text) {
      const part = partOf(text);
      if (!part) return null;
      if (this.count !== part.count) {
        this.parts = new Map();
        this.count = part.count;
      }
      this.parts.set(part.number, text);
      return this.parts.size === this.count ? [...this.parts.values()] : null;
    }
  }
  // A QR code as an <img> (a GIF data: URL, so no inline script or style is needed); `alt`
  // is the caller's words for it, already in the page's language.
  function drawQr(text, cell, alt) {
    const qr = window.qrcode(0, "M");
    qr.addData(text, /^[0-9A-Z $%*+\-./:]*$/.test(text) ? "Alphanumeric" : "Byte");
    qr.make();
    const img = document.createElement("img");
    img.src = qr.createDataURL(cell || 4, 4);
    img.setAttribute("alt", alt);
    img.className = "qr";
    return img;
  }

  // -- the venue's check -----------------------------------------------------------------------
  function unfold(node, byDigest, used, seen) {
    const take = (d) => {
      if (typeof d !== "string") throw new Refused("malformed", "An SD-JWT digest is not text.");
      if (seen.has(d)) throw new Refused("malformed", "The SD-JWT names one digest twice.");
      seen.add(d);
      return byDigest.get(d);
    };
    const nested = (v) => (typeof v === "object" && v !== null ? unfold(v, byDigest, used, seen) : v);
    if (Array.isArray(node)) {
      const items = [];
      for (const element of node) {
        if (isPlainObject(element) && "..." in element) {
          if (Object.keys(element).length !== 1) throw new Refused("malformed", "An SD-JWT array element digest has other members.");
          const found = take(element["..."]);
          if (!found) continue;
          if (found.name !== null) throw new Refused("malformed", "An object member's disclosure stands for an element.");
          used.add(found.digest);
          items.push(nested(found.value));
        } else {
          items.push(nested(element));
        }
      }
      return items;
    }
    if (!isPlainObject(node)) return node;
    const out = {};
    const digests = "_sd" in node ? node._sd : [];
    if (!Array.isArray(digests)) throw new Refused("malformed", "An SD-JWT _sd is not an array.");
    for (const [name, value] of Object.entries(node)) {
      if (name === "_sd") continue;
      if (RESERVED.has(name)) throw new Refused("malformed", "The SD-JWT misplaces " + name + ".");
      out[name] = nested(value);
    }
    for (const d of digests) {
      const found = take(d);
      if (!found) continue; // undisclosed, or a decoy
      if (found.name === null) throw new Refused("malformed", "An array element's disclosure stands for an object member.");
      if (Object.prototype.hasOwnProperty.call(out, found.name)) throw new Refused("malformed", "A disclosure would overwrite a claim.");
      used.add(found.digest);
      out[found.name] = nested(found.value);
    }
    return out;
  }
  function checkedValue(name, value) {
    let ok;
    if (name === "age_over_18" || name === "age_over_65") ok = typeof value === "boolean";
    else if (name === "languages") ok = Array.isArray(value) && value.every((v) => typeof v === "string");
    else if (name === "photo") ok = typeof value === "string" && value.length % 4 === 0;
    else ok = typeof value === "string" && value.length > 0 && value.length <= 100;
    if (!ok) throw new Refused("malformed", "The disclosed " + name + " has the wrong type.");
    return value;
  }
  const timeOk = (v) => isInt(v) && v >= 0 && v < 2 ** 40;

  // cardio.sdjwt_vc.read_vc: the issuer's signature and the disclosures.
  async function readVc(sd, trust) {
    const jws = parseJws(sd.jwt, "malformed");
    if (jws.header.typ !== TYP) throw new Refused("wrong_format");
    const kid = typeof jws.header.kid === "string" && /^[0-9a-f]{16}$/.test(jws.header.kid) ? jws.header.kid : null;
    const key = kid && trust.keys.get(kid);
    if (!key || key.purpose !== "issue") throw new Refused("unknown_key");
    if (!(await jwsVerifies(key.key, jws))) throw new Refused("bad_issuer_signature");
    const payload = jws.payload;
    if ("_sd_alg" in payload && payload._sd_alg !== "sha-256") throw new Refused("malformed", "The SD-JWT uses a digest other than sha-256.");
    const byDigest = new Map();
    for (const d of sd.disclosures) {
      if (byDigest.has(d.digest)) throw new Refused("repeated_disclosure");
      byDigest.set(d.digest, d);
    }
    const used = new Set();
    const top = Object.assign({}, payload);
    delete top._sd_alg;
    const c = unfold(top, byDigest, used, new Set());
    if (used.size !== byDigest.size) throw new Refused("unsigned_disclosure");
    if (sd.disclosures.some((d) => used.has(d.digest) && VISIBLE.has(d.name))) {
      throw new Refused("malformed", "A claim that must stay visible was made disclosable.");
    }
    const sl = c.status && c.status.status_list;
    const holderJwk = c.cnf && c.cnf.jwk;
    if (!sl || !holderJwk || !("iss" in c) || !("iat" in c) || !("exp" in c) || !("vct" in c)) {
      throw new Refused("malformed", "The credential lacks a claim every citycard has.");
    }
    if (c.vct !== VCT) throw new Refused("wrong_format");
    if (!(timeOk(c.iat) && timeOk(c.exp) && timeOk(sl.idx) && typeof sl.uri === "string" && typeof c.iss === "string")) {
      throw new Refused("malformed", "The credential's claims have wrong types.");
    }
    const disclosed = {};
    for (const [name, value] of Object.entries(c)) {
      if (VISIBLE.has(name)) continue;
      if (!ITEMS.includes(name)) throw new Refused("malformed", "The credential carries a claim a citycard never holds.");
      disclosed[name] = checkedValue(name, value);
    }
    if ("entitlements" in payload && !Array.isArray(payload.entitlements)) throw new Refused("malformed", "The entitlements are not a list.");
    const entitlements = c.entitlements || [];
    if (!entitlements.every((e) => typeof e === "string" && CODE.test(e))) throw new Refused("malformed", "An entitlement is not a short code.");
    return {
      claims: { format: "sd-jwt-vc", issuer: c.iss, iat: c.iat, exp: c.exp, idx: sl.idx, uri: sl.uri, kid, disclosed, entitlements },
      holderJwk,
    };
  }
  // cardio.sdjwt.verify_key_binding
  async function keyBinding(sd, holderJwk) {
    if (!sd.kb) throw new Refused("no_key_binding");
    let key;
    try {
      key = await crypto.subtle.importKey(
        "jwk", { kty: holderJwk.kty, crv: holderJwk.crv, x: holderJwk.x, y: holderJwk.y },
        { name: "ECDSA", namedCurve: "P-256" }, false, ["verify"]
      );
      if (holderJwk.kty !== "EC" || holderJwk.crv !== "P-256") throw new Error("not P-256");
    } catch (e) {
      throw new Refused("malformed", "The credential names no usable holder key.");
    }
    // no JWS at all (a truncated answer ends in half a disclosure) cannot be read; only a
    // readable key binding that fails says "a copy" (as cardio.sdjwt.verify_key_binding)
    const kb = parseJws(sd.kb, "malformed");
    if (kb.header.typ !== KB_TYP) throw new Refused("bad_key_binding", "The key binding JWT is not a kb+jwt.");
    if (!(await jwsVerifies(key, kb))) throw new Refused("bad_key_binding");
    const p = kb.payload;
    if (p.sd_hash !== (await digest(withoutKeyBinding(sd)))) throw new Refused("disclosures_changed");
    if (typeof p.nonce !== "string" || typeof p.aud !== "string") throw new Refused("bad_key_binding", "The key binding names no nonce or audience.");
    if (!isInt(p.iat)) throw new Refused("bad_key_binding", "The key binding carries no time.");
    return { nonce: p.nonce, audience: p.aud, iat: p.iat };
  }
  function bindingProblem(kb, request, now) {
    if (kb.nonce !== request.nonce) return "wrong_nonce";
    if (kb.audience !== request.venue) return "wrong_audience";
    const skew = POLICY.clockSkew;
    if (!(request.iat - skew <= kb.iat && kb.iat <= now + skew) || now - request.iat > REQUEST_WINDOW) return "outside_time_window";
    return null;
  }
  function statusAt(token, idx) {
    const shift = { 1: 3, 2: 2, 4: 1, 8: 0 }[token.bits];
    return (token.bytes[idx >> shift] >> ((idx & ((1 << shift) - 1)) * token.bits)) & ((1 << token.bits) - 1);
  }
  // cardio.presentation._status_verdict: the chip's checks after the signature, in its order.
  function statusVerdict(lists, c, now) {
    const key = lists.trust.keys.get(c.kid);
    if (key.state === "revoked") return { verdict: "KEY_REVOKED" };
    if (c.issuer !== lists.trust.issuer) return { verdict: "WRONG_ISSUER" };
    if (!(key.notBefore <= c.iat && c.iat <= key.notAfter)) return { verdict: "KEY_EXPIRED" };
    const token = lists.status.get(c.uri);
    let status = null;
    if (token && c.idx < token.size) status = statusAt(token, c.idx);
    if (status === 2) return { verdict: "SUSPENDED" };
    if (status === 3) return { verdict: "SUPERSEDED" };
    if (status !== null && status !== 0) return { verdict: "REVOKED" };
    if (c.iat > now + POLICY.clockSkew) return { verdict: "NOT_YET_VALID" };
    if (now >= c.exp + POLICY.expiryGrace) return { verdict: "EXPIRED" }; // the printed last day, anywhere
    if (!token || status === null) return { verdict: "STATUS_UNAVAILABLE" };
    if (now - token.iat > POLICY.maxStatusAge || (token.exp !== null && now > token.exp)) return { verdict: "STALE_STATUS" };
    if (token.ttl !== null && now > token.iat + token.ttl) return { verdict: "VALID", warnings: [REFRESH_WARNING] };
    return { verdict: "VALID" };
  }
  // -- an mdoc answer (CCM1:), as cardio.mdoc.read_device_response reads it -----------------
  // The CBOR and COSE readers are verify.js's (window.citycard.cbor): only the venue page,
  // which loads verify.js, checks answers; the wallet page only makes them.
  const MDOC = "org.citycard.resident.1"; // docType and namespace
  const HANDOVER = "org.citycard.qr-handover.1";
  const ENTITLEMENT_ELEMENT = "entitlement_";
  const ITEM_MEMBERS = ["digestID", "random", "elementIdentifier", "elementValue"];
  const ES256_HEADER = Uint8Array.of(0xa1, 0x01, 0x26); // {1: -7}, as citycard's wallets encode it
  const RESPONSE_MEMBERS = ["version", "documents", "status"]; // a DeviceResponse without documentErrors
  const DOCUMENT_MEMBERS = ["docType", "issuerSigned", "deviceSigned"]; // a Document without errors
  const X5CHAIN = 33;
  function cborText(C, text) {
    const b = encoder.encode(text);
    return C.concat([C.head(3, b.length), b]);
  }
  function embedded(C, bytes) {
    return C.concat([Uint8Array.of(0xd8, 0x18), C.head(2, bytes.length), bytes]);
  }
  function mdocShown(C, name, value) {
    if (name === "photo" && value instanceof Uint8Array) return C.toBase64(value); // as the SD-JWT VC's
    if (name === "birth_date" && value instanceof C.CborTag && value.tag === 1004 && typeof value.value === "string") return value.value;
    if ((name === "age_over_18" || name === "age_over_65") && typeof value === "boolean") return value;
    if (name === "languages" && Array.isArray(value) && value.every((v) => typeof v === "string")) return value;
    if (typeof value === "string" && !["photo", "birth_date", "languages"].includes(name)) return value;
    throw new Refused("malformed", "The mdoc's " + name + " has the wrong type.");
  }
  function tdate(C, v) {
    const ms = v instanceof C.CborTag && v.tag === 0 && typeof v.value === "string" ? Date.parse(v.value) : NaN;
    if (!Number.isFinite(ms)) throw new Refused("malformed", "An MSO time is not a tdate.");
    return Math.floor(ms / 1000);
  }
  function member(map, ...path) {
    let v = map;
    for (const k of path) {
      if (!(v instanceof Map) || !v.has(k)) throw new Refused("malformed", "The mdoc lacks a member every citycard has.");
      v = v.get(k);
    }
    return v;
  }
  // The envelope [aud, nonce, iat, DeviceResponse]: the claims, the request the answer names,
  // and `boundTo(request)`: whether the device signature holds over that request's transcript.
  async function readMdoc(bytes, trust) {
    const C = window.citycard && window.citycard.cbor;
    if (!C) throw new Refused("wrong_format");
    const decode = (data, tags) => {
      try {
        return C.decodeCbor(data, false, false, tags);
      } catch (e) {
        throw new Refused("malformed", "The mdoc answer is not valid CBOR.");
      }
    };
    const envelope = decode(bytes);
    if (!(Array.isArray(envelope) && envelope.length === 4 && typeof envelope[0] === "string" && typeof envelope[1] === "string"
      && isInt(envelope[2]) && envelope[3] instanceof Uint8Array)) {
      throw new Refused("malformed", "The mdoc answer's QR is not citycard's.");
    }
    const [aud, nonce, iat, responseBytes] = envelope;
    const tagged = (v) => v instanceof C.CborTag && v.tag === 24 && v.value instanceof Uint8Array;
    const response = decode(responseBytes, new Set([24]));
    const documents = member(response, "documents");
    if (member(response, "version") !== "1.0" || !Array.isArray(documents) || documents.length !== 1) {
      throw new Refused("malformed", "The mdoc response holds not exactly one document.");
    }
    // outside every signature, yet read, as the reader does: a response that reports an error
    // (status 10 and up, ISO/IEC 18013-5) or carries errors is not an answer to verify
    if (!C.keysAre(response, RESPONSE_MEMBERS, RESPONSE_MEMBERS) || member(response, "status") !== 0) {
      throw new Refused("malformed", "The mdoc response reports an error or has unknown members.");
    }
    const doc = documents[0];
    if (!(doc instanceof Map) || !C.keysAre(doc, DOCUMENT_MEMBERS, DOCUMENT_MEMBERS)) {
      throw new Refused("malformed", "The mdoc document has missing or unknown members.");
    }
    if (member(doc, "docType") !== MDOC) throw new Refused("wrong_format");
    const signed = member(doc, "issuerSigned");
    if (!C.keysAre(signed, ["issuerAuth"], ["nameSpaces", "issuerAuth"])) throw new Refused("malformed", "This is not an mdoc IssuerSigned.");
    const spaces = signed.has("nameSpaces") ? signed.get("nameSpaces") : new Map();
    if (!C.keysAre(spaces, [], [MDOC])) throw new Refused("wrong_format");
    const rawItems = spaces.has(MDOC) ? spaces.get(MDOC) : [];
    const elements = [];
    const names = new Set();
    for (const raw of Array.isArray(rawItems) ? rawItems : [null]) {
      if (!tagged(raw)) throw new Refused("malformed", "An mdoc element is not tagged CBOR bytes.");
      const it = decode(raw.value, new Set([1004]));
      if (!C.keysAre(it, ITEM_MEMBERS, ITEM_MEMBERS)) throw new Refused("malformed", "An mdoc element has the wrong members.");
      const name = it.get("elementIdentifier");
      if (typeof name !== "string" || names.has(name)) throw new Refused("repeated_disclosure");
      names.add(name);
      elements.push({ name, id: it.get("digestID"), value: it.get("elementValue"), bytes: embedded(C, raw.value) });
    }
    const deviceSigned = member(doc, "deviceSigned");
    const ns = member(deviceSigned, "nameSpaces");
    const deviceAuth = member(deviceSigned, "deviceAuth");
    if (!(deviceAuth instanceof Map) || !C.keysAre(deviceAuth, ["deviceSignature"], ["deviceSignature"])) {
      throw new Refused("malformed", "The mdoc's device authentication is not one signature.");
    }
    const deviceSig = deviceAuth.get("deviceSignature");
    const auth = member(signed, "issuerAuth");
    if (!(Array.isArray(auth) && auth.length === 4 && auth[0] instanceof Uint8Array && auth[1] instanceof Map
      && auth[2] instanceof Uint8Array && auth[3] instanceof Uint8Array)) {
      throw new Refused("malformed", "The mdoc's issuerAuth is not a COSE_Sign1.");
    }
    const [protectedRaw, unprotected, payload, signature] = auth;
    const protectedHeader = decode(protectedRaw);
    if (!(protectedHeader instanceof Map) || !C.pyEq(protectedHeader.get(1), -7)) throw new Refused("malformed", "The mdoc is not signed with ES256.");
    const kid = protectedHeader.get(4);
    // a QR answer leaves the certificate out (docs/credential.md section 9): the kid finds the key
    if (!(kid instanceof Uint8Array)) throw new Refused("unknown_key");
    const kidHex = C.hex(kid);
    const key = trust.keys.get(kidHex);
    if (!key || key.purpose !== "issue") throw new Refused("unknown_key");
    if (unprotected.has(X5CHAIN)) {
      const chain = unprotected.get(X5CHAIN);
      const first = Array.isArray(chain) ? chain[0] : chain;
      const point = new Uint8Array(await crypto.subtle.exportKey("raw", key.key));
      if (!(first instanceof Uint8Array) || !includes(first, point)) {
        throw new Refused("malformed", "The mdoc's certificate is not the signing key's.");
      }
    }
    if (!(await C.verifySign1(key.key, { protected: protectedRaw, payload, signature }))) throw new Refused("bad_issuer_signature");
    const wrapped = decode(payload, new Set([24]));
    if (!tagged(wrapped)) throw new Refused("malformed", "The MSO is not tagged CBOR bytes.");
    const mso = decode(wrapped.value, new Set([0]));
    if (member(mso, "docType") !== MDOC || member(mso, "digestAlgorithm") !== "SHA-256") throw new Refused("wrong_format");
    const digests = member(mso, "valueDigests", MDOC);
    let deviceKey;
    try {
      deviceKey = (await C.keyFromCose(member(mso, "deviceKeyInfo", "deviceKey"))).key;
    } catch (e) {
      if (e instanceof Refused) throw e;
      throw new Refused("malformed", "The MSO's device key is not a P-256 key.");
    }
    tdate(C, member(mso, "validityInfo", "signed"));
    const issued = tdate(C, member(mso, "validityInfo", "validFrom"));
    const expires = tdate(C, member(mso, "validityInfo", "validUntil"));
    const idx = member(mso, "status", "status_list", "idx");
    const uri = member(mso, "status", "status_list", "uri");
    if (!(digests instanceof Map && timeOk(idx) && typeof uri === "string")) throw new Refused("malformed", "The MSO's members have wrong types.");
    const disclosed = {};
    const entitlements = [];
    const seen = new Set();
    for (const e of elements) {
      const expected = isInt(e.id) ? digests.get(e.id) : undefined;
      if (!(expected instanceof Uint8Array) || !C.equalBytes(await sha256(e.bytes), expected)) throw new Refused("unsigned_disclosure");
      if (seen.has(e.id)) throw new Refused("repeated_disclosure");
      seen.add(e.id);
      if (e.name.startsWith(ENTITLEMENT_ELEMENT)) {
        const code = e.name.slice(ENTITLEMENT_ELEMENT.length);
        if (e.value === true) {
          if (!CODE.test(code)) throw new Refused("malformed", "An entitlement is not a short code.");
          entitlements.push(code);
        }
        continue;
      }
      if (!ITEMS.includes(e.name)) throw new Refused("malformed", "The mdoc carries an element a citycard never holds.");
      disclosed[e.name] = mdocShown(C, e.name, e.value);
    }
    // the device's part: nothing device-signed, a detached ES256 signature
    if (!(tagged(ns) && (C.equalBytes(ns.value, Uint8Array.of(0xa0)) || isEmptyMap(decode(ns.value))))) {
      throw new Refused("malformed", "The device signed elements citycard never asks of it.");
    }
    // a device signature that could never verify (not a detached ES256 COSE_Sign1) is a binding
    // that fails, not a refusal of its own: the card's status still outranks it
    let usable = Array.isArray(deviceSig) && deviceSig.length === 4 && deviceSig[2] === null
      && deviceSig[0] instanceof Uint8Array && deviceSig[3] instanceof Uint8Array;
    if (usable && !C.equalBytes(deviceSig[0], ES256_HEADER)) {
      let h = null;
      try {
        h = decode(deviceSig[0]);
      } catch (e) {
        h = null;
      }
      usable = h instanceof Map && h.size === 1 && C.pyEq(h.get(1), -7);
    }
    async function boundTo(request) {
      if (!usable) return false;
      // DeviceAuthenticationBytes = #6.24(["DeviceAuthentication", SessionTranscript, DocType,
      // #6.24(nameSpaces)]), SessionTranscript = [null, null, [HANDOVER, aud, nonce, iat]]
      const transcript = C.concat([Uint8Array.of(0x83, 0xf6, 0xf6, 0x84), cborText(C, HANDOVER), cborText(C, request.venue),
        cborText(C, request.nonce), C.head(0, request.iat)]);
      const inner = C.concat([Uint8Array.of(0x84), cborText(C, "DeviceAuthentication"), transcript, cborText(C, MDOC), embedded(C, ns.value)]);
      return C.verifySign1(deviceKey, { protected: deviceSig[0], payload: embedded(C, inner), signature: deviceSig[3] });
    }
    return {
      // an mdoc names no issuer: it is the trust list's whose key signed it
      claims: { format: "mdoc", issuer: trust.issuer, iat: issued, exp: expires, idx, uri, kid: kidHex, disclosed, entitlements },
      named: { nonce, audience: aud, iat },
      boundTo,
    };
  }
  function isEmptyMap(v) {
    return v instanceof Map && v.size === 0;
  }
  function includes(haystack, needle) {
    outer: for (let i = 0; i + needle.length <= haystack.length; i++) {
      for (let j = 0; j < needle.length; j++) if (haystack[i + j] !== needle[j]) continue outer;
      return true;
    }
    return false;
  }

  function day(seconds) {
    return new Date(Math.floor(seconds / 86400) * 86400000).toISOString().slice(0, 10);
  }
  // A refusal; its sentence is the reason's, or a detail staff can act on (SHOWN_DETAILS).
  function refused(reason, detail) {
    const message = SHOWN_DETAILS.has(detail) ? detail : REASONS[reason][1];
    return { verdict: REASONS[reason][0], reason, message, claims: null, warnings: [], missing: [] };
  }
  // The input layer of the venue page's box and camera: the codes of a text, one a line. A paste
  // may bring whitespace that no code holds: before a code (every code starts "CC"), and after
  // it line endings, tabs, other spaces. The space itself is a base45 character (data,
  // docs/credential.md 1.2), so spaces right after a code's text stay, except where its text
  // ends a whole answer (a CCS1:/CCM1: code, the last CCP1: part): base45 never ends in a
  // space. Blank lines go.
  function answerLines(text) {
    const lines = [];
    for (let line of String(text).split(/\r\n|\n|\r/)) {
      line = line.replace(/^\s+/, "");
      const tail = /\s+$/.exec(line);
      if (tail) {
        const part = partOf(line);
        const ends = line.startsWith(SDJWT_PREFIX) || line.startsWith(MDOC_PREFIX) || (part !== null && part.number === part.count);
        line = line.slice(0, tail.index) + (ends ? "" : /^ */.exec(tail[0])[0]);
      }
      if (line) lines.push(line);
    }
    return lines;
  }
  // An answer's QR text: {compact} of an SD-JWT presentation, or {mdoc} the CBOR envelope.
  async function answerText(input) {
    const lines = answerLines(input);
    let text = lines.join("\n");
    if (text.startsWith(PART_PREFIX)) text = joinQr(lines);
    if (text.startsWith(MDOC_PREFIX)) return { mdoc: await inflate(base45Decode(text.slice(MDOC_PREFIX.length))) };
    if (!text.startsWith(SDJWT_PREFIX)) throw new Refused("wrong_format");
    const bytes = await inflate(base45Decode(text.slice(SDJWT_PREFIX.length)));
    let compact;
    try {
      compact = new TextDecoder("ascii").decode(bytes);
    } catch (e) {
      throw new Refused("malformed");
    }
    return { compact };
  }

  // The verdict on a holder's answer (its QR text, or its parts one per line) to `request`,
  // against `lists` ({trust, status}: the phone page's pinned trust list and status lists).
  // Never throws: {verdict, reason, message, claims (only what was disclosed), warnings, missing}.
  async function verifyAnswer(text, request, lists, now) {
    now = now === undefined ? Date.now() / 1000 : now;
    try {
      if (!lists || !lists.trust) return { verdict: "STATUS_UNAVAILABLE", reason: null, message: NO_LISTS, claims: null, warnings: [], missing: [] };
      const answer = await answerText(text);
      let claims;
      let binding = null;
      if (answer.mdoc) {
        const read = await readMdoc(answer.mdoc, lists.trust);
        claims = read.claims;
        binding = bindingProblem(read.named, request, now);
        if (binding === null && !(await read.boundTo(request))) binding = "bad_key_binding";
      } else {
        const sd = await parseSdJwt(answer.compact);
        const vc = await readVc(sd, lists.trust);
        claims = vc.claims;
        try {
          const kb = await keyBinding(sd, vc.holderJwk);
          binding = bindingProblem(kb, request, now);
        } catch (e) {
          if (!(e instanceof Refused) || REASONS[e.reason][0] !== "CLONE_SUSPECTED") throw e;
          binding = e.reason;
        }
      }
      const base = statusVerdict(lists, claims, now);
      if (STRONGER_THAN_BINDING.has(base.verdict) || (base.verdict !== "VALID" && binding === null)) {
        return { verdict: base.verdict, reason: null, message: null, claims: null, warnings: base.warnings || [], missing: [] };
      }
      if (binding !== null) return refused(binding);
      const only = new Set(request.items);
      const got = Object.keys(claims.disclosed).concat(claims.entitlements.map((e) => ENTITLEMENT + e));
      if (got.some((i) => !only.has(i))) return refused("unrequested_disclosure");
      const shown = { format: claims.format, issued: day(claims.iat), expires: day(claims.exp - 1) };
      for (const [name, value] of Object.entries(claims.disclosed)) shown[name === "photo" ? "photo_base64" : name] = value;
      shown.entitlements = claims.entitlements.slice();
      const missing = request.items.filter((i) => !got.includes(i));
      const warnings = (base.warnings || []).slice();
      if (missing.length) warnings.push(missingWarning(missing));
      return { verdict: "VALID", reason: null, message: null, claims: shown, warnings, missing };
    } catch (e) {
      if (e instanceof Refused) return refused(e.reason, e.message);
      return refused("malformed"); // hostile bytes must never end in an exception
    }
  }

  // -- a venue's own refusal (its profile's `require`): exactly cardio.venues ------------------
  const AGE_ITEMS = { age_over_18: 18, age_over_65: 65 };
  // The verdict staff read and its sentence ({age}: the item's age), the reader terminal's words
  // (api/terminal/screen_text.py, cardio.venues.REFUSALS).
  const VENUE_REFUSALS = {
    UNDER_AGE: { name: N_("TOO YOUNG"), sentence: N_("The holder is not over {age}; this venue admits only people over {age}.") },
    AGE_UNKNOWN: { name: N_("AGE NOT KNOWN"), sentence: N_("This card does not show whether the holder is over {age}; ask for another proof of age.") },
  };
  // cardio.venues.age_over: the birth date when disclosed (the age on the venue's local day of
  // `now`), else true when the item was disclosed true, else null: it cannot be known. A wallet's
  // age items are worked out on its card's issue day: a "no" from a card issued at 17 is still
  // "no" years later, so a disclosed false never says TOO YOUNG.
  function ageOver(claims, item, now) {
    const born = /^(\d{4})-(\d{2})-(\d{2})$/.exec(typeof claims.birth_date === "string" ? claims.birth_date : "");
    const [y, m, d] = born ? born.slice(1).map(Number) : [];
    if (born && m >= 1 && m <= 12 && d >= 1 && d <= new Date(Date.UTC(y, m, 0)).getUTCDate()) {
      const today = new Date(now * 1000);
      const [ty, tm, td] = [today.getFullYear(), today.getMonth() + 1, today.getDate()];
      return ty - y - (tm < m || (tm === m && td < d) ? 1 : 0) >= AGE_ITEMS[item];
    }
    return claims[item] === true ? true : null;
  }
  // A verifyAnswer result as this venue judges it (VenueProfile.refusal): a VALID answer whose
  // birth date says the holder is not over a `require`d age is UNDER_AGE, one that does not say
  // it (or only a disclosed "no") AGE_UNKNOWN, with the sentence ({msgid, values}) and the claims
  // kept, so staff see what was shared.
  function venueVerdict(res, require, now) {
    if (!res || res.verdict !== "VALID") return res;
    now = now === undefined ? Date.now() / 1000 : now;
    for (const item of require || []) {
      const over = item in AGE_ITEMS ? ageOver(res.claims || {}, item, now) : null;
      if (over === true) continue;
      const verdict = over === null ? "AGE_UNKNOWN" : "UNDER_AGE";
      // an item this page does not know cannot be met: refused, never waved through
      const age = AGE_ITEMS[item] || item;
      return Object.assign({}, res, { verdict, reason: null, message: VENUE_REFUSALS[verdict].sentence, values: { age } });
    }
    return res;
  }

  // -- what every phone page shares ------------------------------------------------------------
  // cardio.languages.match: the tag, then Traditional Chinese (zh-Hant, zh-TW, zh-HK, zh-MO) or
  // else the base language; never zh (Simplified) for Traditional. `codes`: the page's
  // languages; the one of them the tag asks for, or null.
  function matchLanguage(tag, codes) {
    const byLower = new Map(codes.map((c) => [c.toLowerCase(), c]));
    const parts = String(tag || "").trim().replace(/_/g, "-").toLowerCase().split("-");
    if (!parts[0]) return null;
    const traditional =
      parts[0] === "zh" && !parts.includes("hans") && (parts.includes("hant") || parts.some((p) => ["tw", "hk", "mo"].includes(p)));
    for (const c of [parts.join("-"), traditional ? "zh-hant" : parts[0]]) if (byLower.has(c)) return byLower.get(c);
    return null;
  }
  // The first of `tags` (a page's ?lang=, then navigator.languages) the page has, else English.
  function pickLanguage(tags, codes) {
    for (const tag of tags || []) {
      const found = tag ? matchLanguage(tag, codes) : null;
      if (found) return found;
    }
    return "en";
  }
  // The kind of code a text is, for the words a page shows when told a code of another kind:
  // the card's printed code (CC1:), a venue's request, a phone's answer, the holder's whole
  // card as the wallet keeps it (a compact SD-JWT, eyJ...~...~: never shown as a code), or none.
  // Only for these words: each page then takes a text by its own rules (a card's code exactly
  // as written, docs/credential.md 1.2; so " CC1:..." is a card's code, and MALFORMED there).
  const WALLET_CARD = /^eyJ[A-Za-z0-9_-]*\.[A-Za-z0-9_-]*\.[A-Za-z0-9_-]*(?:~[A-Za-z0-9_.-]*)+$/;
  function codeKind(text) {
    const s = String(text).trim();
    if (!s) return "empty";
    const head = s.slice(0, 5).toUpperCase(); // a scanner with caps lock on still names the kind
    if (head.startsWith("CC1:")) return "card";
    if (head.startsWith(REQUEST_PREFIX)) return "request";
    if (/^CC[SMP]1:/.test(head)) return "answer"; // CCS1:, CCM1:, CCP1: parts
    if (WALLET_CARD.test(s)) return "wallet_card";
    return "other";
  }

  window.citycardPresentation = {
    REQUEST_PREFIX, SDJWT_PREFIX, MDOC_PREFIX, PART_PREFIX, ENTITLEMENT, REASONS,
    newRequest, parseRequest, present, credentialItems, responseQr, splitQr, joinQr, PartCollector,
    drawQr, verifyAnswer, statusVerdict, venueVerdict, AGE_ITEMS, VENUE_REFUSALS, POLICY, answerLines, b64u, fromB64u, missingWarning, matchLanguage, pickLanguage, codeKind,
  };
})();
