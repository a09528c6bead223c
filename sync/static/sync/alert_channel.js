// The alert channel's page.
// - Only the fields of the chosen kind are shown: recipients for email, the webhook URL (and its
//   options) for Slack and webhooks. Hidden fields keep their values; the server ignores them.
// - While the last test alert is pending, its outcome is asked for every two seconds (the text
//   comes translated from the server) and shown when it is known.
(function () {
  "use strict";

  const kind = document.getElementById("id_kind");
  function showKind() {
    const email = kind.value === "email";
    document.querySelectorAll("fieldset.alert-email").forEach(function (el) { el.hidden = !email; });
    document.querySelectorAll("fieldset.alert-hook").forEach(function (el) { el.hidden = email; });
    document.querySelectorAll(".field-new_signing_secret, .field-clear_signing_secret, .field-signing_secret_state")
      .forEach(function (el) { el.hidden = kind.value !== "webhook"; });
  }
  if (kind) {
    kind.addEventListener("change", showKind);
    showKind();
  }

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
        document.querySelectorAll('[data-delivery="' + outcome.dataset.delivery + '"]').forEach(function (el) {
          el.textContent = data.text;
        });
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
