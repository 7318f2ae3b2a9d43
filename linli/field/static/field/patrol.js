/* Patrol: positions while this page is open and the screen on (a web app cannot locate in
   the background); the finished patrol is one queued write. */
(function () {
  "use strict";
  var KEY = "field-patrol";
  var start = document.getElementById("patrol-start"), stop = document.getElementById("patrol-stop");
  var state = document.getElementById("patrol-state");
  var watch = null;

  function load() { try { return JSON.parse(window.localStorage.getItem(KEY) || "null"); } catch (e) { return null; } }
  function save(p) { window.localStorage.setItem(KEY, JSON.stringify(p)); }
  function show() {
    var p = load();
    start.hidden = !!p; stop.hidden = !p;
    state.textContent = p ? new Date(p.started_at).toLocaleTimeString() + " · " + p.track.length : "";
  }
  function follow() {
    if (!navigator.geolocation || watch !== null) { return; }
    watch = navigator.geolocation.watchPosition(function (pos) {
      var p = load();
      if (!p) { return; }
      var last = p.track[p.track.length - 1], now = Math.round(Date.now() / 1000);
      var point = [pos.coords.longitude, pos.coords.latitude, now];
      // Every 15 s at most, unless the worker moved: enough for the map, small to store.
      if (!last || now - last[2] >= 15 || Math.abs(point[0] - last[0]) + Math.abs(point[1] - last[1]) > 0.0001) {
        p.track.push(point); save(p); show();
      }
    }, function () {}, { enableHighAccuracy: true, maximumAge: 10000 });
  }
  start.addEventListener("click", function () { save({ started_at: new Date().toISOString(), track: [] }); follow(); show(); });
  stop.addEventListener("click", function () {
    var p = load();
    if (!p) { return; }
    if (watch !== null) { navigator.geolocation.clearWatch(watch); watch = null; }
    var F = window.linliField;
    var record = { key: F.newKey(), kind: "patrol", payload: { started_at: p.started_at, ended_at: new Date().toISOString(), track: p.track },
                   made_at: new Date().toISOString(), seq: Date.now(), user: document.body.getAttribute("data-user"),
                   state: "waiting", message: "", title: stop.textContent, photos: 0 };
    F.putRecord(record).then(function () { window.localStorage.removeItem(KEY); show(); F.flash(F.T.queued); F.refresh(); return F.syncAll(); });
  });
  if (load()) { follow(); }
  show();
})();
