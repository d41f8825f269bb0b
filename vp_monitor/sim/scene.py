"""Pictures a simulated camera films: a procedural street-like scene or a looping video file,
and the picture faults (black, frozen, blurred, covered, moved, exposure, noise) applied to them.

Frames are BGR uint8 numpy arrays. A scene and seed always give the same pictures, apart from
the mild sensor noise that makes consecutive live frames differ.
"""

from __future__ import annotations

import datetime as dt
import functools
import math
import time
from collections.abc import Callable, Iterator
from typing import Any

import cv2
import numpy as np

from vp_monitor.sim.camera import PICTURE_FAULTS, SimCamera
from vp_monitor.sim.ptz import HOME_VIEW, Position, ptz_view

BASE_SIZE = (1280, 720)  # the scene is drawn at this size and resized, so main and sub match
OSD_EPOCH = dt.datetime(2026, 1, 1, 8, 0, 0)


class SceneError(ValueError):
    """A scene cannot be built (unknown name, unreadable video file)."""


def parse_scene(scene: str) -> tuple[str, int | str]:
    """("procedural", seed) for "procedural" / "procedural:N", else ("file", path)."""
    if scene == "procedural":
        return "procedural", 0
    if scene.startswith("procedural:"):
        try:
            return "procedural", int(scene.split(":", 1)[1])
        except ValueError as exc:
            raise SceneError(f"bad procedural seed in scene {scene!r}") from exc
    return "file", scene


def render_frames(
    scene: str, width: int, height: int, fps: int, count: int, step: int = 1
) -> Iterator[np.ndarray]:
    """`count` frames of `scene` at `fps` (every `step`-th frame), without any fault or OSD.
    Procedural frames are drawn one at a time, so a loop never sits whole in memory."""
    kind, arg = parse_scene(scene)
    if kind == "procedural":
        return (_procedural_frame(int(arg), width, height, (i * step) / fps) for i in range(count))
    return iter(_video_frames(str(arg), width, height, fps, count * step)[::step])


