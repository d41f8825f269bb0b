"""False incidents per 1,000 camera-days on healthy cameras (issue 14).

Healthy cameras are simulated for days of image checks at the monitor's default stream
interval, accelerated (no real waiting): real footage (or the simulator's procedural scene)
seen through a camera that drifts as real ones do — daylight and white balance through the
day, clouds, moving sun shading, dusk before the switch to infrared, a monochrome infrared
picture at night (judged against the night reference), sensor noise rising with gain, H.264 or
JPEG compression, 1-2 px mast vibration in wind. Each check is the stream check's analysis
(`vision.analyze` of the second keyframe against the period's reference, the first keyframe as
previous) fed to the monitor's own evaluator (`evaluator.step`, MonitorSettings defaults: its
confirmations, early retry and flapping). Every problem the evaluator confirms on these
healthy cameras is a false incident; each is listed with its cause.

    .venv/bin/python tools/bench_false_incidents.py --camera-days 1000 --seed 2 \
        --footage /work/shared/data/footage/vtest.avi

Frames are made at the width the monitor analyses at (VisionSettings.work_width, 320 px):
the stream probe decodes at 640 px and the analysis scales that to 320, so making them at
320 costs a quarter of the CPU; compressing at 320 px leaves stronger artefacts per analysed
pixel than compressing at 640 and scaling down (the conservative side).
"""

from __future__ import annotations

import argparse
import json
import math
import multiprocessing
import sys
import time
from collections import Counter
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from fractions import Fraction
from pathlib import Path

import av
import cv2
import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from vp_monitor import vision  # noqa: E402
from vp_monitor.monitor import evaluator  # noqa: E402
from vp_monitor.monitor.settings import MonitorSettings  # noqa: E402
from vp_monitor.probes.base import StreamProbeSettings  # noqa: E402
from vp_monitor.probes.tiers import JUDGING_TIERS, PICTURE_SEES, TierResult  # noqa: E402
from vp_monitor.sim.scene import _procedural_frame  # noqa: E402

DAY_S = 86400.0
EPOCH = datetime(2026, 1, 5, tzinfo=UTC)  # day 0 of every camera, 00:00
FOOTAGE_FPS = 10.0
# The stream probe decodes two keyframes: the second at least this long after the first,
# at the next keyframe (a GOP of 1 s).
KEYFRAME_GAP_S = StreamProbeSettings().second_keyframe_delay_s
GOP_S = 1.0
# The picture after a day/night switch settles within this (exposure overshoot, IR cut filter).
SWITCH_SETTLE_S = 4.0
# The evidence (and so an approved reference) is kept as JPEG at this quality (probes/check.py).
REFERENCE_JPEG_QUALITY = 85


@dataclass(frozen=True)
class Fault:
    """A real fault injected into a camera (to prove the counter counts): from `start_s`
    for `duration_s` of simulated time, every frame is black."""

    kind: str
    start_s: float
    duration_s: float


@dataclass
class Camera:
    """One simulated camera: where it looks and how its picture drifts (drawn from its seed)."""

    index: int
    seed: int
    scene: str  # "footage" or "procedural:N"
    size: tuple[int, int]
    rng: np.random.Generator = field(repr=False)
    zoom: float = 1.0
    centre: tuple[float, float] = (0.5, 0.5)
    codec: str = "h264"
    quality: int = 26
    noise: float = 2.0
    wind: float = 1.0  # largest vibration, px of the analysed picture
    white_balance: float = 0.06
    sunrise_h: float = 7.0
    day_length_h: float = 11.0
    dusk_min: float = 0.75  # brightness left, against the AE target, at the switch to IR
    dusk_s: float = 2400.0
    ir_brightness: float = 0.9
    ir_falloff: float = 0.4
    ir_noise: float = 5.0
    ir_blur: float = 0.5
    shading: tuple[np.ndarray, np.ndarray] = field(default=(None, None), repr=False)
    falloff: np.ndarray | None = field(default=None, repr=False)
    days: dict[int, dict] = field(default_factory=dict, repr=False)


