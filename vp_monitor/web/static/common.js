// What every page shares: its words, the CSRF token, the sign-out button, missing images.
"use strict";
(function () {
  const body = document.body;
  const vp = (window.vp = window.vp || {});
  vp.words = JSON.parse(body.dataset.words || "{}");
  vp.word = function (key, values) {
    let text = vp.words[key] || key;
    for (const [name, value] of Object.entries(values || {})) text = text.split("{" + name + "}").join(value);
    return text;
  };
  const meta = document.querySelector('meta[name="csrf-token"]');
  vp.csrf = meta ? meta.content : "";
  // A request to the API with a JSON body, or a body sent as it is (a file, a text) when its
  // `mediaType` is given; writes carry the session's CSRF token.
  vp.api = async function (method, url, body, mediaType) {
    const headers = { Accept: "application/json" };
    if (vp.csrf) headers["X-CSRF-Token"] = vp.csrf;
    if (body !== undefined) headers["Content-Type"] = mediaType || "application/json";
    const response = await fetch(url, { method, headers, credentials: "same-origin",
      body: body === undefined || mediaType ? body : JSON.stringify(body) });
    let data = null;
    try { data = await response.json(); } catch (e) { data = null; }
    return { ok: response.ok, status: response.status, data };
  };
  // The API's live events (Server-Sent Events), each handed to `receive` as its JSON, and
  // `opened` called each time the stream (re)opens; the page's #live says whether it is up;
  // a closed stream is reopened after RETRY_MS.
  const EVENT_KINDS = ["camera.state", "incident.opened", "incident.acknowledged", "incident.resolved"];
  const RETRY_MS = 5000;
  function setLive(on) {
    const live = document.getElementById("live");
    if (!live) return;
    live.textContent = vp.word(on ? "wall.live_on" : "wall.live_off");
    live.classList.toggle("off", !on);
  }
  vp.listen = function (url, receive, opened) {
    if (!window.EventSource || !url) return;
    const source = new EventSource(url, { withCredentials: true });
    const onMessage = function (message) {
      let data;
      try { data = JSON.parse(message.data); } catch (e) { return; }
      if (!data.kind && message.type !== "message") data.kind = message.type;
      receive(data);
    };
    source.onmessage = onMessage;
    for (const kind of EVENT_KINDS) source.addEventListener(kind, onMessage);
    source.onopen = function () { setLive(true); if (opened) opened(); };
    source.onerror = function () {
      setLive(false);
      if (source.readyState === EventSource.CLOSED) setTimeout(function () { vp.listen(url, receive, opened); }, RETRY_MS);
    };
  };
  // An image the server has not got (no reference yet, no frame): a word in its place.
  function markMissing(img) {
    if (!img.parentNode) return;
    const placeholder = document.createElement("span");
    placeholder.className = "missing-image";
    placeholder.textContent = vp.word("wall.no_image");
    if (img.alt) placeholder.setAttribute("aria-label", img.alt);
    img.replaceWith(placeholder);
  }
  document.addEventListener("error", function (event) {
    // A map's tiles are the map's own (a tile server that does not answer: a blank map).
    if (event.target && event.target.tagName === "IMG" && !event.target.closest(".leaflet-container")) markMissing(event.target);
  }, true);
  document.addEventListener("DOMContentLoaded", function () {
    for (const img of document.querySelectorAll("img")) {
      if (img.getAttribute("src") && img.complete && img.naturalWidth === 0 && img.getAttribute("loading") !== "lazy") markMissing(img);
    }
    const logout = document.getElementById("logout");
    if (logout) logout.addEventListener("click", async function () {
      await vp.api("DELETE", body.dataset.sessionUrl);
      window.location.assign("/login");
    });
  });
})();
