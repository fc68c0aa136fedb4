// The wallet's presentation code (亮证): every 30 s (and when the holder ticks a field) the
// image's address changes, so the server mints a fresh signed code (new nonce and time) for
// the fields chosen. No inline script: the CSP allows scripts from this origin only.
(function () {
  "use strict";
  var img = document.getElementById("presentation-code");
  if (!img) { return; }
  var seconds = Number(img.getAttribute("data-refresh")) || 30;
  function fields() {
    var boxes = document.querySelectorAll(".present-field");
    var out = [];
    for (var i = 0; i < boxes.length; i++) {
      if (boxes[i].checked) { out.push(boxes[i].value); }
    }
    return out;
  }
  function refresh() {
    var url = img.getAttribute("data-base") + "?fields=" + encodeURIComponent(fields().join(","))
      + "&t=" + Date.now();
    img.setAttribute("src", url);
    img.setAttribute("data-fields", fields().join(","));
  }
  var boxes = document.querySelectorAll(".present-field");
  for (var i = 0; i < boxes.length; i++) { boxes[i].addEventListener("change", refresh); }
  refresh();
  window.setInterval(refresh, seconds * 1000);
})();
