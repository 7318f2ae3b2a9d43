// Report form: GPS into the hidden lon/lat fields (WGS-84 from the device), and the 大类
// filter narrowing the 小类 list. Both are optional: without them the form still posts.
(function () {
  "use strict";
  var messages = JSON.parse(document.getElementById("gps-messages").textContent);
  var status = document.querySelector("[data-testid=gps-status]");
  var lon = document.getElementById("id_lon");
  var lat = document.getElementById("id_lat");

  function locate() {
    if (!navigator.geolocation) { status.textContent = messages.unsupported; return; }
    navigator.geolocation.getCurrentPosition(function (position) {
      lon.value = position.coords.longitude.toFixed(6);
      lat.value = position.coords.latitude.toFixed(6);
      status.textContent = messages.ok + " " + lat.value + ", " + lon.value;
      status.classList.add("ok");
      status.setAttribute("data-located", "true");
    }, function () {
      status.textContent = messages.denied;
    }, { enableHighAccuracy: true, timeout: 15000, maximumAge: 60000 });
  }

  var major = document.getElementById("major-filter");
  var minor = document.getElementById("id_category");
  if (major && minor) {
    major.addEventListener("change", function () {
      Array.prototype.forEach.call(minor.querySelectorAll("optgroup"), function (group) {
        group.hidden = Boolean(major.value) && group.label !== major.value;
      });
      var selected = minor.options[minor.selectedIndex];
      if (selected && selected.parentElement.hidden) { minor.value = ""; }
    });
  }
  document.querySelector("[data-testid=gps-retry]").addEventListener("click", locate);
  if (lon && lat && !lon.value) { locate(); }
})();
