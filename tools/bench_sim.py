"""How many 640x360 10 fps sub-streams can one simulator process serve on one core?

Starts `vp_monitor.sim` with N cameras in a child process pinned to one CPU, connects one
RTSP/RTP-over-TCP viewer per camera from this process (pinned to another CPU; it counts
packets, bytes and frames, it does not decode), and reports the server's CPU time from
/proc/<pid>/stat over a measurement window.

    .venv/bin/python tools/bench_sim.py --streams 100 250 500 --seconds 10
    .venv/bin/python tools/bench_sim.py --streams 500 --write-doc docs/benchmarks-sim.md
"""

from __future__ import annotations

import argparse
import asyncio
import datetime as dt
import os
import platform
import statistics
import struct
import subprocess
import sys
import time
from dataclasses import dataclass
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
CLOCK_TICKS = os.sysconf("SC_CLK_TCK")


def serve(count: int, port: int, cpu: int | None) -> None:
    """Child process: run `count` RTSP-only cameras until stdin closes."""
    sys.path.insert(0, str(ROOT))
    if cpu is not None:
        os.sched_setaffinity(0, {cpu})
    from vp_monitor.sim.fleet import RunningFleet, generated_fleet

    async def main() -> None:
        fleet = generated_fleet(count, rtsp_port=port, auth="none")
        running = RunningFleet(fleet, discovery_port=None, onvif=False)
        await running.start()
        camera = fleet.cameras[0].camera
        await running.cache.get(running.cache.key_for(camera, "sub"))
        print("READY", flush=True)
        loop = asyncio.get_running_loop()
        await loop.run_in_executor(None, sys.stdin.read)  # parent closes stdin to stop us
        await running.close()

    asyncio.run(main())


class Viewer(asyncio.Protocol):
    """One RTSP client over TCP: handshake, then count interleaved RTP packets and frames."""

    def __init__(self) -> None:
        self.buffer = bytearray()
        self.responses: asyncio.Queue[tuple[dict[str, str], bytes]] = asyncio.Queue(8)
        self.transport: asyncio.Transport | None = None
        self.packets = self.frames = self.bytes = 0
        self.lost = False

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        self.transport = transport  # type: ignore[assignment]

    def connection_lost(self, exc: Exception | None) -> None:
        self.lost = True

    def data_received(self, data: bytes) -> None:
        self.bytes += len(data)
        self.buffer += data
        buf, pos = self.buffer, 0
        while pos < len(buf):
            if buf[pos] == 0x24:  # '$' channel length: one interleaved packet
                if pos + 4 > len(buf):
                    break
                channel, size = buf[pos + 1], struct.unpack_from(">H", buf, pos + 2)[0]
                if pos + 4 + size > len(buf):
                    break
                if channel == 0:
                    self.packets += 1
                    self.frames += buf[pos + 5] >> 7  # marker bit: last packet of a frame
                pos += 4 + size
                continue
            end = buf.find(b"\r\n\r\n", pos)
            if end < 0:
                break
            head = bytes(buf[pos:end]).decode()
            headers = dict(
                (k.strip().lower(), v.strip())
                for k, _, v in (line.partition(":") for line in head.split("\r\n")[1:])
            )
            length = int(headers.get("content-length", "0"))
            if end + 4 + length > len(buf):
                break
            headers[":status"] = head.split(" ", 2)[1]
            self.responses.put_nowait((headers, bytes(buf[end + 4 : end + 4 + length])))
            pos = end + 4 + length
        del buf[:pos]

    async def request(self, lines: list[str]) -> dict[str, str]:
        assert self.transport is not None
        self.transport.write(("\r\n".join(lines) + "\r\n\r\n").encode())
        headers, _body = await asyncio.wait_for(self.responses.get(), 30)
        if headers[":status"] != "200":
            raise RuntimeError(f"{lines[0]} -> {headers[':status']}")
        return headers


