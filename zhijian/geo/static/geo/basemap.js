/* The base map of every map page, from the page's configuration (zhijian.geo.basemap.tile_config):
 *
 *   ZhijianBasemap.apply(map, cfg)    -> true when tiles were added (cfg.tileUrl set)
 *   ZhijianBasemap.labels(map, cfg)   -> division names at their centroids when there are no tiles
 *                                        (cfg.labelsUrl), county names zoomed out, towns, villages
 *
 * The attribution prefix is a plain "Leaflet" link (Leaflet 1.9's default shows a flag). */
(function () {
  "use strict";
  var PREFIX = '<a href="https://leafletjs.com" title="Leaflet">Leaflet</a>';

  function apply(map, cfg) {
    if (map.attributionControl) map.attributionControl.setPrefix(PREFIX);
    if (!cfg || !cfg.tileUrl) {
      map.getContainer().classList.add("no-tiles");
      return false;
    }
    var opts = { maxZoom: cfg.tileMaxZoom || 18, subdomains: cfg.tileSubdomains || "abc", attribution: cfg.tileAttribution || "" };
    L.tileLayer(cfg.tileUrl, opts).addTo(map);
    if (cfg.tileLabelUrl) L.tileLayer(cfg.tileLabelUrl, { maxZoom: opts.maxZoom, subdomains: opts.subdomains }).addTo(map);
    return true;
  }

  function levelFor(zoom, zooms) {
    zooms = zooms || {};
    if (zoom >= (zooms.village || 12)) return 5;
    if (zoom >= (zooms.town || 10)) return 4;
    return 3;
  }

  function labels(map, cfg, zooms) {
    if (!cfg || cfg.tileUrl || !cfg.labelsUrl) return null;
    if (!map.getPane("divisionLabels")) {
      var pane = map.createPane("divisionLabels");
      pane.style.zIndex = 450;
      pane.style.pointerEvents = "none";
    }
    var layer = L.layerGroup().addTo(map);
    var pending = null, shownKey = "";
    function load() {
      var level = levelFor(map.getZoom(), zooms);
      var b = map.getBounds();
      var bbox = [b.getWest(), b.getSouth(), b.getEast(), b.getNorth()].map(function (x) { return x.toFixed(4); }).join(",");
      var key = level + "|" + bbox;
      if (key === shownKey) return;
      if (pending) pending.abort();
      pending = new AbortController();
      fetch(cfg.labelsUrl + "?level=" + level + "&bbox=" + bbox, { credentials: "same-origin", signal: pending.signal })
        .then(function (r) { return r.ok ? r.json() : { labels: [] }; })
        .then(function (d) {
          layer.clearLayers();
          shownKey = key;
          // Greedy placement: a name overlapping one already drawn is left out (zoom in to see it).
          var boxes = [], drawn = 0;
          (d.labels || []).forEach(function (l) {
            var pt = map.latLngToContainerPoint([l.lat, l.lng]);
            var w = l.name.length * (d.level >= 5 ? 11 : 13) / 2 + 4, h = 10;
            var hit = boxes.some(function (b) { return Math.abs(b.x - pt.x) < b.w + w && Math.abs(b.y - pt.y) < b.h + h; });
            if (hit) return;
            boxes.push({ x: pt.x, y: pt.y, w: w, h: h });
            drawn++;
            L.marker([l.lat, l.lng], {
              pane: "divisionLabels", interactive: false, keyboard: false,
              icon: L.divIcon({ className: "division-label level-" + d.level, html: "<span></span>", iconSize: null }),
            }).addTo(layer).getElement().firstChild.textContent = l.name;
          });
          map.getContainer().setAttribute("data-division-labels", String(drawn));
        })
        .catch(function () {});
    }
    map.on("moveend", load);
    map.whenReady(load);
    return layer;
  }

  window.ZhijianBasemap = { apply: apply, labels: labels, levelFor: levelFor, PREFIX: PREFIX };
})();
