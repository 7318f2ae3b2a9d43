/* PIN lock: after some minutes without a touch the app covers itself until the worker's PIN
   is typed. The PIN never leaves the phone (a salted SHA-256 in localStorage); five wrong
   PINs end the session and delete what the phone kept, as for a lost phone. Needs
   crypto.subtle (HTTPS); without it there is no lock and the page says so. */
(function () {
  "use strict";
  var body = document.body, USER = body.getAttribute("data-user") || "";
  var MINUTES = Number(body.getAttribute("data-lock-minutes") || "5");
  var KEY = "field-pin", ACTIVE = "field-active", MAX_FAILURES = 5;
  var subtle = window.crypto && window.crypto.subtle;

  function $(id) { return document.getElementById(id); }
  function load() { try { return JSON.parse(window.localStorage.getItem(KEY) || "null"); } catch (e) { return null; } }
  function save(v) { window.localStorage.setItem(KEY, JSON.stringify(v)); }
  function hex(buffer) {
    var bytes = new Uint8Array(buffer), out = "", i;
    for (i = 0; i < bytes.length; i++) { out += (bytes[i] + 256).toString(16).slice(1); }
    return out;
  }
  function digest(salt, pin) {
    return subtle.digest("SHA-256", new TextEncoder().encode(salt + ":" + USER + ":" + pin)).then(hex);
  }
  function touch() { try { window.localStorage.setItem(ACTIVE, String(Date.now())); } catch (e) { /* ignore */ } }
  function mine() { var p = load(); return p && p.user === USER ? p : null; }

  function lockIfIdle() {
    var pin = mine(), overlay = $("pin-lock");
    if (!pin || !overlay || !overlay.hidden) { return; }
    var last = Number(window.localStorage.getItem(ACTIVE) || "0");
    if (Date.now() - last > MINUTES * 60000) { overlay.hidden = false; body.setAttribute("data-locked", "1"); $("pin-input").focus(); }
  }

  function unlock(e) {
    e.preventDefault();
    var pin = mine(), input = $("pin-input");
    if (!pin) { return; }
    digest(pin.salt, input.value).then(function (hash) {
      input.value = "";
      if (hash === pin.hash) {
        pin.failures = 0; save(pin); touch();
        $("pin-lock").hidden = true; body.removeAttribute("data-locked");
        return;
      }
      pin.failures = (pin.failures || 0) + 1; save(pin);
      if (pin.failures >= MAX_FAILURES) { window.location.href = body.getAttribute("data-scope") + "logout/?forced=1"; return; }
      $("pin-error").textContent = $("pin-error").getAttribute("data-wrong") + " " + (MAX_FAILURES - pin.failures);
    });
  }

  function setPin(e) {
    e.preventDefault();
    var a = $("pin-new").value, b = $("pin-again").value, state = $("pin-state");
    if (!/^[0-9]{4,6}$/.test(a) || a !== b) { state.textContent = state.getAttribute("data-bad"); return; }
    var salt = window.linliField ? window.linliField.newKey() : String(Math.random());
    digest(salt, a).then(function (hash) {
      save({ user: USER, salt: salt, hash: hash, failures: 0 }); touch();
      state.textContent = state.getAttribute("data-saved"); body.setAttribute("data-pin-set", "1");
    });
  }

  if (!subtle || !window.TextEncoder) {
    var note = $("pin-unsupported");
    if (note) { note.hidden = false; }
    return;
  }
  var form = $("pin-form");
  if (form) { form.addEventListener("submit", setPin); }
  var lockForm = $("pin-lock-form");
  if (lockForm) { lockForm.addEventListener("submit", unlock); }
  ["click", "keydown", "touchstart"].forEach(function (name) {
    document.addEventListener(name, function () { if (!body.getAttribute("data-locked")) { touch(); } }, true);
  });
  lockIfIdle();
  if (!body.getAttribute("data-locked")) { touch(); }
  window.setInterval(lockIfIdle, 15000);
  document.addEventListener("visibilitychange", function () { if (!document.hidden) { lockIfIdle(); } });
})();
