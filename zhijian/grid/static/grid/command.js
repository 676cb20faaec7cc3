/* Command centre (/grid/command/). Config from #command-config (json_script; no inline script: CSP).
 *
 * - Counts, never a silent cap: zoomed out, bubbles with the open items per county, then per town,
 *   then per grid (counts.json, GROUP BY on the server; true totals in the side panel). Zoomed in
 *   (cfg.zooms.items), every open item of the view (items.json); when the view holds more than
 *   cfg.itemLimit the server says so, the map keeps the grid counts and a note asks to zoom in.
 * - Only changes: feed.json?since=<cursor> every cfg.poll ms with If-None-Match (304 when nothing
 *   moved); a change updates the items in view and reloads the counts (again with If-None-Match).
 * - Base map from settings (geo/basemap.js); without tiles the division names are drawn.
 * A click on the map picks the place of an emergency order. */
(function () {
  "use strict";
  var el = document.getElementById("command-map");
  var cfgEl = document.getElementById("command-config");
  if (!el || !cfgEl || !window.L || !window.ZhijianBasemap) return;
  var cfg = JSON.parse(cfgEl.textContent);
  var T = cfg.labels, Z = cfg.zooms || { town: 10, village: 12, items: 14 };
  var loadingEl = document.getElementById("map-loading");
  var map = L.map(el, { preferCanvas: true, zoomSnap: 0.5 });
  ZhijianBasemap.apply(map, cfg);
  if (cfg.bounds) map.fitBounds([[cfg.bounds[1], cfg.bounds[0]], [cfg.bounds[3], cfg.bounds[2]]]);
  else map.setView([36.67, 117.0], 9);
  // Names one step coarser than the counts: county names over county counts, towns over grids.
  ZhijianBasemap.labels(map, cfg, { town: Z.village, village: Z.items });

  var gridLayer = null, gridKey = "";
  var bubbles = L.layerGroup().addTo(map), items = L.layerGroup().addTo(map), officers = L.layerGroup().addTo(map);
  var itemMarkers = {};           // case id -> marker, in items mode
  var mode = "", cursor = null, pick = null;
  var etags = {}, cache = {};     // url -> ETag, url -> last JSON (a 304 reuses it)

  function fmt(s, vars) { return s.replace(/%\((\w+)\)s/g, function (_m, k) { return vars[k]; }); }
  function num(n) { return Number(n || 0).toLocaleString("zh-CN"); }
  function setText(id, v) { var n = document.getElementById(id); if (n) n.textContent = v; }
  function loading(on, text) {
    if (!loadingEl) return;
    loadingEl.hidden = !on;
    if (text) loadingEl.textContent = text;
  }
  function note(text) {
    var n = document.getElementById("command-note");
    if (!n) return;
    n.textContent = text || "";
    n.hidden = !text;
  }
  // GET JSON with If-None-Match; resolves to [data, changed] (changed false on a 304).
  function getJSON(url) {
    var headers = etags[url] ? { "If-None-Match": etags[url] } : {};
    // no-store: our own If-None-Match and 304 reach this code (the HTTP cache would hide them).
    return fetch(url, { credentials: "same-origin", headers: headers, cache: "no-store" }).then(function (r) {
      if (r.status === 304 && cache[url]) return [cache[url], false];
      if (!r.ok) throw new Error(String(r.status));
      var tag = r.headers.get("ETag");
      return r.json().then(function (d) {
        if (tag) { etags[url] = tag; cache[url] = d; }
        return [d, true];
      });
    });
  }
  function bboxOf(pad) {
    var b = map.getBounds().pad(pad || 0);
    return [b.getWest(), b.getSouth(), b.getEast(), b.getNorth()].map(function (x) { return x.toFixed(4); }).join(",");
  }
  function levelNow() {
    var z = map.getZoom();
    if (z >= Z.items) return "items";
    if (z >= Z.village) return "village";
    if (z >= Z.town) return "town";
    return "county";
  }

  // --- grid outlines: town grids zoomed out, village grids zoomed in, only those in view --------
  function loadGrids() {
    var level = map.getZoom() >= Z.village ? 2 : 1;
    var bbox = bboxOf(0.5), key = level + "|" + bbox;
    if (key === gridKey) return;
    gridKey = key;
    fetch(cfg.gridsUrl + "?level=" + level + "&bbox=" + bbox, { credentials: "same-origin" })
      .then(function (r) { return r.json(); })
      .then(function (fc) {
        if (key !== gridKey) return;
        if (gridLayer) map.removeLayer(gridLayer);
        gridLayer = L.geoJSON(fc, { style: { color: "#35506e", weight: level === 1 ? 1.2 : 0.8, fillColor: "#deebf7", fillOpacity: 0.25 },
          onEachFeature: function (f, l) { l.bindTooltip(ZhijianText.node(f.properties.name), { sticky: true }); } }).addTo(map);
        gridLayer.bringToBack();
        el.setAttribute("data-grids-loaded", String((fc.features || []).length));
      })
      .catch(function () {});
  }

  // --- counts and items --------------------------------------------------------------------------
  function showTotals(t) {
    setText("count-open", num(t.open)); setText("count-overdue", num(t.overdue));
    setText("count-unlocated", num(t.unlocated));
  }
  function drawBubbles(areas) {
    bubbles.clearLayers();
    var placed = 0, unplaced = 0;
    areas.forEach(function (a) {
      if (a.lng == null) { unplaced += a.open; return; }
      placed++;
      var cls = "count-bubble" + (a.overdue ? " has-overdue" : "") + (a.open >= 1000 ? " big" : "");
      var m = L.marker([a.lat, a.lng], { icon: L.divIcon({ className: cls, html: "<span></span>", iconSize: null }), riseOnHover: true })
        .bindTooltip(ZhijianText.node(a.name + "：" + T.open + " " + num(a.open) + (a.overdue ? "，" + T.overdue + " " + num(a.overdue) : "")))
        .on("click", function () { map.setView([a.lat, a.lng], Math.min(Math.max(map.getZoom() + 2, Z.town), Z.items)); })
        .addTo(bubbles);
      m.getElement().firstChild.textContent = num(a.open);
      m.getElement().setAttribute("data-area", a.key);
    });
    el.setAttribute("data-bubbles", String(placed));
    return unplaced;
  }
  function listAreas(level, areas) {
    var list = document.getElementById("area-list");
    setText("area-level", T.level[level] || "");
    if (!list) return;
    list.textContent = "";
    areas.slice(0, 12).forEach(function (a) {
      var li = document.createElement("li");
      var name = document.createElement(a.lng != null ? "a" : "span");
      name.textContent = a.name || "—";
      if (a.lng != null) {
        name.href = "#";
        name.addEventListener("click", function (e) { e.preventDefault(); map.setView([a.lat, a.lng], Math.min(map.getZoom() + 2, Z.items)); });
      }
      li.appendChild(name);
      var n = document.createElement("span");
      n.className = "num";
      n.textContent = num(a.open) + (a.overdue ? "（" + T.overdue + " " + num(a.overdue) + "）" : "");
      li.appendChild(n);
      list.appendChild(li);
    });
  }
  function loadCounts(level) {
    var url = cfg.countsUrl + "?level=" + (level === "items" ? "grid" : level) +
      (level === "village" || level === "items" ? "&bbox=" + bboxOf(0.3) : "");
    return getJSON(url).then(function (res) {
      var d = res[0];
      showTotals(d.totals);
      return d;
    });
  }
  function itemMarker(c) {
    return L.circleMarker([c.lat, c.lng], { radius: 7, weight: 1, color: c.overdue ? "#8b0000" : "#7a4a00",
      fillColor: c.overdue ? "#e53935" : "#fdae61", fillOpacity: 0.9 })
      .bindPopup(ZhijianText.node({ href: c.url, text: c.label }, "\n" + c.number + " · " + c.state + " · " + T.due + " " + c.due));
  }
  function putItem(c) {
    if (itemMarkers[c.id]) { items.removeLayer(itemMarkers[c.id]); delete itemMarkers[c.id]; }
    if (c.open && c.lng != null && map.getBounds().contains([c.lat, c.lng])) itemMarkers[c.id] = itemMarker(c).addTo(items);
  }
  var generation = 0;  // answers to an older view (the map moved since) are dropped
  function render() {
    var gen = ++generation;
    var level = levelNow();
    var switched = level !== mode;
    mode = level;
    if (switched) loading(true, T.loading);
    loadGrids();
    var counts = loadCounts(level);
    if (level !== "items") {
      return counts.then(function (d) {
        if (gen !== generation) return;
        items.clearLayers(); itemMarkers = {};
        var unplaced = drawBubbles(d.areas);
        listAreas(level, d.areas);
        note(unplaced ? fmt(T.unplaced, { n: num(unplaced) }) : "");
        loading(false);
        el.setAttribute("data-mode", level);
      }).catch(function () { loading(false); setText("command-status", T.failed); });
    }
    var url = cfg.itemsUrl + "?bbox=" + bboxOf(0) + "&limit=" + cfg.itemLimit;
    return Promise.all([counts, getJSON(url)]).then(function (res) {
      if (gen !== generation) return;
      var d = res[0], it = res[1][0];
      listAreas("items", d.areas);
      if (it.truncated) {
        items.clearLayers(); itemMarkers = {};
        drawBubbles(d.areas);
        note(fmt(T.tooMany, { n: num(it.total), limit: num(it.limit) }));
        el.setAttribute("data-mode", "items-truncated");
      } else {
        bubbles.clearLayers(); items.clearLayers(); itemMarkers = {};
        it.items.forEach(putItem);
        note(fmt(T.items, { n: num(it.total) }));
        el.setAttribute("data-mode", "items");
      }
      loading(false);
    }).catch(function () { loading(false); setText("command-status", T.failed); });
  }

  // --- the change feed ---------------------------------------------------------------------------
  function drawOfficers(list) {
    officers.clearLayers();
    var ul = document.getElementById("officer-list");
    if (ul) ul.textContent = "";
    list.forEach(function (o) {
      L.circleMarker([o.lat, o.lng], { radius: 8, weight: 2, color: "#0b5cad", fillColor: "#4ea3ff", fillOpacity: 0.9, className: "officer-marker" })
        .bindTooltip(ZhijianText.node(o.name)).addTo(officers);
      if (ul) { var li = document.createElement("li"); li.className = "officer"; li.setAttribute("data-officer", o.id);
        li.textContent = o.name + " · " + T.reported + " " + o.at.slice(11, 19); ul.appendChild(li); }
    });
    setText("count-officers", list.length);
  }
  var feedTag = null;
  function poll() {
    var url = cfg.feedUrl + (cursor ? "?since=" + encodeURIComponent(cursor) : "");
    var headers = feedTag ? { "If-None-Match": feedTag } : {};
    return fetch(url, { credentials: "same-origin", headers: headers, cache: "no-store" }).then(function (r) {
      if (r.status === 304) return null;
      if (!r.ok) throw new Error(String(r.status));
      feedTag = r.headers.get("ETag");
      return r.json();
    }).then(function (d) {
      setText("command-status", fmt(T.updated, { t: new Date().toLocaleTimeString("zh-CN", { hour12: false }) }));
      if (!d) return;
      var first = cursor === null;
      cursor = d.cursor;
      drawOfficers(d.officers);
      if (first) return;
      if (d.more) { render(); return; }
      if (d.changes.length) {
        if (mode === "items" && el.getAttribute("data-mode") === "items") {
          d.changes.forEach(putItem);
          loadCounts(mode);
        } else render();
      }
    }).catch(function () { setText("command-status", T.failed); });
  }

  map.on("moveend", function () { render(); });
  map.on("click", function (e) {
    var form = document.getElementById("order-form");
    form.querySelector("[name=lng]").value = e.latlng.lng.toFixed(7);
    form.querySelector("[name=lat]").value = e.latlng.lat.toFixed(7);
    if (pick) map.removeLayer(pick);
    pick = L.marker(e.latlng).addTo(map);
    setText("picked", T.pick + "：" + e.latlng.lng.toFixed(5) + ", " + e.latlng.lat.toFixed(5));
  });
  render();
  poll();
  setInterval(poll, cfg.poll || 20000);
  // Every five minutes the counts again (a 304 when unchanged): catches writes the feed cannot see.
  setInterval(function () { render(); }, 300000);
})();
