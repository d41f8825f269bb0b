"""Incidents from camera changes, on SQLite and PostgreSQL: open, resolve, reopen, flapping,
maintenance, site and monitor outages, replays after a crash."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy import func, select

from vp_monitor.alerts.incidents import IncidentNotFound, acknowledge, record_change
from vp_monitor.alerts.models import Incident, OutboxEvent
from vp_monitor.alerts.settings import AlertSettings
from vp_monitor.db import transaction
from vp_monitor.monitor.events import CameraChange
from vp_monitor.monitor.models import CameraStatus
from vp_monitor.registry.models import Camera, Contact, Municipality, Site

T0 = datetime(2026, 11, 23, 10, 0, tzinfo=UTC)
SETTINGS = AlertSettings()


class Evaluator:
    """Plays the evaluator: keeps each camera's state in memory and hands every check to
    record_change. No camera_status row is written: alerting works from the changes alone."""

    def __init__(self, factory, settings: AlertSettings = SETTINGS) -> None:
        self.factory, self.settings = factory, settings
        self.states: dict[int, tuple[str, frozenset[str]]] = {}

    def check(self, camera_id: int, at: datetime, state="ok", conditions=(), **extra):
        previous, before = self.states.get(camera_id, ("unknown", frozenset()))
        conditions = frozenset(conditions)
        change = CameraChange(
            camera_id=camera_id,
            at=at,
            state=state,
            previous_state=previous,
            conditions=conditions,
            opened=conditions - before,
            cleared=before - conditions,
            **extra,
        )
        self.states[camera_id] = (state, conditions)
        with transaction(self.factory) as session:
            return record_change(session, change, self.settings)


def build_fleet(factory, cameras_per_site=(2,), uplinks=None) -> dict[str, list[int]]:
    """Municipality "A" with one site per entry (N cameras each) and one supervision contact."""
    ids: dict[str, list[int]] = {}
    with transaction(factory) as session:
        town = Municipality(insee="92012", name="Boulogne", departement="92")
        session.add(town)
        session.add(Contact(name="CSU", channel="email", address="csu@example.org"))
        for index, count in enumerate(cameras_per_site):
            uplink = uplinks[index] if uplinks else f"UP-{index}"
            site = Site(name=f"Site {index}", municipality=town, uplink=uplink)
            cameras = [
                Camera(code=f"S{index}-C{n:03d}", name=f"cam {n}", site=site, municipality=town)
                for n in range(count)
            ]
            session.add_all(cameras)
            session.flush()
            ids[f"site{index}"] = [camera.id for camera in cameras]
    return ids


def incidents(factory, **where) -> list[Incident]:
    """Incidents matching column values, oldest first."""
    with factory() as session:
        query = select(Incident).filter_by(**where).order_by(Incident.opened_at)
        return list(session.scalars(query))


def events(factory) -> list[tuple[str, str]]:
    """(incident id, event) of every outbox row, in order."""
    with factory() as session:
        rows = session.scalars(select(OutboxEvent).order_by(OutboxEvent.id))
        return [(row.incident_id, row.payload["event"]) for row in rows]


def test_down_opens_one_incident_with_evidence_and_worst_severity(factory):
    """A camera going down opens one incident with its conditions, evidence, worst severity."""
    cam = build_fleet(factory, (1,))["site0"][0]
    check = Evaluator(factory).check
    check(cam, T0, "degraded", {"clock_drift"})
    check(
        cam,
        T0 + timedelta(minutes=1),
        "down",
        {"no_video", "clock_drift"},
        evidence_jpeg=b"\xff\xd8jpeg",
        metrics={"latency_ms": 12.0},
    )
    [incident] = incidents(factory)
    assert incident.conditions == ["clock_drift", "no_video"]
    assert incident.severity == "critical"
    assert incident.evidence_jpeg == b"\xff\xd8jpeg"
    assert incident.metrics == {}  # the clock_drift check that opened it had no figures
    assert incident.worst["metrics"] == {"latency_ms": 12.0}  # its worst moment's
    assert [e for _, e in events(factory)] == ["opened"]


def test_an_incident_keeps_its_opening_and_worst_figures(factory):
    """Later checks do not overwrite the figures that opened an incident (the evidence); those
    of its worst moment are kept too, replaced only by a worse one; the webhook tells the
    opening's."""
    cam = build_fleet(factory, (1,))["site0"][0]
    check = Evaluator(factory).check
    frozen = {"frame_diff": 0.82, "peak_diff": 1.35, "mean_luma": 119.8}
    check(cam, T0, "degraded", {"frozen"}, metrics=frozen)
    check(cam, T0 + timedelta(minutes=1), "degraded", {"frozen"},
          metrics={"rtsp_main_response_s": 0.02})  # fmt: skip
    [incident] = incidents(factory)
    assert incident.metrics == frozen
    assert incident.worst == {"at": "2026-11-23T10:00:00Z", "state": "degraded",
                              "severity": "major", "conditions": ["frozen"],
                              "metrics": frozen}  # fmt: skip
    check(cam, T0 + timedelta(minutes=2), "down", {"frozen", "unreachable"},
          metrics={"rtsp_main_response_s": 5.0})  # fmt: skip
    check(cam, T0 + timedelta(minutes=3), "degraded", {"frozen"},
          metrics={"frame_diff": 0.9})  # fmt: skip
    [incident] = incidents(factory)
    assert incident.metrics == frozen
    assert incident.worst["at"] == "2026-11-23T10:02:00Z"
    assert incident.worst["state"] == "down" and incident.worst["severity"] == "critical"
    assert incident.worst["metrics"] == {"rtsp_main_response_s": 5.0}
    with factory() as session:
        opened = session.scalars(select(OutboxEvent).order_by(OutboxEvent.id)).first()
    assert opened.payload["metrics"] == frozen


