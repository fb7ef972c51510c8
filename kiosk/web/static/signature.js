// Signature pad: pointer events draw on a canvas; on submit the PNG goes into a hidden field.
(function () {
  "use strict";
  var box = document.getElementById("signature-box");
  var canvas = document.getElementById("signature-pad");
  var form = document.getElementById("signature-form");
  var data = document.getElementById("signature-data");
  if (!box || !canvas || !form || !data) { return; }
  box.hidden = false;
  var ctx = canvas.getContext("2d");
  ctx.lineWidth = 5; ctx.lineCap = "round"; ctx.lineJoin = "round"; ctx.strokeStyle = "#000";
  var drawing = false, inked = false;
  var point = function (e) {
    var r = canvas.getBoundingClientRect();
    return { x: (e.clientX - r.left) * canvas.width / r.width, y: (e.clientY - r.top) * canvas.height / r.height };
  };
  canvas.addEventListener("pointerdown", function (e) {
    drawing = true; canvas.setPointerCapture(e.pointerId);
    var p = point(e); ctx.beginPath(); ctx.moveTo(p.x, p.y); ctx.lineTo(p.x + 0.1, p.y + 0.1); ctx.stroke();
    inked = true; e.preventDefault();
  });
  canvas.addEventListener("pointermove", function (e) {
    if (!drawing) { return; }
    var p = point(e); ctx.lineTo(p.x, p.y); ctx.stroke(); e.preventDefault();
  });
  var stop = function () { drawing = false; };
  canvas.addEventListener("pointerup", stop);
  canvas.addEventListener("pointercancel", stop);
  document.getElementById("signature-clear").addEventListener("click", function () {
    ctx.clearRect(0, 0, canvas.width, canvas.height); inked = false; data.value = "";
  });
  form.addEventListener("submit", function () {
    data.value = inked ? canvas.toDataURL("image/png") : "";
  });
})();
