// A preview ("Preview changes") followed while it computes: run_progress.js polls and fills the
// figures; once the preview has finished, the page is loaded again to show its sample of records.
(function () {
  "use strict";
  document.addEventListener("run-progress:finished", function (event) {
    var box = event.target;
    if (box.id === "dry-run-progress" && box.dataset.loadedRunning === "1") window.location.reload();
  });
})();
