// Camera capture: getUserMedia into a <video>, a frame drawn on a canvas, sent as the file input.
(function () {
  "use strict";
  var box = document.getElementById("camera");
  var form = document.getElementById("photo-form");
  if (!box || !form || !navigator.mediaDevices || !navigator.mediaDevices.getUserMedia ||
      typeof DataTransfer === "undefined") { return; }
  var video = document.getElementById("camera-video");
  var canvas = document.getElementById("camera-canvas");
  var shoot = document.getElementById("camera-shoot");
  var input = document.getElementById("photo");
  var stream = null;
  navigator.mediaDevices.getUserMedia({ video: { facingMode: "user", width: 1280, height: 960 }, audio: false })
    .then(function (s) {
      stream = s;
      video.srcObject = s;
      box.hidden = false;
    })
    .catch(function () { box.hidden = true; });
  shoot.addEventListener("click", function () {
    var w = video.videoWidth, h = video.videoHeight;
    if (!w || !h) { return; }
    // A 3:4 portrait from the middle of the frame.
    var cw = Math.min(w, Math.round(h * 3 / 4)), ch = Math.round(cw * 4 / 3);
    canvas.width = cw; canvas.height = ch;
    canvas.getContext("2d").drawImage(video, (w - cw) / 2, (h - ch) / 2, cw, ch, 0, 0, cw, ch);
    canvas.toBlob(function (blob) {
      if (!blob) { return; }
      var dt = new DataTransfer();
      dt.items.add(new File([blob], "camera.jpg", { type: "image/jpeg" }));
      input.files = dt.files;
      if (stream) { stream.getTracks().forEach(function (t) { t.stop(); }); }
      form.submit();
    }, "image/jpeg", 0.92);
  });
})();
