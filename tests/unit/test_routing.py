"""Routing and escalation, on SQLite and PostgreSQL: who is told about which incident, when."""

from __future__ import annotations

from datetime import UTC, datetime, time, timedelta

import pytest
from sqlalchemy import select

from vp_monitor.alerts.escalation import escalate_once
from vp_monitor.alerts.incidents import acknowledge, record_change
from vp_monitor.alerts.models import OutboxEvent
from vp_monitor.alerts.outbox import in_quiet_hours
from vp_monitor.alerts.settings import AlertSettings
from vp_monitor.db import session_factory, transaction
from vp_monitor.monitor.events import CameraChange
from vp_monitor.registry.models import Camera, Contact, Maintainer, Municipality, Site

T0 = datetime(2026, 11, 23, 10, 0, tzinfo=UTC)
SETTINGS = AlertSettings()


@pytest.fixture
def fleet(engine):
    """Towns A and B (one camera each, B's maintained by M) and contacts at several levels."""
    factory = session_factory(engine)
    with transaction(factory) as session:
        town_a = Municipality(insee="92012", name="Boulogne", departement="92")
        town_b = Municipality(insee="78646", name="Versailles", departement="78")
        maker = Maintainer(name="M-Maintenance")
        site_a = Site(name="Mairie", municipality=town_a)
        site_b = Site(name="Château", municipality=town_b)
        cam_a = Camera(code="A-1", site=site_a, municipality=town_a)
        cam_b = Camera(code="B-1", site=site_b, municipality=town_b, maintainer=maker)
        contacts = {
            "a": Contact(name="A", channel="email", address="a@a.fr"),
            "a_critical": Contact(
                name="A crit", channel="email", address="c@a.fr", min_severity="critical"
            ),
            "b": Contact(name="B", channel="email", address="b@b.fr"),
            "maker": Contact(name="M", channel="webhook", address="http://127.0.0.1:9/m"),
            "csu": Contact(name="CSU", channel="email", address="csu@sy.fr"),
            "csu_chief": Contact(name="Chief", channel="email", address="chief@sy.fr", level=1),
        }
        session.add_all([cam_a, cam_b, *contacts.values()])
        session.flush()
        for key in ("a", "a_critical"):
            contacts[key].municipality_id = town_a.id
        contacts["b"].municipality_id = town_b.id
        contacts["maker"].maintainer_id = maker.id
        ids = {key: contact.id for key, contact in contacts.items()}
        ids |= {"cam_a": cam_a.id, "cam_b": cam_b.id}
    return factory, ids


def change(camera_id, at, state="down", conditions=("unreachable",), previous="ok"):
    """A CameraChange as the evaluator would hand it over."""
    conditions = frozenset(conditions)
    return CameraChange(camera_id, at, state, previous, conditions, opened=conditions)


def told(factory, ids) -> dict[str, list[str]]:
    """Per contact key, the events it has in the outbox."""
    names = {value: key for key, value in ids.items() if not key.startswith("cam_")}
    out: dict[str, list[str]] = {}
    with factory() as session:
        for row in session.scalars(select(OutboxEvent).order_by(OutboxEvent.id)):
            out.setdefault(names[row.contact_id], []).append(row.payload["event"])
    return out


def test_municipality_hears_only_its_own_cameras(fleet):
    """A's contacts hear about A's camera, never B's; the supervision centre hears both."""
    factory, ids = fleet
    with transaction(factory) as session:
        record_change(session, change(ids["cam_b"], T0), SETTINGS)
    assert set(told(factory, ids)) == {"b", "maker", "csu"}
    with transaction(factory) as session:
        record_change(session, change(ids["cam_a"], T0), SETTINGS)
    result = told(factory, ids)
    assert set(result) == {"a", "a_critical", "b", "maker", "csu"}
    assert result["csu"] == ["opened", "opened"]
    with factory() as session:
        rows = session.scalars(select(OutboxEvent).where(OutboxEvent.contact_id == ids["a"]))
        assert [row.payload["camera"]["code"] for row in rows] == ["A-1"]


