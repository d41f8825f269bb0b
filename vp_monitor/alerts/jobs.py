"""The alerting stage's periodic work, registered on the monitor's scheduler."""

from __future__ import annotations

import logging
from typing import Any

from sqlalchemy.orm import Session, sessionmaker

from vp_monitor.alerts import escalation, outbox, reports
from vp_monitor.alerts.channels import ChannelSettings, build_channels
from vp_monitor.alerts.reports import FleetRecord
from vp_monitor.alerts.settings import AlertSettings
from vp_monitor.db import utcnow
from vp_monitor.registry.secrets import SecretBox

log = logging.getLogger(__name__)

GROUP_EVERY_S = 1.0
DISPATCH_EVERY_S = 1.0
ESCALATE_EVERY_S = 30.0
REPORTS_EVERY_S = 60.0  # a report is written within a minute of its time


def add_alert_jobs(
    add_periodic: Any,
    add_fleet_job: Any,
    factory: sessionmaker[Session],
    settings: AlertSettings,
    channel_settings: ChannelSettings,
    secrets: SecretBox | None,
    fleet: FleetRecord,
) -> None:
    """Group owed events into deliveries (digests at their times), send them, escalate, write
    the daily reports (from the `fleet` the monitor recorded): each on its own period. Every
    node sends (deliveries are leased); one node per period groups, escalates and writes
    reports (`add_fleet_job`)."""
    channels = build_channels(channel_settings)

    def group(session: Session) -> None:
        outbox.group_once(session, settings, utcnow())

    async def dispatch() -> None:
        while await outbox.dispatch_once(factory, channels, settings, utcnow(), secrets):
            pass  # a full batch went out: more may be waiting

    def escalate(session: Session) -> None:
        escalation.escalate_once(session, settings, utcnow())

    def report(session: Session) -> None:
        made = reports.create_due_reports(session, settings, utcnow(), fleet=fleet)
        if made:
            log.info("daily reports: %d written to the outbox", made)

    add_fleet_job(group, GROUP_EVERY_S, "alerts-group")
    add_fleet_job(report, REPORTS_EVERY_S, "alerts-reports")
    add_periodic(dispatch, DISPATCH_EVERY_S, "alerts-dispatch")
    add_fleet_job(escalate, ESCALATE_EVERY_S, "alerts-escalation")
