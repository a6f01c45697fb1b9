"""Regional styles (mattes, guided Gram matrices): as strong as unmasked, no bleed, and what it costs.

    python benchmarks/regions.py [--size 256] [--iterations 150] [--out benchmarks/REGIONS.md]

One still (samples/bunny.jpg) with two styles (samples/brushstrokes.jpg,
samples/mosaic.png), three runs of the same options and iterations, one
after the other in this process:

* style A alone over the whole frame; style B alone over the whole frame;
* both with mattes: A inside the left half, B inside the right half
  (``--mask`` does the same through ``Plan.guides``).

Measured on each half of the outputs (vidstyle check's losses: weight 1,
fp32, each half against a style at the half's size):

* strength: a half's style loss against its own style, masked run over the
  whole-frame run with that style alone (target <= 1.2, issue #19);
* no bleed: in the masked run, a half's loss against its own style over its
  loss against the other style (target <= 0.5);
* cost: seconds per iteration, masked over unmasked (the mean of A and B).

Also writes docs/regions_still.png (content | A alone | B alone | masked).
Needs only the samples.
"""

from __future__ import annotations

import argparse
import os
import statistics
import sys
import time

import cv2
import numpy as np

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(HERE)
sys.path.insert(0, ROOT)
sys.path.insert(0, HERE)

import torch  # noqa: E402

from suite import cpu_name, out_option, publish  # noqa: E402
from vidstyle import StyleOptions, Stylizer, images, mattes, metrics  # noqa: E402
from vidstyle.schedule import Plan  # noqa: E402

TARGETS = dict(strength=1.2, bleed=0.5)


def timed_run(stylizer: Stylizer, content: np.ndarray, plan: Plan) -> tuple[np.ndarray, float]:
    """The image and its seconds per iteration."""
    began = time.perf_counter()
    outcome = stylizer.run(content, plan)
    return outcome.image, (time.perf_counter() - began) / outcome.iterations


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--content", default=os.path.join(ROOT, "samples", "bunny.jpg"))
    ap.add_argument("--styles", nargs=2, default=[os.path.join(ROOT, "samples", "brushstrokes.jpg"),
                                                  os.path.join(ROOT, "samples", "mosaic.png")])
    ap.add_argument("--size", type=int, default=256)
    ap.add_argument("--iterations", type=int, default=150)
    ap.add_argument("--out", default=os.path.join(HERE, "REGIONS.md"))
    ap.add_argument("--picture", default=os.path.join(ROOT, "docs", "regions_still.png"))
    args = ap.parse_args()
    began = time.perf_counter()
    plate = images.read_image(args.content).pixels
    styles = [images.read_image(p).pixels for p in args.styles]
    options = StyleOptions(size=args.size, iterations=args.iterations, tolerance=0.0)
    h, w = images.output_size(*plate.shape[:2], args.size)
    content = images.resize(plate, (h, w))
    left = np.zeros((h, w), np.float32)
    left[:, : w // 2] = 1.0
    regions = [left, 1.0 - left]

    alone = {}
    per_iteration = {}
    for k, name in enumerate("AB"):
        alone[name], per_iteration[name] = timed_run(Stylizer([styles[k]], options), content, Plan())
    both = Stylizer(styles, options)
    masked, per_iteration["masked"] = timed_run(both, content, Plan(guides=mattes.guides(regions)))

    judges = {name: metrics.judge([styles[k]]) for k, name in enumerate("AB")}
    halves = {"left": (slice(None), slice(0, w // 2)), "right": (slice(None), slice(w // 2, w))}
    own = {"left": "A", "right": "B"}

    def loss(image: np.ndarray, half: str, style: str) -> float:
        cut = halves[half]
        return metrics.frame_losses(judges[style], np.ascontiguousarray(image[cut]),
                                    np.ascontiguousarray(content[cut]))["style"]

    rows = []
    for half, mine in own.items():
        other = "B" if mine == "A" else "A"
        strength = loss(masked, half, mine) / loss(alone[mine], half, mine)
        bleed = loss(masked, half, mine) / loss(masked, half, other)
        rows.append((half, mine, strength, bleed))
    cost = per_iteration["masked"] / statistics.mean([per_iteration["A"], per_iteration["B"]])

    strip = np.hstack([content, alone["A"], alone["B"], masked])
    cv2.imwrite(args.picture, images.quantise(strip, 8))
    names = [os.path.basename(p) for p in args.styles]
    lines = [
        "# Regional styles: strength, bleed and cost", "",
        f"Command: `python benchmarks/regions.py --size {args.size} --iterations {args.iterations}{out_option(args.out, ap.get_default('out'))}` "
        f"({(time.perf_counter() - began) / 60:.0f} min)  ",
        f"Machine: {cpu_name()}, {os.cpu_count()} cores, torch {torch.__version__} ({torch.get_num_threads()} "
        f"threads)  ",
        f"Input: {os.path.basename(args.content)} at {w}x{h}; style A {names[0]}, style B {names[1]}; "
        f"{args.iterations} iterations each, early stop off; masked: A inside the left half, B inside the right "
        f"(guided Gram matrices). Losses: vidstyle check's, each half at its own size.", "",
        "| half | its style | style loss, masked / that style alone (target <= "
        f"{TARGETS['strength']}) | masked: own style / other style (target <= {TARGETS['bleed']}) |",
        "|---|---|---|---|",
    ]
    for half, mine, strength, bleed in rows:
        lines.append(f"| {half} | {mine} | {strength:.3f} | {bleed:.3f} |")
    lines += ["", f"Seconds per iteration: A alone {per_iteration['A']:.3f}, B alone {per_iteration['B']:.3f}, "
                  f"masked (both styles) {per_iteration['masked']:.3f}: masked / unmasked **{cost:.2f}x**.", "",
              f"Picture: `{os.path.relpath(args.picture, ROOT)}` (content | A alone | B alone | masked)."]
    publish(lines, args.out)


if __name__ == "__main__":
    main()
