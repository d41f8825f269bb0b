"""Run by test_conditions.py in its own interpreter: one row is added to the condition table
before any other module is imported, then the new condition is driven from a simulated
camera's picture to a contact's outbox. Prints what each stage made of it, as JSON."""

from __future__ import annotations

import asyncio
import json
import sys
from pathlib import Path

from vp_monitor import conditions

ROW = conditions.Condition(
    "smudged", "quality", "critical", "objectif sali", "lens smudged", conditions.STREAM,
    needs_answer=True, vision=True,
)  # fmt: skip
if sys.argv[2] == "with-row":
    conditions.CONDITIONS[ROW.name] = ROW

# Everything else is imported now, as a module that knew the row from the start would be.
from datetime import UTC, datetime, timedelta  # noqa: E402

from sqlalchemy import select  # noqa: E402

from vp_monitor import vision  # noqa: E402
from vp_monitor.alerts.incidents import record_change  # noqa: E402
from vp_monitor.alerts.models import Incident, OutboxEvent  # noqa: E402
from vp_monitor.alerts.settings import AlertSettings  # noqa: E402
from vp_monitor.db import make_engine, session_factory, transaction, upgrade  # noqa: E402
from vp_monitor.monitor.evaluator import evaluate  # noqa: E402
from vp_monitor.monitor.models import CameraStatus, CheckRecord  # noqa: E402
from vp_monitor.monitor.runner import run_tier  # noqa: E402
from vp_monitor.monitor.settings import MonitorSettings  # noqa: E402
from vp_monitor.probes.base import ProbeSettings, ProbeTarget  # noqa: E402
from vp_monitor.registry.models import Camera, Contact, Municipality, Site  # noqa: E402
from vp_monitor.sim.camera import SimCamera  # noqa: E402
from vp_monitor.sim.encoder import GopCache  # noqa: E402
from vp_monitor.sim.rtsp import RtspServer  # noqa: E402
from vp_monitor.texts import Texts  # noqa: E402
from vp_monitor.vision.frame import Finding  # noqa: E402

PROBES = ProbeSettings.model_validate(
    {"rtsp": {"timeout_s": 4.0}, "stream": {"timeout_s": 10.0, "window_s": 2.2}}
)
SMUDGE = {"on": True}


def smudge_check(current, reference, previous, settings) -> Finding:
    """The new vision check: it finds the new condition while the lens is "smudged"."""
    return Finding(frozenset({"smudged"}) if SMUDGE["on"] else frozenset(), {})


async def stream_checks(host: str, port: int, count: int) -> list:
    """`count` stream tiers on a simulated camera (RTSP only), the first ones smudged."""
    camera = SimCamera(index=1, host=host, onvif_port=port + 1, rtsp_port=port)
    cache = GopCache()
    await cache.get(cache.key_for(camera, "sub"))
    await cache.get(cache.key_for(camera, "main"))
    server = RtspServer(camera, cache, auth="both")
    await server.start()
    base = f"rtsp://{host}:{port}"
    target = ProbeTarget(camera.code, username="admin", password="admin",
                         rtsp_main=f"{base}/main", rtsp_sub=f"{base}/sub")  # fmt: skip
    results = []
    try:
        for index in range(count):
            SMUDGE["on"] = index < count - 1
            results.append(await run_tier("stream", target, PROBES))
    finally:
        await server.close()
    return results


def main() -> None:
    """Raise, confirm, clear, label and route the new condition; print each stage's view."""
    host, port = sys.argv[1].rsplit(":", 1)
    vision.CHECKS["smudge"] = smudge_check
    monitor = MonitorSettings()
    alerts = AlertSettings()
    results = asyncio.run(stream_checks(host, int(port), monitor.image_confirmations + 1))
    engine = make_engine(f"sqlite:///{Path(sys.argv[3]) / 'flow.db'}")
    upgrade(engine)
    factory = session_factory(engine)
    with transaction(factory) as session:
        town = Municipality(insee="92012", name="Boulogne", departement="92")
        site = Site(name="Mairie", municipality=town)
        camera = Camera(code="CAM-1", name="parvis", site=site, municipality=town)
        critical_only = Contact(name="Astreinte", channel="email", address="a@example.org",
                                min_severity="critical")  # fmt: skip
        session.add_all([camera, critical_only])
        session.flush()
        session.add(CameraStatus(camera_id=camera.id, state="ok", since=datetime.now(UTC),
                                 tiers_checked=["reachability", "stream"]))  # fmt: skip
        camera_id = camera.id
    at = datetime.now(UTC)
    steps = []
    for index, result in enumerate(results):
        with transaction(factory) as session:
            change = evaluate(session, camera_id, result, monitor, at + timedelta(minutes=index))
            record_change(session, change, alerts)
            steps.append({"seen": sorted(result.conditions), "state": change.state,
                          "observed": sorted(result.observed),
                          "confirmed": sorted(change.conditions)})  # fmt: skip
    with factory() as session:
        incidents = list(session.scalars(select(Incident)))
        events = [event.payload for event in session.scalars(select(OutboxEvent))]
        availability = [row.availability for row in session.scalars(select(CheckRecord))]
    print(json.dumps({
        "steps": steps,
        "incidents": [{"severity": i.severity, "status": i.status, "conditions": i.conditions}
                      for i in incidents],
        "events": [{"event": e["event"], "severity": e["severity"]} for e in events],
        "availability": availability,
        "labels": {language: Texts(language).condition("smudged") for language in ("fr", "en")},
    }))  # fmt: skip


if __name__ == "__main__":
    main()
