(function () {
  "use strict";
  var kind = document.body.getAttribute("data-page");
  var flash = document.getElementById("flash");

  function say(text, isError) {
    flash.textContent = text;
    flash.className = isError ? "flash error" : "flash";
  }

  // Fragments come escaped from the server; only they are set as HTML.
  function swap(id, html) {
    var node = document.getElementById(id);
    if (node && node.getAttribute("data-html") !== html) {
      node.innerHTML = html;
      node.setAttribute("data-html", html);
    }
  }

  function liveBatches() {
    var source = new EventSource("/events");
    source.onmessage = function (event) { swap("batches", JSON.parse(event.data).html); };
  }

  var rowsTimer = null;
  function query() {
    var params = new URLSearchParams();
    ["state", "provider", "kind", "q", "page"].forEach(function (name) {
      var input = document.getElementById("f-" + name);
      if (input && input.value) { params.set(name, input.value); }
    });
    return params.toString();
  }

  function refreshRows() {
    var table = document.getElementById("jobs");
    var qs = query();
    fetch(table.getAttribute("data-rows") + (qs ? "?" + qs : ""), {credentials: "same-origin"})
      .then(function (answer) { return answer.json(); })
      .then(function (data) {
        swap("rows", data.rows);
        swap("summary", data.summary);
        document.getElementById("matching").textContent = data.matching + " item(s), page " + data.page + " of " + data.pages;
        document.body.setAttribute("data-rows-loaded", String(Date.now()));
      })
      .catch(function () { say("lost contact with the server; retrying", true); });
    try { history.replaceState(null, "", location.pathname + (qs ? "?" + qs : "")); } catch (e) { /* ignore */ }
  }

  function liveBatch() {
    ["state", "provider", "kind", "q"].forEach(function (name) {
      var input = document.getElementById("f-" + name);
      if (!input) { return; }
      input.addEventListener(name === "q" ? "input" : "change", function () {
        document.getElementById("f-page").value = "1";
        refreshRows();
      });
    });
    ["prev", "next"].forEach(function (name) {
      var button = document.getElementById("p-" + name);
      if (!button) { return; }
      button.addEventListener("click", function () {
        var page = document.getElementById("f-page");
        page.value = String(Math.max(1, Number(page.value || "1") + (name === "next" ? 1 : -1)));
        refreshRows();
      });
    });
    refreshRows();
    rowsTimer = setInterval(refreshRows, 1000);
  }

  // Actions: confirm, POST with the CSRF token, stay on the page.
  document.addEventListener("submit", function (event) {
    var form = event.target;
    if (!form.classList || !form.classList.contains("action")) { return; }
    event.preventDefault();
    if (!window.confirm(form.getAttribute("data-confirm"))) { return; }
    fetch(form.action, {method: "POST", body: new URLSearchParams(new FormData(form)), credentials: "same-origin",
                        headers: {"Accept": "application/json"}})
      .then(function (answer) { return answer.json().then(function (data) { return [answer.ok, data]; }); })
      .then(function (pair) {
        say(pair[1].message, !pair[0]);
        if (rowsTimer !== null) { refreshRows(); }
        if (pair[0] && (kind === "clip" || kind === "job")) { setTimeout(function () { location.reload(); }, 1000); }
      })
      .catch(function () { say("the action failed", true); });
  });

  // A clip's page: the source follows the stitched output (play, pause, seek, rate), so one
  // control drives both; a clip still being worked on reloads itself until it ends.
  function syncPlayers() {
    var out = document.getElementById("v-output");
    var src = document.getElementById("v-source");
    if (!out || !src) { return; }
    function follow() {
      if (Math.abs(src.currentTime - out.currentTime) > 0.15) { src.currentTime = out.currentTime; }
    }
    out.addEventListener("play", function () { follow(); src.play().catch(function () { /* muted autoplay refused */ }); });
    out.addEventListener("pause", function () { src.pause(); follow(); });
    ["seeking", "seeked", "timeupdate"].forEach(function (name) { out.addEventListener(name, follow); });
    out.addEventListener("ratechange", function () { src.playbackRate = out.playbackRate; });
  }

  function liveClip() {
    syncPlayers();
    var state = document.getElementById("clip-state");
    var ended = ["STORED", "FAILED", "CANCELLED"];
    if (state && ended.indexOf(state.textContent) < 0) {
      setTimeout(function () { location.reload(); }, 2000);
    }
  }

  if (kind === "batches") { liveBatches(); }
  if (kind === "clip") { liveClip(); }
  if (kind === "batch") { liveBatch(); }
})();
