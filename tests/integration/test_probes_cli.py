"""Probe commands end to end: ONVIF registration, `check`, `camera reference`, `discover`."""

from __future__ import annotations

import asyncio
import json
import threading
import time

import click
import cv2
import numpy as np
import pytest
from aiohttp import web
from click.testing import CliRunner
from ports import free_port
from sqlalchemy import select

from vp_monitor.cli_context import Context, ErrorsAsExitCodes, run_at_edge
from vp_monitor.config import load_settings
from vp_monitor.probes.cli import check, discover, reference
from vp_monitor.redaction import MASK
from vp_monitor.registry.schemas import MunicipalityInput, SiteInput
from vp_monitor.service import commands
from vp_monitor.sim.camera import SimCamera
from vp_monitor.sim.discovery import start_discovery_responder
from vp_monitor.sim.encoder import GopCache
from vp_monitor.sim.onvif import create_onvif_app
from vp_monitor.sim.ptz import PtzHead
from vp_monitor.sim.rtsp import RtspServer

pytestmark = [pytest.mark.timeout(90), pytest.mark.slow(seconds=220)]
HOST = "127.0.7.1"
PASSWORD = "Sup3r-S3cret!"


@pytest.fixture
def sim():
    """A simulated camera (RTSP, ONVIF, WS-Discovery) served by an event loop in a thread."""
    loop = asyncio.new_event_loop()
    thread = threading.Thread(target=loop.run_forever, daemon=True)
    thread.start()
    camera = SimCamera(index=1, host=HOST, onvif_port=free_port(HOST), rtsp_port=free_port(HOST),
                       password=PASSWORD)  # fmt: skip
    jpeg = cv2.imencode(".jpg", np.zeros((8, 8, 3), np.uint8))[1].tobytes()
    cache = GopCache()

    async def start():
        # Both streams encoded before the first test's request: a DESCRIBE waits for its
        # stream's first loop, and encoding the main one under a loaded machine (other test
        # workers) can take longer than a probe's 5 s deadline.
        for stream in ("main", "sub"):
            await cache.get(cache.key_for(camera, stream))
        server = RtspServer(camera, cache, auth="both")
        await server.start()
        runner = web.AppRunner(create_onvif_app(camera, lambda: jpeg), shutdown_timeout=0.5)
        await runner.setup()
        await web.TCPSite(runner, HOST, camera.onvif_port).start()
        responder = await start_discovery_responder([camera], HOST, 0)
        return server, runner, responder

    server, runner, responder = asyncio.run_coroutine_threadsafe(start(), loop).result(60)
    camera.discovery_port = responder.port

    def set_fault_encoded(fault: str, **params) -> None:
        """Switch the fault once its sub-stream loop is encoded (else the old loop is served)."""
        key = cache.key_for(camera, "sub", fault, params)
        asyncio.run_coroutine_threadsafe(cache.get(key), loop).result(60)
        listener_moves = "refuse" in (fault, camera.fault)
        camera.set_fault(fault, **params)
        if listener_moves:  # the RTSP server closes or reopens its listener within 0.5 s
            time.sleep(1.0)

    def move_encoded(position) -> None:
        """Move the PTZ head once the loops of its new view are encoded (RTSP describes both)."""
        for stream in ("main", "sub"):
            key = cache.key_for(camera, stream, camera.fault, camera.fault_params, view=position)
            asyncio.run_coroutine_threadsafe(cache.get(key), loop).result(60)
        camera.ptz.move(position)
        camera.picture_moved()
        time.sleep(2.5)  # the stream switches at its next GOP

    camera.set_fault_encoded = set_fault_encoded  # type: ignore[attr-defined]
    camera.move_encoded = move_encoded  # type: ignore[attr-defined]
    yield camera

    async def stop():
        await responder.close()
        await runner.cleanup()
        await server.close()

    asyncio.run_coroutine_threadsafe(stop(), loop).result(10)
    loop.call_soon_threadsafe(loop.stop)
    thread.join(5)


