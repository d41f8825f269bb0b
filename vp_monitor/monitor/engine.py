"""The monitor: planner tick → runner → evaluator → alerting, driven by APScheduler.

Everything the monitor knows lives in the database (schedule rows with leases, camera status,
history), so a restart, even after kill -9, resumes where it stopped: leases of the dead
process expire and the conditions already opened are not opened again.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from datetime import UTC, datetime, timedelta
from typing import Any

from apscheduler.schedulers.asyncio import AsyncIOScheduler
from sqlalchemy import Engine, delete, insert, select
from sqlalchemy.orm import Session, selectinload

from vp_monitor import metrics
from vp_monitor.alerts.incidents import OpenIncidents, record_change
from vp_monitor.alerts.settings import AlertSettings
from vp_monitor.db import insert_or_replace, session_factory, transaction, utcnow
from vp_monitor.db_health import health_of
from vp_monitor.events.feed import prune_events
from vp_monitor.events.record import CAMERA_STATE, record_event
from vp_monitor.monitor import availability, nodes, planner, provisional
from vp_monitor.monitor.evaluator import (
    TierResult,
    active_windows,
    history_due,
    history_row,
    in_maintenance,
    locked_statuses,
    retire_decommissioned,
    step,
    watched,
)
from vp_monitor.monitor.events import CameraChange
from vp_monitor.monitor.models import CameraStatus, CameraThumbnail, CheckRecord
from vp_monitor.monitor.runner import (
    LIGHT_TIERS,
    STREAM_TIERS,
    CheckFunction,
    Job,
    Runner,
    supervise,
)
from vp_monitor.monitor.settings import MonitorSettings
from vp_monitor.probes.base import ProbeSettings, ProbeTarget, camera_target
from vp_monitor.probes.capture import keep_freed_memory
from vp_monitor.probes.tiers import mark_reference
from vp_monitor.registry.models import Camera
from vp_monitor.registry.service import references_in_force

log = logging.getLogger(__name__)

WRITE_BATCH = 50  # results written in one transaction
# A writer waits this long for its batch to fill: a transaction costs ~3 ms of CPU whatever it
# holds, so writing results as they come (2-3 a batch at 200 a second) kept the database
# thread busy with them, and the planner's claims waited behind (tools/bench_fleet.py).
WRITE_LINGER_S = 0.25
# Results wait here for the writers; during a database outage too, so this bounds what is kept
# (while the database is away no new check is claimed: only those claimed before end).
RESULT_QUEUE = 512
# During a database outage a writer tries its batch again after this long, doubling up to the
# maximum: the outage's end is seen within seconds, without hammering a server that restarts.
WRITE_RETRY_S, WRITE_RETRY_MAX_S = 0.5, 2.0
JOBS_STOP_TIMEOUT_S = 15.0  # at shutdown, how long periodic jobs under way may take to end
# Not ready when the planner tick has not run for this many periods (and at least this long):
# one slow tick (a busy database) is not an outage.
TICK_LATE_AFTER_TICKS, TICK_LATE_MIN_S = 10, 60.0
ChangeListener = Callable[[str, CameraChange], None]


class ResultsKept(Exception):
    """The database is away: of a batch of results, `changes` were written, `kept` were not
    (the writer keeps them until it returns)."""

    def __init__(self, changes: list[tuple[str, CameraChange]], kept: list[Any]) -> None:
        super().__init__(f"{len(kept)} results kept: the database is away")
        self.changes, self.kept = changes, kept


def load_jobs(session: Session, claims: list[planner.Claim], secrets: Any = None) -> list[Job]:
    """What the probes need for each claim: the camera's address, credentials, references."""
    ids = {claim.camera_id for claim in claims}
    cameras = {c.id: c for c in session.scalars(select(Camera).where(Camera.id.in_(ids)))}
    statuses = {
        camera_id: (offset, conditions or ())
        for camera_id, offset, conditions in session.execute(
            select(
                CameraStatus.camera_id, CameraStatus.clock_offset_s, CameraStatus.conditions
            ).where(CameraStatus.camera_id.in_(ids))
        )
    }
    streamed = {claim.camera_id for claim in claims if claim.tier == "stream"}
    in_force = references_in_force(session, streamed) if streamed else {}
    jobs = []
    for claim in claims:
        camera = cameras.get(claim.camera_id)
        if camera is not None:
            target = probe_target(camera, *statuses.get(camera.id, (None, ())), secrets)
            references = in_force.get(camera.id, {})
            jobs.append(
                Job(
                    claim,
                    target,
                    {kind: r.jpeg for kind, r in references.items()},
                    frozenset(kind for kind, r in references.items() if r.provisional),
                )
            )
    return jobs


