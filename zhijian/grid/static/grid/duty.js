/* On duty (with consent given on the server), report the position at most once per interval.
 * The server refuses faster reports (429) and positions when off duty (403). */
(function () {
  "use strict";
  // The browser's own message is English ("User denied Geolocation"): say why in Chinese.
  function geoError(err) {
    var why = {1: "未获得定位权限，请在浏览器设置中允许本网站使用位置", 2: "无法确定当前位置", 3: "定位超时，请稍后重试"};
    return "未取得位置：" + (why[err && err.code] || "定位失败");
  }
  var box = document.getElementById("duty");
  if (!box || box.getAttribute("data-on") !== "1" || !navigator.geolocation) return;
  var url = box.getAttribute("data-position-url");
  var csrf = box.getAttribute("data-csrf");
  // One second of margin over the server's limit, so clock jitter does not earn a 429.
  var interval = (Math.max(5, Number(box.getAttribute("data-interval")) || 30) + 1) * 1000;
  var statusEl = document.getElementById("position-status");
  var last = 0, latest = null;
  function say(t) { if (statusEl) statusEl.textContent = t; }
  function send() {
    if (!latest || Date.now() - last < interval) return;
    last = Date.now();
    var body = new URLSearchParams({ lng: latest.longitude, lat: latest.latitude, accuracy: Math.round(latest.accuracy || 0) });
    fetch(url, { method: "POST", credentials: "same-origin", headers: { "X-CSRFToken": csrf }, body: body })
      .then(function (r) { return r.json().then(function (j) { return [r.status, j]; }); })
      .then(function (x) {
        if (x[0] === 200) say("位置已上报 " + new Date().toLocaleTimeString());
        else say((x[1].error && x[1].error.message) || "上报失败");
      })
      .catch(function () { say("网络不可用，稍后重试"); });
  }
  navigator.geolocation.watchPosition(function (pos) { latest = pos.coords; send(); },
    function (err) { say(geoError(err)); },
    { enableHighAccuracy: true, maximumAge: 10000 });
  setInterval(send, 5000);
})();