@pytest.fixture
def cli(database_url, secret_key, tmp_path, monkeypatch):
    """The probe commands in a group of their own, on a fresh database with one site."""
    monkeypatch.chdir(tmp_path)

    @click.group(cls=ErrorsAsExitCodes)
    @click.pass_context
    def group(ctx):
        ctx.obj = Context(None, database_url, "tester")

    for command in (check, discover, reference):
        group.add_command(command)
    context = Context(None, database_url, "tester")
    with context.registry() as registry:
        registry.add_municipality(MunicipalityInput(insee="92012", name="Boulogne"))
        registry.add_site(SiteInput(name="Mairie", municipality="92012"))
    runner = CliRunner()

    def run(*args):
        result = runner.invoke(group, list(args))
        if result.exception and not isinstance(result.exception, SystemExit):
            raise result.exception
        return result.exit_code, result.stdout, result.stderr

    run.context = context
    return run


def add_from_onvif(context, code, sim, kind="fixed"):
    """Register a simulated camera by ONVIF through the service command, as `camera add`."""
    from vp_monitor.registry.schemas import CameraInput

    data = CameraInput(code=code, site="Mairie", municipality="92012", onvif_host=HOST,
                       onvif_port=sim.onvif_port, username="admin", password=PASSWORD,
                       kind=kind)  # fmt: skip
    return run_at_edge(commands.add_from_onvif(context.app, data))


def test_register_check_and_reference_commands(cli, sim):
    """ONVIF registration fills identity and URLs and stores a first reference; `check --json`
    gives the contract fields; `reference --approve` adds one and `--list` shows both."""
    camera = add_from_onvif(cli.context, "BB-001", sim)
    assert (camera["serial"], camera["model"], camera["expected_codec"]) == (
        sim.serial, "SIM-2000", "h264")  # fmt: skip
    assert camera["rtsp_sub"].endswith("/sub") and PASSWORD not in camera["rtsp_sub"]
    code, out, err = cli("check", "BB-001", "--json", "--save-frame", "frame.jpg")
    assert code == 0, out
    report = json.loads(out)
    assert set(report) == {"camera", "state", "conditions", "probes"}
    assert report["state"] == "ok", report
    assert {"onvif", "rtsp", "stream"} <= set(report["probes"])
    assert PASSWORD not in out and cv2.imread("frame.jpg") is not None
    sim.set_fault("black")
    code, out, _ = cli("check", "BB-001")
    assert code == 1 and "dégradée" in out and "image noire" in out  # exit 1: degraded
    sim.set_fault("none")
    assert cli("reference", "BB-001", "--approve", "--note", "after cleaning")[0] == 0
    assert cli("reference", "BB-001", "--approve", "--night", "--note", "IR on")[0] == 0
    code, out, _ = cli("reference", "BB-001", "--list", "--json")
    assert [(r["kind"], r["note"]) for r in json.loads(out)] == [
        ("night", "IR on"),
        ("day", "after cleaning"),
        ("day", "first picture at registration"),
    ]


def test_check_unknown_camera_is_bad_input(cli):
    """`check` on an unknown code exits with 2 (bad input), not with a traceback."""
    code, _out, err = cli("check", "NOPE")
    assert code == 2 and "caméra inconnue" in err


def test_discover_lists_unregistered_devices_by_unicast(cli, sim):
    """`discover --address` finds the simulated device; once registered it is no longer listed."""
    args = ("discover", "--address", HOST, "--port", str(sim.discovery_port), "--timeout", "1",
            "--json")  # fmt: skip
    code, out, err = cli(*args)
    assert code == 0, err
    assert [(d["host"], d["port"]) for d in json.loads(out)] == [(HOST, sim.onvif_port)]
    add_from_onvif(cli.context, "BB-002", sim)
    assert json.loads(cli(*args)[1]) == []


