// Emergency mode: draw a polygon or a circle, or pick buildings; the server answers with every
// household inside (HTML fragment), and the start form gets the shape. A small own draw
// handler: no Leaflet.draw in node_modules.
(function () {
  "use strict";
  function init() {
    var holder = document.getElementById("em-map"), source = document.getElementById("em-map-data");
    if (!holder || !source || !window.L || !window.linliBasemap) { return; }
    var L = window.L, data = JSON.parse(source.textContent);
    var base = window.linliBasemap.create(holder), map = base.map;
    // The view must exist before vector layers are added (no tile layer sets one for us).
    var bounds = L.latLngBounds([]), layers = [];
    data.grids.forEach(function (grid) {
      var layer = base.geojson(grid.boundary, { color: "#8a8f98", weight: 1, fillOpacity: 0.03, dashArray: "4 3" })
        .bindTooltip(grid.name, { sticky: true });
      layers.push(layer);
      bounds.extend(layer.getBounds());
    });
    var markers = {}, picked = {};
    data.buildings.forEach(function (b) {
      var at = base.toMap(b.lon, b.lat);
      var marker = L.circleMarker(at, { radius: 5, color: "#1d5fa8", weight: 1, fillColor: "#1d5fa8", fillOpacity: 0.85 })
        .bindTooltip(b.label || b.name || b.address, { permanent: true, direction: "top", className: "bldg-label", offset: [0, -4] });
      marker.on("click", function (event) {
        if (mode !== "pick") { return; }
        L.DomEvent.stop(event);
        picked[b.id] = !picked[b.id];
        marker.setStyle({ fillColor: picked[b.id] ? "#b8322a" : "#1d5fa8", color: picked[b.id] ? "#b8322a" : "#1d5fa8" });
      });
      markers[b.id] = marker;
      layers.push(marker);
      bounds.extend(at);
    });
    if (bounds.isValid()) { map.fitBounds(bounds, { padding: [16, 16] }); } else { map.setView([30.25, 120.17], 15); }
    layers.forEach(function (layer) { layer.addTo(map); });
    base.labelsByZoom();
    base.loadBase(base.viewBox(), { only: ["road"] });  // the roads under the drawing

    var mode = null, vertices = [], sketch = null, center = null, circle = null;
    var hint = document.getElementById("em-hint"), roster = document.getElementById("em-roster");
    var form = document.querySelector("[data-testid=start-form]");
    var startButton = form.querySelector("[data-testid=incident-start]");
    function clear() {
      vertices = []; center = null;
      if (sketch) { map.removeLayer(sketch); sketch = null; }
      if (circle) { map.removeLayer(circle); circle = null; }
      Object.keys(picked).forEach(function (id) { picked[id] = false; markers[id].setStyle({ fillColor: "#1d5fa8", color: "#1d5fa8" }); });
      form.querySelector("#em-shape").value = ""; form.querySelector("#em-buildings").value = "";
      startButton.disabled = true;
    }
    function redraw() {
      if (sketch) { map.removeLayer(sketch); }
      sketch = (vertices.length > 2 ? L.polygon(vertices) : L.polyline(vertices)).addTo(map);
      sketch.setStyle({ color: "#b8322a", weight: 2, fillOpacity: 0.12 });
    }
    document.querySelectorAll(".em-tools [data-mode]").forEach(function (button) {
      button.addEventListener("click", function () {
        clear(); mode = button.dataset.mode;
        document.querySelectorAll(".em-tools [data-mode]").forEach(function (b) { b.setAttribute("aria-pressed", String(b === button)); });
        hint.textContent = button.textContent;
      });
    });
    document.querySelector("[data-action=clear]").addEventListener("click", function () { clear(); roster.innerHTML = ""; });
    document.querySelector("[data-action=finish]").addEventListener("click", finish);
    map.on("click", function (event) {
      if (mode === "polygon") { vertices.push(event.latlng); redraw(); }
      else if (mode === "circle") {
        if (!center) { center = event.latlng; circle = L.circle(center, { radius: 1, color: "#b8322a", weight: 2, fillOpacity: 0.12 }).addTo(map); }
        else { circle.setRadius(map.distance(center, event.latlng)); finish(); }
      }
    });
    map.on("mousemove", function (event) { if (mode === "circle" && center && circle) { circle.setRadius(map.distance(center, event.latlng)); } });
    map.on("dblclick", function () { if (mode === "polygon") { finish(); } });
    function payload() {
      if (mode === "polygon" && vertices.length >= 3) {
        var ring = vertices.map(function (v) { return base.fromMap(v); });
        return { shape: { type: "Polygon", coordinates: [ring] } };
      }
      if (mode === "circle" && center && circle) {
        return { shape: { type: "Circle", center: base.fromMap(center), radius_m: Math.max(1, Math.round(circle.getRadius())) } };
      }
      if (mode === "pick") {
        var ids = Object.keys(picked).filter(function (id) { return picked[id]; }).map(Number);
        if (ids.length) { return { buildings: ids }; }
      }
      return null;
    }
    function finish() {
      // A double click also fired two clicks: drop the duplicate vertex it left.
      if (vertices.length > 1 && vertices[vertices.length - 1].equals(vertices[vertices.length - 2])) { vertices.pop(); redraw(); }
      var body = payload();
      if (!body) { hint.textContent = hint.dataset.empty || "请先在地图上画出范围"; return; }
      form.querySelector("#em-shape").value = body.shape ? JSON.stringify(body.shape) : "";
      form.querySelector("#em-buildings").value = body.buildings ? JSON.stringify(body.buildings) : "";
      var token = form.querySelector("[name=csrfmiddlewaretoken]").value;
      fetch(holder.dataset.rosterUrl, {
        method: "POST", credentials: "same-origin",
        headers: { "Content-Type": "application/json", "X-CSRFToken": token },
        body: JSON.stringify(body)
      }).then(function (response) { return response.text().then(function (text) { return [response.ok, text]; }); })
        .then(function (result) {
          roster.innerHTML = result[1];
          if (window.htmx) { window.htmx.process(roster); }
          startButton.disabled = !result[0];
        });
      mode = mode === "pick" ? "pick" : null;
    }
  }
  if (document.readyState === "loading") { document.addEventListener("DOMContentLoaded", init); } else { init(); }
})();
