"""The service layer: tenant scopes on every read model and command, and commands that run
inside an event loop already running (as in the web service), against the simulator."""

from __future__ import annotations

import random
from datetime import UTC, datetime, timedelta

import cv2
import numpy as np
import pytest
from aiohttp import web
from ports import free_port

from vp_monitor.alerts.models import Incident
from vp_monitor.config import Settings
from vp_monitor.db import session_factory, transaction
from vp_monitor.monitor.models import CameraStatus, CheckRecord
from vp_monitor.probes.capture import close_decoder_pool
from vp_monitor.probes.onvif import close_clients
from vp_monitor.registry.models import Camera, Maintainer, Municipality, Site
from vp_monitor.registry.schemas import CameraInput, MaintenanceInput
from vp_monitor.registry.service import NotFound, RegistryError
from vp_monitor.service import commands, views
from vp_monitor.service.app import App
from vp_monitor.service.scope import Scope
from vp_monitor.sim.camera import SimCamera, camera_address
from vp_monitor.sim.encoder import GopCache
from vp_monitor.sim.onvif import create_onvif_app
from vp_monitor.sim.rtsp import RtspServer

pytestmark = pytest.mark.timeout(120)
T0 = datetime(2026, 11, 23, 10, 0, tzinfo=UTC)
BB_INCIDENT = "0d5c1e2a-0000-4000-8000-000000000001"
VE_INCIDENT = "7e11aa00-0000-4000-8000-000000000002"
VE_OUTAGE = "a1b2c3d4-0000-4000-8000-000000000003"
BOULOGNE = Scope.of_municipalities(["92012"])
VERSAILLES = Scope.of_municipalities(["78646"])


@pytest.fixture
def app(database_url, secret_key, tmp_path):
    """The application object on a fresh database, as the CLI and the web service build it."""
    built = App.from_settings(Settings(database_url=database_url), actor="op.martin")
    yield built
    built.close()


@pytest.fixture
def fleet(app):
    """Boulogne's BB-001 (down, open incident, maintained by Acme) and Versailles' VE-001 (ok,
    an open incident) with a site outage in Versailles."""
    with transaction(session_factory(app.engine)) as session:
        acme = Maintainer(name="Acme")
        boulogne = Municipality(insee="92012", name="Boulogne-Billancourt", departement="92")
        versailles = Municipality(insee="78646", name="Versailles", departement="78")
        cameras = []
        for town, code in ((boulogne, "BB-001"), (versailles, "VE-001")):
            site = Site(name=f"Mairie {town.name}", municipality=town, uplink=f"UP-{code}")
            cameras.append(Camera(code=code, name=code, site=site, municipality=town))
        cameras[0].maintainer = acme
        session.add_all(cameras)
        session.flush()
        bb, ve = cameras
        session.add_all([
            CameraStatus(camera_id=bb.id, state="down", conditions=["no_video"], since=T0),
            CameraStatus(camera_id=ve.id, state="ok", conditions=[], since=T0),
            Incident(id=BB_INCIDENT, kind="camera", camera_id=bb.id, site_id=bb.site_id,
                     severity="critical", conditions=["no_video"], opened_at=T0),
            Incident(id=VE_INCIDENT, kind="camera", camera_id=ve.id, site_id=ve.site_id,
                     severity="major", conditions=["black"], opened_at=T0),
            Incident(id=VE_OUTAGE, kind="site", site_id=ve.site_id, severity="critical",
                     conditions=["unreachable"], opened_at=T0),
        ])  # fmt: skip
        for camera, state in ((bb, "down"), (ve, "ok")):
            session.add(CheckRecord(camera_id=camera.id, at=T0, tier="full", state=state,
                                    conditions=[], duration_s=0.01))  # fmt: skip
    return app


def read(app, view, *args):
    with app.registry() as registry:
        return view(registry.session, *args)