def test_reference_for_every_camera_missing_one(cli, sim):
    """After an import (no pictures), `reference --approve --missing` captures one for each
    camera that has none, names those that gave no picture, and leaves the others alone."""
    from vp_monitor.registry.schemas import CameraInput

    base = f"rtsp://{HOST}:{sim.rtsp_port}"
    dead = f"rtsp://{HOST}:{free_port(HOST)}"
    with cli.context.registry() as registry:
        for code, url in (("BB-010", base), ("BB-011", dead)):
            registry.add_camera(CameraInput(code=code, site="Mairie", municipality="92012",
                                            rtsp_main=f"{url}/main", rtsp_sub=f"{url}/sub",
                                            username="admin", password=PASSWORD))  # fmt: skip
    code, _, err = cli("reference", "--approve", "--missing")
    assert code == 2 and "BB-011" in err and "BB-010" not in err
    assert cli("reference", "--approve", "--missing")[0] == 2  # BB-011 still dark
    code, out, _ = cli("reference", "BB-010", "--list", "--json")
    assert [(r["kind"], r["note"]) for r in json.loads(out)] == [("day", "approved in bulk")]
    with cli.context.registry() as registry:
        registry.remove_camera("BB-011")
    code, out, _ = cli("reference", "--approve", "--missing", "--municipality", "92012")
    assert code == 0 and "chaque caméra a une image de référence (jour)" in out
    assert cli("reference", "--missing")[0] == 2  # --missing approves: it needs --approve


def test_missing_password_is_said_plainly(cli, sim, database_url):
    """No password given: the ONVIF and RTSP auth_failed reasons say so, readable, unmasked
    (an empty secret used to be "masked" between every character)."""
    from vp_monitor.cli import main

    runner = CliRunner()
    add = ["--database-url", database_url, "camera", "add", "--site", "Mairie",
           "--municipality", "92012"]  # fmt: skip
    result = runner.invoke(main, [*add[:4], "BB-NOPW", *add[4:], "--onvif",
                                  f"{HOST}:{sim.onvif_port}", "--user", "admin"])  # fmt: skip
    assert result.exit_code == 2, result.output
    assert "auth_failed" in result.stderr and "no password was given" in result.stderr
    assert "*c*" not in result.stderr.replace("********", "*"), result.stderr
    for code, url, said in [
        ("BB-USER", f"rtsp://admin@{HOST}:{sim.rtsp_port}/main", "no password was given"),
        ("BB-NONE", f"rtsp://{HOST}:{sim.rtsp_port}/sub", "none were given"),
    ]:
        result = runner.invoke(main, [*add[:4], code, *add[4:], "--rtsp", url, "--no-probe"])
        assert result.exit_code == 0, result.output
        _code, out, _err = cli("check", code, "--json")
        rtsp = json.loads(out)["probes"]["rtsp"]
        assert rtsp["conditions"] == ["auth_failed"] and said in rtsp["error"], rtsp
        assert MASK not in rtsp["error"]


def test_camera_add_rtsp_probes_the_camera(cli, sim, database_url):
    """`camera add --rtsp` asks the camera (DESCRIBE with the credentials, a first frame): a
    wrong password is refused and nothing written; the right one registers the camera with its
    stream's codec and size and a first reference; --no-probe skips the camera."""
    from vp_monitor.cli import main

    runner = CliRunner()

    def vp(*args, input=None):
        result = runner.invoke(main, ["--database-url", database_url, *args], input=input)
        if result.exception and not isinstance(result.exception, SystemExit):
            raise result.exception
        return result.exit_code, result.stdout, result.stderr

    add = ["camera", "add", "BB-020", "--site", "Mairie", "--municipality", "92012"]
    main_url = f"rtsp://{HOST}:{sim.rtsp_port}/main"
    wrong = f"rtsp://admin:Wr0ng-pass@{HOST}:{sim.rtsp_port}/main"
    code, out, err = vp(*add, "--rtsp", wrong)
    assert (
        code == 2 and "auth_failed" in err and "nom d'utilisateur ou mot de passe erroné" in err
    ), err
    assert "Wr0ng-pass" not in out + err
    dead = f"rtsp://{HOST}:{free_port(HOST)}/main"
    code, _, err = vp(*add, "--rtsp", dead, "--user", "admin", "--password-stdin",
                      input=PASSWORD + "\n")  # fmt: skip
    assert code == 2 and "unreachable" in err and "--no-probe" in err
    assert PASSWORD not in err
    assert json.loads(vp("camera", "list", "--json")[1]) == []
    code, out, err = vp(*add, "--rtsp", main_url, "--rtsp-sub", main_url[:-4] + "sub",
                        "--user", "admin", "--password-stdin", input=PASSWORD + "\n")  # fmt: skip
    assert code == 0, err
    shown = json.loads(vp("camera", "show", "BB-020", "--json")[1])
    assert (shown["expected_codec"], shown["expected_width"]) == ("h264", sim.main.width)
    code, out, _ = cli("reference", "BB-020", "--list", "--json")
    assert [r["note"] for r in json.loads(out)] == ["first picture at registration"]
    offline = ["camera", "add", "BB-021", "--site", "Mairie", "--municipality", "92012"]
    assert vp(*offline, "--rtsp", dead, "--no-probe")[0] == 0