def make_camera(index: int, seed: int, procedural_share: float) -> Camera:
    """A camera's fixed traits, drawn from (seed, index) alone: the same whatever the process."""
    rng = np.random.default_rng([seed, index])
    procedural = rng.random() < procedural_share
    scene = f"procedural:{int(rng.integers(0, 50))}" if procedural else "footage"
    size = (320, 180) if procedural else (320, 240)
    w, h = size
    fields = []
    for _ in range(2):  # morning and afternoon sun shading: broad brighter and darker areas
        low = rng.normal(0, 1, (3, 4)).astype(np.float32)
        smooth = cv2.resize(low, (w, h), interpolation=cv2.INTER_CUBIC)
        fields.append(smooth / max(float(np.abs(smooth).max()), 1e-3))
    codec = "h264" if rng.random() < 0.4 else "jpeg"
    return Camera(
        index=index, seed=seed, scene=scene, size=size, rng=rng,
        zoom=float(rng.uniform(1.0, 1.25)), centre=(float(rng.uniform(0.4, 0.6)),
                                                   float(rng.uniform(0.4, 0.6))),
        codec=codec, quality=int(rng.integers(20, 33)) if codec == "h264"
        else int(rng.integers(55, 92)),
        noise=float(rng.uniform(1.0, 3.0)), wind=float(rng.uniform(0.5, 2.0)),
        white_balance=float(rng.uniform(0.03, 0.10)),
        sunrise_h=float(rng.uniform(5.5, 8.5)), day_length_h=float(rng.uniform(8.5, 14.0)),
        dusk_min=float(rng.uniform(0.6, 0.9)), dusk_s=float(rng.uniform(1200, 3600)),
        ir_brightness=float(rng.uniform(0.6, 1.1)), ir_falloff=float(rng.uniform(0.2, 0.6)),
        ir_noise=float(rng.uniform(2.5, 5.0)), ir_blur=float(rng.uniform(0.3, 0.9)),
        shading=(fields[0], fields[1]),
    )  # fmt: skip


def day_traits(camera: Camera, day: int) -> dict:
    """The weather of one day (drawn once per camera and day, from its own seed)."""
    if day not in camera.days:
        rng = np.random.default_rng([camera.seed, camera.index, day, 7])
        cloudiness = float(rng.uniform(0, 1))
        clouds = []  # (start, end, depth): a cloud dims the scene until AE catches up
        t = camera.sunrise_h * 3600
        end = t + camera.day_length_h * 3600
        while t < end:
            t += float(rng.exponential(3600 * (1.2 - cloudiness)))
            length = float(rng.uniform(120, 1500))
            clouds.append((t, t + length, float(rng.uniform(0.2, 0.7)) * cloudiness))
        camera.days[day] = {
            # The switch to day and to night moves with the weather (a dark morning is later).
            "day_from": camera.sunrise_h * 3600 + float(rng.normal(0, 600)) + 1800 * cloudiness,
            "night_from": (camera.sunrise_h + camera.day_length_h) * 3600
            + float(rng.normal(0, 600))
            - 1800 * cloudiness,
            "cloudiness": cloudiness,
            "clouds": clouds,
            "wind": float(rng.uniform(0, 1)) ** 2,  # mostly calm, now and then gusty
        }
    return camera.days[day]


