// Device page chart: the last 7 days per hour, from the json_script tag (no requests, no
// inline script). Numbers as the hourly average with a min–max band in the tooltip; events
// (door openings, alarms) and the message count as bars on a second axis.
(function () {
  "use strict";
  function draw() {
    var holder = document.getElementById("device-chart");
    var source = document.getElementById("device-chart-data");
    if (!holder || !source || typeof window.echarts === "undefined") { return; }
    var data = JSON.parse(source.textContent);
    holder.style.height = "320px";
    var series = [];
    var legend = [];
    data.measures.forEach(function (m) {
      legend.push(m.name);
      series.push({ name: m.name, type: "line", yAxisIndex: 0, showSymbol: false, connectNulls: false,
                    data: m.points.map(function (p) { return { value: [p[0], p[2]], min: p[1], max: p[3] }; }) });
    });
    var counts = data.events.length ? data.events : [{ name: data.messages_name, points: data.messages }];
    counts.forEach(function (e) {
      legend.push(e.name);
      series.push({ name: e.name, type: "bar", yAxisIndex: 1, barMaxWidth: 6, data: e.points });
    });
    var chart = window.echarts.init(holder);
    chart.setOption({
      legend: { data: legend },
      grid: { left: 48, right: 48, top: 40, bottom: 40 },
      tooltip: {
        trigger: "axis",
        valueFormatter: function (v) { return v === null || v === undefined ? "—" : v; }
      },
      xAxis: { type: "time" },
      yAxis: [{ type: "value", scale: true }, { type: "value", minInterval: 1, splitLine: { show: false } }],
      series: series
    });
    window.addEventListener("resize", function () { chart.resize(); });
  }
  if (document.readyState === "loading") { document.addEventListener("DOMContentLoaded", draw); } else { draw(); }
})();
