"""The files the browser gets besides pages: the project's scripts and style sheets (web/static)
and the front-end libraries `make` installs from npm into node_modules/ (no CDN), all in one
table by name, read once at start and served by the one `/static/{name}` route.

No path from a request reaches the file system: a name is looked up in this table or is
not found.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from importlib.resources import files
from pathlib import Path

STATIC = files("vp_monitor.web") / "static"
NODE_MODULES = Path(__file__).resolve().parents[2] / "node_modules"
MEDIA_TYPES = {".css": "text/css", ".js": "text/javascript", ".svg": "image/svg+xml"}
# The vendor files the pages use, by the name they ask for: name -> file under node_modules.
VENDOR = {
    "swagger-ui.css": "swagger-ui-dist/swagger-ui.css",
    "swagger-ui-bundle.js": "swagger-ui-dist/swagger-ui-bundle.js",
    "leaflet.js": "leaflet/dist/leaflet.js",
    "leaflet.css": "leaflet/dist/leaflet.css",
    "leaflet.markercluster.js": "leaflet.markercluster/dist/leaflet.markercluster.js",
    "MarkerCluster.css": "leaflet.markercluster/dist/MarkerCluster.css",
}


@dataclass(frozen=True)
class Asset:
    body: bytes
    media_type: str
    etag: str  # lets a browser keep its copy (304) while "no-cache" has it ask each time


def _asset(body: bytes, name: str) -> Asset | None:
    media_type = MEDIA_TYPES.get("." + name.rpartition(".")[2])
    if media_type is None:
        return None
    return Asset(body, media_type, '"' + hashlib.sha256(body).hexdigest()[:32] + '"')


def load_assets(node_modules: Path = NODE_MODULES) -> dict[str, Asset]:
    """Every file of web/static and every installed vendor file of VENDOR, by name. A vendor
    file missing (npm not run) is left out: its name answers 404, as any unknown name."""
    found: dict[str, Asset] = {}
    for entry in STATIC.iterdir():
        asset = _asset(entry.read_bytes(), entry.name) if entry.is_file() else None
        if asset is not None:
            found[entry.name] = asset
    for name, relative in VENDOR.items():
        path = node_modules / relative
        if name in found:
            raise RuntimeError(f"{name}: both a file of web/static and a vendor file")
        if path.is_file():
            found[name] = _asset(path.read_bytes(), name)
    return found


ASSETS = load_assets()
