// Acknowledge or resolve an incident with a note, through the API (with the CSRF token).
"use strict";
document.addEventListener("DOMContentLoaded", function () {
  const form = document.getElementById("incident-action");
  if (!form) return;
  const result = document.getElementById("incident-result");
  form.addEventListener("submit", async function (event) {
    event.preventDefault();
    const action = event.submitter ? event.submitter.value : "acknowledge";
    const url = "/api/v1/incidents/" + encodeURIComponent(form.dataset.incident) + "/" + action;
    const answer = await window.vp.api("POST", url, { note: form.elements.note.value });
    if (answer.ok) {
      result.textContent = window.vp.word("incident.done");
      window.location.reload();
    } else {
      result.textContent = window.vp.word("incident.failed", { error: (answer.data && answer.data.error) || answer.status });
    }
  });
});
