"""E-mail channel: one multipart (plain text + HTML) message, French by default."""

from __future__ import annotations

import asyncio
import hashlib
import html
import logging
from collections import Counter
from datetime import datetime
from email.message import EmailMessage
from email.utils import format_datetime
from zoneinfo import ZoneInfo

import aiosmtplib

from vp_monitor.alerts import labels
from vp_monitor.alerts.channel_settings import EmailSettings
from vp_monitor.alerts.channels.base import DeliveryError
from vp_monitor.alerts.notification import IncidentEvent, Language, Message, Notification, Report
from vp_monitor.alerts.report_format import html_report, plain_report, report_subject
from vp_monitor.redaction import redact
from vp_monitor.texts import Texts

log = logging.getLogger(__name__)

# The server never answered properly: it may be restarting, so retry.
TRANSPORT_ERRORS = (
    aiosmtplib.SMTPConnectError,
    aiosmtplib.SMTPTimeoutError,
    aiosmtplib.SMTPServerDisconnected,
    TimeoutError,
    OSError,
)


# Order of the parts of a subject: what happened, most pressing first.
SUBJECT_EVENTS = ("escalated", "opened", "reopened", "reminder", "acknowledged", "resolved")


def subject(notification: Notification) -> str:
    """What happened, e.g. "[vp-monitor] CRITIQUE — 2 incidents ouverts, 1 incident résolu"
    or "[vp-monitor] MAJEUR — 1 incident pris en compte"."""
    texts = Texts(notification.recipient.language)
    counts = Counter(item.event for item in notification.items)
    parts = [texts(f"subject.{event}", count=counts[event]) for event in SUBJECT_EVENTS
             if counts[event]]  # fmt: skip
    severity = notification.severity
    level = texts.severity(severity) if severity else texts("subject.recovered")
    if notification.digest:
        level = f"{texts('subject.digest')} · {level}"
    return f"[vp-monitor] {level} — {', '.join(parts)}"


def message_id(idempotency_key: str, sender: str) -> str:
    """A Message-ID derived from the idempotency key, so a re-sent duplicate has the same one."""
    digest = hashlib.sha256(idempotency_key.encode()).hexdigest()[:32]
    domain = sender.rpartition("@")[2] or "vp-monitor"
    return f"<vp-{digest}@{domain}>"


class _Formatter:
    """Writes the lines describing one event in one language and time zone."""

    def __init__(self, language: Language, zone: ZoneInfo) -> None:
        self.language, self.zone, self.texts = language, zone, Texts(language)

    def date(self, moment: datetime) -> str:
        return moment.astimezone(self.zone).strftime(self.texts("email.date"))

    def title(self, item: IncidentEvent) -> str:
        severity = labels.label(labels.SEVERITIES, item.severity, self.language)
        event = labels.label(labels.EVENTS, item.event, self.language)
        return f"[{severity}] {item.camera_code} « {item.camera_name} » ({event})"

    def details(self, item: IncidentEvent) -> list[str]:
        conditions = ", ".join(labels.condition_label(c, self.language) for c in item.conditions)
        state = labels.label(labels.CAMERA_STATES, item.camera_state, self.language)
        timing = f"{self.texts('email.since')} {self.date(item.started_at)}"
        if item.resolved_at:
            timing = f"{self.texts('email.resolved_at')} {self.date(item.resolved_at)}"
        if item.duration_s is not None:
            duration = labels.format_duration(item.duration_s, self.language)
            timing += f" · {self.texts('email.duration')} {duration}"
        colon = self.texts("colon")
        lines = [
            f"{item.site_name}, {item.municipality_name}",
            f"{self.texts('email.conditions')}{colon}{conditions or '—'}",
            f"{self.texts('email.state')}{colon}{state} · {timing}",
        ]
        if item.summary:
            lines.append(item.summary)
        if item.evidence_url:
            lines.append(f"{self.texts('email.evidence')}{colon}{item.evidence_url}")
        return lines


def _sections(notification: Notification) -> list[tuple[str, tuple[IncidentEvent, ...]]]:
    texts = Texts(notification.recipient.language)
    sections = [
        (texts("email.failures"), notification.failures),
        (texts("email.recoveries"), notification.recoveries),
    ]
    return [(title, items) for title, items in sections if items]


