"""Outbox on SQLite and PostgreSQL: grouping, holds, leases, order, retries, give-up, redaction."""

from __future__ import annotations

import logging
from datetime import UTC, datetime, time, timedelta

from sqlalchemy import select

from vp_monitor.alerts.channels import DeliveryError
from vp_monitor.alerts.models import Delivery, OutboxEvent
from vp_monitor.alerts.notification import IncidentEvent, Notification
from vp_monitor.alerts.outbox import backoff, claim, dispatch_once, group_once
from vp_monitor.alerts.settings import AlertSettings
from vp_monitor.db import transaction
from vp_monitor.redaction import MASK
from vp_monitor.registry.models import Contact

T0 = datetime(2026, 11, 23, 10, 0, tzinfo=UTC)  # 11:00 in Paris
SETTINGS = AlertSettings()
TOKEN_URL = "https://hooks.example.org/services/T000/B000/s3cr3tT0ken"


class FakeChannel:
    """Records notifications; fails with the queued errors first."""

    def __init__(self, *errors: Exception) -> None:
        self.errors = list(errors)
        self.sent: list[Notification] = []
        self.attempts: list[str] = []

    async def send(self, notification: Notification) -> None:
        self.attempts.append(notification.idempotency_key)
        if self.errors:
            raise self.errors.pop(0)
        self.sent.append(notification)


def add_contact(factory, channel="webhook", address="http://127.0.0.1:9/hook", **fields) -> int:
    """A supervision-centre contact; returns its id."""
    with transaction(factory) as session:
        contact = Contact(name="CSU", channel=channel, address=address, **fields)
        session.add(contact)
        session.flush()
        return contact.id


def add_event(factory, contact_id, at, event="opened", severity="major", state="degraded", n=1,
              conditions=("frozen",)):  # fmt: skip
    """An outbox event about incident `inc-n`, created at `at`."""
    item = IncidentEvent(
        incident_id=f"inc-{n}",
        event=event,
        severity=severity,
        conditions=conditions,
        camera_code=f"C-{n}",
        camera_name="",
        site_name="Mairie",
        municipality_name="Boulogne",
        camera_state=state,
        started_at=T0,
    )
    with transaction(factory) as session:
        session.add(
            OutboxEvent(
                contact_id=contact_id,
                incident_id=item.incident_id,
                payload=item.to_dict(),
                created_at=at,
            )
        )


def group(factory, now) -> int:
    with transaction(factory) as session:
        return group_once(session, SETTINGS, now)


def deliveries(factory) -> list[Delivery]:
    with factory() as session:
        return list(session.scalars(select(Delivery).order_by(Delivery.id)))


def test_events_are_grouped_once_the_oldest_waited(factory):
    """A contact's failures and recoveries become one delivery once the oldest is group_wait old."""
    contact = add_contact(factory)
    add_event(factory, contact, T0, n=1)
    add_event(factory, contact, T0 + timedelta(seconds=20), "resolved", n=2)
    assert group(factory, T0 + timedelta(seconds=29)) == 0
    assert group(factory, T0 + timedelta(seconds=30)) == 1
    assert group(factory, T0 + timedelta(seconds=90)) == 0
    [delivery] = deliveries(factory)
    with factory() as session:
        grouped = session.scalars(select(OutboxEvent).where(OutboxEvent.delivery_id == delivery.id))
        assert sorted(e.payload["event"] for e in grouped) == ["opened", "resolved"]


def test_unreachable_camera_waits_for_the_correlation_window(factory):
    """An unreachable camera's opening waits correlation_window_s, so a site outage can still
    replace it; a camera that answers without video cannot be part of one: told at once."""
    contact = add_contact(factory)
    add_event(factory, contact, T0, severity="critical", state="down", conditions=("unreachable",))
    assert group(factory, T0 + timedelta(seconds=59)) == 0
    assert group(factory, T0 + timedelta(seconds=60)) == 1
    later = T0 + timedelta(minutes=5)
    add_event(factory, contact, later, severity="critical", state="down", n=2,
              conditions=("no_video",))  # fmt: skip
    assert group(factory, later + timedelta(seconds=31)) == 1  # group wait only


def test_a_contacts_messages_are_a_group_window_apart(factory):
    """Held events released one a second (each older than the group window already) wait for
    the window after the contact's previous message: one message per window, not per second."""
    contact = add_contact(factory)
    for n in range(10):
        add_event(factory, contact, T0 + timedelta(seconds=n), severity="critical", state="down",
                  n=n, conditions=("unreachable",))  # fmt: skip
    made = [group(factory, T0 + timedelta(seconds=s)) for s in range(60, 100)]
    assert made[0] == 1 and made[30] == 1 and sum(made) == 2  # at 60 s, then at 90 s


