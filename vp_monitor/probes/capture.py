"""Decoding in worker processes: a decoder crash or hang costs one check, never the monitor.

The stream probe hands a worker the bytes of the keyframes it needs (Annex B access units with
their parameter sets); the worker decodes them with PyAV and returns BGR frames already scaled
down (a 4K picture never crosses the process boundary at full size) in a memory area it shares
with the monitor. MJPEG streams, which we do not depacketize ourselves, are grabbed by the
worker with PyAV's own RTSP client instead.
"""

from __future__ import annotations

import asyncio
import ctypes
import logging
import mmap
import multiprocessing
import os
import signal
import tempfile
import threading
from dataclasses import dataclass, field, replace
from multiprocessing.connection import Connection
from typing import Any

import numpy as np

log = logging.getLogger(__name__)

CODEC_NAMES = {"h264": "h264", "h265": "hevc", "mjpeg": "mjpeg"}
# Fork is unsafe in a threaded asyncio process; a fork server imports the decoder once, so a
# replacement worker starts in milliseconds instead of re-importing everything.
_START = multiprocessing.get_context("forkserver")
_START.set_forkserver_preload(["av", "numpy", "vp_monitor.probes.capture"])
STARTUP_TIMEOUT_S = 30.0


class DecodeError(Exception):
    """The worker could not produce a frame: crashed, hung, or the data did not decode."""


@dataclass(frozen=True)
class DecodeJob:
    """Keyframes to decode (Annex B bytes each), or a URL to grab from (MJPEG)."""

    codec: str
    keyframes: tuple[bytes, ...] = ()
    url: str | None = None
    max_width: int = 640
    max_pixels: int = 3840 * 2160
    timeout_s: float = 5.0
    count: int = 1


@dataclass(frozen=True)
class Decoded:
    """Decoded frames (scaled) with the stream's true size; one reason per frame that failed."""

    frames: tuple[np.ndarray, ...] = ()
    width: int = 0
    height: int = 0
    errors: tuple[str, ...] = field(default=())
    # (shape, offset) of each frame left in the worker's shared area, in transit only.
    placed: tuple[tuple[tuple[int, ...], int], ...] = ()


# Decoded pictures come back through a memory area shared with each worker, not the pipe: a
# 640x360 BGR picture pickled through the pipe cost 1.3-2.3 ms of CPU, the shared copy 0.1 ms.
FRAME_AREA_BYTES = 8 * 1024 * 1024  # two 640x2048 BGR pictures; larger ones use the pipe
FRAME_AREA_DIR = "/dev/shm" if os.path.isdir("/dev/shm") else None
M_TRIM_THRESHOLD, M_MMAP_THRESHOLD = -1, -3  # glibc mallopt parameters (malloc.h)


# -- inside the worker process -----------------------------------------------------------------
def _scaled(frame: Any, max_width: int) -> np.ndarray:
    """BGR array no wider than max_width (scale and convert in one pass)."""
    width, height = frame.width, frame.height
    if width > max_width:
        height = max(2, round(height * max_width / width / 2) * 2)
        width = max_width
    return frame.reformat(width=width, height=height, format="bgr24").to_ndarray()


def _decode_one(codec: str, data: bytes, job: DecodeJob) -> tuple[np.ndarray, int, int]:
    import av

    context = av.CodecContext.create(CODEC_NAMES[codec], "r")
    context.thread_count = 1  # many workers already run side by side
    # One packet holding the whole access unit, then a flush: the decoder outputs the picture
    # at once instead of waiting for the next one.
    frames = list(context.decode(av.Packet(data))) + list(context.decode(None))
    if not frames:
        raise DecodeError("decoder produced no picture from the keyframe")
    frame = frames[0]
    if frame.width * frame.height > job.max_pixels:
        raise DecodeError(f"picture {frame.width}x{frame.height} over the size limit")
    return _scaled(frame, job.max_width), frame.width, frame.height


def _decode_keyframes(job: DecodeJob) -> Decoded:
    import av

    frames, errors, size = [], [], (0, 0)
    for data in job.keyframes:
        try:
            image, width, height = _decode_one(job.codec, data, job)
        except (av.FFmpegError, DecodeError, ValueError) as exc:
            errors.append(f"decode failed: {exc}")
            continue
        frames.append(image)
        size = (width, height)
    return Decoded(tuple(frames), size[0], size[1], tuple(errors))


