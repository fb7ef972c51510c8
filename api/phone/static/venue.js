/*
 * The venue page (venue.html): a venue asks a holder's phone wallet for what its venue type
 * needs (venues.json, written from the venue profiles by api/phone/venue_requests.py), shows
 * the request QR with a fresh nonce, scans or takes the pasted answer, and checks it offline
 * with presentation.js against the lists verify.js keeps (the pinned root key, the trust list,
 * the status lists). A valid answer then meets the venue type's `require` as the reader terminal
 * sees it (presentation.js's venueVerdict: TOO YOUNG, AGE NOT KNOWN). It shows the verdict and
 * exactly what the holder disclosed, nothing else.
 * Its words are verify.js's t(): msgids translated through texts.json in the page's language.
 * window.citycardVenue exposes the current request and the last result for automation.
 */
"use strict";
(function () {
  const P = window.citycardPresentation;
  const V = window.citycard; // verify.js: the lists, the language and its words
  const t = V.t;
  const N_ = V.N_;
  // The words staff read for an item a venue may ask for (cardio.venues.LABELS and
  // api/phone/venue_requests.py ITEM_WORDS); an entitlement is named by the venue's profile,
  // in the page's language from venues.json's "languages" (the reader terminal's catalogue).
  const ITEM_WORDS = {
    given_name: N_("Given name"),
    family_name: N_("Family name"),
    birth_date: N_("Born"),
    sex: N_("Sex"),
    document_number: N_("Card number"),
    expires: N_("Valid until"),
    issued: N_("Issued"),
    languages: N_("Languages"),
    program: N_("Programme"),
    photo: N_("Photo"),
    age_over_18: N_("Over 18"),
    age_over_65: N_("Over 65"),
    resident_of: N_("Resident of"),
  };
  const $ = (id) => document.getElementById(id);
  function el(tag, attrs, text) {
    const node = document.createElement(tag);
    for (const [k, v] of Object.entries(attrs || {})) node.setAttribute(k, v);
    if (text !== undefined) node.textContent = text;
    return node;
  }
  const venue = { types: [], request: null, labels: {}, result: null, type: null, progress: null };

  // A venue type's title and entitlement labels in the page's language; English where
  // venues.json has no translation (`V.language()` is already one of texts.json's tags).
  function typeWords(type) {
    return (type && type.languages && type.languages[V.language()]) || {};
  }
  function title(type) {
    return typeWords(type).title || type.title;
  }
  async function loadTypes() {
    const response = await fetch("venues.json", { credentials: "omit" });
    venue.types = response.ok ? await response.json() : [];
    const select = $("venue-type");
    for (const t of venue.types) select.append(el("option", { value: t.name }, title(t)));
  }
  function typeTitles() {
    for (const option of $("venue-type").options) {
      const type = venue.types.find((t) => t.name === option.value);
      if (type) option.textContent = title(type);
    }
  }
  const REQUEST_ALT = N_("The QR code of this venue's request"); // the request image's alt
  function newRequest() {
    const type = venue.types.find((t) => t.name === $("venue-type").value);
    if (!type) return;
    // Over plain http this page cannot check an answer (no WebCrypto): a request shown here
    // would ask a holder to share for nothing.
    if (!window.isSecureContext || !window.crypto || !crypto.subtle) {
      venue.request = null;
      $("request").hidden = true;
      $("request-qr").replaceChildren();
      progress({ msgid: V.INSECURE_PAGE });
      return;
    }
    venue.request = P.newRequest(type.name, type.items.map((i) => i.item));
    venue.labels = Object.fromEntries(type.items.map((i) => [i.item, i.label]));
    venue.type = type;
    requestWords();
    $("request-qr").replaceChildren(P.drawQr(venue.request.qr, 6, t(REQUEST_ALT)));
    $("request").hidden = false;
    $("request").setAttribute("data-nonce", venue.request.nonce);
    $("verdict").replaceChildren();
    $("verdict").setAttribute("data-verdict", "");
    $("verdict").removeAttribute("data-notice");
    venue.result = null;
  }

  function imageType(b64) {
    if (b64.startsWith("iVBOR")) return "image/png";
    if (b64.startsWith("UklGR")) return "image/webp";
    return "image/jpeg";
  }
  function label(item) {
    if (ITEM_WORDS[item]) return t(ITEM_WORDS[item]);
    return (typeWords(venue.type).labels || {})[item] || venue.labels[item] || item;
  }
  // Each word once: a venue asks for every code of an entitlement line, all under its label.
  function unique(words) {
    return Array.from(new Set(words));
  }
  function requestWords() {
    const type = venue.type;
    if (!type) return;
    $("request-words").replaceChildren(V.tn("{venue} asks for: {items}.", { venue: title(type), items: V.list(unique(type.items.map((i) => label(i.item)))) }));
  }
  // What the holder did not share, in staff's words: an entitlement line once, and not at all
  // when the card shared another of its codes (cardio.venues.VenueProfile.not_shared).
  function notSharedWords(res) {
    const held = new Set(((res.claims && res.claims.entitlements) || []).map((c) => label(P.ENTITLEMENT + c)));
    return unique(res.missing.map(label)).filter((w) => !held.has(w));
  }
  // No answer to check: a prompt (nothing given), or what the code is and where it belongs (the
  // card's printed code: the card check page; a request: the holder's phone), no verdict.
  const EMPTY_WORDS = { msgid: N_("Scan the code (or codes) the holder's phone shows, or paste their text.") };
  // The kinds this page answers with a notice, not a verdict (any other text is checked as an
  // answer, and refused as one when it is not).
  const NOTICES = new Set(["empty", "card", "request", "wallet_card"]);
  function renderNotice(res) {
    const box = $("verdict");
    venue.result = res;
    box.setAttribute("data-verdict", "");
    box.setAttribute("data-reason", "");
    box.setAttribute("data-notice", res.notice);
    box.className = "notice";
    box.replaceChildren(...V.noticeNodes(res.notice === "empty" ? EMPTY_WORDS : V.KIND_WORDS[res.notice]));
  }
  function render(res) {
    if (res.notice) return renderNotice(res);
    const box = $("verdict");
    const valid = res.verdict === "VALID";
    venue.result = res;
    box.setAttribute("data-verdict", res.verdict);
    box.setAttribute("data-reason", res.reason || "");
    box.removeAttribute("data-notice");
    box.className = valid ? "valid" : "invalid";
    const sentences = V.SENTENCES || {};
    const words = V.verdictWords(res.verdict);
    const refusal = P.VENUE_REFUSALS[res.verdict]; // the venue's own: the terminal's words
    const parts = [el("div", { class: "big", id: "verdict-big" }, words.big)];
    if (!valid) parts.push(el("div", { class: "code", id: "verdict-code" }, refusal ? t(refusal.name) : words.name));
    const sentence = res.message || sentences[res.verdict] || "";
    parts.push(el("p", { class: "sentence", id: "verdict-sentence" }, sentence ? t(sentence, res.values) : ""));
    // a valid answer's claims, also when the venue refuses it: staff see why ("Over 18: no")
    if (res.claims) {
      const c = res.claims;
      const shown = el("div", { id: "disclosed" });
      if (typeof c.photo_base64 === "string") {
        shown.append(el("img", { class: "photo", "data-item": "photo", alt: label("photo"), src: "data:" + imageType(c.photo_base64) + ";base64," + c.photo_base64 }));
      }
      const dl = el("dl", { class: "claims" });
      for (const [key, value] of Object.entries(c)) {
        if (["format", "issued", "expires", "photo_base64", "entitlements"].includes(key)) continue;
        // A wallet's age item was worked out on its card's issue day: a "no" may be years
        // stale, so it is shown as the terminal shows it, "cannot be known" (P.venueVerdict).
        const age = key in P.AGE_ITEMS && value !== true ? t("cannot be known") : null;
        const text = age || (typeof value === "boolean" ? (value ? t("yes") : t("no")) : Array.isArray(value) ? V.list(value) : String(value));
        dl.append(el("dt", {}, label(key)), el("dd", { "data-item": key }, text));
      }
      for (const code of c.entitlements) {
        dl.append(el("dt", {}, label(P.ENTITLEMENT + code)), el("dd", { "data-item": P.ENTITLEMENT + code }, t("yes")));
      }
      dl.append(el("dt", {}, t("Valid until")), el("dd", { "data-item": "expires" }, c.expires));
      shown.append(dl);
      parts.push(shown);
    }
    if (res.warnings.length) {
      const ul = el("ul", { class: "warnings" });
      const notShared = res.missing && res.missing.length ? P.missingWarning(res.missing) : null;
      const unshared = notShared ? notSharedWords(res) : [];
      for (const w of res.warnings) {
        if (w === notShared && !unshared.length) continue; // each line was shared by another code
        const text = w === notShared ? t("The holder did not share: {items}.", { items: V.list(unshared) }) : t(w);
        ul.append(el("li", {}, text));
      }
      if (ul.childNodes.length) parts.push(ul);
    }
    box.replaceChildren(...parts);
  }
  async function lists() {
    const verify = V;
    await verify.ready;
    if (!verify.state.trust) await verify.refresh();
    return { trust: verify.state.trust, status: verify.state.status };
  }
  async function check() {
    const kind = V.codeKind($("answer").value);
    if (NOTICES.has(kind)) {
      render({ notice: kind });
      return venue.result;
    }
    if (!venue.request) {
      render({ verdict: "MALFORMED", reason: "no_request", message: N_("Show a request first: the answer must be made for this venue's request."), claims: null, warnings: [] });
      return venue.result;
    }
    const type = venue.type || {};
    const res = P.venueVerdict(await P.verifyAnswer($("answer").value, venue.request, await lists()), type.require);
    render(res);
    return res;
  }

  // The camera: BarcodeDetector where the browser has one, else the vendored jsQR (jsQR.js).
  function decoder() {
    if ("BarcodeDetector" in window) {
      const detector = new window.BarcodeDetector({ formats: ["qr_code"] });
      return async (video) => (await detector.detect(video)).map((c) => c.rawValue).find((t) => typeof t === "string") || null;
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
  // What the camera has to say: parts scanned, a code of another kind, it stopped, it cannot
  // start ({msgid, values}, and a link for a code that belongs elsewhere; null: nothing).
  function progress(words) {
    venue.progress = words;
    $("scan-progress").replaceChildren(...(words ? V.noticeNodes(words) : []));
  }
  // Another language chosen: the words already shown are written again in it.
  function redraw() {
    typeTitles();
    requestWords();
    const image = $("request-qr").querySelector("img");
    if (image) image.setAttribute("alt", t(REQUEST_ALT));
    if (venue.result) render(venue.result);
    progress(venue.progress);
  }
  function setupCamera() {
    const decode = decoder();
    // no camera API outside a secure context: the button stays, to say why it cannot work
    if (!decode || !(navigator.mediaDevices || !window.isSecureContext)) return;
    const button = $("scan-answer");
    button.hidden = false;
    button.addEventListener("click", async () => {
      const video = $("answer-camera");
      const collector = new P.PartCollector();
      let stream;
      progress(null);
      try {
        if (!navigator.mediaDevices) throw new Error("no navigator.mediaDevices");
        stream = await navigator.mediaDevices.getUserMedia({ video: { facingMode: "environment" } });
        video.srcObject = stream;
        video.hidden = false;
        await video.play();
        let wrong = null;
        let seen = 0;
        // the camera looks for two minutes, then says it stopped (a tap starts it again)
        for (const until = Date.now() + 120_000; Date.now() < until; ) {
          const text = await decode(video);
          const kind = text ? V.codeKind(text) : null;
          let answer = null;
          if (text && (text.startsWith(P.SDJWT_PREFIX) || text.startsWith(P.MDOC_PREFIX))) answer = [text];
          else if (text && text.startsWith(P.PART_PREFIX)) answer = collector.add(text);
          else if (kind && kind !== "empty") {
            // the card's printed code, a request, any other code: said once it stays in view
            seen = kind === wrong ? seen + 1 : 1;
            wrong = kind;
            if (seen === V.SIGHTINGS) progress(V.KIND_WORDS[kind]);
          }
          if (text && text.startsWith(P.PART_PREFIX) && collector.count) {
            progress({ msgid: N_("{n} of {total} codes scanned."), values: { n: collector.parts.size, total: collector.count } });
          }
          if (answer) {
            $("answer").value = answer.join("\n");
            await check();
            return;
          }
          await new Promise((r) => setTimeout(r, 100));
        }
        progress(V.CAMERA_STOPPED);
      } catch (e) {
        progress({ msgid: V.cameraProblem(e) });
      } finally {
        if (stream) stream.getTracks().forEach((t) => t.stop());
        video.hidden = true;
      }
    });
  }
  async function start() {
    $("new-request").addEventListener("click", newRequest);
    $("check-answer").addEventListener("click", check);
    setupCamera();
    V.onLanguage.push(redraw);
    await loadTypes();
    document.body.setAttribute("data-ready", "1");
  }

  window.citycardVenue = { state: venue, check, newRequest };
  if (document.readyState === "loading") document.addEventListener("DOMContentLoaded", start);
  else start();
})();
