/* "Receive notifications in this browser" on the preferences page: registers the staff
   service worker, asks for permission, subscribes with the server's VAPID key and posts the
   subscription; "off" deletes it and unsubscribes. Every failure is said in words. ES5. */
(function () {
  "use strict";
  var box = document.querySelector("[data-push]");
  if (!box) { return; }
  var status = box.querySelector("[data-push-status]");
  var onButton = box.querySelector("[data-push-on]");
  var offButton = box.querySelector("[data-push-off]");
  var tokenInput = document.querySelector("[name=csrfmiddlewaretoken]");
  var registration = null;

  function say(state, detail) {
    status.textContent = box.getAttribute("data-msg-" + state) + (detail ? " (" + detail + ")" : "");
    status.setAttribute("data-state", state);
    show(onButton, state !== "on");
    show(offButton, state === "on");
  }

  // Pages style buttons with a display of their own, which beats the hidden attribute.
  function show(button, visible) {
    button.hidden = !visible;
    button.style.display = visible ? "" : "none";
  }
  show(offButton, false);

  function csrfToken() {
    // The cookie first: a page kept offline by the field worker may carry an older token.
    var match = document.cookie.match(/(?:^|;\s*)csrftoken=([^;]+)/);
    return match ? decodeURIComponent(match[1]) : (tokenInput ? tokenInput.value : "");
  }

  function send(method, body) {
    return fetch(box.getAttribute("data-subscription-url"), {
      method: method, credentials: "same-origin",
      headers: { "Content-Type": "application/json", "X-CSRFToken": csrfToken() },
      body: JSON.stringify(body)
    }).then(function (response) {
      return response.json()["catch"](function () { return {}; }).then(function (answer) {
        if (!response.ok && !(method === "DELETE" && response.status === 404)) {
          throw new Error((answer.error && answer.error.message) || "HTTP " + response.status);
        }
        return answer;
      });
    });
  }

  function keyBytes(base64url) {
    var raw = atob(base64url.replace(/-/g, "+").replace(/_/g, "/") + "====".slice(base64url.length % 4 || 4));
    var bytes = new Uint8Array(raw.length);
    for (var i = 0; i < raw.length; i++) { bytes[i] = raw.charCodeAt(i); }
    return bytes;
  }

  function permission() {
    // Old browsers take a callback and return nothing.
    return new Promise(function (resolve) {
      var answer = Notification.requestPermission(resolve);
      if (answer && answer.then) { answer.then(resolve); }
    });
  }

  function failed(error) { say("failed", error && error.message ? error.message : String(error)); }

  if (!("serviceWorker" in navigator) || !("PushManager" in window) || !("Notification" in window)) {
    say("unsupported");
    onButton.disabled = true;
    return;
  }

  var ready = navigator.serviceWorker.register(box.getAttribute("data-sw"), { scope: box.getAttribute("data-scope") })
    .then(function (reg) { registration = reg; return reg; });
  ready.then(function (reg) { return reg.pushManager.getSubscription(); })
    .then(function (sub) { say(sub ? "on" : "idle"); }, failed);

  onButton.addEventListener("click", function () {
    say("working");
    permission().then(function (answer) {
      if (answer !== "granted") { say("denied"); return null; }
      return fetch(box.getAttribute("data-key-url"), { credentials: "same-origin" }).then(function (response) {
        return response.json().then(function (answer) {
          if (!response.ok) { say("unconfigured", answer.error && answer.error.message); return null; }
          return ready.then(function (reg) {
            return reg.pushManager.subscribe({ userVisibleOnly: true, applicationServerKey: keyBytes(answer.public_key) });
          }).then(function (sub) {
            return send("POST", sub.toJSON()).then(function () { say("on"); }, function (error) {
              sub.unsubscribe();
              throw error;
            });
          });
        });
      });
    })["catch"](failed);
  });

  offButton.addEventListener("click", function () {
    say("working");
    ready.then(function (reg) { return reg.pushManager.getSubscription(); }).then(function (sub) {
      if (!sub) { say("off"); return null; }
      return send("DELETE", { endpoint: sub.endpoint }).then(function () { return sub.unsubscribe(); })
        .then(function () { say("off"); });
    })["catch"](failed);
  });
})();
