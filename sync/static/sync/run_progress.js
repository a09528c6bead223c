// Follows a run while it goes on: the one poller of every progress bar (the health page's current
// run, a resync on the settings page). Each element marked data-run-progress polls its data-url
// (the sync:run_progress endpoint, which answers {"run": {...}}) and fills what it holds:
//   [data-field="name"]   the run's figure of that name (done, total, percent, status_label, text…);
//   [data-bar]            a <progress>, or a bar whose width is the percent;
//   [data-when-finished]  shown once the run has finished.
// When the run ends it stops polling and fires "run-progress:finished" (bubbling, detail: the run).
// Without JavaScript the page shows the run as it was when loaded.
(function () {
  "use strict";

  function render(box, run) {
    box.querySelectorAll("[data-field]").forEach(function (el) {
      var value = run[el.dataset.field];
      if (value !== undefined && value !== null && value !== "") el.textContent = value;
    });
    box.querySelectorAll("[data-bar]").forEach(function (el) {
      if (el.tagName === "PROGRESS") el.value = run.percent;
      else el.style.width = run.percent + "%";
    });
    box.querySelectorAll('[role="progressbar"]').forEach(function (el) {
      el.setAttribute("aria-valuenow", run.percent);
    });
  }

  function follow(box) {
    var every = Number(box.dataset.every) || 2000;
    function tick() {
      fetch(box.dataset.url, { credentials: "same-origin", headers: { Accept: "application/json" } })
        .then(function (response) { return response.ok ? response.json() : Promise.reject(response.status); })
        .then(function (data) {
          if (data.run) render(box, data.run);
          if (data.run && !data.run.finished) {
            window.setTimeout(tick, every);
            return;
          }
          box.dataset.finished = "1";
          box.querySelectorAll("[data-when-finished]").forEach(function (el) { el.hidden = false; });
          box.dispatchEvent(new CustomEvent("run-progress:finished", { bubbles: true, detail: data.run }));
        })
        // A missed poll is retried, a little later.
        .catch(function () { window.setTimeout(tick, every * 2.5); });
    }
    tick();
  }

  function start() {
    document.querySelectorAll("[data-run-progress]").forEach(function (box) {
      if (box.dataset.url && box.dataset.finished !== "1") follow(box);
    });
  }

  if (document.readyState === "loading") document.addEventListener("DOMContentLoaded", start);
  else start();
})();
