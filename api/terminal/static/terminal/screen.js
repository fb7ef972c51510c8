// The staff screen, live: the server pushes the rendered panel over server-sent events.
// Without JavaScript a frame (/panel) reloads itself instead, while this page, with the
// scanner box, never reloads; the box still works as a plain form.
"use strict";
(function () {
  var QR_PREFIX = "CC1:";
  var input = document.getElementById("scan-input");
  var form = document.getElementById("scan-form");
  var panel = document.getElementById("panel");

  // -- the keyboard-wedge scanner: it types the QR text and Enter into the focused box ------
  // The box keeps the focus (a scanner types wherever the focus is), except while staff use
  // another control (the language list, a button).
  function refocus() {
    var active = document.activeElement;
    if (!active || active === document.body) input.focus();
  }
  var scanProblem = document.getElementById("scan-problem");
  function submitText(text) {
    // The one line ending a scanner appends is the server's to remove (api.terminal.inputs).
    // Whatever the answer, the terminal put the outcome on the board (a verdict, or TRY AGAIN
    // and why): shown by the event stream, or by reloading when it is not live. Only an
    // answer that never came is said here.
    var body = new URLSearchParams();
    body.set("qr", text);
    if (scanProblem) scanProblem.hidden = true;
    return fetch("/scan", {
      method: "POST",
      body: body,
      headers: { Accept: "application/json" },
      credentials: "same-origin",
    }).then(function () {
      if (!live) location.reload();
    }, function () {
      if (scanProblem) {
        scanProblem.textContent = scanProblem.getAttribute("data-text");
        scanProblem.hidden = false;
      }
    });
  }
  if (form && input && window.fetch) {
    form.addEventListener("submit", function (event) {
      event.preventDefault();
      var text = input.value;
      input.value = "";
      input.focus();
      // a stray Enter, or a scanner's second line ending: the verdict on the screen stays
      if (!text.trim()) return;
      submitText(text);
    });
    input.addEventListener("blur", function () { setTimeout(refocus, 300); });
    input.focus();
  }

  // -- the camera: BarcodeDetector where the browser has it, else the vendored jsQR --------
  var cameraButton = document.getElementById("camera-button");
  var video = document.getElementById("camera");
  var problem = document.getElementById("camera-problem");
  function decoder() {
    if ("BarcodeDetector" in window) {
      var detector = new window.BarcodeDetector({ formats: ["qr_code"] });
      return function (source) {
        return detector.detect(source).then(function (codes) {
          var hit = codes.find(function (c) { return typeof c.rawValue === "string" && c.rawValue.indexOf(QR_PREFIX) === 0; });
          return hit ? hit.rawValue : null;
        });
      };
    }
    if (typeof window.jsQR !== "function") return null;
    var canvas = document.createElement("canvas");
    var ctx = canvas.getContext("2d", { willReadFrequently: true });
    return function (source) {
      var w = source.videoWidth, h = source.videoHeight;
      if (!w || !h) return Promise.resolve(null);
      canvas.width = w;
      canvas.height = h;
      ctx.drawImage(source, 0, 0, w, h);
      var found = window.jsQR(ctx.getImageData(0, 0, w, h).data, w, h, { inversionAttempts: "attemptBoth" });
      return Promise.resolve(found && found.data.indexOf(QR_PREFIX) === 0 ? found.data : null);
    };
  }
  function showProblem() {
    problem.textContent = problem.getAttribute("data-text");
    problem.hidden = false;
  }
  if (cameraButton && video) {
    cameraButton.addEventListener("click", function () {
      var decode = decoder();
      if (!decode || !navigator.mediaDevices) { showProblem(); return; }
      problem.hidden = true;
      var stream = null;
      var tries = 0;
      function stop() {
        if (stream) stream.getTracks().forEach(function (t) { t.stop(); });
        video.hidden = true;
        input.focus();
      }
      function look() {
        if (++tries > 600) { stop(); return; }  // about a minute
        decode(video).then(function (text) {
          if (text) { stop(); submitText(text); } else { setTimeout(look, 100); }
        }, function () { stop(); showProblem(); });
      }
      navigator.mediaDevices.getUserMedia({ video: { facingMode: "environment" } }).then(function (s) {
        stream = s;
        video.srcObject = s;
        video.hidden = false;
        return video.play();
      }).then(look, function () { stop(); showProblem(); });
    });
  }

  // -- the language list: switching reloads the screen in the chosen language --------------
  var language = document.getElementById("language");
  if (language) {
    language.addEventListener("change", function () { document.getElementById("language-form").submit(); });
  }

  // -- live updates -------------------------------------------------------------------------
  var live = false;
  if (!("EventSource" in window)) {
    setTimeout(function () { location.reload(); }, 2000);
    return;
  }
  // A refused stream (503 when every stream slot is taken) is not retried by the browser
  // itself: connect again after the Retry-After the terminal sends (routes.STREAM_RETRY_AFTER).
  var RETRY_MS = 10000;
  function connect() {
    var source = new EventSource("/events?lang=" + encodeURIComponent(document.body.getAttribute("data-lang") || ""));
    source.addEventListener("screen", function (event) {
      panel.innerHTML = event.data;
      live = true;
      document.body.setAttribute("data-live", "on");
    });
    source.addEventListener("error", function () {
      live = false;
      document.body.setAttribute("data-live", "off");
      if (source.readyState === EventSource.CLOSED) {
        source.close();
        setTimeout(connect, RETRY_MS);
      }
    });
  }
  connect();
})();
