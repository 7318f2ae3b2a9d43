/* linli field service worker (scope /field/): keeps the app shell, today's pages and the
   people in them for use without a network. Personal pages live in "field-pages", which
   the app empties at logout and when another worker signs in. */
"use strict";
var VERSION = {{ version|safe }};
var SHELL = {{ shell|safe }};
var STATIC_CACHE = "field-shell-" + VERSION;
var PAGES = "field-pages";
var OFFLINE = SHELL[4];
var NEVER = /\/field\/(sync|nearest|logout|sw\.js)/;

function isPage(url) { return url.origin === self.location.origin && url.pathname.indexOf("/field/") === 0 && !NEVER.test(url.pathname); }
function isAsset(url) { return url.origin === self.location.origin && url.pathname.indexOf("/static/") === 0; }

function keep(request, response) {
  if (!response || !response.ok || response.redirected || response.type !== "basic") { return Promise.resolve(false); }
  return caches.open(PAGES).then(function (cache) { return cache.put(request, response); }).then(function () { return true; });
}

self.addEventListener("install", function (event) {
  var assets = SHELL.filter(function (u) { return u.indexOf("/static/") === 0; });
  event.waitUntil(caches.open(STATIC_CACHE).then(function (cache) { return cache.addAll(assets); })
    .then(function () { return self.skipWaiting(); }));
});

self.addEventListener("activate", function (event) {
  event.waitUntil(caches.keys().then(function (keys) {
    return Promise.all(keys.filter(function (k) { return k.indexOf("field-shell-") === 0 && k !== STATIC_CACHE; })
      .map(function (k) { return caches["delete"](k); }));
  }).then(function () { return self.clients.claim(); }));
});

self.addEventListener("fetch", function (event) {
  var request = event.request;
  if (request.method !== "GET") { return; }
  var url = new URL(request.url);
  if (isAsset(url)) {
    event.respondWith(caches.match(request).then(function (hit) {
      return hit || fetch(request).then(function (response) {
        if (response.ok) { var copy = response.clone(); caches.open(STATIC_CACHE).then(function (c) { c.put(request, copy); }); }
        return response;
      });
    }));
    return;
  }
  if (!isPage(url)) { return; }
  // Network first: fresh when online; the kept copy when not.
  event.respondWith(fetch(request).then(function (response) {
    keep(request, response.clone());
    return response;
  })["catch"](function () {
    return caches.match(request, { ignoreVary: true }).then(function (hit) {
      return hit || caches.match(OFFLINE).then(function (page) { return page || Response.error(); });
    });
  }));
});

// A page kept less than FRESH_MS ago is not fetched again; four fetches at a time, so that
// a long list does not hammer the server each time Today opens.
var FRESH_MS = 5 * 60 * 1000;
var PARALLEL = 4;

function fresh(url) {
  return caches.match(url, { ignoreVary: true }).then(function (hit) {
    var date = hit && Date.parse(hit.headers.get("date") || "");
    return !!(date && Date.now() - date < FRESH_MS);
  });
}

function keepOne(url) {
  return fresh(url).then(function (isFresh) {
    if (isFresh) { return true; }
    var request = new Request(url, { credentials: "same-origin" });
    return fetch(request).then(function (response) { return keep(request, response); }, function () { return false; });
  });
}

function precache(urls) {
  var cached = 0, next = 0;
  function worker() {
    if (next >= urls.length) { return Promise.resolve(); }
    var url = urls[next++];
    return keepOne(url).then(function (ok) { if (ok) { cached++; } return worker(); });
  }
  var workers = [];
  for (var i = 0; i < PARALLEL; i++) { workers.push(worker()); }
  return Promise.all(workers).then(function () { return cached; });
}

self.addEventListener("message", function (event) {
  var data = event.data || {};
  var port = event.ports && event.ports[0];
  if (data.type === "precache") {
    var urls = (data.urls || []).concat(SHELL.filter(function (u) { return u.indexOf("/static/") !== 0; }));
    event.waitUntil(precache(urls).then(function (cached) {
      if (port) { port.postMessage({ cached: cached }); }
    }));
  }
});

{% include "notify/sw-push.js" %}