def test_recovery_resolves_and_tells_duration(factory):
    """Recovery resolves the incident automatically and tells its duration."""
    cam = build_fleet(factory, (1,))["site0"][0]
    check = Evaluator(factory).check
    check(cam, T0, "degraded", {"black"})
    check(cam, T0 + timedelta(minutes=7), "ok")
    [incident] = incidents(factory)
    assert incident.status == "resolved"
    assert incident.resolved_at == T0 + timedelta(minutes=7)
    with factory() as session:
        resolved = session.scalars(select(OutboxEvent).order_by(OutboxEvent.id.desc())).first()
    assert resolved.payload["event"] == "resolved"
    assert resolved.payload["duration_s"] == 420.0


def test_reopen_within_grace_keeps_the_id(factory):
    """A problem back within the grace period reopens the same incident; later, a new one."""
    cam = build_fleet(factory, (1,))["site0"][0]
    check = Evaluator(factory).check
    first = check(cam, T0, "degraded", {"frozen"}).id
    check(cam, T0 + timedelta(minutes=1), "ok")
    again = check(cam, T0 + timedelta(minutes=5), "degraded", {"frozen"})
    assert again.id == first and again.reopened_count == 1 and again.status == "open"
    check(cam, T0 + timedelta(minutes=6), "ok")
    later = check(cam, T0 + timedelta(minutes=30), "degraded", {"frozen"})
    assert later.id != first
    assert [e for _, e in events(factory)] == [
        "opened",
        "resolved",
        "reopened",
        "resolved",
        "opened",
    ]


def test_flapping_is_one_incident_not_a_stream(factory):
    """While flapping, ups and downs update one `flapping` incident instead of telling each."""
    cam = build_fleet(factory, (1,))["site0"][0]
    check = Evaluator(factory).check
    at = T0
    for n in range(10):
        at += timedelta(minutes=1)
        state = "down" if n % 2 == 0 else "ok"
        check(cam, at, state, {"unreachable"} if state == "down" else (), flapping=n >= 2)
    check(cam, at + timedelta(minutes=1), "ok", flapping=True)
    [incident] = incidents(factory, status="open")
    assert incident.kind == "flapping" and "flapping" in incident.conditions
    told = [e for _, e in events(factory)]
    assert told == ["opened", "resolved", "reopened"]  # then quiet while it flaps
    check(cam, at + timedelta(minutes=2), "ok", flapping=False)
    assert incidents(factory, status="open") == []


def test_maintenance_silences_but_records(factory):
    """An incident opened in maintenance is recorded, silenced, and told if it outlives it."""
    cam = build_fleet(factory, (1,))["site0"][0]
    check = Evaluator(factory).check
    check(cam, T0, "down", {"unreachable"}, in_maintenance=True)
    [incident] = incidents(factory)
    assert incident.silenced and events(factory) == []
    check(cam, T0 + timedelta(minutes=30), "down", {"unreachable"}, in_maintenance=False)
    assert [e for _, e in events(factory)] == ["opened"]


def test_maintenance_recovery_tells_nothing(factory):
    """A fault opened and cleared inside maintenance never reaches anyone."""
    cam = build_fleet(factory, (1,))["site0"][0]
    check = Evaluator(factory).check
    check(cam, T0, "degraded", {"moved"}, in_maintenance=True)
    check(cam, T0 + timedelta(minutes=3), "ok", in_maintenance=True)
    assert incidents(factory)[0].status == "resolved" and events(factory) == []


