/* Hall statistics charts: data comes from the json_script block, no requests. */
(function () {
  "use strict";
  var node = document.getElementById("stats-data");
  if (!node || typeof echarts === "undefined") { return; }
  var data = JSON.parse(node.textContent);
  function bar(id, series, horizontal) {
    var el = document.getElementById(id);
    if (!el) { return; }
    var total = series.values.reduce(function (sum, v) { return sum + v; }, 0);
    if (!series.labels.length || total === 0) {
      // No axes without data: a sentence instead of an empty frame.
      el.textContent = el.getAttribute("data-empty") || "";
      el.classList.add("chart-empty");
      return;
    }
    var chart = echarts.init(el);
    // Item and department names (horizontal bars) all show, cut at 110 px; hours and weekdays
    // leave out the labels that would overlap.
    var labels = horizontal ? { interval: 0, width: 110, overflow: "truncate" } : { interval: "auto", hideOverlap: true };
    var category = { type: "category", data: series.labels, axisLabel: labels };
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
