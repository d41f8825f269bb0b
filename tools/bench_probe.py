"""Benchmark of a complete frame check (connect, first keyframe, decode, analyse) against the
simulator: our stream probe vs an ffmpeg subprocess vs naive cv2.VideoCapture; checks per
second; analysis alone. Prints a Markdown report (and writes it with --output FILE).

    .venv/bin/python tools/bench_probe.py [--cameras 20] [--samples 20] [--seconds 20]
    .venv/bin/python tools/bench_probe.py --failing 1000     # memory / descriptor leak check
"""

from __future__ import annotations

import argparse
import asyncio
import os
import resource
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import cv2
import numpy as np

RTSP_PORT = 18554
DATE = time.strftime("%Y-%m-%d")


# -- simulator in a subprocess -------------------------------------------------------------------
async def serve(count: int) -> None:
    """Run `count` simulated cameras (no auth) until stdin closes."""
    from vp_monitor.sim.camera import SimCamera
    from vp_monitor.sim.encoder import GopCache
    from vp_monitor.sim.rtsp import RtspServer

    cache = GopCache()
    servers = []
    for index in range(1, count + 1):
        camera = SimCamera(index, rtsp_port=RTSP_PORT)
        await cache.get(cache.key_for(camera, "sub"))
        server = RtspServer(camera, cache, auth="none")
        await server.start()
        servers.append(server)
    print("ready", flush=True)
    await asyncio.get_running_loop().run_in_executor(None, sys.stdin.read)
    for server in servers:
        await server.close()


def start_simulator(count: int) -> subprocess.Popen:
    sim = subprocess.Popen(
        [sys.executable, __file__, "--serve", str(count)],
        stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True,
    )  # fmt: skip
    assert sim.stdout and sim.stdout.readline().strip() == "ready", "simulator did not start"
    return sim


def url(index: int) -> str:
    from vp_monitor.sim.camera import camera_address

    return f"rtsp://{camera_address(index)}:{RTSP_PORT}/sub"


# -- CPU accounting ------------------------------------------------------------------------------
def proc_cpu(pid: int) -> float:
    """User + system CPU seconds of a process (decoder workers are not our direct children)."""
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def workers_cpu() -> float:
    from vp_monitor.probes.capture import decoder_pool

    pool = decoder_pool()
    with pool._lock:
        pids = [w.process.pid for w in pool._idle if w.process.pid]
    return sum(proc_cpu(pid) for pid in pids)


def children_cpu() -> float:
    usage = resource.getrusage(resource.RUSAGE_CHILDREN)
    return usage.ru_utime + usage.ru_stime


def self_cpu() -> float:
    return time.process_time()


# -- the three ways of checking one camera -------------------------------------------------------
ANALYSIS_CPU = [0.0]  # CPU seconds spent in analyse(), whichever method got the frame
SAMPLE_FRAME: list[np.ndarray] = []


def analyse(frame: np.ndarray) -> None:
    from vp_monitor.vision import analyze

    started = time.process_time()
    analyze(frame)
    ANALYSIS_CPU[0] += time.process_time() - started
    if not SAMPLE_FRAME:
        SAMPLE_FRAME.append(frame)


async def ours(settings, index: int) -> bool:
    from vp_monitor.probes.base import ProbeTarget
    from vp_monitor.probes.runner import run_probe

    result = await run_probe("stream", ProbeTarget(f"cam{index}", rtsp_sub=url(index)), settings)
    if result.frames:
        analyse(result.frames[0])
    return bool(result.frames)


def ffmpeg(index: int, out: str) -> bool:
    command = ["ffmpeg", "-v", "error", "-y", "-rtsp_transport", "tcp", "-timeout", "5000000",
               "-i", url(index), "-frames:v", "1", out]  # fmt: skip
    subprocess.run(command, check=False, timeout=20)
    frame = cv2.imread(out)
    if frame is not None:
        analyse(frame)
    return frame is not None


def opencv(index: int) -> bool:
    capture = cv2.VideoCapture(url(index))
    ok, frame = capture.read()
    capture.release()
    if ok:
        analyse(frame)
    return ok


# -- measurements --------------------------------------------------------------------------------
def one_keyframe_settings():
    from vp_monitor.probes.base import ProbeSettings

    return ProbeSettings.model_validate(
        {"stream": {"window_s": 0, "second_keyframe_delay_s": 0, "workers": 2}}
    )


