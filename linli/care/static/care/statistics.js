/* Care statistics charts: data from the json_script block, no requests. */
(function () {
  "use strict";
  var node = document.getElementById("care-stats-data");
  if (!node || typeof echarts === "undefined") { return; }
  var data = JSON.parse(node.textContent);
  var COLOURS = { red: "#c62828", yellow: "#f9a825", green: "#2e7d32" };
  function empty(el) {
    el.textContent = el.getAttribute("data-empty") || "";
    el.classList.add("chart-empty");
  }
  function months() {
    var el = document.getElementById("chart-months");
    if (!el) { return; }
    var m = data.months;
    if (!m.labels.length || m.visited.every(function (v) { return v === 0; })) { empty(el); return; }
    var chart = echarts.init(el);
    chart.setOption({
      grid: { left: 48, right: 48, top: 32, bottom: 32 },
      tooltip: { trigger: "axis" },
      legend: { top: 0 },
      xAxis: { type: "category", data: m.labels },
      yAxis: [{ type: "value", minInterval: 1 }, { type: "value", max: 100, axisLabel: { formatter: "{value}%" } }],
      series: [
        { name: el.getAttribute("data-visited"), type: "bar", data: m.visited, itemStyle: { color: "#1d5fa8" } },
        { name: el.getAttribute("data-rate"), type: "line", yAxisIndex: 1, data: m.rates, itemStyle: { color: "#e65100" } }
      ]
    });
    window.addEventListener("resize", function () { chart.resize(); });
  }
  function colours() {
    var el = document.getElementById("chart-colours");
    if (!el) { return; }
    var total = data.colours.reduce(function (sum, c) { return sum + c.value; }, 0);
    if (total === 0) { empty(el); return; }
    var chart = echarts.init(el);
    chart.setOption({
      tooltip: { trigger: "item", formatter: "{b}: {c} ({d}%)" },
      series: [{
        type: "pie", radius: ["40%", "70%"],
        data: data.colours.map(function (c) {
          return { name: c.name, value: c.value, itemStyle: { color: COLOURS[c.key] } };
        })
      }]
    });
    window.addEventListener("resize", function () { chart.resize(); });
  }
  months();
  colours();
})();
