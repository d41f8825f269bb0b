"""Notification channels against real servers: aiohttp receiver, aiosmtpd, Mosquitto."""

from __future__ import annotations

import asyncio
import contextlib
import email
import email.policy
import getpass
import hashlib
import hmac
import json
import logging
import shutil
import socket
import subprocess
import time
import traceback
import uuid
from collections.abc import AsyncIterator, Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime

import aiomqtt
import pytest
from aiohttp import web
from aiohttp.test_utils import TestServer
from aiosmtpd.controller import Controller
from aiosmtpd.smtp import AuthResult

from vp_monitor.alerts.channels import CHANNELS, Channel, DeliveryError
from vp_monitor.alerts.channels.email import EmailSettings, message_id
from vp_monitor.alerts.channels.mqtt import MqttSettings
from vp_monitor.alerts.channels.webhook import WebhookSettings
from vp_monitor.alerts.notification import IncidentEvent, Notification, Recipient

T0 = datetime(2026, 11, 23, 7, 30, tzinfo=UTC)
MQTT_HOST, MQTT_PORT = "127.0.0.1", 1883
# Loggers of the test servers themselves: they legitimately see credentials.
SERVER_LOGGERS = ("mail.log", "aiohttp.access", "aiohttp.server", "aiohttp.web")


# --- test data ---------------------------------------------------------------------------------


def event(incident_id: str, kind: str = "opened", severity: str = "critical", **changes):
    """An incident event on a camera of Boulogne-Billancourt."""
    fields = dict(
        incident_id=incident_id,
        event=kind,
        severity=severity,
        conditions=("covered",),
        camera_code=f"BB-{incident_id}",
        camera_name="Parvis de l'Hôtel de ville",
        site_name="Hôtel de ville",
        municipality_name="Boulogne-Billancourt",
        camera_state="degraded",
        started_at=T0,
        summary="Objectif masqué",
        metrics={"edge_density": 0.01},
    )
    fields.update(changes)
    return IncidentEvent(**fields)


def grouped_items() -> tuple[IncidentEvent, ...]:
    """Two failures and one recovery, as the incident engine groups them."""
    return (
        event("inc-1"),
        event("inc-2", severity="major", conditions=("unreachable",), camera_state="down"),
        event(
            "inc-3",
            "resolved",
            severity="minor",
            conditions=("frozen",),
            camera_state="ok",
            resolved_at=T0,
            duration_s=3900,
        ),
    )


def notify(channel: str, address: str, language="fr", secret=None, key=None) -> Notification:
    """A grouped notification to one recipient."""
    recipient = Recipient(channel, address, language, secret)
    return Notification(key or f"key-{uuid.uuid4()}", recipient, grouped_items(), T0)