async def open_viewer(host: str, port: int) -> Viewer:
    """Connect and PLAY rtsp://host:port/sub over TCP."""
    loop = asyncio.get_running_loop()
    _t, viewer = await asyncio.wait_for(loop.create_connection(Viewer, host, port), 30)
    url = f"rtsp://{host}:{port}/sub"
    await viewer.request([f"DESCRIBE {url} RTSP/1.0", "CSeq: 1", "Accept: application/sdp"])
    headers = await viewer.request(
        [f"SETUP {url}/trackID=0 RTSP/1.0", "CSeq: 2", "Transport: RTP/AVP/TCP;interleaved=0-1"]
    )
    session = headers["session"].split(";")[0]
    await viewer.request([f"PLAY {url} RTSP/1.0", "CSeq: 3", f"Session: {session}"])
    return viewer


def cpu_seconds(pid: int) -> float:
    """User + system CPU time of a process, from /proc/<pid>/stat."""
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / CLOCK_TICKS


def rss_mib(pid: int) -> float:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) / 1024
    return 0.0


@dataclass
class Result:
    streams: int
    connected: int
    cpu_percent: float
    cpu_ms_per_stream_s: float
    mbit_s: float
    packets_s: float
    fps_median: float
    fps_min: float
    streams_below_9fps: int
    rss_mib: float
    viewer_cpu_percent: float


async def measure(count: int, port: int, seconds: float, warmup: float, cpu: int | None) -> Result:
    """Run one server with `count` cameras and one viewer each; measure over `seconds`."""
    from vp_monitor.sim.camera import camera_address

    cmd = [sys.executable, __file__, "--serve", str(count), "--port", str(port)]
    if cpu is not None:
        cmd += ["--cpu", str(cpu)]
    server = subprocess.Popen(cmd, stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True)
    try:
        assert server.stdout is not None
        line = await asyncio.wait_for(asyncio.to_thread(server.stdout.readline), 120)
        if line.strip() != "READY":
            raise RuntimeError(f"server did not start: {line!r}")
        gate = asyncio.Semaphore(64)

        async def one(i: int) -> Viewer | None:
            async with gate:
                try:
                    return await open_viewer(camera_address(i), port)
                except (OSError, RuntimeError, TimeoutError) as exc:
                    print(f"  viewer {i} failed: {exc}", file=sys.stderr)
                    return None

        viewers = [v for v in await asyncio.gather(*(one(i) for i in range(1, count + 1))) if v]
        await asyncio.sleep(warmup)
        before = [(v.packets, v.frames, v.bytes) for v in viewers]
        cpu0, t0, own0 = cpu_seconds(server.pid), time.monotonic(), cpu_seconds(os.getpid())
        await asyncio.sleep(seconds)
        cpu1, t1, own1 = cpu_seconds(server.pid), time.monotonic(), cpu_seconds(os.getpid())
        elapsed = t1 - t0
        after = [(v.packets, v.frames, v.bytes) for v in viewers]
        fps = [(a[1] - b[1]) / elapsed for a, b in zip(after, before, strict=True)]
        packets = sum(a[0] - b[0] for a, b in zip(after, before, strict=True))
        data = sum(a[2] - b[2] for a, b in zip(after, before, strict=True))
        cpu = (cpu1 - cpu0) / elapsed
        result = Result(
            streams=count,
            connected=len(viewers),
            cpu_percent=100 * cpu,
            cpu_ms_per_stream_s=1000 * cpu / max(1, len(viewers)),
            mbit_s=data * 8 / elapsed / 1e6,
            packets_s=packets / elapsed,
            fps_median=statistics.median(fps) if fps else 0.0,
            fps_min=min(fps) if fps else 0.0,
            streams_below_9fps=sum(f < 9.0 for f in fps) + count - len(viewers),
            rss_mib=rss_mib(server.pid),
            viewer_cpu_percent=100 * (own1 - own0) / elapsed,
        )
        for v in viewers:
            if v.transport:
                v.transport.close()
        return result
    finally:
        if server.stdin:
            server.stdin.close()
        try:
            server.wait(10)
        except subprocess.TimeoutExpired:
            server.kill()


