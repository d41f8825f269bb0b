"""The outbox: group each recipient's events into messages, then deliver them, retried.

Two periodic jobs. `group_once` gathers a contact's waiting events into one Delivery when the
oldest is `group_wait_s` old (failures and recoveries in one message), or at the next digest
time for a contact in digest mode. `dispatch_once` leases
due deliveries (incident messages, digests and the daily reports of `reports`), sends them
through their channel and records the outcome: sent, retried with exponential back-off until
`give_up_after_s`, or failed for good. A contact's deliveries go
out in order: a later one waits while an earlier one is still pending.
"""

from __future__ import annotations

import asyncio
import logging
import os
import socket
import uuid
from collections import defaultdict
from dataclasses import dataclass
from datetime import datetime, timedelta
from zoneinfo import ZoneInfo

from sqlalchemy import exists, func, or_, select
from sqlalchemy.orm import Session, aliased, sessionmaker

from vp_monitor import conditions
from vp_monitor.alerts.channels import Channel, DeliveryError
from vp_monitor.alerts.models import Delivery, OutboxEvent
from vp_monitor.alerts.notification import (
    IncidentEvent,
    Message,
    Notification,
    Recipient,
    Report,
)
from vp_monitor.alerts.settings import AlertSettings
from vp_monitor.db import transaction
from vp_monitor.metrics import record_delivery
from vp_monitor.redaction import masked_recipient, url_secrets
from vp_monitor.redaction import redact as redact_text
from vp_monitor.registry.models import Contact
from vp_monitor.registry.secrets import SecretBox

log = logging.getLogger(__name__)

MAX_ERROR_CHARS = 500
# Opening events that an outage of the whole site (or of the monitor) may still take back.
INHIBITABLE = frozenset({"opened", "reopened"})
NETWORK_CONDITIONS = conditions.names(network=True)


@dataclass(frozen=True)
class Claimed:
    """A leased delivery, ready to send."""

    delivery_id: int
    channel: str
    message: Message


# --- grouping ------------------------------------------------------------------------------


def group_once(session: Session, settings: AlertSettings, now: datetime) -> int:
    """Gather waiting events into deliveries, one per due contact; returns deliveries made."""
    query = (
        select(OutboxEvent)
        .where(OutboxEvent.delivery_id.is_(None))
        .order_by(OutboxEvent.id)
        .limit(settings.group_batch)
        .with_for_update(skip_locked=True, of=OutboxEvent)
    )
    waiting: dict[int, list[OutboxEvent]] = defaultdict(list)
    for event in session.scalars(query):
        waiting[event.contact_id].append(event)
    contacts = {
        c.id: c for c in session.scalars(select(Contact).where(Contact.id.in_(list(waiting))))
    }
    last_message = _last_message_at(session, list(waiting))
    wait = timedelta(seconds=settings.group_wait_s)
    made = 0
    for contact_id, events in waiting.items():
        contact = contacts[contact_id]
        ready = [e for e in events if not is_held(e, contact, settings, now)]
        if not ready:
            continue
        # A digest has waited for its time already; other messages wait for the group window,
        # and for the window after the contact's previous message: events released one by one
        # (held for the correlation window, already older than the group window) would else
        # make a message each, every second (issue 15: a flapping uplink).
        oldest = min(event.created_at for event in ready)
        since = max(oldest, last_message.get(contact_id, oldest))
        if not contact.digest and now - since < wait:
            continue
        kind = "digest" if contact.digest else "incidents"
        for start in range(0, len(ready), settings.max_items_per_message):
            chunk = ready[start : start + settings.max_items_per_message]
            _new_delivery(session, contact_id, chunk, now, kind)
            made += 1
    return made


def _last_message_at(session: Session, contact_ids: list[int]) -> dict[int, datetime]:
    """When each contact's latest incident message was made (contacts that had one)."""
    query = (
        select(Delivery.contact_id, func.max(Delivery.created_at))
        .where(Delivery.contact_id.in_(contact_ids), Delivery.kind == "incidents")
        .group_by(Delivery.contact_id)
    )
    return {contact_id: at for contact_id, at in session.execute(query)}


def next_digest_at(moment: datetime, settings: AlertSettings) -> datetime:
    """The first digest time (local, `alerts.digest_times`) after `moment`."""
    zone = ZoneInfo(settings.timezone)
    local = moment.astimezone(zone)
    for days in (0, 1):
        for at in sorted(settings.digest_times):
            candidate = datetime.combine(local.date() + timedelta(days=days), at, zone)
            if candidate > local:
                return candidate
    raise AssertionError("digest_times is never empty")  # the settings require one time