def test_check_exit_codes_and_image_findings(cli, sim, monkeypatch):
    """`check` exits as monitoring plugins do (0 ok, 1 degraded, 3 down; 2 bad input) and its
    table shows what the picture showed, in the configured language."""
    add_from_onvif(cli.context, "BB-002", sim)
    code, out, _ = cli("check", "BB-002")
    assert code == 0 and "BB-002 : en service" in out, out
    image_line = next(line for line in out.splitlines() if line.strip().startswith("image"))
    assert image_line.split()[1] == "ok" and "luminosité moyenne" in out
    monkeypatch.setenv("VP_LANGUAGE", "en")
    sim.set_fault("black")
    code, out, _ = cli("check", "BB-002")
    image_line = next(line for line in out.splitlines() if line.strip().startswith("image"))
    assert code == 1 and "black image" in image_line and "mean brightness" in out
    assert json.loads(cli("check", "BB-002", "--json")[1])["state"] == "degraded"
    sim.set_fault("wrong_credentials")
    code, out, _ = cli("check", "BB-002")
    assert code == 3 and "BB-002: down" in out and "authentication failed" in out
    assert cli("check", "NOPE")[0] == 2


# Every simulator fault but: hang and slow (a camera not answering in time: the probes' own
# deadlines, shared by both, are tested in test_probes.py), and packet_loss and corrupt, which
# drop packets at random, so two checks in a row see different streams.
AGREEMENT_FAULTS = [
    "none", "black", "frozen", "defocus", "covered_dark", "covered_light", "moved",
    "overexposed", "underexposed", "noise", "wrong_credentials", "rtsp_5xx", "stream_stops",
    "low_fps", "refuse", "clock_drift", "device_replaced", "firmware_changed",
]  # fmt: skip


def monitor_check(context: Context, code: str, settings) -> frozenset[str]:
    """What the monitor's own checks of a camera find: its jobs loaded as for claims of its
    stream tier and of its inventory tier (the full ONVIF read, which `check` also makes), run
    by the monitor's runner under each tier's deadline; their conditions together."""
    from vp_monitor.db import session_factory, transaction, utcnow
    from vp_monitor.monitor.engine import load_jobs
    from vp_monitor.monitor.planner import Claim
    from vp_monitor.monitor.runner import Runner
    from vp_monitor.probes.capture import close_decoder_pool
    from vp_monitor.probes.onvif import close_clients
    from vp_monitor.registry.models import Camera

    now = utcnow()
    with transaction(session_factory(context.engine)) as session:
        camera = session.scalar(select(Camera).where(Camera.code == code))
        claims = [Claim(0, camera.id, camera.site_id, tier, 300.0, "test", now, now)
                  for tier in ("stream", "inventory")]  # fmt: skip
        jobs = load_jobs(session, claims, context.secrets)
    runner = Runner(settings.monitor, on_result=None, probe_settings=settings.probes,
                    vision_settings=settings.vision)  # fmt: skip

    async def run():
        try:
            return [await runner.run(job) for job in jobs]
        finally:
            await close_clients()

    try:
        return frozenset().union(*(result.conditions for result in asyncio.run(run())))
    finally:
        close_decoder_pool()


