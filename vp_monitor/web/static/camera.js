// The camera's state timeline and availability over 24 h, 7 days or 30 days, from the API.
"use strict";
document.addEventListener("DOMContentLoaded", function () {
  const section = document.getElementById("timeline");
  if (!section) return;
  const bar = document.getElementById("timeline-bar");
  const availability = document.getElementById("availability");
  const legend = document.getElementById("timeline-marks");
  const HOURS = { "24h": 24, "7d": 168, "30d": 720 };

  async function show(period) {
    for (const button of section.querySelectorAll("[data-period]")) {
      button.setAttribute("aria-pressed", String(button.dataset.period === period));
    }
    const end = new Date();
    const start = new Date(end.getTime() - HOURS[period] * 3600 * 1000);
    const range = "?from=" + encodeURIComponent(start.toISOString()) + "&to=" + encodeURIComponent(end.toISOString());
    const history = await window.vp.api("GET", section.dataset.historyUrl + range);
    bar.replaceChildren();
    legend.replaceChildren();
    if (!history.ok || !history.data || !Array.isArray(history.data.items)) {
      bar.textContent = window.vp.word("camera.no_history");
    } else {
      const marks = history.data.items.slice();
      if (history.data.state_at_start) marks.unshift({ at: start.toISOString(), state: history.data.state_at_start });
      const lang = document.documentElement.lang === "fr" ? "fr-FR" : "en-GB";
      const when = function (at) { return new Date(at).toLocaleString(lang, { timeZone: "Europe/Paris" }); };
      legend.replaceChildren();
      marks.forEach(function (mark, index) {
        const item = document.createElement("li");
        item.textContent = when(mark.at) + " : " + window.vp.word("state." + mark.state);
        legend.appendChild(item);
        const from = Math.max(start.getTime(), new Date(mark.at).getTime());
        const to = index + 1 < marks.length ? new Date(marks[index + 1].at).getTime() : end.getTime();
        const span = document.createElement("span");
        span.className = "state-" + mark.state;
        span.title = item.textContent;
        span.style.width = (100 * Math.max(0, to - from) / (end - start)).toFixed(3) + "%";
        bar.appendChild(span);
      });
    }
    const figures = await window.vp.api("GET", section.dataset.availabilityUrl + range);
    const items = figures.ok && figures.data && Array.isArray(figures.data.items) ? figures.data.items : [];
    const pct = items.length ? items[0].availability_pct : null;
    availability.textContent = pct === null || pct === undefined ? "—" : String(pct).replace(".", document.documentElement.lang === "fr" ? "," : ".") + " %";
  }

  for (const button of section.querySelectorAll("[data-period]")) {
    button.addEventListener("click", function () { show(button.dataset.period); });
  }
  show("24h");
});
