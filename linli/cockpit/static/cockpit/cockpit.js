// The cockpit's map (toggleable layers from the registry's own geometry) and trend chart.
(function () {
  "use strict";
  var LEVEL_COLOURS = { 1: "#b8322a", 2: "#e07b00", 3: "#d4b200", 4: "#1d5fa8", 5: "#5b6270" };
  function loadColour(n, max) {
    if (!n) { return "#9aa5b1"; }
    var t = Math.min(1, n / Math.max(1, max));
    return t > 0.66 ? "#b8322a" : t > 0.33 ? "#e07b00" : "#d4b200";
  }
  function map() {
    var holder = document.getElementById("cockpit-map"), source = document.getElementById("cockpit-map-data");
    if (!holder || !source || !window.L || !window.linliBasemap) { return; }
    var L = window.L, data = JSON.parse(source.textContent), label = holder.dataset;
    var base = window.linliBasemap.create(holder, label.tracksUrl ? { legend: [["track", label.labelTracks]] } : {}), m = base.map;
    var bounds = L.latLngBounds([]);
    var maxOpen = Math.max.apply(null, [1].concat(data.grids.map(function (g) { return g.open; })));
    var gridNames = L.layerGroup();
    var grids = L.layerGroup(data.grids.map(function (g) {
      var layer = base.geojson(g.boundary, { color: "#5b6270", weight: 1, fillColor: loadColour(g.open, maxOpen), fillOpacity: 0.35 })
        .bindTooltip(g.name + " · " + label.labelOpen + " " + g.open, { sticky: true });
      bounds.extend(layer.getBounds());
      // Drill-down: the grid's figures beside the map (an htmx fragment, scoped by the server).
      layer.on("click", function () { drill(g.id); });
      // Grid names from the shared base map's label style, shown from street scale on.
      var centre = base.fromMap(layer.getBounds().getCenter());
      base.label(centre[0], centre[1], g.name, "area-label area-level-5").addTo(gridNames);
      return layer;
    }));
    var communities = L.layerGroup(data.communities.map(function (c) {
      var layer = base.geojson(c.boundary, { color: "#1d3557", weight: 3, fill: false });
      bounds.extend(layer.getBounds());
      return layer.bindTooltip(c.name, { permanent: false });
    }));
    var buildings = L.layerGroup(data.buildings.map(function (b) {
      bounds.extend(base.toMap(b.lon, b.lat));
      return base.building(b.lon, b.lat, b.label || b.name || b.address);
    }));
    // Density of key households: circles per building sized by count, no names, no addresses.
    var density = L.layerGroup(data.density.map(function (d) {
      return L.circleMarker(base.toMap(d.lon, d.lat), { radius: 4 + Math.sqrt(d.n) * 3, stroke: false, fillColor: "#8e44ad", fillOpacity: 0.25, interactive: false });
    }));
    // Cases clustered by level on a screen grid of 48 px, redrawn on zoom.
    var cases = L.layerGroup();
    function cluster() {
      cases.clearLayers();
      var cells = {};
      data.cases.forEach(function (c) {
        var p = m.latLngToLayerPoint(base.toMap(c.lon, c.lat));
        var key = c.level + ":" + Math.floor(p.x / 48) + ":" + Math.floor(p.y / 48);
        (cells[key] = cells[key] || { level: c.level, n: 0, lat: 0, lng: 0 });
        var cell = cells[key], at = base.toMap(c.lon, c.lat);
        cell.n += 1; cell.lat += at.lat; cell.lng += at.lng;
      });
      Object.keys(cells).forEach(function (key) {
        var cell = cells[key], colour = LEVEL_COLOURS[cell.level] || "#5b6270";
        L.marker([cell.lat / cell.n, cell.lng / cell.n], {
          icon: L.divIcon({ className: "case-cluster", html: '<span style="background:' + colour + '">' + cell.n + "</span>", iconSize: [26, 26] }),
          title: cell.level + " · " + cell.n
        }).addTo(cases);
      });
    }
    if (bounds.isValid()) { m.fitBounds(bounds, { padding: [12, 12] }); } else { m.setView([30.25, 120.17], 14); }
    grids.addTo(m); gridNames.addTo(m); communities.addTo(m); buildings.addTo(m); density.addTo(m); cases.addTo(m);
    cluster(); m.on("zoomend", cluster);
    base.labelsByZoom();
    // The base map's roads under the page's own layers (none when the view is wider than a
    // base-map box, e.g. a whole district).
    base.loadBase(base.viewBox(), { only: ["road"] });
    // Live alarms: the side card's htmx poll (every 2 s) carries the points; redraw on each swap.
    var alarms = L.layerGroup().addTo(m);
    function drawAlarms() {
      var points = document.getElementById("cockpit-alarm-data");
      if (!points) { return; }
      alarms.clearLayers();
      JSON.parse(points.textContent).forEach(function (a) {
        L.circleMarker(base.toMap(a.lon, a.lat), { radius: 9, color: "#fff", weight: 2, fillColor: LEVEL_COLOURS[a.level] || "#b8322a", fillOpacity: 0.95, className: "alarm-marker" })
          .bindTooltip(a.kind + " · " + a.grid).addTo(alarms);
      });
      holder.setAttribute("data-alarms", String(alarms.getLayers().length));
    }
    document.body.addEventListener("htmx:afterSwap", function (event) {
      if (event.target && event.target.id === "cockpit-alarms") { drawAlarms(); }
    });
    drawAlarms();
    // What the live stream announces goes on the map at once (the next poll redraws alarms).
    liveMap.alarm = function (a) {
      if (a.lon == null || a.lat == null) { return; }
      L.circleMarker(base.toMap(a.lon, a.lat), { radius: 9, color: "#fff", weight: 2, fillColor: LEVEL_COLOURS[a.level] || "#b8322a", fillOpacity: 0.95, className: "alarm-marker" })
        .bindTooltip(a.what + " · " + a.grid).addTo(alarms);
      holder.setAttribute("data-alarms", String(alarms.getLayers().length));
    };
    liveMap.case = function (c) {
      if (c.lon == null || c.lat == null) { return; }
      data.cases.push({ lon: c.lon, lat: c.lat, level: c.level });
      cluster();
    };
    function drill(id) {
      var url = label.drillUrl.replace("/0/", "/" + id + "/");
      if (window.htmx) { window.htmx.ajax("GET", url, { target: "#cockpit-drill", swap: "innerHTML" }); }
    }
    var overlays = {};
    overlays[label.labelGrids] = grids; overlays[label.labelCommunities] = communities;
    overlays[label.labelBuildings] = buildings; overlays[label.labelCases] = cases; overlays[label.labelDensity] = density;
    overlays[label.labelAlarms] = alarms;
    var control = L.control.layers(null, overlays, { collapsed: false }).addTo(m);
    // Today's patrol tracks of the caller's grids (the field app's scoped tracks.json).
    if (label.tracksUrl) {
      base.loadTracks(label.tracksUrl).then(function (tracks) {
        tracks.addTo(m);
        control.addOverlay(tracks, label.labelTracks);
      });
    }
  }
  var liveMap = { alarm: function () {}, case: function () {} };
  // Live: an EventSource on `linli live` (Server-Sent Events). While it is open the card's
  // 2 s poll is skipped but for one reconciling poll every 30 s; when it fails (refused,
  // logged out, no such process) the poll carries on as before.
  var RECONCILE_MS = 30000;
  function live() {
    var card = document.getElementById("cockpit-alarms"), cases = document.getElementById("cockpit-live-cases");
    if (!card) { return; }
    var state = { open: false, last: 0, sync: false };
    document.body.addEventListener("htmx:beforeRequest", function (event) {
      if (event.target !== card) { return; }
      if (state.open && !state.sync && Date.now() - state.last < RECONCILE_MS) { event.preventDefault(); return; }
      state.sync = false;
    });
    document.body.addEventListener("htmx:afterSwap", function (event) {
      if (event.target === card) { state.last = Date.now(); }
    });
    var url = card.dataset.liveUrl;
    if (!url || !window.EventSource) { return; }
    var source = new EventSource(url, { withCredentials: true });
    function sync() { state.sync = true; if (window.htmx) { window.htmx.trigger(card, "live-sync"); } }
    source.addEventListener("open", function () {
      // Anything raised while the stream was down comes with this poll.
      state.open = true; card.dataset.live = "open"; sync();
    });
    source.addEventListener("error", function () {
      state.open = false; card.dataset.live = source.readyState === EventSource.CLOSED ? "closed" : "retrying";
    });
    function item(cls, strong, rest, at) {
      var li = document.createElement("li"), b = document.createElement("strong"), t = document.createElement("time");
      li.className = cls; b.textContent = strong; t.className = "muted small"; t.textContent = at;
      li.appendChild(b); li.appendChild(document.createTextNode(" " + rest + " ")); li.appendChild(t);
      return li;
    }
    source.addEventListener("alarm", function (event) {
      var a = JSON.parse(event.data), list = card.querySelector("ul.live-alarms");
      if (!list) {
        var box = card.querySelector("[data-testid=live-alarms]") || card, empty = box.querySelector(".empty");
        if (empty) { empty.remove(); }
        list = document.createElement("ul"); list.className = "live-alarms";
        box.insertBefore(list, box.firstChild);
      }
      var li = item("level-" + a.level, a.what, a.grid, a.at);
      li.setAttribute("data-live-alarm", String(a.id));
      list.insertBefore(li, list.firstChild);
      liveMap.alarm(a);
    });
    source.addEventListener("case", function (event) {
      var c = JSON.parse(event.data);
      if (!cases) { return; }
      var li = item("level-" + c.level, cases.dataset.labelCase + " · " + c.what, c.grid, c.at);
      li.setAttribute("data-live-case", String(c.id));
      cases.insertBefore(li, cases.firstChild);
      while (cases.children.length > 10) { cases.removeChild(cases.lastChild); }
      liveMap.case(c);
    });
  }
  function chart() {
    var holder = document.getElementById("cockpit-trend"), source = document.getElementById("cockpit-trend-data");
    if (!holder || !source || !window.echarts) { return; }
    var data = JSON.parse(source.textContent);
    var c = window.echarts.init(holder);
    c.setOption({
      tooltip: { trigger: "axis" }, legend: { data: [holder.dataset.labelReported, holder.dataset.labelClosed] },
      grid: { left: 40, right: 12, top: 30, bottom: 24 },
      xAxis: { type: "category", data: data.months }, yAxis: { type: "value" },
      series: [{ name: holder.dataset.labelReported, type: "line", data: data.reported, smooth: true },
               { name: holder.dataset.labelClosed, type: "bar", data: data.closed }]
    });
    window.addEventListener("resize", function () { c.resize(); });
  }
  function init() { map(); chart(); live(); }
  if (document.readyState === "loading") { document.addEventListener("DOMContentLoaded", init); } else { init(); }
})();