def _background(seed: int) -> np.ndarray:
    """Textured static background at BASE_SIZE: sky gradient, buildings, road, texture."""
    w, h = BASE_SIZE
    rng = np.random.default_rng(seed)
    img = np.zeros((h, w, 3), np.uint8)
    sky = np.linspace(200, 140, h // 2, dtype=np.float32)[:, None]
    img[: h // 2] = np.stack([sky + 30, sky + 10, sky - 20], axis=-1).clip(0, 255).astype(np.uint8)
    img[h // 2 :] = (90, 95, 100)  # road
    x = 0
    while x < w:  # buildings of random width, height and colour, with windows
        bw = int(rng.integers(60, 180))
        top = int(rng.integers(h // 8, h // 2 - 20))
        colour = tuple(int(c) for c in rng.integers(60, 200, 3))
        cv2.rectangle(img, (x, top), (x + bw, h // 2 + 40), colour, -1)
        for wy in range(top + 12, h // 2 + 20, 28):
            for wx in range(x + 8, x + bw - 16, 24):
                lit = rng.random() < 0.3
                cv2.rectangle(img, (wx, wy), (wx + 12, wy + 16), (150, 220, 240) if lit else 40, -1)
        x += bw + int(rng.integers(0, 20))
    for y in range(h // 2 + 60, h, 90):  # lane markings
        for lx in range(0, w, 120):
            cv2.rectangle(img, (lx, y), (lx + 60, y + 6), (230, 230, 230), -1)
    # Fine texture so that blur and covers are measurable, like a real textured scene.
    grain = rng.normal(0, 10, (h // 4, w // 4, 1)).astype(np.float32)
    grain = cv2.resize(grain, (w, h), interpolation=cv2.INTER_LINEAR)[..., None]
    return (img.astype(np.float32) + grain).clip(0, 255).astype(np.uint8)


_BACKGROUNDS: dict[tuple[int, int, int], np.ndarray] = {}


def _scaled_background(seed: int, width: int, height: int) -> np.ndarray:
    key = (seed, width, height)
    if key not in _BACKGROUNDS:
        if len(_BACKGROUNDS) > 64:  # bounded: a fleet uses a handful of seeds and sizes
            _BACKGROUNDS.clear()
        _BACKGROUNDS[key] = cv2.resize(_background(seed), (width, height))
    return _BACKGROUNDS[key]


def _procedural_frame(seed: int, width: int, height: int, t: float) -> np.ndarray:
    """Background plus traffic and pedestrians at time `t` seconds (drawn at BASE_SIZE scale)."""
    img = _scaled_background(seed, width, height).copy()
    sx, sy = width / BASE_SIZE[0], height / BASE_SIZE[1]
    rng = np.random.default_rng(seed + 1)
    for n in range(7):  # vehicles: two or three per lane, both directions
        lane = n % 3
        speed = float(rng.uniform(220, 420)) * (1 if lane % 2 == 0 else -1)
        colour = tuple(int(c) for c in rng.integers(30, 230, 3))
        x = (float(rng.uniform(0, 1800)) + speed * t) % 1800 - 260
        y = 390 + lane * 105
        p1, p2 = (int(x * sx), int(y * sy)), (int((x + 230) * sx), int((y + 85) * sy))
        cv2.rectangle(img, p1, p2, colour, -1)
        cv2.rectangle(img, p1, p2, (20, 20, 20), max(1, int(3 * sx)))
        for wheel in (x + 45, x + 185):
            cv2.circle(img, (int(wheel * sx), p2[1]), max(2, int(16 * sx)), (15, 15, 15), -1)
    for n in range(4):  # pedestrians on the pavement
        speed = float(rng.uniform(50, 110)) * (1 if n % 2 else -1)
        px = (float(rng.uniform(0, 1280)) + speed * t) % 1280
        py = 330 + 12 * n + 6 * np.sin(t * 7 + n)
        body = (int(px * sx), int(py * sy))
        cv2.ellipse(img, body, (int(14 * sx), int(34 * sy)), 0, 0, 360, (40, 60 + 40 * n, 200), -1)
        cv2.circle(img, (body[0], int((py - 44) * sy)), max(2, int(11 * sx)), (120, 160, 210), -1)
    return img


def _video_frames(path: str, width: int, height: int, fps: int, count: int) -> list[np.ndarray]:
    """The first `count` frames of a video file resampled to `fps`, looped if it is shorter."""
    import av  # imported here: only file scenes need it

    try:
        container = av.open(path, timeout=10)
    except (av.error.FFmpegError, OSError) as exc:
        raise SceneError(f"cannot open scene video {path!r}: {exc}") from exc
    frames: list[np.ndarray] = []
    try:
        stream = container.streams.video[0]
        for frame in container.decode(stream):
            t = float(frame.time) if frame.time is not None else len(frames) / fps
            while len(frames) < count and len(frames) / fps <= t:
                img = frame.to_ndarray(format="bgr24")
                frames.append(cv2.resize(img, (width, height), interpolation=cv2.INTER_AREA))
            if len(frames) >= count:
                break
    except av.error.FFmpegError as exc:
        raise SceneError(f"cannot decode scene video {path!r}: {exc}") from exc
    finally:
        container.close()
    if not frames:
        raise SceneError(f"scene video {path!r} has no video frames")
    while len(frames) < count:
        frames.extend(frames[: count - len(frames)])
    return frames


def add_osd(img: np.ndarray, t: float, label: str = "") -> np.ndarray:
    """Burn the camera's clock (and label) into the picture, like a camera's on-screen display."""
    stamp = (OSD_EPOCH + dt.timedelta(seconds=t)).strftime("%Y-%m-%d %H:%M:%S")
    stamp += f".{int((t % 1) * 10)}"
    h = img.shape[0]
    scale = h / 720
    org = (int(20 * scale), int(40 * scale))
    for colour, thick in (((0, 0, 0), 4), ((255, 255, 255), 2)):
        cv2.putText(
            img,
            f"{label} {stamp}".strip(),
            org,
            cv2.FONT_HERSHEY_SIMPLEX,
            scale,
            colour,
            max(1, int(thick * scale)),
            cv2.LINE_AA,
        )
    return img


def sensor_noise(img: np.ndarray, sigma: float = 2.0) -> np.ndarray:
    """Mild per-frame sensor noise so that no two live frames are identical."""
    noise = np.empty(img.shape[:2], np.int16)
    cv2.randn(noise, 0, sigma)  # OpenCV's generator: ~10x faster than numpy's at 720p
    noisy = cv2.add(img.astype(np.int16), cv2.merge([noise] * img.shape[2]))
    return noisy.clip(0, 255).astype(np.uint8)


def _cover(img: np.ndarray, level: int) -> np.ndarray:
    """Most of the frame hidden by a dark or light object with a little texture."""
    kept, covering = _cover_layer(img.shape[0], img.shape[1], img.shape[2], level)
    return (img * kept + covering).clip(0, 255).astype(np.uint8)


@functools.lru_cache(maxsize=8)
def _cover_layer(h: int, w: int, channels: int, level: int) -> tuple[np.ndarray, np.ndarray]:
    """How much of the scene shows through, and what the covering object adds: the same every
    frame (whatever covers the lens does not move), so drawn once per size, not every frame."""
    mask = np.zeros((h, w), np.uint8)
    cv2.ellipse(mask, (w // 2, h // 2 + h // 8), (int(w * 0.62), int(h * 0.62)), 0, 0, 360, 255, -1)
    mask = cv2.GaussianBlur(mask, (0, 0), max(1.0, w / 80))[..., None] / 255.0
    # Against the lens it is far out of focus, so its texture is soft: only broad shading.
    texture = np.random.default_rng(7).normal(0, 6, (h // 16 + 1, w // 16 + 1, 1))
    texture = cv2.resize(texture.astype(np.float32), (w, h))
    texture = cv2.GaussianBlur(texture, (0, 0), max(1.0, w / 40))[..., None]
    cover = np.full((h, w, channels), level, dtype=np.float32) + texture
    kept, covering = (1 - mask).astype(np.float32), (cover * mask).astype(np.float32)
    kept.flags.writeable = covering.flags.writeable = False  # shared by every frame
    return kept, covering


def _exposure(img: np.ndarray, gain: float, offset: float) -> np.ndarray:
    return (img.astype(np.float32) * gain + offset).clip(0, 255).astype(np.uint8)


def _moved(img: np.ndarray, params: dict[str, Any]) -> np.ndarray:
    """Pan/tilt the view by a fraction of the frame (defaults: 20 % right, 15 % down), or,
    with `tilt_deg`, tilt the camera on its mount by that many degrees: the scene seen in
    another perspective through a 90-degree lens (a knock, a re-aim after work on the mast)."""
    h, w = img.shape[:2]
    if "tilt_deg" in params:
        f = (w / 2) / math.tan(math.radians(45))  # focal length of a 90-degree lens, in px
        lens = np.array([[f, 0, w / 2], [0, f, h / 2], [0, 0, 1]])
        tilt = cv2.Rodrigues(np.array([math.radians(float(params["tilt_deg"])), 0.0, 0.0]))[0]
        matrix = lens @ tilt @ np.linalg.inv(lens)
        return cv2.warpPerspective(img, matrix, (w, h), borderMode=cv2.BORDER_REFLECT)
    dx, dy = float(params.get("dx", 0.2)), float(params.get("dy", 0.15))
    matrix = np.float32([[1, 0, -dx * w], [0, 1, -dy * h]])
    return cv2.warpAffine(img, matrix, (w, h), borderMode=cv2.BORDER_REFLECT)


def apply_picture_fault(img: np.ndarray, fault: str, params: dict[str, Any]) -> np.ndarray:
    """The frame as the faulty camera would film it (before OSD); "frozen" is handled by the
    caller, which repeats one picture."""
    h, w = img.shape[:2]
    actions: dict[str, Callable[[], np.ndarray]] = {
        "black": lambda: np.zeros_like(img),
        "defocus": lambda: cv2.GaussianBlur(img, (0, 0), float(params.get("sigma", w / 90))),
        "covered_dark": lambda: _cover(img, 18),
        "covered_light": lambda: _cover(img, 225),
        "moved": lambda: _moved(img, params),
        "overexposed": lambda: _exposure(img, 2.6, 90),
        "underexposed": lambda: _exposure(img, 0.12, 0),
        "night": lambda: cv2.cvtColor(cv2.cvtColor(img, cv2.COLOR_BGR2GRAY), cv2.COLOR_GRAY2BGR),
    }
    if fault in actions:
        return actions[fault]()
    return img


def camera_picture(raw: np.ndarray, t: float, fault: str, params: dict[str, Any]) -> np.ndarray:
    """What the camera outputs for scene picture `raw` at `t`: sensor noise, the picture fault,
    then the OSD clock (burnt in after the lens, so a moved or covered camera still shows it)."""
    if fault == "black":  # a dead sensor: flat black, no OSD
        return np.zeros_like(raw)
    img = apply_picture_fault(sensor_noise(raw), fault, params)
    img = add_osd(img, t)
    if fault == "noise":
        img = sensor_noise(img, float(params.get("sigma", 45)))
    return img


def fault_frames(
    scene: str,
    width: int,
    height: int,
    fps: int,
    count: int,
    fault: str = "none",
    params: dict[str, Any] | None = None,
    step: int = 1,
    view: Position = HOME_VIEW,
) -> Iterator[np.ndarray]:
    """The loop of frames a camera in `fault` sends (OSD clock and sensor noise included),
    looking at `view` (a PTZ camera's position)."""
    params = params or {}
    if fault != "none" and fault not in PICTURE_FAULTS:
        raise ValueError(f"{fault!r} is not a picture fault")
    if fault == "black":  # no need to draw the scene
        return iter([np.zeros((height, width, 3), np.uint8)] * count)
    if fault == "frozen":  # one picture, repeated: the encoder re-encodes the same image
        first = ptz_view(next(render_frames(scene, width, height, fps, 1)), view)
        return iter([camera_picture(first, 0, "none", {})] * count)
    raw = (ptz_view(img, view) for img in render_frames(scene, width, height, fps, count, step))
    return (camera_picture(img, i * step / fps, fault, params) for i, img in enumerate(raw))


def snapshot_jpeg(camera: SimCamera, loop_seconds: float = 4.0) -> bytes:
    """JPEG of what the camera's main stream shows now (for the ONVIF snapshot URI)."""
    spec = camera.main
    fault = camera.fault if camera.fault in PICTURE_FAULTS else "none"
    t = 0.0 if fault == "frozen" else time.time() % loop_seconds
    kind, arg = parse_scene(camera.scene)
    if kind == "procedural":
        raw = _procedural_frame(int(arg), spec.width, spec.height, t)
    else:
        raw = next(render_frames(camera.scene, spec.width, spec.height, spec.fps, 1))
    img = camera_picture(ptz_view(raw, camera.view), t, fault, camera.fault_params)
    ok, data = cv2.imencode(".jpg", img, [cv2.IMWRITE_JPEG_QUALITY, 85])
    if not ok:
        raise RuntimeError("JPEG encoding failed")
    return data.tobytes()
