// Technicians' registry forms: import cameras (check, then import); edit a camera, its site's
// address, or decommission it. Everything goes to the registry API with the CSRF token (vp.api); what it answers is
// put in the page as text, never as markup.
"use strict";
(function () {
  const vp = window.vp;

  function refusal(answer) {
    const data = answer.data || {};
    return vp.word("new.failed", { error: data.error || String(answer.status) });
  }

  function listItem(list, text, href) {
    const li = document.createElement("li");
    if (href) {
      const a = document.createElement("a");
      a.href = href;
      a.textContent = text;
      li.appendChild(a);
    } else li.textContent = text;
    list.appendChild(li);
  }

  function cameraUrl(code) {
    return "/cameras/" + encodeURIComponent(code);
  }

  // -- import ---------------------------------------------------------------------------------
  // The body to send and its media type: the file chosen, else the text pasted.
  function importBody(form) {
    const file = form.elements.file.files[0];
    if (file) return [file, /\.json$/i.test(file.name) ? "application/json" : "text/csv"];
    const text = form.elements.text.value;
    if (!text.trim()) return [null, null];
    return [text, /^\s*[[{]/.test(text) ? "application/json" : "text/csv"];
  }

  function showProblems(report) {
    const rows = document.getElementById("import-problem-rows");
    rows.replaceChildren();
    for (const problem of report.rows) {
      const tr = document.createElement("tr");
      const column = problem.column === null ? vp.word("import.whole_row") : problem.column;
      for (const text of [String(problem.line), column, problem.reason]) {
        const td = document.createElement("td");
        td.textContent = text;
        tr.appendChild(td);
      }
      rows.appendChild(tr);
    }
    document.getElementById("import-problems-summary").textContent =
      vp.word("import.problems_summary", { count: String(report.invalid_rows) });
    document.getElementById("import-problems").hidden = false;
  }

  function showReport(report) {
    document.getElementById("import-report-title").textContent =
      vp.word(report.written ? "import.done" : "import.checked");
    document.getElementById("import-summary").textContent = vp.word(report.written ? "import.summary_written" : "import.summary", {
      create: String(report.create), update: String(report.update),
      unchanged: String(report.unchanged), new_sites: String(report.new_sites) });
    for (const [id, codes] of [["import-created", report.created], ["import-updated", report.updated]]) {
      const list = document.getElementById(id);
      list.replaceChildren();
      for (const code of codes) listItem(list, code, report.written ? cameraUrl(code) : null);
      if (!codes.length) listItem(list, vp.word("import.nothing"));
    }
    document.getElementById("import-report").hidden = false;
  }

  function importPage() {
    const form = document.getElementById("camera-import");
    if (!form) return;
    form.addEventListener("submit", async function (event) {
      event.preventDefault();
      const status = document.getElementById("import-status");
      document.getElementById("import-problems").hidden = true;
      document.getElementById("import-report").hidden = true;
      const [body, mediaType] = importBody(form);
      if (body === null) {
        status.textContent = vp.word("import.empty");
        return;
      }
      const query = new URLSearchParams();
      if (event.submitter && event.submitter.value === "check") query.set("dry_run", "true");
      if (form.elements.allow_duplicate_device.checked) query.set("allow_duplicate_device", "true");
      status.textContent = vp.word("import.sending");
      const answer = await vp.api("POST", form.dataset.url + "?" + query, body, mediaType);
      const data = answer.data || {};
      const refusedRows = Array.isArray(data.rows) && data.rows.length > 0;
      status.textContent = answer.ok || refusedRows ? "" : refusal(answer);  // the rows say it
      if (refusedRows) showProblems(data);
      else if (answer.ok) showReport(data);
    });
  }

  // -- edit -----------------------------------------------------------------------------------
  function initialValue(input) {
    if (input.tagName === "SELECT") {
      const chosen = Array.from(input.options).find(function (o) { return o.defaultSelected; });
      return chosen ? chosen.value : "";
    }
    return input.defaultValue;
  }

  // The fields changed since the page was shown (the API keeps the others).
  function changes(form) {
    const found = {};
    for (const input of form.querySelectorAll("input[name], select[name]")) {
      if (input.type === "checkbox") continue;
      const value = input.value.trim();
      if (value === initialValue(input).trim() || value === "") continue;
      found[input.name] = input.type === "number" ? Number(value) : value;
    }
    return found;
  }

  function clearFieldErrors(form) {
    for (const slot of form.querySelectorAll("[data-error-for]")) slot.textContent = "";
    for (const input of form.querySelectorAll("[aria-invalid]")) input.removeAttribute("aria-invalid");
  }

  // The API's error beside the field it names, that field focused; else under the form.
  function showError(form, status, answer) {
    const data = answer.data || {};
    const slot = data.field && form.querySelector('[data-error-for="' + CSS.escape(data.field) + '"]');
    if (!slot) {
      status.textContent = refusal(answer);
      return;
    }
    slot.textContent = data.error;
    const input = form.elements[data.field];
    input.setAttribute("aria-invalid", "true");
    input.focus();
  }

  // A form sending its changed fields to the API record at its data-url (PATCH), then
  // opening its data-done page.
  function patchForm(id) {
    const form = document.getElementById(id);
    if (!form) return;
    form.addEventListener("submit", async function (event) {
      event.preventDefault();
      const status = form.querySelector("[role=alert]");
      status.textContent = "";
      clearFieldErrors(form);
      const body = changes(form);
      if (!Object.keys(body).length) {
        status.textContent = vp.word("edit.unchanged");
        return;
      }
      const shared = form.elements.allow_duplicate_device;
      const query = shared && shared.checked ? "?allow_duplicate_device=true" : "";
      const answer = await vp.api("PATCH", form.dataset.url + query, body);
      if (answer.ok) window.location.assign(form.dataset.done);
      else showError(form, status, answer);
    });
  }

  function decommissionForm() {
    const form = document.getElementById("camera-decommission");
    if (!form) return;
    form.addEventListener("submit", async function (event) {
      event.preventDefault();
      const status = form.querySelector("[role=alert]");  // the box ticked: the form is "required"
      const code = form.dataset.camera;
      const answer = await vp.api("POST", "/api/v1/cameras/" + encodeURIComponent(code) + "/decommission",
        { note: form.elements.note.value });
      if (answer.ok) window.location.assign(cameraUrl(code));
      else status.textContent = refusal(answer);
    });
  }

  document.addEventListener("DOMContentLoaded", function () {
    importPage();
    patchForm("camera-edit");
    patchForm("site-edit");
    decommissionForm();
  });
})();
