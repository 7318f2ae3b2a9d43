/* A patrol's track on the map. */
(function () {
  "use strict";
  var config = JSON.parse((document.getElementById("map-config") || {}).textContent || "{}");
  var track = config.track || [];
  if (!window.L || !track.length) { return; }
  var points = track.map(function (p) { return [p[1], p[0]]; });
  var map = window.L.map("map");
  if (config.tiles) { window.L.tileLayer(config.tiles, { maxZoom: 19 }).addTo(map); }
  var line = window.L.polyline(points, { color: "#b3261e", weight: 4 }).addTo(map);
  map.fitBounds(line.getBounds(), { maxZoom: 18 });
})();
