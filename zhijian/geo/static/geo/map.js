/* Grid map (/geo/map/): grids as a choropleth by entity count, entity points of the current view.
 * Configuration comes from the JSON script tag #grid-map-config (no inline script: CSP). */
(function () {
  "use strict";
  var el = document.getElementById("grid-map");
  var cfgEl = document.getElementById("grid-map-config");
  if (!el || !cfgEl || !window.L || !window.ZhijianBasemap || !window.ZhijianText) return;
  var cfg = JSON.parse(cfgEl.textContent);
  var T = cfg.labels;
  var COLORS = ["#f7fbff", "#deebf7", "#c6dbef", "#9ecae1", "#6baed6", "#3182bd", "#08519c"];
  var statusEl = document.getElementById("map-status");
  var map = L.map(el, { preferCanvas: true, zoomSnap: 0.5 });
  ZhijianBasemap.apply(map, cfg); // tiles from settings; without them, division names (below)
  map.setView([36.67, 117.0], 9); // replaced by the grids' bounds once they load
  ZhijianBasemap.labels(map, cfg);
  var gridLayer = null, breaks = [0], level = cfg.level || 1, fitted = false;
  var points = L.layerGroup().addTo(map);
  var showPoints = document.getElementById("show-points");

  function computeBreaks(values) {
    // Quantile classes (at most 6), so a few dense grids do not wash out the rest.
    var v = values.filter(function (x) { return x > 0; }).sort(function (a, b) { return a - b; });
    var out = [0];
    for (var i = 1; i < COLORS.length - 1; i++) {
      var q = v.length ? v[Math.floor((v.length - 1) * i / (COLORS.length - 2))] : 0;
      if (q > out[out.length - 1]) out.push(q);
    }
    return out;
  }
  function colorFor(n) {
    // Class k holds counts in (breaks[k-1], breaks[k]]; above the last break is the top class.
    if (!n) return COLORS[0];
    var k = 1;
    while (k < breaks.length && n > breaks[k]) k++;
    return COLORS[Math.min(k, COLORS.length - 1)];
  }
  function style(f) {
    return { color: "#35506e", weight: level === 1 ? 1.5 : 0.8, fillColor: colorFor(f.properties.entity_count), fillOpacity: 0.75 };
  }
  function popup(p) {
    var staff = p.staff && p.staff.length
      ? { list: p.staff.map(function (s) { return s.role + "：" + s.name; }) }
      : { div: T.none };
    var box = ZhijianText.node({ tag: "h3", text: p.name }, { div: T.entities + "：" + p.entity_count }, { div: T.staff + "：" },
                               staff, { href: p.url, text: T.detail });
    box.className = "map-popup";
    return box;
  }
  var legend = L.control({ position: "bottomright" });
  legend.onAdd = function () { this._div = L.DomUtil.create("div", "map-legend"); return this._div; };
  legend.addTo(map);
  function drawLegend() {
    var div = legend._div;
    div.textContent = "";
    var title = document.createElement("div");
    title.textContent = T.legend;
    div.appendChild(title);
    var rows = [[0, 0]];
    for (var i = 1; i < breaks.length; i++) rows.push([breaks[i - 1] + 1, breaks[i]]);
    rows.push([breaks[breaks.length - 1] + 1, null]);
    rows.forEach(function (r) {
      var line = document.createElement("div");
      var sw = document.createElement("i");
      sw.style.background = colorFor(r[0]);
      line.appendChild(sw);
      line.appendChild(document.createTextNode(r[1] === null ? "≥ " + r[0] : (r[0] === r[1] ? String(r[0]) : r[0] + "–" + r[1])));
      div.appendChild(line);
    });
  }
  function setStatus(text) { if (statusEl) statusEl.textContent = text || ""; }

  function loadGrids() {
    document.querySelectorAll(".map-tools [data-level]").forEach(function (b) {
      b.classList.toggle("active", Number(b.getAttribute("data-level")) === level);
    });
    fetch(cfg.gridsUrl + "?level=" + level, { credentials: "same-origin" })
      .then(function (r) { return r.json(); })
      .then(function (fc) {
        if (gridLayer) map.removeLayer(gridLayer);
        breaks = computeBreaks(fc.features.map(function (f) { return f.properties.entity_count || 0; }));
        gridLayer = L.geoJSON(fc, {
          style: style,
          onEachFeature: function (f, layer) {
            layer.bindPopup(popup(f.properties));
            layer.bindTooltip(ZhijianText.node(f.properties.name), { sticky: true });
          },
        }).addTo(map);
        gridLayer.bringToBack();
        drawLegend();
        if (!fc.features.length) setStatus(T.noGrids);
        if (!fitted && fc.features.length) { map.fitBounds(gridLayer.getBounds()); fitted = true; }
      });
  }
  var pending = null;
  function loadPoints() {
    points.clearLayers();
    if (!showPoints || !showPoints.checked) { setStatus(""); return; }
    var b = map.getBounds();
    var bbox = [b.getWest(), b.getSouth(), b.getEast(), b.getNorth()].map(function (x) { return x.toFixed(6); }).join(",");
    if (pending) pending.abort();
    pending = new AbortController();
    fetch(cfg.entitiesUrl + "?bbox=" + bbox, { credentials: "same-origin", signal: pending.signal })
      .then(function (r) { return r.json(); })
      .then(function (fc) {
        points.clearLayers();
        (fc.features || []).forEach(function (f) {
          var c = f.geometry.coordinates;
          L.circleMarker([c[1], c[0]], { radius: 4, weight: 1, color: "#7a1e00", fillColor: "#f46d43", fillOpacity: 0.9 })
            .bindPopup(ZhijianText.node({ href: f.properties.url, text: f.properties.name }, "\n", f.properties.credit_code))
            .addTo(points);
        });
        setStatus(fc.truncated ? T.truncated : "");
      })
      .catch(function () {});
  }
  document.querySelectorAll(".map-tools [data-level]").forEach(function (b) {
    b.addEventListener("click", function () { level = Number(b.getAttribute("data-level")); loadGrids(); });
  });
  if (showPoints) showPoints.addEventListener("change", loadPoints);
  map.on("moveend", loadPoints);
  loadGrids();
})();
