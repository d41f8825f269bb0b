"""A fleet of simulated cameras: loaded from a TOML (or CSV) file or generated, started in one
process (RTSP + ONVIF + WS-Discovery), driven by a scripted fault timeline, and written out as
the CSV file the registry imports.

TOML layout (unknown keys are errors):

    [fleet]                      # optional defaults
    rtsp_port = 8554
    onvif_port = 8000
    timeline_repeat_s = 0        # > 0: replay every camera's timeline with this period

    [[site]]
    name = "Hôtel de Ville"
    municipality = "92012"       # INSEE code
    municipality_name = "Boulogne-Billancourt"
    uplink = "BB-FIBRE-01"

    [[camera]]
    code = "BB-HDV-01"
    site = "Hôtel de Ville"
    codec = "h265"
    main = { width = 1280, height = 720, fps = 15, bitrate_kbps = 2000 }
    [[camera.timeline]]
    at = 30
    fault = "black"
"""

from __future__ import annotations

import asyncio
import contextlib
import csv
import logging
import random
import resource
import time
import tomllib
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from vp_monitor.sim.camera import FAULTS, SimCamera, StreamSpec
from vp_monitor.sim.encoder import GopCache
from vp_monitor.sim.ptz import PtzHead
from vp_monitor.sim.rtsp import AUTH_SCHEMES, RtspServer

log = logging.getLogger(__name__)

REGISTRY_COLUMNS = (
    "code", "name", "site", "municipality", "kind", "onvif_host", "onvif_port", "username",
    "password", "rtsp_main", "rtsp_sub",
)  # fmt: skip
# Columns the registry import also understands; written so the import is complete.
EXTRA_COLUMNS = (
    "expected_codec", "expected_width", "expected_height", "expected_fps", "manufacturer",
    "model", "serial", "firmware", "uplink",
)  # fmt: skip
DEFAULT_SITE = ("Simulateur", "92012", "Boulogne-Billancourt")
# A generated fleet's sites: 5 to 30 cameras each, 2 to 4 sites sharing one uplink.
SITE_SIZES = (5, 30)
SITES_PER_UPLINK = (2, 4)
CAMERA_KEYS = {
    "code", "name", "site", "kind", "index", "codec", "scene", "username", "password",
    "rtsp_auth", "main", "sub", "fault", "fault_params", "manufacturer", "model", "serial",
    "firmware", "timeline",
}  # fmt: skip
SITE_KEYS = {"name", "municipality", "municipality_name", "uplink", "latitude", "longitude"}
FLEET_KEYS = {"rtsp_port", "onvif_port", "timeline_repeat_s"}
SPEC_KEYS = {"width", "height", "fps", "bitrate_kbps", "gop_seconds"}
CSV_KEYS = {
    "code",
    "site",
    "municipality",
    "name",
    "kind",
    "uplink",
    "codec",
    "scene",
    "username",
    "password",
    "rtsp_auth",
}


class FleetError(ValueError):
    """The fleet file is wrong; the message says where and why."""


@dataclass(frozen=True)
class TimelineStep:
    """At `at` seconds after the fleet starts, switch the camera into `fault`."""

    at: float
    fault: str
    params: dict[str, Any] = field(default_factory=dict)


@dataclass(frozen=True)
class Site:
    """Where cameras are: a site of a municipality, behind one uplink."""

    name: str
    municipality: str
    municipality_name: str = ""
    uplink: str = ""
    latitude: float | None = None  # WGS84, for the map of sites
    longitude: float | None = None


@dataclass
class FleetCamera:
    """A simulated camera and what the registry should know about it."""

    camera: SimCamera
    site: Site
    name: str = ""
    kind: str = "fixed"
    rtsp_auth: str = "both"
    timeline: list[TimelineStep] = field(default_factory=list)

    def __post_init__(self) -> None:
        if self.kind == "ptz" and self.camera.ptz is None:  # a PTZ camera has its head
            self.camera.ptz = PtzHead()


@dataclass
class Fleet:
    """The cameras one simulator process serves."""

    cameras: list[FleetCamera]
    timeline_repeat_s: float = 0.0


