"""The catalogue of interface words: both languages everywhere, plurals, local dates."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from vp_monitor.alerts.report_format import plain_report
from vp_monitor.texts import COLUMNS, MESSAGES, METRICS, VALUES, Texts


def test_every_entry_has_french_and_english():
    """No word of the interface exists in one language only."""
    tables = [MESSAGES, COLUMNS, METRICS, *VALUES.values()]
    missing = [
        key for table in tables for key, entry in table.items() if set(entry) != {"fr", "en"}
    ]
    assert missing == []


@pytest.mark.parametrize(
    ("language", "count", "expected"),
    [("fr", 0, "0 ligne invalide"), ("fr", 1, "1 ligne invalide"), ("fr", 2, "2 lignes invalides"),
     ("en", 0, "0 invalid rows"), ("en", 1, "1 invalid row"), ("en", 2, "2 invalid rows")],
)  # fmt: skip
def test_plurals_follow_each_language(language, count, expected):
    """French takes the singular for 0 and 1, English for 1 only."""
    assert Texts(language)("count.invalid_row", count=count) == expected


def test_moments_are_local_to_the_second():
    """A UTC instant is shown in the display time zone, to the second, in the language's format."""
    moment = datetime(2026, 12, 1, 19, 44, 13, 722684, tzinfo=UTC)
    assert Texts("fr").moment(moment) == "01/12/2026 20:44:13"
    assert Texts("en").moment(moment) == "2026-12-01 20:44:13"
    assert Texts("en", "America/New_York").moment(moment) == "2026-12-01 14:44:13"


def test_report_summary_agrees_in_number():
    """The daily report counts cameras by state and incidents with the right agreement."""
    content = {
        "period": {
            "day": "2026-11-23",
            "timezone": "Europe/Paris",
            "start": "2026-11-22T23:00:00+00:00",
            "end": "2026-11-23T23:00:00+00:00",
        },
        "scope": {"name": "Versailles"},
        "cameras": {"total": 5, "states": {"ok": 3, "degraded": 2, "down": 0}},
        "availability": {"ratio": 0.9, "down_s": 60, "maintenance_s": 0, "lowest": []},
        "incidents": {"opened": 1, "resolved": 0, "still_open": 1, "items": [], "more": 0},
    }
    french, english = plain_report(content, "fr"), plain_report(content, "en")
    assert "Versailles : 90,00 %, 1 incident\n" in french
    assert "Caméras : 5 (3 en service, 2 dégradées)" in french
    assert "Incidents : 1 ouvert, 0 rétabli, 1 toujours en cours" in french
    assert "Versailles: 90.00 %, 1 incident\n" in english
    assert "Incidents: 1 opened, 0 resolved, 1 still open" in english


def test_console_change_line_is_local_and_in_words():
    """The demo and `serve` print a change at the local time, to the second, in words."""
    from vp_monitor.monitor.cli import change_line
    from vp_monitor.monitor.events import CameraChange

    change = CameraChange(camera_id=1, at=datetime(2026, 12, 1, 19, 44, 13, 722684, tzinfo=UTC),
                          state="degraded", previous_state="ok",
                          conditions=frozenset({"black"}), in_maintenance=True)  # fmt: skip
    assert change_line("BB-1", change, Texts("fr")) == (
        "20:44:13 BB-1 : en service → dégradée (image noire) [en maintenance]"
    )
    assert change_line("BB-1", change, Texts("en")) == (
        "20:44:13 BB-1: ok → degraded (black image) [under maintenance]"
    )


def test_every_image_metric_has_a_label():
    """Each figure frame analysis gives is named in words in both languages (an incident or
    `check` would otherwise show its raw key)."""
    import numpy as np

    from vp_monitor.texts import METRICS
    from vp_monitor.vision import analyze

    rng = np.random.default_rng(1)
    frame = rng.integers(0, 255, (360, 640, 3), dtype=np.uint8)
    metrics = analyze(frame, reference=frame, previous=frame).metrics
    assert metrics and set(metrics) <= set(METRICS), set(metrics) - set(METRICS)
