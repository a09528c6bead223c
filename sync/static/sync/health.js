// Live progress of the running sync on the health page: polls the JSON endpoint while a run
// is going, then offers a reload (the cards and charts are drawn server-side).
(function () {
  "use strict";
  function start() {
    var box = document.getElementById("sync-current-run");
    if (!box || box.dataset.running !== "1") return;
    var url = box.dataset.progressUrl;
    var bar = box.querySelector(".sync-progress-bar");
    var meter = box.querySelector(".sync-progress");
    var timer = null;
    function set(field, value) {
      var el = box.querySelector('[data-field="' + field + '"]');
      if (el && value !== undefined && value !== null && value !== "") el.textContent = value;
    }
    function tick() {
      fetch(url, { credentials: "same-origin", headers: { Accept: "application/json" } })
        .then(function (r) { return r.ok ? r.json() : Promise.reject(r.status); })
        .then(function (data) {
          var run = data.current || data.latest;
          if (run) {
            ["phase", "status_label", "done", "total", "percent", "created", "updated", "skipped", "failed",
             "salesforce_api_calls"].forEach(function (f) { set(f, run[f]); });
            bar.style.width = run.percent + "%";
            meter.setAttribute("aria-valuenow", run.percent);
          }
          if (!data.current) {
            clearInterval(timer);
            box.querySelector(".sync-run-finished").hidden = false;
          }
        })
        .catch(function () { /* a missed poll is retried on the next tick */ });
    }
    timer = setInterval(tick, 2000);
    tick();
  }
  if (document.readyState === "loading") document.addEventListener("DOMContentLoaded", start);
  else start();
})();
