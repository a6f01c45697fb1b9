"""Temporal stability against style: --warm-start none | previous | flow on a real clip.

    python benchmarks/temporal.py [--frames 8] [--size 256] [--out benchmarks/temporal.md]

For each mode: seconds for the first frame and (median) later frames,
iterations per frame, the warping error E_warp of the output and of the
source clip itself (Lai et al. 2018), and the style and content loss of the
output frames (vidstyle's fp32 losses, the same for every mode).

E_warp here uses OpenCV's Farneback flow with its own forward-backward
occlusion check, NOT the DIS flow the stylisation uses, so the metric does
not grade its own homework: flow on the source frames t -> t-1, warp output
t-1 into frame t, squared RGB error in [0, 1] over non-occluded pixels,
averaged over frame pairs.

Needs ../shared/data (Big Buck Bunny, Starry Night) or --clip/--style.
"""

from __future__ import annotations

import argparse
import os
import platform
import statistics
import sys
import tempfile
import time

import cv2
import numpy as np
import torch

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(HERE)
sys.path.insert(0, ROOT)

import vidstyle  # noqa: E402
from vidstyle import StyleOptions, VideoOptions, images  # noqa: E402
from vidstyle.engine import Stylizer  # noqa: E402

SHARED = os.path.join(ROOT, "..", "shared", "data")


def farneback(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    """Flow from a to b ((H, W, 3) float BGR): a(p) ~ b(p + flow(p))."""
    ga = cv2.cvtColor(np.round(a * 255).astype(np.uint8), cv2.COLOR_BGR2GRAY)
    gb = cv2.cvtColor(np.round(b * 255).astype(np.uint8), cv2.COLOR_BGR2GRAY)
    return cv2.calcOpticalFlowFarneback(ga, gb, None, 0.5, 4, 15, 5, 5, 1.1, 0)


def sample(image: np.ndarray, flow: np.ndarray) -> np.ndarray:
    h, w = flow.shape[:2]
    gx, gy = np.meshgrid(np.arange(w, dtype=np.float32), np.arange(h, dtype=np.float32))
    return cv2.remap(image, gx + flow[..., 0], gy + flow[..., 1], cv2.INTER_LINEAR, borderMode=cv2.BORDER_REPLICATE)


def warping_error(frames: list[np.ndarray], sources: list[np.ndarray]) -> float:
    errors = []
    for t in range(1, len(frames)):
        back = farneback(sources[t], sources[t - 1])
        fwd = farneback(sources[t - 1], sources[t])
        round_trip = back + sample(fwd, back)
        mask = (round_trip ** 2).sum(-1) < 0.01 * ((back ** 2).sum(-1) + (sample(fwd, back) ** 2).sum(-1)) + 0.5
        diff = (sample(frames[t - 1], back) - frames[t]) ** 2
        errors.append(float((mask[..., None] * diff).sum() / max(mask.sum() * 3, 1)))
    return float(np.mean(errors))


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--clip", default=os.path.join(SHARED, "clips", "bigbuckbunny.mp4"))
    ap.add_argument("--style", default=os.path.join(SHARED, "styles", "starry_night.jpg"))
    ap.add_argument("--frames", type=int, default=8)
    ap.add_argument("--size", type=int, default=256)
    ap.add_argument("--iterations", type=int, default=StyleOptions().iterations)
    ap.add_argument("--warm-iterations", type=int, default=VideoOptions().warm_iterations)
    ap.add_argument("--modes", nargs="+", default=["none", "previous", "flow"])
    ap.add_argument("--out", default=os.path.join(HERE, "temporal.md"))
    args = ap.parse_args()
    for path in (args.clip, args.style):
        if not os.path.exists(path):
            sys.exit(f"missing {path}: run next to ../shared/data or pass --clip/--style")
    options = StyleOptions(size=args.size, iterations=args.iterations)
    frames = tuple(range(args.frames))
    cap = cv2.VideoCapture(args.clip)
    sources = []
    for _ in frames:
        ok, f = cap.read()
        sources.append(f.astype(np.float32) / 255)
    cap.release()
    size = images.fit_size(*sources[0].shape[:2], args.size)
    sources = [images.resize(s, size) for s in sources]
    judge = Stylizer([images.read_image(args.style).pixels], options.replace(precision="fp32"))
    source_ewarp = warping_error(sources, sources)
    rows = []
    with tempfile.TemporaryDirectory() as tmp:
        for mode in args.modes:
            pattern = os.path.join(tmp, f"{mode}.####.png")
            t = time.perf_counter()
            summary = vidstyle.stylize_video(args.clip, args.style, pattern, options,
                                             VideoOptions(warm_start=mode, warm_iterations=args.warm_iterations,
                                                          frames=frames))
            wall = time.perf_counter() - t
            out = [images.read_image(os.path.join(tmp, f"{mode}.{n:04d}.png")).pixels for n in frames]
            style_l, content_l = [], []
            for src, o in zip(sources, out):
                with torch.no_grad():
                    ct = judge.content_targets(images.to_tensor(src))
                    _, parts = judge.losses(images.to_tensor(o), ct, judge.style_targets(*size))
                style_l.append(float(parts["style"]))
                content_l.append(float(parts["content"]))
            first = summary.frames[0].seconds
            later = statistics.median(r.seconds for r in summary.frames[1:])
            rows.append(dict(mode=mode, wall=wall, first=first, later=later,
                             its=statistics.median(r.iterations for r in summary.frames[1:]),
                             first_its=summary.frames[0].iterations, ewarp=warping_error(out, sources),
                             style=float(np.mean(style_l)), content=float(np.mean(content_l))))
            print(rows[-1], flush=True)
    base = next((r for r in rows if r["mode"] == "none"), rows[0])
    lines = [
        "# Temporal stability (CPU)", "",
        f"Command: `python benchmarks/temporal.py --frames {args.frames} --size {args.size}`  ",
        f"Machine: {platform.machine()}, {os.cpu_count()} cores, torch {torch.__version__}; clip: first "
        f"{args.frames} frames of {os.path.basename(args.clip)} at {size[1]}x{size[0]}, style: "
        f"{os.path.basename(args.style)}; iterations {args.iterations} (first frame of a shot), "
        f"warm {args.warm_iterations}", "",
        f"Source clip's own E_warp (the floor set by the flow's error): {source_ewarp:.6f}", "",
        "| warm start | first frame s | later frames s (median) | later/first | iterations first / later | "
        "E_warp | E_warp / none | E_warp / source | style loss | style / none | content loss |",
        "|---|---|---|---|---|---|---|---|---|---|---|",
    ]
    for r in rows:
        lines.append(f"| {r['mode']} | {r['first']:.1f} | {r['later']:.1f} | {r['later'] / r['first']:.2f} | "
                     f"{r['first_its']} / {r['its']:.0f} | {r['ewarp']:.6f} | {r['ewarp'] / base['ewarp']:.3f} | "
                     f"{r['ewarp'] / source_ewarp:.2f} | {r['style']:.4f} | {r['style'] / base['style']:.2f} | "
                     f"{r['content']:.4f} |")
    with open(args.out, "w") as handle:
        handle.write("\n".join(lines) + "\n")
    print("\n".join(lines))


if __name__ == "__main__":
    main()
