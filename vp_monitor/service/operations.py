"""Operations: the fleet figures Prometheus reads from the database, readiness and health.

`fleet_figures` is the read model (cameras by municipality and state, outbox backlog, failed
deliveries, overdue checks); `FleetCollector` serves it at scrape time from a short cache, with a
time-out, so ten scrapes a second cost one query every few seconds and a slow database never
holds a scrape. `Operations` puts together what `/metrics`, `/healthz` and `/readyz` answer.
"""

from __future__ import annotations

import asyncio
import logging
import threading
import time
from collections.abc import Callable, Iterator
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from prometheus_client import CollectorRegistry, generate_latest
from prometheus_client.core import GaugeMetricFamily, Metric
from sqlalchemy import Engine, func, or_, select, text
from sqlalchemy.orm import Session

from vp_monitor import metrics
from vp_monitor.alerts.models import Delivery, OutboxEvent
from vp_monitor.conditions import STATE_NAMES
from vp_monitor.db import session_factory, utcnow
from vp_monitor.db_health import health_of, outage_kind
from vp_monitor.probes.capture import current_decoder_pool
from vp_monitor.probes.tiers import TIERS
from vp_monitor.registry.models import Camera, Contact, ContactChannel, Lifecycle, Municipality
from vp_monitor.service.scope import Scope
from vp_monitor.texts import Message, Texts

log = logging.getLogger(__name__)

FIGURES_CACHE_S = 5.0  # figures served again for this long before the database is read again
FIGURES_TIMEOUT_S = 2.0  # a scrape waits no longer for fresh figures
READY_TIMEOUT_S = 2.0  # SELECT 1 must answer within this
OUTBOX_STAGES = ("waiting", "sending")


# -- the read model ----------------------------------------------------------------------------
@dataclass
class FleetFigures:
    """What the database says about the fleet and the outbox, at `at`."""

    at: datetime
    cameras: dict[tuple[str, str], int] = field(default_factory=dict)  # (INSEE, state) -> count
    # (channel, stage) -> events and reports not delivered, and the oldest one's time
    undelivered: dict[tuple[str, str], int] = field(default_factory=dict)
    oldest_undelivered: dict[tuple[str, str], datetime] = field(default_factory=dict)
    failed: dict[str, int] = field(default_factory=dict)  # channel -> deliveries given up
    due: dict[str, int] = field(default_factory=dict)  # tier -> checks due, not yet claimed
    oldest_due: dict[str, datetime] = field(default_factory=dict)  # tier -> earliest due time


