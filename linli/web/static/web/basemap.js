// The shared base map (docs/cockpit.md#base-map): the registry's own geometry (area outlines
// with their names, named roads, building outlines and points with their names, facilities) on a plain background, with a
// scale, a north arrow and a legend, so a map reads as a place with no tile server at all.
// An intranet tile service is used when LINLI_MAP_TILE_URL is set, else an offline tile file
// of this server when LINLI_MAP_TILES_FILE is (docs/cockpit.md#offline-tiles). Data is WGS-84; a GCJ-02
// tile service (高德) gets every coordinate shifted at this edge and shifted back on input,
// with the same formula as linli/geo/coords.py (tested there).
//
// Contract: a holder element carries the attributes of {% basemap_attrs %} (tile URL and
// system, the base map's URL, the legend's words). linliBasemap.create(holder, options)
// returns {map, toMap, fromMap, geojson, labelsByZoom, addBase, loadBase, loadTracks}; loadBase(bbox)
// fetches /map/base.json for that box ([west, south, east, north], WGS-84) and draws it;
// loadTracks(url) draws patrol tracks from a URL the page names (the field app's tracks.json).
(function () {
  "use strict";
  var A = 6378245.0, EE = 0.00669342162296594323, PI = Math.PI;
  function outOfChina(lon, lat) { return !(lon >= 72.004 && lon <= 137.8347 && lat >= 0.8293 && lat <= 55.8271); }
  function offset(lon, lat) {
    var x = lon - 105.0, y = lat - 35.0, sx = Math.sqrt(Math.abs(x)), ax = x * PI;
    var common = (20 * Math.sin(6 * ax) + 20 * Math.sin(2 * ax)) * 2 / 3;
    var dLat = -100 + 2 * x + 3 * y + 0.2 * y * y + 0.1 * x * y + 0.2 * sx + common;
    dLat += (20 * Math.sin(y * PI) + 40 * Math.sin(y / 3 * PI)) * 2 / 3;
    dLat += (160 * Math.sin(y / 12 * PI) + 320 * Math.sin(y * PI / 30)) * 2 / 3;
    var dLon = 300 + x + 2 * y + 0.1 * x * x + 0.1 * x * y + 0.1 * sx + common;
    dLon += (20 * Math.sin(ax) + 40 * Math.sin(x / 3 * PI)) * 2 / 3;
    dLon += (150 * Math.sin(x / 12 * PI) + 300 * Math.sin(x / 30 * PI)) * 2 / 3;
    var rad = lat / 180 * PI, magic = 1 - EE * Math.sin(rad) * Math.sin(rad), sqrtMagic = Math.sqrt(magic);
    return [dLon * 180 / (A / sqrtMagic * Math.cos(rad) * PI), dLat * 180 / ((A * (1 - EE)) / (magic * sqrtMagic) * PI)];
  }
  function toGcj(lon, lat) { if (outOfChina(lon, lat)) { return [lon, lat]; } var d = offset(lon, lat); return [lon + d[0], lat + d[1]]; }
  function fromGcj(lon, lat) {
    if (outOfChina(lon, lat)) { return [lon, lat]; }
    var w = [lon, lat];
    for (var i = 0; i < 30; i++) {
      var g = toGcj(w[0], w[1]), e0 = g[0] - lon, e1 = g[1] - lat;
      w = [w[0] - e0, w[1] - e1];
      if (Math.abs(e0) < 1e-9 && Math.abs(e1) < 1e-9) { break; }
    }
    return w;
  }
  var AREA_STYLES = {
    2: { color: "#1d3557", weight: 3, fill: false, dashArray: "8 4" },
    3: { color: "#1d3557", weight: 2.5, fill: false },
    4: { color: "#5b6270", weight: 1.5, fill: false, dashArray: "4 3" },
    5: { color: "#5b6270", weight: 1, fillColor: "#dfe6ee", fillOpacity: 0.25 }
  };
  function legendWords(holder) {
    try { return JSON.parse(holder.dataset.legend || "{}"); } catch (e) { return {}; }
  }
  // Scale bar, north arrow and a legend of the base layers: a map without tiles still says
  // how far, which way and what is drawn.
  function decorate(L, map, words, extra) {
    L.control.scale({ imperial: false, position: "bottomleft" }).addTo(map);
    var north = L.control({ position: "topright" });
    north.onAdd = function () {
      var box = L.DomUtil.create("div", "basemap-north");
      box.setAttribute("aria-hidden", "true");
      box.innerHTML = "<span>\u25B2</span>";
      var label = document.createElement("span");
      label.textContent = words.north || "N";
      box.appendChild(label);
      return box;
    };
    north.addTo(map);
    var legend = L.control({ position: "bottomright" });
    legend.onAdd = function () {
      var box = L.DomUtil.create("div", "basemap-legend");
      box.setAttribute("data-testid", "map-legend");
      [["area-community", words.community], ["area-grid", words.grid], ["road", words.road],
       ["footprint", words.footprint], ["building", words.building], ["facility", words.facility]].concat(extra || []).forEach(function (row) {
        if (!row[1]) { return; }
        var line = document.createElement("div"), key = document.createElement("i");
        key.className = "key key-" + row[0];
        line.appendChild(key);
        line.appendChild(document.createTextNode(row[1]));
        box.appendChild(line);
      });
      return box;
    };
    legend.addTo(map);
  }
  // The server's own tile file (LINLI_MAP_TILES_FILE, a PMTiles file read by HTTP Range):
  // vector tiles in the Protomaps basemap schema drawn by protomaps-leaflet, raster tiles by
  // the pmtiles reader. False when the page has no such file or its script did not load.
  function archiveLayer(holder, map) {
    var url = holder.dataset.tileArchive, kind = holder.dataset.tileArchiveKind;
    if (!url) { return false; }
    url = new URL(url, window.location.href).href;
    if (kind === "vector" && window.protomapsL) {
      window.protomapsL.leafletLayer({ url: url, flavor: "light", lang: "zh" }).addTo(map);
      return true;
    }
    if (kind === "raster" && window.pmtiles) {
      window.pmtiles.leafletRasterLayer(new window.pmtiles.PMTiles(url), { maxZoom: 19 }).addTo(map);
      return true;
    }
    return false;
  }
  // Roads sit in a pane of their own under the overlay pane, so a page that draws its own
  // areas first (the cockpit) still has its roads beneath them.
  var ROAD_STYLE = { color: "#c3c8d0", weight: 5, opacity: 1, lineCap: "round", lineJoin: "round", interactive: false, pane: "linliRoads" };
  var FOOTPRINT_STYLE = { color: "#a4acb8", weight: 1, fillColor: "#e4e7ec", fillOpacity: 0.85, interactive: false };
  var ROAD_LABELS_FROM = 15;  // street zoom; a page that names its buildings earlier names roads as early
  // Where a road's name goes: the middle of its longest segment, turned along it (screen
  // angle from the Web Mercator projection, kept between -90° and 90° so it never reads
  // upside down). One name a part of the line.
  function roadLabelSpots(L, latlngParts) {
    var spots = [];
    latlngParts.forEach(function (part) {
      var best = null, bestLength = 0;
      for (var i = 1; i < part.length; i++) {
        var a = L.Projection.SphericalMercator.project(part[i - 1]), b = L.Projection.SphericalMercator.project(part[i]);
        var length = a.distanceTo(b);
        if (length > bestLength) { bestLength = length; best = [part[i - 1], part[i], a, b]; }
      }
      if (!best) { return; }
      var angle = -Math.atan2(best[3].y - best[2].y, best[3].x - best[2].x) * 180 / PI;
      if (angle > 90) { angle -= 180; } else if (angle < -90) { angle += 180; }
      spots.push({ at: L.latLng((best[0].lat + best[1].lat) / 2, (best[0].lng + best[1].lng) / 2), angle: angle });
    });
    return spots;
  }
  function create(holder, options) {
    var L = window.L, gcj = holder.dataset.tileCrs === "gcj02";
    options = options || {};
    var leafletOptions = Object.assign({ attributionControl: false, zoomSnap: 0.25, doubleClickZoom: false }, options);
    var labelsFrom = options.labelsFromZoom || 16.5;
    delete leafletOptions.legend; delete leafletOptions.decorations; delete leafletOptions.labelsFromZoom;
    var map = L.map(holder, leafletOptions);
    map.createPane("linliRoads").style.zIndex = 390;
    if (holder.dataset.tileUrl) { L.tileLayer(holder.dataset.tileUrl, { maxZoom: 19 }).addTo(map); }
    else if (!archiveLayer(holder, map)) { holder.classList.add("basemap-plain"); }
    function labelsByZoom() {
      var z = map.getZoom();
      holder.classList.toggle("labels-hidden", z < labelsFrom);
      holder.classList.toggle("area-labels-hidden", z < 14);
      holder.classList.toggle("road-labels-hidden", z < Math.min(ROAD_LABELS_FROM, labelsFrom));
    }
    map.on("zoomend", labelsByZoom);
    var words = legendWords(holder);
    if (options.decorations !== false) { decorate(L, map, words, options.legend); }
    var base = {
      map: map,
      words: words,
      // [lon, lat] (WGS-84) → Leaflet LatLng on this map, and back.
      toMap: function (lon, lat) { var p = gcj ? toGcj(lon, lat) : [lon, lat]; return L.latLng(p[1], p[0]); },
      fromMap: function (latlng) { var p = gcj ? fromGcj(latlng.lng, latlng.lat) : [latlng.lng, latlng.lat]; return [+p[0].toFixed(7), +p[1].toFixed(7)]; },
      geojson: function (geometry, style, extra) {
        var self = this;
        return L.geoJSON(geometry, Object.assign({ style: style, coordsToLatLng: function (c) { return self.toMap(c[0], c[1]); } }, extra || {}));
      },
      labelsByZoom: labelsByZoom,
      // The visible box in WGS-84 as [west, south, east, north].
      viewBox: function () {
        var b = map.getBounds(), sw = this.fromMap(b.getSouthWest()), ne = this.fromMap(b.getNorthEast());
        return [sw[0], sw[1], ne[0], ne[1]];
      },
      // A name on the map (area or building), shown by zoom through CSS classes.
      label: function (lon, lat, text, className) {
        return L.marker(this.toMap(lon, lat), {
          icon: L.divIcon({ className: "basemap-label " + className, html: "", iconSize: [0, 0] }),
          interactive: false, keyboard: false
        }).bindTooltip(text, { permanent: true, direction: "center", className: "basemap-label-text " + className, interactive: false });
      },
      // A road: a grey line and its name along it (shown from street zoom, by CSS class).
      road: function (geometry, name, group, labels) {
        var line = this.geojson(geometry, ROAD_STYLE, { interactive: false, pane: "linliRoads" }).addTo(group);
        line.eachLayer(function (layer) {
          var parts = layer.getLatLngs();
          if (parts.length && !Array.isArray(parts[0])) { parts = [parts]; }
          roadLabelSpots(L, parts).forEach(function (spot) {
            var text = document.createElement("span");
            text.textContent = name;
            text.style.transform = "rotate(" + spot.angle.toFixed(1) + "deg) translate(-50%, -50%)";
            var icon = L.divIcon({ className: "road-label", html: text.outerHTML, iconSize: [0, 0] });
            L.marker(spot.at, { icon: icon, interactive: false, keyboard: false, title: name }).addTo(labels);
          });
        });
        return line;
      },
      building: function (lon, lat, name, url) {
        var marker = L.circleMarker(this.toMap(lon, lat), { radius: 4, color: "#1d5fa8", weight: 1, fillColor: "#9ec1e6", fillOpacity: 0.9 })
          .bindTooltip(name, { permanent: true, direction: "top", className: "bldg-label", offset: [0, -4] });
        if (url) {
          var link = document.createElement("a");
          link.href = url; link.textContent = name;
          marker.bindPopup(link);
        }
        return marker;
      },
      // Draws a FeatureCollection of /map/base.json; options.areas === false leaves the
      // outlines to the page (e.g. the cockpit colours grids by load) but keeps their names;
      // options.only (e.g. ["road"]) draws those layers alone.
      addBase: function (collection, drawOptions) {
        drawOptions = drawOptions || {};
        var self = this, layers = { roads: L.layerGroup(), roadLabels: L.layerGroup(), footprints: L.layerGroup(), areas: L.layerGroup(), labels: L.layerGroup(), buildings: L.layerGroup(), facilities: L.layerGroup(), bounds: L.latLngBounds([]) };
        (collection.features || []).forEach(function (f) {
          var p = f.properties || {};
          if (drawOptions.only && drawOptions.only.indexOf(p.layer) < 0) { return; }
          if (p.layer === "area") {
            var outline = self.geojson(f.geometry, AREA_STYLES[p.level] || AREA_STYLES[5], { interactive: false });
            layers.bounds.extend(outline.getBounds());
            if (drawOptions.areas !== false) { outline.addTo(layers.areas); }
            if (p.label_at) { self.label(p.label_at[0], p.label_at[1], p.name, "area-label area-level-" + p.level).addTo(layers.labels); }
          } else if (p.layer === "road") {
            self.road(f.geometry, p.name, layers.roads, layers.roadLabels);
          } else if (p.layer === "building") {
            var c = f.geometry.coordinates;
            if (p.footprint) { self.geojson(p.footprint, FOOTPRINT_STYLE, { interactive: false }).addTo(layers.footprints); }
            var url = collection.building_url ? collection.building_url.replace("/0/", "/" + p.id + "/") : null;
            self.building(c[0], c[1], p.name, url).addTo(layers.buildings);
          } else if (p.layer === "facility") {
            var at = f.geometry.coordinates;
            L.circleMarker(self.toMap(at[0], at[1]), { radius: 3, color: "#2a7d4f", weight: 1, fillColor: "#2a7d4f", fillOpacity: 0.9 })
              .bindTooltip(p.name).addTo(layers.facilities);
          }
        });
        // Drawn bottom to top: roads and outlines under the area lines, names last.
        ["roads", "footprints", "areas", "facilities", "buildings", "roadLabels", "labels"].forEach(function (key) { layers[key].addTo(map); });
        labelsByZoom();
        return layers;
      },
      // Patrol tracks (GeoJSON LineStrings of the field app's tracks.json, WGS-84) as one
      // layer group: a line per patrol in its worker's colour, the name, time and distance on
      // hover, a click opens the patrol. Resolves to the group (empty when refused or offline);
      // the holder's data-tracks says how many were drawn.
      loadTracks: function (url) {
        var self = this, group = L.layerGroup();
        if (!url) { return Promise.resolve(group); }
        return fetch(url, { credentials: "same-origin", headers: { Accept: "application/json" } })
          .then(function (r) { return r.ok ? r.json() : { features: [] }; })
          .then(function (collection) {
            var colours = {}, palette = ["#d6336c", "#0b7285", "#5f3dc4", "#e8590c", "#2b8a3e", "#1864ab"];
            (collection.features || []).forEach(function (f) {
              var p = f.properties || {}, coords = (f.geometry || {}).coordinates || [];
              if (!(p.worker in colours)) { colours[p.worker] = palette[Object.keys(colours).length % palette.length]; }
              var line = L.polyline(coords.map(function (c) { return self.toMap(c[0], c[1]); }),
                { color: colours[p.worker], weight: 3, opacity: 0.85, className: "patrol-track" });
              var when = (p.started_at || "").slice(5, 16).replace("T", " ") + "–" + (p.ended_at || "").slice(11, 16);
              line.bindTooltip(p.worker + " · " + when + " · " + p.minutes + " " + (holder.dataset.labelMinutes || "min") + " · " +
                p.distance_m + " " + (holder.dataset.labelMetres || "m"), { sticky: true });
              if (p.url) { line.on("click", function () { window.location.href = p.url; }); }
              line.addTo(group);
            });
            holder.setAttribute("data-tracks", String(group.getLayers().length));
            return group;
          })
          .catch(function () { holder.setAttribute("data-tracks", "0"); return group; });
      },
      // Fetches the base map for a box (or the caller's areas only, without one) and draws it.
      loadBase: function (bbox, drawOptions) {
        var self = this, url = holder.dataset.baseUrl;
        if (!url) { return Promise.resolve(null); }
        if (bbox) { url += (url.indexOf("?") < 0 ? "?" : "&") + "bbox=" + bbox.map(function (v) { return v.toFixed(6); }).join(","); }
        return fetch(url, { credentials: "same-origin", headers: { Accept: "application/json" } })
          .then(function (r) { return r.ok ? r.json() : { features: [] }; })
          .then(function (collection) { return self.addBase(collection, drawOptions); })
          .catch(function () { return null; });
      }
    };
    return base;
  }
  // A box of about ``metres`` around a WGS-84 point, for loadBase.
  function boxAround(lon, lat, metres) {
    var dLat = metres / 111320, dLon = dLat / Math.max(Math.cos(lat * PI / 180), 1e-6);
    return [lon - dLon, lat - dLat, lon + dLon, lat + dLat];
  }
  window.linliBasemap = { create: create, boxAround: boxAround, toGcj: toGcj, fromGcj: fromGcj };
})();
