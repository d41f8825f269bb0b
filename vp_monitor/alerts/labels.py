"""Human labels (French and English) for conditions, states, severities and events.

One table per vocabulary so that e-mails, the dashboard and reports say the same thing.
"""

from __future__ import annotations

from typing import Literal

Language = Literal["fr", "en"]

CONDITIONS: dict[str, dict[Language, str]] = {
    "unreachable": {"fr": "caméra injoignable", "en": "camera unreachable"},
    "auth_failed": {"fr": "authentification refusée", "en": "authentication failed"},
    "onvif_error": {"fr": "erreur ONVIF", "en": "ONVIF error"},
    "rtsp_error": {"fr": "erreur de flux RTSP", "en": "RTSP stream error"},
    "no_video": {"fr": "pas de vidéo", "en": "no video"},
    "black": {"fr": "image noire", "en": "black image"},
    "frozen": {"fr": "image figée", "en": "frozen image"},
    "blurred": {"fr": "image floue", "en": "blurred image"},
    "covered": {"fr": "caméra masquée", "en": "lens covered"},
    "moved": {"fr": "caméra déplacée", "en": "camera moved"},
    "overexposed": {"fr": "image surexposée", "en": "overexposed image"},
    "underexposed": {"fr": "image sous-exposée", "en": "underexposed image"},
    "low_fps": {"fr": "débit d'images trop faible", "en": "low frame rate"},
    "packet_loss": {"fr": "pertes de paquets", "en": "packet loss"},
    "clock_drift": {"fr": "horloge décalée", "en": "clock drift"},
    "device_replaced": {"fr": "équipement remplacé", "en": "device replaced"},
    "firmware_changed": {"fr": "micrologiciel modifié", "en": "firmware changed"},
    "config_mismatch": {"fr": "configuration non conforme", "en": "configuration mismatch"},
    "flapping": {"fr": "état instable (bascules répétées)", "en": "flapping"},
    "site_down": {"fr": "site entier hors service", "en": "whole site down"},
    "monitor_isolated": {
        "fr": "supervision isolée du réseau",
        "en": "monitor cut off from the network",
    },
}

CAMERA_STATES: dict[str, dict[Language, str]] = {
    "unknown": {"fr": "en cours de vérification", "en": "being checked"},
    "ok": {"fr": "en service", "en": "ok"},
    "degraded": {"fr": "dégradée", "en": "degraded"},
    "down": {"fr": "hors service", "en": "down"},
    "maintenance": {"fr": "en maintenance", "en": "under maintenance"},
    "decommissioned": {"fr": "retirée du service", "en": "decommissioned"},
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