def table(results: list[Result]) -> str:
    head = (
        "| streams | connected | server CPU | CPU ms per stream-second | Mbit/s | RTP pkt/s "
        "| fps median | fps min | streams < 9 fps | server RSS MiB | viewers' CPU |\n"
        "|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|\n"
    )
    rows = "".join(
        f"| {r.streams} | {r.connected} | {r.cpu_percent:.0f} % | {r.cpu_ms_per_stream_s:.2f} "
        f"| {r.mbit_s:.1f} | {r.packets_s:.0f} | {r.fps_median:.1f} | {r.fps_min:.1f} "
        f"| {r.streams_below_9fps} | {r.rss_mib:.0f} | {r.viewer_cpu_percent:.0f} % |\n"
        for r in results
    )
    return head + rows


def write_doc(path: Path, results: list[Result], command: str, seconds: float) -> None:
    cpu_model = next(
        (
            line.split(":", 1)[1].strip()
            for line in Path("/proc/cpuinfo").read_text().splitlines()
            if line.startswith("model name")
        ),
        platform.processor(),
    )
    text = (
        "## Camera simulator: concurrent sub-streams per core\n\n"
        f"Measured {dt.date.today().isoformat()} on {cpu_model} ({os.cpu_count()} CPUs), "
        f"Python {platform.python_version()}.\n"
        "One simulator process pinned to one CPU serves N cameras; one RTSP/TCP viewer per "
        "camera in another process (pinned to another CPU) plays the 640x360 10 fps H.264 "
        "sub-stream (≈420 kbit/s) and counts RTP packets and frames without decoding. "
        f"Figures over a {seconds:.0f} s window after warm-up; CPU from /proc/<pid>/stat.\n\n"
        f"```\n{command}\n```\n\n{table(results)}\n"
        "Target: 500 concurrent sub-streams on one core. The encoder runs once per "
        "(scene, fault, stream spec) and its loop is shared, so the cost per stream is RTP "
        "header stamping, interleaved framing, one socket write per frame and the asyncio "
        "wake-up that paces it.\n"
    )
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(text)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--streams", type=int, nargs="+", default=[100, 250, 500])
    parser.add_argument("--seconds", type=float, default=10.0)
    parser.add_argument("--warmup", type=float, default=3.0)
    parser.add_argument("--port", type=int, default=28554)
    parser.add_argument("--cpu", type=int, default=0, help="CPU to pin the server to (-1: no)")
    parser.add_argument("--write-doc", type=Path)
    parser.add_argument("--serve", type=int, help=argparse.SUPPRESS)
    args = parser.parse_args()
    cpu = None if args.cpu < 0 else args.cpu
    if args.serve:
        serve(args.serve, args.port, cpu)
        return
    if cpu is not None and (os.cpu_count() or 1) > 1:  # viewers on the other CPUs
        os.sched_setaffinity(0, set(range(os.cpu_count() or 1)) - {cpu})
    sys.path.insert(0, str(ROOT))
    from vp_monitor.sim.fleet import raise_open_file_limit

    raise_open_file_limit(max(args.streams))
    results = []
    for count in args.streams:
        result = asyncio.run(measure(count, args.port, args.seconds, args.warmup, cpu))
        results.append(result)
        print(table([result]).splitlines()[-1], flush=True)
    print()
    print(table(results))
    if args.write_doc:
        command = "python " + " ".join([os.path.relpath(__file__, ROOT)] + sys.argv[1:])
        write_doc(args.write_doc, results, command, args.seconds)
        print(f"wrote {args.write_doc}")


if __name__ == "__main__":
    main()
