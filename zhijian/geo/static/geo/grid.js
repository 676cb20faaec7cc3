/* Grid detail page: draw the grid's outline from #grid-detail-config (geojsonUrl, tileUrl). */
(function () {
  "use strict";
  var el = document.getElementById("grid-detail-map");
  var cfgEl = document.getElementById("grid-detail-config");
  if (!el || !cfgEl || !window.L) return;
  var cfg = JSON.parse(cfgEl.textContent);
  var map = L.map(el);
  if (window.ZhijianBasemap) ZhijianBasemap.apply(map, cfg);
  else if (cfg.tileUrl) L.tileLayer(cfg.tileUrl, { maxZoom: 19 }).addTo(map);
  fetch(cfg.geojsonUrl, { credentials: "same-origin" })
    .then(function (r) { return r.json(); })
    .then(function (fc) {
      var layer = L.geoJSON(fc, { style: { color: "#0b5cad", weight: 2, fillOpacity: 0.15 } }).addTo(map);
      if (fc.features.length) map.fitBounds(layer.getBounds(), { padding: [12, 12] });
    });
})();
