"""The condition table is the one vocabulary: consistent, sufficient for a new condition, and
not copied anywhere else in the package."""

from __future__ import annotations

import ast
import json
import random
import socket
import subprocess
import sys
from pathlib import Path
from typing import get_args

import pytest

from vp_monitor import conditions
from vp_monitor.conditions import CONDITIONS, observed_by
from vp_monitor.probes.runner import PROBES
from vp_monitor.sim.camera import camera_address

ROOT = Path(__file__).resolve().parents[2]
FLOW = Path(__file__).with_name("new_condition_flow.py")

# Places that legitimately name single conditions, with why. Every other module takes names
# from the table. Probes may name what the table says they observe, vision checks what vision
# finds: those are derived below, not listed.
SINGLE_NAMES: dict[str, tuple[set[str], str]] = {
    "vp_monitor/probes/tiers.py": (
        {"onvif_error", "unreachable", "no_video"},
        "what an overrun means; ONVIF failure with working video; the inventory does not "
        "judge reachability",
    ),
    "vp_monitor/probes/check.py": ({"rtsp_error"}, "a camera with nothing to look at"),
    "vp_monitor/service/commands.py": ({"auth_failed"}, "a hint for a wrong password"),
    "vp_monitor/probes/runner.py": ({"unreachable", "no_video"}, "a probe overrun or crash"),
    "vp_monitor/alerts/incidents.py": ({"no_video", "flapping"}, "down without a condition"),
    "vp_monitor/alerts/correlation.py": (
        {"site_down", "monitor_isolated", "flapping"},
        "the outages correlation opens; the incident kind 'flapping'",
    ),
    "vp_monitor/alerts/reports.py": ({"flapping"}, "the incident kind"),
    "vp_monitor/texts.py": ({"flapping"}, "the incident kind's label"),
    "vp_monitor/monitor/cli.py": ({"flapping"}, "the console's flapping mark"),
    "vp_monitor/migrations/versions/0002_monitoring_and_alerting.py": (
        {"flapping"},
        "the camera_status.flapping column",
    ),
    "tools/eval_vision.py": (
        {name for name, row in CONDITIONS.items() if row.vision},
        "a synthetic fault per vision condition; exposure not judged at night",
    ),
    "tools/bench_detection.py": (
        {"black", "covered", "moved", "no_video", "unreachable", "ptz_not_home"},
        "the faults it times",
    ),
    "tools/bench_planner.py": ({"unreachable"}, "a sample result"),
    "tools/bench_lists.py": ({"no_video", "blurred"}, "sample states of a generated fleet"),
}
# The simulator's fault names are its own vocabulary (faults, not conditions), some words shared.
OWN_VOCABULARY = ("vp_monitor/sim/",)
# Several names in one literal are a copy of a set the table holds, wherever they are.
COPIES_ALLOWED = {"tools/eval_vision.py"}


def allowed_names(path: str) -> set[str]:
    """The condition names the module at `path` may write as string literals."""
    if path.startswith("vp_monitor/probes/") and Path(path).stem in PROBES:
        return set(observed_by(Path(path).stem))
    if path.startswith("vp_monitor/vision/"):
        return {name for name, row in CONDITIONS.items() if row.vision}
    return SINGLE_NAMES.get(path, (set(), ""))[0]


def vocabulary_uses(source: str) -> tuple[set[str], list[tuple[int, list[str]]]]:
    """The condition names a module's source writes, and its literals holding several."""
    names: set[str] = set()
    copies: list[tuple[int, list[str]]] = []
    for node in ast.walk(ast.parse(source)):
        if isinstance(node, ast.Constant) and node.value in CONDITIONS:
            names.add(node.value)
        items = node.keys if isinstance(node, ast.Dict) else getattr(node, "elts", None)
        if isinstance(node, ast.Set | ast.List | ast.Tuple | ast.Dict):
            found = [
                i.value for i in items if isinstance(i, ast.Constant) and i.value in CONDITIONS
            ]
            if len(found) >= 2:
                copies.append((node.lineno, found))
    return names, copies


def test_no_copy_of_the_vocabulary_outside_the_table():
    """No module but conditions.py lists conditions; single names only where allowed."""
    problems = []
    for file in sorted([*(ROOT / "vp_monitor").rglob("*.py"), *(ROOT / "tools").rglob("*.py")]):
        path = file.relative_to(ROOT).as_posix()
        if path == "vp_monitor/conditions.py" or path.startswith(OWN_VOCABULARY):
            continue
        names, copies = vocabulary_uses(file.read_text(encoding="utf-8"))
        if extra := names - allowed_names(path):
            problems.append(f"{path} names {sorted(extra)}: take them from vp_monitor.conditions")
        if path not in COPIES_ALLOWED:
            problems += [f"{path}:{line} lists {found}" for line, found in copies]
    assert not problems, "\n".join(problems)


def test_the_copy_finder_sees_sets_dicts_and_single_names():
    """The scanner behind the previous test finds what it must (so that test can fail)."""
    source = 'A = frozenset({"black", "frozen"})\nB = {"covered": 1, "moved": 2}\nC = "low_fps"\n'
    names, copies = vocabulary_uses(source)
    assert names == {"black", "frozen", "covered", "moved", "low_fps"}
    assert sorted(line for line, _ in copies) == [1, 2]
    assert allowed_names("vp_monitor/monitor/evaluator.py") == set()


