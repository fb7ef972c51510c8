// The staff screen, live: the server pushes the rendered panel over server-sent events.
// Without JavaScript the page reloads itself instead (see the <noscript> refresh).
"use strict";
(function () {
  if (!("EventSource" in window)) {
    setTimeout(function () { location.reload(); }, 2000);
    return;
  }
  var panel = document.getElementById("panel");
  var source = new EventSource("/events");
  source.addEventListener("screen", function (event) {
    panel.innerHTML = event.data;
    document.body.setAttribute("data-live", "on");
  });
  source.addEventListener("error", function () {
    document.body.setAttribute("data-live", "off");
  });
})();
