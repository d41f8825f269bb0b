"""Evaluate vp_monitor.vision on labelled cases: real footage and generated scenes, each fault
injected at several strengths, plus unaltered pairs to measure false alarms.

    .venv/bin/python tools/eval_vision.py --footage /work/shared/data/footage/vtest.avi
"""

from __future__ import annotations

import argparse
import datetime
import math
import sys
import time
from collections import Counter, defaultdict
from dataclasses import dataclass
from pathlib import Path

import av
import cv2
import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from vp_monitor import conditions  # noqa: E402
from vp_monitor.vision import analyze  # noqa: E402

OUT_W, OUT_H = 640, 360
# A camera view is a window of this size (source pixels) cut from a larger source, so that a
# moved camera sees real scene content at its borders instead of padding.
WIN_W, WIN_H = 512, 288
GAP_S = 3.0  # previous frame: a keyframe captured a few seconds earlier
# The conditions vision finds on a picture, from the condition table, in its order.
CONDITIONS = tuple(name for name, row in conditions.CONDITIONS.items() if row.vision)


@dataclass
class Window:
    """Where the camera looks: centre in source pixels and roll in degrees."""

    cx: float
    cy: float
    angle: float = 0.0

    def shifted(self, dx: float, dy: float, angle: float = 0.0) -> Window:
        return Window(self.cx + dx, self.cy + dy, self.angle + angle)


def crop(source: np.ndarray, win: Window) -> np.ndarray:
    """Render the camera's view of `source` at the output size."""
    scale = OUT_W / WIN_W
    m = cv2.getRotationMatrix2D((win.cx, win.cy), win.angle, scale)
    m[0, 2] += OUT_W / 2 - win.cx
    m[1, 2] += OUT_H / 2 - win.cy
    return cv2.warpAffine(source, m, (OUT_W, OUT_H), flags=cv2.INTER_LINEAR)


class Footage:
    """Real courtyard footage; time in seconds maps to a decoded frame."""

    name = "footage"
    night = False

    def __init__(self, path: Path):
        self.frames = []
        with av.open(str(path)) as container:
            for frame in container.decode(video=0):
                self.frames.append(frame.to_ndarray(format="bgr24"))
        self.fps = 10.0
        h, w = self.frames[0].shape[:2]
        self.centre = Window(w / 2, h / 2)
        self.duration = len(self.frames) / self.fps

    def capture(self, t: float, win: Window, rng: np.random.Generator, fault=None) -> np.ndarray:
        source = self.frames[min(int(t * self.fps), len(self.frames) - 1)]
        image = crop(source, win)
        return fault(image) if fault else image