def test_quiet_hours_hold_then_release(factory):
    """Non-critical events wait out the contact's quiet hours; critical ones do not."""
    contact = add_contact(factory, quiet_from=time(22), quiet_until=time(7))
    night = datetime(2026, 11, 23, 22, 30, tzinfo=UTC)  # 23:30 in Paris
    add_event(factory, contact, night, severity="minor", n=1)
    assert group(factory, night + timedelta(hours=1)) == 0
    add_event(factory, contact, night + timedelta(hours=2), severity="critical", n=2)
    assert group(factory, night + timedelta(hours=2, minutes=1)) == 1
    morning = datetime(2026, 11, 24, 6, 0, tzinfo=UTC)  # 07:00 in Paris
    assert group(factory, morning - timedelta(minutes=1)) == 0
    assert group(factory, morning) == 1
    with factory() as session:
        assert (
            session.scalars(select(OutboxEvent).where(OutboxEvent.delivery_id.is_(None))).all()
            == []
        )


def test_big_groups_are_split_into_bounded_messages(factory):
    """More events than max_items_per_message make several deliveries, in order."""
    settings = AlertSettings(max_items_per_message=3)
    contact = add_contact(factory)
    for n in range(7):
        add_event(factory, contact, T0, n=n)
    with transaction(factory) as session:
        assert group_once(session, settings, T0 + timedelta(minutes=1)) == 3


async def test_retries_with_backoff_and_a_stable_key(factory):
    """Temporary failures are retried with doubling delays, always with the same key."""
    contact = add_contact(factory)
    add_event(factory, contact, T0)
    group(factory, T0 + timedelta(minutes=1))
    channel = FakeChannel(*(DeliveryError("HTTP 503", retryable=True) for _ in range(3)))
    now, waits = T0 + timedelta(minutes=1), []
    for _ in range(4):
        await dispatch_once(factory, {"webhook": channel}, SETTINGS, now)
        [delivery] = deliveries(factory)
        if delivery.status == "sent":
            break
        assert await dispatch_once(factory, {"webhook": channel}, SETTINGS, now) == 0
        waits.append((delivery.next_attempt_at - now).total_seconds())
        now = delivery.next_attempt_at
    assert waits == [10, 20, 20]  # capped at retry_max_s
    assert delivery.status == "sent" and delivery.attempts == 4
    assert len(set(channel.attempts)) == 1 and channel.attempts[0] == delivery.idempotency_key
    assert [backoff(n, SETTINGS) for n in (1, 5, 6, 30)] == [10, 20, 20, 20]


async def test_permanent_failure_fails_once_and_logs_once(factory, caplog):
    """A non-retryable failure marks the delivery failed after one attempt, logged once."""
    contact = add_contact(factory)
    add_event(factory, contact, T0)
    group(factory, T0 + timedelta(minutes=1))
    channel = FakeChannel(DeliveryError("HTTP 404 Not Found", retryable=False))
    with caplog.at_level(logging.WARNING, logger="vp_monitor.alerts.outbox"):
        for minutes in (1, 2, 3):
            await dispatch_once(
                factory, {"webhook": channel}, SETTINGS, T0 + timedelta(minutes=minutes)
            )
    [delivery] = deliveries(factory)
    assert delivery.status == "failed" and delivery.attempts == 1
    assert len(channel.attempts) == 1
    assert len([r for r in caplog.records if "failed for good" in r.getMessage()]) == 1


async def test_later_delivery_waits_for_the_earlier_one(factory):
    """A contact's second message is not sent while its first is still being retried."""
    contact = add_contact(factory)
    add_event(factory, contact, T0, n=1)
    group(factory, T0 + timedelta(minutes=1))
    add_event(factory, contact, T0 + timedelta(minutes=2), n=2)
    group(factory, T0 + timedelta(minutes=3))
    channel = FakeChannel(DeliveryError("HTTP 503", retryable=True))
    now = T0 + timedelta(minutes=3)
    assert await dispatch_once(factory, {"webhook": channel}, SETTINGS, now) == 0
    assert await dispatch_once(factory, {"webhook": channel}, SETTINGS, now) == 0
    assert (
        await dispatch_once(factory, {"webhook": channel}, SETTINGS, now + timedelta(seconds=10))
        == 1
    )
    assert (
        await dispatch_once(factory, {"webhook": channel}, SETTINGS, now + timedelta(seconds=10))
        == 1
    )
    assert [n.items[0].incident_id for n in channel.sent] == ["inc-1", "inc-2"]


async def test_gives_up_after_the_age_limit(factory):
    """A delivery still failing give_up_after_s after it was made is failed, the next goes on."""
    settings = AlertSettings(give_up_after_s=3600, retry_max_s=300)
    contact = add_contact(factory)
    add_event(factory, contact, T0)
    group(factory, T0 + timedelta(minutes=1))
    channel = FakeChannel(*(DeliveryError("HTTP 503", retryable=True) for _ in range(100)))
    now = T0 + timedelta(minutes=1)
    while deliveries(factory)[0].status == "pending":
        await dispatch_once(factory, {"webhook": channel}, settings, now)
        now += timedelta(minutes=5)
    [delivery] = deliveries(factory)
    assert delivery.status == "failed"
    assert timedelta(hours=1) <= delivery.next_attempt_at - delivery.created_at < timedelta(hours=2)


