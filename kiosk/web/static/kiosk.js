// Idle timeout (resets on any touch or key) and focus on the first error.
(function () {
  "use strict";
  var body = document.body;
  var seconds = parseInt(body.getAttribute("data-idle-timeout") || "0", 10);
  var url = body.getAttribute("data-timeout-url");
  // No idle timer while a card is being made; a failed job starts it ("kiosk:idle").
  var progress = document.getElementById("progress-box");
  var started = false;
  var startIdle = function () {
    if (started || !(seconds > 0 && url)) { return; }
    started = true;
    var timer = null;
    var reset = function () {
      if (timer) { clearTimeout(timer); }
      timer = setTimeout(function () { window.location.replace(url); }, seconds * 1000);
    };
    ["pointerdown", "keydown", "input", "touchstart", "wheel"].forEach(function (name) {
      document.addEventListener(name, reset, { passive: true, capture: true });
    });
    reset();
  };
  if (!progress || progress.getAttribute("data-state") === "failed") { startIdle(); }
  document.addEventListener("kiosk:idle", startIdle);
  var target = document.querySelector("[autofocus]");
  if (!target) {
    var errors = document.getElementById("errors");
    if (errors) { errors.focus(); }
  } else if (document.activeElement !== target) {
    target.focus();
  }
})();
// A second tap on a final button while the page is leaving does nothing (the server also
// ignores a repeated request id).
(function () {
  "use strict";
  document.querySelectorAll("form[data-once]").forEach(function (form) {
    form.addEventListener("submit", function (event) {
      if (form.getAttribute("data-sent")) { event.preventDefault(); return; }
      form.setAttribute("data-sent", "1");
    });
  });
})();