def test_min_severity_filters_and_worsening_tells_only_the_newly_concerned(fleet):
    """A minor fault skips critical-only contacts; when it turns critical only they are told."""
    factory, ids = fleet
    with transaction(factory) as session:
        record_change(session, change(ids["cam_a"], T0, "degraded", {"clock_drift"}), SETTINGS)
    assert "a_critical" not in told(factory, ids)
    with transaction(factory) as session:
        worse = change(ids["cam_a"], T0 + timedelta(minutes=1), "down", {"covered"}, "degraded")
        record_change(session, worse, SETTINGS)
    result = told(factory, ids)
    assert result["a_critical"] == ["opened"] and result["a"] == ["opened"]


def test_recovery_reaches_everyone_told_even_if_severity_dropped(fleet):
    """Whoever heard of the start hears of the end, though the incident became minor."""
    factory, ids = fleet
    steps = [
        change(ids["cam_a"], T0, "down", {"no_video"}),
        change(ids["cam_a"], T0 + timedelta(minutes=1), "degraded", {"clock_drift"}, "down"),
        change(ids["cam_a"], T0 + timedelta(minutes=2), "ok", (), "degraded"),
    ]
    for step in steps:
        with transaction(factory) as session:
            record_change(session, step, SETTINGS)
    assert told(factory, ids)["a_critical"] == ["opened", "resolved"]


def test_escalation_goes_to_level_one_after_the_delay(fleet):
    """Unacknowledged after escalate_after_s, the incident goes to level 1, once; then reminders."""
    factory, ids = fleet
    with transaction(factory) as session:
        record_change(session, change(ids["cam_b"], T0), SETTINGS)
    assert "csu_chief" not in told(factory, ids)
    with transaction(factory) as session:
        assert escalate_once(session, SETTINGS, T0 + timedelta(minutes=14)) == 0
        assert escalate_once(session, SETTINGS, T0 + timedelta(minutes=15)) == 1
        assert escalate_once(session, SETTINGS, T0 + timedelta(minutes=16)) == 0
    result = told(factory, ids)
    assert result["csu_chief"] == ["escalated"] and result["csu"] == ["opened"]
    with transaction(factory) as session:
        assert escalate_once(session, SETTINGS, T0 + timedelta(minutes=75)) == 1
    result = told(factory, ids)
    assert result["csu_chief"] == ["escalated", "reminder"]
    assert result["csu"] == ["opened", "reminder"] and result["b"] == ["opened", "reminder"]


def test_acknowledged_incident_is_neither_escalated_nor_reminded(fleet):
    """Acknowledgement stops escalation and reminders."""
    factory, ids = fleet
    with transaction(factory) as session:
        incident = record_change(session, change(ids["cam_b"], T0), SETTINGS)
        acknowledge(session, incident.id, "op", "", SETTINGS, T0 + timedelta(minutes=1))
    with transaction(factory) as session:
        assert escalate_once(session, SETTINGS, T0 + timedelta(hours=3)) == 0
    assert "csu_chief" not in told(factory, ids)


@pytest.mark.parametrize(
    ("start", "end", "local", "quiet"),
    [
        (time(22), time(7), time(23, 30), True),
        (time(22), time(7), time(6, 59), True),
        (time(22), time(7), time(7, 0), False),
        (time(12), time(14), time(13), True),
        (time(12), time(14), time(15), False),
        (None, None, time(3), False),
    ],
)
def test_quiet_hours_in_local_time(start, end, local, quiet):
    """Quiet hours are local (Europe/Paris) and may span midnight."""
    contact = Contact(quiet_from=start, quiet_until=end)
    paris_winter = datetime(2026, 11, 23, local.hour, local.minute, tzinfo=UTC) - timedelta(hours=1)
    assert in_quiet_hours(contact, SETTINGS, paris_winter) is quiet
