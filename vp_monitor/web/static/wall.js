// The status wall, live: camera state changes from the API's event stream recolour their
// tile and the counts without a reload; a new critical incident raises a cue (banner, and a
// tone when the operator turned sound on) until silenced; ?kiosk=1 cycles problem sites.
"use strict";
(function () {
  const vp = window.vp;
  const ICONS = { down: "✖", degraded: "▲", unknown: "?", maintenance: "⚙", ok: "✔", decommissioned: "–" };
  const KIOSK_STEP_MS = 10000;
  const KIOSK_RELOAD_MS = 3000;
  let soundOn = false;
  let audio = null;

  function tileOf(code) {
    return document.querySelector('.tile[data-camera="' + CSS.escape(code) + '"]');
  }

  function bumpCount(state, delta) {
    const cell = document.querySelector('[data-count="' + CSS.escape(state) + '"]');
    if (cell) cell.textContent = String(Math.max(0, Number(cell.textContent) + delta));
  }

  // The wall screen shows problem cameras only: a change it cannot show in place (a camera
  // not on it went wrong, or one on it came back) reloads it, once for a burst of changes.
  let reloadTimer = null;
  function reloadSoon() {
    if (reloadTimer === null) reloadTimer = setTimeout(function () { window.location.reload(); }, KIOSK_RELOAD_MS);
  }

  // One camera's new state on its tile (and in the counts when it was on the wall).
  function applyState(event) {
    const tile = tileOf(event.camera || "");
    const kiosk = document.body.classList.contains("kiosk");
    if (kiosk && event.state && (tile ? event.state === "ok" : event.state !== "ok")) reloadSoon();
    if (!tile || !event.state) return false;
    const before = tile.dataset.state;
    if (before === event.state) return true;
    tile.classList.remove("state-" + before);
    tile.classList.add("state-" + event.state, "changed");
    tile.dataset.state = event.state;
    tile.querySelector(".state .icon").textContent = ICONS[event.state] || "?";
    tile.querySelector(".state-label").textContent = vp.word("state." + event.state);
    const conditions = tile.querySelector(".conditions");
    if (conditions && Array.isArray(event.conditions)) {
      conditions.textContent = event.conditions.map(function (name) { return vp.word("condition." + name); }).join(", ");
    }
    // The picture of the check that changed it (a black camera's tile turns black too).
    const picture = tile.querySelector("img");
    if (picture) picture.src = picture.src.split("?")[0] + "?seen=" + Date.now();
    bumpCount(before, -1);
    bumpCount(event.state, 1);
    return true;
  }

  function tone() {
    if (!soundOn) return;
    try {
      audio = audio || new AudioContext();
      const oscillator = audio.createOscillator();
      const gain = audio.createGain();
      oscillator.frequency.value = 880;
      gain.gain.value = 0.2;
      oscillator.connect(gain).connect(audio.destination);
      oscillator.start();
      oscillator.stop(audio.currentTime + 0.6);
    } catch (e) { /* no audio device: the banner stays */ }
  }

  let toneTimer = null;
  function raiseCue(event) {
    const cue = document.getElementById("cue");
    document.getElementById("cue-text").textContent = vp.word("wall.critical", { camera: event.camera || event.site || "" });
    cue.hidden = false;
    cue.classList.add("flash");
    tone();
    clearInterval(toneTimer);
    toneTimer = setInterval(tone, 5000);
  }

  function silence() {
    const cue = document.getElementById("cue");
    cue.hidden = true;
    cue.classList.remove("flash");
    clearInterval(toneTimer);
  }

  // Every event of the stream, real or synthetic (document "vp:event"), goes through here.
  function applyEvent(event) {
    if (!event || !event.kind) return;
    if (event.kind === "camera.state") applyState(event);
    if (event.kind === "incident.opened" && event.severity === "critical" && !event.silenced) raiseCue(event);
  }

  // Kiosk: one problem site at a time, each for KIOSK_STEP_MS.
  function cycleSites() {
    const tiles = Array.from(document.querySelectorAll(".tile"));
    const sites = Array.from(new Set(tiles.map(function (tile) { return tile.dataset.site; })));
    const heading = document.getElementById("kiosk-site");
    if (!sites.length) return;
    let index = 0;
    function show() {
      const site = sites[index % sites.length];
      for (const tile of tiles) tile.classList.toggle("elsewhere", tile.dataset.site !== site);
      heading.textContent = site + " — " + vp.word("wall.site_count", { index: (index % sites.length) + 1, count: sites.length });
      index += 1;
    }
    show();
    if (sites.length > 1) setInterval(show, KIOSK_STEP_MS);
    document.addEventListener("click", function () {
      if (document.fullscreenElement === null && document.documentElement.requestFullscreen) {
        document.documentElement.requestFullscreen().catch(function () {});
      }
    }, { once: true });
  }

  document.addEventListener("vp:event", function (event) { applyEvent(event.detail); });
  document.addEventListener("DOMContentLoaded", function () {
    const holder = document.querySelector("[data-events-url]");
    vp.listen(holder ? holder.dataset.eventsUrl : "", applyEvent);
    document.getElementById("cue-silence").addEventListener("click", silence);
    const sound = document.getElementById("sound");
    if (sound) sound.addEventListener("click", function () {
      soundOn = !soundOn;
      sound.setAttribute("aria-pressed", String(soundOn));
      sound.textContent = vp.word(soundOn ? "wall.sound_off" : "wall.sound_on");
    });
    if (document.body.classList.contains("kiosk")) cycleSites();
  });
  vp.wall = { applyEvent: applyEvent, silence: silence };
})();
