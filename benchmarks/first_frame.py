"""A shot's first frame: where early stopping ends it, what loss it reaches, against an older commit.

    python benchmarks/first_frame.py [--size 256] [--base a5dd93a] [--out benchmarks/FIRST_FRAME.md]

One still (frame 0 of the clip at ``--size``, the style), optimised with
the default preset but early stopping off, so every iteration's loss is
recorded; each tree (this one, and ``--base REV`` checked out beside it)
runs in a fresh process of its own. Early stopping is deterministic (the
same iterations up to the stop), so the loss curve tells where each
``tolerance`` over ``patience`` iterations would stop and the best loss
reached by then, without running again: the table gives both for the
preset's tolerance and a few larger ones, and each tree's seconds per
iteration. It is how the first frame's tolerance was chosen (issue #18:
vidstyle's own L-BFGS keeps gaining past where torch's stalled).
Needs ../shared/data (or --clip/--style).
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
import time

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(HERE)
sys.path.insert(0, ROOT)
sys.path.insert(0, HERE)

from suite import SHARED, cpu_name, out_option, publish, tree  # noqa: E402

# Run inside a tree's own interpreter path: its vidstyle, its defaults, early stopping off.
PROBE = """
import json, sys, time
sys.path.insert(0, sys.argv[1])
import torch
from vidstyle import Stylizer, StyleOptions, images
content, style, size = images.read_image(sys.argv[2]).pixels, images.read_image(sys.argv[3]).pixels, int(sys.argv[4])
stylizer = Stylizer([style], StyleOptions(size=size, tolerance=0.0))
h, w = images.output_size(*content.shape[:2], size)
losses, began = [], time.perf_counter()
stylizer.stylize(images.resize(content, (h, w)), callback=lambda p: losses.append(p.loss))
print(json.dumps(dict(losses=losses, seconds=time.perf_counter() - began, size=[w, h],
                      tolerance=StyleOptions().tolerance)))
"""


def stop(losses: list[float], tolerance: float, patience: int) -> int:
    """The iteration (1-based) where ``optimize.Budget.settled``'s rule would end the run, or the last."""
    for n in range(patience + 1, len(losses) + 1):
        before = losses[n - 1 - patience]
        if before - losses[n - 1] < tolerance * before:
            return n
    return len(losses)


def curve(cli: str, content: str, style: str, size: int) -> dict:
    root = os.path.dirname(cli)
    out = subprocess.run([sys.executable, "-c", PROBE, root, content, style, str(size)], check=True,
                         capture_output=True, text=True).stdout
    return json.loads(out.strip().splitlines()[-1])


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--clip", default=os.path.join(SHARED, "clips", "bigbuckbunny.mp4"))
    ap.add_argument("--style", default=os.path.join(SHARED, "styles", "starry_night.jpg"))
    ap.add_argument("--size", type=int, default=256)
    ap.add_argument("--base", default=None, help="also run this commit, in the same run, and compare")
    ap.add_argument("--tolerances", type=float, nargs="+", default=[1e-3, 2e-3, 3e-3, 5e-3, 1e-2])
    ap.add_argument("--out", default=os.path.join(HERE, "FIRST_FRAME.md"))
    args = ap.parse_args()
    import cv2
    from vidstyle import StyleOptions
    from vidstyle.sources import open_source
    began = time.perf_counter()
    source = open_source(args.clip)
    source.restrict([0])
    source.check()
    frame = next(iter(source.frames())).pixels
    patience = StyleOptions().patience
    runs = {}
    with tempfile.TemporaryDirectory() as tmp:
        content = os.path.join(tmp, "frame0.png")
        cv2.imwrite(content, (frame * 65535 + 0.5).astype("uint16"))
        runs["this tree"] = curve(os.path.join(ROOT, "cli.py"), content, args.style, args.size)
        if args.base:
            with tree(args.base) as cli:
                runs[f"base {args.base}"] = curve(cli, content, args.style, args.size)
    w, h = runs["this tree"]["size"]
    lines = [
        "# A shot's first frame: early stop and loss", "",
        f"Command: `python benchmarks/first_frame.py --size {args.size}"
        f"{' --base ' + args.base if args.base else ''}"
        f"{' --tolerances ' + ' '.join(map(str, args.tolerances)) if args.tolerances != [1e-3, 2e-3, 3e-3, 5e-3, 1e-2] else ''}"
        f"{out_option(args.out, ap.get_default('out'))}` ({(time.perf_counter() - began) / 60:.0f} min)  ",
        f"Machine: {cpu_name()}, {os.cpu_count()} cores  ",
        f"Input: frame 0 of {os.path.basename(args.clip)} at {w}x{h}, style {os.path.basename(args.style)}, "
        f"each tree's default preset (its own tolerance marked, over {patience} iterations), each tree in a "
        f"fresh process with early stopping off; a stop is where that tolerance would end the run.", "",
        "| tree | tolerance | stops at iteration | best loss by then | / its run's lowest | s/iteration |",
        "|---|---|---|---|---|---|",
    ]
    for label, r in runs.items():
        # Each tree's losses by its own objective: trees with different networks (max or average
        # pooling) have different optima, so a loss compares only within its own run.
        losses = r["losses"]
        reference = min(losses)
        per_iteration = r["seconds"] / len(losses)
        for tol in args.tolerances:
            n = stop(losses, tol, patience)
            best = min(losses[:n])
            lines.append(f"| {label} | {tol:g}{' (its preset)' if tol == r['tolerance'] else ''} | {n} | {best:.4f} "
                         f"| {best / reference:.3f} | {per_iteration:.2f} |")
        lines.append(f"| {label} | 0 (all) | {len(losses)} | {min(losses):.4f} | {min(losses) / reference:.3f} "
                     f"| {per_iteration:.2f} |")
    publish(lines, args.out)


if __name__ == "__main__":
    main()
