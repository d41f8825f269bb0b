"""Human labels (French and English) for conditions, states, severities and events.

One table per vocabulary so that e-mails, the dashboard and reports say the same thing.
"""

from __future__ import annotations

from typing import Literal

from vp_monitor import conditions

Language = Literal["fr", "en"]

# From the condition table (vp_monitor/conditions.py), which holds the words.
CONDITIONS: dict[str, dict[Language, str]] = {
    row.name: {"fr": row.fr, "en": row.en} for row in conditions.CONDITIONS.values()
}
CAMERA_STATES: dict[str, dict[Language, str]] = {
    row.name: {"fr": row.fr, "en": row.en} for row in conditions.CAMERA_STATES
}
SEVERITIES: dict[str, dict[Language, str]] = {
    "critical": {"fr": "CRITIQUE", "en": "CRITICAL"},
    "major": {"fr": "MAJEUR", "en": "MAJOR"},
    "minor": {"fr": "MINEUR", "en": "MINOR"},
}

EVENTS: dict[str, dict[Language, str]] = {
    "opened": {"fr": "ouvert", "en": "opened"},
    "acknowledged": {"fr": "pris en compte", "en": "acknowledged"},
    "resolved": {"fr": "rétabli", "en": "resolved"},
    "reopened": {"fr": "rouvert", "en": "reopened"},
    "escalated": {"fr": "escaladé", "en": "escalated"},
    "reminder": {"fr": "rappel", "en": "reminder"},
}


def label(table: dict[str, dict[Language, str]], key: str, language: Language) -> str:
    """The label of `key` in `language`; the key itself when the table does not know it."""
    return table.get(key, {}).get(language, key)


def condition_label(condition: str, language: Language) -> str:
    """Human label of one condition, e.g. covered -> "caméra masquée"."""
    return label(CONDITIONS, condition, language)


def format_duration(seconds: float, language: Language) -> str:
    """A duration for people: "45 s", "12 min", "3 h 05 min", "2 j 4 h" (French) / "2 d 4 h"."""
    total = int(seconds)
    days, rest = divmod(total, 86400)
    hours, rest = divmod(rest, 3600)
    minutes, secs = divmod(rest, 60)
    if days:
        return f"{days} {'j' if language == 'fr' else 'd'} {hours} h"
    if hours:
        return f"{hours} h {minutes:02d} min"
    if minutes:
        return f"{minutes} min"
    return f"{secs} s"