def closed_port() -> int:
    """A local TCP port nobody listens on."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def mqtt_reachable() -> bool:
    """Whether the Mosquitto broker of the test environment answers."""
    try:
        with socket.create_connection((MQTT_HOST, MQTT_PORT), timeout=1):
            return True
    except OSError:
        return False


def require_mqtt() -> None:
    """Skip the test when Mosquitto is not running on 127.0.0.1:1883."""
    if not mqtt_reachable():
        pytest.skip("no MQTT broker on 127.0.0.1:1883 (start mosquitto to run this test)")


# --- servers -----------------------------------------------------------------------------------


@dataclass
class Receiver:
    """A webhook receiver: answers `status` (or hangs) and records what it got."""

    status: int = 200
    hang: bool = False
    requests: list[tuple[dict[str, str], bytes]] = field(default_factory=list)
    release: asyncio.Event = field(default_factory=asyncio.Event)
    url: str = ""

    async def handle(self, request: web.Request) -> web.Response:
        self.requests.append((dict(request.headers), await request.read()))
        if self.hang:
            await self.release.wait()
        return web.Response(status=self.status, text="receiver says: go away")


@contextlib.asynccontextmanager
async def webhook_receiver(status=200, hang=False) -> AsyncIterator[Receiver]:
    """An aiohttp receiver on 127.0.0.1 and a free port."""
    receiver = Receiver(status=status, hang=hang)
    app = web.Application()
    app.router.add_post("/{tail:.*}", receiver.handle)
    server = TestServer(app, host="127.0.0.1")
    await server.start_server()
    receiver.url = f"http://127.0.0.1:{server.port}"
    try:
        yield receiver
    finally:
        receiver.release.set()
        await server.close()


class MailHandler:
    """aiosmtpd handler: stores every message, or answers `reply` to DATA."""

    def __init__(self, reply: str = "250 OK") -> None:
        self.reply = reply
        self.messages: list[bytes] = []

    async def handle_DATA(self, server, session, envelope):  # noqa: N802 (aiosmtpd's name)
        if self.reply.startswith("250"):
            self.messages.append(envelope.original_content)
        return self.reply


def authenticator(user: str, password: str):
    """An aiosmtpd authenticator accepting one login."""

    def check(server, session, envelope, mechanism, auth_data):
        ok = auth_data.login.decode() == user and auth_data.password.decode() == password
        return AuthResult(success=ok, handled=False)  # let aiosmtpd reply 535

    return check


@contextlib.contextmanager
def smtp_server(reply="250 OK", user=None, password=None):
    """An aiosmtpd server on 127.0.0.1 and a free port; with AUTH when a login is given."""
    handler = MailHandler(reply)
    auth = {}
    if user:
        auth = dict(authenticator=authenticator(user, password), auth_require_tls=False)
    controller = Controller(handler, hostname="127.0.0.1", port=closed_port(), **auth)
    controller.start()
    try:
        yield handler, controller.port
    finally:
        controller.stop()


@contextlib.asynccontextmanager
async def mqtt_subscriber(topic: str) -> AsyncIterator[Callable]:
    """A subscriber on Mosquitto; yields `collect(n)` returning the next n messages."""
    async with aiomqtt.Client(MQTT_HOST, MQTT_PORT, timeout=5) as client:
        await client.subscribe(topic, qos=1)

        async def collect(count: int) -> list[aiomqtt.Message]:
            got = []
            async with asyncio.timeout(5):
                async for message in client.messages:
                    got.append(message)
                    if len(got) == count:
                        return got
            return got

        yield collect


async def clear_retained(topic: str) -> None:
    """Remove a retained message so that test runs do not leave state on the broker."""
    async with aiomqtt.Client(MQTT_HOST, MQTT_PORT, timeout=5) as client:
        await client.publish(topic, b"", qos=1, retain=True)


# --- webhook -----------------------------------------------------------------------------------


def webhook() -> Channel:
    """The webhook channel with a short time-out."""
    return CHANNELS["webhook"](WebhookSettings(timeout_s=1.0))


async def test_webhook_delivers_signed_payload():
    """The receiver gets the v1 payload, a verifiable HMAC signature and the idempotency key."""
    async with webhook_receiver() as receiver:
        n = notify("webhook", receiver.url + "/hook", secret="hmac-key")
        await webhook().send(n)
    [(headers, body)] = receiver.requests
    expected = hmac.new(b"hmac-key", body, hashlib.sha256).hexdigest()
    assert hmac.compare_digest(headers["X-VP-Signature"], f"sha256={expected}")
    assert headers["X-VP-Idempotency-Key"] == n.idempotency_key
    assert headers["X-VP-Incident-Ids"] == "inc-1,inc-2,inc-3"
    payload = json.loads(body)
    assert payload["version"] == "1" and payload["idempotency_key"] == n.idempotency_key
    assert payload["counts"] == {"failures": 2, "recoveries": 1}
    assert Notification.from_json(body, n.recipient) == n


async def test_webhook_signature_depends_on_the_secret():
    """The same message signed with two secrets carries two signatures, each its own secret's
    HMAC: a receiver holding another secret rejects it."""
    async with webhook_receiver() as receiver:
        await webhook().send(notify("webhook", receiver.url, secret="right", key="same"))
        await webhook().send(notify("webhook", receiver.url, secret="other", key="same"))
    [(right_headers, body), (other_headers, other_body)] = receiver.requests
    assert body == other_body
    signed = {
        secret: "sha256=" + hmac.new(secret.encode(), body, hashlib.sha256).hexdigest()
        for secret in ("right", "other")
    }
    assert right_headers["X-VP-Signature"] == signed["right"]
    assert other_headers["X-VP-Signature"] == signed["other"]
    assert signed["right"] != signed["other"]


@pytest.mark.parametrize(("status", "retryable"), [(500, True), (503, True), (429, True),
                                                   (400, False), (404, False)])  # fmt: skip
async def test_webhook_status_decides_retry(status, retryable):
    """5xx and 429 are temporary; other 4xx are permanent."""
    async with webhook_receiver(status=status) as receiver:
        with pytest.raises(DeliveryError) as caught:
            await webhook().send(notify("webhook", receiver.url))
    assert caught.value.retryable is retryable
    assert f"HTTP {status}" in str(caught.value)


async def test_webhook_hanging_receiver_times_out_as_retryable():
    """A receiver that never answers costs at most the time-out and is retried later."""
    async with webhook_receiver(hang=True) as receiver:
        started = time.monotonic()
        with pytest.raises(DeliveryError) as caught:
            await webhook().send(notify("webhook", receiver.url))
        elapsed = time.monotonic() - started
    assert caught.value.retryable
    assert elapsed < 2.0


async def test_webhook_connection_refused_is_retryable():
    """Nobody listening on the port is a temporary failure."""
    with pytest.raises(DeliveryError) as caught:
        await webhook().send(notify("webhook", f"http://127.0.0.1:{closed_port()}/x"))
    assert caught.value.retryable


async def test_webhook_non_http_url_is_permanent():
    """A recipient address that is not an http(s) URL will never work: no retry."""
    with pytest.raises(DeliveryError) as caught:
        await webhook().send(notify("webhook", "ftp://example.org/x"))
    assert not caught.value.retryable


# --- e-mail ------------------------------------------------------------------------------------


def parse(raw: bytes) -> email.message.EmailMessage:
    """A received message, decoded."""
    return email.message_from_bytes(raw, policy=email.policy.default)


def parts(message) -> dict[str, str]:
    """Decoded body parts by content type."""
    return {part.get_content_type(): part.get_content() for part in message.iter_parts()}


async def test_email_in_french_by_default():
    """A French mail: subject with counts, plain and HTML parts, labels, accents encoded."""
    with smtp_server() as (handler, port):
        settings = EmailSettings(host="127.0.0.1", port=port, timeout_s=5)
        n = notify("email", "csu@mairie.example")
        await CHANNELS["email"](settings).send(n)
    [raw] = handler.messages
    assert raw.isascii()  # accents travel encoded (RFC 2047 / base64 / QP), never raw 8-bit
    message = parse(raw)
    assert message["Subject"] == "[vp-monitor] CRITIQUE — 2 incidents ouverts, 1 incident résolu"
    assert message["X-VP-Idempotency-Key"] == n.idempotency_key
    assert message["Message-ID"] == message_id(n.idempotency_key, settings.sender)
    body = parts(message)
    assert set(body) == {"text/plain", "text/html"}
    for text in body.values():
        assert "caméra masquée" in text and "caméra injoignable" in text
        assert "Hôtel de ville" in text and "Boulogne-Billancourt" in text
        assert "durée 1 h 05 min" in text and "depuis le 23/11/2026 08:30" in text
    assert "Rétablissements" in body["text/html"]


async def test_email_in_english_on_request():
    """recipient.language = "en" gives an English subject and English labels."""
    with smtp_server() as (handler, port):
        settings = EmailSettings(host="127.0.0.1", port=port, timeout_s=5)
        await CHANNELS["email"](settings).send(notify("email", "ops@example.org", "en"))
    message = parse(handler.messages[0])
    assert message["Subject"] == "[vp-monitor] CRITICAL — 2 incidents opened, 1 incident resolved"
    for text in parts(message).values():
        assert "lens covered" in text and "camera unreachable" in text
        assert "Hôtel de ville" in text


@pytest.mark.parametrize(
    ("kinds", "french", "english"),
    [
        (("acknowledged",), "MAJEUR — 1 incident pris en compte",
         "MAJOR — 1 incident acknowledged"),
        (("reminder", "reminder"), "MAJEUR — rappel : 2 incidents en cours",
         "MAJOR — reminder: 2 incidents ongoing"),
        (("escalated",), "MAJEUR — escalade : 1 incident", "MAJOR — escalation: 1 incident"),
        (("reopened",), "MAJEUR — 1 incident rouvert", "MAJOR — 1 incident reopened"),
        (("resolved", "resolved"), "RÉTABLI — 2 incidents résolus",
         "RESOLVED — 2 incidents resolved"),
    ],
)  # fmt: skip
async def test_email_subject_says_what_happened(kinds, french, english):
    """An acknowledgement, a reminder, an escalation, a reopening or a recovery has a subject
    naming it, in the recipient's language (not the subject of an opening)."""
    items = tuple(event(f"inc-{n}", kind, "major") for n, kind in enumerate(kinds))
    for language, expected in (("fr", french), ("en", english)):
        recipient = Recipient("email", "ops@example.org", language)
        with smtp_server() as (handler, port):
            settings = EmailSettings(host="127.0.0.1", port=port, timeout_s=5)
            await CHANNELS["email"](settings).send(Notification("k", recipient, items, T0))
        assert parse(handler.messages[0])["Subject"] == f"[vp-monitor] {expected}"


