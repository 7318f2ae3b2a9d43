/* Report page: category search, position from the phone, a map to correct it, the address
   from the nearest building when online (the server fills it at sync otherwise). */
(function () {
  "use strict";
  var search = document.getElementById("category-search");
  var list = document.getElementById("category-list");
  if (search && list) {
    search.addEventListener("input", function () {
      var q = search.value.trim().toLowerCase(), items = list.querySelectorAll("label"), i, name;
      for (i = 0; i < items.length; i++) {
        name = (items[i].getAttribute("data-name") || "").toLowerCase();
        items[i].style.display = !q || name.indexOf(q) >= 0 ? "" : "none";
      }
    });
  }
  var config = JSON.parse((document.getElementById("map-config") || {}).textContent || "{}");
  var lonInput = document.querySelector("[data-position=lon]"), latInput = document.querySelector("[data-position=lat]");
  var address = document.getElementById("address");
  var map = null, marker = null;
  // Positions are WGS-84 (the phone, the server); GCJ-02 tiles (高德) need them shifted on the
  // map and shifted back when the worker moves the pin, as on every other map (web/basemap.js).
  var gcj = config.tile_crs === "gcj02" && window.linliBasemap;
  function toMap(lon, lat) { var p = gcj ? window.linliBasemap.toGcj(lon, lat) : [lon, lat]; return [p[1], p[0]]; }
  function fromMap(latlng) { return gcj ? window.linliBasemap.fromGcj(latlng.lng, latlng.lat) : [latlng.lng, latlng.lat]; }

  function nearest(lon, lat) {
    if (!config.nearest || navigator.onLine === false || !address || address.value) { return; }
    fetch(config.nearest + "?lon=" + lon + "&lat=" + lat, { credentials: "same-origin" })
      .then(function (r) { return r.json(); })
      .then(function (d) { if (d.address && !address.value) { address.value = d.address; } })["catch"](function () {});
  }

  function setPosition(lon, lat) {
    lonInput.value = lon.toFixed(7); latInput.value = lat.toFixed(7);
    // With a position the server can fill the address from the nearest building.
    if (address) { address.required = false; }
    document.body.setAttribute("data-located", "1");
    if (window.L && document.getElementById("map")) {
      if (!map) {
        map = window.L.map("map").setView(toMap(lon, lat), 17);
        if (config.tiles) { window.L.tileLayer(config.tiles, { maxZoom: 19 }).addTo(map); }
        marker = window.L.marker(toMap(lon, lat), { draggable: true }).addTo(map);
        marker.on("dragend", function () { var p = fromMap(marker.getLatLng()); setPosition(p[0], p[1]); });
        map.on("click", function (e) { marker.setLatLng(e.latlng); var p = fromMap(e.latlng); setPosition(p[0], p[1]); });
      } else { marker.setLatLng(toMap(lon, lat)); }
    }
    nearest(lon, lat);
  }

  var locate = document.getElementById("locate");
  if (locate) {
    locate.addEventListener("click", function () {
      if (!navigator.geolocation) { return; }
      navigator.geolocation.getCurrentPosition(function (p) { setPosition(p.coords.longitude, p.coords.latitude); },
        function () { if (window.linliField) { window.linliField.flash(window.linliField.T.noPosition); } },
        { enableHighAccuracy: true, timeout: 15000, maximumAge: 60000 });
    });
  }
})();
