"""`vp-monitor analyze`: run the frame analysis on image files."""

from __future__ import annotations

import json
from pathlib import Path

import click
import cv2
import numpy as np

from vp_monitor.vision import analyze as analyze_frame

EXIT_BAD_INPUT = 2


def read_image(path: Path) -> np.ndarray:
    """Decode an image file as BGR, or fail with a message naming the file."""
    try:
        data = np.frombuffer(path.read_bytes(), np.uint8)
    except OSError as error:
        raise click.ClickException(f"cannot read image: {path}: {error.strerror}") from None
    # Decoding from bytes: cv2.imread would also print its own warning on a bad file.
    image = cv2.imdecode(data, cv2.IMREAD_COLOR) if data.size else None
    if image is None:
        raise click.ClickException(f"cannot read image: {path}: not a decodable image")
    return image


@click.command("analyze")
@click.option("--reference", type=click.Path(path_type=Path), help="The camera's reference image.")
@click.option("--previous", type=click.Path(path_type=Path), help="A frame from a few seconds ago.")
@click.option("--json", "as_json", is_flag=True, help="Print JSON instead of a table.")
@click.argument("current", type=click.Path(path_type=Path))
def analyze(reference: Path | None, previous: Path | None, as_json: bool, current: Path) -> None:
    """Analyse CURRENT (an image file): black, frozen, blurred, covered, moved, exposure."""
    try:
        frames = {
            "current": read_image(current),
            "reference": read_image(reference) if reference else None,
            "previous": read_image(previous) if previous else None,
        }
    except click.ClickException as error:
        click.echo(f"Error: {error.message}", err=True)
        raise SystemExit(EXIT_BAD_INPUT) from None
    result = analyze_frame(
        frames["current"], reference=frames["reference"], previous=frames["previous"]
    )
    conditions = sorted(result.conditions)
    if as_json:
        click.echo(json.dumps({"conditions": conditions, "metrics": result.metrics}, indent=2))
        return
    click.echo(f"conditions: {', '.join(conditions) or 'none'}")
    width = max(len(name) for name in result.metrics)
    for name, value in sorted(result.metrics.items()):
        click.echo(f"  {name:<{width}}  {value:10.3f}")
