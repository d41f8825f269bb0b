"""Availability rolled up by day before retention deletes the check history (issue 15): a
period gives the same figures before and after, whole days read from the roll-up."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta

import pytest
from sqlalchemy import func, select

from vp_monitor.db import transaction
from vp_monitor.monitor import availability as rollups
from vp_monitor.monitor.availability import availability, from_history, roll_up
from vp_monitor.monitor.engine import prune_history
from vp_monitor.monitor.models import AvailabilityDay, AvailabilityRollup, CheckRecord
from vp_monitor.registry.models import Camera, Municipality, Site

D1 = datetime(2026, 11, 20, tzinfo=UTC)  # three days of history from here
NOW = D1 + timedelta(days=3, hours=15)  # the fourth day, under way


def _history(session) -> list[int]:
    """Two cameras: one down two hours a day and in maintenance an hour on the second day,
    one up throughout; a record every 20 minutes (as the heartbeat and changes write them)."""
    town = Municipality(insee="78646", name="Versailles", departement="78")
    site = Site(name="Gare", municipality=town)
    flaky = Camera(code="VER-1", site=site, municipality=town)
    steady = Camera(code="VER-2", site=site, municipality=town)
    session.add_all([flaky, steady])
    session.flush()
    at = D1 + timedelta(minutes=10)
    while at < NOW:
        hour = at.hour
        down = hour in (3, 4)
        maintenance = at.date() == date(2026, 11, 21) and hour == 9
        for camera, state in ((flaky, "down" if down else "ok"), (steady, "ok")):
            session.add(CheckRecord(
                camera_id=camera.id, tier="reachability", at=at, state=state, conditions=[],
                duration_s=0.1, availability="down" if state == "down" else "up",
                detail={"in_maintenance": maintenance and camera is flaky},
            ))  # fmt: skip
        at += timedelta(minutes=20)
    session.flush()
    return [flaky.id, steady.id]


def _figures(found) -> dict:
    return {
        camera_id: {n: round(getattr(a, n), 3) for n in rollups.SECONDS}
        for camera_id, a in found.items()
    }


@pytest.fixture
def history(factory):
    with transaction(factory) as session:
        return _history(session)


def test_a_period_gives_the_same_figures_from_the_roll_up_as_from_the_history(factory, history):
    """A period with partial days at both ends: history alone, then whole days rolled up."""
    start, end = D1 + timedelta(hours=6, minutes=7), D1 + timedelta(days=3, hours=4)
    with transaction(factory) as session:
        before = _figures(availability(session, start, end, now=NOW))
        # Down 03:10-05:10 on days 2 and 3, and from 03:10 to the end at 04:00 on day 4.
        assert before[history[0]]["down_s"] == pytest.approx(2 * 2 * 3600 + 50 * 60)
        assert before[history[0]]["maintenance_s"] == pytest.approx(3600)
        assert [roll_up(session, NOW) for _ in range(4)] == [
            [date(2026, 11, 20)],
            [date(2026, 11, 21)],
            [date(2026, 11, 22)],
            [],
        ]
    with transaction(factory) as session:
        assert session.scalar(select(func.count()).select_from(AvailabilityDay)) == 6
        assert _figures(availability(session, start, end, now=NOW)) == before
        # Read from the roll-up: delete the whole days' history and the figures stay.
        session.execute(
            CheckRecord.__table__.delete().where(
                CheckRecord.at >= D1 + timedelta(days=1, hours=2),
                CheckRecord.at < D1 + timedelta(days=2),
            )
        )
        assert _figures(availability(session, start, end, now=NOW)) == before
        assert _figures(from_history(session, start, end)) != before


def test_retention_deletes_history_only_once_its_days_are_rolled_up(factory, history):
    """A day not rolled up yet is kept whatever its age, and so is the end of the last day
    rolled up: the history after it starts in a known state."""
    whole = (D1, D1 + timedelta(days=3))
    with transaction(factory) as session:
        expected = _figures(availability(session, *whole, now=NOW))
        # Retention of one day: everything before D1 + 2 d 15 h could go, but nothing is
        # rolled up yet.
        assert prune_history(session, 1, NOW) == 0
        assert roll_up(session, NOW) == [date(2026, 11, 20)]  # a day a run
        # Day 1 goes, but for its last two hours, which say what held at midnight.
        assert prune_history(session, 1, NOW) == 66 * 2
        assert _figures(availability(session, *whole, now=NOW)) == expected
    with transaction(factory) as session:
        assert roll_up(session, NOW) == [date(2026, 11, 21)]
        assert prune_history(session, 1, NOW) == 72 * 2
        assert _figures(availability(session, *whole, now=NOW)) == expected


def test_roll_up_takes_each_whole_day_once_and_never_today(factory, history):
    """Runs take the days in order, a day each; the day under way is left to the history."""
    with transaction(factory) as session:
        while roll_up(session, NOW):
            pass
        days = session.scalars(select(AvailabilityRollup.day).order_by(AvailabilityRollup.day))
        assert list(days) == [date(2026, 11, 20), date(2026, 11, 21), date(2026, 11, 22)]
        assert roll_up(session, NOW + timedelta(days=1)) == [date(2026, 11, 23)]
        steady = session.get(AvailabilityDay, (history[1], date(2026, 11, 21)))
        assert (steady.up_s, steady.down_s) == (pytest.approx(86400), 0)


def test_cameras_given_as_a_generator_are_read_by_every_part_of_the_period(factory, history):
    """The whole days and the ends of a period are separate queries: each sees the cameras."""
    start, end = D1 + timedelta(hours=6), D1 + timedelta(days=3, hours=4)
    with transaction(factory) as session:
        while roll_up(session, NOW):
            pass
        expected = _figures(availability(session, start, end, [history[0]], now=NOW))
        given = _figures(availability(session, start, end, (i for i in [history[0]]), now=NOW))
        assert given == expected and list(given) == [history[0]]