async def test_email_duplicate_has_same_message_id():
    """Re-sending the same notification gives the same Message-ID, so it can be recognised."""
    with smtp_server() as (handler, port):
        channel = CHANNELS["email"](EmailSettings(host="127.0.0.1", port=port, timeout_s=5))
        n = notify("email", "csu@mairie.example", key="same-key")
        await channel.send(n)
        await channel.send(n)
    first, second = (parse(raw)["Message-ID"] for raw in handler.messages)
    assert first == second


async def test_email_permanent_refusal_is_not_retryable():
    """An SMTP 5xx reply (e.g. 550 mailbox unavailable) is not retried."""
    with smtp_server(reply="550 5.1.1 No such mailbox") as (_, port):
        channel = CHANNELS["email"](EmailSettings(host="127.0.0.1", port=port, timeout_s=5))
        with pytest.raises(DeliveryError) as caught:
            await channel.send(notify("email", "nobody@example.org"))
    assert not caught.value.retryable and "550" in str(caught.value)


async def test_email_wrong_password_is_not_retryable():
    """Rejected SMTP credentials (535) are a configuration error: no retry."""
    with smtp_server(user="mailer", password="right-password") as (_, port):
        settings = EmailSettings(
            host="127.0.0.1", port=port, username="mailer", password="wrong-password", timeout_s=5
        )
        with pytest.raises(DeliveryError) as caught:
            await CHANNELS["email"](settings).send(notify("email", "csu@mairie.example"))
    assert not caught.value.retryable


