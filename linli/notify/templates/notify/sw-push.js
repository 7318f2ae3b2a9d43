/* Web Push (included by the staff worker at /notifications/ and the field worker at /field/):
   shows what the relay sent - {"title", "body", "url"}, see notify/channels/webpush.py - and
   opens the notification's page on a click. Plain ES5 for old phone WebViews. */
self.addEventListener("push", function (event) {
  var data = {};
  if (event.data) {
    try { data = event.data.json() || {}; } catch (e) { data = { body: event.data.text() }; }
  }
  var url = typeof data.url === "string" && data.url ? data.url : "/notifications/";
  event.waitUntil(self.registration.showNotification(data.title || "\u90bb\u91cc", {
    body: data.body || "",
    data: { url: url },
    tag: url,
    renotify: true
  }));
});

self.addEventListener("notificationclick", function (event) {
  event.notification.close();
  var wanted = new URL((event.notification.data && event.notification.data.url) || "/notifications/", self.location.origin);
  // Only our own pages: a payload never sends the browser elsewhere.
  if (wanted.origin !== self.location.origin) { wanted = new URL("/notifications/", self.location.origin); }
  event.waitUntil(self.clients.matchAll({ type: "window", includeUncontrolled: true }).then(function (list) {
    for (var i = 0; i < list.length; i++) {
      if (list[i].url === wanted.href && "focus" in list[i]) { return list[i].focus(); }
    }
    return self.clients.openWindow(wanted.href);
  }));
});
