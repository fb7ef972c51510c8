// Idle timeout (resets on any touch or key), with a "Still there?" dialog WARN_SECONDS before it
// (its button keeps the session on the server too), and focus on the first error. Without JS the
// page's meta refresh still ends the visit at the timeout.
(function () {
  "use strict";
  var body = document.body;
  var seconds = parseInt(body.getAttribute("data-idle-timeout") || "0", 10);
  var url = body.getAttribute("data-timeout-url");
  var WARN_SECONDS = 20;
  var dialog = document.getElementById("still-there");
  var keep = document.getElementById("still-there-keep");
  // No idle timer while a card is being made; a failed job starts it ("kiosk:idle").
  var progress = document.getElementById("progress-box");
  var started = false;
  var startIdle = function () {
    if (started || !(seconds > 0 && url)) { return; }
    started = true;
    var timer = null;
    var warning = null;
    var warnAfter = seconds > WARN_SECONDS ? seconds - WARN_SECONDS : seconds / 2;
    var warn = function () {
      if (dialog && typeof dialog.showModal === "function" && !dialog.open) {
        dialog.showModal();
        if (keep) { keep.focus(); }
      }
    };
    var reset = function () {
      if (timer) { clearTimeout(timer); }
      if (warning) { clearTimeout(warning); }
      timer = setTimeout(function () { window.location.replace(url); }, seconds * 1000);
      warning = setTimeout(warn, warnAfter * 1000);
    };
    if (keep) {
      keep.addEventListener("click", function () {
        if (dialog && dialog.open) { dialog.close(); }
        reset();
        fetch(body.getAttribute("data-still-here-url"), { credentials: "same-origin", cache: "no-store" })
          .then(function (response) { if (response.status === 410) { window.location.replace(url); } })
          .catch(function () { /* the next page load shows what the server thinks */ });
      });
    }
    if (dialog) {
      // Escape closes a modal dialog: that is being here, too.
      dialog.addEventListener("cancel", function () { reset(); });
    }
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
