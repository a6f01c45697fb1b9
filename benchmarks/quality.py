"""Warm frames against independent ones: flicker, style, paint in newly revealed content, cost.

    python benchmarks/quality.py --size 512 --frames 25 --check 12 24 --crop 24 60 240 80 240
    python benchmarks/quality.py --size 256 --frames 132 --check 33 66 99 131

Renders the first ``--frames`` frames of the Big Buck Bunny clip with the
default preset twice, each as a fresh `vidstyle` process writing a PNG
sequence and a ``--report``: warm-started (``--warm-start flow``, the
default) and every frame on its own (``--warm-start none``, the reference;
``--reference DIR`` reuses an earlier one, e.g. across changes of the warm
frames only). Then, as `vidstyle check` measures them:

* E_warp of both (Farneback flow on the source, not the DIS flow vidstyle
  warps with) and their ratio (target: at most 0.25);
* the style loss of each ``--check`` frame, warm over independent (target:
  at most 1.05 each), and the content loss likewise;
* ``--crop N X0 X1 Y0 Y1``: the high-frequency energy (variance of the
  Laplacian of the grey image) of that crop of frame N, warm over
  independent (target: at least 0.9; at 512 px the crop of frame 24 is where
  the bunny comes out of its burrow);
* the median warm frame's cost in VGG-19 forward+backward passes
  (iterations, plus one forward for its content targets, a third of a pass;
  target: at most 12) and its time over the first frame's (target: at most
  0.2).

Writes the table to ``--out`` (default benchmarks/QUALITY_<size>.md).
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import time

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(HERE)
sys.path.insert(0, ROOT)
sys.path.insert(0, HERE)

import cv2  # noqa: E402
import numpy as np  # noqa: E402
import torch  # noqa: E402

from suite import SHARED, cpu_name, publish  # noqa: E402
from vidstyle import StyleOptions, images, metrics  # noqa: E402
from vidstyle.engine import Stylizer  # noqa: E402
from vidstyle.sources import open_sequence, open_source  # noqa: E402

TARGETS = dict(ewarp=0.25, style=1.05, hf=0.9, passes=12, later=0.2)


def render(clip: str, style: str, size: int, frames: int, mode: str, folder: str) -> dict:
    os.makedirs(folder, exist_ok=True)
    report = os.path.join(folder, "report.json")
    cmd = [sys.executable, os.path.join(ROOT, "cli.py"), clip, style, "-o", os.path.join(folder, "f.####.png"),
           "--size", str(size), "--frames", f"0-{frames - 1}", "--warm-start", mode, "--report", report, "-q",
           "--overwrite"]
    subprocess.run(cmd, check=True)
    with open(report) as handle:
        return json.load(handle)


def high_frequency(image: np.ndarray, box: tuple[int, int, int, int]) -> float:
    """Variance of the Laplacian of the grey crop x0:x1, y0:y1 of an (H, W, 3) float BGR image."""
    x0, x1, y0, y1 = box
    grey = cv2.cvtColor(images.quantise(image, 8), cv2.COLOR_BGR2GRAY)[y0:y1, x0:x1]
    return float(cv2.Laplacian(grey.astype(np.float64), cv2.CV_64F).var())


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--clip", default=os.path.join(SHARED, "clips", "bigbuckbunny.mp4"))
    ap.add_argument("--style", default=os.path.join(SHARED, "styles", "starry_night.jpg"))
    ap.add_argument("--size", type=int, default=512)
    ap.add_argument("--frames", type=int, default=25)
    ap.add_argument("--check", type=int, nargs="+", default=[12, 24])
    ap.add_argument("--crop", type=int, nargs=5, default=None, metavar=("FRAME", "X0", "X1", "Y0", "Y1"))
    ap.add_argument("--work", default=os.path.join(HERE, "out", "quality"))
    ap.add_argument("--reference", default=None, help="a folder with an earlier --warm-start none run")
    ap.add_argument("--out", default=None)
    args = ap.parse_args()
    began = time.perf_counter()
    warm_dir = os.path.join(args.work, f"flow{args.size}")
    ref_dir = args.reference or os.path.join(args.work, f"none{args.size}")
    warm = render(args.clip, args.style, args.size, args.frames, "flow", warm_dir)
    if args.reference is None:
        render(args.clip, args.style, args.size, args.frames, "none", ref_dir)
    pattern = lambda d: os.path.join(d, "f.####.png")  # noqa: E731
    checks = {name: metrics.check(args.clip, pattern(d)) for name, d in (("warm", warm_dir), ("none", ref_dir))}
    # Per-frame losses, as `vidstyle check` computes them (weight 1, fp32).
    source = open_source(args.clip)
    source.restrict(list(range(args.frames)))
    src = {f.number: f.pixels for f in source.frames() if f.number in args.check}
    outs = {name: {f.number: f.pixels for f in open_sequence(pattern(d)).frames() if f.number in args.check}
            for name, d in (("warm", warm_dir), ("none", ref_dir))}
    judge = Stylizer([images.read_image(args.style).pixels],
                     StyleOptions(size=None, content_weight=1.0, style_weight=1.0, tv_weight=0.0, precision="fp32"))

    def losses(img, content):
        with torch.no_grad():
            ct = judge.content_targets(images.to_tensor(images.resize(content, img.shape[:2]), judge.device))
            _, parts = judge.losses(images.to_tensor(img, judge.device), ct, judge.style_targets(*img.shape[:2]))
        return float(parts["style"]), float(parts["content"])

    rows = []
    for n in args.check:
        (sw, cw), (sn, cn) = losses(outs["warm"][n], src[n]), losses(outs["none"][n], src[n])
        rows.append((n, sw / sn, cw / cn))
    frames = warm["frames"]
    first, later = frames[0], [f for f in frames if not f["shot_start"]]
    its = statistics.median(f["iterations"] for f in later)
    passes = its + 1 / 3
    later_first = statistics.median(f["seconds"] for f in later) / first["seconds"]
    hf = None
    if args.crop:
        n, *box = args.crop
        warm_img = open_sequence(pattern(warm_dir)).files[n]
        none_img = open_sequence(pattern(ref_dir)).files[n]
        hf = high_frequency(images.read_image(warm_img).pixels, box) / high_frequency(
            images.read_image(none_img).pixels, box)
    ew = checks["warm"].ewarp / checks["none"].ewarp
    lines = [
        f"# Warm frames against independent ones, {args.size} px", "",
        f"Command: `python benchmarks/quality.py --size {args.size} --frames {args.frames} --check "
        f"{' '.join(map(str, args.check))}{' --crop ' + ' '.join(map(str, args.crop)) if args.crop else ''}"
        f"{' --reference ' + args.reference if args.reference else ''}` "
        f"({(time.perf_counter() - began) / 60:.0f} min)  ",
        f"Machine: {cpu_name()}, {os.cpu_count()} cores, torch {torch.__version__}  ",
        f"Input: first {args.frames} frames of {os.path.basename(args.clip)}, style {os.path.basename(args.style)}, "
        f"default preset; warm = `--warm-start flow`, independent = `--warm-start none`.", "",
        "| measure | warm | independent | warm / independent | target | met |", "|---|---|---|---|---|---|",
        f"| E_warp (source's own: {checks['none'].ewarp_source:.6f}) | {checks['warm'].ewarp:.6f} | "
        f"{checks['none'].ewarp:.6f} | {ew:.3f} | <= {TARGETS['ewarp']} | {'yes' if ew <= TARGETS['ewarp'] else 'NO'} |",
    ]
    for n, s, c in rows:
        lines.append(f"| style loss, frame {n} | | | {s:.3f} | <= {TARGETS['style']} | "
                     f"{'yes' if s <= TARGETS['style'] else 'NO'} |")
    for n, s, c in rows:
        lines.append(f"| content loss, frame {n} | | | {c:.3f} | - | - |")
    if hf is not None:
        lines.append(f"| high-frequency energy, frame {args.crop[0]} crop x {args.crop[1]}-{args.crop[2]}, "
                     f"y {args.crop[3]}-{args.crop[4]} | | | {hf:.3f} | >= {TARGETS['hf']} | "
                     f"{'yes' if hf >= TARGETS['hf'] else 'NO'} |")
    lines += [
        f"| warm frame: iterations (median) | {its:.0f} | | | | |",
        f"| warm frame: VGG forward+backward passes (median) | {passes:.1f} | | | <= {TARGETS['passes']} | "
        f"{'yes' if passes <= TARGETS['passes'] else 'NO'} |",
        f"| first frame s / later frame s (median) | {first['seconds']:.1f} / "
        f"{statistics.median(f['seconds'] for f in later):.1f} | | {later_first:.3f} | <= {TARGETS['later']} | "
        f"{'yes' if later_first <= TARGETS['later'] else 'NO'} |",
    ]
    publish(lines, args.out or os.path.join(HERE, f"QUALITY_{args.size}.md"))


if __name__ == "__main__":
    main()
