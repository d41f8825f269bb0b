// Technicians' forms: test a camera then save it (add-a-camera page); approve a reference and
// plan a maintenance window (camera page). Everything goes through the API with the CSRF token;
// what the API answers is put in the page as text, never as markup.
"use strict";
(function () {
  const vp = window.vp;

  function fields(form, names) {
    const found = {};
    for (const name of names) {
      const input = form.elements[name];
      if (!input) continue;
      if (input.type === "checkbox") found[name] = input.checked;
      else if (input.value.trim() !== "") found[name] = input.type === "number" ? Number(input.value) : input.value.trim();
    }
    return found;
  }

  function item(list, text) {
    const li = document.createElement("li");
    li.textContent = text;
    list.appendChild(li);
  }

  function failure(answer) {
    const data = answer.data || {};
    return vp.word("new.failed", { error: (data.error || answer.status) + (data.field ? " (" + data.field + ")" : "") });
  }

  function showTest(result) {
    document.getElementById("test-result").hidden = false;
    const state = document.getElementById("test-state");
    state.className = "state-badge state-" + result.state;
    state.textContent = result.state_label;
    document.getElementById("test-conditions").textContent = (result.conditions || []).map(function (c) { return c.label; }).join(", ");
    const device = document.getElementById("test-device");
    device.replaceChildren();
    for (const [name, value] of Object.entries(result.device || {})) {
      const dt = document.createElement("dt");
      dt.textContent = vp.word("header." + name);
      const dd = document.createElement("dd");
      dd.textContent = value === null ? "—" : String(value);
      dd.dataset.field = name;
      device.append(dt, dd);
    }
    const profiles = document.getElementById("test-profiles");
    profiles.replaceChildren();
    for (const p of result.profiles || []) item(profiles, [p.token, p.codec, p.width && p.width + "×" + p.height, p.fps && p.fps + " i/s"].filter(Boolean).join(" · "));
    const picture = document.getElementById("test-picture");
    picture.replaceChildren();
    for (const m of result.picture || []) item(picture, m.label + " : " + m.value);
    const frame = document.getElementById("test-frame");
    frame.hidden = !result.frame;
    document.getElementById("test-no-frame").hidden = Boolean(result.frame);
    if (result.frame) frame.src = result.frame;
  }

  function newCameraPage() {
    const testForm = document.getElementById("camera-test");
    const saveForm = document.getElementById("camera-save");
    if (!testForm) return;
    let testId = null;
    testForm.addEventListener("submit", async function (event) {
      event.preventDefault();
      const status = document.getElementById("test-status");
      status.textContent = vp.word("new.testing");
      const answer = await vp.api("POST", "/api/v1/tests", fields(testForm, ["onvif_host", "onvif_port", "username", "password", "rtsp_main"]));
      if (!answer.ok) {
        status.textContent = failure(answer);
        return;
      }
      status.textContent = "";
      testId = answer.data.id;
      showTest(answer.data);
      saveForm.hidden = false;
    });
    saveForm.addEventListener("submit", async function (event) {
      event.preventDefault();
      const status = document.getElementById("save-status");
      const body = fields(saveForm, ["code", "name", "municipality", "site", "maintainer", "allow_duplicate_device"]);
      const answer = await vp.api("POST", "/api/v1/tests/" + encodeURIComponent(testId) + "/camera", body);
      if (!answer.ok) {
        status.textContent = failure(answer);
        return;
      }
      window.location.assign("/cameras/" + encodeURIComponent(answer.data.code));
    });
  }

  // A form of the camera page posting JSON to the API, then showing the page again.
  function cameraForm(id, url, body) {
    const form = document.getElementById(id);
    if (!form) return;
    form.addEventListener("submit", async function (event) {
      event.preventDefault();
      const status = form.querySelector("[role=alert]");
      const answer = await vp.api("POST", url(form), body(form));
      if (answer.ok) window.location.reload();
      else status.textContent = failure(answer);
    });
  }

  function isoOf(local) {
    return local ? new Date(local).toISOString() : "";
  }

  document.addEventListener("DOMContentLoaded", function () {
    newCameraPage();
    cameraForm("approve-reference",
      function (form) { return "/api/v1/cameras/" + encodeURIComponent(form.dataset.camera) + "/references"; },
      function (form) { return { kind: form.elements.kind.value, note: form.elements.note.value }; });
    cameraForm("plan-maintenance",
      function () { return "/api/v1/maintenance"; },
      function (form) {
        const option = form.elements.scope.selectedOptions[0];
        const body = { scope: form.elements.scope.value, target: option.dataset.target,
          starts_at: isoOf(form.elements.starts_at.value), ends_at: isoOf(form.elements.ends_at.value),
          reason: form.elements.reason.value };
        if (option.dataset.municipality) body.municipality = option.dataset.municipality;
        return body;
      });
  });
})();