def test_municipality_scope_lists_only_its_own(fleet):
    """A municipality's scope lists only its cameras on the status wall and in availability,
    and only its incidents (its cameras' and its sites' outages); the supervision centre sees
    all."""
    wall = read(fleet, views.status_wall, BOULOGNE)
    assert [r["camera"] for r in wall.cameras] == ["BB-001"] and wall.watched == 1
    assert wall.cameras[0]["incident_status"] == "open"
    assert wall.counts == [{"municipality": "92012", "site": "Mairie Boulogne-Billancourt",
                            "state": "down", "count": 1}]  # fmt: skip
    assert [r["camera"] for r in read(fleet, views.status_wall, VERSAILLES).cameras] == ["VE-001"]
    everyone = read(fleet, views.status_wall, Scope.supervision())
    assert [r["camera"] for r in everyone.cameras] == ["BB-001", "VE-001"]  # worst first
    assert {i["id"] for i in read(fleet, views.incidents, BOULOGNE)} == {BB_INCIDENT}
    assert {i["id"] for i in read(fleet, views.incidents, VERSAILLES)} == {VE_INCIDENT, VE_OUTAGE}
    assert len(read(fleet, views.incidents, Scope.supervision())) == 3
    both = Scope.of_municipalities(["92012", "78646"])
    assert len(read(fleet, views.incidents, both)) == 3
    window = (T0, T0 + timedelta(hours=1))
    records = read(fleet, views.availability_records, BOULOGNE, *window)
    assert [(r["camera"], r["availability_pct"]) for r in records] == [("BB-001", 0.0)]
    assert len(read(fleet, views.availability_records, Scope.supervision(), *window)) == 2


def test_maintainer_scope_sees_the_cameras_it_maintains(fleet):
    """A maintainer's scope is the cameras it maintains and their incidents, nothing else."""
    acme = Scope.of_maintainer("Acme")
    assert [r["camera"] for r in read(fleet, views.status_wall, acme).cameras] == ["BB-001"]
    assert {i["id"] for i in read(fleet, views.incidents, acme)} == {BB_INCIDENT}
    assert read(fleet, views.status_wall, Scope.of_maintainer("Nobody")).cameras == []


def test_another_tenants_object_is_not_found(fleet):
    """By id, another municipality's camera or incident is "not found", word for word the
    answer for one that does not exist."""
    with pytest.raises(NotFound) as other:
        read(fleet, views.find_incident, BOULOGNE, VE_INCIDENT)
    with pytest.raises(NotFound) as missing:
        read(fleet, views.find_incident, BOULOGNE, "ffffffff-0000")
    assert str(other.value) == str(missing.value).replace("ffffffff-0000", VE_INCIDENT)
    with pytest.raises(NotFound, match="no incident has this id"):
        read(fleet, views.incident_detail, BOULOGNE, VE_OUTAGE[:8])
    assert read(fleet, views.incident_detail, VERSAILLES, VE_OUTAGE[:8])["id"] == VE_OUTAGE
    with pytest.raises(NotFound) as other:
        read(fleet, views.camera_detail, BOULOGNE, "VE-001")
    with pytest.raises(NotFound) as missing:
        read(fleet, views.camera_detail, BOULOGNE, "XX-999")
    assert (str(other.value), str(missing.value)) == ("unknown camera 'VE-001'",
                                                      "unknown camera 'XX-999'")  # fmt: skip
    detail = read(fleet, views.camera_detail, VERSAILLES, "ve-001")
    assert (detail["code"], detail["state"], detail["incident"]) == ("VE-001", "ok", VE_INCIDENT)


async def test_acknowledge_and_maintenance_inside_a_running_loop(fleet):
    """Acknowledgement and maintenance planning are awaited inside a running event loop;
    another municipality's incident or camera is not found and nothing is written."""
    with pytest.raises(NotFound):
        await commands.acknowledge(fleet, VE_INCIDENT, "on it", BOULOGNE)
    done = await commands.acknowledge(fleet, BB_INCIDENT[:8], "on it", BOULOGNE, "tech.dupont")
    assert (done.incident_id, done.status_before, done.by) == (BB_INCIDENT, "open", "tech.dupont")
    detail = read(fleet, views.incident_detail, Scope.supervision(), BB_INCIDENT)
    assert (detail["status"], detail["acknowledgement_note"]) == ("acknowledged", "on it")
    assert read(fleet, views.incident_detail, Scope.supervision(), VE_INCIDENT)["status"] == "open"
    window = {"starts_at": T0, "ends_at": T0 + timedelta(hours=2), "reason": "lens"}
    with pytest.raises(NotFound):
        await commands.plan_maintenance(
            fleet, MaintenanceInput(scope="camera", target="VE-001", **window), BOULOGNE
        )
    with pytest.raises(NotFound):
        await commands.plan_maintenance(
            fleet, MaintenanceInput(scope="municipality", target="78646", **window), BOULOGNE
        )
    planned = await commands.plan_maintenance(
        fleet, MaintenanceInput(scope="camera", target="BB-001", **window), BOULOGNE
    )
    windows = read(fleet, views.maintenance_windows, BOULOGNE)
    assert [(w["id"], w["camera"], w["reason"]) for w in windows] == [(planned, "BB-001", "lens")]
    assert read(fleet, views.maintenance_windows, VERSAILLES) == []


