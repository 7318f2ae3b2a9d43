// The map picker (docs/development.md, "The map picker"): every [data-map-picker] element
// (template web/_map_picker.html) turns its two hidden inputs into a pin on the shared base
// map. Click or drag the pin, or "use my position"; the position goes into the inputs
// (WGS-84, whatever the tiles use) and the nearest building of the user's areas is shown in
// words and written into the address input unless the person typed one. Without Leaflet the
// "use my position" button still works.
(function () {
  "use strict";
  var BUILDINGS_FROM_ZOOM = 15.5;
  function setup(root) {
    var d = root.dataset, L = window.L;
    var lonInput = document.getElementById(d.lonInput), latInput = document.getElementById(d.latInput);
    var addressInput = d.addressInput ? document.getElementById(d.addressInput) : null;
    var status = root.querySelector(".picker-place"), holder = root.querySelector(".picker-map");
    if (!lonInput || !latInput || !status) { return; }
    var base = null, marker = null, drawn = null, autoAddress = "", asked = 0, loads = 0, placed = false;

    function say(text, ok) { status.textContent = text; status.classList.toggle("ok", Boolean(ok)); }
    function describe(lon, lat) {
      var n = ++asked;
      say(d.msgFinding);
      fetch(d.nearestUrl + "?lat=" + lat.toFixed(7) + "&lon=" + lon.toFixed(7), { credentials: "same-origin" })
        .then(function (r) { if (!r.ok) { throw new Error(String(r.status)); } return r.json(); })
        .then(function (answer) {
          if (n !== asked) { return; }
          say(answer.text, answer.found);
          if (answer.found && addressInput && (!addressInput.value || addressInput.value === autoAddress)) {
            addressInput.value = answer.address;
            autoAddress = answer.address;
          }
          root.setAttribute("data-place", answer.found ? "building" : "none");
        })
        .catch(function () { if (n === asked) { say(d.msgFailed); root.setAttribute("data-place", "none"); } });
    }
    function pin(lon, lat) {
      if (!base) { return; }
      var at = base.toMap(lon, lat);
      if (!marker) {
        marker = L.marker(at, {
          draggable: true, keyboard: false,
          icon: L.divIcon({ className: "picker-pin", iconSize: [16, 16] })
        }).addTo(base.map);
        marker.on("dragend", function () { var p = base.fromMap(marker.getLatLng()); choose(p[0], p[1], false); });
      } else {
        marker.setLatLng(at);
      }
    }
    function choose(lon, lat, recentre) {
      lonInput.value = lon.toFixed(7);
      latInput.value = lat.toFixed(7);
      placed = true;
      status.setAttribute("data-located", "true");
      pin(lon, lat);
      if (base && recentre) { base.map.setView(base.toMap(lon, lat), Math.max(base.map.getZoom(), 17)); }
      describe(lon, lat);
    }
    function locate() {
      if (!navigator.geolocation) { say(d.msgUnsupported); return; }
      say(d.msgLocating);
      navigator.geolocation.getCurrentPosition(function (position) {
        choose(position.coords.longitude, position.coords.latitude, true);
      }, function () { say(d.msgDenied); }, { enableHighAccuracy: true, timeout: 15000, maximumAge: 60000 });
    }
    // Areas always; buildings once the view is close enough to name them.
    function refresh(fit) {
      var n = ++loads, box = base.map.getZoom() >= BUILDINGS_FROM_ZOOM ? base.viewBox() : null;
      base.loadBase(box).then(function (layers) {
        if (!layers) { return; }
        if (n !== loads) { ["areas", "labels", "buildings", "facilities"].forEach(function (k) { layers[k].remove(); }); return; }
        if (drawn) { ["areas", "labels", "buildings", "facilities"].forEach(function (k) { drawn[k].remove(); }); }
        drawn = layers;
        if (marker) { marker.setZIndexOffset(1000); }
        if (fit && !placed && layers.bounds.isValid()) { base.map.fitBounds(layers.bounds, { padding: [8, 8] }); }
        holder.setAttribute("data-basemap", "ready");
      });
    }
    if (holder && L && window.linliBasemap) {
      base = window.linliBasemap.create(holder, { scrollWheelZoom: false, legend: [["picked", holder.dataset.labelPicked]] });
      base.map.setView([30.25, 120.2], 13);
      base.map.on("click", function (event) { var p = base.fromMap(event.latlng); choose(p[0], p[1], false); });
      base.map.on("moveend", function () { refresh(false); });
      refresh(true);
    }
    root.querySelector(".gps-retry").addEventListener("click", locate);
    var lon = parseFloat(lonInput.value), lat = parseFloat(latInput.value);
    if (isFinite(lon) && isFinite(lat)) { choose(lon, lat, true); }
    else if (d.autolocate === "true") { locate(); }
  }
  function init() { Array.prototype.forEach.call(document.querySelectorAll("[data-map-picker]"), setup); }
  if (document.readyState === "loading") { document.addEventListener("DOMContentLoaded", init); } else { init(); }
})();
