"""Change events on SQLite and PostgreSQL: written in the transaction of the change they tell,
read in id order within a Scope, resumed without gap or duplicate, ids committed out of order
not lost, old rows pruned."""

from __future__ import annotations

import json
import time
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from sqlalchemy import select

from vp_monitor.alerts.incidents import acknowledge
from vp_monitor.alerts.models import Incident
from vp_monitor.conditions import observed_by
from vp_monitor.db import transaction
from vp_monitor.events.feed import EventFeed, prune_events
from vp_monitor.events.models import ChangeEvent
from vp_monitor.events.record import CAMERA_STATE, INCIDENT_OPENED, record_event
from vp_monitor.monitor.engine import Monitor
from vp_monitor.monitor.evaluator import JUDGING_TIERS, TierResult, new_status
from vp_monitor.monitor.planner import claim_due, ensure_schedule
from vp_monitor.monitor.runner import Job
from vp_monitor.probes.base import ProbeTarget
from vp_monitor.registry.models import Camera, Lifecycle, Maintainer, Municipality, Site
from vp_monitor.registry.scope import Scope

T0 = datetime(2026, 11, 23, 8, 0, tzinfo=UTC)
EVERYONE = Scope.supervision()
TOWN_A = Scope.of_municipalities(["92012"])
TOWN_B = Scope.of_municipalities(["78646"])
REACH = observed_by("onvif", answered=False) | observed_by("rtsp", False)


def result(*conditions: str, **extra: Any) -> TierResult:
    return TierResult("reachability", frozenset(conditions), REACH, not conditions, **extra)


@pytest.fixture
def fleet(factory) -> dict[str, Any]:
    """Two towns (A: 92012, B: 78646), one site each, two cameras each (A's maintained by
    "Acme"), every judging tier run once; ids by name."""
    with transaction(factory) as session:
        acme = Maintainer(name="Acme")
        ids: dict[str, Any] = {}
        for key, insee, name in (("a", "92012", "Boulogne"), ("b", "78646", "Versailles")):
            town = Municipality(insee=insee, name=name, departement=insee[:2])
            site = Site(name=f"Gare {key}", municipality=town)
            maintainer = acme if key == "a" else None
            cameras = [
                Camera(code=f"{key.upper()}-{n}", site=site, municipality=town,
                       maintainer=maintainer)
                for n in range(2)
            ]  # fmt: skip
            session.add_all(cameras)
            session.flush()
            ids[f"site_{key}"] = site.id
            ids[key] = [camera.id for camera in cameras]
            for camera in cameras:
                status = new_status(camera.id)
                status.tiers_checked = sorted(JUDGING_TIERS)
                session.add(status)
    return ids


def jobs(factory, monitor: Monitor) -> dict[int, Job]:
    """A leased reachability check of every camera, by camera id."""
    with transaction(factory) as session:
        ensure_schedule(session, monitor.settings, T0)
        claims = claim_due(session, monitor.owner, T0, 100, never_run=True)
    return {c.camera_id: Job(c, ProbeTarget(f"cam-{c.camera_id}")) for c in claims
            if c.tier == "reachability"}  # fmt: skip


def events(factory) -> list[ChangeEvent]:
    with factory() as session:
        return list(session.scalars(select(ChangeEvent).order_by(ChangeEvent.id)))


def write(factory, camera_id: int | None = None, **payload: Any) -> int:
    with transaction(factory) as session:
        return record_event(session, CAMERA_STATE, at=T0, camera_id=camera_id, **payload)