def generated_fleet(
    count: int,
    *,
    rtsp_port: int = 8554,
    onvif_port: int = 8000,
    codec: str = "h264",
    scene: str = "procedural",
    auth: str = "both",
    ptz: int = 0,
) -> Fleet:
    """`count` cameras cam001…, all healthy, spread over sites as a town's are (see
    `generated_sites`); the last `ptz` of them PTZ cameras (presets, home, patrol)."""
    if count < 1:
        raise FleetError("a fleet needs at least one camera")
    _check_choice("codec", codec, ("h264", "h265"), "command line")
    cameras = [
        FleetCamera(
            SimCamera(i, rtsp_port=rtsp_port, onvif_port=onvif_port, codec=codec, scene=scene),
            site,
            kind="ptz" if i > count - ptz else "fixed",
            rtsp_auth=auth,
        )
        for i, site in enumerate(generated_sites(count), 1)
    ]
    return Fleet(cameras)


def generated_sites(count: int, seed: int = 1) -> list[Site]:
    """The site of each of `count` cameras: sites of SITE_SIZES cameras (the last may be
    smaller), SITES_PER_UPLINK sites behind each uplink, the same for the same count."""
    rng = random.Random(seed)
    name, municipality, municipality_name = DEFAULT_SITE
    sites: list[Site] = []
    number, uplink, left_on_uplink = 0, 0, 0
    while len(sites) < count:
        if left_on_uplink == 0:
            uplink, left_on_uplink = uplink + 1, rng.randint(*SITES_PER_UPLINK)
        number, left_on_uplink = number + 1, left_on_uplink - 1
        site = Site(f"{name} {number:03d}", municipality, municipality_name, f"SIM-UP-{uplink:03d}")
        sites += [site] * rng.randint(*SITE_SIZES)
    return sites[:count]


def load_fleet(
    path: str | Path, *, rtsp_port: int | None = None, onvif_port: int | None = None
) -> Fleet:
    """Read a fleet from a .toml or .csv file; raises FleetError with the culprit's location."""
    path = Path(path)
    try:
        raw = path.read_bytes()
    except OSError as exc:
        raise FleetError(f"{path}: cannot read fleet file: {exc.strerror}") from exc
    if path.suffix.lower() == ".csv":
        fleet = _fleet_from_csv(raw.decode("utf-8-sig"), str(path))
    else:
        try:
            data = tomllib.loads(raw.decode("utf-8"))
        except (tomllib.TOMLDecodeError, UnicodeDecodeError) as exc:
            raise FleetError(f"{path}: not valid TOML: {exc}") from exc
        fleet = _fleet_from_toml(data, str(path))
    for fc in fleet.cameras:  # command-line ports win over the file
        fc.camera.rtsp_port = rtsp_port if rtsp_port is not None else fc.camera.rtsp_port
        fc.camera.onvif_port = onvif_port if onvif_port is not None else fc.camera.onvif_port
    _check_unique(fleet, str(path))
    return fleet


def _fleet_from_toml(data: dict[str, Any], origin: str) -> Fleet:
    _check_keys(data, {"fleet", "site", "camera"}, origin)
    defaults = data.get("fleet", {})
    _check_keys(defaults, FLEET_KEYS, f"{origin} [fleet]")
    sites: dict[str, Site] = {}
    for n, entry in enumerate(data.get("site", []), 1):
        where = f"{origin} site #{n}"
        _check_keys(entry, SITE_KEYS, where)
        for key in ("name", "municipality"):
            if not isinstance(entry.get(key), str) or not entry[key]:
                raise FleetError(f"{where}: '{key}' is required")
        if not (entry["municipality"].isalnum() and len(entry["municipality"]) == 5):
            raise FleetError(f"{where}: municipality must be a 5-character INSEE code")
        fields = {
            k: v
            for k, v in entry.items()
            if k in ("name", "municipality", "municipality_name", "uplink", "latitude", "longitude")
        }
        sites[entry["name"]] = Site(**fields)
    cameras = [
        _checked_camera(entry, n, sites, defaults, f"{origin} camera #{n}")
        for n, entry in enumerate(data.get("camera", []), 1)
    ]
    if not cameras:
        raise FleetError(f"{origin}: no [[camera]] in the fleet")
    return Fleet(cameras, float(defaults.get("timeline_repeat_s", 0)))


