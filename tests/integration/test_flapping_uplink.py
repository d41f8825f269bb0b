"""Cameras behind flapping uplinks for 10 minutes (issue 15, faults: 2,000 of them, here 400
unless VP_FLAPPING_SITES says otherwise): one flapping incident per site, a bounded outbox, no
notification storm.

The monitor's own result path on a real database, with a simulated clock: the planner claims
the checks due (default intervals, jitter and early retries), each check's result is what the
simulator's cameras answer when their uplink is down (silence: the `hang` fault) or up, taken
from real checks once (probes.check.run_tier), and written by the engine's `_apply` (evaluator,
incidents, correlation, the outbox's rows) as the result writer does; the outbox's jobs group
and send each second (alerts/jobs.py) through the real webhook channel to an aiohttp receiver
on loopback. The run's 14 simulated minutes take one to three minutes of wall time.
"""

from __future__ import annotations

import heapq
import json
import os
import random
import time
from collections import Counter, defaultdict
from dataclasses import replace
from datetime import UTC, datetime, timedelta

import pytest
from aiohttp import web
from ports import serve_on_loopback
from sqlalchemy import func, select
from test_monitor import FAST_PROBES, served_fleet, set_fault

from vp_monitor.alerts.channel_settings import ChannelSettings
from vp_monitor.alerts.channels import build_channels
from vp_monitor.alerts.escalation import escalate_once
from vp_monitor.alerts.jobs import ESCALATE_EVERY_S
from vp_monitor.alerts.models import Delivery, Incident, OutboxEvent
from vp_monitor.alerts.outbox import dispatch_once, group_once
from vp_monitor.alerts.settings import AlertSettings
from vp_monitor.db import transaction
from vp_monitor.monitor import planner
from vp_monitor.monitor.engine import WRITE_BATCH, Monitor, load_jobs
from vp_monitor.monitor.evaluator import JUDGING_TIERS, new_status
from vp_monitor.monitor.settings import MonitorSettings
from vp_monitor.probes.base import ProbeTarget
from vp_monitor.probes.check import run_tier
from vp_monitor.probes.onvif import close_clients
from vp_monitor.probes.tiers import TIERS, TierResult
from vp_monitor.registry.models import Camera, Contact, Municipality, Site

T0 = datetime(2026, 11, 23, 10, 0, tzinfo=UTC)
# The 2,000 cameras are 100 sites of 20 (VP_FLAPPING_SITES=100, docs/benchmarks.md); the
# test runs a fifth of them, to stay well under 2 minutes on a loaded CI machine.
FLAPPING_SITES = int(os.environ.get("VP_FLAPPING_SITES", "20"))
STABLE_SITES = FLAPPING_SITES * 3 // 2  # flapping sites: 40 % of the sites (isolation: 80 %)
TOWNS, CAMERAS_PER_SITE = 5, 20
pytestmark = [
    pytest.mark.timeout(180 + 8 * FLAPPING_SITES),  # seconds: 1-3 minutes at 20 sites
    pytest.mark.slow(seconds=160),
    # SQLite only: the correlation and the outbox run the same queries on both databases, which
    # the alert pipeline's tests cover (and CI's time is counted).
    pytest.mark.parametrize("database_url", ["sqlite"], indirect=True),
]
EVENTS_PER_SITE = 20  # most events a contact is told per site it owns (see the test)
QUIET_BEFORE_S, FLAP_S, QUIET_AFTER_S = 60, 600, 120  # after: the outbox drains
TOGGLE_S = 60  # each uplink changes state every minute: down one minute, up the next
TICK_S, PLANNER_TICK_S = 1, 2  # alerts/jobs.py's grouping and dispatch; the planner's tick
# What a check costs when the camera is silent: its probes' default time-outs (probes/base.py).
SILENT_CHECK_S = {"reachability": 8.0, "stream": 15.0, "inventory": 8.0}
ANSWERED_CHECK_S = 1.0


class Receiver:
    """One webhook receiver on loopback for every contact (its path names it): what each got."""

    def __init__(self) -> None:
        self.got: dict[str, list[tuple[str, list[dict]]]] = defaultdict(list)

    async def hook(self, request: web.Request) -> web.Response:
        body = json.loads(await request.read())
        key = request.headers["X-VP-Idempotency-Key"]
        self.got[request.match_info["contact"]].append((key, body["items"]))
        return web.json_response({})