def probe_target(
    camera: Camera, clock_offset_s: float | None, open_conditions: Any, secrets: Any
) -> ProbeTarget:
    """The camera as the probes see it; the password is decrypted only here."""
    password = None
    if camera.password_encrypted and secrets is not None:
        try:
            password = secrets.decrypt(camera.password_encrypted)
        except Exception:  # wrong key: the check runs and reports auth_failed
            log.error("%s: stored password cannot be decrypted", camera.code)
    return camera_target(camera, password, clock_offset_s, open_conditions)


def site_group(camera: Camera | None) -> tuple[str, int]:
    """A key ordering the site groups (an uplink's sites, or a site without uplink)."""
    if camera is None:
        return ("", 0)
    return (camera.site.uplink, 0) if camera.site.uplink else ("", camera.site_id)


def prune_history(session: Session, days: int, now: datetime | None = None) -> int:
    """Delete check history older than `days` whose day is rolled up into daily availability
    (a day not rolled up yet is kept); how many records were deleted.

    The records of the last LOOKBACK of the days rolled up stay: they say which state was in
    force when the history after them begins."""
    until = availability.rolled_up_until(session)
    if until is None:
        return 0
    before = min((now or utcnow()) - timedelta(days=days), until - availability.LOOKBACK)
    return session.execute(delete(CheckRecord).where(CheckRecord.at < before)).rowcount


async def _close_probe_clients() -> None:
    """Close the ONVIF clients the probes keep between checks."""
    from vp_monitor.probes.onvif import close_clients

    try:
        async with asyncio.timeout(5):
            await close_clients()
    except Exception:  # closing is best effort at shutdown
        log.warning("ONVIF clients not closed cleanly", exc_info=True)