def _checked_camera(
    entry: dict[str, Any], position: int, sites: dict[str, Site], defaults: dict[str, Any],
    where: str,
) -> FleetCamera:  # fmt: skip
    """_camera_from_toml, with any bad value (wrong type, index out of range) as a FleetError."""
    try:
        return _camera_from_toml(entry, position, sites, defaults, where)
    except FleetError:
        raise
    except (ValueError, TypeError) as exc:
        raise FleetError(f"{where}: {exc}") from exc


def _camera_from_toml(
    entry: dict[str, Any],
    position: int,
    sites: dict[str, Site],
    defaults: dict[str, Any],
    where: str,
) -> FleetCamera:
    _check_keys(entry, CAMERA_KEYS, where)
    if not entry.get("code"):
        raise FleetError(f"{where}: 'code' is required")
    where = f"{where} ({entry['code']})"
    site_name = entry.get("site", DEFAULT_SITE[0])
    if sites and site_name not in sites:
        raise FleetError(f"{where}: unknown site {site_name!r}; declare it in [[site]]")
    site = sites.get(site_name, Site(*DEFAULT_SITE))
    codec = entry.get("codec", "h264")
    _check_choice("codec", codec, ("h264", "h265"), where)
    auth = entry.get("rtsp_auth", "both")
    _check_choice("rtsp_auth", auth, tuple(AUTH_SCHEMES), where)
    camera = SimCamera(
        int(entry.get("index", position)),
        code=entry["code"],
        rtsp_port=int(defaults.get("rtsp_port", 8554)),
        onvif_port=int(defaults.get("onvif_port", 8000)),
        codec=codec,
        scene=entry.get("scene", "procedural"),
        **{
            k: str(entry[k])
            for k in ("username", "password", "manufacturer", "model", "serial", "firmware")
            if k in entry
        },
    )
    for stream in ("main", "sub"):
        if stream in entry:
            setattr(camera, stream, _spec(entry[stream], getattr(camera, stream), where))
    if entry.get("fault", "none") != "none":
        _check_choice("fault", entry["fault"], tuple(FAULTS), where)
        camera.set_fault(entry["fault"], **entry.get("fault_params", {}))
    timeline = [
        _step(step, f"{where} timeline #{i}") for i, step in enumerate(entry.get("timeline", []), 1)
    ]
    return FleetCamera(
        camera,
        site,
        entry.get("name", ""),
        entry.get("kind", "fixed"),
        auth,
        sorted(timeline, key=lambda s: s.at),
    )


def _spec(value: Any, default: StreamSpec, where: str) -> StreamSpec:
    if not isinstance(value, dict):
        raise FleetError(f"{where}: a stream is a table like {{ width = 640, height = 360 }}")
    _check_keys(value, SPEC_KEYS, where)
    for key, number in value.items():
        if isinstance(number, bool) or not isinstance(number, int | float) or number <= 0:
            raise FleetError(f"{where}: stream {key} must be a positive number, not {number!r}")
    merged = {**default.__dict__, **value}
    if merged["width"] % 2 or merged["height"] % 2 or not 1 <= merged["fps"] <= 60:
        raise FleetError(f"{where}: width/height must be even and fps within 1..60")
    return StreamSpec(**merged)


def _step(value: Any, where: str) -> TimelineStep:
    if not isinstance(value, dict):
        raise FleetError(f"{where}: a timeline step is a table with 'at' and 'fault'")
    _check_keys(value, {"at", "fault", "params"}, where)
    if not isinstance(value.get("at"), int | float) or value["at"] < 0:
        raise FleetError(f"{where}: 'at' must be a number of seconds >= 0")
    _check_choice("fault", value.get("fault"), tuple(FAULTS), where)
    return TimelineStep(float(value["at"]), value["fault"], dict(value.get("params", {})))


def _fleet_from_csv(text: str, origin: str) -> Fleet:
    reader = csv.DictReader(text.splitlines())
    unknown = set(reader.fieldnames or ()) - CSV_KEYS
    if unknown or not {"code", "site", "municipality"} <= set(reader.fieldnames or ()):
        raise FleetError(
            f"{origin}: columns must include code,site,municipality and only "
            f"{','.join(sorted(CSV_KEYS))}; unexpected: {sorted(unknown)}"
        )
    cameras = []
    for n, row in enumerate(reader, 1):
        where = f"{origin} line {n + 1}"
        row = {k: v.strip() for k, v in row.items() if v and v.strip()}
        site = Site(row.get("site", ""), row.get("municipality", ""), "", row.get("uplink", ""))
        entry = {k: v for k, v in row.items() if k in CAMERA_KEYS}
        cameras.append(_checked_camera(entry, n, {site.name: site}, {}, where))
    if not cameras:
        raise FleetError(f"{origin}: no camera rows")
    return Fleet(cameras)