async def test_email_unsafe_address_is_permanent():
    """An address with a line break (header injection) is refused before any SMTP call."""
    channel = CHANNELS["email"](EmailSettings(host="127.0.0.1", port=closed_port(), timeout_s=1))
    with pytest.raises(DeliveryError) as caught:
        await channel.send(notify("email", "a@example.org\r\nBcc: evil@example.org"))
    assert not caught.value.retryable


async def test_email_server_down_is_retryable():
    """No SMTP server listening is a temporary failure."""
    channel = CHANNELS["email"](EmailSettings(host="127.0.0.1", port=closed_port(), timeout_s=1))
    with pytest.raises(DeliveryError) as caught:
        await channel.send(notify("email", "csu@mairie.example"))
    assert caught.value.retryable


# --- MQTT --------------------------------------------------------------------------------------


async def test_mqtt_publishes_events_and_retained_state():
    """Each event goes to <prefix>/incidents/<id>; the camera state is retained for later."""
    require_mqtt()
    prefix = f"vp-test-{uuid.uuid4().hex[:8]}"
    channel = CHANNELS["mqtt"](MqttSettings(host=MQTT_HOST, port=MQTT_PORT, timeout_s=5))
    n = notify("mqtt", prefix)
    try:
        async with mqtt_subscriber(f"{prefix}/incidents/#") as collect:
            await channel.send(n)
            messages = await collect(3)
        by_topic = {str(m.topic): json.loads(m.payload) for m in messages}
        assert set(by_topic) == {f"{prefix}/incidents/inc-{i}" for i in (1, 2, 3)}
        first = by_topic[f"{prefix}/incidents/inc-1"]
        assert first["idempotency_key"] == f"{n.idempotency_key}#0"
        assert first["conditions"] == ["covered"] and first["camera"]["code"] == "BB-inc-1"
        assert not any(m.retain for m in messages)

        # A subscriber arriving after the fact still learns every camera's state.
        async with mqtt_subscriber(f"{prefix}/cameras/+/state") as collect:
            states = await collect(3)
        assert all(m.retain for m in states)
        state = {str(m.topic): json.loads(m.payload) for m in states}
        assert state[f"{prefix}/cameras/BB-inc-2/state"]["camera"]["state"] == "down"
        recovered = state[f"{prefix}/cameras/BB-inc-3/state"]
        assert recovered["camera"]["state"] == "ok"
        assert recovered["last_event"]["event"] == "resolved"
        assert recovered["updated_at"] == "2026-11-23T07:30:00Z"
    finally:
        for code in ("BB-inc-1", "BB-inc-2", "BB-inc-3"):
            await clear_retained(f"{prefix}/cameras/{code}/state")