def is_held(event: OutboxEvent, contact: Contact, settings: AlertSettings, now: datetime) -> bool:
    """Whether an event must wait: a possible site outage, the contact's digest time or its
    quiet hours."""
    if contact.digest and now < next_digest_at(event.created_at, settings):
        return True
    payload = event.payload
    # Only a camera the network cannot reach may be part of an uplink or site outage; one that
    # answers without video (no_video) is told at once.
    inhibitable = payload["event"] in INHIBITABLE and bool(
        NETWORK_CONDITIONS.intersection(payload["conditions"])
    )
    window = timedelta(seconds=settings.correlation_window_s)
    if inhibitable and now - event.created_at < window:
        return True
    return payload["severity"] != "critical" and in_quiet_hours(contact, settings, now)


def in_quiet_hours(contact: Contact, settings: AlertSettings, now: datetime) -> bool:
    """Whether `now` falls in the contact's quiet hours (local time; may span midnight)."""
    start, end = contact.quiet_from, contact.quiet_until
    if start is None or end is None or start == end:
        return False
    local = now.astimezone(ZoneInfo(settings.timezone)).time().replace(tzinfo=None)
    if start < end:
        return start <= local < end
    return local >= start or local < end


def _new_delivery(
    session: Session, contact_id: int, events: list[OutboxEvent], now: datetime, kind: str
) -> Delivery:
    delivery = Delivery(
        contact_id=contact_id,
        kind=kind,
        # Random, stored once: every attempt of this message carries the same key.
        idempotency_key=uuid.uuid4().hex,
        status="pending",
        created_at=now,
        next_attempt_at=now,
        attempts=0,
    )
    session.add(delivery)
    session.flush()
    for event in events:
        event.delivery_id = delivery.id
    session.flush()
    return delivery


# --- delivery ------------------------------------------------------------------------------


async def dispatch_once(
    factory: sessionmaker[Session],
    channels: dict[str, Channel],
    settings: AlertSettings,
    now: datetime,
    secrets: SecretBox | None = None,
) -> int:
    """Send the deliveries due at `now` (one batch); returns how many were delivered."""
    owner = f"{socket.gethostname()}:{os.getpid()}:{uuid.uuid4().hex[:8]}"
    claimed = claim(factory, settings, now, owner, secrets)
    if not claimed:
        return 0
    limit = asyncio.Semaphore(settings.dispatch_concurrency)

    async def send(item: Claimed) -> DeliveryError | None:
        async with limit:
            return await send_one(channels.get(item.channel), item.message, settings)

    errors = await asyncio.gather(*(send(item) for item in claimed))
    with transaction(factory) as session:
        for item, error in zip(claimed, errors, strict=True):
            record(session, item, error, settings, now, owner)
    return sum(error is None for error in errors)


def claim(
    factory: sessionmaker[Session],
    settings: AlertSettings,
    now: datetime,
    owner: str,
    secrets: SecretBox | None = None,
) -> list[Claimed]:
    """Lease a batch of due deliveries, at most one per contact (the oldest pending)."""
    earlier = aliased(Delivery)
    blocked = exists().where(
        earlier.contact_id == Delivery.contact_id,
        earlier.status == "pending",
        earlier.id < Delivery.id,
    )
    query = (
        select(Delivery)
        .where(
            Delivery.status == "pending",
            Delivery.next_attempt_at <= now,
            or_(Delivery.lease_expires_at.is_(None), Delivery.lease_expires_at <= now),
            ~blocked,
        )
        .order_by(Delivery.id)
        .limit(settings.dispatch_batch)
        .with_for_update(skip_locked=True, of=Delivery)
    )
    with transaction(factory) as session:
        claimed = []
        for delivery in session.scalars(query).all():
            delivery.lease_owner = owner
            delivery.lease_expires_at = now + timedelta(seconds=settings.lease_s)
            claimed.append(_prepare(session, delivery, secrets))
        return claimed


