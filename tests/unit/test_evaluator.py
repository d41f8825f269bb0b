"""Evaluator: hysteresis, confirmations, flapping, maintenance and history, from plain results."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from sqlalchemy import select

from vp_monitor.conditions import names, observed_by
from vp_monitor.db import session_factory, transaction
from vp_monitor.monitor.availability import availability
from vp_monitor.monitor.evaluator import JUDGING_TIERS, TierResult, evaluate, new_status, step
from vp_monitor.monitor.models import CameraStatus, CheckRecord
from vp_monitor.monitor.settings import MonitorSettings
from vp_monitor.registry.models import (
    Camera,
    Lifecycle,
    MaintenanceScope,
    MaintenanceWindow,
    Municipality,
    Site,
)

SETTINGS = MonitorSettings()
T0 = datetime(2026, 11, 23, 8, 0, tzinfo=UTC)
# What the probes judge, from the condition table: failing or not, and only when answering.
REACH = observed_by("onvif", answered=False) | observed_by("rtsp", False)
PICTURE = observed_by("stream") - observed_by("stream", answered=False)
DEVICE = observed_by("onvif") - observed_by("onvif", answered=False)


def reach(*conditions: str) -> TierResult:
    """A reachability result: video_ok unless a no-video condition was seen."""
    found = frozenset(conditions)
    ok = not found & names(down=True)
    return TierResult("reachability", found, REACH | (DEVICE if ok else frozenset()), ok)


def stream(*conditions: str) -> TierResult:
    """A stream result with a decoded picture."""
    observed = REACH | PICTURE | DEVICE | {"no_video"}
    return TierResult("stream", frozenset(conditions), observed, True)


def checked(camera_id: int) -> CameraStatus:
    """A camera every judging tier has checked once already (its state follows each result)."""
    status = new_status(camera_id)
    status.tiers_checked = sorted(JUDGING_TIERS)
    return status


def run(status, results, start=T0, every_s=60.0, settings=SETTINGS, maintenance=False):
    """Apply results one minute apart; the changes, in order."""
    changes = []
    for n, result in enumerate(results):
        at = start + timedelta(seconds=n * every_s)
        changes.append(step(status, result, settings, at, maintenance))
    return changes


def test_a_new_camera_is_ok_only_once_its_picture_was_checked():
    """Reachable is not ok: a new camera stays unknown until the stream tier has looked at its
    picture too; a picture black from the start goes from unknown to degraded, never ok."""
    changes = run(new_status(1), [reach(), reach(), stream(), reach()])
    assert [c.state for c in changes] == ["unknown", "unknown", "ok", "ok"]
    changes = run(new_status(2), [reach(), stream("black"), reach(), stream("black")])
    assert [c.state for c in changes] == ["unknown", "unknown", "unknown", "degraded"]
    # Either order: the stream tier first still waits for the reachability tier.
    assert [c.state for c in run(new_status(3), [stream(), reach()])] == ["unknown", "ok"]


def test_a_crashed_check_does_not_count_as_its_tier_having_judged():
    """A check that failed on a bug observed nothing: the camera still waits for its tier."""
    crashed = TierResult("stream", frozenset(), frozenset(), None, detail={"error": "bug"})
    changes = run(new_status(1), [reach(), crashed, reach(), stream()])
    assert [c.state for c in changes] == ["unknown", "unknown", "unknown", "ok"]


def test_a_camera_judged_before_tiers_were_counted_stays_ok():
    """A status row from an older database (no tiers counted, state ok) is not sent back to
    unknown by its next reachability check."""
    status = new_status(1)
    status.state, status.tiers_checked = "ok", None
    assert run(status, [reach()])[0].state == "ok"


def test_down_after_two_failures_and_back_after_two_successes():
    """One failed check changes nothing; the second makes it down; it takes two good ones back."""
    status = checked(1)
    changes = run(status, [reach(), reach("unreachable"), reach("unreachable"), reach(), reach()])
    assert [c.state for c in changes] == ["ok", "ok", "down", "down", "ok"]
    assert changes[2].opened == {"unreachable"} and changes[2].previous_state == "ok"
    assert changes[4].cleared == {"unreachable"} and changes[4].conditions == frozenset()


def test_first_failure_of_a_new_camera_leaves_it_unknown():
    """A camera never seen healthy stays unknown on its first failure, down on the second."""
    status = new_status(1)
    changes = run(status, [reach("unreachable"), reach("unreachable")])
    assert [c.state for c in changes] == ["unknown", "down"]


def test_alternating_failure_causes_still_mean_down():
    """Two failed checks in a row make the camera down even when their causes differ."""
    status = checked(1)
    changes = run(status, [reach(), reach("unreachable"), reach("rtsp_error")])
    assert changes[-1].state == "down" and changes[-1].conditions == {"rtsp_error"}


def test_single_good_check_does_not_recover_a_down_camera():
    """A down camera with one good check then a failure stays down throughout."""
    status = new_status(1)
    changes = run(status, [reach("unreachable")] * 2 + [reach(), reach("unreachable")])
    assert [c.state for c in changes] == ["unknown", "down", "down", "down"]
    assert not changes[2].cleared and not changes[3].opened


def test_image_condition_needs_a_second_check():
    """black seen once is pending; seen twice it is opened (degraded); one clean check clears."""
    status = checked(1)
    changes = run(status, [stream(), stream("black"), stream("black"), stream()])
    assert [c.state for c in changes] == ["ok", "ok", "degraded", "ok"]
    assert changes[2].opened == {"black"} and changes[3].cleared == {"black"}


def test_a_dusk_darker_than_the_reference_is_not_underexposed_a_lasting_dark_picture_is():
    """Dusk darkens the picture for up to an hour before the switch to infrared, every evening:
    seen at every 5-minute check for 60 minutes, underexposed is never opened; seen for longer
    than [monitor] underexposed_after_s without a break, it is."""
    every_s, limit = 300.0, SETTINGS.underexposed_after_s
    status = checked(1)
    dusk = run(status, [stream("underexposed")] * 13 + [stream()], every_s=every_s)
    assert not any(change.opened for change in dusk) and status.state == "ok"
    lasting = run(status, [stream("underexposed")] * (int(limit / every_s) + 2), every_s=every_s,
                  start=T0 + timedelta(hours=2))  # fmt: skip
    opened_at = [n for n, change in enumerate(lasting) if change.opened]
    assert opened_at == [int(limit / every_s)], opened_at
    assert status.state == "degraded" and "underexposed" in status.conditions


def test_unconfirmed_sightings_ask_for_an_early_retry():
    """A condition seen once, or a confirmed one gone once, is `confirming` (the engine checks
    again after retry_s); once opened or cleared, it is settled."""
    status = checked(1)
    changes = run(status, [reach(), reach("unreachable"), reach("unreachable"), reach(), reach()])
    assert [c.confirming for c in changes] == [False, True, False, True, False]
    changes = run(checked(2), [stream(), stream("black"), stream("black"), stream()])
    assert [c.confirming for c in changes] == [False, True, False, False]


def test_a_tier_that_cannot_see_a_condition_does_not_clear_it():
    """A reachability check (no picture) leaves an opened `black` in place."""
    status = new_status(1)
    changes = run(status, [stream("black"), stream("black"), reach(), reach()])
    assert [c.state for c in changes] == ["unknown", "degraded", "degraded", "degraded"]
    assert changes[-1].conditions == {"black"}


def test_device_conditions_open_on_first_sight():
    """device_replaced and auth_failed are facts, not glitches: opened on the first check."""
    status = checked(1)
    changes = run(status, [reach(), reach("device_replaced")])
    assert changes[1].opened == {"device_replaced"} and changes[1].state == "degraded"
    status = checked(2)
    changes = run(status, [reach(), reach("auth_failed")])
    assert changes[1].opened == {"auth_failed"} and changes[1].state == "down"


def test_flapping_after_too_many_transitions_until_a_quiet_window():
    """More than 6 transitions in 30 min set flapping; it stays until a whole window is quiet."""
    settings = MonitorSettings(down_after=1, recover_after=1)
    status = checked(1)
    pattern = [reach(), reach("unreachable")] * 5  # 9 transitions after the first verdict
    changes = run(status, pattern, settings=settings)
    flags = [c.flapping for c in changes]
    assert flags.index(True) == 7 and all(flags[7:])
    quiet = run(status, [reach()] * 3, start=T0 + timedelta(minutes=20), every_s=900,
                settings=settings)  # fmt: skip
    assert [c.flapping for c in quiet] == [True, True, False]


def test_maintenance_shows_the_real_state():
    """A camera in maintenance still goes down; the change says in_maintenance."""
    status = new_status(1)
    changes = run(status, [reach("unreachable")] * 2, maintenance=True)
    assert changes[-1].state == "down" and changes[-1].in_maintenance


def _camera(session, lifecycle=Lifecycle.ACTIVE) -> Camera:
    town = Municipality(insee="78646", name="Versailles", departement="78")
    site = Site(name="Gare", municipality=town)
    camera = Camera(code="VER-1", site=site, municipality=town, lifecycle=lifecycle)
    session.add(camera)
    session.flush()
    return camera


def test_evaluate_writes_status_history_and_honours_site_maintenance(engine):
    """evaluate() keeps status and a history row; a site window marks the change in_maintenance."""
    factory = session_factory(engine)
    now = datetime.now(UTC)
    with transaction(factory) as session:
        camera = _camera(session)
        camera_id = camera.id
        session.add(MaintenanceWindow(scope=MaintenanceScope.SITE, site_id=camera.site_id,
                                      starts_at=now - timedelta(hours=1),
                                      ends_at=now + timedelta(hours=1)))  # fmt: skip
    for n in range(2):
        with transaction(factory) as session:
            at = now + timedelta(seconds=n)
            change = evaluate(session, camera_id, reach("unreachable"), SETTINGS, at)
    assert change.state == "down" and change.in_maintenance and change.opened == {"unreachable"}
    with transaction(factory) as session:
        status = session.get(CameraStatus, camera_id)
        assert status.state == "down" and status.conditions == ["unreachable"]
        assert status.consecutive_failures == 2
        records = session.scalars(select(CheckRecord).order_by(CheckRecord.id)).all()
        assert [r.state for r in records] == ["unknown", "down"]
        assert records[1].detail["in_maintenance"] is True


def test_evaluate_ignores_a_decommissioned_camera(engine):
    """A result for a camera decommissioned while its check ran is dropped."""
    with transaction(session_factory(engine)) as session:
        camera = _camera(session, Lifecycle.DECOMMISSIONED)
        assert evaluate(session, camera.id, reach(), SETTINGS) is None


def test_history_keeps_changes_and_a_heartbeat_not_every_check(engine):
    """A camera checked every minute leaves one row per half hour while nothing changes; what
    it sees changing is written at once, so availability is what every check would give."""
    factory = session_factory(engine)
    with transaction(factory) as session:
        camera_id = _camera(session).id
        session.add(checked(camera_id))  # its picture checked already: ok on a good check
    timeline = [reach()] * 120 + [reach("unreachable")] * 3 + [reach()] * 57
    for n, result in enumerate(timeline):
        with transaction(factory) as session:
            evaluate(session, camera_id, result, SETTINGS, T0 + timedelta(minutes=n))
    with transaction(factory) as session:
        rows = session.scalars(select(CheckRecord).order_by(CheckRecord.at)).all()
        found = availability(session, T0, T0 + timedelta(minutes=180))[camera_id]
    minutes = [round((row.at - T0).total_seconds() / 60) for row in rows]
    # Every 30 min; the failure seen (120), confirmed down (121), the first good check seen
    # while still down (123), recovered (124); then every 30 min from the last row.
    assert minutes == [0, 30, 60, 90, 120, 121, 123, 124, 154]
    assert [row.state for row in rows][4:8] == ["ok", "down", "down", "ok"]
    assert (found.up_s, found.down_s) == (177 * 60, 3 * 60)  # down from 121 to 124