async def real_results(gop_cache) -> dict[tuple[str, bool], TierResult]:
    """What each tier's check of a simulated camera gives when its uplink is up, and when it is
    down (the camera silent: `hang`), by (tier, up)."""
    async with served_fleet(gop_cache, [random.randrange(30_000, 60_000)]) as [camera]:
        base = f"rtsp://{camera.host}:{camera.rtsp_port}"
        target = ProbeTarget(
            camera=camera.code, onvif_host=camera.host, onvif_port=camera.onvif_port,
            username="admin", password="admin", rtsp_main=f"{base}/main", rtsp_sub=f"{base}/sub",
        )  # fmt: skip
        results = {}
        for fault, up in (("none", True), ("hang", False)):
            await set_fault(camera, fault)
            for tier in TIERS:
                results[(tier, up)] = await run_tier(tier, target, FAST_PROBES)
        await close_clients()
    assert not results[("reachability", True)].conditions
    assert results[("reachability", False)].conditions == {"unreachable"}
    return results


def register(factory, hook: str) -> dict[int, int | None]:
    """Five towns; FLAPPING_SITES sites of 20 cameras, each behind its own uplink, and
    STABLE_SITES one-camera sites that stay up (the rest of the fleet: without them every site
    would flap, which the monitor-isolation rule rightly takes for the monitor cut off); a
    webhook contact per town and one for the supervision centre. Every camera ok, judged by
    every tier. Returns the flapping site of each camera (None: a stable one)."""
    flapping: dict[int, int | None] = {}
    with transaction(factory) as session:
        towns = [Municipality(insee=f"920{n:02d}", name=f"Ville {n}", departement="92")
                 for n in range(TOWNS)]  # fmt: skip
        for n, town in enumerate(towns):
            session.add(Contact(name=f"town-{n}", channel="webhook", address=f"{hook}/town-{n}",
                                municipality=town))  # fmt: skip
        session.add(Contact(name="csu", channel="webhook", address=f"{hook}/csu"))
        for number in range(FLAPPING_SITES + STABLE_SITES):
            town = towns[number % TOWNS]
            site = Site(name=f"Site {number}", municipality=town, uplink=f"UP-{number}")
            size = CAMERAS_PER_SITE if number < FLAPPING_SITES else 1
            cameras = [Camera(code=f"C{number:03d}-{n:02d}", site=site, municipality=town)
                       for n in range(size)]  # fmt: skip
            session.add_all(cameras)
            session.flush()
            for camera in cameras:
                flapping[camera.id] = site.id if number < FLAPPING_SITES else None
                status = new_status(camera.id, T0)  # watched for a while: ok on every tier
                status.state, status.tiers_checked = "ok", sorted(JUDGING_TIERS)
                session.add(status)
    return flapping


async def run(factory, monitor: Monitor, results, uplink_up, alerts: AlertSettings, rng) -> int:
    """The monitor's result path and the outbox's jobs, second by simulated second, from T0 to
    the end of the quiet time after the flapping; returns how many checks were written."""
    channels = build_channels(ChannelSettings())
    with transaction(factory) as session:
        planner.ensure_schedule(session, monitor.settings, T0)
    running: list = []  # (finished at, sequence, job, result): checks under way
    end = T0 + timedelta(seconds=QUIET_BEFORE_S + FLAP_S + QUIET_AFTER_S)
    now, checks, sequence = T0, 0, 0
    while now <= end:
        if (now - T0).total_seconds() % PLANNER_TICK_S == 0:
            with transaction(factory) as session:
                claims = planner.claim_due(session, monitor.owner, now, 10_000,
                                           lease_s=monitor.settings.lease_s,
                                           jitter=monitor.settings.jitter, rng=rng)  # fmt: skip
                jobs = load_jobs(session, claims)
            for job in jobs:
                up = uplink_up(job.claim.camera_id, now)
                result = replace(results[(job.claim.tier, up)], camera=job.target.camera)
                took = ANSWERED_CHECK_S if up else SILENT_CHECK_S[job.claim.tier]
                sequence += 1
                heapq.heappush(running, (now + timedelta(seconds=took), sequence, job, result))
        done = []
        while running and running[0][0] <= now:
            _, _, job, result = heapq.heappop(running)
            done.append((job, result))
        for start in range(0, len(done), WRITE_BATCH):  # as Monitor._record writes a batch
            batch = sorted(done[start : start + WRITE_BATCH], key=lambda d: d[0].claim.camera_id)
            with transaction(factory) as session:
                monitor._apply(session, batch, now)
        checks += len(done)
        with transaction(factory) as session:  # the periods of alerts/jobs.py
            if (now - T0).total_seconds() % ESCALATE_EVERY_S == 0:
                escalate_once(session, alerts, now)
            group_once(session, alerts, now)
        while await dispatch_once(factory, channels, alerts, now):
            pass
        now += timedelta(seconds=TICK_S)
    return checks


