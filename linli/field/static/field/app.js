/* linli field app: service worker registration, the write queue (IndexedDB), sync.
   Plain ES5 on purpose: WeChat's built-in browser and older Android WebViews run it. */
(function () {
  "use strict";
  var body = document.body;
  var T = (document.getElementById("field-i18n") || {}).dataset || {};
  var DB_NAME = "linli-field";
  var SYNC_URL = body.getAttribute("data-sync");
  var USER = body.getAttribute("data-user") || "";
  var syncing = false;
  var lastButton = null;

  function $(id) { return document.getElementById(id); }

  function newKey() {
    var bytes = new Uint8Array(16), out = "", i;
    if (window.crypto && window.crypto.getRandomValues) { window.crypto.getRandomValues(bytes); }
    else { for (i = 0; i < 16; i++) { bytes[i] = Math.floor(Math.random() * 256); } }
    for (i = 0; i < 16; i++) { out += (bytes[i] + 256).toString(16).slice(1); }
    return out;
  }

  function cookie(name) {
    var parts = document.cookie ? document.cookie.split("; ") : [], i, kv;
    for (i = 0; i < parts.length; i++) {
      kv = parts[i].split("=");
      if (kv[0] === name) { return decodeURIComponent(kv.slice(1).join("=")); }
    }
    return "";
  }

  /* --- IndexedDB: "queue" holds the writes, "photos" their pictures, apart. --- */
  function openDb() {
    return new Promise(function (resolve, reject) {
      var req = window.indexedDB.open(DB_NAME, 1);
      req.onupgradeneeded = function () {
        var db = req.result;
        if (!db.objectStoreNames.contains("queue")) { db.createObjectStore("queue", { keyPath: "key" }); }
        if (!db.objectStoreNames.contains("photos")) {
          db.createObjectStore("photos", { keyPath: "id" }).createIndex("key", "key");
        }
      };
      req.onsuccess = function () { resolve(req.result); };
      req.onerror = function () { reject(req.error); };
    });
  }

  function tx(stores, mode, work) {
    return openDb().then(function (db) {
      return new Promise(function (resolve, reject) {
        var t = db.transaction(stores, mode), result;
        t.oncomplete = function () { db.close(); resolve(result); };
        t.onerror = function () { db.close(); reject(t.error); };
        t.onabort = function () { db.close(); reject(t.error); };
        result = work(t);
      });
    });
  }

  function allRecords() {
    return openDb().then(function (db) {
      return new Promise(function (resolve, reject) {
        var out = [], req = db.transaction("queue").objectStore("queue").openCursor();
        req.onsuccess = function () {
          var c = req.result;
          if (c) { out.push(c.value); c["continue"](); } else { db.close(); out.sort(function (a, b) { return a.seq - b.seq; }); resolve(out); }
        };
        req.onerror = function () { db.close(); reject(req.error); };
      });
    });
  }

  function photosOf(key) {
    return openDb().then(function (db) {
      return new Promise(function (resolve, reject) {
        var req = db.transaction("photos").objectStore("photos").index("key").getAll(key);
        req.onsuccess = function () { db.close(); resolve(req.result || []); };
        req.onerror = function () { db.close(); reject(req.error); };
      });
    });
  }

  function removeRecord(key) {
    return photosOf(key).then(function (photos) {
      return tx(["queue", "photos"], "readwrite", function (t) {
        t.objectStore("queue")["delete"](key);
        for (var i = 0; i < photos.length; i++) { t.objectStore("photos")["delete"](photos[i].id); }
      });
    });
  }

  function putRecord(record) {
    return tx(["queue"], "readwrite", function (t) { t.objectStore("queue").put(record); });
  }

  /* --- Photos: shrink on the phone before they are stored or sent. --- */
  function readBuffer(blob) {
    return new Promise(function (resolve, reject) {
      var r = new FileReader();
      r.onload = function () { resolve(r.result); };
      r.onerror = function () { reject(r.error); };
      r.readAsArrayBuffer(blob);
    });
  }

  function compress(file) {
    var MAX = 1600;
    return new Promise(function (resolve) {
      var url = (window.URL || window.webkitURL).createObjectURL(file);
      var img = new Image();
      img.onload = function () {
        var scale = Math.min(1, MAX / Math.max(img.width, img.height));
        var canvas = document.createElement("canvas");
        canvas.width = Math.max(1, Math.round(img.width * scale));
        canvas.height = Math.max(1, Math.round(img.height * scale));
        var ctx = canvas.getContext("2d");
        ctx.fillStyle = "#fff";
        ctx.fillRect(0, 0, canvas.width, canvas.height);
        ctx.drawImage(img, 0, 0, canvas.width, canvas.height);
        (window.URL || window.webkitURL).revokeObjectURL(url);
        if (!canvas.toBlob) { resolve(file); return; }
        canvas.toBlob(function (blob) { resolve(blob && blob.size < file.size ? blob : (blob || file)); }, "image/jpeg", 0.8);
      };
      img.onerror = function () { resolve(file); };
      img.src = url;
    }).then(function (blob) {
      return readBuffer(blob).then(function (data) { return { type: blob.type || "image/jpeg", data: data }; });
    });
  }

  /* --- Forms: every write goes into the queue first, online or not. --- */
  function payloadOf(form) {
    var out = {}, els = form.elements, i, el, parts;
    for (i = 0; i < els.length; i++) {
      el = els[i];
      if (!el.name || el.disabled || el.type === "file" || el.type === "submit" || el.type === "button") { continue; }
      if ((el.type === "radio" || el.type === "checkbox") && !el.checked) { continue; }
      parts = el.name.split(".");
      if (parts.length === 2) { out[parts[0]] = out[parts[0]] || {}; out[parts[0]][parts[1]] = el.value; }
      else { out[el.name] = el.value; }
    }
    if (lastButton && lastButton.form === form && lastButton.name) { out[lastButton.name] = lastButton.value; }
    return out;
  }

  function titleOf(form, payload) {
    var h = document.querySelector(".bar-title");
    return (h ? h.textContent : "") + (payload.action && lastButton ? " · " + lastButton.textContent : "");
  }

  function queueForm(form) {
    var kind = form.getAttribute("data-write");
    var payload = payloadOf(form);
    var key = newKey();
    var files = [], inputs = form.querySelectorAll("input[data-photos]"), i, j;
    for (i = 0; i < inputs.length; i++) {
      for (j = 0; j < inputs[i].files.length; j++) { files.push(inputs[i].files[j]); }
    }
    var title = titleOf(form, payload);
    return Promise.all(files.map(compress)).then(function (photos) {
      var record = { key: key, kind: kind, payload: payload, made_at: new Date().toISOString(), seq: Date.now() + Math.random(),
                     user: USER, state: "waiting", message: "", title: title, photos: photos.length };
      return tx(["queue", "photos"], "readwrite", function (t) {
        t.objectStore("queue").put(record);
        for (var k = 0; k < photos.length; k++) {
          t.objectStore("photos").put({ id: key + ":" + k, key: key, index: k, type: photos[k].type, data: photos[k].data });
        }
      });
    });
  }

  function flash(text) {
    var el = $("field-flash");
    if (!el) {
      el = document.createElement("p");
      el.id = "field-flash"; el.className = "flash"; el.setAttribute("data-testid", "field-flash");
      document.querySelector(".main").insertBefore(el, document.querySelector(".main").firstChild);
    }
    el.textContent = text;
  }

  document.addEventListener("click", function (e) {
    var t = e.target;
    while (t && t !== document && !(t.tagName === "BUTTON")) { t = t.parentNode; }
    if (t && t.tagName === "BUTTON") { lastButton = t; }
  }, true);

  document.addEventListener("submit", function (e) {
    var form = e.target;
    if (!form.getAttribute || !form.getAttribute("data-write")) { return; }
    e.preventDefault();
    var buttons = form.querySelectorAll("button");
    for (var i = 0; i < buttons.length; i++) { buttons[i].disabled = true; }
    queueForm(form).then(function () {
      flash(T.queued);
      body.setAttribute("data-queued", String(Number(body.getAttribute("data-queued") || 0) + 1));
      if (form.getAttribute("data-reset")) { form.reset(); }
      for (var k = 0; k < buttons.length; k++) { buttons[k].disabled = false; }
      refresh();
      var done = form.getAttribute("data-done");
      return syncAll().then(function () { if (done) { window.location.href = done; } });
    })["catch"](function (err) {
      for (var k = 0; k < buttons.length; k++) { buttons[k].disabled = false; }
      flash(String(err));
    });
  });

  /* --- Sync: oldest first; each answer is final for its key. --- */
  function send(record) {
    return photosOf(record.key).then(function (photos) {
      var fd = new FormData();
      fd.append("key", record.key);
      fd.append("kind", record.kind);
      fd.append("payload", JSON.stringify(record.payload));
      fd.append("made_at", record.made_at);
      photos.sort(function (a, b) { return a.index - b.index; });
      for (var i = 0; i < photos.length; i++) {
        fd.append("photos", new Blob([photos[i].data], { type: photos[i].type }), "photo" + i + ".jpg");
      }
      return fetch(SYNC_URL, { method: "POST", body: fd, credentials: "same-origin",
                               headers: { "X-CSRFToken": cookie("csrftoken") } });
    });
  }

  function syncAll() {
    if (syncing || !SYNC_URL || !USER) { return Promise.resolve(); }
    syncing = true;
    var stop = false;
    return allRecords().then(function (records) {
      var waiting = records.filter(function (r) { return r.state === "waiting" && r.user === USER; });
      return waiting.reduce(function (chain, record) {
        return chain.then(function () {
          if (stop) { return null; }
          return send(record).then(function (response) {
            if (response.status === 401 || response.status === 403) { stop = true; notice(T.relogin); return null; }
            if (response.status >= 500) { stop = true; return null; }
            return response.json().then(function (answer) {
              if (answer.outcome === "applied") { return removeRecord(record.key); }
              record.state = "conflict";
              record.message = answer.message || String(response.status);
              return putRecord(record);
            });
          }, function () { stop = true; return null; });
        });
      }, Promise.resolve());
    }).then(function () { syncing = false; refresh(); }, function () { syncing = false; refresh(); });
  }

  function notice(text) { var el = $("conflicts"); if (el && text) { el.setAttribute("data-notice", text); } }

  /* --- What the worker sees: the waiting count, refusals in words, the queue page. --- */
  function refresh() {
    return allRecords().then(function (records) {
      var mine = records.filter(function (r) { return r.user === USER; });
      var waiting = mine.filter(function (r) { return r.state === "waiting"; });
      var refused = mine.filter(function (r) { return r.state !== "waiting"; });
      var bar = $("outbox-bar"), text = $("outbox-text");
      if (bar && text) {
        bar.hidden = waiting.length === 0;
        text.textContent = waiting.length + " " + T.waiting;
        body.setAttribute("data-waiting", String(waiting.length));
      }
      var box = $("conflicts");
      if (box) {
        box.innerHTML = "";
        if (box.getAttribute("data-notice")) {
          var n = document.createElement("p"); n.className = "warn"; n.textContent = box.getAttribute("data-notice");
          box.appendChild(n);
        }
        refused.forEach(function (r) {
          var p = document.createElement("p");
          p.className = "conflict"; p.setAttribute("data-testid", "conflict-message");
          p.appendChild(document.createTextNode(T.conflict + "：" + r.message + " "));
          var b = document.createElement("button");
          b.type = "button"; b.className = "small"; b.textContent = T.dismiss;
          b.onclick = function () { removeRecord(r.key).then(refresh); };
          p.appendChild(b);
          box.appendChild(p);
        });
      }
      var list = $("queue-list");
      if (list) {
        list.innerHTML = "";
        if (!mine.length) { var e = document.createElement("li"); e.textContent = T.empty; list.appendChild(e); }
        mine.forEach(function (r) {
          var li = document.createElement("li");
          li.className = "item card"; li.setAttribute("data-testid", "queued-write");
          li.textContent = (r.title || r.kind) + " · " + new Date(r.made_at).toLocaleString() +
            (r.photos ? " · 📷" + r.photos : "") + " · " + (r.state === "waiting" ? T.waiting.replace(/^条/, "") : T.conflict);
          list.appendChild(li);
        });
      }
      body.setAttribute("data-synced", syncing ? "0" : "1");
    })["catch"](function () { /* no IndexedDB (private mode): writes cannot be kept */ });
  }

  function netState() {
    var el = $("net-state");
    if (el) { el.textContent = navigator.onLine === false ? T.offline : ""; el.className = navigator.onLine === false ? "net off" : "net"; }
  }

  /* --- Offline pages: the service worker keeps today's pages and the people in them. --- */
  function precache() {
    var data = $("field-precache");
    if (!data || !navigator.serviceWorker || navigator.onLine === false) { return; }
    var urls = JSON.parse(data.textContent || "[]");
    navigator.serviceWorker.ready.then(function (reg) {
      var worker = reg.active;
      if (!worker || !window.MessageChannel) { return; }
      var channel = new MessageChannel();
      channel.port1.onmessage = function (e) { body.setAttribute("data-precached", String(e.data.cached)); };
      worker.postMessage({ type: "precache", urls: urls }, [channel.port2]);
    });
  }

  function clearAll() {
    var jobs = [];
    if (window.caches) {
      jobs.push(window.caches.keys().then(function (keys) {
        return Promise.all(keys.map(function (k) { return window.caches["delete"](k); }));
      }));
    }
    jobs.push(new Promise(function (resolve) {
      var req = window.indexedDB.deleteDatabase(DB_NAME);
      // "blocked" only means another connection is still closing: wait for it, not forever.
      req.onsuccess = req.onerror = function () { resolve(); };
      window.setTimeout(resolve, 5000);
    }));
    try {
      ["field-user", "field-patrol", "field-pin", "field-active"].forEach(function (k) { window.localStorage.removeItem(k); });
    } catch (err) { /* ignore */ }
    return Promise.all(jobs);
  }

  function leave() {
    var form = $("logout-form");
    if (form) { form.submit(); } else { window.location.href = body.getAttribute("data-logout"); }
  }

  function logoutPage() {
    var state = $("logout-state");
    if (!state) { return; }
    allRecords().then(function (records) {
      var waiting = records.filter(function (r) { return r.state === "waiting"; });
      // Forced (five wrong PINs): the phone may be in other hands, nothing is kept.
      var forced = window.location.search.indexOf("forced=1") >= 0;
      if (waiting.length && !forced && !window.confirm(T.logoutConfirm)) { window.location.href = body.getAttribute("data-scope"); return null; }
      return clearAll().then(leave);
    }, function () { return clearAll().then(leave); });
  }

  function userChanged() {
    // Another worker signed in on this phone: the previous one's pages must not stay.
    if (!USER) { return Promise.resolve(); }
    var before = null;
    try { before = window.localStorage.getItem("field-user"); window.localStorage.setItem("field-user", USER); } catch (err) { return Promise.resolve(); }
    if (before && before !== USER && window.caches) {
      return window.caches.keys().then(function (keys) {
        return Promise.all(keys.filter(function (k) { return k.indexOf("field-pages") === 0; })
          .map(function (k) { return window.caches["delete"](k); }));
      });
    }
    return Promise.resolve();
  }

  window.linliField = { queueForm: queueForm, syncAll: syncAll, refresh: refresh, newKey: newKey,
                        putRecord: putRecord, flash: flash, T: T };

  if (navigator.serviceWorker && body.getAttribute("data-sw")) {
    navigator.serviceWorker.register(body.getAttribute("data-sw"), { scope: body.getAttribute("data-scope") })
      .then(function () { body.setAttribute("data-sw-registered", "1"); })["catch"](function () { /* plain pages still work */ });
  }
  if ($("logout-state")) {
    // Signing out: nothing may reopen the database while it is being deleted.
    logoutPage();
    return;
  }
  window.addEventListener("online", function () { netState(); syncAll(); });
  window.addEventListener("offline", netState);
  var sendNow = $("send-now");
  if (sendNow) { sendNow.onclick = function () { syncAll(); }; }
  netState();
  userChanged().then(function () { refresh(); precache(); syncAll(); });
  // A lost answer or a flaky network: try again while something waits.
  window.setInterval(function () { if (navigator.onLine !== false) { syncAll(); } }, 15000);
})();
