/* linli staff service worker (scope /notifications/): Web Push only - no fetch handler, so
   staff pages are never served from a cache. */
"use strict";
self.addEventListener("install", function (event) { event.waitUntil(self.skipWaiting()); });
self.addEventListener("activate", function (event) { event.waitUntil(self.clients.claim()); });
{% include "notify/sw-push.js" %}
