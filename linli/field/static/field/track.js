/* A patrol's track on the map; with GCJ-02 tiles (高德) the WGS-84 track is shifted at this
   edge, as on every other map (web/basemap.js). */
(function () {
  "use strict";
  var config = JSON.parse((document.getElementById("map-config") || {}).textContent || "{}");
  var track = config.track || [];
  if (!window.L || !track.length) { return; }
  var shift = config.tile_crs === "gcj02" && window.linliBasemap ? window.linliBasemap.toGcj : null;
  var points = track.map(function (p) { var q = shift ? shift(p[0], p[1]) : p; return [q[1], q[0]]; });
  var map = window.L.map("map");
  if (config.tiles) { window.L.tileLayer(config.tiles, { maxZoom: 19 }).addTo(map); }
  var line = window.L.polyline(points, { color: "#b3261e", weight: 4 }).addTo(map);
  map.fitBounds(line.getBounds(), { maxZoom: 18 });
})();
