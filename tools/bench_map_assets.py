"""What the map page makes the browser download besides its HTML: the project's own scripts
and style sheets, and the map library's (Leaflet, leaflet.markercluster), in bytes
uncompressed and gzip-compressed, from the asset table the service serves them from.

The files are those map.html and base.html (which it extends) name under /static/.

    .venv/bin/python tools/bench_map_assets.py
"""

from __future__ import annotations

import gzip
import re
from importlib.resources import files

from vp_monitor.web.assets import ASSETS, VENDOR

TEMPLATES = ("base.html", "map.html")
STATIC_NAME = re.compile(r'/static/([A-Za-z0-9._-]+)"')


def main() -> None:
    folder = files("vp_monitor.web") / "templates"
    texts = [(folder / template).read_text(encoding="utf-8") for template in TEMPLATES]
    names = [name for text in texts for name in STATIC_NAME.findall(text)]
    totals = {"own": [0, 0], "map library": [0, 0]}
    print(f"{'file':<28} {'part':<12} {'bytes':>9} {'gzip':>8}")
    for name in dict.fromkeys(names):
        body = ASSETS[name].body
        part = "map library" if name in VENDOR else "own"
        packed = len(gzip.compress(body, 9))
        totals[part][0] += len(body)
        totals[part][1] += packed
        print(f"{name:<28} {part:<12} {len(body):>9,} {packed:>8,}")
    for part, (size, packed) in totals.items():
        print(f"{'total ' + part:<41} {size:>9,} {packed:>8,}")


if __name__ == "__main__":
    main()
