"""The README's pictures: a few of the browser tests' screenshots, scaled down and kept small.

    python tools/readme_screenshots.py SHOTS_DIR docs/screenshots

`make screenshots` runs the page tests (which save every page they see under SHOTS_DIR, the
two towns' data in Debian's chromium) and then this, so the README's pictures are the pages as
they are. OpenCV (already a dependency) scales and writes them; PNG at its strongest setting.
"""

from __future__ import annotations

import sys
from pathlib import Path

import cv2

# The screenshots the README shows, by the name the page tests save them under.
README_SHOTS = ("wall.png", "incident.png", "map.png")
WIDTH = 960  # pixels: readable on GitHub, a few hundred kB at most


def shrink(source: Path, target: Path) -> int:
    """Write `source` scaled to WIDTH (never up) as `target`; its size in bytes."""
    image = cv2.imread(str(source), cv2.IMREAD_COLOR)
    if image is None:
        raise SystemExit(f"{source}: not a picture (run the page tests with VP_SHOTS first)")
    height, width = image.shape[:2]
    if width > WIDTH:
        size = (WIDTH, round(height * WIDTH / width))
        image = cv2.resize(image, size, interpolation=cv2.INTER_AREA)
    if not cv2.imwrite(str(target), image, [cv2.IMWRITE_PNG_COMPRESSION, 9]):
        raise SystemExit(f"{target}: could not be written")
    return target.stat().st_size


def main(argv: list[str]) -> int:
    if len(argv) != 2:
        print(__doc__.strip().splitlines()[2].strip(), file=sys.stderr)
        return 2
    shots, out = Path(argv[0]), Path(argv[1])
    missing = [name for name in README_SHOTS if not (shots / name).is_file()]
    if missing:
        print(f"{shots}: no {', '.join(missing)} (run `make screenshots`)", file=sys.stderr)
        return 1
    out.mkdir(parents=True, exist_ok=True)
    for name in README_SHOTS:
        print(f"{out / name}: {shrink(shots / name, out / name):,} bytes")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
