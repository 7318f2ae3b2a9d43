// Grid page map: the grid polygon and building points, on a blank background unless a tile
// server is configured (intranets have no internet tiles). Data comes from a json_script tag.
(function () {
  "use strict";
  function draw() {
    var holder = document.getElementById("grid-map");
    var source = document.getElementById("grid-map-data");
    if (!holder || !source || typeof window.L === "undefined") { return; }
    var data = JSON.parse(source.textContent);
    var map = window.L.map(holder, { attributionControl: false, scrollWheelZoom: false, zoomSnap: 0.25 });
    if (data.tiles) { window.L.tileLayer(data.tiles, { maxZoom: 19 }).addTo(map); }
    var outline = window.L.geoJSON(data.boundary, {
      style: { color: "#b8322a", weight: 2, fillColor: "#b8322a", fillOpacity: 0.06 }
    });
    // The view must exist before vector layers are added (no tile layer sets one for us).
    map.fitBounds(outline.getBounds(), { padding: [12, 12] });
    outline.addTo(map);
    data.points.forEach(function (point) {
      var link = document.createElement("a");
      link.href = point.url;
      link.textContent = point.label;
      window.L.circleMarker([point.lat, point.lon], {
        radius: 5, color: "#1d5fa8", weight: 1, fillColor: "#1d5fa8", fillOpacity: 0.8
      }).bindPopup(link).addTo(map);
    });
  }
  if (document.readyState === "loading") {
    document.addEventListener("DOMContentLoaded", draw);
  } else {
    draw();
  }
})();
