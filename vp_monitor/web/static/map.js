// The map of sites: one Leaflet marker per site, marked by the worst state of its cameras
// (colour, icon and word), grouped by leaflet.markercluster when close; a popup with its
// counts and a link to its cameras on the wall. Live: a camera state change on the event
// stream has the map ask the API for the sites again (at most once per REFRESH_MS).
"use strict";
(function () {
  const vp = window.vp;
  const REFRESH_MS = 1000;
  const MAX_ZOOM = 19;
  let setup = null;
  let cluster = null;
  const markers = new Map(); // site id -> marker

  function element(tag, className, text) {
    const node = document.createElement(tag);
    if (className) node.className = className;
    if (text !== undefined) node.textContent = text;
    return node;
  }

  function badge(state, text, hidden) {
    const holder = element("span", "site-marker state-" + state);
    holder.append(element("span", "icon", setup.icons[state] || "?"), " ", element("span", "state-label", text));
    holder.firstChild.setAttribute("aria-hidden", "true");
    if (hidden) holder.append(element("span", "visually-hidden", hidden));
    return holder;
  }

  // A marker's icon: its state's icon and word; the site's name for screen readers.
  function siteIcon(site) {
    return L.divIcon({ html: badge(site.state, vp.word("state." + site.state), " — " + site.name),
      className: "site-pin", iconSize: null });
  }

  function popup(site) {
    const box = element("div", "site-popup");
    box.append(element("strong", "site-name", site.name), element("div", "site-town", site.municipality_name));
    const counts = element("ul", "site-counts");
    for (const state of setup.states) {
      const count = site.states[state] || 0;
      if (!count) continue;
      const item = element("li", "state-" + state);
      item.append(element("span", "icon", setup.icons[state]), " ", vp.word("state." + state) + " : ", element("strong", "", String(count)));
      item.firstChild.setAttribute("aria-hidden", "true");
      counts.append(item);
    }
    if (!site.total) counts.append(element("li", "", vp.word("map.no_camera")));
    const link = element("a", "site-wall", vp.word("map.wall_link"));
    link.href = setup.wall_url.replace("{id}", encodeURIComponent(site.id));
    box.append(counts, link);
    return box;
  }

  // A group of markers: the worst of their sites' states, and how many sites it holds.
  function clusterIcon(group) {
    const states = group.getAllChildMarkers().map(function (marker) { return marker.options.site.state; });
    const worst = setup.states.find(function (state) { return states.includes(state); }) || "unknown";
    const hidden = vp.word("map.cluster", { count: states.length, state: vp.word("state." + worst) });
    const html = badge(worst, String(states.length), hidden);
    html.classList.add("site-group");
    html.lastChild.previousSibling.setAttribute("aria-hidden", "true");
    return L.divIcon({ html: html, className: "site-pin", iconSize: null });
  }

  function place(site) {
    const known = markers.get(site.id);
    if (known) {
      const changed = known.options.site.state !== site.state;
      known.options.site = site;
      known.setLatLng([site.latitude, site.longitude]);
      known.setPopupContent(popup(site));
      if (changed) known.setIcon(siteIcon(site));
      return changed ? known : null;
    }
    const marker = L.marker([site.latitude, site.longitude], { icon: siteIcon(site), site: site,
      title: site.name, keyboard: true, riseOnHover: true });
    marker.bindPopup(popup(site));
    markers.set(site.id, marker);
    cluster.addLayer(marker);
    return null;
  }

  function show(sites) {
    const seen = new Set();
    const changed = [];
    for (const site of sites) {
      seen.add(site.id);
      const marker = place(site);
      if (marker) changed.push(marker);
    }
    for (const [id, marker] of markers) {
      if (!seen.has(id)) { cluster.removeLayer(marker); markers.delete(id); }
    }
    if (changed.length) cluster.refreshClusters(changed);
    document.getElementById("site-map").dataset.states = sites.map(function (s) { return s.state; }).join(" ");
  }

  let refreshTimer = null;
  function refreshSoon() {
    if (refreshTimer !== null) return;
    refreshTimer = setTimeout(async function () {
      refreshTimer = null;
      const answer = await vp.api("GET", setup.data_url);
      if (answer.ok && answer.data) show(answer.data.sites);
    }, REFRESH_MS);
  }

  document.addEventListener("DOMContentLoaded", function () {
    const holder = document.getElementById("site-map");
    setup = JSON.parse(holder.dataset.setup);
    // maxZoom: the cluster group needs one, which a tile layer would otherwise give.
    const map = L.map(holder, { attributionControl: Boolean(setup.tile_url), maxZoom: MAX_ZOOM });
    if (setup.tile_url) {
      // Plain text credit: Leaflet writes it as HTML, so it is escaped here.
      const credit = element("span", "", setup.attribution).innerHTML;
      L.tileLayer(setup.tile_url, { attribution: credit, maxZoom: MAX_ZOOM }).addTo(map);
    }
    if (setup.sites.length) {
      const bounds = L.latLngBounds(setup.sites.map(function (s) { return [s.latitude, s.longitude]; }));
      map.fitBounds(bounds, { padding: [40, 40], maxZoom: 16 });
    } else {
      map.setView([46.6, 2.4], 5); // France, empty
    }
    // Added once the map has its view: the cluster group places markers by its zoom.
    cluster = L.markerClusterGroup({ iconCreateFunction: clusterIcon, showCoverageOnHover: false });
    map.addLayer(cluster);
    show(setup.sites);
    vp.listen(holder.dataset.eventsUrl, function (event) {
      if (event.kind === "camera.state") refreshSoon();
    }, refreshSoon);
    vp.siteMap = { map: map, cluster: cluster, markers: markers, refresh: refreshSoon };
  });
})();