def _check_keys(table: Any, allowed: set[str], where: str) -> None:
    if not isinstance(table, dict):
        raise FleetError(f"{where}: expected a table")
    unknown = set(table) - allowed
    if unknown:
        raise FleetError(f"{where}: unknown key(s) {sorted(unknown)}; allowed: {sorted(allowed)}")


def _check_choice(name: str, value: Any, allowed: tuple[str, ...], where: str) -> None:
    if value not in allowed:
        raise FleetError(f"{where}: {name} {value!r} is not one of {', '.join(sorted(allowed))}")


def _check_unique(fleet: Fleet, origin: str) -> None:
    seen_codes, seen_hosts = set(), set()
    for fc in fleet.cameras:
        if fc.camera.code in seen_codes:
            raise FleetError(f"{origin}: camera code {fc.camera.code} appears twice")
        if fc.camera.host in seen_hosts:
            raise FleetError(f"{origin}: two cameras on address {fc.camera.host}")
        seen_codes.add(fc.camera.code)
        seen_hosts.add(fc.camera.host)


def registry_row(fc: FleetCamera) -> dict[str, str]:
    """The registry import row of one simulated camera (passwords included: technician input)."""
    cam = fc.camera
    rtsp = f"rtsp://{cam.host}:{cam.rtsp_port}"
    return {
        "code": cam.code,
        "name": fc.name or cam.code,
        "site": fc.site.name,
        "municipality": fc.site.municipality,
        "kind": fc.kind,
        "onvif_host": cam.host,
        "onvif_port": str(cam.onvif_port),
        "username": cam.username,
        "password": cam.password,
        "rtsp_main": f"{rtsp}/main",
        "rtsp_sub": f"{rtsp}/sub",
        "expected_codec": cam.codec,
        "expected_width": str(cam.main.width),
        "expected_height": str(cam.main.height),
        "expected_fps": str(cam.main.fps),
        "manufacturer": cam.manufacturer,
        "model": cam.model,
        "serial": cam.serial,
        "firmware": cam.firmware,
        "uplink": fc.site.uplink,
    }


def write_registry_csv(fleet: Fleet, path: str | Path) -> None:
    """Write the CSV file `vp-monitor camera import` reads for this fleet."""
    with open(path, "w", newline="", encoding="utf-8") as out:
        writer = csv.DictWriter(out, fieldnames=REGISTRY_COLUMNS + EXTRA_COLUMNS)
        writer.writeheader()
        for fc in fleet.cameras:
            writer.writerow(registry_row(fc))


def raise_open_file_limit(cameras: int) -> int:
    """Raise RLIMIT_NOFILE towards what `cameras` need (listeners, UDP pairs, clients)."""
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    wanted = 64 + 12 * cameras
    if soft < wanted:
        target = wanted if hard == resource.RLIM_INFINITY else min(wanted, hard)
        resource.setrlimit(resource.RLIMIT_NOFILE, (target, hard))
        soft = target
        if soft < wanted:
            log.warning("open-file limit %d (hard) may be too low for %d cameras", hard, cameras)
    return soft


def _report_crash(task: asyncio.Task[None]) -> None:
    """Supervision: a background task that dies says so in the log."""
    if not task.cancelled() and task.exception() is not None:
        log.error("%s stopped", task.get_name(), exc_info=task.exception())