@dataclass
class Light:
    """The camera's picture conditions at one moment (what the report says a drift was)."""

    night: bool
    brightness: float  # picture brightness against the auto-exposure's target
    contrast: float
    noise: float
    shading: float  # how strongly the sun's shading shows
    shading_mix: float  # morning (0) to afternoon (1)
    warmth: float  # white balance: + warm (red), - cool (blue)
    vibration: float  # px
    cloud: float  # depth of the cloud over the scene now (0: none)
    dusk: float  # 0 day, 1 at the switch to infrared
    since_switch_s: float

    def describe(self) -> str:
        if self.night:
            mode = "night (infrared)"
        elif self.dusk > 0:
            mode = f"twilight {self.dusk:.0%} to the infrared switch"
        else:
            mode = "day"
        parts = [mode, f"brightness x{self.brightness:.2f}", f"noise {self.noise:.1f}",
                 f"vibration {self.vibration:.1f} px"]  # fmt: skip
        if self.cloud:
            parts.append(f"cloud {self.cloud:.0%}")
        if not self.night:
            parts.append(f"shading {self.shading:.2f}, white balance {self.warmth:+.2f}")
        if self.since_switch_s < SWITCH_SETTLE_S * 2:
            parts.append(f"{self.since_switch_s:.1f} s after the day/night switch")
        return ", ".join(parts)


