// Case page map: one marker at the case's position, on a blank background unless a tile
// server is configured (intranets have no internet tiles).
(function () {
  "use strict";
  function draw() {
    var holder = document.getElementById("case-map");
    var source = document.getElementById("case-map-data");
    if (!holder || !source || typeof window.L === "undefined") { return; }
    var data = JSON.parse(source.textContent);
    if (data.lat === null || data.lon === null) { return; }
    var map = window.L.map(holder, { attributionControl: false, scrollWheelZoom: false });
    map.setView([data.lat, data.lon], 17);
    if (data.tiles) { window.L.tileLayer(data.tiles, { maxZoom: 19 }).addTo(map); }
    window.L.circleMarker([data.lat, data.lon], {
      radius: 8, color: "#b8322a", weight: 2, fillColor: "#b8322a", fillOpacity: 0.6
    }).bindTooltip(data.label).addTo(map);
  }
  if (document.readyState === "loading") { document.addEventListener("DOMContentLoaded", draw); } else { draw(); }
})();
