/* Leader overview: a line chart of the daily trends and a bar chart of each unit's overdue and
   due-soon work, from the JSON the page embeds (json_script; the CSP forbids inline JS). Clicking a
   unit's bars opens that unit's overview (the drill-down the table's links also offer). */
(function () {
  "use strict";
  if (typeof echarts === "undefined") { return; }
  var charts = [];

  function data(id) {
    var node = document.getElementById(id);
    return node ? JSON.parse(node.textContent) : null;
  }

  function make(id, option) {
    var el = document.getElementById(id);
    if (!el) { return null; }
    var chart = echarts.init(el, null, { renderer: "canvas" });
    chart.setOption(option);
    charts.push(chart);
    return chart;
  }

  var trend = data("overview-trend-data");
  if (trend) {
    make("chart-trend", {
      tooltip: { trigger: "axis" },
      legend: { type: "scroll", bottom: 0 },
      grid: { left: 16, right: 16, top: 16, bottom: 56, containLabel: true },
      xAxis: { type: "category", data: trend.dates.map(function (d) { return d.slice(5); }), axisLabel: { hideOverlap: true } },
      yAxis: { type: "value", minInterval: 1 },
      series: trend.series.map(function (s) { return { name: s.name, type: "line", data: s.data, showSymbol: false, smooth: false }; })
    });
  }

  var units = data("overview-units-data");
  if (units && units.names.length) {
    var colors = { overdue: "#c0392b", soon: "#e6a23c", cases_overdue: "#8e44ad" };
    var chart = make("chart-units", {
      tooltip: { trigger: "axis", axisPointer: { type: "shadow" } },
      legend: { bottom: 0 },
      grid: { left: 16, right: 16, top: 16, bottom: 40, containLabel: true },
      xAxis: { type: "value", minInterval: 1 },
      yAxis: { type: "category", data: units.names, inverse: true, axisLabel: { width: window.innerWidth < 700 ? 90 : 180, overflow: "truncate" } },
      series: units.series.map(function (s) {
        return { name: s.name, type: "bar", stack: s.key === "cases_overdue" ? "cases" : "tasks", data: s.data, itemStyle: { color: colors[s.key] } };
      })
    });
    if (chart) {
      chart.on("click", function (p) { if (units.links[p.dataIndex]) { window.location.href = units.links[p.dataIndex]; } });
      chart.getZr().on("mousemove", function () { chart.getZr().setCursorStyle("pointer"); });
    }
  }

  var pending = null;
  window.addEventListener("resize", function () {
    if (pending) { window.cancelAnimationFrame(pending); }
    pending = window.requestAnimationFrame(function () { charts.forEach(function (c) { c.resize(); }); });
  });
  document.documentElement.dataset.chartsReady = String(charts.length);
})();
