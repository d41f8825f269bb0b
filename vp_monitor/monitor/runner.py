"""Runner: claimed checks go through a bounded queue to a fixed pool of workers.

What a check is (its probes, what it can see) is probes/tiers.py and probes/check.py; the
runner keeps the queue, the concurrency bounds and the deadline.

Concurrency is bounded globally (the number of workers), for the checks that play a stream
(admitted only while fewer than `stream_concurrency` are queued or running, so slow streams
cannot take every worker from the reachability checks) and per site: a semaphore per site
bounds the streams played at once, because cameras of a site share one uplink and a stream is
what loads it (a reachability check's few hundred bytes do not: it takes no site slot). A
camera is checked by one check at a time: a check of a camera under check already does not
wait holding a worker (it would sit idle behind a 5-15 s stream check); it is left with the
camera, whose worker runs it next. Every
check runs under a deadline; one that overruns is counted and abandoned (cancelled, not waited
for) and becomes a failed result. A camera's fault is always a result, never an exception that
stops the monitor.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field, replace
from typing import Any

from vp_monitor import metrics
from vp_monitor.monitor.planner import Claim
from vp_monitor.monitor.settings import MonitorSettings
from vp_monitor.probes.base import ProbeSettings, ProbeTarget
from vp_monitor.probes.tiers import TIERS, TierResult, error_result, overrun_result

log = logging.getLogger(__name__)

CheckFunction = Callable[..., Awaitable[TierResult]]
# The tiers whose checks play a stream, and the others: each is claimed within its own room.
STREAM_TIERS = tuple(name for name, tier in TIERS.items() if tier.plays_stream)
LIGHT_TIERS = tuple(name for name, tier in TIERS.items() if not tier.plays_stream)


@dataclass(frozen=True)
class Job:
    """One claimed check with what the probes need to run it."""

    claim: Claim
    target: ProbeTarget
    references: dict[str, bytes] = field(default_factory=dict, repr=False)  # kind -> JPEG
    provisional: frozenset[str] = frozenset()  # the kinds whose reference is provisional


# -- supervision -------------------------------------------------------------------------------
async def supervise(name: str, work: Callable[[], Awaitable[None]], restart_s: float = 1.0) -> None:
    """Run `work` forever: when it crashes, log it and start it again after a pause."""
    while True:
        try:
            await work()
            return
        except asyncio.CancelledError:
            raise
        except Exception:
            log.exception("%s crashed; restarting in %g s", name, restart_s)
            await asyncio.sleep(restart_s)


# -- the runner --------------------------------------------------------------------------------
ResultHandler = Callable[[Job, TierResult], Awaitable[None]]


class Runner:
    """A fixed pool of workers taking jobs from a bounded queue, with per-site limits.

    Workers wait for their site's semaphore: with checks spread over the interval a site
    rarely has more due at once than its limit, so a simple wait beats re-queueing.
    """

    def __init__(
        self,
        settings: MonitorSettings,
        on_result: ResultHandler,
        check: CheckFunction | None = None,
        probe_settings: ProbeSettings | None = None,
        vision_settings: Any = None,
    ) -> None:
        self.settings = settings
        self.on_result = on_result
        if check is None:  # the one check composition; it loads OpenCV, hence imported here
            from vp_monitor.probes.check import run_tier as check
        self.check = check
        self.probe_settings = probe_settings or ProbeSettings()
        self.vision_settings = vision_settings
        self.queue: asyncio.Queue[Job] = asyncio.Queue(maxsize=settings.queue_size)
        self.sites: dict[int, asyncio.Semaphore] = {}
        # One check at a time per camera: cheap cameras serve few RTSP sessions, and the probes
        # share one ONVIF client per camera. Bounded by the fleet size. A camera's checks that
        # came while it was under check wait in `waiting`, for the worker checking it (one a
        # tier at most: a leased check is not claimed again).
        self.cameras: dict[int, asyncio.Lock] = {}
        self.waiting: dict[int, list[Job]] = {}
        self.workers: list[asyncio.Task[None]] = []
        self.current: dict[asyncio.Task[Any], Job] = {}  # worker -> the job it is running
        self.stopping = False
        self.abandoned: set[asyncio.Task[Any]] = set()
        self.running = 0
        self.overruns = 0
        self.streams = 0  # admitted checks that play a stream, queued or running
        self.finished = asyncio.Event()  # set each time a worker ends a job
        metrics.declare_tiers(TIERS)

    @property
    def free_slots(self) -> int:
        """How many more jobs the queue takes now."""
        return self.queue.maxsize - self.queue.qsize()

    def room(self, streams: bool) -> int:
        """How many more jobs are admitted now: of STREAM_TIERS if `streams`, else LIGHT_TIERS."""
        if streams:
            return min(self.free_slots, self.settings.stream_concurrency - self.streams)
        return self.free_slots

    @property
    def idle(self) -> bool:
        """No job queued or running."""
        return self.queue.empty() and not self.current

    def admit(self, job: Job) -> None:
        """Queue a claimed job; the caller asked `room` first, so the queue has space."""
        if _plays_stream(job):
            self.streams += 1
        self.queue.put_nowait(job)

    def start(self) -> None:
        """Start the workers (each supervised)."""
        for number in range(self.settings.concurrency):
            name = f"check-worker-{number}"
            task = asyncio.create_task(supervise(name, self._work), name=name)
            self.workers.append(task)

    async def stop(self, wait_s: float = 0.0) -> list[Job]:
        """Stop the workers, letting the checks under way finish for up to `wait_s`; returns
        the jobs that did not run: still queued, or cancelled when the wait ran out."""
        self.stopping = True
        left = []
        while not self.queue.empty():
            left.append(self.queue.get_nowait())
            self.queue.task_done()
        busy = [task for task in self.workers if task in self.current]
        for task in self.workers:
            if task not in self.current:
                task.cancel()  # idle: waiting for a job that will not come
        if busy and wait_s > 0:
            log.info("stopping: waiting up to %g s for %d checks under way", wait_s, len(busy))
            await asyncio.wait(busy, timeout=wait_s)
        cancelled = [self.current[task] for task in busy if task in self.current]
        left += cancelled + [job for jobs in self.waiting.values() for job in jobs]
        self.waiting.clear()
        for task in self.workers:
            task.cancel()
        await asyncio.gather(*self.workers, return_exceptions=True)
        self.workers.clear()
        self.current.clear()
        for task in self.abandoned:
            task.cancel()
        if busy:
            log.info("stopping: %d checks under way finished, %d cancelled",
                     len(busy) - len(cancelled), len(cancelled))  # fmt: skip
        return left

    async def _work(self) -> None:
        worker = asyncio.current_task()
        while not self.stopping:
            job: Job | None = await self.queue.get()
            try:
                camera_id = job.claim.camera_id
                camera = self.cameras.setdefault(camera_id, asyncio.Lock())
                if camera.locked():  # under check: this one runs after it, on the same worker
                    self.waiting.setdefault(camera_id, []).append(job)
                    continue
                async with camera:
                    while job is not None:
                        self.current[worker] = job
                        try:
                            async with self._uplink_slot(job):
                                result = await self.run(job)
                            await self.on_result(job, result)
                        finally:
                            if _plays_stream(job):
                                self.streams -= 1
                        job = self._next_waiting(camera_id)
            finally:
                self.current.pop(worker, None)
                self.queue.task_done()
                self.finished.set()

    def _next_waiting(self, camera_id: int) -> Job | None:
        """The camera's next check that came while it was under check, if any."""
        waiting = self.waiting.get(camera_id)
        if not waiting:
            self.waiting.pop(camera_id, None)
            return None
        return waiting.pop(0)

    def _uplink_slot(self, job: Job) -> Any:
        """The site's stream slot for a check that plays a stream; nothing for the others."""
        if not _plays_stream(job):
            return contextlib.nullcontext()
        return self.sites.setdefault(
            job.claim.site_id, asyncio.Semaphore(self.settings.site_concurrency)
        )

    async def run(self, job: Job) -> TierResult:
        """One check under its deadline; an overrun is abandoned, a crash becomes a result."""
        tier = job.claim.tier
        timeout_s = getattr(self.settings.timeouts, tier)
        started = time.monotonic()
        if job.claim.due_at is not None:
            metrics.record_lateness(tier, job.claim.due_at)
        task = asyncio.create_task(
            self.check(tier, job.target, self.probe_settings, job.references,
                       self.vision_settings),
            name=f"check-{job.target.camera}-{tier}",
        )  # fmt: skip
        self.running += 1
        try:
            async with asyncio.timeout(timeout_s):
                result = await asyncio.shield(task)
        except TimeoutError:
            self._abandon(task)
            self.overruns += 1
            log.warning("%s: %s check overran %g s, abandoned", job.target.camera, tier, timeout_s)
            metrics.record_check(tier, time.monotonic() - started, overran=True)
            return overrun_result(tier, timeout_s)
        except asyncio.CancelledError:
            task.cancel()
            raise
        except Exception as exc:
            log.exception("%s: %s check failed", job.target.camera, tier)
            metrics.record_check(tier, time.monotonic() - started, overran=False)
            return error_result(tier, exc)
        finally:
            self.running -= 1
        duration_s = time.monotonic() - started
        metrics.record_check(tier, duration_s, overran=False)
        return replace(result, duration_s=duration_s)

    def _abandon(self, task: asyncio.Task[Any]) -> None:
        """Cancel a late check without waiting for it; keep a reference until it is gone."""
        task.cancel()
        self.abandoned.add(task)
        task.add_done_callback(self._forget)

    def _forget(self, task: asyncio.Task[Any]) -> None:
        self.abandoned.discard(task)
        if not task.cancelled() and task.exception() is not None:
            log.debug("abandoned %s ended with %r", task.get_name(), task.exception())


def _plays_stream(job: Job) -> bool:
    tier = TIERS.get(job.claim.tier)
    return tier is not None and tier.plays_stream
