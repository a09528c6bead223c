// The alert channel's page: while the last test alert is pending, ask for its outcome every two
// seconds (the text comes translated from the server) and show it when it is known.
(function () {
  "use strict";
  const outcome = document.querySelector(".alert-test-outcome");
  if (!outcome || !outcome.dataset.pending || !outcome.dataset.statusUrl) {
    return;
  }
  let polls = 0;
  function poll() {
    polls += 1;
    fetch(outcome.dataset.statusUrl, { credentials: "same-origin", headers: { Accept: "application/json" } })
      .then(function (response) { return response.ok ? response.json() : null; })
      .then(function (data) {
        if (!data) { return; }
        outcome.textContent = data.text;
        if (data.pending && polls < 150) {
          window.setTimeout(poll, 2000);
        }
      })
      .catch(function () {
        if (polls < 150) { window.setTimeout(poll, 5000); }
      });
  }
  window.setTimeout(poll, 1000);
})();