def test_table_is_consistent():
    """Masks, observers, tiers and states name things that exist; alerting has no observer."""
    for row in CONDITIONS.values():
        assert row.name == row.name.lower() and row.fr and row.en, row
        assert row.masks <= set(CONDITIONS), row
        assert row.observed_by <= set(PROBES), row
        assert (row.family == "alerting") == (not row.observed_by), row
        assert not row.vision or (row.needs_answer and row.observed_by == {"stream"}), row
    from vp_monitor.probes.tiers import TIERS

    for tier in TIERS.values():
        assert CONDITIONS[tier.overrun].observed_by, tier
    assert tuple(state.name for state in conditions.CAMERA_STATES) == conditions.STATE_NAMES
    assert conditions.STATE_NAMES == ("unknown", "ok", "degraded", "down", "maintenance",
                                      "decommissioned")  # DESIGN.md's camera states  # fmt: skip
    assert conditions.SEVERITY_RANK == {"minor": 0, "major": 1, "critical": 2}
    assert set(get_args(conditions.Family)) == {row.family for row in CONDITIONS.values()}


def test_what_each_probe_observes_comes_from_the_table():
    """A failing probe still judges its failures; facts and pictures only when it answered."""
    assert observed_by("onvif", answered=False) == {"unreachable", "auth_failed", "onvif_error"}
    assert observed_by("onvif") - observed_by("onvif", answered=False) == {
        "clock_drift", "device_replaced", "firmware_changed", "config_mismatch",
    }  # fmt: skip
    assert observed_by("rtsp", answered=False) == {"unreachable", "auth_failed", "rtsp_error"}
    assert "black" in observed_by("stream") and "black" not in observed_by("stream", False)
    assert "no_video" in observed_by("stream", answered=False)


def _flow(tmp_path: Path, variant: str) -> subprocess.Popen:
    host = camera_address(random.randrange(30_000, 60_000))
    with socket.socket() as sock:
        sock.bind((host, 0))
        port = sock.getsockname()[1]
    work = tmp_path / variant
    work.mkdir()
    return subprocess.Popen(
        [sys.executable, str(FLOW), f"{host}:{port}", variant, str(work)],
        cwd=ROOT, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
    )  # fmt: skip


def _report(process: subprocess.Popen) -> dict:
    stdout, stderr = process.communicate(timeout=120)
    assert process.returncode == 0, stderr[-3000:]
    return json.loads(stdout.strip().splitlines()[-1])


@pytest.mark.timeout(150)
def test_one_table_row_is_all_a_new_condition_needs(tmp_path):
    """A row (and the vision check that finds it) makes a new condition raised on a simulated
    camera, confirmed after the hysteresis, cleared, labelled in French and English, rated by
    its severity and routed to a critical-only contact; without the row it never clears."""
    with_row, without_row = _flow(tmp_path, "with-row"), _flow(tmp_path, "without-row")
    report, control = _report(with_row), _report(without_row)

    steps = report["steps"]
    assert [step["seen"] for step in steps] == [["smudged"], ["smudged"], []]
    assert all("smudged" in step["observed"] for step in steps)
    assert [step["confirmed"] for step in steps] == [[], ["smudged"], []]
    assert [step["state"] for step in steps] == ["ok", "degraded", "ok"]
    assert report["availability"] == ["up", "down", "up"]  # a smudged picture is not usable
    assert report["labels"] == {"fr": "objectif sali", "en": "lens smudged"}
    assert report["incidents"] == [
        {"severity": "critical", "status": "resolved", "conditions": ["smudged"]}
    ]
    assert report["events"] == [
        {"event": "opened", "severity": "critical"},
        {"event": "resolved", "severity": "critical"},
    ]

    # The same camera and check without the row: seen, but no probe judges it, so it never
    # clears; no label; rated major by default, so the critical-only contact hears nothing.
    assert [step["confirmed"] for step in control["steps"]][-1] == ["smudged"]
    assert control["labels"] == {"fr": "smudged", "en": "smudged"}
    assert control["events"] == []


def test_each_picture_condition_is_explained_by_measures_its_check_reports():
    """Every measure a row names to explain it has a label; every picture condition names
    some, and frame analysis reports them when it finds the condition (a black picture against
    a textured reference: its brightness, contrast and ratio to the reference)."""
    import numpy as np

    from vp_monitor import vision
    from vp_monitor.texts import METRICS, Texts
    from vp_monitor.web.pages.words import Words

    for row in CONDITIONS.values():
        assert set(row.explained_by) <= set(METRICS), row
        assert not row.vision or row.explained_by, row
    reference = np.random.default_rng(1).integers(0, 255, (360, 640, 3), dtype=np.uint8)
    found = vision.analyze(np.zeros_like(reference), reference=reference)
    assert "black" in found.conditions
    assert set(CONDITIONS["black"].explained_by) <= set(found.metrics)
    said = Words(Texts("fr")).explain("black", found.metrics | {"sharpness": 0.0})
    assert (
        said == "luminosité moyenne : 0 ; contraste : 0 ; image 100 % plus sombre que la référence"
    )
    assert Words(Texts("en")).explain("frozen", {"mean_luma": 3.0}) == ""  # none of its own