class Synthetic:
    """A generated scene: textured background, moving people and vehicles, sensor noise."""

    def __init__(self, seed: int, night: bool):
        self.rng = np.random.default_rng(seed)
        self.night = night
        self.name = "night" if night else "generated"
        self.background = self._background(1000, 700)
        self.centre = Window(500, 350)
        self.duration = 600.0
        self.noise = self.rng.uniform(5, 9) if night else self.rng.uniform(1, 3)
        count = 0 if night else int(self.rng.integers(4, 9))
        self.objects = [self._object() for _ in range(count)]

    def _background(self, w: int, h: int) -> np.ndarray:
        rng = self.rng
        img = np.zeros((h, w, 3), np.float32)
        sky = rng.uniform(120, 220, 3)
        ground = rng.uniform(50, 130, 3)
        horizon = int(h * rng.uniform(0.25, 0.45))
        img[:horizon] = sky
        img[horizon:] = ground
        for _ in range(25):  # buildings with windows
            x, bw = int(rng.integers(0, w)), int(rng.integers(40, 160))
            top, colour = int(rng.integers(horizon - 150, horizon + 100)), rng.uniform(40, 220, 3)
            cv2.rectangle(img, (x, top), (x + bw, h), colour.tolist(), -1)
            for wy in range(top + 10, h - 20, 25):
                for wx in range(x + 8, x + bw - 12, 20):
                    cv2.rectangle(
                        img, (wx, wy), (wx + 8, wy + 12), rng.uniform(10, 250, 3).tolist(), -1
                    )
        for _ in range(40):  # poles, kerbs, markings
            p1 = (int(rng.integers(0, w)), int(rng.integers(0, h)))
            p2 = (p1[0] + int(rng.integers(-200, 200)), p1[1] + int(rng.integers(-200, 200)))
            cv2.line(img, p1, p2, rng.uniform(0, 255, 3).tolist(), int(rng.integers(1, 4)))
        for _ in range(15):  # trees: noisy blobs
            c = (int(rng.integers(0, w)), int(rng.integers(horizon - 50, h)))
            r = int(rng.integers(20, 60))
            cv2.circle(img, c, r, rng.uniform(20, 120, 3).tolist(), -1)
        grain = cv2.GaussianBlur(rng.normal(0, 25, (h, w)).astype(np.float32), (0, 0), 1.5)
        img += grain[..., None]
        if self.night:
            grey = img.mean(axis=2) * 0.6
            yy, xx = np.mgrid[0:h, 0:w]
            falloff = 1.2 - 0.8 * np.hypot((xx - w / 2) / w, (yy - h * 0.7) / h)
            img = np.repeat((grey * falloff)[..., None], 3, axis=2)
        return np.clip(img, 0, 255).astype(np.float32)

    def _object(self) -> dict:
        rng = self.rng
        vehicle = rng.random() < 0.3
        size = (
            (int(rng.integers(60, 110)), int(rng.integers(30, 50)))
            if vehicle
            else (int(rng.integers(12, 20)), int(rng.integers(35, 55)))
        )
        speed = rng.uniform(15, 40) if vehicle else rng.uniform(2, 8)
        direction = rng.uniform(0, 2 * math.pi)
        return {
            "pos": rng.uniform((250, 200), (750, 550)),
            "vel": speed * np.array([math.cos(direction), math.sin(direction)]),
            "size": size,
            "colour": rng.uniform(0, 255, 3).tolist(),
        }

    def render(self, t: float) -> np.ndarray:
        img = self.background.copy()
        for obj in self.objects:
            x, y = obj["pos"] + obj["vel"] * t
            x, y = 200 + (x - 200) % 600, 150 + (y - 150) % 450
            w, h = obj["size"]
            cv2.rectangle(img, (int(x), int(y)), (int(x) + w, int(y) + h), obj["colour"], -1)
        return img

    def capture(self, t: float, win: Window, rng: np.random.Generator, fault=None) -> np.ndarray:
        image = crop(self.render(t), win)
        if fault:  # optical faults happen before the sensor adds its noise
            image = fault(image)
        image = image.astype(np.float32) + rng.normal(0, self.noise, image.shape[:2])[..., None]
        return np.clip(image, 0, 255).astype(np.uint8)


def jpeg(image: np.ndarray, quality: int) -> np.ndarray:
    """Round-trip through JPEG at `quality`."""
    ok, data = cv2.imencode(".jpg", image, [cv2.IMWRITE_JPEG_QUALITY, int(quality)])
    return cv2.imdecode(data, cv2.IMREAD_COLOR)


def h264(image: np.ndarray, crf: int) -> np.ndarray:
    """Round-trip one frame through H.264 (libx264) at constant rate factor `crf`."""
    enc = av.CodecContext.create("libx264", "w")
    enc.width, enc.height, enc.pix_fmt = image.shape[1], image.shape[0], "yuv420p"
    enc.options = {"crf": str(crf), "preset": "veryfast", "tune": "zerolatency"}
    packets = enc.encode(av.VideoFrame.from_ndarray(image, format="bgr24")) + enc.encode(None)
    dec = av.CodecContext.create("h264", "r")
    frames = [f for p in packets for f in dec.decode(p)] + dec.decode(None)
    return frames[0].to_ndarray(format="bgr24")