def fleet_figures(session: Session, scope: Scope, now: datetime | None = None) -> FleetFigures:
    """Cameras by municipality and state (the status wall's count: every camera not
    decommissioned, `unknown` until checked), then, for the supervision scope only, the outbox
    and the schedule: events and reports not yet delivered per channel and stage (`waiting` to
    be grouped, `sending` in a delivery under way) and the oldest of them, deliveries given up
    per channel, checks due and not claimed per tier and the oldest."""
    from vp_monitor.monitor.models import CameraStatus, CheckSchedule

    figures = FleetFigures(now or utcnow())
    state = func.coalesce(CameraStatus.state, "unknown")
    rows = session.execute(
        select(Municipality.insee, state, func.count(Camera.id))
        .select_from(Camera)
        .join(Municipality, Municipality.id == Camera.municipality_id)
        .outerjoin(CameraStatus, CameraStatus.camera_id == Camera.id)
        .where(Camera.lifecycle != Lifecycle.DECOMMISSIONED, scope.cameras())
        .group_by(Municipality.insee, state)
    )
    figures.cameras = {(insee, name): count for insee, name, count in rows}
    if not scope.is_supervision:
        return figures  # the outbox and the schedule are the whole system's
    waiting = (  # not yet grouped: may be held for a digest, quiet hours or a site outage
        select(Contact.channel, func.count(OutboxEvent.id), func.min(OutboxEvent.created_at))
        .join(Contact, Contact.id == OutboxEvent.contact_id)
        .where(OutboxEvent.delivery_id.is_(None))
        .group_by(Contact.channel)
    )
    # In a delivery being sent or retried: one row per event, one for a report (no events);
    # its age counts from when the delivery was made, when it became due.
    sending = (
        select(Contact.channel, func.count(), func.min(Delivery.created_at))
        .select_from(Delivery)
        .join(Contact, Contact.id == Delivery.contact_id)
        .outerjoin(OutboxEvent, OutboxEvent.delivery_id == Delivery.id)
        .where(Delivery.status == "pending")
        .group_by(Contact.channel)
    )
    for stage, query in (("waiting", waiting), ("sending", sending)):
        for channel, count, oldest in session.execute(query):
            figures.undelivered[(str(channel), stage)] = count
            if oldest is not None:
                figures.oldest_undelivered[(str(channel), stage)] = oldest
    failed = (
        select(Contact.channel, func.count(Delivery.id))
        .join(Contact, Contact.id == Delivery.contact_id)
        .where(Delivery.status == "failed")
        .group_by(Contact.channel)
    )
    figures.failed = {str(channel): count for channel, count in session.execute(failed)}
    free = or_(CheckSchedule.lease_owner.is_(None), CheckSchedule.lease_expires_at < figures.at)
    due = (
        select(
            CheckSchedule.tier, func.count(CheckSchedule.id), func.min(CheckSchedule.next_due_at)
        )
        .where(CheckSchedule.next_due_at <= figures.at, free)
        .group_by(CheckSchedule.tier)
    )
    for tier, count, oldest in session.execute(due):
        figures.due[tier] = count
        if oldest is not None:
            figures.oldest_due[tier] = oldest
    return figures


def read_fleet_figures(engine: Engine) -> FleetFigures:
    """`fleet_figures` for the supervision scope, in a read-only transaction of its own."""
    with session_factory(engine)() as session:
        return fleet_figures(session, Scope.supervision())


# -- the collector -----------------------------------------------------------------------------
def _gauge(name: str, documentation: str, labels: list[str]) -> GaugeMetricFamily:
    return GaugeMetricFamily(f"{metrics.PREFIX}{name}", documentation, labels=labels)


def figure_metrics(figures: FleetFigures) -> list[Metric]:
    """The figures as Prometheus gauges. Every state of a municipality that has cameras, every
    channel and every tier is given, zero included: a series that disappears would make an
    alert rule fall silent instead of clearing."""
    cameras = _gauge("cameras", "Cameras not decommissioned, by municipality (INSEE) and state.",
                     ["municipality", "state"])  # fmt: skip
    for insee in sorted({insee for insee, _ in figures.cameras}):
        for state in STATE_NAMES:
            cameras.add_metric([insee, state], figures.cameras.get((insee, state), 0))
    undelivered = _gauge("outbox_undelivered",
                         "Notification events and reports not yet delivered, by channel and "
                         "stage (waiting: to be grouped; sending: in a delivery under way).",
                         ["channel", "stage"])  # fmt: skip
    oldest = _gauge("outbox_oldest_undelivered_age_seconds",
                    "Age of the oldest undelivered event (waiting) or delivery (sending), 0 when "
                    "none, by channel and stage.", ["channel", "stage"])  # fmt: skip
    failed = _gauge("deliveries_failed",
                    "Deliveries given up after their retries (stored), by channel.",
                    ["channel"])  # fmt: skip
    for channel in (str(kind) for kind in ContactChannel):
        for stage in OUTBOX_STAGES:
            key = (channel, stage)
            undelivered.add_metric([channel, stage], figures.undelivered.get(key, 0))
            oldest.add_metric(
                [channel, stage], _age(figures.at, figures.oldest_undelivered.get(key))
            )
        failed.add_metric([channel], figures.failed.get(channel, 0))
    due = _gauge("checks_due", "Checks due and not yet claimed by any node, by tier.", ["tier"])
    overdue = _gauge("checks_overdue_seconds",
                     "How long the most overdue unclaimed check has been due (0: none), by tier.",
                     ["tier"])  # fmt: skip
    for tier in TIERS:
        due.add_metric([tier], figures.due.get(tier, 0))
        overdue.add_metric([tier], _age(figures.at, figures.oldest_due.get(tier)))
    return [cameras, undelivered, oldest, failed, due, overdue]


