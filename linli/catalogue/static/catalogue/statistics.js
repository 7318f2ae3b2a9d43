/* Hall statistics charts: data comes from the json_script block, no requests. */
(function () {
  "use strict";
  var node = document.getElementById("stats-data");
  if (!node || typeof echarts === "undefined") { return; }
  var data = JSON.parse(node.textContent);
  function bar(id, series, horizontal) {
    var el = document.getElementById(id);
    if (!el) { return; }
    var chart = echarts.init(el);
    var category = { type: "category", data: series.labels, axisLabel: { interval: 0, width: 110, overflow: "truncate" } };
    var value = { type: "value", minInterval: 1 };
    chart.setOption({
      grid: { left: horizontal ? 120 : 40, right: 16, top: 16, bottom: 40 },
      tooltip: { trigger: "axis" },
      xAxis: horizontal ? value : category,
      yAxis: horizontal ? Object.assign({}, category, { inverse: true }) : value,
      series: [{ type: "bar", data: series.values, itemStyle: { color: "#1d5fa8" } }]
    });
    window.addEventListener("resize", function () { chart.resize(); });
  }
  bar("chart-items", data.items, true);
  bar("chart-departments", data.departments, true);
  bar("chart-hours", data.hours, false);
  bar("chart-weekdays", data.weekdays, false);
})();
