"""The process's counters: recording never raises into the caller, and what is recorded shows in
the exposition, parsed by prometheus-client's own parser."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from prometheus_client.parser import text_string_to_metric_families

from vp_monitor import metrics


def sample(name: str, **labels: str) -> float:
    for family in text_string_to_metric_families(metrics.exposition().decode()):
        for found in family.samples:
            if found.name == name and found.labels == labels:
                return found.value
    return 0.0


def test_recording_bad_values_never_raises():
    """Whatever the monitor hands over, counting must not break a check."""
    metrics.record_lateness("stream", datetime(2026, 1, 1))  # naive: cannot be compared
    metrics.record_lateness("stream", None)  # type: ignore[arg-type]
    metrics.record_probe_failures("stream", None)  # type: ignore[arg-type]
    metrics.record_check("stream", "slow", overran=False)  # type: ignore[arg-type]
    metrics.record_delivery(None, None)  # type: ignore[arg-type]


def test_lateness_counts_from_the_due_time():
    """Two minutes late lands above the 60 s bucket; a check claimed early is on time."""
    before_late = sample("vp_scheduler_lateness_seconds_bucket", tier="unit", le="60.0")
    metrics.record_lateness("unit", datetime.now(UTC) - timedelta(minutes=2))
    metrics.record_lateness("unit", datetime.now(UTC) + timedelta(minutes=2))
    assert sample("vp_scheduler_lateness_seconds_count", tier="unit") == 2
    assert sample("vp_scheduler_lateness_seconds_bucket", tier="unit", le="0.25") == 1
    assert sample("vp_scheduler_lateness_seconds_bucket", tier="unit", le="60.0") == before_late + 1
    assert sample("vp_scheduler_lateness_seconds_sum", tier="unit") >= 120


def test_declared_tiers_are_served_at_zero_and_sse_clients_are_tracked():
    metrics.declare_tiers(["declared"])
    assert ("vp_checks_total", "declared") in {
        (s.name, s.labels.get("tier"))
        for f in text_string_to_metric_families(metrics.exposition().decode())
        for s in f.samples
    }
    assert sample("vp_checks_total", tier="declared") == 0
    with metrics.track_sse_client():
        assert sample("vp_sse_clients") == 1
    assert sample("vp_sse_clients") == 0
