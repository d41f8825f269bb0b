"""Runner: claimed checks go through a bounded queue to a fixed pool of workers.

Concurrency is bounded globally (the number of workers) and per site (a semaphore per site,
because cameras of a site share one uplink). Every check runs under a deadline; one that
overruns is counted and abandoned (cancelled, not waited for) and becomes a failed result. A
camera's fault is always a result, never an exception that stops the monitor.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field, replace
from typing import Any

from vp_monitor import conditions
from vp_monitor.monitor.evaluator import TierResult
from vp_monitor.monitor.planner import Claim
from vp_monitor.monitor.settings import MonitorSettings
from vp_monitor.probes.base import ProbeResult, ProbeSettings, ProbeTarget

log = logging.getLogger(__name__)

# What an ONVIF failure says that working video contradicts (then it is only onvif_error).
ONVIF_NO_VIDEO = conditions.names(down=True) & conditions.observed_by("onvif", answered=False)
# What an overrun check is taken to mean, per tier.
OVERRUN_CONDITION = {tier.name: tier.overrun for tier in conditions.TIERS}

CheckFunction = Callable[..., Awaitable[TierResult]]


@dataclass(frozen=True)
class Job:
    """One claimed check with what the probes need to run it."""

    claim: Claim
    target: ProbeTarget
    references: dict[str, bytes] = field(default_factory=dict, repr=False)


# -- one tier of checks -----------------------------------------------------------------------
def _observed(probes: dict[str, ProbeResult], has_picture: bool) -> frozenset[str]:
    """The conditions these probe results could have shown (only those may clear).

    The condition table says which probe judges what; the stream probe judges the picture
    only when one was decoded, the others their facts only when they got an answer."""
    seen: set[str] = set()
    for name, result in probes.items():
        seen |= conditions.observed_by(name, has_picture if name == "stream" else result.ok)
    return frozenset(seen)


def _conditions(probes: dict[str, ProbeResult], video_ok: bool | None) -> set[str]:
    """Every probe's conditions; an ONVIF failure on a camera whose video works is onvif_error."""
    conditions: set[str] = set()
    for name, result in probes.items():
        found = set(result.conditions)
        if name == "onvif" and video_ok and found & ONVIF_NO_VIDEO:
            found = (found - ONVIF_NO_VIDEO) | {"onvif_error"}
        conditions |= found
    return conditions


def _announced(target: ProbeTarget, onvif: ProbeResult) -> ProbeTarget:
    """The stream URLs from ONVIF where the registry has none."""
    uris = [p.get("rtsp_uri") for p in onvif.detail.get("profiles") or []] + [None, None]
    return target.with_urls(uris[0], uris[1])


async def _reachability(target: ProbeTarget, settings: ProbeSettings) -> TierResult:
    from vp_monitor.probes.runner import run_probe

    probes: dict[str, ProbeResult] = {}
    if target.onvif_host:
        probes["onvif"] = await run_probe("onvif", target, settings)
        target = _announced(target, probes["onvif"])
    probes["rtsp"] = await run_probe("rtsp", target, settings)
    video_ok = probes["rtsp"].ok
    return _tier_result("reachability", probes, video_ok, _observed(probes, False))


async def _inventory(target: ProbeTarget, settings: ProbeSettings) -> TierResult:
    from vp_monitor.probes.runner import run_probe

    if not target.onvif_host:
        return TierResult(
            "inventory", frozenset(), frozenset(), None, detail={"skipped": "no ONVIF"}
        )
    probes = {"onvif": await run_probe("onvif", target, settings)}
    # Inventory does not judge reachability: the reachability tier does, every minute.
    observed = _observed(probes, False) - {"unreachable"}
    result = _tier_result("inventory", probes, None, observed)
    return replace(result, conditions=result.conditions - {"unreachable"})


async def _stream(
    target: ProbeTarget, settings: ProbeSettings, references: dict[str, bytes], vision: Any
) -> TierResult:
    from vp_monitor.probes.check import check_camera

    report = await check_camera(target, settings, references or None, vision)
    video_ok = report.frame is not None
    result = _tier_result("stream", report.probes, video_ok, _observed(report.probes, video_ok))
    metrics = {**result.metrics, **report.analysis}
    return TierResult(result.tier, result.conditions | _analysis_conditions(report, result),
                      result.observed, video_ok, metrics, result.detail,
                      evidence_jpeg=report.evidence_jpeg,
                      clock_offset_s=result.clock_offset_s)  # fmt: skip


