/* A single entity pin on a small map. Include Leaflet (vendor/leaflet/leaflet.css + leaflet.js) and
 * this file, then mark up a container:
 *
 *   <div class="map" data-entity-map data-lng="117.0" data-lat="36.6"
 *        data-label="名称" data-tile-url="{{ TILE_URL }}" data-grid-url="/geo/grids/12.geojson"></div>
 *
 * Coordinates are GCJ-02. data-tile-url (optional) adds a base layer (data-tile-label-url a label
 * layer over it, data-tile-subdomains the values of {s}); data-grid-url (optional)
 * draws the entity's grid outline so the pin has context when there are no tiles. No inline script
 * is needed (CSP). Needs zhijian/maptext.js (labels are text, never HTML). */
(function () {
  "use strict";
  function init(el) {
    if (!window.L || el._entityMap) return;
    var lng = parseFloat(el.getAttribute("data-lng"));
    var lat = parseFloat(el.getAttribute("data-lat"));
    if (!isFinite(lng) || !isFinite(lat)) { el.hidden = true; return; }
    var zoom = parseInt(el.getAttribute("data-zoom") || "16", 10);
    var map = L.map(el, { scrollWheelZoom: false }).setView([lat, lng], zoom);
    el._entityMap = map;
    // A plain "Leaflet" link: Leaflet 1.9's default attribution prefix shows a flag.
    if (map.attributionControl) map.attributionControl.setPrefix('<a href="https://leafletjs.com" title="Leaflet">Leaflet</a>');
    var tiles = el.getAttribute("data-tile-url");
    var sub = el.getAttribute("data-tile-subdomains") || "abc";
    if (tiles) L.tileLayer(tiles, { maxZoom: 18, subdomains: sub, attribution: el.getAttribute("data-tile-attribution") || "" }).addTo(map);
    var labelTiles = el.getAttribute("data-tile-label-url");
    if (tiles && labelTiles) L.tileLayer(labelTiles, { maxZoom: 18, subdomains: sub }).addTo(map);
    var marker = L.marker([lat, lng]).addTo(map);
    var label = el.getAttribute("data-label");
    if (label) marker.bindTooltip(ZhijianText.node(label), { permanent: false });
    var gridUrl = el.getAttribute("data-grid-url");
    if (gridUrl) {
      fetch(gridUrl, { credentials: "same-origin" })
        .then(function (r) { return r.ok ? r.json() : null; })
        .then(function (fc) {
          if (!fc) return;
          var layer = L.geoJSON(fc, { style: { color: "#0b5cad", weight: 2, fillOpacity: 0.08 }, interactive: false }).addTo(map);
          if (!tiles && fc.features && fc.features.length) map.fitBounds(layer.getBounds(), { padding: [10, 10] });
        })
        .catch(function () {});
    }
  }
  function initAll(root) {
    (root || document).querySelectorAll("[data-entity-map]").forEach(init);
  }
  window.ZhijianEntityMap = { init: init, initAll: initAll };
  if (document.readyState === "loading") document.addEventListener("DOMContentLoaded", function () { initAll(); });
  else initAll();
  // Content swapped in by htmx gets its maps too.
  document.addEventListener("htmx:afterSettle", function (e) { initAll(e.target); });
})();