def _age(now: datetime, since: datetime | None) -> float:
    return max((now - since).total_seconds(), 0.0) if since is not None else 0.0


class FleetCollector:
    """A Prometheus collector reading `FleetFigures` at scrape time, from a short cache.

    One read at a time, in a thread of its own; a scrape waits for it at most `timeout_s`, then
    serves the last figures (their age says how old) and `vp_fleet_figures_up 0`. A read still
    under way when the time-out passes finishes and fills the cache for the next scrape; after
    a failed read the database is not asked again for `cache_s` either.
    """

    def __init__(
        self,
        read: Callable[[], FleetFigures],
        cache_s: float = FIGURES_CACHE_S,
        timeout_s: float = FIGURES_TIMEOUT_S,
    ) -> None:
        self.read, self.cache_s, self.timeout_s = read, cache_s, timeout_s
        self.reader = ThreadPoolExecutor(1, thread_name_prefix="vp-fleet-figures")
        self.lock = threading.Lock()
        self.figures: FleetFigures | None = None
        self.read_at = 0.0  # time.monotonic() of the figures in the cache
        self.failed_at = -float("inf")  # of the last read that failed: not tried again at once
        self.pending: Future[FleetFigures] | None = None
        self.reads = 0  # database reads done (for tests and diagnostics)

    def _fresh(self) -> tuple[FleetFigures | None, bool]:
        with self.lock:
            now = time.monotonic()
            if self.figures is not None and now - self.read_at < self.cache_s:
                return self.figures, True
            if now - self.failed_at < self.cache_s:  # the database was away just now
                return self.figures, False
            if self.pending is None:
                self.pending = self.reader.submit(self._read)
            pending = self.pending
        try:
            return pending.result(timeout=self.timeout_s), True
        except TimeoutError:
            log.warning("fleet figures: the database did not answer within %g s", self.timeout_s)
        except Exception as exc:  # the driver's error is counted; an outage logged once
            if outage_kind(exc) is None:
                log.warning("fleet figures not read: %s", type(exc).__name__)
        return self.figures, False

    def _read(self) -> FleetFigures:
        try:
            figures = self.read()
        except BaseException:
            with self.lock:
                self.failed_at, self.pending = time.monotonic(), None
            raise
        with self.lock:
            self.figures, self.read_at, self.reads = figures, time.monotonic(), self.reads + 1
            self.pending = None
        return figures

    def collect(self) -> Iterator[Metric]:
        figures, up = self._fresh()
        status = _gauge("fleet_figures_up",
                        "1 when the database answered the last scrape's fleet figures in time.",
                        [])  # fmt: skip
        status.add_metric([], 1 if up else 0)
        yield status
        if figures is None:
            return
        age = _gauge("fleet_figures_age_seconds", "Age of the fleet figures served.", [])
        age.add_metric([], _age(utcnow(), figures.at))
        yield age
        yield from figure_metrics(figures)

    def close(self) -> None:
        self.reader.shutdown(wait=False, cancel_futures=True)


# -- readiness ---------------------------------------------------------------------------------
def select_one(engine: Engine) -> None:
    """SELECT 1 on a connection of the engine's pool (raises when the database is away)."""
    with engine.connect() as connection:
        connection.execute(text("SELECT 1"))