def _grab_url(job: DecodeJob) -> Decoded:
    """First `count` pictures of an RTSP URL via PyAV (used for MJPEG)."""
    import av

    timeout_us = str(int(job.timeout_s * 1e6))
    options = {"rtsp_transport": "tcp", "timeout": timeout_us, "probesize": "32768",
               "analyzeduration": "0"}  # fmt: skip
    frames, size = [], (0, 0)
    try:
        with av.open(job.url, options=options, timeout=job.timeout_s) as container:
            for frame in container.decode(video=0):
                if frame.width * frame.height > job.max_pixels:
                    raise DecodeError(f"picture {frame.width}x{frame.height} over the size limit")
                frames.append(_scaled(frame, job.max_width))
                size = (frame.width, frame.height)
                if len(frames) >= job.count:
                    break
    except (av.FFmpegError, DecodeError, OSError) as exc:
        return Decoded(tuple(frames), size[0], size[1], (f"grab failed: {exc}",))
    return Decoded(tuple(frames), size[0], size[1])


def run_job(job: DecodeJob) -> Decoded:
    """Do one decode job (in the worker; callable in-process for tests and benchmarks)."""
    return _grab_url(job) if job.url else _decode_keyframes(job)


def _to_area(decoded: Decoded, area: mmap.mmap) -> Decoded:
    """Move the frames into the shared area when they fit; `placed` tells where they are."""
    if sum(f.nbytes for f in decoded.frames) > len(area):
        return decoded
    placed, offset = [], 0
    for frame in decoded.frames:
        np.ndarray(frame.shape, np.uint8, buffer=area, offset=offset)[...] = frame
        placed.append((frame.shape, offset))
        offset += frame.nbytes
    return replace(decoded, frames=(), placed=tuple(placed))


def _from_area(decoded: Decoded, area: mmap.mmap) -> Decoded:
    """Frames copied out of the shared area (the worker overwrites it on its next job)."""
    if not decoded.placed:
        return decoded
    frames = tuple(
        np.ndarray(shape, np.uint8, buffer=area, offset=offset).copy()
        for shape, offset in decoded.placed
    )
    return replace(decoded, frames=frames, placed=())


def keep_freed_memory() -> None:
    """Let glibc keep freed picture-sized buffers for reuse instead of returning them to the
    kernel each time. Decoder workers and the monitor allocate and free the same sizes for every
    check: untuned, that is 300-340 page faults per check in each (a worker: 3.1 ms of CPU per
    keyframe instead of 2.4)."""
    try:
        libc = ctypes.CDLL("libc.so.6")
    except OSError:
        return  # not glibc: nothing to tune
    libc.mallopt(M_MMAP_THRESHOLD, 64 * 1024 * 1024)
    libc.mallopt(M_TRIM_THRESHOLD, 128 * 1024 * 1024)


def _worker_main(conn: Connection, area_path: str) -> None:
    # Ctrl-C at a terminal signals the whole process group: the monitor stops its workers
    # itself (they are killed at shutdown), a worker must not die with a traceback first.
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    keep_freed_memory()
    with open(area_path, "r+b") as handle:
        area = mmap.mmap(handle.fileno(), 0)
    conn.send("ready")
    while True:
        try:
            job = conn.recv()
        except (EOFError, OSError):
            return
        if job is None:
            return
        try:
            reply: Any = _to_area(run_job(job), area)
        except Exception as exc:  # an unexpected decoder failure is this job's result
            reply = Decoded(errors=(f"decoder failed: {type(exc).__name__}: {exc}",))
        conn.send(reply)


# -- in the monitor process --------------------------------------------------------------------
class _Worker:
    """One decoder process, the pipe to it and the memory area it returns frames in."""

    def __init__(self) -> None:
        # A file both processes map; removed as soon as the worker has mapped it, so it can
        # never outlive them.
        fd, path = tempfile.mkstemp(prefix="vp-frames-", dir=FRAME_AREA_DIR)
        try:
            os.ftruncate(fd, FRAME_AREA_BYTES)
            self.area = mmap.mmap(fd, FRAME_AREA_BYTES)
        finally:
            os.close(fd)
        self.conn, child = _START.Pipe()
        self.process = _START.Process(target=_worker_main, args=(child, path), daemon=True)
        try:
            self.process.start()
            child.close()
            ready = self.conn.poll(STARTUP_TIMEOUT_S) and self.conn.recv() == "ready"
        finally:
            os.unlink(path)
        if not ready:
            self.stop()
            raise DecodeError("decoder worker did not start")

    async def call(self, job: DecodeJob, timeout: float) -> Decoded:
        """Send a job and await its answer on the event loop (no thread is held while the worker
        decodes); raises DecodeError on crash or time-out."""
        loop = asyncio.get_running_loop()
        readable = loop.create_future()
        fd = self.conn.fileno()
        try:
            self.conn.send(job)  # an idle worker is blocked reading: this does not wait long
            loop.add_reader(fd, lambda: readable.done() or readable.set_result(None))
            try:
                async with asyncio.timeout(timeout):
                    await readable
            finally:
                loop.remove_reader(fd)
            return _from_area(self.conn.recv(), self.area)  # the answer is written at once
        except TimeoutError:
            raise DecodeError(f"decoder busy more than {timeout:.1f} s; worker replaced") from None
        except (EOFError, OSError) as exc:
            raise DecodeError(f"decoder worker died (exit code {self.process.exitcode})") from exc

    def alive(self) -> bool:
        return self.process.is_alive()

    def stop(self) -> None:
        """Kill the process and release its pipe."""
        if self.process.is_alive():
            self.process.kill()
        self.process.join(timeout=2)
        self.conn.close()
        self.process.close()
        self.area.close()