class RunningFleet:
    """Every server of a fleet, started together and closed together."""

    def __init__(
        self,
        fleet: Fleet,
        *,
        cache: GopCache | None = None,
        discovery_port: int | None = 3702,
        onvif: bool = True,
    ) -> None:
        self.fleet = fleet
        self.owns_cache = cache is None
        self.cache = cache or GopCache()
        self.discovery_port, self.onvif = discovery_port, onvif
        self.rtsp: list[RtspServer] = []
        self.runners: list[Any] = []
        self.discovery: Any = None
        self.tasks: list[asyncio.Task[None]] = []

    async def start(self) -> None:
        """Start RTSP (and ONVIF, discovery) for every camera, then the timeline."""
        raise_open_file_limit(len(self.fleet.cameras))
        self._prewarm()
        for fc in self.fleet.cameras:
            server = RtspServer(fc.camera, self.cache, auth=fc.rtsp_auth)
            await server.start()
            self.rtsp.append(server)
        if self.onvif:
            await self._start_onvif()
        if self.discovery_port is not None:
            await self._start_discovery()
        if any(fc.timeline for fc in self.fleet.cameras):
            task = asyncio.create_task(self._play_timeline(), name="sim-timeline")
            task.add_done_callback(_report_crash)
            self.tasks.append(task)
        log.info("simulating %d cameras", len(self.fleet.cameras))

    def _prewarm(self) -> None:
        """Start encoding every camera's loops now, so the first clients do not wait; all
        sub-streams first, as monitors check pictures on the sub-stream. The faults of the
        timeline come next: their pictures are ready before their time comes."""
        for key in self._loop_keys():
            self.cache.get_nowait(key)
        for stream in ("sub", "main"):
            for fc in self.fleet.cameras:
                for step in fc.timeline:
                    key = self.cache.key_for(fc.camera, stream, step.fault, step.params)
                    self.cache.get_nowait(key)

    def _loop_keys(self) -> list[Any]:
        """Every camera's loops, sub-streams first."""
        streams = ("sub", "main")
        keys = [self.cache.key_for(fc.camera, s) for s in streams for fc in self.fleet.cameras]
        return keys + [  # a PTZ camera's presets: a move or a patrol shows them at once
            self.cache.key_for(fc.camera, s, view=preset.position)
            for s in streams for fc in self.fleet.cameras if fc.camera.ptz is not None
            for preset in fc.camera.ptz.presets
        ]  # fmt: skip

    async def encoded(self, timeout: float = 120.0) -> None:
        """Wait until every camera's loops are encoded (the first answers are then instant)."""
        async with asyncio.timeout(timeout):
            for stream in ("sub", "main"):
                for fc in self.fleet.cameras:
                    await self.cache.current(fc.camera, stream)

    async def _start_onvif(self) -> None:
        from aiohttp import web

        from vp_monitor.sim.onvif import create_onvif_app
        from vp_monitor.sim.scene import snapshot_jpeg

        for fc in self.fleet.cameras:
            cam = fc.camera
            app = create_onvif_app(cam, lambda cam=cam: snapshot_jpeg(cam))
            runner = web.AppRunner(app, access_log=None, handle_signals=False)
            await runner.setup()
            await web.TCPSite(runner, cam.host, cam.onvif_port, reuse_address=True).start()
            self.runners.append(runner)

    async def _start_discovery(self) -> None:
        from vp_monitor.sim.discovery import start_discovery_responder

        cameras = [fc.camera for fc in self.fleet.cameras]
        try:
            self.discovery = await start_discovery_responder(cameras, port=self.discovery_port)
        except OSError as exc:  # another simulator may hold the port: streams still work
            log.warning("WS-Discovery not started on port %s: %s", self.discovery_port, exc)

    async def _play_timeline(self) -> None:
        """Apply every camera's scripted faults at their times (replayed if asked)."""
        steps = sorted(
            ((s.at, n, fc, s) for n, fc in enumerate(self.fleet.cameras) for s in fc.timeline),
            key=lambda x: (x[0], x[1]),
        )
        period = self.fleet.timeline_repeat_s
        start = time.monotonic()
        while True:
            for at, _n, fc, step in steps:
                await asyncio.sleep(max(0.0, start + at - time.monotonic()))
                try:
                    fc.camera.set_fault(step.fault, **step.params)
                    log.info("timeline: %s -> %s", fc.camera.code, step.fault)
                except ValueError:
                    log.exception("timeline: cannot apply %s to %s", step.fault, fc.camera.code)
            if period <= 0:
                return
            start += period
            await asyncio.sleep(max(0.0, start - time.monotonic()))

    async def close(self) -> None:
        """Stop every server and task."""
        for task in self.tasks:
            task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await task
        if self.discovery is not None:
            closing = self.discovery.close()
            if asyncio.iscoroutine(closing):
                await closing
        for runner in self.runners:
            await runner.cleanup()
        for server in self.rtsp:
            await server.close()
        if self.owns_cache:
            self.cache.close()