class Monitor:
    """Checks the whole fleet on schedule and turns results into states and incidents."""

    def __init__(
        self,
        engine: Engine,
        settings: MonitorSettings | None = None,
        *,
        probe_settings: ProbeSettings | None = None,
        vision_settings: Any = None,
        alert_settings: AlertSettings | None = None,
        channel_settings: Any = None,
        secrets: Any = None,
        check: CheckFunction | None = None,
        on_change: ChangeListener | None = None,
        role: str = "poller",
    ) -> None:
        self.settings = settings or MonitorSettings()
        self.factory = session_factory(engine)
        self.database = health_of(engine)  # shared with readiness and every job on this engine
        self.owner = self.settings.node_name()
        self.secrets = secrets
        self.channel_settings = channel_settings  # None: this node sends no notifications
        self.alert_settings = alert_settings if alert_settings is not None else AlertSettings()
        self.listeners: list[ChangeListener] = [on_change] if on_change else []
        self.runner = Runner(self.settings, self._submit, check, probe_settings, vision_settings)
        self.scheduler = AsyncIOScheduler(timezone=UTC)
        self.results: asyncio.Queue[tuple[Job, TierResult]] = asyncio.Queue(RESULT_QUEUE)
        # SQLite allows one writer: serialising our own database work avoids lock errors.
        self.db_workers = 1 if engine.dialect.name == "sqlite" else 4
        self.db = ThreadPoolExecutor(self.db_workers, thread_name_prefix="monitor-db")
        self.writers: list[asyncio.Task[None]] = []
        self.running_jobs: set[asyncio.Task[Any]] = set()  # periodic jobs under way
        self.checks_done = 0
        self.heartbeat = nodes.Heartbeat(self.factory, self.owner, role)
        self.fleet_jobs: set[str] = set()  # periodic jobs one node runs for all
        self.stopped = False  # a stopped Monitor is not started again: make a new one
        self.started_at: float | None = None  # time.monotonic() of start and of the last tick
        self.last_tick: float | None = None

    # -- life cycle ----------------------------------------------------------------------------
    async def start(self) -> None:
        """Schedule the fleet and start the workers, the result writer and the periodic jobs."""
        keep_freed_memory()
        await self._db(self.beat)
        await self._db(self._sync_schedule)
        self._start_pipeline()
        # Every node claims checks and says it is alive; the rest runs on one node per period.
        self.add_periodic(self.tick, self.settings.planner_tick_s, "planner-tick")
        self.add_periodic(self.beat, self.settings.heartbeat_s, "heartbeat",
                          first_in_s=self.settings.heartbeat_s)  # fmt: skip
        self.add_fleet_job(self._sync_schedule_in, self.settings.schedule_sync_s, "schedule-sync",
                           first_in_s=self.settings.schedule_sync_s)  # fmt: skip
        self.add_fleet_job(self._prune_in, 86400, "retention", first_in_s=3600)
        self.add_fleet_job(self._roll_up_in, 3600, "availability-rollup", first_in_s=600)
        self.add_fleet_job(self._prune_nodes_in, 3600, "node-retention", first_in_s=60)
        self.add_fleet_job(self._prune_events_in, 3600, "event-retention", first_in_s=120)
        if self.channel_settings is not None:
            from vp_monitor.alerts.jobs import add_alert_jobs
            from vp_monitor.monitor.availability import RECORDED_FLEET

            add_alert_jobs(
                self.add_periodic, self.add_fleet_job, self.factory, self.alert_settings,
                self.channel_settings, self.secrets, RECORDED_FLEET,
            )  # fmt: skip
        self.scheduler.start()
        self.started_at = time.monotonic()
        log.info("monitor %s started (%d workers)", self.owner, self.settings.concurrency)

    async def stop(self) -> None:
        """Stop taking work, finish writing results, and give back the leases still held."""
        if self.stopped:
            return
        self.stopped = True
        if self.scheduler.running:
            # No new runs; let the ones under way finish (a sync job's thread cannot be
            # cancelled anyway): shutting down cancels them and APScheduler logs each as failed.
            self.scheduler.pause()
            if self.running_jobs:
                await asyncio.wait(list(self.running_jobs), timeout=JOBS_STOP_TIMEOUT_S)
            self.scheduler.shutdown(wait=False)
        not_run = await self.runner.stop(self.settings.stop_wait_s)
        await self._drain_results()
        try:
            released = await self._db(self._release, not_run)
        except Exception as exc:
            if not self.database.failed(exc):
                raise
            released = 0  # their leases run out by themselves (lease_s), then others run them
        try:
            await self._db(self.heartbeat.leave)
        except Exception as exc:  # the row goes stale, then is deleted by node retention
            away = self.database.failed(exc)  # an outage is logged once, by the health state
            log.warning("node row of %s not deleted", self.owner, exc_info=not away)
        self.db.shutdown(wait=True)
        await _close_probe_clients()
        log.info("monitor %s stopped (%d leases given back)", self.owner, released)

    async def run_once(self) -> int:
        """Run every check that is due or has never run, once, then stop; returns how many."""
        await self._db(self.beat)
        await self._db(self._sync_schedule)
        self._start_pipeline()
        total, start = 0, utcnow()  # what is due at the start: a check run is not due again
        try:
            while True:
                self.runner.finished.clear()
                queued = await self._fill(never_run=True, at=start)
                total += queued
                if not queued and self.runner.idle:
                    break  # nothing left to claim, nothing under way
                if not queued:
                    await self.runner.finished.wait()  # no room: until a check ends
        finally:
            await self.stop()
        return total

    def add_periodic(
        self, func: Callable[[], Any], seconds: float, name: str, first_in_s: float = 0.0
    ) -> None:
        """Run `func` (plain or async) every `seconds` in this process; one run at a time."""

        async def run() -> None:
            task = asyncio.current_task()
            self.running_jobs.add(task)
            try:
                if asyncio.iscoroutinefunction(func):
                    await func()
                else:  # in a thread: database work must not hold up the event loop
                    await asyncio.get_running_loop().run_in_executor(None, func)
            except Exception as exc:
                if not self.database.failed(exc):
                    raise  # a bug: the scheduler logs it
                # The database is away (said once, by its health state): the next run tries.
            finally:
                self.running_jobs.discard(task)

        self.scheduler.add_job(
            run, "interval", seconds=seconds, id=name, name=name, max_instances=1,
            coalesce=True, misfire_grace_time=None, replace_existing=True,
            next_run_time=utcnow() + timedelta(seconds=first_in_s),
        )  # fmt: skip

    def add_fleet_job(
        self, work: Callable[[Session], Any], seconds: float, name: str, first_in_s: float = 0.0
    ) -> None:
        """Run `work(session)` every `seconds` on one node of all those sharing the database.

        Every node's scheduler tries; the first to claim the period runs it, in the claim's
        transaction (see nodes.claim_periodic); the others skip it.
        """

        def run() -> None:
            with transaction(self.factory) as session:
                if nodes.claim_periodic(session, name, seconds, self.owner, utcnow()):
                    work(session)

        async def run_in_db_thread() -> None:
            await self._db(run)

        self.fleet_jobs.add(name)
        self.add_periodic(run_in_db_thread, seconds, name, first_in_s)

    def _start_pipeline(self) -> None:
        self.runner.start()
        for number in range(self.db_workers):  # PostgreSQL takes several writers at once
            name = f"result-writer-{number}"
            task = asyncio.create_task(supervise(name, self._write_results), name=name)
            self.writers.append(task)

    # -- periodic jobs -------------------------------------------------------------------------
    async def tick(self) -> None:
        """Claim the checks due now (as many as the queue takes) and queue them, a batch at a
        time while batches come back full: one batch per tick capped the claims at
        batch_size / planner_tick_s (100 a second, about 6,000 cameras)."""
        self.last_tick = time.monotonic()
        metrics.record_planner_tick()
        await self._fill(never_run=False)

    async def _fill(self, never_run: bool, at: datetime | None = None) -> int:
        """Claim the checks due (`at`, default now) while the runner has room, the stream-playing
        tiers and the light ones each within their own room; how many were queued. Rows
        left due when the room is full stay due: another node may take them."""
        queued = 0
        for streams, tiers in ((True, STREAM_TIERS), (False, LIGHT_TIERS)):  # the longer first
            while (free := min(self.settings.batch_size, self.runner.room(streams))) > 0:
                jobs = await self._db(self._claim, free, never_run, tiers, at)
                for job in jobs:
                    self.runner.admit(job)
                queued += len(jobs)
                if len(jobs) < free:
                    break  # nothing more of these due now
        return queued

    def scheduling_problem(self) -> str | None:
        """Why this monitor is not scheduling checks (a catalogue key), or None when it is:
        stopped, its scheduler not running, or its planner tick not seen for long."""
        if self.stopped or not self.scheduler.running:
            return "ready.scheduler_stopped"
        started = self.last_tick or self.started_at
        late_after = max(TICK_LATE_AFTER_TICKS * self.settings.planner_tick_s, TICK_LATE_MIN_S)
        if started is not None and time.monotonic() - started > late_after:
            return "ready.scheduler_stalled"
        return None

    def beat(self) -> None:
        """Write this node's heartbeat row (a write that commits: the database is there)."""
        started = time.monotonic()
        self.heartbeat.beat(self.checks_done)
        self.database.wrote(started)

    # -- database work (in the executor thread) ------------------------------------------------
    async def _db(self, func: Callable[..., Any], *args: Any) -> Any:
        return await asyncio.get_running_loop().run_in_executor(self.db, func, *args)

    def _sync_schedule(self) -> None:
        with transaction(self.factory) as session:
            self._sync_schedule_in(session)

    def _sync_schedule_in(self, session: Session) -> None:
        change = planner.ensure_schedule(session, self.settings)
        for retired in retire_decommissioned(session, utcnow()):
            record_event(session, CAMERA_STATE, at=retired.at, camera_id=retired.camera_id,
                         **retired.event_payload())  # fmt: skip
            record_change(session, retired, self.alert_settings)  # resolves what was open
        if change.added or change.removed or change.updated:
            log.info("schedule: %d added, %d removed, %d updated", change.added, change.removed,
                     change.updated)  # fmt: skip

    def _claim(
        self,
        limit: int,
        never_run: bool,
        tiers: tuple[str, ...] | None = None,
        at: datetime | None = None,
    ) -> list[Job]:
        with transaction(self.factory) as session:
            claims = planner.claim_due(
                session, self.owner, at or utcnow(), limit, lease_s=self.settings.lease_s,
                jitter=self.settings.jitter, never_run=never_run, tiers=tiers,
            )  # fmt: skip
            return load_jobs(session, claims, self.secrets) if claims else []

    def _release(self, not_run: list[Job]) -> int:
        """Give back the checks that did not run (due as before), then any lease still held
        (a result that could not be written: due at once)."""
        with transaction(self.factory) as session:
            given = planner.give_back(session, [job.claim for job in not_run])
            return given + planner.release_owner(session, self.owner)

    def _prune_in(self, session: Session) -> None:
        removed = prune_history(session, self.settings.retention_days)
        log.info("retention: %d old check records deleted", removed)

    def _roll_up_in(self, session: Session) -> None:
        for day in availability.roll_up(session, utcnow()):
            log.info("availability of %s rolled up", day.isoformat())

    def _prune_nodes_in(self, session: Session) -> None:
        removed = nodes.prune_nodes(session, utcnow(), self.settings.node_retention_days)
        if removed:
            log.info("node retention: %d nodes not seen for long deleted", removed)

    def _prune_events_in(self, session: Session) -> None:
        removed = prune_events(session, self.settings.event_retention_hours)
        if removed:
            log.info("event retention: %d old change events deleted", removed)

    def _record(self, batch: list[tuple[Job, TierResult]]) -> list[tuple[str, CameraChange]]:
        """Write a batch of results in one transaction; one by one if that fails. ResultsKept
        when the database is away: the writer keeps what was not written until it returns."""
        # Every writer locks status rows in camera id order (one query) and site rows in site
        # group order (see `_apply`), so concurrent writers do not deadlock; should the
        # database still break one transaction, the retry below writes its results.
        batch = sorted(batch, key=lambda item: item[0].claim.camera_id)
        now = utcnow()
        try:
            with transaction(self.factory) as session:
                return self._apply(session, batch, now)
        except Exception as exc:  # a bad result, or a deadlock the database broke
            if self.database.failed(exc):
                raise ResultsKept([], batch) from None
            log.warning("%d results not written together: one by one now", len(batch),
                        exc_info=True)  # fmt: skip
        changes = []
        for number, item in enumerate(batch):  # one camera's bad result must not lose the others
            try:
                with transaction(self.factory) as session:
                    changes += self._apply(session, [item], now)
            except Exception as exc:
                if self.database.failed(exc):
                    raise ResultsKept(changes, batch[number:]) from None
                log.exception("%s: result could not be recorded", item[0].target.camera)
        return changes

    def _apply(
        self, session: Session, batch: list[tuple[Job, TierResult]], now: datetime
    ) -> list[tuple[str, CameraChange]]:
        """Statuses, history, incidents and leases of a batch of results sorted by camera.

        Per batch, not per result: one query locks the statuses, one inserts the history, one
        gives back the leases; the alert stage runs only for results it has something to do for.
        """
        ids = [job.claim.camera_id for job, _ in batch]
        query = select(Camera).options(selectinload(Camera.site)).where(Camera.id.in_(ids))
        cameras = {camera.id: camera for camera in session.scalars(query)}
        # The alert stage locks the sites behind a camera's uplink: take the groups in one
        # global order. The sort is stable: two results of one camera keep their order.
        batch = sorted(batch, key=lambda item: site_group(cameras.get(item[0].claim.camera_id)))
        windows = active_windows(session, now)
        watched_ids = [camera_id for camera_id in ids if watched(cameras.get(camera_id))]
        statuses = locked_statuses(session, watched_ids, now)
        open_now: OpenIncidents | None = None
        changes, history, done, learning = [], [], [], []
        thumbnails: dict[int, dict[str, Any]] = {}  # one per camera: the batch's newest
        for job, result in batch:
            camera, retry = cameras.get(job.claim.camera_id), None
            if watched(camera):  # else retired while its check ran: the planner unschedules it
                result = mark_reference(result, job.provisional)
                if provisional.learning(result, job.references):
                    learning.append(provisional.Observation(camera, result, job.references,
                                                            job.claim.interval_s))  # fmt: skip
                open_now = open_now or OpenIncidents.load(session, watched_ids)
                maintenance = in_maintenance(session, camera, now, windows)
                status = statuses[camera.id]
                change = step(status, result, self.settings, now, maintenance)
                if history_due(status, result, change, self.settings.history_every_s):
                    history.append(history_row(result, change))
                if change.changed:  # live clients hear of changes, not of every check
                    record_event(session, CAMERA_STATE, at=now, camera_id=camera.id,
                                 **change.event_payload())  # fmt: skip
                if open_now.concern(change, camera.site_id):
                    record_change(session, change, self.alert_settings)
                    open_now = None  # what it did may concern the next results: load again
                changes.append((job.target.camera, change))
                if result.thumbnail_jpeg:
                    thumbnails[camera.id] = dict(camera_id=camera.id, taken_at=now,
                                                 jpeg=result.thumbnail_jpeg)  # fmt: skip
                if change.confirming and self.settings.retry_s:
                    retry = self.settings.retry_s
            done.append(planner.Done(job.claim, result.overran, retry))
        if history:
            session.execute(insert(CheckRecord), history)
        if thumbnails:
            replace_thumbnail = insert_or_replace(session, CameraThumbnail, ("camera_id",),
                                                  ("taken_at", "jpeg"))  # fmt: skip
            session.execute(replace_thumbnail, list(thumbnails.values()))
        provisional.learn(session, learning, self.settings, now)
        planner.finish_all(session, done, now)
        return changes

    # -- results -------------------------------------------------------------------------------
    async def _submit(self, job: Job, result: TierResult) -> None:
        await self.results.put((job, result))  # bounded: slows workers if writing lags

    async def _write_results(self) -> None:
        while True:
            batch = [await self.results.get()]
            try:
                with contextlib.suppress(TimeoutError):
                    async with asyncio.timeout(WRITE_LINGER_S):
                        while len(batch) < WRITE_BATCH:
                            batch.append(await self.results.get())
                await self._write(batch)
            finally:
                for _ in batch:
                    self.results.task_done()

    async def _write(self, batch: list[tuple[Job, TierResult]]) -> None:
        """Write a batch; while the database is away, keep what is not written and try again
        (results whose lease ran out meanwhile are dropped: their checks are due again)."""
        retry_s = WRITE_RETRY_S
        while True:
            started = time.monotonic()
            try:
                changes, kept = await self._db(self._record, batch), []
            except ResultsKept as away:
                changes, kept = away.changes, away.kept
            if len(kept) < len(batch):
                self.database.wrote(started)
            self.checks_done += len(batch) - len(kept)
            self._tell(changes)
            if not kept:
                return
            batch = self._unexpired(kept)
            if not batch:
                return
            await asyncio.sleep(retry_s)
            retry_s = min(2 * retry_s, WRITE_RETRY_MAX_S)

    def _unexpired(self, kept: list[tuple[Job, TierResult]]) -> list[tuple[Job, TierResult]]:
        """The kept results whose lease still holds: writing the others could overwrite what
        another node saw since it took their checks over."""
        now = utcnow()
        fresh = [item for item in kept if item[0].claim.lease_expires_at > now]
        if len(fresh) < len(kept):
            log.warning("%d results dropped: their lease ran out while the database was away "
                        "(the checks run again)", len(kept) - len(fresh))  # fmt: skip
        return fresh

    def _tell(self, changes: list[tuple[str, CameraChange]]) -> None:
        for code, change in changes:
            for listener in self.listeners:
                try:
                    listener(code, change)
                except Exception:  # a display bug must not stop the monitor
                    log.exception("change listener failed")

    async def _drain_results(self) -> None:
        """Write what the workers finished, then stop the writer."""
        if not self.writers:
            return
        try:
            await asyncio.wait_for(self.results.join(), timeout=30)
        except TimeoutError:
            log.warning("results still unwritten at shutdown: their checks run again")
        for task in self.writers:
            task.cancel()
        await asyncio.gather(*self.writers, return_exceptions=True)
        self.writers.clear()