PASSWORD = "Sup3r-S3cret!"


@pytest.fixture
async def sim():
    """A simulated camera (RTSP and ONVIF) served by the test's own event loop."""
    host = camera_address(random.randrange(30_000, 60_000))
    camera = SimCamera(index=1, host=host, onvif_port=free_port(host), rtsp_port=free_port(host),
                       password=PASSWORD)  # fmt: skip
    cache = GopCache()
    for stream in ("main", "sub"):  # encode the loops now, not inside a probe's deadline
        await cache.get(cache.key_for(camera, stream))
    server = RtspServer(camera, cache, auth="both")
    await server.start()
    jpeg = cv2.imencode(".jpg", np.zeros((8, 8, 3), np.uint8))[1].tobytes()
    runner = web.AppRunner(create_onvif_app(camera, lambda: jpeg), shutdown_timeout=0.5)
    await runner.setup()
    await web.TCPSite(runner, host, camera.onvif_port).start()
    yield camera
    await close_clients()
    close_decoder_pool()
    await runner.cleanup()
    await server.close()
    cache.close()


async def test_onboarding_runs_inside_a_running_loop(fleet, sim):
    """Test before save, add from ONVIF and from RTSP, approve a reference and check: each is
    awaited inside the running loop (no nested asyncio.run); a wrong password writes nothing,
    and a municipality cannot register a camera in another's."""
    site = {"site": "Mairie Boulogne-Billancourt", "municipality": "92012"}
    onvif = CameraInput(code="BB-010", onvif_host=sim.host, onvif_port=sim.onvif_port,
                        username="admin", password=PASSWORD, **site)  # fmt: skip
    tested = await commands.check_before_saving(fleet, onvif)
    assert tested.state == "ok", tested.to_json()
    with pytest.raises(NotFound):
        await commands.add_from_onvif(fleet, onvif, scope=VERSAILLES)
    added = await commands.add_from_onvif(fleet, onvif, scope=BOULOGNE)
    assert (added["serial"], added["model"]) == (sim.serial, "SIM-2000")
    url = f"rtsp://{sim.host}:{sim.rtsp_port}"
    rtsp = {"code": "BB-011", "rtsp_main": f"{url}/main", "rtsp_sub": f"{url}/sub",
            "username": "admin", **site}  # fmt: skip
    with pytest.raises(RegistryError, match="auth_failed"):
        await commands.add_from_rtsp(fleet, CameraInput(password="Wr0ng", **rtsp), True)
    with fleet.registry() as registry:
        assert [c.code for c in registry.cameras("92012")] == ["BB-001", "BB-010"]
    # The same simulated device as BB-010: a shared encoder, as the option says.
    added = await commands.add_from_rtsp(fleet, CameraInput(password=PASSWORD, **rtsp), True)
    assert added["expected_codec"] == "h264"
    approved = await commands.approve_reference(fleet, "BB-011", "night", "IR on", BOULOGNE)
    assert (approved.camera, approved.kind, approved.width) == ("BB-011", "night", sim.sub.width)
    with pytest.raises(NotFound):
        await commands.approve_reference(fleet, "BB-011", "day", "", VERSAILLES)
    with fleet.registry() as registry:
        notes = [r.note for r in registry.references(registry.camera("BB-011"))]
    assert notes == ["IR on", "first picture at registration"]
    report = await commands.check_registered_camera(fleet, "BB-010", BOULOGNE)
    assert report.state == "ok" and PASSWORD not in str(report.to_json())
