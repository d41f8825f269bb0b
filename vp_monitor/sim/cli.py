"""`vp-monitor sim`: run a fleet of simulated cameras until SIGINT or SIGTERM."""

from __future__ import annotations

import asyncio
import logging
import signal
from pathlib import Path

import click

from vp_monitor.cli_context import current_texts
from vp_monitor.sim.encoder import GopCache
from vp_monitor.sim.fleet import (
    Fleet,
    FleetError,
    RunningFleet,
    generated_fleet,
    load_fleet,
    write_registry_csv,
)
from vp_monitor.sim.rtsp import AUTH_SCHEMES
from vp_monitor.sim.scene import SceneError, parse_scene

log = logging.getLogger(__name__)


@click.command("sim")
@click.option(
    "--cameras",
    "count",
    type=click.IntRange(1, 254 * 254),
    default=10,
    show_default=True,
    help="Number of cameras cam001… (ignored with --fleet).",
)
@click.option(
    "--fleet",
    "fleet_file",
    type=click.Path(dir_okay=False, path_type=Path),
    help="Fleet file (.toml or .csv) with sites, cameras and fault timelines.",
)
@click.option(
    "--rtsp-port",
    type=click.IntRange(1, 65535),
    default=None,
    help="RTSP port on every camera address [default: 8554].",
)
@click.option(
    "--onvif-port",
    type=click.IntRange(1, 65535),
    default=None,
    help="ONVIF/HTTP port on every camera address [default: 8000].",
)
@click.option(
    "--discovery-port",
    type=click.IntRange(0, 65535),
    default=3702,
    show_default=True,
    help="WS-Discovery UDP port on 127.0.0.1 (0: no discovery).",
)
@click.option(
    "--scene",
    default="procedural",
    show_default=True,
    help="'procedural', 'procedural:SEED' or a video file PyAV can read.",
)
@click.option(
    "--codec",
    type=click.Choice(["h264", "h265"]),
    default="h264",
    show_default=True,
    help="Codec of generated cameras.",
)
@click.option(
    "--auth",
    type=click.Choice(sorted(AUTH_SCHEMES)),
    default="both",
    show_default=True,
    help="RTSP authentication of generated cameras.",
)
@click.option(
    "--write-csv",
    "csv_file",
    type=click.Path(dir_okay=False, path_type=Path),
    help="Write the registry import CSV of the fleet to this file.",
)
@click.option("--csv-only", is_flag=True, help="Write --write-csv and exit without serving.")
@click.option(
    "--ptz",
    type=click.IntRange(0),
    default=0,
    show_default=True,
    help="The last N generated cameras are PTZ cameras (presets, home, patrol: POST /sim/ptz).",
)
@click.option(
    "--loop-seconds",
    type=click.FloatRange(1, 60),
    default=4.0,
    show_default=True,
    help="Length of the encoded video loop.",
)
@click.option(
    "--part",
    type=click.Tuple([click.IntRange(1), click.IntRange(1)]),
    default=None,
    help="K N: serve only the K-th of N equal slices of the fleet (one process serves "
    "~8,000 cameras under a 20,000 open-file limit; larger fleets run N processes).",
)
def sim(
    count: int, fleet_file: Path | None, rtsp_port: int | None, onvif_port: int | None,
    discovery_port: int, scene: str, codec: str, auth: str, csv_file: Path | None,
    csv_only: bool, ptz: int, loop_seconds: float, part: tuple[int, int] | None,
) -> None:  # fmt: skip
    """Simulate cameras, each on its own loopback address 127.0.A.B (RTSP, ONVIF, snapshots)."""
    try:
        if fleet_file:
            fleet = load_fleet(fleet_file, rtsp_port=rtsp_port, onvif_port=onvif_port)
        else:
            fleet = generated_fleet(
                count, rtsp_port=rtsp_port or 8554, onvif_port=onvif_port or 8000,
                codec=codec, scene=scene, auth=auth, ptz=ptz,
            )  # fmt: skip
    except FleetError as exc:
        raise click.ClickException(str(exc)) from exc
    if part:
        k, n = part
        if k > n or n > len(fleet.cameras):
            raise click.BadParameter(
                f"part {k} of {n} for {len(fleet.cameras)} cameras", param_hint="--part"
            )
        size = -(-len(fleet.cameras) // n)  # ceiling: the last slice may be smaller
        fleet.cameras = fleet.cameras[(k - 1) * size : k * size]
    try:
        kind, _arg = parse_scene(scene)
    except SceneError as exc:
        raise click.BadParameter(str(exc), param_hint="--scene") from exc
    if kind == "file" and not Path(scene).is_file():
        raise click.BadParameter(f"no such video file {scene!r}", param_hint="--scene")
    if csv_file:
        write_registry_csv(fleet, csv_file)
        click.echo(current_texts()("sim.csv_written", count=len(fleet.cameras), path=csv_file))
    elif csv_only:
        raise click.UsageError("--csv-only needs --write-csv FILE")
    if csv_only:
        return
    if not logging.getLogger().handlers:
        logging.basicConfig(level=logging.INFO, format="%(asctime)s %(levelname)s %(message)s")
    try:
        asyncio.run(_serve(fleet, discovery_port or None, loop_seconds))
    except OSError as exc:
        raise click.ClickException(f"cannot start the simulator: {exc}") from exc


async def _serve(fleet: Fleet, discovery_port: int | None, loop_seconds: float) -> None:
    """Run the fleet until SIGINT or SIGTERM."""
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGINT, signal.SIGTERM):
        loop.add_signal_handler(sig, stop.set)
    running = RunningFleet(
        fleet, cache=GopCache(loop_seconds=loop_seconds), discovery_port=discovery_port
    )
    try:
        await running.start()
        first, last = fleet.cameras[0].camera, fleet.cameras[-1].camera
        click.echo(
            f"{len(fleet.cameras)} cameras on {first.host}..{last.host}: "
            f"rtsp://{first.host}:{first.rtsp_port}/main and /sub, "
            f"http://{first.host}:{first.onvif_port}/onvif/device_service; Ctrl-C stops"
        )
        await stop.wait()
    finally:
        await running.close()