def test_replayed_changes_after_crash_open_nothing_twice(factory):
    """The same sequence of changes replayed (restart after kill -9) opens nothing twice."""
    cam = build_fleet(factory, (1,))["site0"][0]
    sequence = [
        (T0, "down", {"unreachable"}),
        (T0 + timedelta(minutes=1), "ok", ()),
        (T0 + timedelta(minutes=3), "degraded", {"blurred"}),
    ]
    for _ in range(2):
        evaluator = Evaluator(factory)
        for at, state, conditions in sequence:
            evaluator.check(cam, at, state, conditions)
    with factory() as session:
        assert session.scalar(select(func.count()).select_from(Incident)) == 1
        assert session.scalar(select(func.count()).select_from(OutboxEvent)) == 3
    assert incidents(factory)[0].reopened_count == 1


def test_acknowledge_records_who_and_tells(factory):
    """Acknowledging stores who and why, and tells the recipients once."""
    cam = build_fleet(factory, (1,))["site0"][0]
    incident = Evaluator(factory).check(cam, T0, "down", {"unreachable"})
    with transaction(factory) as session:
        acknowledge(session, incident.id, "operator1", "technician sent", SETTINGS, T0)
        acknowledge(session, incident.id, "operator1", "again", SETTINGS, T0)
    [stored] = incidents(factory)
    assert (stored.status, stored.acknowledged_by) == ("acknowledged", "operator1")
    assert stored.acknowledgement_note == "technician sent"
    assert [e for _, e in events(factory)] == ["opened", "acknowledged"]
    with transaction(factory) as session, pytest.raises(IncidentNotFound):
        acknowledge(session, "no-such-id", "operator1")


def test_events_told_later_name_the_camera_state_the_evaluator_handed_over(factory):
    """Reminders and acknowledgements tell the state of the camera's last change (kept on the
    incident), with no camera_status row to read: alerting does not read the monitor's tables."""
    from vp_monitor.alerts.escalation import escalate_once

    cam = build_fleet(factory, (1,))["site0"][0]
    check = Evaluator(factory).check
    check(cam, T0, "degraded", {"blurred"})
    incident = check(cam, T0 + timedelta(minutes=1), "down", {"covered"})
    with transaction(factory) as session:
        escalate_once(session, SETTINGS, T0 + timedelta(seconds=SETTINGS.reminder_interval_s + 90))
        acknowledge(session, incident.id, "operator1", "", SETTINGS, T0 + timedelta(hours=2))
    with factory() as session:
        rows = session.scalars(select(OutboxEvent).order_by(OutboxEvent.id))
        told = [(row.payload["event"], row.payload["camera"]["state"]) for row in rows]
    assert told[0] == ("opened", "degraded")
    assert told[1:] == [("reminder", "down"), ("acknowledged", "down")]
    [stored] = incidents(factory)
    assert (stored.camera_state, stored.camera_state_since) == ("down", T0 + timedelta(minutes=1))


def test_site_down_holds_camera_incidents(factory):
    """Every camera of one uplink down at once: one site incident, camera incidents held."""
    cams = build_fleet(factory, (5, 1))["site0"]
    check = Evaluator(factory).check
    for n, cam in enumerate(cams):
        check(cam, T0 + timedelta(seconds=5 * n), "down", {"unreachable"})
    [site] = incidents(factory, kind="site")
    held = incidents(factory, kind="camera")
    assert len(held) == 5 and all(i.parent_id == site.id for i in held)
    assert events(factory) == [(site.id, "opened")]  # camera openings were taken back
    for n, cam in enumerate(cams):
        check(cam, T0 + timedelta(minutes=10, seconds=5 * n), "ok")
    assert incidents(factory, kind="site")[0].status == "resolved"
    assert events(factory) == [(site.id, "opened"), (site.id, "resolved")]


def test_straggler_after_site_recovery_is_told_on_its_own(factory):
    """A camera still down well after its site came back gets an incident told on its own."""
    cams = build_fleet(factory, (3, 1))["site0"]
    check = Evaluator(factory).check
    for cam in cams:
        check(cam, T0, "down", {"unreachable"})
    check(cams[0], T0 + timedelta(minutes=10), "ok")
    check(cams[1], T0 + timedelta(minutes=10), "ok")
    check(cams[2], T0 + timedelta(minutes=12), "down", {"unreachable"})
    [site] = incidents(factory, kind="site")
    straggler = incidents(factory, camera_id=cams[2])[0]
    assert site.status == "resolved" and straggler.parent_id is None
    assert events(factory)[-2:] == [(site.id, "resolved"), (straggler.id, "opened")]


def test_cameras_failing_apart_are_not_a_site_outage(factory):
    """Cameras of one site going down hours apart stay separate camera incidents."""
    cams = build_fleet(factory, (2, 1))["site0"]
    check = Evaluator(factory).check
    check(cams[0], T0, "down", {"unreachable"})
    check(cams[1], T0 + timedelta(hours=3), "down", {"unreachable"})
    assert incidents(factory, kind="site") == []
    assert len(incidents(factory, kind="camera", parent_id=None)) == 2


