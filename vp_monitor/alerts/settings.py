"""Alerting settings (`[alerts]` in the TOML): severities, grouping, retries, escalation."""

from __future__ import annotations

from datetime import time

from pydantic import Field

from vp_monitor import conditions
from vp_monitor.conditions import SEVERITIES as SEVERITY_ORDER
from vp_monitor.conditions import SEVERITY_RANK, Severity
from vp_monitor.section import Section, TimeZoneName

# Default severities come from the condition table (vp_monitor/conditions.py).
DEFAULT_SEVERITIES: dict[str, Severity] = {
    row.name: row.severity for row in conditions.CONDITIONS.values()
}


class AlertSettings(Section):
    """How incidents are rated, grouped, delivered and escalated."""

    severities: dict[str, Severity] = Field(
        default_factory=lambda: dict(DEFAULT_SEVERITIES),
        description="Severity of each condition; an incident takes its worst open condition's. "
        "Conditions not listed are 'major'.",
    )
    group_wait_s: float = Field(
        default=30.0,
        ge=0,
        description="A recipient's events are gathered into one message once the oldest is "
        "this old (failures and recoveries together).",
    )
    reopen_grace_s: float = Field(
        default=600.0,
        ge=0,
        description="A problem coming back within this time after recovery reopens the same "
        "incident (same id) instead of opening a new one.",
    )
    correlation_window_s: float = Field(
        default=60.0,
        ge=0,
        description="Cameras of one uplink (or site) going down within this time are one site "
        "outage; an unreachable camera's incident is held this long so that the site outage can "
        "replace it.",
    )
    site_min_cameras: int = Field(
        default=2, ge=2, description="Fewest active cameras behind an uplink to open site outages."
    )
    isolation_fraction: float = Field(
        default=0.8,
        gt=0,
        le=1,
        description="Fraction of sites down at once that means the monitor itself is cut off.",
    )
    isolation_min_sites: int = Field(
        default=3, ge=1, description="Fewest monitored sites for the isolation rule to apply."
    )
    escalate_after_s: float = Field(
        default=900.0,
        gt=0,
        description="An incident not acknowledged this long after it was last told goes to the "
        "contacts of the next escalation level.",
    )
    reminder_interval_s: float = Field(
        default=3600.0,
        gt=0,
        description="Reminder of open, unacknowledged incidents at this interval.",
    )
    retry_base_s: float = Field(
        default=10.0, gt=0, description="First retry delay of a failed delivery (then doubled)."
    )
    # Only a recipient's oldest message is retried (the rest wait behind it), so this retry is
    # also the probe of a receiver that is down: one request per recipient per retry_max_s is
    # cheap, and a returning receiver gets its whole backlog within this time (issue 15: 30 s).
    retry_max_s: float = Field(
        default=20.0,
        gt=0,
        description="Longest delay between two delivery attempts; a receiver that comes back "
        "gets its backlog within this time.",
    )
    give_up_after_s: float = Field(
        default=48 * 3600.0,
        gt=0,
        description="A delivery still failing this long after it was created is given up.",
    )
    lease_s: float = Field(
        default=120.0,
        gt=0,
        description="How long a node holds deliveries it is sending; then another may retry.",
    )
    send_timeout_s: float = Field(
        default=60.0, gt=0, description="Hard limit on one channel send (channels have their own)."
    )
    dispatch_batch: int = Field(
        default=100, ge=1, le=10_000, description="Deliveries claimed per dispatch round."
    )
    dispatch_concurrency: int = Field(
        default=20, ge=1, le=1000, description="Deliveries sent at the same time."
    )
    group_batch: int = Field(
        default=10_000, ge=1, description="Ungrouped events read per grouping round."
    )
    max_items_per_message: int = Field(
        default=200, ge=1, description="Most events in one message; the rest go in the next."
    )
    timezone: TimeZoneName = Field(
        default="Europe/Paris",
        description="Time zone of the contacts' quiet hours, digest times and report days.",
    )
    digest_times: list[time] = Field(
        default_factory=lambda: [time(8, 0), time(17, 0)],
        min_length=1,
        description="Local times at which contacts in digest mode get the events gathered "
        "since their last digest, in one message.",
    )
    report_time: time = Field(
        default=time(7, 0),
        description="Local time of the daily report about the previous day, for contacts that "
        "take reports.",
    )
    report_rows: int = Field(
        default=20, ge=1, le=1000, description="Most cameras and incidents listed in a report."
    )
    evidence_url: str | None = Field(
        default=None,
        description="Link to an incident's evidence frame, '{incident_id}' replaced, e.g. "
        "'https://vp.example.org/incidents/{incident_id}/evidence.jpg'; none if unset.",
    )

    def severity_of(self, conditions: list[str] | tuple[str, ...] | frozenset[str]) -> Severity:
        """The worst severity among `conditions` ('minor' when there are none)."""
        found = {self.severities.get(name, "major") for name in conditions}
        return next((level for level in SEVERITY_ORDER if level in found), "minor")


__all__ = ["DEFAULT_SEVERITIES", "SEVERITY_ORDER", "SEVERITY_RANK", "AlertSettings", "Severity"]
