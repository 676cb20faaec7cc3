/* Forms marked data-geo-fill get the browser's position (WGS-84; the server converts to GCJ-02)
 * in their hidden lng/lat (and accuracy) fields. No inline script (CSP). */
(function () {
  "use strict";
  document.querySelectorAll("form[data-geo-fill]").forEach(function (form) {
    var status = form.querySelector(".geo-status");
    function say(t) { if (status) status.textContent = t; }
    if (!navigator.geolocation) { say("无法定位：浏览器不支持"); return; }
    navigator.geolocation.getCurrentPosition(function (pos) {
      form.querySelector("[name=lng]").value = pos.coords.longitude.toFixed(7);
      form.querySelector("[name=lat]").value = pos.coords.latitude.toFixed(7);
      var acc = form.querySelector("[name=accuracy]");
      if (acc) acc.value = Math.round(pos.coords.accuracy || 0);
      say("已定位（±" + Math.round(pos.coords.accuracy || 0) + " 米）");
    }, function (err) { say("未取得位置：" + (err && err.message ? err.message : "")); },
    { enableHighAccuracy: true, timeout: 15000, maximumAge: 30000 });
  });
})();
