/* Efficiency watch (C7): ECharts line charts of weekly overdue and completion rates per unit and a
   bar chart comparing units, from the JSON the page embeds (json_script; the CSP forbids inline JS). */
(function () {
  "use strict";
  var node = document.getElementById("efficiency-data");
  if (!node || typeof echarts === "undefined") { return; }
  var data = JSON.parse(node.textContent);
  var charts = [];

  function make(id, option) {
    var el = document.getElementById(id);
    if (!el) { return; }
    var chart = echarts.init(el, null, { renderer: "canvas" });
    chart.setOption(option);
    charts.push(chart);
  }

  function narrow() { return window.innerWidth < 700; }

  function lines(field) {
    return {
      tooltip: { trigger: "axis", valueFormatter: function (v) { return v == null ? "—" : v + "%"; } },
      legend: { type: "scroll", bottom: 0 },
      grid: { left: 40, right: 16, top: 16, bottom: 56, containLabel: true },
      xAxis: { type: "category", data: data.weeks, axisLabel: { hideOverlap: true } },
      yAxis: { type: "value", min: 0, max: 100, axisLabel: { formatter: "{value}%" } },
      series: data.series.map(function (s) {
        return { name: s.name, type: "line", data: s[field], connectNulls: false, showSymbol: true, symbolSize: 8, smooth: false };
      })
    };
  }

  make("chart-overdue", lines("overdue"));
  make("chart-completion", lines("completion"));
  make("chart-units", {
    tooltip: { trigger: "axis", axisPointer: { type: "shadow" } },
    legend: { bottom: 0 },
    grid: { left: 16, right: 16, top: 16, bottom: 40, containLabel: true },
    xAxis: { type: "value", min: 0, max: 100, axisLabel: { formatter: "{value}%" } },
    yAxis: { type: "category", data: data.units, inverse: true, axisLabel: { width: narrow() ? 90 : 180, overflow: "truncate" } },
    series: [
      { name: data.labels.overdue, type: "bar", data: data.overdue_rate, itemStyle: { color: "#c0392b" } },
      { name: data.labels.completion, type: "bar", data: data.completion_rate, itemStyle: { color: "#2e7d32" } }
    ]
  });

  var pending = null;
  window.addEventListener("resize", function () {
    if (pending) { window.cancelAnimationFrame(pending); }
    pending = window.requestAnimationFrame(function () { charts.forEach(function (c) { c.resize(); }); });
  });
  document.documentElement.dataset.chartsReady = String(charts.length);
})();