class Operations:
    """What `/metrics`, `/healthz` and `/readyz` answer for one process.

    `engine`: the database; `monitor`: the monitor this process runs (`--role all|poller`), or
    None (`--role web`): then neither the scheduler nor the decoder pool is this process's to
    check. Set `monitor` once it is built; it may be replaced or cleared at any time.
    """

    def __init__(
        self,
        engine: Engine,
        monitor: Any = None,
        *,
        texts: Texts | None = None,
        cache_s: float = FIGURES_CACHE_S,
        timeout_s: float = FIGURES_TIMEOUT_S,
        ready_timeout_s: float = READY_TIMEOUT_S,
    ) -> None:
        self.engine, self.monitor = engine, monitor
        self.texts = texts or Texts()
        self.ready_timeout_s = ready_timeout_s
        self.fleet = FleetCollector(lambda: read_fleet_figures(engine), cache_s, timeout_s)
        self.registry = CollectorRegistry()
        self.registry.register(self.fleet)  # type: ignore[arg-type]
        # Scrapes and readiness probes run here, never in the pool the API's queries use: a
        # database that hangs holds these threads, not the web's.
        self.scrapes = ThreadPoolExecutor(2, thread_name_prefix="vp-scrape")
        self.probe = ThreadPoolExecutor(1, thread_name_prefix="vp-ready")
        self.probing: Future[None] | None = None
        self.lock = threading.Lock()

    @classmethod
    def of_app(cls, app: Any, monitor: Any = None, **options: Any) -> Operations:
        """Operations on a `service.app.App`: its engine and catalogue."""
        return cls(app.engine, monitor, texts=app.texts, **options)

    def exposition(self) -> bytes:
        """The process's metrics and the fleet figures, Prometheus text format (blocking)."""
        return metrics.exposition() + generate_latest(self.registry)

    async def scrape(self) -> bytes:
        """`exposition()` off the event loop."""
        return await asyncio.get_running_loop().run_in_executor(self.scrapes, self.exposition)

    async def readiness(self, texts: Texts | None = None) -> tuple[bool, list[str]]:
        """Whether this process can do its work, and why not (in the language of `texts`):
        the database answers SELECT 1 in time; when it runs a monitor, the scheduler runs and
        the decoder pool can decode."""
        reasons = [*await self._database_problems(), *self._monitor_problems()]
        texts = texts or self.texts
        return not reasons, [reason.render(texts) for reason in reasons]

    async def _database_problems(self) -> list[Message]:
        with self.lock:  # one SELECT 1 at a time: probes during an outage do not pile up
            if self.probing is None or self.probing.done():
                self.probing = self.probe.submit(select_one, self.engine)
            probing = self.probing
        health = health_of(self.engine)
        try:
            async with asyncio.timeout(self.ready_timeout_s):
                await asyncio.wrap_future(probing)
        except TimeoutError:
            return [Message("ready.database_timeout", seconds=f"{self.ready_timeout_s:g}")]
        except Exception as exc:  # the driver's text may name the server: the kind only
            if not health.failed(exc):  # an outage is logged once, by the health state
                log.warning("readiness: database unreachable: %s", type(exc).__name__)
            reason = type(getattr(exc, "orig", None) or exc).__name__
            return [Message("ready.database_unreachable", reason=reason)]
        # It answers reads; writes may still fail (a full disk) until one commits again.
        problem = health.problem()
        return [problem] if problem is not None else []

    def _monitor_problems(self) -> list[Message]:
        monitor = self.monitor
        if monitor is None:
            return []
        problems = []
        if key := monitor.scheduling_problem():
            problems.append(Message(key))
        pool = current_decoder_pool()
        if pool is not None and (key := pool.problem()):
            problems.append(Message(key))
        return problems

    def close(self) -> None:
        """Stop the threads (a probe stuck on a silent database is left to end on its own)."""
        self.fleet.close()
        self.scrapes.shutdown(wait=False, cancel_futures=True)
        self.probe.shutdown(wait=False, cancel_futures=True)
