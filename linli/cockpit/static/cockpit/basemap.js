// The base map of every cockpit page: the registry's own geometry on a plain background,
// with an intranet tile service when LINLI_MAP_TILE_URL is set. Data is WGS-84; a GCJ-02
// tile service (高德) gets every coordinate shifted at this edge and shifted back on input,
// with the same formula as linli/geo/coords.py (tested there).
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
  function create(holder, options) {
    var L = window.L, gcj = holder.dataset.tileCrs === "gcj02";
    var map = L.map(holder, Object.assign({ attributionControl: false, zoomSnap: 0.25, doubleClickZoom: false }, options || {}));
    if (holder.dataset.tileUrl) { L.tileLayer(holder.dataset.tileUrl, { maxZoom: 19 }).addTo(map); }
    else { holder.classList.add("basemap-plain"); }
    function labelsByZoom() { holder.classList.toggle("labels-hidden", map.getZoom() < 16.5); }
    map.on("zoomend", labelsByZoom);
    return {
      map: map,
      // [lon, lat] (WGS-84) → Leaflet LatLng on this map, and back.
      toMap: function (lon, lat) { var p = gcj ? toGcj(lon, lat) : [lon, lat]; return L.latLng(p[1], p[0]); },
      fromMap: function (latlng) { var p = gcj ? fromGcj(latlng.lng, latlng.lat) : [latlng.lng, latlng.lat]; return [+p[0].toFixed(7), +p[1].toFixed(7)]; },
      geojson: function (geometry, style) {
        var self = this;
        return L.geoJSON(geometry, { style: style, coordsToLatLng: function (c) { return self.toMap(c[0], c[1]); } });
      },
      labelsByZoom: labelsByZoom
    };
  }
  window.linliBasemap = { create: create, toGcj: toGcj, fromGcj: fromGcj };
})();
