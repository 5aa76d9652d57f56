/* The service worker: shows on-call pushes and carries out their actions from the lock screen.
   Served at /sw.js so that its scope is the whole app. A push is JSON: kind (page, confirm,
   notice), title, body, url (the incident page), tag, and actions ({name: signed URL}). */
"use strict";

var LABELS = { ack: "Acknowledge", resolve: "Resolve", confirm: "Confirm" };

self.addEventListener("install", function () { self.skipWaiting(); });
self.addEventListener("activate", function (event) { event.waitUntil(self.clients.claim()); });

function parse(event) {
  try { return event.data ? event.data.json() : {}; } catch (e) { return {}; }
}

self.addEventListener("push", function (event) {
  var data = parse(event);
  var urls = data.actions || {};
  var actions = Object.keys(urls).map(function (name) {
    return { action: name, title: LABELS[name] || name };
  });
  event.waitUntil(self.registration.showNotification(data.title || "On call", {
    body: data.body || "",
    tag: data.tag,
    renotify: Boolean(data.tag),
    requireInteraction: data.kind === "page",
    icon: "/static/web/icon-192.png",
    actions: actions,
    data: { url: data.url || "/", actions: urls }
  }));
});

/* POST the action's signed URL; say what the server answered in a small notification. */
function act(url, tag) {
  return fetch(url, {
    method: "POST",
    credentials: "omit",
    headers: { "Accept": "application/json" }
  }).then(function (response) {
    return response.json();
  }).then(function (body) {
    return self.registration.showNotification("On call", { body: body.message, tag: tag });
  }).catch(function () {
    return self.registration.showNotification("On call", {
      body: "Could not reach the server: open the app to act.", tag: tag
    });
  });
}

function open(url) {
  return self.clients.matchAll({ type: "window", includeUncontrolled: true }).then(function (all) {
    for (var i = 0; i < all.length; i += 1) {
      if (all[i].url === url && "focus" in all[i]) { return all[i].focus(); }
    }
    return self.clients.openWindow(url);
  });
}

self.addEventListener("notificationclick", function (event) {
  var data = event.notification.data || {};
  event.notification.close();
  var url = (data.actions || {})[event.action];
  if (url) {
    event.waitUntil(act(url, event.notification.tag));
  } else {
    event.waitUntil(open(data.url || "/"));
  }
});