Row = tuple[float, float, int, float]  # CPU s/check, wall s/check, successes, analysis CPU s/check


async def cpu_per_check(cameras: int, samples: int) -> dict[str, Row]:
    """Method -> (CPU, wall, successes, analysis CPU) per check, checks run one at a time."""
    from vp_monitor.probes.capture import keep_freed_memory

    settings = one_keyframe_settings()
    keep_freed_memory()  # as `vp-monitor serve` does (the OpenCV runs share this process)
    # Steady state, as in a running monitor: decoder workers started, caches and allocator
    # warm (the first ~50 checks of a process cost up to twice as much).
    for i in range(5 * cameras):
        await ours(settings, 1 + i % cameras)
    opencv(1)
    out = {}

    def row(cpu: float, started: float, good: int, analysis_before: float) -> Row:
        wall = time.monotonic() - started
        return cpu / samples, wall / samples, good, (ANALYSIS_CPU[0] - analysis_before) / samples

    before = (self_cpu(), workers_cpu(), time.monotonic(), ANALYSIS_CPU[0])
    good = sum([await ours(settings, 1 + i % cameras) for i in range(samples)])
    cpu = self_cpu() - before[0] + workers_cpu() - before[1]
    out["vp-monitor stream probe"] = row(cpu, before[2], good, before[3])
    with tempfile.TemporaryDirectory() as tmp:
        before = (self_cpu(), children_cpu(), time.monotonic(), ANALYSIS_CPU[0])
        good = sum(ffmpeg(1 + i % cameras, f"{tmp}/f.jpg") for i in range(samples))
        cpu = self_cpu() - before[0] + children_cpu() - before[1]
        out["ffmpeg subprocess"] = row(cpu, before[2], good, before[3])
    before = (self_cpu(), 0.0, time.monotonic(), ANALYSIS_CPU[0])
    good = sum(opencv(1 + i % cameras) for i in range(samples))
    out["cv2.VideoCapture"] = row(self_cpu() - before[0], before[2], good, before[3])
    return out


async def throughput(cameras: int, seconds: float, concurrency: int) -> tuple[float, int]:
    """Complete checks per second with `concurrency` checks in flight; and failures."""
    settings = one_keyframe_settings()
    done, failures = 0, 0
    deadline = time.monotonic() + seconds

    async def lane(n: int) -> None:
        nonlocal done, failures
        i = n
        while time.monotonic() < deadline:
            ok = await ours(settings, 1 + i % cameras)
            done, failures = done + ok, failures + (not ok)
            i += concurrency

    started = time.monotonic()
    await asyncio.gather(*(lane(n) for n in range(concurrency)))
    return done / (time.monotonic() - started), failures


def analysis_ms(repeat: int = 200) -> float:
    """CPU milliseconds per analyze() call with reference and previous (CPU, not wall time, so
    that other jobs on the machine do not count)."""
    from vp_monitor.vision import analyze

    frame = SAMPLE_FRAME[0]  # a real decoded simulator picture
    reference, previous = frame.copy(), np.roll(frame, 3, axis=1)
    analyze(frame, reference=reference, previous=previous)
    started = time.process_time()
    for _ in range(repeat):
        analyze(frame, reference=reference, previous=previous)
    return (time.process_time() - started) / repeat * 1000


async def bench(args: argparse.Namespace) -> str:
    sim = start_simulator(args.cameras)
    try:
        per_check = await cpu_per_check(args.cameras, args.samples)
        rate, failures = await throughput(args.cameras, args.seconds, args.concurrency)
    finally:
        sim.stdin.close()  # type: ignore[union-attr]
        sim.wait(timeout=10)
    ms = analysis_ms()
    leaks = await failing_checks(1000)
    return report(args, per_check, rate, failures, ms) + f"- Leak check: {leaks}.\n"


