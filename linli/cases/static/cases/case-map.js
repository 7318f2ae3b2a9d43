// Case page map: the case's position among the named buildings and grids of the shared base
// map (web/basemap.js), so it reads as a place without any tile server.
(function () {
  "use strict";
  var AROUND_M = 500;
  function draw() {
    var holder = document.getElementById("case-map");
    var source = document.getElementById("case-map-data");
    if (!holder || !source || !window.L || !window.linliBasemap) { return; }
    var data = JSON.parse(source.textContent);
    if (data.lat === null || data.lon === null) { return; }
    var base = window.linliBasemap.create(holder, {
      scrollWheelZoom: false, legend: [["case", holder.dataset.labelCase]]
    });
    var at = base.toMap(data.lon, data.lat);
    base.map.setView(at, 17);
    var marker = window.L.circleMarker(at, {
      radius: 8, color: "#b8322a", weight: 2, fillColor: "#b8322a", fillOpacity: 0.6
    }).bindTooltip(data.label);
    base.loadBase(window.linliBasemap.boxAround(data.lon, data.lat, AROUND_M)).then(function () {
      marker.addTo(base.map);
      holder.setAttribute("data-basemap", "ready");
    });
  }
  if (document.readyState === "loading") { document.addEventListener("DOMContentLoaded", draw); } else { draw(); }
})();
