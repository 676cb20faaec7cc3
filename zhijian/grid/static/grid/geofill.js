/* Forms marked data-geo-fill get the browser's position (WGS-84; the server converts to GCJ-02)
 * in their hidden lng/lat (and accuracy) fields. No inline script (CSP). */
(function () {
  "use strict";
  // The browser's own message is English ("User denied Geolocation"): say why in Chinese.
  function geoError(err) {
    var why = {1: "未获得定位权限，请在浏览器设置中允许本网站使用位置", 2: "无法确定当前位置", 3: "定位超时，请稍后重试"};
    return "未取得位置：" + (why[err && err.code] || "定位失败");
  }
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
    }, function (err) { say(geoError(err)); },
    { enableHighAccuracy: true, timeout: 15000, maximumAge: 30000 });
  });
})();