async def test_errors_are_stored_redacted(factory):
    """The stored error never holds the webhook URL's token."""
    contact = add_contact(factory, address=TOKEN_URL)
    add_event(factory, contact, T0)
    group(factory, T0 + timedelta(minutes=1))
    leaky = DeliveryError(f"cannot reach {TOKEN_URL}", retryable=True)
    await dispatch_once(
        factory, {"webhook": FakeChannel(leaky)}, SETTINGS, T0 + timedelta(minutes=1)
    )
    [delivery] = deliveries(factory)
    assert "s3cr3tT0ken" not in delivery.last_error and MASK in delivery.last_error


async def test_a_channel_bug_does_not_stop_other_deliveries(factory):
    """An unexpected exception in one channel is a retryable failure; others are still sent."""
    broken_contact = add_contact(factory, channel="mqtt", address="vp")
    contact = add_contact(factory)
    add_event(factory, broken_contact, T0)
    add_event(factory, contact, T0)
    group(factory, T0 + timedelta(minutes=1))
    channels = {"mqtt": FakeChannel(RuntimeError("bug")), "webhook": FakeChannel()}
    assert await dispatch_once(factory, channels, SETTINGS, T0 + timedelta(minutes=1)) == 1
    broken = deliveries(factory)[0]
    assert broken.status == "pending" and "RuntimeError" in broken.last_error


def test_a_leased_delivery_is_not_claimed_twice(factory):
    """Two nodes claiming at once never get the same delivery; an expired lease is reclaimed."""
    contact = add_contact(factory)
    add_event(factory, contact, T0)
    group(factory, T0 + timedelta(minutes=1))
    now = T0 + timedelta(minutes=1)
    assert len(claim(factory, SETTINGS, now, "node-1")) == 1
    assert claim(factory, SETTINGS, now, "node-2") == []
    later = now + timedelta(seconds=SETTINGS.lease_s)
    assert len(claim(factory, SETTINGS, later, "node-2")) == 1


def test_idempotency_keys_are_unique(factory):
    """Every delivery gets its own key."""
    for n in range(5):
        contact = add_contact(factory)
        add_event(factory, contact, T0, n=n)
    group(factory, T0 + timedelta(minutes=1))
    keys = [delivery.idempotency_key for delivery in deliveries(factory)]
    assert len(keys) == len(set(keys)) == 5


async def test_receiver_down_an_hour_logs_one_line_down_and_one_back(factory, caplog):
    """A recipient failing for an hour: one line when it starts, one when it is back; then
    every message is delivered once, in order."""
    contact = add_contact(factory, address=TOKEN_URL)
    for n in (1, 2, 3):
        add_event(factory, contact, T0, n=n)
        group(factory, T0 + timedelta(minutes=n))
    channel = FakeChannel(*(DeliveryError("HTTP 503", retryable=True) for _ in range(10_000)))
    now, back = T0 + timedelta(minutes=3), T0 + timedelta(hours=1, minutes=3)
    with caplog.at_level(logging.INFO, logger="vp_monitor.alerts.outbox"):
        while now < back:
            await dispatch_once(factory, {"webhook": channel}, SETTINGS, now)
            now += timedelta(seconds=5)
        channel.errors.clear()  # the receiver is back
        while any(d.status == "pending" for d in deliveries(factory)):
            await dispatch_once(factory, {"webhook": channel}, SETTINGS, now)
            now += timedelta(seconds=5)
    assert now - back <= timedelta(seconds=30)
    assert [n.items[0].incident_id for n in channel.sent] == ["inc-1", "inc-2", "inc-3"]
    lines = [r.getMessage() for r in caplog.records]
    down = [line for line in lines if "is failing" in line]
    up = [line for line in lines if "recovered after" in line]
    assert len(down) == 1 and "3 message(s) waiting" in down[0] and "HTTP 503" in down[0]
    assert len(up) == 1 and "3 message(s) to deliver" in up[0]
    assert "s3cr3tT0ken" not in "\n".join(lines)


async def test_failing_email_recipient_is_masked_in_the_log(factory, caplog):
    """The outbox's lines about a failing and recovering recipient name it as an operator sees
    it (first letter and domain), not by its full address."""
    contact = add_contact(factory, channel="email", address="jeanne.martin@mairie.example")
    add_event(factory, contact, T0)
    group(factory, T0 + timedelta(minutes=1))
    channel = FakeChannel(DeliveryError("SMTP 451", retryable=True))
    with caplog.at_level(logging.INFO, logger="vp_monitor.alerts.outbox"):
        now = T0 + timedelta(minutes=1)
        while any(d.status == "pending" for d in deliveries(factory)):
            await dispatch_once(factory, {"email": channel}, SETTINGS, now)
            now += timedelta(seconds=30)
    lines = "\n".join(r.getMessage() for r in caplog.records)
    assert "is failing" in lines and "recovered after" in lines
    assert "j***@mairie.example" in lines and "jeanne.martin" not in lines