def report(args, per_check, rate, failures, ms) -> str:
    ours_cpu = per_check["vp-monitor stream probe"][0]
    lines = [
        "# Probe benchmark",
        "",
        f"Date: {DATE}. Command: `.venv/bin/python tools/bench_probe.py --cameras {args.cameras} "
        f"--samples {args.samples} --seconds {args.seconds} --concurrency {args.concurrency}`",
        f"Machine: {os.cpu_count()} CPU(s); simulator ({args.cameras} cameras, sub-stream "
        "640x360 H.264 10 fps, GOP 2 s) in a subprocess on the same machine.",
        "",
        "A complete frame check = connect, DESCRIBE/SETUP/PLAY, first keyframe, decode, analyse.",
        "CPU counts our process plus decoder workers (ours), or the ffmpeg child, or OpenCV's",
        "in-process threads; the simulator's CPU is not counted.",
        "",
        "| method | CPU ms / check | of which analysis | capture+decode CPU ms | wall ms "
        "| ok | CPU vs ours |",
        "|---|---:|---:|---:|---:|---:|---:|",
    ]
    for name, (cpu, wall, good, analysis) in per_check.items():
        ratio = cpu / ours_cpu if ours_cpu else float("nan")
        lines.append(f"| {name} | {cpu * 1000:.1f} | {analysis * 1000:.1f} "
                     f"| {(cpu - analysis) * 1000:.1f} | {wall * 1000:.0f} | {good}/{args.samples} "
                     f"| {ratio:.1f}x |")  # fmt: skip
    ffmpeg_cpu = per_check["ffmpeg subprocess"][0]
    opencv_cpu = per_check["cv2.VideoCapture"][0]
    lines += [
        "",
        f"- Complete checks per second ({args.concurrency} in flight, {args.seconds} s, "
        f"{os.cpu_count()} cores shared with the simulator): **{rate:.1f}/s** "
        f"({failures} failed) — target >= 30/s.",
        f"- Analysis alone (decoded 640x360 simulator frame, with reference and previous; CPU): "
        f"**{ms:.2f} ms** — "
        "target <= 10 ms.",
        f"- Ours vs ffmpeg subprocess CPU: {ours_cpu / ffmpeg_cpu:.2f} (target <= 0.20); "
        f"vs naive OpenCV: {ours_cpu / opencv_cpu:.2f} (target <= 0.33).",
    ]
    return "\n".join(lines) + "\n"


async def failing_checks(count: int) -> str:
    """Run `count` failing probes (refused ONVIF and RTSP, RTSP 404 on a live camera) and
    report how resident memory and open descriptors moved."""
    from vp_monitor.probes.base import ProbeTarget
    from vp_monitor.probes.runner import run_probe

    sim = start_simulator(1)
    try:
        targets = [
            ProbeTarget("refused", "127.0.99.1", 1, "admin", "x", "rtsp://127.0.99.1:1/main"),
            ProbeTarget("missing", rtsp_main=url(1).replace("/sub", "/nope")),
        ]
        kinds = ("onvif", "rtsp", "stream")

        async def batch(n: int) -> None:
            for i in range(n):
                await run_probe(kinds[i % 3], targets[i % 2], one_keyframe_settings())

        await batch(100)
        fds, rss = len(os.listdir("/proc/self/fd")), _rss_kib()
        started = time.monotonic()
        await batch(count)
        elapsed = time.monotonic() - started
        return (f"{count} failing probes in {elapsed:.1f} s: open descriptors {fds} -> "
                f"{len(os.listdir('/proc/self/fd'))}, RSS {rss} -> {_rss_kib()} KiB")  # fmt: skip
    finally:
        sim.stdin.close()  # type: ignore[union-attr]
        sim.wait(timeout=10)


def _rss_kib() -> int:
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1])
    return 0


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--serve", type=int, help=argparse.SUPPRESS)
    parser.add_argument("--cameras", type=int, default=20)
    parser.add_argument("--samples", type=int, default=100)
    parser.add_argument("--seconds", type=float, default=20)
    parser.add_argument("--concurrency", type=int, default=40)
    parser.add_argument("--output", help="Also write the report to this file.")
    parser.add_argument("--failing", type=int, help="Only run this many failing probes (leaks).")
    args = parser.parse_args()
    if args.serve:
        asyncio.run(serve(args.serve))
        return
    if args.failing:
        print(asyncio.run(failing_checks(args.failing)))
        return
    from vp_monitor.probes.capture import close_decoder_pool

    try:
        text = asyncio.run(bench(args))
    finally:
        close_decoder_pool()
    print(text)
    if args.output:
        Path(args.output).write_text(text, encoding="utf-8")


if __name__ == "__main__":
    main()
