"""`vp-monitor analyze` on image files."""

from __future__ import annotations

import json

import cv2
import numpy as np
from click.testing import CliRunner

from vp_monitor.vision.cli import analyze


def write(path, image):
    cv2.imwrite(str(path), image)
    return str(path)


def test_json_output_shape(tmp_path):
    """--json prints sorted conditions and float metrics for a black frame."""
    black = np.zeros((90, 160, 3), np.uint8)
    rng = np.random.default_rng(0)
    scene = rng.integers(0, 255, (90, 160, 3), dtype=np.uint8)
    args = ["--reference", write(tmp_path / "r.png", scene), "--previous"]
    args += [write(tmp_path / "p.png", black), write(tmp_path / "c.png", black), "--json"]
    result = CliRunner().invoke(analyze, args)
    assert result.exit_code == 0, result.output
    data = json.loads(result.output)
    assert data["conditions"] == ["black"]
    assert all(isinstance(v, float) for v in data["metrics"].values())


def test_human_output(tmp_path):
    """Without --json a human line lists the conditions, then one metric per line."""
    black = write(tmp_path / "c.png", np.zeros((90, 160, 3), np.uint8))
    result = CliRunner().invoke(analyze, [black])
    assert result.exit_code == 0
    assert result.output.splitlines()[0] == "conditions: black"
    assert "mean_luma" in result.output


def test_unreadable_file_exits_2(tmp_path):
    """An unreadable image is a clear error naming the file, exit code 2."""
    bad = tmp_path / "broken.png"
    bad.write_bytes(b"not an image")
    good = write(tmp_path / "c.png", np.zeros((90, 160, 3), np.uint8))
    result = CliRunner().invoke(analyze, ["--reference", str(bad), good])
    assert result.exit_code == 2
    assert "broken.png" in result.output


def test_missing_file_exits_2(tmp_path):
    """A missing current image is reported by name with exit code 2."""
    result = CliRunner().invoke(analyze, [str(tmp_path / "absent.png"), "--json"])
    assert result.exit_code == 2
    assert "absent.png" in result.output
