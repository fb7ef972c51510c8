// The staff screen, live: the server pushes the rendered panel over server-sent events.
// Without JavaScript the page reloads itself instead (see the <noscript> refresh).
"use strict";
(function () {
  if (!("EventSource" in window)) {
    setTimeout(function () { location.reload(); }, 2000);
    return;
  }
  // A refused stream (503 when every stream slot is taken) is not retried by the browser
  // itself: connect again after the Retry-After the terminal sends (routes.STREAM_RETRY_AFTER).
  var RETRY_MS = 10000;
  var panel = document.getElementById("panel");
  function connect() {
    var source = new EventSource("/events");
    source.addEventListener("screen", function (event) {
      panel.innerHTML = event.data;
      document.body.setAttribute("data-live", "on");
    });
    source.addEventListener("error", function () {
      document.body.setAttribute("data-live", "off");
      if (source.readyState === EventSource.CLOSED) {
        source.close();
        setTimeout(connect, RETRY_MS);
      }
    });
  }
  connect();
})();