def test_monitor_isolation_replaces_site_outages(factory):
    """Nearly every site down at once opens one `monitor` incident and holds the rest."""
    fleet = build_fleet(factory, (2, 2, 2, 2, 2))
    check = Evaluator(factory).check
    at = T0
    for cams in fleet.values():
        for cam in cams:
            at += timedelta(seconds=2)
            check(cam, at, "down", {"unreachable"})
    [monitor] = incidents(factory, kind="monitor")
    sites = incidents(factory, kind="site")
    assert sites and all(site.parent_id == monitor.id for site in sites)
    assert events(factory) == [(monitor.id, "opened")]
    at += timedelta(minutes=5)
    for cams in fleet.values():
        for cam in cams:
            check(cam, at, "ok")
    assert incidents(factory, kind="monitor")[0].status == "resolved"
    assert events(factory) == [(monitor.id, "opened"), (monitor.id, "resolved")]


def test_incident_and_its_notifications_roll_back_together(factory):
    """A crash before commit leaves neither the incident nor its outbox rows behind."""
    cam = build_fleet(factory, (1,))["site0"][0]
    change = CameraChange(cam, T0, "down", "ok", frozenset({"unreachable"}))
    with pytest.raises(RuntimeError), transaction(factory) as session:
        record_change(session, change, SETTINGS)
        raise RuntimeError("killed before commit")
    assert incidents(factory) == [] and events(factory) == []
    Evaluator(factory).check(cam, T0, "down", {"unreachable"})
    assert len(incidents(factory)) == 1 and len(events(factory)) == 1


def test_decommissioning_resolves_what_was_open_and_shows_the_camera_retired(factory):
    """A camera retired while down: its incident is resolved (told once), its status says so."""
    from vp_monitor.monitor.evaluator import retire_decommissioned
    from vp_monitor.registry.models import Lifecycle

    camera_id = build_fleet(factory)["site0"][0]
    evaluator = Evaluator(factory)
    evaluator.check(camera_id, T0, "down", ["unreachable"])
    with transaction(factory) as session:  # what the monitor recorded: retirement reads it
        session.add(CameraStatus(camera_id=camera_id, state="down", conditions=["unreachable"],
                                 since=T0))  # fmt: skip
    with transaction(factory) as session:
        session.get(Camera, camera_id).lifecycle = Lifecycle.DECOMMISSIONED
    for attempt in range(2):  # the second sync finds nothing left to retire
        with transaction(factory) as session:
            changes = retire_decommissioned(session, T0 + timedelta(minutes=5))
            for change in changes:
                record_change(session, change, SETTINGS)
        assert len(changes) == (1 - attempt)
    (incident,) = incidents(factory)
    assert incident.status == "resolved"
    assert [event for _, event in events(factory)] == ["opened", "resolved"]
    with factory() as session:
        status = session.get(CameraStatus, camera_id)
        assert (status.state, status.conditions) == ("decommissioned", [])


def test_open_incidents_say_which_checks_the_alert_stage_can_skip(factory):
    """OpenIncidents: a check of an ok camera with no incident, outside any site outage, needs
    no alerting; one with an incident, on a site of an uplink in outage, or not ok does."""
    from vp_monitor.alerts.incidents import OpenIncidents

    ids = build_fleet(factory, (3, 1, 1), uplinks=["UP-A", "UP-A", None])
    site_of = {}
    with factory() as session:
        for camera in session.scalars(select(Camera)):
            site_of[camera.id] = camera.site_id
    check = Evaluator(factory).check
    down, back, lone = ids["site0"][0], ids["site1"][0], ids["site2"][0]
    for cam in [back, *ids["site0"]]:  # uplink A in outage, opened on site 0 (site 2 apart)
        check(cam, T0, "down", {"unreachable"})
    check(back, T0 + timedelta(minutes=1), "ok")  # its incident over, the outage not yet
    check(lone, T0, "ok")
    assert [i.status for i in incidents(factory, kind="site")] == ["open"]
    with factory() as session:
        open_now = OpenIncidents.load(session, [down, back, lone])

    def concern(camera_id: int, state: str = "ok", **extra) -> bool:
        change = CameraChange(camera_id=camera_id, at=T0, state=state, previous_state="ok",
                              conditions=frozenset(), **extra)  # fmt: skip
        return open_now.concern(change, site_of[camera_id])

    assert concern(down) and concern(back)  # its own incident; its uplink in outage
    assert not concern(lone) and not concern(lone, "unknown")
    assert concern(lone, "degraded") and concern(lone, flapping=True)