# -- writers ---------------------------------------------------------------------------------
def test_a_check_that_changes_a_camera_writes_its_event_with_the_incident(factory, fleet, monitor):
    """A camera going down: its state event and its incident's opening, in the batch's
    transaction, naming the camera, its site and town, with plain JSON values only. Another
    camera's first verdict (ok) is a change too; checked again, still ok, it writes no event
    (10,000 cameras checked every minute)."""
    held = jobs(factory, monitor)
    down, quiet = fleet["a"]
    monitor._record([(held[down], result("unreachable")), (held[quiet], result())])
    state, opened, first_verdict = events(factory)
    assert (first_verdict.camera_id, first_verdict.payload["state"]) == (quiet, "ok")
    assert (state.kind, opened.kind) == (CAMERA_STATE, INCIDENT_OPENED)
    assert (state.camera_id, state.site_id) == (down, fleet["site_a"])
    assert state.municipality_id is not None and state.id < opened.id
    assert state.payload == {
        "camera": "A-0", "state": "down", "previous_state": "unknown",
        "conditions": ["unreachable"], "opened": ["unreachable"], "cleared": [],
        "is_flapping": False, "in_maintenance": False,
    }  # fmt: skip
    with factory() as session:
        incident = session.scalars(select(Incident)).one()
    assert opened.payload["incident"] == incident.id and opened.payload["event"] == "opened"
    assert opened.payload["status"] == "open" and opened.payload["severity"] == incident.severity
    json.dumps([state.payload, opened.payload])  # plain values
    count = len(events(factory))
    with transaction(factory) as session:  # the quiet camera checked again: still ok
        claim = claim_due(session, monitor.owner, T0 + timedelta(hours=1), 100)
    again = [Job(c, ProbeTarget("x")) for c in claim if c.camera_id == quiet][:1]
    monitor._record([(again[0], result())])
    assert len(events(factory)) == count


def test_a_batch_rolled_back_leaves_no_event_and_its_retry_one_each(factory, fleet, monitor):
    """A result that cannot be stored rolls its batch back, events included; written again one
    by one, each good result has exactly one event and the bad one none."""
    held = jobs(factory, monitor)
    first, bad = fleet["a"]
    unstorable = result("unreachable", detail={"not json": object()})
    monitor._record([(held[first], result("unreachable")), (held[bad], unstorable)])
    assert [(e.camera_id, e.kind) for e in events(factory)] == [
        (first, CAMERA_STATE), (first, INCIDENT_OPENED)
    ]  # fmt: skip


def test_an_event_is_in_the_transaction_of_its_change(factory, fleet):
    """An event written in a transaction that fails is gone with it."""
    with pytest.raises(RuntimeError), transaction(factory) as session:
        record_event(session, CAMERA_STATE, at=T0, camera_id=fleet["a"][0], state="down")
        raise RuntimeError("the change fails")
    assert events(factory) == []


def test_acknowledging_and_resolving_write_their_events(factory, fleet, monitor):
    """Acknowledgement (the CLI's and the service's path) and resolution each write one event."""
    held = jobs(factory, monitor)
    camera_id = fleet["a"][0]
    monitor._record([(held[camera_id], result("unreachable"))])
    with factory() as session:
        incident_id = session.scalars(select(Incident.id)).one()
    with transaction(factory) as session:
        acknowledge(session, incident_id, "alice", "on it", now=T0)
    with transaction(factory) as session:
        acknowledge(session, incident_id, "bob", "again", now=T0)  # nothing new: no event
    with transaction(factory) as session:
        claim = claim_due(session, monitor.owner, T0 + timedelta(hours=1), 100)
    back = [Job(c, ProbeTarget("x")) for c in claim if c.camera_id == camera_id]
    monitor._record([(back[0], result())])
    kinds = [(e.kind, e.payload.get("status")) for e in events(factory)]
    assert kinds == [
        ("camera.state", None), ("incident.opened", "open"),
        ("incident.acknowledged", "acknowledged"), ("camera.state", None),
        ("incident.resolved", "resolved"),
    ]  # fmt: skip


def test_a_decommissioned_camera_tells_its_new_state(factory, fleet, monitor):
    """Retiring a camera (the schedule sync) writes its state event."""
    with transaction(factory) as session:
        session.get(Camera, fleet["b"][1]).lifecycle = Lifecycle.DECOMMISSIONED
    monitor._sync_schedule()
    [event] = events(factory)
    assert event.camera_id == fleet["b"][1] and event.payload["state"] == "decommissioned"