def _analysis_conditions(report: Any, result: TierResult) -> frozenset[str]:
    """The picture conditions the check found beyond its probes' own."""
    from_probes = set().union(*(r.conditions for r in report.probes.values()))
    return frozenset(set(report.conditions) - from_probes - ONVIF_NO_VIDEO)


def _tier_result(
    tier: str, probes: dict[str, ProbeResult], video_ok: bool | None, observed: frozenset[str]
) -> TierResult:
    metrics: dict[str, float] = {}
    for name, result in probes.items():
        metrics |= {f"{name}_{key}": value for key, value in result.metrics.items()}
    onvif = probes.get("onvif")
    return TierResult(
        tier=tier, conditions=frozenset(_conditions(probes, video_ok)), observed=observed,
        video_ok=video_ok, metrics=metrics,
        detail={"probes": {name: result.to_json() for name, result in probes.items()}},
        clock_offset_s=onvif.metrics.get("clock_offset_s") if onvif else None,
    )  # fmt: skip


async def run_tier(
    tier: str,
    target: ProbeTarget,
    settings: ProbeSettings,
    references: dict[str, bytes] | None = None,
    vision_settings: Any = None,
) -> TierResult:
    """Run one tier of checks on one camera (the runner adds the deadline)."""
    if tier == "reachability":
        return await _reachability(target, settings)
    if tier == "inventory":
        return await _inventory(target, settings)
    if tier == "stream":
        return await _stream(target, settings, references or {}, vision_settings)
    raise ValueError(f"unknown tier {tier!r}")


def overrun_result(tier: str, timeout_s: float) -> TierResult:
    """What a check abandoned at its deadline means: the camera did not answer in time."""
    condition = OVERRUN_CONDITION[tier]
    return TierResult(
        tier, frozenset({condition}), frozenset({condition}),
        None if tier == "inventory" else False, duration_s=timeout_s,
        detail={"error": f"check abandoned after {timeout_s:g} s"}, overran=True,
    )  # fmt: skip


def error_result(tier: str, exc: BaseException) -> TierResult:
    """A bug in a check costs that check only: recorded, judged as nothing seen."""
    return TierResult(tier, frozenset(), frozenset(), None,
                      detail={"error": f"check failed: {type(exc).__name__}"})  # fmt: skip


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
        self.check = check or run_tier
        self.probe_settings = probe_settings or ProbeSettings()
        self.vision_settings = vision_settings
        self.queue: asyncio.Queue[Job] = asyncio.Queue(maxsize=settings.queue_size)
        self.sites: dict[int, asyncio.Semaphore] = {}
        # One check at a time per camera: cheap cameras serve few RTSP sessions, and the probes
        # share one ONVIF client per camera. Bounded by the fleet size.
        self.cameras: dict[int, asyncio.Lock] = {}
        self.workers: list[asyncio.Task[None]] = []
        self.current: dict[asyncio.Task[Any], Job] = {}  # worker -> the job it is running
        self.stopping = False
        self.abandoned: set[asyncio.Task[Any]] = set()
        self.running = 0
        self.overruns = 0

    @property
    def free_slots(self) -> int:
        """How many more jobs the queue takes now."""
        return self.queue.maxsize - self.queue.qsize()

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
        left += cancelled
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
            job = await self.queue.get()
            self.current[worker] = job
            try:
                site = self.sites.setdefault(
                    job.claim.site_id, asyncio.Semaphore(self.settings.site_concurrency)
                )
                camera = self.cameras.setdefault(job.claim.camera_id, asyncio.Lock())
                async with site, camera:
                    result = await self.run(job)
                await self.on_result(job, result)
            finally:
                self.current.pop(worker, None)
                self.queue.task_done()

    async def run(self, job: Job) -> TierResult:
        """One check under its deadline; an overrun is abandoned, a crash becomes a result."""
        tier = job.claim.tier
        timeout_s = getattr(self.settings.timeouts, tier)
        started = time.monotonic()
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
            return overrun_result(tier, timeout_s)
        except asyncio.CancelledError:
            task.cancel()
            raise
        except Exception as exc:
            log.exception("%s: %s check failed", job.target.camera, tier)
            return error_result(tier, exc)
        finally:
            self.running -= 1
        return replace(result, duration_s=time.monotonic() - started)

    def _abandon(self, task: asyncio.Task[Any]) -> None:
        """Cancel a late check without waiting for it; keep a reference until it is gone."""
        task.cancel()
        self.abandoned.add(task)
        task.add_done_callback(self._forget)

    def _forget(self, task: asyncio.Task[Any]) -> None:
        self.abandoned.discard(task)
        if not task.cancelled() and task.exception() is not None:
            log.debug("abandoned %s ended with %r", task.get_name(), task.exception())
