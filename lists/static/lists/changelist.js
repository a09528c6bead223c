/* The lists page: rows still processing follow their list's status until it is computed.
 * Strings go through Django's JavaScript catalog (gettext, interpolate), loaded before this script.
 */
(function () {
  "use strict";

  function follow(pill) {
    var url = pill.getAttribute("data-status-url");
    var row = pill.closest("tr");
    var delay = 2000;
    function poll() {
      fetch(url, { credentials: "same-origin", headers: { Accept: "application/json" } })
        .then(function (r) { return r.json(); })
        .then(function (data) {
          pill.className = "list-pill list-pill-" + String(data.status).toLowerCase();
          pill.textContent = data.status === "PROCESSING" && data.progress
            // Translators: a list's processing status and how far it is, as in "Processing 40%".
            ? interpolate(gettext("%(status)s %(progress)s%"), { status: data.statusLabel, progress: data.progress }, true)
            : data.statusLabel;
          if (data.status === "PROCESSING") {
            delay = Math.min(delay * 1.5, 10000);
            setTimeout(poll, delay);
            return;
          }
          pill.removeAttribute("data-status-url");
          if (data.error) pill.title = data.error;
          var size = row && row.querySelector(".field-size_label");
          if (size && data.status === "COMPLETE") size.textContent = Number(data.size).toLocaleString();
        }, function () { setTimeout(poll, 10000); });
    }
    setTimeout(poll, delay);
  }

  function start() {
    document.querySelectorAll("#result_list .list-pill[data-status-url]").forEach(follow);
  }
  if (document.readyState !== "loading") start();
  else document.addEventListener("DOMContentLoaded", start);
})();