# -- reading ---------------------------------------------------------------------------------
def test_pages_resume_without_gap_or_duplicate(factory, fleet):
    """Read 3 at a time from the cursor: every event once, in id order."""
    written = [write(factory, fleet["a"][0], n=n) for n in range(10)]
    feed, cursor, seen = EventFeed(factory), 0, []
    while True:
        page = feed.since(cursor, EVERYONE, limit=3)
        if page.cursor == cursor:
            break
        seen += [event.id for event in page.events]
        cursor = page.cursor
    assert seen == written
    assert [e.payload["n"] for e in feed.since(written[4], EVERYONE).events] == [5, 6, 7, 8, 9]


def test_each_scope_reads_only_its_own_events(factory, fleet):
    """Town A reads its cameras' and its site's events, not B's, nor the monitor's own; the
    maintainer of A's cameras reads those; the supervision centre reads everything. A page
    of another tenant's events still moves the cursor on."""
    a_camera = write(factory, fleet["a"][0])
    b_events = [write(factory, fleet["b"][0]) for _ in range(5)]
    with transaction(factory) as session:
        a_site = record_event(session, INCIDENT_OPENED, at=T0, site_id=fleet["site_a"])
        b_site = record_event(session, INCIDENT_OPENED, at=T0, site_id=fleet["site_b"])
        monitor_own = record_event(session, INCIDENT_OPENED, at=T0)
    feed = EventFeed(factory)
    assert [e.id for e in feed.since(0, TOWN_A).events] == [a_camera, a_site]
    assert [e.id for e in feed.since(0, TOWN_B).events] == [*b_events, b_site]
    assert [e.id for e in feed.since(0, Scope.of_maintainer("Acme")).events] == [a_camera, a_site]
    everything = [e.id for e in feed.since(0, EVERYONE).events]
    assert everything == [a_camera, *b_events, a_site, b_site, monitor_own]
    page = feed.since(a_camera, TOWN_A, limit=3)  # three of B's: nothing for A, yet read
    assert page.events == [] and page.cursor == b_events[2]
    assert feed.visible(feed.since(0, EVERYONE).events, TOWN_B)[0].id == b_events[0]


def test_pruning_keeps_ids_growing(factory, fleet):
    """Old events are deleted; the next id is still above every id handed out (a client's
    Last-Event-ID stays behind new events even when the table was emptied)."""
    with transaction(factory) as session:
        old = record_event(session, CAMERA_STATE, at=T0, camera_id=fleet["a"][0])
    with transaction(factory) as session:
        assert prune_events(session, hours=1) == 1
    assert write(factory, fleet["a"][0]) > old


# -- ids committed out of order (PostgreSQL) -------------------------------------------------
@pytest.fixture
def postgres_only(engine):
    if engine.dialect.name != "postgresql":
        pytest.skip("SQLite has one writer at a time: its ids commit in order")


def test_an_id_committed_after_a_later_one_is_not_lost(factory, fleet, postgres_only):
    """Writer 1 takes id n and is slow to commit; writer 2 takes n+1 and commits: the feed
    stops before the hole until writer 1 commits, then hands out n and n+1 in order."""
    before = write(factory, fleet["a"][0])
    feed = EventFeed(factory, settle_s=30)
    slow = factory()
    slow.begin()
    late = record_event(slow, CAMERA_STATE, at=T0, camera_id=fleet["a"][0])
    early = write(factory, fleet["a"][1])
    assert early > late
    page = feed.since(before, EVERYONE)
    assert page.events == [] and page.cursor == before
    slow.commit()
    slow.close()
    assert [e.id for e in feed.since(before, EVERYONE).events] == [late, early]


def test_a_hole_left_by_a_rollback_is_passed_once_settled(factory, fleet, postgres_only):
    """An id whose transaction rolled back never commits: once the row after it has been
    written `settle_s` ago, the feed goes past it."""
    before = write(factory, fleet["a"][0])
    feed = EventFeed(factory, settle_s=0.3)
    with factory() as session, session.begin():
        record_event(session, CAMERA_STATE, at=T0, camera_id=fleet["a"][0])
        session.rollback()
    after = write(factory, fleet["a"][1])
    assert feed.since(before, EVERYONE).cursor == before
    time.sleep(0.4)
    page = feed.since(before, EVERYONE)
    assert [e.id for e in page.events] == [after] and page.cursor == after
