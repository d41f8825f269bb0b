"""Notification data objects: payload schema, JSON round-trip, grouping helpers, labels."""

import json
from datetime import UTC, datetime

import pytest

from vp_monitor import conditions
from vp_monitor.alerts import labels
from vp_monitor.alerts.notification import IncidentEvent, Notification, Recipient
from vp_monitor.redaction import MASK, url_origin

T0 = datetime(2026, 11, 23, 7, 30, tzinfo=UTC)


def event(incident_id="inc-1", kind="opened", severity="major", **changes):
    """An incident event with sensible defaults."""
    fields = dict(
        incident_id=incident_id,
        event=kind,
        severity=severity,
        conditions=("covered", "frozen"),
        camera_code="BB-0012",
        camera_name="Parvis de l'Hôtel de ville",
        site_name="Hôtel de ville",
        municipality_name="Boulogne-Billancourt",
        camera_state="degraded",
        started_at=T0,
        summary="Image masquée",
        metrics={"edge_density": 0.01},
        evidence_url="https://vp.example/evidence/1.jpg",
    )
    fields.update(changes)
    return IncidentEvent(**fields)


def notification(*items, secret="s3cret-hmac"):
    """A notification to a webhook recipient."""
    recipient = Recipient("webhook", "https://hooks.example/x?token=t0k", "fr", secret)
    return Notification("key-1", recipient, tuple(items), T0)


def test_payload_has_documented_schema():
    """to_json() gives the versioned payload with every documented field and no recipient."""
    payload = json.loads(notification(event()).to_json())
    assert payload["version"] == "1" and payload["type"] == "incidents"
    assert set(payload) == {
        "version",
        "type",
        "idempotency_key",
        "created_at",
        "severity",
        "counts",
        "items",
    }
    item = payload["items"][0]
    assert set(item) == {
        "incident_id", "event", "severity", "conditions", "camera", "site", "municipality",
        "started_at", "resolved_at", "duration_s", "summary", "metrics", "evidence_url",
    }  # fmt: skip
    assert item["camera"] == {"code": "BB-0012", "name": "Parvis de l'Hôtel de ville",
                              "state": "degraded"}  # fmt: skip
    assert item["started_at"] == "2026-11-23T07:30:00Z"
    assert item["conditions"] == ["covered", "frozen"]


def test_payload_never_contains_recipient_address_or_secret():
    """The payload is about incidents only: no URL token, no HMAC secret."""
    text = notification(event()).to_json()
    assert "s3cret-hmac" not in text and "t0k" not in text


def test_json_round_trip_gives_the_same_notification():
    """from_json(to_json(n)) == n, including a resolved event with duration."""
    resolved = event("inc-2", "resolved", resolved_at=T0, duration_s=3900.0, camera_state="ok")
    original = notification(event(), resolved)
    again = Notification.from_json(original.to_json(), original.recipient)
    assert again == original


def test_accents_are_kept_as_utf8():
    """Non-ASCII names are written as UTF-8, not \\u escapes."""
    assert "Hôtel" in notification(event()).to_json()


def test_unknown_payload_version_is_rejected():
    """A receiver parsing a future version gets a clear error rather than wrong data."""
    data = json.loads(notification(event()).to_json())
    data["version"] = "2"
    with pytest.raises(ValueError, match="version"):
        Notification.from_json(json.dumps(data), Recipient("webhook", "http://x"))


def test_grouping_helpers_split_failures_and_recoveries():
    """Severity is the worst ongoing one; recoveries do not count towards it."""
    n = notification(
        event("a", severity="minor"),
        event("b", severity="major"),
        event("c", "resolved", severity="critical"),
        event("a", "escalated", severity="minor"),
    )
    assert n.severity == "major"
    assert len(n.failures) == 3 and len(n.recoveries) == 1
    assert n.incident_ids == ("a", "b", "c")
    assert notification(event(kind="resolved")).severity is None


def test_naive_datetimes_are_taken_as_utc():
    """A naive started_at is written as UTC ("Z")."""
    naive = event(started_at=datetime(2026, 1, 2, 3, 4))
    assert naive.to_dict()["started_at"] == "2026-01-02T03:04:00Z"


def test_recipient_repr_hides_secret_and_url():
    """Logging a recipient shows neither its HMAC secret nor its URL."""
    text = repr(notification(event()))
    assert "s3cret-hmac" not in text and "t0k" not in text


def test_every_documented_condition_has_both_labels():
    """The condition table holds exactly DESIGN.md's conditions (and alert-only ones, and
    issue 14's ptz_not_home), each with a French and an English label."""
    design = (
        "unreachable auth_failed onvif_error rtsp_error no_video black frozen blurred covered "
        "moved overexposed underexposed low_fps packet_loss clock_drift device_replaced "
        "firmware_changed config_mismatch flapping site_down monitor_isolated ptz_not_home"
    ).split()
    assert set(conditions.CONDITIONS) == set(design)
    for name in design:
        assert set(labels.CONDITIONS[name]) == {"fr", "en"}
    assert labels.condition_label("covered", "fr") == "caméra masquée"
    assert labels.condition_label("covered", "en") == "lens covered"
    assert labels.condition_label("new_thing", "fr") == "new_thing"


@pytest.mark.parametrize(
    ("seconds", "fr", "en"),
    [(42, "42 s", "42 s"), (720, "12 min", "12 min"), (3900, "1 h 05 min", "1 h 05 min"),
     (187200, "2 j 4 h", "2 d 4 h")],
)  # fmt: skip
def test_format_duration(seconds, fr, en):
    """Durations read naturally in both languages."""
    assert labels.format_duration(seconds, "fr") == fr
    assert labels.format_duration(seconds, "en") == en


@pytest.mark.parametrize(
    ("url", "shown"),
    [
        ("https://user:pw@hooks.example:8443/services/T0/B0/XYZ?token=abc",
         "https://hooks.example:8443/…"),
        ("http://127.0.0.1:9000", "http://127.0.0.1:9000"),
        ("not a url", MASK),
    ],
)  # fmt: skip
def test_url_origin_keeps_only_scheme_host_port(url, shown):
    """Credentials, path tokens and query tokens never survive in a delivery error's URL."""
    assert url_origin(url) == shown