class DecoderPool:
    """A fixed number of decoder processes; a worker that crashes or hangs is replaced."""

    def __init__(self, workers: int = 2) -> None:
        self.size = workers
        self._idle: list[_Worker] = []
        self._busy: set[_Worker] = set()
        self._lock = threading.Lock()
        self._slots: tuple[asyncio.AbstractEventLoop, asyncio.Semaphore] | None = None
        self.replaced = 0
        self.closed = False
        self.start_failure: str | None = None  # why the last worker did not start, until one does

    def _idle_worker(self) -> _Worker | None:
        """A live idle worker, or None (dead ones found on the way are released)."""
        with self._lock:
            while self._idle:
                worker = self._idle.pop()
                if worker.alive():
                    return worker
                worker.stop()
                self.replaced += 1
        return None

    def _spawn(self) -> _Worker:
        try:
            worker = _Worker()
        except (EOFError, OSError, DecodeError) as exc:
            self.start_failure = type(exc).__name__
            if isinstance(exc, DecodeError):
                raise
            raise DecodeError(f"decoder worker did not start: {exc}") from exc
        self.start_failure = None
        return worker

    def problem(self) -> str | None:
        """Why this pool cannot decode (a catalogue key), or None: closed, its last worker did
        not start, or every worker it holds has died. A pool with no worker yet starts one when
        a check needs it."""
        if self.closed:
            return "ready.decoders_closed"
        if self.start_failure is not None:
            return "ready.decoders_not_starting"
        with self._lock:
            workers = [*self._idle, *self._busy]
        if workers and not any(worker.alive() for worker in workers):
            return "ready.decoders_dead"
        return None

    def _give_back(self, worker: _Worker) -> None:
        with self._lock:
            keep = len(self._idle) < self.size
            if keep:
                self._idle.append(worker)
        if not keep:
            worker.stop()

    async def decode(self, job: DecodeJob) -> Decoded:
        """Run a job on a free worker (waiting for one); raises DecodeError on crash/time-out."""
        loop = asyncio.get_running_loop()
        if self._slots is None or self._slots[0] is not loop:  # asyncio locks bind to one loop
            self._slots = (loop, asyncio.Semaphore(self.size))
        async with self._slots[1]:
            # Starting a worker blocks for a moment (first use, or after a crash): not on the loop.
            worker = self._idle_worker() or await asyncio.to_thread(self._spawn)
            with self._lock:
                self._busy.add(worker)
            try:
                result = await worker.call(job, job.timeout_s)
            except BaseException:
                # Failed, late or cancelled: its answer must never reach the next job.
                worker.stop()
                with self._lock:
                    self.replaced += 1
                raise
            finally:
                with self._lock:
                    self._busy.discard(worker)
            self._give_back(worker)
        return result

    def busy_pids(self) -> list[int]:
        """Process ids of the workers decoding right now (for tests and diagnostics)."""
        with self._lock:
            return [w.process.pid for w in self._busy if w.process.pid]

    def close(self) -> None:
        """Stop every worker."""
        with self._lock:
            workers, self._idle = self._idle, []
            self.closed = True
        for worker in workers:
            worker.stop()


_POOL: DecoderPool | None = None
_POOL_LOCK = threading.Lock()


def decoder_pool(workers: int = 2) -> DecoderPool:
    """The process-wide decoder pool (created on first use)."""
    global _POOL
    with _POOL_LOCK:
        if _POOL is None:
            _POOL = DecoderPool(workers)
        return _POOL


def current_decoder_pool() -> DecoderPool | None:
    """The process-wide decoder pool if a check has made it, else None (none is made here)."""
    with _POOL_LOCK:
        return _POOL


def close_decoder_pool() -> None:
    """Stop the process-wide pool's workers (at shutdown)."""
    global _POOL
    with _POOL_LOCK:
        pool, _POOL = _POOL, None
    if pool:
        pool.close()
