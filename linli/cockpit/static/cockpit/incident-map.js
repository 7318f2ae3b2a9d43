// The incident's area on the board page.
(function () {
  "use strict";
  function init() {
    var holder = document.getElementById("incident-map"), source = document.getElementById("incident-map-data");
    if (!holder || !source || !window.L || !window.linliBasemap) { return; }
    var base = window.linliBasemap.create(holder, { zoomControl: false });
    var area = base.geojson(JSON.parse(source.textContent).polygon, { color: "#b8322a", weight: 2, fillOpacity: 0.12 });
    base.map.fitBounds(area.getBounds(), { padding: [12, 12] });
    area.addTo(base.map);
  }
  if (document.readyState === "loading") { document.addEventListener("DOMContentLoaded", init); } else { init(); }
})();
