// Sign-in: the form posts to the accounts API, then opens the page asked for.
"use strict";
document.addEventListener("DOMContentLoaded", function () {
  const form = document.getElementById("login");
  const error = document.getElementById("login-error");
  form.addEventListener("submit", async function (event) {
    event.preventDefault();
    error.hidden = true;
    const fields = { name: form.elements.name.value, password: form.elements.password.value };
    let result;
    try {
      result = await window.vp.api("POST", form.action, fields);
    } catch (e) {
      result = { ok: false, data: { error: window.vp.word("login.unreachable") } };
    }
    if (result.ok) {
      window.location.assign(form.dataset.next || "/");
      return;
    }
    error.textContent = window.vp.word("login.failed") + (result.data && result.data.error ? " : " + result.data.error : "");
    error.hidden = false;
    form.elements.password.value = "";
    form.elements.password.focus();
  });
});
