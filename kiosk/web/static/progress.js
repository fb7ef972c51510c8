// Personalisation progress over server-sent events (the page refreshes itself without JS).
(function () {
  "use strict";
  var box = document.getElementById("progress-box");
  if (!box || typeof EventSource === "undefined") { return; }
  var bar = document.getElementById("progress-bar");
  var text = document.getElementById("progress-text");
  var error = document.getElementById("progress-error");
  var retry = document.getElementById("progress-retry");
  var note = document.getElementById("progress-attendant");
  if (box.getAttribute("data-state") === "failed") { return; }
  var source = new EventSource(box.getAttribute("data-events-url"));
  source.onmessage = function (event) {
    var view = JSON.parse(event.data);
    bar.value = view.percent;
    bar.textContent = view.percent + " %";
    if (text.textContent !== view.step) { text.textContent = view.step; }
    if (view.done) { source.close(); window.location.replace(box.getAttribute("data-done-url")); }
    if (view.failed) {
      source.close();
      var p = document.createElement("p"); p.className = "errors"; p.textContent = view.error;
      error.replaceChildren(p);
      if (view.attendant) { note.textContent = view.attendant; note.hidden = false; }
      retry.hidden = !view.retry;
      document.body.classList.add("job-failed");
    }
  };
  source.onerror = function () { source.close(); setTimeout(function () { window.location.reload(); }, 2000); };
})();
