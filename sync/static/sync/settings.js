// The connected app's settings page: "Limit syncs" saves as soon as a list is picked, and a
// running resync or import shows its progress (run_progress.js). Without JavaScript the page still works (a Save button
// appears in <noscript>, the progress shows its state at load).
(function () {
  "use strict";

  function autosubmit() {
    document.querySelectorAll("select[data-autosubmit]").forEach(function (select) {
      select.addEventListener("change", function () {
        var form = select.form;
        var note = document.getElementById("inclusion-saving");
        if (note) note.hidden = false;
        select.setAttribute("aria-busy", "true");
        if (form.requestSubmit) form.requestSubmit(); else form.submit();
      });
    });
  }

  // A run's progress (a resync, an import) is followed by run_progress.js; when the run ends, the
  // button that started it (the box's data-button) is offered again.
  function runButtons() {
    document.addEventListener("run-progress:finished", function (event) {
      var id = event.target.dataset && event.target.dataset.button;
      var button = id && document.getElementById(id);
      if (button) button.disabled = false;
    });
  }

  function impactPreview() {
    var box = document.getElementById("switch-impact");
    if (!box) return;
    box.addEventListener("toggle", function () {
      if (!box.open || box.dataset.loaded === "1") return;
      box.dataset.loaded = "1";
      fetch(box.dataset.url, { headers: { Accept: "application/json" }, credentials: "same-origin" })
        .then(function (response) { return response.ok ? response.json() : Promise.reject(response.status); })
        .then(function (data) {
          data.impacts.forEach(function (impact) {
            var key = impact.list === null ? "" : String(impact.list);
            var row = box.querySelector('tr[data-list="' + key + '"]');
            if (!row) return;
            row.querySelector("[data-start]").textContent = impact.startText;
            row.querySelector("[data-stop]").textContent = impact.stopText;
          });
          box.dataset.ready = "1";
        })
        .catch(function () { box.dataset.loaded = "0"; });
    });
  }

  document.addEventListener("DOMContentLoaded", function () {
    autosubmit();
    runButtons();
    impactPreview();
  });
})();
