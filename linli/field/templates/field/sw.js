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

self.addEventListener("message", function (event) {
  var data = event.data || {};
  var port = event.ports && event.ports[0];
  if (data.type === "precache") {
    var urls = (data.urls || []).concat(SHELL.filter(function (u) { return u.indexOf("/static/") !== 0; }));
    event.waitUntil(Promise.all(urls.map(function (u) {
      var request = new Request(u, { credentials: "same-origin" });
      return fetch(request).then(function (response) { return keep(request, response); }, function () { return false; });
    })).then(function (done) {
      var cached = done.filter(Boolean).length;
      if (port) { port.postMessage({ cached: cached }); }
    }));
  }
});
