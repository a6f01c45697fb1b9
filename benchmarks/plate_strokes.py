"""Strokes at plate size: a 2048 px still optimised at full size only against the same still made coarse-to-fine.

    python benchmarks/plate_strokes.py [--width 2048] [--height 856] [--iterations 30] [--full-iterations 40]

Issue #21, point 5. VGG-19 sees a few hundred pixels around each position,
so an image optimised only at 2048 px gets strokes sized for that window:
small against the frame. Coarse-to-fine (``--scales``) settles the large
structures at a smaller size first. Each run's output is downscaled to 1024
px (area) and its style loss measured against the style at that size (the
look a viewer sees on a 1024 px screen; weight 1, fp32, ``metrics.judge``),
its content loss likewise; the full-size style loss is given too.

Runs (one process, one after the other, tolerance 0 so each runs its whole budget):
- full size only (``--scales 1``), ``--full-iterations`` iterations (about
  the seconds of the three-level run);
- ``--scales 2`` (1024, 2048) and ``--scales 3`` (512, 1024, 2048),
  ``--iterations`` per level, as the schedule gives every level.

Input: frame 50 of ../shared/data/clips/bigbuckbunny.mp4 (1280x720),
enlarged and cropped to ``--width`` x ``--height`` (2.39:1, a scope plate),
style ../shared/data/styles/starry_night.jpg. Writes docs/plate_strokes.jpg:
the same 512 px crop (at most) of each output at full size.
"""

from __future__ import annotations

import argparse
import os
import sys
import time

import cv2
import numpy as np

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(HERE)
sys.path.insert(0, ROOT)
sys.path.insert(0, HERE)

import torch  # noqa: E402

from suite import SHARED, cpu_name, out_option, publish  # noqa: E402
from vidstyle import StyleOptions, Stylizer, images, metrics  # noqa: E402
from vidstyle.schedule import Plan, level_sizes  # noqa: E402

COMPARE_SIDE = 1024


def plate(clip: str, width: int, height: int) -> np.ndarray:
    """Frame 50 of ``clip`` enlarged (bicubic) to ``width`` wide and centre-cropped to ``height``: (H, W, 3) BGR [0, 1]."""
    cap = cv2.VideoCapture(clip)
    cap.set(cv2.CAP_PROP_POS_FRAMES, 50)
    ok, frame = cap.read()
    cap.release()
    if not ok:
        sys.exit(f"cannot read frame 50 of {clip}")
    h = round(frame.shape[0] * width / frame.shape[1])
    big = cv2.resize(frame, (width, h), interpolation=cv2.INTER_CUBIC)
    top = max(0, (h - height) // 2)
    return (big[top:top + height].astype(np.float32) / 255.0).clip(0, 1)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--clip", default=os.path.join(SHARED, "clips", "bigbuckbunny.mp4"))
    ap.add_argument("--style", default=os.path.join(SHARED, "styles", "starry_night.jpg"))
    ap.add_argument("--width", type=int, default=2048)
    ap.add_argument("--height", type=int, default=856)
    ap.add_argument("--iterations", type=int, default=30, help="per level, coarse-to-fine runs")
    ap.add_argument("--full-iterations", type=int, default=40, help="the full-size-only run")
    ap.add_argument("--out", default=os.path.join(HERE, "PLATE_STROKES.md"))
    ap.add_argument("--picture", default=os.path.join(ROOT, "docs", "plate_strokes.jpg"))
    args = ap.parse_args()
    for path in (args.clip, args.style):
        if not os.path.exists(path):
            sys.exit(f"missing {path}: run next to ../shared/data or pass --clip/--style")
    began = time.perf_counter()
    content = plate(args.clip, args.width, args.height)
    style = images.read_image(args.style).pixels
    base = StyleOptions(size=None, coarsest=0, tolerance=0.0, precision="fp32", tile=0)
    runs = [("full size only", 1, args.full_iterations), ("coarse-to-fine, 2 levels", 2, args.iterations),
            ("coarse-to-fine, 3 levels", 3, args.iterations)]
    outputs: dict[str, tuple[np.ndarray, float, str, int]] = {}
    for name, scales, iterations in runs:
        stylizer = Stylizer([style], base.replace(scales=scales, iterations=iterations))
        t0 = time.perf_counter()
        outcome = stylizer.run(content, Plan())
        seconds = time.perf_counter() - t0
        sizes = " > ".join(str(w) for _, w in level_sizes(args.height, args.width, scales))
        outputs[name] = (outcome.image, seconds, sizes, outcome.iterations)
        print(name, f"{seconds / 60:.1f} min", flush=True)
        del stylizer, outcome

    judge = metrics.judge([style])
    small_h = round(args.height * COMPARE_SIDE / args.width)
    small_content = cv2.resize(content, (COMPARE_SIDE, small_h), interpolation=cv2.INTER_AREA)
    rows = []
    for name, (out, seconds, sizes, done) in outputs.items():
        small = cv2.resize(out, (COMPARE_SIDE, small_h), interpolation=cv2.INTER_AREA)
        at_small = metrics.frame_losses(judge, small, small_content)
        at_full = metrics.frame_losses(judge, out, content)
        rows.append((name, sizes, done, seconds, at_small["style"], at_small["content"], at_full["style"]))
        print(rows[-1], flush=True)
    best = min(r[4] for r in rows)

    if args.picture:   # the same 512 px crop (at most) of each output, side by side
        side = min(512, args.height, args.width)
        y, x = (args.height - side) // 2, (args.width - side) // 2
        strip = []
        for out, *_ in outputs.values():
            strip += [out[y:y + side, x:x + side], np.ones((side, 8, 3), np.float32)]
        images.write_image(args.picture, np.concatenate(strip[:-1], axis=1))

    lines = [
        "# Strokes at plate size: full size only against coarse-to-fine (issue #21, point 5)",
        "",
        f"Command: `python benchmarks/plate_strokes.py --width {args.width} --height {args.height} --iterations "
        f"{args.iterations} --full-iterations {args.full_iterations}{out_option(args.out, ap.get_default('out'))}` ({(time.perf_counter() - began) / 60:.0f} min)  ",
        f"Machine: {cpu_name()}, {os.cpu_count()} cores, torch {torch.__version__} ({torch.get_num_threads()} "
        f"threads), fp32, untiled  ",
        f"Input: frame 50 of {os.path.basename(args.clip)} enlarged to {args.width}x{args.height}, style "
        f"{os.path.basename(args.style)} (style_scale 1: its long side the level's), tolerance 0.",
        "",
        f"Style and content loss of each output downscaled to {COMPARE_SIDE} px, against the style and the content "
        f"at that size (weight 1, fp32); lower style loss = the look of the style at the size it is seen.",
        "",
        f"| schedule | level widths | iterations | minutes | style loss at {COMPARE_SIDE} | / best | content loss at "
        f"{COMPARE_SIDE} | style loss at {args.width} |",
        "|---|---|---|---|---|---|---|---|",
        *[f"| {n} | {s} | {d} | {sec / 60:.1f} | {st:.4f} | {st / best:.2f} | {c:.4f} | {sf:.4f} |"
          for n, s, d, sec, st, c, sf in rows],
        "",
        f"Crops (512 px at full size, in the table's order): `{os.path.relpath(args.picture, ROOT)}`.",
    ]
    publish(lines, args.out)


if __name__ == "__main__":
    main()
