/* Command centre (/grid/command/): grids (geo endpoints), entity points, open/overdue cases and
 * on-duty officers polled from the feed; a click picks the place of an emergency order.
 * Config from #command-config (json_script; no inline script: CSP). */
(function () {
  "use strict";
  var el = document.getElementById("command-map");
  var cfgEl = document.getElementById("command-config");
  if (!el || !cfgEl || !window.L) return;
  var cfg = JSON.parse(cfgEl.textContent);
  var map = L.map(el, { preferCanvas: true });
  if (cfg.tileUrl) L.tileLayer(cfg.tileUrl, { maxZoom: 19 }).addTo(map);
  map.setView([23.02, 113.75], 11);
  var fitted = false, gridsDone = false;
  var officers = L.layerGroup().addTo(map), cases = L.layerGroup().addTo(map), pick = null;
  function esc(s) {
    return String(s == null ? "" : s).replace(/[&<>"']/g, function (c) {
      return { "&": "&amp;", "<": "&lt;", ">": "&gt;", '"': "&quot;", "'": "&#39;" }[c];
    });
  }
  fetch(cfg.gridsUrl + "?level=" + cfg.level, { credentials: "same-origin" }).then(function (r) { return r.json(); }).then(function (fc) {
    var layer = L.geoJSON(fc, { style: { color: "#35506e", weight: 1, fillColor: "#deebf7", fillOpacity: 0.35 },
      onEachFeature: function (f, l) { l.bindTooltip(f.properties.name, { sticky: true }); } }).addTo(map);
    layer.bringToBack();
    if (!fitted && fc.features && fc.features.length) { map.fitBounds(layer.getBounds()); fitted = true; }
    gridsDone = true;
    el.setAttribute("data-grids-loaded", String((fc.features || []).length));
  });
  function setText(id, v) { var n = document.getElementById(id); if (n) n.textContent = v; }
  function refresh() {
    fetch(cfg.feedUrl, { credentials: "same-origin" }).then(function (r) { return r.json(); }).then(function (d) {
      officers.clearLayers(); cases.clearLayers();
      var list = document.getElementById("officer-list");
      if (list) list.textContent = "";
      d.officers.forEach(function (o) {
        L.circleMarker([o.lat, o.lng], { radius: 8, weight: 2, color: "#0b5cad", fillColor: "#4ea3ff", fillOpacity: 0.9, className: "officer-marker" })
          .bindTooltip(esc(o.name)).addTo(officers);
        if (list) { var li = document.createElement("li"); li.className = "officer"; li.setAttribute("data-officer", o.id);
          li.textContent = o.name + " · " + cfg.labels.reported + " " + o.at.slice(11, 19); list.appendChild(li); }
      });
      var overdue = 0;
      d.cases.forEach(function (c) {
        if (c.overdue) overdue++;
        L.circleMarker([c.lat, c.lng], { radius: 6, weight: 1, color: c.overdue ? "#8b0000" : "#7a4a00",
          fillColor: c.overdue ? "#e53935" : "#fdae61", fillOpacity: 0.9 })
          .bindPopup('<a href="' + esc(c.url) + '">' + esc(c.label) + "</a><br>" + esc(c.state) + " · " + esc(cfg.labels.due) + " " + esc(c.due))
          .addTo(cases);
      });
      setText("count-officers", d.officers.length); setText("count-open", d.cases.length); setText("count-overdue", overdue);
      setText("command-status", "");
      if (!fitted && gridsDone && (d.cases.length || d.officers.length)) {
        // No grids in view (none drawn for this area): frame the live points instead.
        var pts = d.cases.map(function (c) { return [c.lat, c.lng]; }).concat(d.officers.map(function (o) { return [o.lat, o.lng]; }));
        map.fitBounds(L.latLngBounds(pts).pad(0.3)); fitted = true;
      }
    }).catch(function () { setText("command-status", "…"); });
  }
  map.on("click", function (e) {
    var form = document.getElementById("order-form");
    form.querySelector("[name=lng]").value = e.latlng.lng.toFixed(7);
    form.querySelector("[name=lat]").value = e.latlng.lat.toFixed(7);
    if (pick) map.removeLayer(pick);
    pick = L.marker(e.latlng).addTo(map);
    setText("picked", cfg.labels.pick + "：" + e.latlng.lng.toFixed(5) + ", " + e.latlng.lat.toFixed(5));
  });
  refresh();
  setInterval(refresh, cfg.poll || 5000);
})();
