/* Statistics tables (C5): each table's chart (bars per row; a period table as lines), drawn from
   the JSON the page embeds (json_script; the CSP forbids inline JS). */
(function () {
  "use strict";
  var node = document.getElementById("stats-charts");
  if (!node || typeof echarts === "undefined") { return; }
  var specs = JSON.parse(node.textContent);
  var colors = { pushed: "#0b5cad", total: "#0b5cad", done: "#2e7d32", overdue: "#c0392b", warned: "#e6a23c" };
  var charts = [];
  specs.forEach(function (spec) {
    var el = document.getElementById(spec.id);
    if (!el) { return; }
    var chart = echarts.init(el, null, { renderer: "canvas" });
    chart.setOption({
      tooltip: { trigger: "axis", axisPointer: { type: spec.type === "bar" ? "shadow" : "line" } },
      legend: { bottom: 0 },
      grid: { left: 16, right: 16, top: 16, bottom: 40, containLabel: true },
      xAxis: { type: "category", data: spec.labels, axisLabel: { hideOverlap: true, width: 120, overflow: "truncate" } },
      yAxis: { type: "value", minInterval: 1 },
      series: spec.series.map(function (s) {
        return { name: s.name, type: spec.type, data: s.data, itemStyle: { color: colors[s.key] }, showSymbol: true };
      })
    });
    charts.push(chart);
  });
  var pending = null;
  window.addEventListener("resize", function () {
    if (pending) { window.cancelAnimationFrame(pending); }
    pending = window.requestAnimationFrame(function () { charts.forEach(function (c) { c.resize(); }); });
  });
  document.documentElement.dataset.chartsReady = String(charts.length);
})();
