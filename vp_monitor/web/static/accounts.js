// The accounts page: each form is sent to the accounts API as JSON (with the CSRF token,
// window.vp.api), then the page reloads; a new token is shown once instead, until closed.
// Each account is folded; the one a link or the last action named (the address's #user-…)
// is open, so a reload after saving shows the account just changed.
"use strict";
document.addEventListener("DOMContentLoaded", function () {
  function openNamed() {
    const named = document.getElementById(decodeURIComponent(window.location.hash.slice(1)));
    if (named && named.tagName === "DETAILS") named.open = true;
  }
  openNamed();
  window.addEventListener("hashchange", openNamed);

  function reloadOn(form, body) {
    const account = form.closest("details.account");
    const name = account ? account.dataset.user : body.name;
    if (name && !form.classList.contains("account-remove")) window.location.hash = "user-" + name;
    else window.history.replaceState(null, "", window.location.pathname);
    window.location.reload();
  }

  // The form's fields as the API reads them: booleans for checkboxes, lists for multiple
  // choices, blank fields left out (the API keeps what is stored, or uses its default).
  function fields(form) {
    const body = {};
    for (const element of form.elements) {
      if (!element.name) continue;
      if (element.type === "checkbox") body[element.name] = element.checked;
      else if (element.multiple) body[element.name] = Array.from(element.selectedOptions, (o) => o.value);
      else if (element.value.trim() !== "") body[element.name] = element.value;
    }
    if (form.dataset.user) body.user = form.dataset.user;
    return body;
  }

  function showToken(form, token) {
    const box = form.querySelector(".new-token");
    box.querySelector(".token-value").textContent = token;
    box.hidden = false;
    form.querySelector("button[type=submit]").disabled = true;
  }

  for (const form of document.querySelectorAll("form.account-form")) {
    form.addEventListener("submit", async function (event) {
      event.preventDefault();
      if (form.dataset.confirm && !window.confirm(form.dataset.confirm)) return;
      const result = form.querySelector(".form-error");
      const body = fields(form);
      const answer = await window.vp.api(form.dataset.method, form.dataset.url,
        Object.keys(body).length ? body : undefined);
      if (!answer.ok) {
        result.textContent = window.vp.word("accounts.failed", { error: (answer.data && answer.data.error) || answer.status });
        return;
      }
      if (answer.data && answer.data.token) showToken(form, answer.data.token);
      else reloadOn(form, body);
    });
  }
  for (const button of document.querySelectorAll(".token-copy")) {
    button.addEventListener("click", async function () {
      const value = button.parentNode.querySelector(".token-value");
      window.getSelection().selectAllChildren(value);
      try {
        await navigator.clipboard.writeText(value.textContent);
        button.textContent = window.vp.word("accounts.copied");
      } catch (e) { /* no clipboard here: the token stays selected, to copy by hand */ }
    });
  }
  for (const button of document.querySelectorAll(".token-done")) {
    button.addEventListener("click", function () { window.location.reload(); });
  }
});
