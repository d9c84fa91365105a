// The reminders page: this device asks the browser for permission and a push subscription
// (with the key Cairn signs with), then tells Cairn where to send; or stops. The service worker
// shows what arrives (sw.js). Nothing happens here unless the member presses a button.
(function () {
  "use strict";

  var box = document.getElementById("push-device");
  if (!box) return;
  var allow = document.getElementById("push-allow");
  var stop = document.getElementById("push-stop");
  var state = document.getElementById("push-state");
  var supported = "serviceWorker" in navigator && "PushManager" in window && "Notification" in window;
  // The words this script says, in the page's language (accounts/reminders.html).
  var wordsBlock = document.getElementById("reminder-words");
  var words = wordsBlock ? JSON.parse(wordsBlock.textContent) : {};

  function say(text) { state.textContent = text; }

  function csrf() {
    var meta = document.querySelector('meta[name="csrf-token"]');
    return meta ? meta.content : "";
  }

  function post(url, body) {
    return fetch(url, {
      method: "POST", credentials: "same-origin",
      headers: { "Content-Type": "application/json", "X-CSRF-Token": csrf() },
      body: JSON.stringify(body),
    }).then(function (r) {
      if (!r.ok) return r.json().then(function (e) { throw new Error(e.detail || words.not_sent); });
      return r;
    });
  }

  function key(base64url) {
    var raw = atob(base64url.replace(/-/g, "+").replace(/_/g, "/") + "===".slice((base64url.length + 3) % 4));
    var bytes = new Uint8Array(raw.length);
    for (var i = 0; i < raw.length; i++) bytes[i] = raw.charCodeAt(i);
    return bytes;
  }

  // page.js registers the service worker on every page; here we wait for it to be active.
  function registration() {
    return navigator.serviceWorker.ready;
  }

  function show(subscribed) {
    allow.hidden = subscribed;
    stop.hidden = !subscribed;
  }

  if (!supported) {
    say(words.unsupported);
    return;
  }

  registration().then(function (reg) { return reg.pushManager.getSubscription(); })
    .then(function (sub) { show(!!sub); })
    .catch(function () { show(false); });

  allow.addEventListener("click", function () {
    allow.disabled = true;
    Notification.requestPermission().then(function (permission) {
      if (permission !== "granted") {
        throw new Error(words.permission);
      }
      return registration();
    }).then(function (reg) {
      return reg.pushManager.subscribe({ userVisibleOnly: true, applicationServerKey: key(box.dataset.pushKey) });
    }).then(function (sub) {
      return post("/api/v1/me/push-devices", sub.toJSON());
    }).then(function () {
      say(words.allowed);
      show(true);
    }).catch(function (error) {
      say(error && error.message ? error.message : words.not_set_up);
    }).then(function () { allow.disabled = false; });
  });

  stop.addEventListener("click", function () {
    stop.disabled = true;
    registration().then(function (reg) { return reg.pushManager.getSubscription(); })
      .then(function (sub) {
        if (!sub) return null;
        var endpoint = sub.endpoint;
        return sub.unsubscribe().then(function () { return post("/api/v1/me/push-devices/remove", { endpoint: endpoint }); });
      })
      .then(function () { say(words.stopped); show(false); })
      .catch(function () { say(words.not_sent); })
      .then(function () { stop.disabled = false; });
  });
})();