async def test_mqtt_topic_levels_are_sanitised():
    """A camera code with '/' or '+' cannot escape its topic level."""
    require_mqtt()
    prefix = f"vp-test-{uuid.uuid4().hex[:8]}"
    channel = CHANNELS["mqtt"](MqttSettings(host=MQTT_HOST, port=MQTT_PORT, timeout_s=5))
    recipient = Recipient("mqtt", prefix)
    n = Notification("k", recipient, (event("x/+#", camera_code="A/B+1"),), T0)
    try:
        async with mqtt_subscriber(f"{prefix}/#") as collect:
            await channel.send(n)
            topics = {str(m.topic) for m in await collect(2)}
        assert topics == {f"{prefix}/incidents/x___", f"{prefix}/cameras/A_B_1/state"}
    finally:
        await clear_retained(f"{prefix}/cameras/A_B_1/state")


@contextlib.contextmanager
def private_broker(tmp_path, user: str, password: str):
    """A Mosquitto of our own on a free port, refusing anonymous clients; yields its port."""
    if not (shutil.which("mosquitto") and shutil.which("mosquitto_passwd")):
        pytest.skip("mosquitto binaries not installed")
    passwords, conf, port = tmp_path / "passwd", tmp_path / "mosquitto.conf", closed_port()
    subprocess.run(["mosquitto_passwd", "-b", "-c", passwords, user, password], check=True)
    passwords.chmod(0o600)
    # "user": when started as root, mosquitto would switch to a user that cannot read tmp_path.
    conf.write_text(
        f"user {getpass.getuser()}\nlistener {port} 127.0.0.1\n"
        f"allow_anonymous false\npassword_file {passwords}\n"
    )
    broker = subprocess.Popen(["mosquitto", "-c", str(conf)], stderr=subprocess.DEVNULL)
    try:
        deadline = time.monotonic() + 5
        while time.monotonic() < deadline and broker.poll() is None:
            with contextlib.suppress(OSError), socket.create_connection(("127.0.0.1", port), 0.2):
                break
            time.sleep(0.05)
        else:
            pytest.fail("private mosquitto did not start")
        yield port
    finally:
        broker.terminate()
        broker.wait(timeout=5)


async def test_mqtt_wrong_password_is_not_retryable(tmp_path):
    """A broker refusing our credentials is a configuration error: no retry, no leak."""
    with private_broker(tmp_path, "vp", "right-pass-123") as port:
        settings = MqttSettings(
            host="127.0.0.1", port=port, username="vp", password="wrong-pass-456", timeout_s=3
        )
        with pytest.raises(DeliveryError) as caught:
            await CHANNELS["mqtt"](settings).send(notify("mqtt", "vp-test"))
        good = MqttSettings(**{**settings.model_dump(), "password": "right-pass-123"})
        await CHANNELS["mqtt"](good).send(notify("mqtt", "vp-test"))
    assert not caught.value.retryable
    assert "wrong-pass-456" not in str(caught.value)


async def test_mqtt_wildcard_prefix_is_permanent():
    """A recipient prefix with a wildcard can never be published to: no retry, no broker call."""
    channel = CHANNELS["mqtt"](MqttSettings(host=MQTT_HOST, port=closed_port(), timeout_s=1))
    with pytest.raises(DeliveryError) as caught:
        await channel.send(notify("mqtt", "vp/+/x"))
    assert not caught.value.retryable


# --- shared: every channel of CHANNELS --------------------------------------------------------


@dataclass
class Harness:
    """One channel wired to a real server, with the secrets it was given."""

    channel: Channel
    notification: Notification
    secrets: list[str]
    received: Callable[[], list[bytes]]  # everything the server got, as bytes


URL_SECRETS = ["url-pass-1234", "path-token-5678", "query-token-9012"]


