/* The responder app's only script: one-tap actions without a reload, live incident pages, and
   copy buttons.
   Every form works without it; it only saves the reload. */
(function () {
  "use strict";

  var POLL_MS = 2500;

  function notice(text) {
    var box = document.getElementById("notice");
    if (!box) { return; }
    box.textContent = "";
    var line = document.createElement("p");
    line.className = "message";
    line.textContent = text;
    box.appendChild(line);
  }

  function redraw(form, body) {
    var live = form.closest("#live");
    if (live) {
      live.innerHTML = body.html;
      live.setAttribute("data-version", body.version);
      return;
    }
    var row = form.closest("[data-part=row]");
    if (row) { row.outerHTML = body.html; }
  }

  function act(form) {
    var buttons = form.parentNode.querySelectorAll("button");
    buttons.forEach(function (b) { b.disabled = true; });
    fetch(form.action, {
      method: "POST",
      body: new FormData(form),
      credentials: "same-origin",
      headers: { "X-Requested-With": "fetch", "Accept": "application/json" }
    }).then(function (response) {
      var type = response.headers.get("Content-Type") || "";
      if (type.indexOf("application/json") === -1) { throw new Error("not JSON"); }
      return response.json();
    }).then(function (body) {
      redraw(form, body);
      notice(body.message);
    }).catch(function () {
      form.submit();  /* let the server answer the plain way */
    });
  }

  document.addEventListener("submit", function (event) {
    var form = event.target;
    if (!form.hasAttribute("data-act")) { return; }
    event.preventDefault();
    act(form);
  });

  function poll(live) {
    var url = live.getAttribute("data-live-url");
    function again() { window.setTimeout(tick, POLL_MS); }
    function tick() {
      if (document.hidden) { again(); return; }
      var since = encodeURIComponent(live.getAttribute("data-version") || "");
      fetch(url + "?since=" + since, { credentials: "same-origin", cache: "no-store" })
        .then(function (response) {
          if (response.status !== 200) { return; }
          var version = response.headers.get("X-Version");
          return response.text().then(function (html) {
            if (version === live.getAttribute("data-version")) { return; }
            live.innerHTML = html;
            live.setAttribute("data-version", version);
          });
        })
        .catch(function () { /* offline for a moment: try again */ })
        .then(again);
    }
    again();
  }

  /* Copy buttons (Me: the calendar feed URL, a new API token): without a clipboard they stay
     hidden and the text stays selectable in its field. */
  document.addEventListener("click", function (event) {
    var button = event.target.closest("[data-copy]");
    if (!button) { return; }
    var field = document.getElementById(button.getAttribute("data-copy"));
    navigator.clipboard.writeText(field.value).then(function () {
      notice("Copied.");
    }, function () {
      field.select();
      notice("Copying was refused: the text is selected, copy it yourself.");
    });
  });

  document.addEventListener("DOMContentLoaded", function () {
    var live = document.getElementById("live");
    if (live) { poll(live); }
    if (navigator.clipboard) {
      document.querySelectorAll("[data-copy]").forEach(function (b) { b.hidden = false; });
    }
  });
}());