async def test_flapping_uplinks_make_one_incident_per_site_and_no_storm(engine, factory, gop_cache):
    """Sites of 20 cameras each behind its uplink, every uplink down one minute and up the
    next for 10 minutes: one incident per site, flapping; a bounded outbox; each contact a
    bounded number of messages, each delivered once."""
    results = await real_results(gop_cache)
    receiver = Receiver()
    app = web.Application()
    app.router.add_post("/hook/{contact}", receiver.hook)
    runner, port = await serve_on_loopback(app)
    monitor = Monitor(engine, MonitorSettings(node="flap-node"))
    alerts = AlertSettings()
    rng = random.Random(15)
    try:
        site_of = register(factory, f"http://127.0.0.1:{port}/hook")
        phase = {site: rng.uniform(0, 2 * TOGGLE_S) for site in set(site_of.values()) - {None}}
        flap_from = T0 + timedelta(seconds=QUIET_BEFORE_S)
        flap_until = flap_from + timedelta(seconds=FLAP_S)

        def uplink_up(camera_id: int, at: datetime) -> bool:
            site_id = site_of[camera_id]
            if site_id is None or not flap_from <= at < flap_until:
                return True
            elapsed = (at - flap_from).total_seconds() + phase[site_id]
            return int(elapsed // TOGGLE_S) % 2 == 1

        started = time.monotonic()
        checks = await run(factory, monitor, results, uplink_up, alerts, rng)
        wall_s = time.monotonic() - started
        with factory() as session:
            top = list(session.scalars(select(Incident).where(Incident.parent_id.is_(None))))
            deliveries = session.scalar(select(func.count()).select_from(Delivery))
            unsent = session.scalar(select(func.count()).where(Delivery.status != "sent"))
            events = session.scalar(select(func.count()).select_from(OutboxEvent))
            held = session.scalar(select(func.count()).where(Incident.parent_id.is_not(None)))
        flapping_cameras = FLAPPING_SITES * CAMERAS_PER_SITE
        sites = [incident for incident in top if incident.kind == "site"]
        alone = [incident for incident in top if incident.kind in ("camera", "flapping")]
        flapping = [incident for incident in sites if "flapping" in incident.conditions]
        messages = {name: len(got) for name, got in sorted(receiver.got.items())}
        items = {name: sum(len(i) for _, i in got) for name, got in sorted(receiver.got.items())}
        print(
            f"\n{flapping_cameras} flapping cameras, {checks} checks in {wall_s:.1f} s wall: "
            f"{len(sites)} site incidents ({len(flapping)} flapping), {len(alone)} camera "
            f"incidents told on their own, "
            f"{held} held; {deliveries} deliveries, {events} outbox events; messages "
            f"{messages}; items {items}"
        )
        # One incident per flapping site, not the monitor's isolation (40 % of sites); flapping
        # once the site came back and failed again. A site the monitor saw down throughout (a
        # camera is back after two good checks, which a minute up does not always give) has a
        # site outage that never ended: one incident all the same.
        assert sorted(incident.site_id for incident in sites) == sorted(phase)
        assert all("site_down" in incident.conditions for incident in sites)
        assert all("flapping" in i.conditions for i in sites if i.reopened_count), sites
        assert 2 * len(flapping) > len(sites)
        assert not [incident for incident in top if incident.kind == "monitor"]
        # The cameras' incidents are held under their site's: the few told on their own are
        # those a site outage had not yet taken back (measured: 2 to 5 %; before: every one).
        assert len(alone) <= flapping_cameras // 10
        # No storm: a contact gets a message at most every group_wait_s (the outbox's rule), so
        # at most run / group_wait_s + 1 of them; and a few events per site it owns (opened,
        # resolved, reopened as flapping, and what its cameras told alone add; measured: up to
        # 15; before: 120): at most EVENTS_PER_SITE.
        run_s = QUIET_BEFORE_S + FLAP_S + QUIET_AFTER_S
        most_messages = run_s // alerts.group_wait_s + 1
        assert max(messages.values()) <= most_messages, messages
        with factory() as session:
            query = select(Site.id, Contact.name).join(
                Contact, Contact.municipality_id == Site.municipality_id
            )
            town_contact = dict(session.execute(query).all())
        owned = Counter(town_contact[site] for site in phase) + Counter(csu=len(phase))
        assert all(items[name] <= EVENTS_PER_SITE * owned[name] for name in owned), (items, owned)
        # The outbox grows by what is told, no more: every event grouped and delivered, each
        # message once (its idempotency key seen once); so at most EVENTS_PER_SITE events per
        # site and contact, and one delivery per contact and group window.
        keys = [key for got in receiver.got.values() for key, _ in got]
        assert len(keys) == len(set(keys)) == deliveries and unsent == 0
        assert events == sum(items.values()) <= EVENTS_PER_SITE * sum(owned.values())
        assert deliveries <= len(owned) * most_messages
    finally:
        monitor.db.shutdown()
        await runner.cleanup()
