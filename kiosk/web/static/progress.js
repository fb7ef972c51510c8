// Personalisation progress over server-sent events (the page refreshes itself without JS).
// After a failure the page shows what became of the card and the ways on (built by the server,
// hidden until now), and the kiosk's idle timer starts again (kiosk.js).
(function () {
  "use strict";
  var box = document.getElementById("progress-box");
  if (!box || typeof EventSource === "undefined") { return; }
  if (box.getAttribute("data-state") === "failed") { return; }
  var bar = document.getElementById("progress-bar");
  var text = document.getElementById("progress-text");
  var lead = document.getElementById("progress-lead");
  var error = document.getElementById("progress-error");
  var failed = document.getElementById("progress-failed");
  var card = document.getElementById("progress-card");
  var retry = document.getElementById("progress-retry");
  var correct = document.getElementById("progress-correct");
  var note = document.getElementById("progress-attendant");
  var source = new EventSource(box.getAttribute("data-events-url"));
  source.onmessage = function (event) {
    var view = JSON.parse(event.data);
    bar.value = view.percent;
    bar.textContent = view.percent + " %";
    if (text.textContent !== view.step) { text.textContent = view.step; }
    if (lead.textContent !== view.lead) { lead.textContent = view.lead; }
    if (view.done) { source.close(); window.location.replace(box.getAttribute("data-done-url")); }
    if (view.failed) {
      source.close();
      var p = document.createElement("p"); p.className = "errors"; p.textContent = view.error;
      error.replaceChildren(p);
      lead.hidden = true; bar.hidden = true; text.hidden = true;
      card.textContent = view.card || "";
      if (view.attendant) { note.textContent = view.attendant; note.hidden = false; }
      retry.hidden = !view.retry;
      correct.hidden = !view.correct;
      failed.hidden = false;
      var heading = document.querySelector("main h1");
      var title = box.getAttribute("data-failed-title");
      if (heading && title) {
        document.title = document.title.replace(heading.textContent, title);
        heading.textContent = title;
      }
      box.setAttribute("data-state", "failed");
      document.body.classList.add("job-failed");
      document.dispatchEvent(new Event("kiosk:idle"));
    }
  };
  source.onerror = function () { source.close(); setTimeout(function () { window.location.reload(); }, 2000); };
})();