def encode(image: np.ndarray, rng: np.random.Generator) -> np.ndarray:
    """What a probe decodes: the picture after the camera's encoder."""
    if rng.random() < 0.3:
        return h264(image, int(rng.integers(20, 30)))
    return jpeg(image, int(rng.integers(60, 96)))


# ---- faults: functions on a clean BGR view --------------------------------------------------


def gain(g: float, offset: float = 0.0):
    return lambda im: np.clip(im.astype(np.float32) * g + offset, 0, 255).astype(np.uint8)


def blur(sigma: float):
    return lambda im: cv2.GaussianBlur(im, (0, 0), sigma)


def cover_mask(rng: np.random.Generator, share: float, kind: str) -> np.ndarray:
    """A soft mask hiding about `share` of the view, shaped like tape, a hand or a paint blob."""
    yy, xx = np.mgrid[0:OUT_H, 0:OUT_W].astype(np.float32)
    if kind == "hand":
        # A palm entering from one side, fingers beyond it, out of focus.
        mask = np.zeros((OUT_H, OUT_W), np.float32)
        cx, cy = OUT_W * rng.uniform(0.3, 0.7), OUT_H * rng.uniform(0.5, 1.0)
        axes = (int(OUT_W * share * 0.75), int(OUT_H * share * 1.1))
        cv2.ellipse(mask, (int(cx), int(cy)), axes, rng.uniform(-30, 30), 0, 360, 1.0, -1)
        for k in range(4):
            fx = int(cx + (k - 1.5) * axes[0] * 0.45)
            cv2.line(mask, (fx, int(cy)), (fx, int(cy - axes[1] * 1.6)), 1.0, int(axes[0] * 0.35))
        if share > 0.9:
            mask[:] = 1.0
    else:
        # Low-frequency noise thresholded at the quantile that leaves `share` covered.
        field = cv2.GaussianBlur(rng.normal(0, 1, (OUT_H, OUT_W)).astype(np.float32), (0, 0), 40)
        field += (xx / OUT_W - 0.5) * rng.uniform(-0.02, 0.02)
        mask = (field <= np.quantile(field, share)).astype(np.float32)
    return cv2.GaussianBlur(mask, (0, 0), 8)


def cover(kind: str, share: float, rng: np.random.Generator):
    """Hide `share` of the view with a dark or light object, spray paint or a hand."""
    mask = cover_mask(rng, share, kind)
    yy = np.linspace(0, 1, OUT_H, dtype=np.float32)[:, None, None]
    if kind == "dark":
        colour = rng.uniform(25, 60) + 15 * yy + np.zeros((1, OUT_W, 3), np.float32)
    elif kind == "light":
        colour = rng.uniform(160, 225) - 20 * yy + np.zeros((1, OUT_W, 3), np.float32)
    elif kind == "spray":
        colour = np.array(rng.uniform(20, 230, 3), np.float32) + 10 * yy
    else:  # hand: skin, shaded, seen far out of focus
        colour = np.array([90, 120, 170], np.float32) * rng.uniform(0.4, 1.1) * (0.8 + 0.3 * yy)
    alpha = rng.uniform(0.9, 1.0) if kind == "spray" else 1.0

    def apply(im: np.ndarray) -> np.ndarray:
        paint = np.broadcast_to(colour, im.shape)
        a = (mask * alpha)[..., None]
        return np.clip(im * (1 - a) + paint * a, 0, 255).astype(np.uint8)

    return apply


# ---- cases -----------------------------------------------------------------------------------


def pair_times(scene, rng: np.random.Generator) -> tuple[float, float, float]:
    """Reference time (a different moment), previous and current a few seconds apart."""
    t_ref = rng.uniform(0, scene.duration - GAP_S - 1)
    t_prev = rng.uniform(0, scene.duration - GAP_S - 1)
    return t_ref, t_prev, t_prev + GAP_S


