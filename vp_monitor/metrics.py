"""What this process counts for Prometheus: checks, overruns, durations, probe failures, lateness,
database errors, deliveries and live-event clients.

A leaf module (prometheus-client only), so every stage may record into it. The metrics live in
this process's own `REGISTRY`, not prometheus-client's global default: nothing another library
registers there leaks into our exposition. Figures read from the database at scrape time (cameras
by state, outbox backlog) are `vp_monitor.service.operations`'s collector, not here.

Every `record_*` function swallows its own errors: counting must never break a check.
"""

from __future__ import annotations

import logging
from collections.abc import Iterable
from contextlib import AbstractContextManager
from datetime import UTC, datetime

from prometheus_client import (
    CollectorRegistry,
    Counter,
    Gauge,
    Histogram,
    PlatformCollector,
    ProcessCollector,
    disable_created_metrics,
    generate_latest,
)

log = logging.getLogger(__name__)

PREFIX = "vp_"
# No `*_created` series beside each counter and histogram: Prometheus reads the text format
# without them, and they double the exposition.
disable_created_metrics()
REGISTRY = CollectorRegistry(auto_describe=True)
ProcessCollector(registry=REGISTRY)  # memory, CPU, open files of this process
PlatformCollector(registry=REGISTRY)

# A check takes from tens of milliseconds (reachability) to tens of seconds (a stream overrun).
CHECK_BUCKETS = (0.05, 0.1, 0.25, 0.5, 1, 2, 3, 5, 8, 12, 20, 30, 60, 120)
# Lateness: 0 when the planner keeps up; minutes when workers or the database lag behind.
LATENESS_BUCKETS = (0.25, 0.5, 1, 2, 5, 10, 30, 60, 120, 300, 900, 3600)

CHECKS = Counter(
    f"{PREFIX}checks", "Checks finished (any result, overruns included), by tier.", ["tier"],
    registry=REGISTRY,
)  # fmt: skip
CHECK_OVERRUNS = Counter(
    f"{PREFIX}check_overruns", "Checks abandoned at their deadline, by tier.", ["tier"],
    registry=REGISTRY,
)  # fmt: skip
CHECK_DURATION = Histogram(
    f"{PREFIX}check_duration_seconds", "Time a check took, deadline overruns included, by tier.",
    ["tier"], buckets=CHECK_BUCKETS, registry=REGISTRY,
)  # fmt: skip
PROBE_FAILURES = Counter(
    f"{PREFIX}probe_failures",
    "Conditions found by checks, by the probe that found them (picture: the frame analysis).",
    ["probe", "condition"], registry=REGISTRY,
)  # fmt: skip
SCHEDULER_LATENESS = Histogram(
    f"{PREFIX}scheduler_lateness_seconds",
    "How late after its due time a check started, by tier.",
    ["tier"], buckets=LATENESS_BUCKETS, registry=REGISTRY,
)  # fmt: skip
PLANNER_LAST_TICK = Gauge(
    f"{PREFIX}planner_last_tick_timestamp_seconds",
    "When this process's planner last claimed due checks (Unix time).", registry=REGISTRY,
)  # fmt: skip
DATABASE_ERRORS = Counter(
    f"{PREFIX}database_errors", "Errors raised by the database driver, by kind.", ["error"],
    registry=REGISTRY,
)  # fmt: skip
DATABASE_AVAILABLE = Gauge(
    f"{PREFIX}database_available",
    "1 while this process can use its database, 0 during an outage (server away, disk full).",
    registry=REGISTRY,
)  # fmt: skip
DATABASE_AVAILABLE.set(1)
DELIVERY_ATTEMPTS = Counter(
    f"{PREFIX}delivery_attempts",
    "Notification delivery attempts by channel and outcome (sent, retry, failed: given up).",
    ["channel", "outcome"], registry=REGISTRY,
)  # fmt: skip
SSE_CLIENTS = Gauge(
    f"{PREFIX}sse_clients", "Clients connected to the live event stream.", registry=REGISTRY
)


def declare_tiers(tiers: Iterable[str]) -> None:
    """Give every tier its check series from the start, at zero: a rule watching them for no
    increase then fires for a monitor that never checked at all."""
    try:
        for tier in tiers:
            CHECKS.labels(tier)
            CHECK_OVERRUNS.labels(tier)
            CHECK_DURATION.labels(tier)
            SCHEDULER_LATENESS.labels(tier)
    except Exception:
        log.debug("tiers not declared", exc_info=True)


def record_check(tier: str, duration_s: float, overran: bool) -> None:
    """A finished check: counted, its duration observed, an overrun counted."""
    try:
        CHECKS.labels(tier).inc()
        CHECK_DURATION.labels(tier).observe(max(duration_s, 0.0))
        if overran:
            CHECK_OVERRUNS.labels(tier).inc()
    except Exception:  # counting must not break the monitor
        log.debug("check not counted", exc_info=True)


def record_probe_failures(probe: str, conditions: Iterable[str]) -> None:
    """Conditions one probe (or the picture analysis) found in one check."""
    try:
        for condition in conditions:
            PROBE_FAILURES.labels(probe, condition).inc()
    except Exception:
        log.debug("probe failures not counted", exc_info=True)


def record_lateness(tier: str, due_at: datetime) -> None:
    """A due check starts now: how late after `due_at` (a check claimed before its time, as
    `serve --once` does, counts as on time)."""
    try:
        late_s = (datetime.now(UTC) - due_at).total_seconds()
        SCHEDULER_LATENESS.labels(tier).observe(max(late_s, 0.0))
    except Exception:
        log.debug("lateness not recorded", exc_info=True)


def record_planner_tick() -> None:
    """The planner claimed due checks (or found none) just now."""
    try:
        PLANNER_LAST_TICK.set_to_current_time()
    except Exception:
        log.debug("planner tick not recorded", exc_info=True)


def record_database_error(kind: str) -> None:
    """One error of the database driver (`kind`: SQLAlchemy's class, e.g. OperationalError)."""
    try:
        DATABASE_ERRORS.labels(kind).inc()
    except Exception:
        log.debug("database error not counted", exc_info=True)


def record_database_available(value: int) -> None:
    """The database became unavailable (0) or available again (1)."""
    try:
        DATABASE_AVAILABLE.set(value)
    except Exception:
        log.debug("database availability not recorded", exc_info=True)


def record_delivery(channel: str, outcome: str) -> None:
    """One delivery attempt: `sent`, `retry` (will be tried again) or `failed` (given up)."""
    try:
        DELIVERY_ATTEMPTS.labels(channel, outcome).inc()
    except Exception:
        log.debug("delivery not counted", exc_info=True)


def track_sse_client() -> AbstractContextManager[None]:
    """Count a live-event client while the block runs: `with track_sse_client(): ...`."""
    return SSE_CLIENTS.track_inprogress()


def set_sse_clients(count: int) -> None:
    """Set the number of connected live-event clients (for code that keeps its own count)."""
    SSE_CLIENTS.set(count)


def exposition() -> bytes:
    """This process's metrics in the Prometheus text format."""
    return generate_latest(REGISTRY)