def light_at(camera: Camera, t: float) -> Light:
    """How the camera's picture differs from its auto-exposure's target at time `t` (s)."""
    day = int(t // DAY_S)
    traits = day_traits(camera, day)
    clock = t - day * DAY_S
    day_from, night_from = traits["day_from"], traits["night_from"]
    night = not day_from <= clock < night_from
    since = min(abs(clock - day_from), abs(clock - night_from))
    wind = camera.wind * (0.3 + 0.7 * traits["wind"])
    if night:
        # The infrared illuminator lights the scene: steady, a little street light variation.
        brightness = camera.ir_brightness * (1 + 0.06 * math.sin(clock / 5000 + camera.index))
        return Light(True, brightness, 1.0, camera.ir_noise, 0.0, 0.0, 0.0, wind, 0.0, 0.0, since)
    span = max(night_from - day_from, 1.0)
    phase = (clock - day_from) / span  # 0 at the switch to day, 1 at the switch to night
    # Dusk and dawn: the light falls faster than the auto-exposure can follow, gain and noise rise.
    to_switch = min(clock - day_from, night_from - clock)
    dusk = max(0.0, 1 - to_switch / camera.dusk_s)
    brightness = 1 - (1 - camera.dusk_min) * dusk**2
    noise = camera.noise * (1 + 2.0 * dusk**2)
    cloud = max((d for s, e, d in traits["clouds"] if s <= clock < e), default=0.0)
    # Under a cloud the auto-exposure catches up but not fully; contrast and shading soften.
    # No darker than at the switch, though: the camera goes to infrared at that darkness
    # (a cloudy evening switches earlier, see day_traits).
    brightness = max(brightness * (1 - 0.3 * cloud), camera.dusk_min)
    contrast = 1 - 0.35 * cloud - 0.15 * traits["cloudiness"]
    sun = math.sin(math.pi * phase)  # higher sun, stronger shading and cooler light at noon
    shading = 0.25 * sun * (1 - traits["cloudiness"]) * (1 - cloud)
    warmth = camera.white_balance * (1 - 2 * sun) - 0.5 * camera.white_balance * cloud
    # Auto-exposure keeps a little of the day's contrast: a sunny noon a bit brighter.
    brightness *= 1 + 0.1 * sun * (1 - traits["cloudiness"])
    return Light(False, brightness, contrast, noise, shading, phase, warmth, wind, cloud, dusk,
                 since)  # fmt: skip


class Scenes:
    """Scene pictures at the analysed size: the footage (looped) or a procedural scene."""

    def __init__(self, footage: Path | None):
        self.footage: list[np.ndarray] = []
        if footage is not None:
            with av.open(str(footage)) as container:
                for frame in container.decode(video=0):
                    self.footage.append(frame.to_ndarray(format="bgr24"))
            # Scaled once, a little larger than the view: the view's own crop and vibration
            # then resample at nearly 1:1, as a camera's sensor sees it (no aliasing).
            self.footage = [cv2.resize(f, (400, 300), interpolation=cv2.INTER_AREA)
                            for f in self.footage]  # fmt: skip

    def raw(self, camera: Camera, t: float) -> np.ndarray:
        if camera.scene == "footage":
            if not self.footage:
                raise ValueError("a footage camera needs --footage")
            return self.footage[int(t * FOOTAGE_FPS) % len(self.footage)]
        seed = int(camera.scene.split(":")[1])
        return _procedural_frame(seed, 360, 203, t % 3600)


def view(camera: Camera, raw: np.ndarray, dx: float, dy: float, roll: float) -> np.ndarray:
    """The camera's crop of the scene, shifted by (dx, dy) px and rolled by `roll` degrees."""
    w, h = camera.size
    src_h, src_w = raw.shape[:2]
    scale = max(w / src_w, h / src_h) * camera.zoom
    cx = camera.centre[0] * src_w
    cy = camera.centre[1] * src_h
    half_w, half_h = w / scale / 2, h / scale / 2  # keep the view inside the source
    cx = min(max(cx, half_w + 2), src_w - half_w - 2)
    cy = min(max(cy, half_h + 2), src_h - half_h - 2)
    m = cv2.getRotationMatrix2D((cx, cy), roll, scale)
    m[0, 2] += w / 2 - cx + dx
    m[1, 2] += h / 2 - cy + dy
    return cv2.warpAffine(raw, m, (w, h), flags=cv2.INTER_LINEAR, borderMode=cv2.BORDER_REFLECT)


def gaussian(shape: tuple[int, ...], sigma: float) -> np.ndarray:
    """Sensor noise (OpenCV's generator, seeded per camera: ~10x faster than numpy's)."""
    noise = np.empty(shape, np.float32)
    cv2.randn(noise, 0.0, float(sigma))
    return noise


def ir_falloff(camera: Camera) -> np.ndarray:
    """The infrared lamp's light over the picture: brightest a little below the centre."""
    if camera.falloff is None:
        w, h = camera.size
        yy, xx = np.mgrid[0:h, 0:w].astype(np.float32)
        camera.falloff = 1 - camera.ir_falloff * (((xx - w / 2) / w) ** 2
                                                  + ((yy - h * 0.6) / h) ** 2) * 2  # fmt: skip
    return camera.falloff


def expose(camera: Camera, image: np.ndarray, light: Light) -> np.ndarray:
    """The picture the sensor and its processing make of the scene under `light`."""
    img = image.astype(np.float32)
    if light.night:
        # Infrared: monochrome, foliage and fabrics reflect it differently than visible light,
        # a lamp's falloff from the centre, out of focus a little (lenses focus IR elsewhere).
        grey = img[..., 2] * 0.45 + img[..., 1] * 0.45 + img[..., 0] * 0.10
        grey = cv2.GaussianBlur(grey * ir_falloff(camera), (0, 0), camera.ir_blur)
        grey = grey * light.brightness + gaussian(grey.shape, light.noise)
        return cv2.cvtColor(np.clip(grey, 0, 255).astype(np.uint8), cv2.COLOR_GRAY2BGR)
    mean = float(img.mean())
    morning, afternoon = camera.shading
    field_ = (1 - light.shading_mix) * morning + light.shading_mix * afternoon
    gain = (1 + light.shading * field_) * light.brightness
    # White balance: warm is more red and less blue (BGR order).
    gain3 = gain[..., None] * np.float32([1 - light.warmth, 1.0, 1 + light.warmth])
    img = (mean + (img - mean) * light.contrast) * gain3
    img += gaussian(img.shape[:2], light.noise)[..., None]
    return np.clip(img, 0, 255).astype(np.uint8)


def settle(light: Light, rng: np.random.Generator) -> float:
    """Exposure overshoot just after a day/night switch (1: settled)."""
    if light.since_switch_s >= SWITCH_SETTLE_S:
        return 1.0
    left = 1 - light.since_switch_s / SWITCH_SETTLE_S
    return float(1 + rng.choice([-0.5, 0.8]) * left)


class Encoder:
    """The camera's encoder and the probe's decoder: intra frames (keyframes) or JPEG."""

    def __init__(self, camera: Camera):
        self.camera, self.frames = camera, 0
        if camera.codec == "h264":
            w, h = camera.size
            self.enc = av.CodecContext.create("libx264", "w")
            self.enc.width, self.enc.height, self.enc.pix_fmt = w, h, "yuv420p"
            self.enc.time_base = Fraction(1, 10)
            self.enc.options = {"crf": str(camera.quality), "preset": "veryfast",
                                "tune": "zerolatency",
                                "x264-params": "keyint=1:min-keyint=1:scenecut=0"}  # fmt: skip
            self.dec = av.CodecContext.create("h264", "r")

    def __call__(self, image: np.ndarray) -> np.ndarray:
        if self.camera.codec == "jpeg":
            return jpeg(image, self.camera.quality)
        frame = av.VideoFrame.from_ndarray(image, format="bgr24")
        frame.pts, self.frames = self.frames, self.frames + 1
        decoded = [f for packet in self.enc.encode(frame) for f in self.dec.decode(packet)]
        if len(decoded) != 1:
            raise RuntimeError(f"the intra-only encoder gave {len(decoded)} frames for one")
        return decoded[0].to_ndarray(format="bgr24")


def jpeg(image: np.ndarray, quality: int) -> np.ndarray:
    ok, data = cv2.imencode(".jpg", image, [cv2.IMWRITE_JPEG_QUALITY, int(quality)])
    return cv2.imdecode(data, cv2.IMREAD_COLOR)


class Shooter:
    """Takes the camera's decoded frames at given times (and injects a fault if asked)."""

    def __init__(self, camera: Camera, scenes: Scenes, fault: Fault | None = None):
        self.camera, self.scenes, self.fault = camera, scenes, fault
        self.encode = Encoder(camera)

    def frame(self, t: float, rng: np.random.Generator) -> tuple[np.ndarray, Light]:
        light = light_at(self.camera, t)
        w, h = self.camera.size
        if self.fault and self.fault.start_s <= t < self.fault.start_s + self.fault.duration_s:
            return self.encode(np.zeros((h, w, 3), np.uint8)), light
        a = light.vibration
        dx, dy = np.clip(rng.normal(0, a / 2, 2), -a, a)
        roll = float(np.clip(rng.normal(0, 0.05 * a), -0.15, 0.15))
        image = view(self.camera, self.scenes.raw(self.camera, t), float(dx), float(dy), roll)
        overshoot = settle(light, rng)
        if overshoot != 1.0:
            light = Light(**{**light.__dict__, "brightness": light.brightness * overshoot})
        return self.encode(expose(self.camera, image, light)), light


def references(shooter: Shooter, rng: np.random.Generator) -> dict[str, np.ndarray]:
    """The day and night references a technician approved on day 0 (a check's evidence, kept as
    JPEG): the day one in full daylight, the night one in the middle of the night."""
    camera = shooter.camera
    traits = day_traits(camera, 0)
    day_t = float(rng.uniform(traits["day_from"] + 7200, traits["night_from"] - 7200))
    night_t = float(rng.uniform(traits["night_from"] + 3600, DAY_S + 3 * 3600))
    out = {}
    for period, t in (("day", day_t), ("night", night_t)):
        frame, _ = shooter.frame(t, rng)
        out[period] = jpeg(frame, REFERENCE_JPEG_QUALITY)
    return out


@dataclass
class Incident:
    """A problem the evaluator confirmed: when, what, and the picture's conditions then."""

    camera: int
    scene: str
    at_s: float
    conditions: list[str]
    period: str
    cause: str
    metrics: dict[str, float]

    def when(self) -> str:
        day, clock = divmod(self.at_s, DAY_S)
        return f"day {int(day)} {int(clock // 3600):02d}:{int(clock % 3600 // 60):02d}"


@dataclass
class CameraRun:
    """What one camera's simulated days gave."""

    camera: int
    scene: str
    checks: int = 0
    retries: int = 0
    seen: Counter = field(default_factory=Counter)  # single checks that saw a condition
    incidents: list[Incident] = field(default_factory=list)
    cpu_s: float = 0.0


# Metrics shown with an incident: those that decide each condition.
SHOWN = ("mean_luma", "luma_ratio", "contrast", "bright_fraction", "dark_fraction",
         "sharpness_ratio", "covered_fraction", "frame_diff", "peak_diff", "noise_level",
         "displacement_pct", "rotation_deg", "match_inliers", "match_candidates",
         "in_place_share")  # fmt: skip


def run_camera(
    camera: Camera,
    days: float,
    scenes: Scenes,
    settings: MonitorSettings | None = None,
    fault: Fault | None = None,
) -> CameraRun:
    """Check one camera every stream interval for `days` (retrying soon when the evaluator
    asks, as the engine does) and collect the incidents its evaluator opens."""
    settings = settings or MonitorSettings()
    started = time.process_time()
    rng = np.random.default_rng([camera.seed, camera.index, 1])
    cv2.setRNGSeed(camera.seed * 100_003 + camera.index)  # the sensor noise's generator
    shooter = Shooter(camera, scenes, fault)
    refs = references(shooter, rng)
    status = evaluator.new_status(camera.index, EPOCH)
    status.tiers_checked = sorted(JUDGING_TIERS)  # the reachability tier judged it already
    run = CameraRun(camera.index, camera.scene)
    interval, jitter = settings.intervals.stream, settings.jitter
    t = float(rng.uniform(0, interval))
    problem = False
    while t < days * DAY_S:
        previous, _ = shooter.frame(t, rng)
        at = t + KEYFRAME_GAP_S + float(rng.uniform(0, GOP_S))
        current, light = shooter.frame(at, rng)
        period = "night" if vision.is_monochrome(current) else "day"
        found = vision.analyze(current, reference=refs[period], previous=previous)
        result = TierResult("stream", found.conditions, PICTURE_SEES, True, found.metrics,
                            analysis=found.metrics, period=period)  # fmt: skip
        change = evaluator.step(status, result, settings, EPOCH + timedelta(seconds=at))
        run.checks += 1
        mode = "twilight" if light.dusk > 0 else period
        run.seen.update(f"{condition} ({mode})" for condition in found.conditions)
        now_problem = change.flapping or change.state == "down" or bool(change.conditions)
        if now_problem and not problem:
            opened = sorted(change.conditions) + (["(flapping)"] if change.flapping else [])
            cause = light.describe()
            if fault and fault.start_s <= at < fault.start_s + fault.duration_s + 3600:
                cause = f"injected {fault.kind}; " + cause
            shown = {k: round(v, 3) for k, v in found.metrics.items() if k in SHOWN}
            run.incidents.append(Incident(camera.index, camera.scene, at, opened, period,
                                          cause, shown))  # fmt: skip
        problem = now_problem
        if change.confirming and settings.retry_s:
            run.retries += 1
            t = at + settings.retry_s
        else:
            t = at + interval * (1 + float(rng.uniform(-jitter, jitter)))
    run.cpu_s = time.process_time() - started
    return run


_SCENES: Scenes | None = None


def _init_worker(footage: Path | None) -> None:
    global _SCENES
    cv2.setNumThreads(1)
    _SCENES = Scenes(footage)


def _camera_job(args: tuple[int, int, float, float]) -> CameraRun:
    index, seed, days, procedural_share = args
    assert _SCENES is not None
    return run_camera(make_camera(index, seed, procedural_share), days, _SCENES)


def bench(
    camera_days: float,
    seed: int,
    footage: Path | None,
    days_per_camera: float = 10.0,
    processes: int = 2,
    procedural_share: float = 0.25,
) -> list[CameraRun]:
    """Run enough cameras for `camera_days`, each for `days_per_camera` (the last one less)."""
    jobs, left, index = [], camera_days, 0
    while left > 1e-9:
        days = min(days_per_camera, left)
        jobs.append((index, seed, days, procedural_share))
        left, index = left - days, index + 1
    if processes <= 1:
        _init_worker(footage)
        return [_camera_job(job) for job in jobs]
    context = multiprocessing.get_context("spawn")
    with context.Pool(processes, _init_worker, (footage,)) as pool:
        return sorted(pool.imap_unordered(_camera_job, jobs), key=lambda r: r.camera)


def summary(runs: list[CameraRun], camera_days: float, seed: int, wall_s: float) -> dict:
    incidents = [i for run in runs for i in run.incidents]
    seen = sum((run.seen for run in runs), Counter())
    checks = sum(run.checks for run in runs)
    return {
        "camera_days": camera_days,
        "cameras": len(runs),
        "seed": seed,
        "checks": checks,
        "retries": sum(run.retries for run in runs),
        "false_incidents": len(incidents),
        "per_1000_camera_days": round(1000 * len(incidents) / max(camera_days, 1e-9), 3),
        "single_check_findings": dict(seen.most_common()),
        "cpu_ms_per_check": round(1000 * sum(run.cpu_s for run in runs) / max(checks, 1), 2),
        "wall_s": round(wall_s, 1),
        "incidents": [
            {
                "camera": i.camera,
                "scene": i.scene,
                "at": i.when(),
                "conditions": i.conditions,
                "period": i.period,
                "cause": i.cause,
                "metrics": i.metrics,
            }
            for i in incidents
        ],  # fmt: skip
    }


def table(result: dict) -> str:
    lines = [
        f"camera-days {result['camera_days']:g} ({result['cameras']} cameras), seed "
        f"{result['seed']}, {result['checks']:,} stream checks ({result['retries']:,} early "
        f"retries), {result['cpu_ms_per_check']} ms CPU per check, {result['wall_s']} s wall",
        "",
        "| false incidents | per 1,000 camera-days |",
        "|---:|---:|",
        f"| {result['false_incidents']} | {result['per_1000_camera_days']:.2f} |",
        "",
        "Single checks that saw a condition (not confirmed unless listed below): "
        + (", ".join(f"{k} x{v}" for k, v in result["single_check_findings"].items()) or "none"),
    ]
    if result["incidents"]:
        lines += ["", "| camera | scene | simulated time | opened | period | cause |",
                  "|---:|---|---|---|---|---|"]  # fmt: skip
        for i in result["incidents"]:
            opened = ", ".join(i["conditions"])
            lines.append(f"| {i['camera']} | {i['scene']} | {i['at']} | {opened} | "
                         f"{i['period']} | {i['cause']} |")  # fmt: skip
    return "\n".join(lines)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--camera-days", type=float, default=1000.0)
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--footage", type=Path, default=None,
                        help="real footage to loop (e.g. vtest.avi); without it, procedural scenes "
                        "only")  # fmt: skip
    parser.add_argument("--days-per-camera", type=float, default=10.0)
    parser.add_argument(
        "--procedural-share",
        type=float,
        default=0.25,
        help="share of cameras filming the simulator's procedural scene",
    )
    parser.add_argument("--processes", type=int, default=2, choices=(1, 2))
    args = parser.parse_args()
    if args.camera_days <= 0 or args.days_per_camera <= 0:
        parser.error("--camera-days and --days-per-camera must be positive")
    share = args.procedural_share if args.footage else 1.0
    started = time.perf_counter()
    runs = bench(args.camera_days, args.seed, args.footage, args.days_per_camera,
                 args.processes, share)  # fmt: skip
    result = summary(runs, args.camera_days, args.seed, time.perf_counter() - started)
    print(table(result))
    print(json.dumps(result, sort_keys=True))


if __name__ == "__main__":
    main()