def normal_case(scene, rng: np.random.Generator) -> tuple:
    """An unaltered pair: moving people, lighting drift, compression, 1-2 px vibration, noise."""
    t_ref, t_prev, t_cur = pair_times(scene, rng)
    drift = gain(rng.uniform(0.8, 1.2), rng.uniform(-8, 8))
    jitter = lambda: scene.centre.shifted(*rng.uniform(-2, 2, 2))  # noqa: E731
    ref = encode(scene.capture(t_ref, scene.centre, rng), rng)
    prev = encode(drift(scene.capture(t_prev, jitter(), rng)), rng)
    cur = encode(drift(scene.capture(t_cur, jitter(), rng)), rng)
    return ref, prev, cur


def fault_case(scene, condition: str, level: int, rng: np.random.Generator) -> tuple:
    """A pair where the current frame shows `condition` at strength `level` (0..2)."""
    t_ref, t_prev, t_cur = pair_times(scene, rng)
    ref = encode(scene.capture(t_ref, scene.centre, rng), rng)
    prev = encode(scene.capture(t_prev, scene.centre, rng), rng)
    win, fault = scene.centre, None
    if condition == "black":
        noise = rng.normal(0, 1.5, (OUT_H, OUT_W, 1))
        black = np.clip((0, 8, 16)[level] + noise, 0, 255).astype(np.uint8).repeat(3, axis=2)
        return ref, prev, encode(black, rng)
    if condition == "frozen":
        still = scene.capture(t_prev, scene.centre, rng)
        q1, q2 = rng.choice(np.arange(50, 96), 2, replace=False)
        if rng.random() < 0.5:
            return ref, jpeg(still, q1), jpeg(still, q2)
        return ref, h264(still, int(q1) // 3), h264(still, int(q2) // 3)
    if condition == "blurred":
        fault = blur((2.5, 4.0, 6.0)[level])
    elif condition == "covered":
        kind = ("dark", "light", "spray", "hand")[int(rng.integers(0, 4))]
        fault = cover(kind, (0.6, 0.8, 1.0)[level], rng)
    elif condition == "moved":
        if rng.random() < 0.5:
            pct = (5, 12, 25)[level] / 100
            angle = rng.uniform(0, 2 * math.pi)
            win = win.shifted(WIN_W * pct * math.cos(angle), WIN_H * pct * math.sin(angle))
        else:
            win = win.shifted(0, 0, rng.choice([-1, 1]) * (3, 6, 10)[level])
        prev = encode(scene.capture(t_prev, win, rng), rng)
    elif condition == "overexposed":
        fault = gain((2.2, 2.8, 3.5)[level], 20)
    elif condition == "underexposed":
        fault = gain((0.35, 0.25, 0.18)[level])
    return ref, prev, encode(scene.capture(t_cur, win, rng, fault), rng)


def scenes(footage: Path) -> list:
    """The real footage and a few generated day and night scenes."""
    return (
        [Footage(footage)]
        + [Synthetic(s, False) for s in range(3)]
        + [Synthetic(10 + s, True) for s in range(2)]
    )


def evaluate(footage: Path, repeats: int, seed: int) -> dict:
    """Run every case; return per-condition hits, false alarms and timings."""
    rng = np.random.default_rng(seed)
    hits, totals, extras = Counter(), Counter(), defaultdict(Counter)
    false_alarms, normals, alarms_by = 0, 0, Counter()
    times = []

    def run(ref, prev, cur):
        start = time.perf_counter()
        result = analyze(cur, reference=ref, previous=prev)
        times.append(time.perf_counter() - start)
        return result.conditions

    for scene in scenes(footage):
        weight = 3 if scene.name == "footage" else 1
        for _ in range(repeats * 10 * weight):
            found = run(*normal_case(scene, rng))
            normals += 1
            if found:
                false_alarms += 1
                alarms_by.update(f"{scene.name}:{c}" for c in found)
        for condition in CONDITIONS:
            if scene.night and condition in ("overexposed", "underexposed"):
                continue  # an infrared night picture is exposed by its own illuminator
            for level in range(3):
                for _ in range(repeats * weight):
                    found = run(*fault_case(scene, condition, level, rng))
                    totals[condition] += 1
                    hits[condition] += condition in found
                    if condition not in found:
                        extras[condition][f"{scene.name}/L{level}:missed"] += 1
                    extras[condition].update(c for c in found if c != condition)
    return {
        "hits": hits,
        "totals": totals,
        "extras": extras,
        "false_alarms": false_alarms,
        "normals": normals,
        "alarms_by": alarms_by,
        "ms": 1000 * float(np.mean(times)),
        "p95_ms": 1000 * float(np.percentile(times, 95)),
        "clean_ms": time_one_call(scenes(footage)[0], rng),
    }


def time_one_call(scene, rng: np.random.Generator, calls: int = 200) -> float:
    """Mean ms of analyze() on one live 640x360 case with reference and previous, in a loop."""
    ref, prev, cur = normal_case(scene, rng)
    analyze(cur, reference=ref, previous=prev)
    start = time.perf_counter()
    for _ in range(calls):
        analyze(cur, reference=ref, previous=prev)
    return 1000 * (time.perf_counter() - start) / calls


def report(results: dict, command: str) -> str:
    """Markdown table of recall per condition and the false-alarm rate."""
    lines = [
        "# Vision benchmark",
        "",
        f"Command: `{command}`  ",
        f"Date: {datetime.date.today().isoformat()}",
        "",
        "Cases: the real courtyard footage (vtest.avi, 768x576, people walking; weighted x3) and",
        "five generated scenes (three day scenes with moving people and vehicles, two still",
        "monochrome infrared-like night scenes with strong sensor noise). Each camera view is a",
        "512x288 window of the source rendered at 640x360; the reference is taken at another",
        "moment, the previous frame 3 s before the current one; every frame goes through JPEG",
        "(q 60-95) or H.264 (crf 20-29). Faults at three strengths: black (level 0/8/16 plus",
        "noise), frozen (one picture encoded twice at different JPEG qualities or H.264 crf),",
        "blurred (sigma 2.5/4/6 px), covered 60/80/100% (dark, light, spray paint, out-of-focus",
        "hand), moved (pan/tilt 5/12/25% of the frame or roll 3/6/10 degrees), overexposed (gain",
        "2.2/2.8/3.5), underexposed (gain 0.35/0.25/0.18; not on night scenes). Unaltered pairs:",
        "people moving, lighting drift x0.8-1.2 +/-8 levels, compression, 1-2 px vibration,",
        "night sensor noise. A case counts as detected when its condition is among those raised;",
        "a false alarm is any condition raised on an unaltered pair.",
        "",
        "| condition | cases | recall | other conditions raised / misses |",
        "|---|---:|---:|---|",
    ]
    for c in CONDITIONS:
        n, k = results["totals"][c], results["hits"][c]
        other = ", ".join(f"{name} x{v}" for name, v in results["extras"][c].most_common(6))
        lines.append(f"| {c} | {n} | {k / n:.3f} | {other or '-'} |")
    fa, n = results["false_alarms"], results["normals"]
    by = ", ".join(f"{k} x{v}" for k, v in results["alarms_by"].most_common())
    lines += [
        "",
        f"False alarms on unaltered pairs: {fa}/{n} = {fa / n:.3%} ({by or 'none'})",
        "",
        f"analyze() at 640x360 with reference and previous: {results['clean_ms']:.2f} ms per "
        f"call (one live case, 200 calls); over all cases mean {results['ms']:.2f} ms, "
        f"p95 {results['p95_ms']:.2f} ms",
    ]
    return "\n".join(lines) + "\n"


def main() -> None:
    """Command-line entry point."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--footage", type=Path, required=True)
    parser.add_argument("--repeats", type=int, default=6, help="cases per scene, fault, level")
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--write", type=Path, help="also write the markdown table here")
    args = parser.parse_args()
    cv2.setRNGSeed(args.seed)
    results = evaluate(args.footage, args.repeats, args.seed)
    text = report(results, "python " + " ".join(sys.argv))
    print(text)
    if args.write:
        args.write.write_text(text)


if __name__ == "__main__":
    main()