@pytest.mark.timeout(300)  # 18 faults, two checks each
@pytest.mark.parametrize("database_url", ["sqlite"], indirect=True)  # probes, not the database
def test_check_and_the_monitor_report_the_same_conditions_for_every_fault(cli, sim, monkeypatch):
    """`vp-monitor check` and the monitor's own checks (its job loader, runner and tier
    composition: the stream tier, and the inventory tier for the device's identity, which the
    stream tier no longer reads) report the same conditions for one camera in every simulator
    fault, and for
    a camera whose ONVIF service is down while its video works: onvif_error for both (check
    used to say unreachable)."""
    monkeypatch.setenv("VP_PROBES__STREAM__WINDOW_S", "1.5")  # shorter checks, same rules
    monkeypatch.setenv("VP_PROBES__STREAM__SECOND_KEYFRAME_DELAY_S", "1")
    settings = load_settings()
    add_from_onvif(cli.context, "BB-030", sim)
    seen, disagreements = {}, {}
    for fault in AGREEMENT_FAULTS:
        sim.set_fault_encoded(fault)
        from_check = json.loads(cli("check", "BB-030", "--json")[1])["conditions"]
        from_monitor = sorted(monitor_check(cli.context, "BB-030", settings))
        seen[fault] = from_check
        if from_check != from_monitor:
            disagreements[fault] = (from_check, from_monitor)
    sim.set_fault("none")
    with cli.context.registry() as registry:  # ONVIF gone, streams still there
        registry.camera("BB-030").onvif_port = free_port(HOST)
    code, out, _ = cli("check", "BB-030", "--json")
    from_monitor = monitor_check(cli.context, "BB-030", settings)
    assert json.loads(out)["conditions"] == ["onvif_error"] and code == 1, out
    assert from_monitor == {"onvif_error"}, from_monitor
    assert not disagreements, disagreements
    assert seen["none"] == [] and "black" in seen["black"] and seen["refuse"] == ["unreachable"]


@pytest.mark.timeout(240)
@pytest.mark.parametrize("database_url", ["sqlite"], indirect=True)  # probes, not the database
def test_ptz_references_per_preset_and_check_agrees_with_the_monitor(cli, sim, monkeypatch):
    """A PTZ camera's reference is approved per preset, only while it sits there; `vp-monitor
    check` and the monitor's checks then agree at its preset (ptz_not_home), at that preset
    with its view shifted (moved too), and away from every preset (no moved: no reference)."""
    monkeypatch.setenv("VP_PROBES__STREAM__WINDOW_S", "1.5")
    monkeypatch.setenv("VP_PROBES__STREAM__SECOND_KEYFRAME_DELAY_S", "1")
    settings = load_settings()
    sim.ptz = PtzHead()  # the simulated camera becomes a PTZ camera (at home)
    add_from_onvif(cli.context, "BB-040", sim, kind="ptz")
    code, _, err = cli("reference", "BB-040", "--approve", "--preset", "2")
    assert code == 2 and "pas sur le préréglage 2 (position lue : 1)" in err, err
    sim.move_encoded(sim.ptz.preset("2").position)
    code, out, err = cli("reference", "BB-040", "--approve", "--preset", "2")
    assert code == 0, err
    listed = json.loads(cli("reference", "BB-040", "--list", "--json")[1])
    assert [r["preset"] for r in listed][:1] == ["2"], listed
    found = {}
    for case in ("at preset", "shifted", "off presets"):
        if case == "shifted":
            sim.set_fault_encoded("moved")
        if case == "off presets":
            sim.move_encoded((0.3, -0.4, 0.2))
        report = json.loads(cli("check", "BB-040", "--json")[1])
        from_monitor = sorted(monitor_check(cli.context, "BB-040", settings))
        found[case] = (report["conditions"], from_monitor)
    sim.set_fault("none")
    assert found["at preset"][0] == ["ptz_not_home"], found
    assert "moved" in found["shifted"][0], found
    assert "moved" not in found["off presets"][0], found
    assert all(check == monitor for check, monitor in found.values()), found
