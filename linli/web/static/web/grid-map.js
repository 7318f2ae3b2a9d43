// Grid page map: the grid's outline over the shared base map (web/basemap.js): its buildings
// with their names (a click opens the building), the neighbouring grids and their names, and
// the patrol tracks of the last days as a layer that can be switched off.
(function () {
  "use strict";
  var MARGIN_M = 150;
  function draw() {
    var holder = document.getElementById("grid-map");
    var source = document.getElementById("grid-map-data");
    if (!holder || !source || !window.L || !window.linliBasemap) { return; }
    var data = JSON.parse(source.textContent);
    var base = window.linliBasemap.create(holder, {
      // One grid's buildings are few: name them from a grid's usual scale on.
      scrollWheelZoom: false, labelsFromZoom: 14.5,
      legend: [["picked", holder.dataset.labelGrid]].concat(holder.dataset.tracksUrl ? [["track", holder.dataset.labelTracks]] : [])
    });
    var outline = base.geojson(data.boundary, { color: "#b8322a", weight: 2.5, fillColor: "#b8322a", fillOpacity: 0.05 }, { interactive: false });
    // The view must exist before vector layers are added (no tile layer sets one for us).
    base.map.fitBounds(outline.getBounds(), { padding: [12, 12] });
    var box = base.viewBox(), pad = MARGIN_M / 111320;
    base.loadBase([box[0] - pad, box[1] - pad, box[2] + pad, box[3] + pad]).then(function () {
      outline.addTo(base.map);
      holder.setAttribute("data-basemap", "ready");
    });
    // The grid's patrol tracks of the last days (the field app's scoped tracks.json), a layer
    // the reader can switch off.
    if (holder.dataset.tracksUrl) {
      base.loadTracks(holder.dataset.tracksUrl).then(function (tracks) {
        tracks.addTo(base.map);
        var overlays = {};
        overlays[holder.dataset.labelTracks] = tracks;
        window.L.control.layers(null, overlays, { collapsed: false }).addTo(base.map);
      });
    }
  }
  if (document.readyState === "loading") { document.addEventListener("DOMContentLoaded", draw); } else { draw(); }
})();