@contextlib.asynccontextmanager
async def webhook_harness(failing: bool) -> AsyncIterator[Harness]:
    """Webhook to a receiver answering 503 (failing) or 200."""
    async with webhook_receiver(status=503 if failing else 200) as receiver:
        host = receiver.url.removeprefix("http://")
        url = f"http://alice:url-pass-1234@{host}/hook/path-token-5678?token=query-token-9012"
        n = notify("webhook", url, secret="hmac-secret-3456")

        def received() -> list[bytes]:
            # The Authorization header legitimately carries the URL's credentials.
            return [
                body + json.dumps({k: v for k, v in h.items() if k != "Authorization"}).encode()
                for h, body in receiver.requests
            ]

        yield Harness(webhook(), n, [*URL_SECRETS, "hmac-secret-3456"], received)


@contextlib.asynccontextmanager
async def email_harness(failing: bool) -> AsyncIterator[Harness]:
    """E-mail through an authenticating relay answering 451 (failing) or 250."""
    reply = "451 4.3.0 Try again later" if failing else "250 OK"
    with smtp_server(reply, user="mailer", password="smtp-pass-3456") as (handler, port):
        settings = EmailSettings(
            host="127.0.0.1", port=port, username="mailer", password="smtp-pass-3456", timeout_s=5
        )
        channel = CHANNELS["email"](settings)
        yield Harness(
            channel, notify("email", "csu@mairie.example"), ["smtp-pass-3456"],
            lambda: handler.messages,
        )  # fmt: skip


@contextlib.asynccontextmanager
async def mqtt_harness(failing: bool) -> AsyncIterator[Harness]:
    """MQTT to a closed port (failing) or to Mosquitto, with a password either way."""
    if not failing:
        require_mqtt()
    port = closed_port() if failing else MQTT_PORT
    settings = MqttSettings(
        host=MQTT_HOST, port=port, username="vp", password="mqtt-pass-3456", timeout_s=2
    )
    prefix = f"vp-test-{uuid.uuid4().hex[:8]}"
    payloads: list[bytes] = []
    harness = Harness(
        CHANNELS["mqtt"](settings), notify("mqtt", prefix), ["mqtt-pass-3456"], lambda: payloads
    )
    if failing:
        yield harness
        return
    async with mqtt_subscriber(f"{prefix}/#") as collect:
        yield harness
        payloads += [bytes(m.payload) for m in await collect(6)]
    for code in ("BB-inc-1", "BB-inc-2", "BB-inc-3"):
        await clear_retained(f"{prefix}/cameras/{code}/state")


HARNESSES = {"webhook": webhook_harness, "email": email_harness, "mqtt": mqtt_harness}


def test_every_channel_has_a_harness():
    """A channel added to CHANNELS must also be added to the shared tests below."""
    assert set(HARNESSES) == set(CHANNELS)


def assert_no_secret(text: str, secrets: list[str], where: str) -> None:
    """No secret appears in `text`."""
    for secret in secrets:
        assert secret not in text, f"{secret!r} leaked in {where}"


@pytest.mark.parametrize("kind", sorted(CHANNELS))
async def test_channel_never_leaks_a_secret(kind, caplog):
    """Secrets appear neither in errors, tracebacks, logs nor in what the server receives."""
    caplog.set_level(logging.DEBUG)
    async with HARNESSES[kind](failing=False) as harness:
        await harness.channel.send(harness.notification)
    received = harness.received()
    assert received, "the server received nothing"
    assert_no_secret(b"".join(received).decode(errors="replace"), harness.secrets, "payload")
    assert_no_secret(repr(harness.notification), harness.secrets, "repr(notification)")

    async with HARNESSES[kind](failing=True) as harness:
        with pytest.raises(DeliveryError) as caught:
            await harness.channel.send(harness.notification)
    error = caught.value
    assert_no_secret(str(error) + repr(error), harness.secrets, "the error")
    assert_no_secret("".join(traceback.format_exception(error)), harness.secrets, "traceback")
    logs = [r for r in caplog.records if not r.name.startswith(SERVER_LOGGERS)]
    text = "\n".join(r.getMessage() + (r.exc_text or "") for r in logs)
    assert_no_secret(text, harness.secrets, "logs")


@pytest.mark.parametrize("kind", sorted(CHANNELS))
async def test_channel_temporary_failure_is_retryable(kind):
    """A server-side temporary failure (5xx, SMTP 451, broker down) is reported as retryable."""
    async with HARNESSES[kind](failing=True) as harness:
        with pytest.raises(DeliveryError) as caught:
            await harness.channel.send(harness.notification)
    assert caught.value.retryable, str(caught.value)