def plain_body(notification: Notification, formatter: _Formatter) -> str:
    """The text/plain part."""
    lines = [subject(notification), ""]
    for title, items in _sections(notification):
        lines += [title.upper(), ""]
        for item in items:
            lines.append(f"- {formatter.title(item)}")
            lines += [f"  {line}" for line in formatter.details(item)]
            lines.append("")
    lines += ["--", formatter.texts("email.footer")]
    return "\n".join(lines) + "\n"


def html_body(notification: Notification, formatter: _Formatter) -> str:
    """The text/html part: the same content, every value escaped."""
    esc = html.escape
    parts = [
        f'<html lang="{notification.recipient.language}"><body style="font-family:sans-serif">',
        f"<h2>{esc(subject(notification))}</h2>",
    ]
    for title, items in _sections(notification):
        parts.append(f"<h3>{esc(title)}</h3><ul>")
        for item in items:
            details = "<br>".join(esc(line) for line in formatter.details(item))
            parts.append(f"<li><strong>{esc(formatter.title(item))}</strong><br>{details}</li>")
        parts.append("</ul>")
    parts.append(f"<p><small>{esc(formatter.texts('email.footer'))}</small></p></body></html>")
    return "\n".join(parts)


def compose(notification: Message, settings: EmailSettings) -> EmailMessage:
    """The complete e-mail for one notification or report."""
    language = notification.recipient.language
    if isinstance(notification, Report):
        title = report_subject(notification.content, language)
        plain = plain_report(notification.content, language)
        rich = html_report(notification.content, language)
    else:
        formatter = _Formatter(language, ZoneInfo(settings.timezone))
        title = subject(notification)
        plain, rich = plain_body(notification, formatter), html_body(notification, formatter)
    message = EmailMessage()
    message["Subject"] = title
    message["From"] = settings.sender
    message["To"] = notification.recipient.address
    message["Date"] = format_datetime(notification.created_at)
    message["Message-ID"] = message_id(notification.idempotency_key, settings.sender)
    message["X-VP-Idempotency-Key"] = notification.idempotency_key
    if notification.incident_ids:
        message["X-VP-Incident-Ids"] = ",".join(notification.incident_ids)
    # Quoted-printable keeps the message 7-bit clean: some relays still mangle 8-bit bodies.
    message.set_content(plain, cte="quoted-printable")
    message.add_alternative(rich, subtype="html", cte="quoted-printable")
    return message


def classify(exc: Exception) -> bool:
    """Whether an SMTP failure is temporary: 4xx and transport errors are, 5xx is not."""
    if isinstance(exc, aiosmtplib.SMTPRecipientsRefused):
        return all(400 <= refused.code < 500 for refused in exc.recipients)
    if isinstance(exc, aiosmtplib.SMTPResponseException):
        return 400 <= exc.code < 500
    return isinstance(exc, TRANSPORT_ERRORS)


class EmailChannel:
    """Delivers notifications through an SMTP relay."""

    def __init__(self, settings: EmailSettings) -> None:
        self.settings = settings

    async def send(self, notification: Message) -> None:
        """Compose and send the e-mail; raises DeliveryError on any SMTP failure."""
        settings = self.settings
        where = f"smtp {settings.host}:{settings.port}"
        try:
            message = compose(notification, settings)
        except ValueError as exc:  # e.g. a line break in an address: never deliverable
            raise DeliveryError(f"{where}: cannot compose: {exc}", retryable=False) from None
        password = settings.password.get_secret_value() if settings.password else None
        try:
            async with asyncio.timeout(settings.timeout_s):
                await aiosmtplib.send(
                    message,
                    hostname=settings.host,
                    port=settings.port,
                    username=settings.username,
                    password=password,
                    start_tls=settings.starttls,
                    timeout=settings.timeout_s,
                )
        except (aiosmtplib.SMTPException, TimeoutError, OSError) as exc:
            detail = redact(str(exc), [password]) or "timed out"
            # "from None": keep the unredacted cause out of logged tracebacks.
            raise DeliveryError(
                f"{where}: {type(exc).__name__}: {detail}", retryable=classify(exc)
            ) from None
        log.debug("%s: delivered %s", where, notification.idempotency_key)


def build(settings: EmailSettings) -> EmailChannel:
    """An e-mail channel from its settings."""
    return EmailChannel(settings)