def _prepare(session: Session, delivery: Delivery, secrets: SecretBox | None) -> Claimed:
    contact = session.get(Contact, delivery.contact_id)
    secret = None
    if contact.secret_encrypted and secrets is not None:
        secret = secrets.decrypt(contact.secret_encrypted)
    recipient = Recipient(
        channel=str(contact.channel),  # type: ignore[arg-type]
        address=contact.address,
        language="en" if contact.language == "en" else "fr",
        secret=secret,
    )
    message: Message
    if delivery.kind == "report":
        message = Report(
            delivery.idempotency_key, recipient, delivery.payload or {}, delivery.created_at
        )
    else:
        events = session.scalars(
            select(OutboxEvent)
            .where(OutboxEvent.delivery_id == delivery.id)
            .order_by(OutboxEvent.id)
        )
        message = Notification(
            idempotency_key=delivery.idempotency_key,
            recipient=recipient,
            items=tuple(IncidentEvent.from_dict(event.payload) for event in events),
            created_at=delivery.created_at,
            digest=delivery.kind == "digest",
        )
    return Claimed(delivery.id, str(contact.channel), message)


async def send_one(
    channel: Channel | None, message: Message, settings: AlertSettings
) -> DeliveryError | None:
    """Send through `channel` within the time-out; the failure as a DeliveryError, or None."""
    if channel is None:
        return DeliveryError(f"no channel {message.recipient.channel!r}", retryable=False)
    try:
        async with asyncio.timeout(settings.send_timeout_s):
            await channel.send(message)
    except DeliveryError as exc:
        return exc
    except TimeoutError:
        return DeliveryError("timed out", retryable=True)
    except Exception as exc:  # noqa: BLE001 - a channel bug must not stop the other deliveries
        # Only the type: the message or traceback of a library error may quote the address.
        log.error("channel %s raised %s", message.recipient.channel, type(exc).__name__)
        return DeliveryError(f"channel error {type(exc).__name__}", retryable=True)
    return None


def record(
    session: Session,
    item: Claimed,
    error: DeliveryError | None,
    settings: AlertSettings,
    now: datetime,
    owner: str,
) -> None:
    """Store the outcome of one attempt: sent, retry later, or failed for good."""
    delivery = session.get(Delivery, item.delivery_id)
    if delivery is None or delivery.lease_owner != owner:
        return  # our lease ran out and another node took it over
    delivery.attempts += 1
    delivery.lease_owner = delivery.lease_expires_at = None
    if error is None:
        if delivery.attempts > 1:  # it had failed: the recipient is back, its backlog follows
            log.info(
                "%s recipient %s recovered after %.0f s: %d message(s) to deliver",
                item.channel,
                masked_recipient(item.channel, item.message.recipient.address),
                (now - delivery.created_at).total_seconds(),
                _backlog(session, delivery.contact_id),
            )
        delivery.status, delivery.sent_at, delivery.last_error = "sent", now, None
        record_delivery(item.channel, "sent")
        return
    text = redact(str(error), item.message.recipient)
    too_old = now - delivery.created_at >= timedelta(seconds=settings.give_up_after_s)
    if not error.retryable or too_old:
        delivery.status = "failed"
        record_delivery(item.channel, "failed")
        log.warning("delivery %s failed for good: %s", delivery.idempotency_key, text)
    else:
        record_delivery(item.channel, "retry")
        delivery.next_attempt_at = now + timedelta(seconds=backoff(delivery.attempts, settings))
        # Only the recipient's oldest message is retried (the rest wait behind it), so its
        # first failure is the recipient's: one line then, none per attempt.
        if delivery.attempts == 1:
            log.warning(
                "%s recipient %s is failing (%s): %d message(s) waiting",
                item.channel,
                masked_recipient(item.channel, item.message.recipient.address),
                text,
                _backlog(session, delivery.contact_id),
            )
    delivery.last_error = text


def _backlog(session: Session, contact_id: int) -> int:
    """How many messages of a contact are still pending."""
    query = select(func.count()).where(
        Delivery.contact_id == contact_id, Delivery.status == "pending"
    )
    return int(session.scalar(query) or 0)


def backoff(attempts: int, settings: AlertSettings) -> float:
    """Delay before the next attempt after `attempts` failures: doubling, capped."""
    return min(settings.retry_base_s * 2 ** max(attempts - 1, 0), settings.retry_max_s)


def redact(text: str, recipient: Recipient) -> str:
    """Error text without the recipient's URL, its tokens or secret; bounded in length."""
    secrets: list[str | None] = [recipient.secret]
    if recipient.channel != "email":
        secrets += url_secrets(recipient.address)
    return redact_text(text, secrets)[:MAX_ERROR_CHARS]
