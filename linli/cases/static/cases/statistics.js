// Statistics chart: bars for the chosen indicator by group, with the comparison period as
// a line when one is chosen. Data comes from a json_script tag; the table stays the source.
(function () {
  "use strict";
  function draw() {
    var holder = document.getElementById("stats-chart");
    var source = document.getElementById("stats-data");
    var picker = document.getElementById("chart-indicator");
    if (!holder || !source || typeof window.echarts === "undefined") { return; }
    var data = JSON.parse(source.textContent);
    var chart = window.echarts.init(holder);
    function render() {
      var series = data.series.filter(function (s) { return s.key === picker.value; })[0] || data.series[0];
      var scale = series.kind === "rate" ? 100 : 1;
      function values(list) { return list.map(function (v) { return v === null ? null : Math.round(v * scale * 10) / 10; }); }
      var plotted = [{ name: series.name, type: "bar", data: values(series.values) }];
      if (data.compare) { plotted.push({ name: series.name + " (" + data.compare + ")", type: "line", data: values(series.previous) }); }
      chart.setOption({
        tooltip: { trigger: "axis" }, legend: {}, grid: { left: 48, right: 16, bottom: 72 },
        xAxis: { type: "category", data: data.labels, axisLabel: { rotate: 30 } },
        yAxis: { type: "value", axisLabel: { formatter: series.kind === "rate" ? "{value}%" : "{value}" } },
        series: plotted
      }, true);
    }
    picker.addEventListener("change", render);
    window.addEventListener("resize", function () { chart.resize(); });
    render();
  }
  if (document.readyState === "loading") { document.addEventListener("DOMContentLoaded", draw); } else { draw(); }
})();
