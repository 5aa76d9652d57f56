/* "Turn on push on this device": register the service worker, subscribe with our VAPID public
   key, and send the subscription to the server, which sends a test push to confirm. */
(function () {
  "use strict";

  function say(box, text) {
    box.textContent = text;
  }

  function keyBytes(base64url) {
    var padded = base64url + "====".slice(base64url.length % 4 || 4);
    var raw = atob(padded.replace(/-/g, "+").replace(/_/g, "/"));
    var bytes = new Uint8Array(raw.length);
    for (var i = 0; i < raw.length; i += 1) { bytes[i] = raw.charCodeAt(i); }
    return bytes;
  }

  function store(form, subscription) {
    return fetch(form.action, {
      method: "POST",
      credentials: "same-origin",
      headers: {
        "Content-Type": "application/json",
        "Accept": "application/json",
        "X-CSRFToken": form.querySelector("[name=csrfmiddlewaretoken]").value
      },
      body: JSON.stringify({ subscription: subscription.toJSON(), name: navigator.platform || "" })
    }).then(function (response) {
      return response.json();
    });
  }

  function turnOn(form) {
    var box = form.querySelector("[data-part=push-status]");
    var button = form.querySelector("button");
    if (!("serviceWorker" in navigator) || !("PushManager" in window)) {
      say(box, "This browser cannot receive push notifications.");
      return;
    }
    button.disabled = true;
    say(box, "Turning on push…");
    Notification.requestPermission().then(function (permission) {
      if (permission === "denied") { throw new Error("Notifications are blocked for this site."); }
      return navigator.serviceWorker.register(form.getAttribute("data-worker"), { scope: "/" });
    }).then(function () {
      return navigator.serviceWorker.ready;
    }).then(function (registration) {
      return registration.pushManager.subscribe({
        userVisibleOnly: true,
        applicationServerKey: keyBytes(form.getAttribute("data-key"))
      });
    }).then(function (subscription) {
      return store(form, subscription);
    }).then(function (body) {
      say(box, body.message);
    }).catch(function (error) {
      say(box, "Push is not on: " + error.message);
    }).then(function () {
      button.disabled = false;
    });
  }

  document.addEventListener("submit", function (event) {
    var form = event.target;
    if (!form.hasAttribute("data-push")) { return; }
    event.preventDefault();
    turnOn(form);
  });
}());
