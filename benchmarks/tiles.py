"""Tiles against no tiles: the same picture (losses, no seams), and what the halo costs against its error.

    python benchmarks/tiles.py [--width 1024] [--tile 256] [--iterations 30] [--halos 32 64] [--out benchmarks/TILES.md]

1. The halo: at one point (the content image with noise) the tiled
   objective's style loss and gradient against the untiled ones, and the
   seconds of one evaluation (median of 3), for halos of 0, 32, 48, 64 and 96 px (tiles
   of ``--tile``); and a forward pass alone against an untiled evaluation
   (step 1's share).
2. The picture (issue #21, point 2): a still (samples/bunny.jpg enlarged to
   ``--width``, 1024x576) stylised with samples/brushstrokes.jpg, one
   level, ``--iterations`` iterations, tiles of ``--tile`` with each halo of
   ``--halos`` and no tiles: style and content loss of each (vidstyle check's,
   weight 1, fp32; target within 3%), and the seam: the mean gradient
   magnitude of the output along the tile borders over that one pixel away
   (target <= 1.15).

Writes docs/tile_corner.png: a crop across a tile corner, tiled | untiled.
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
from vidstyle import StyleOptions, Stylizer, images, metrics  # noqa: E402
from vidstyle.objective import Objective  # noqa: E402
from vidstyle.options import DEFAULT_HALO  # noqa: E402
from vidstyle.schedule import Plan  # noqa: E402
from vidstyle.tiles import TiledObjective, grid  # noqa: E402

TARGETS = dict(loss=0.03, seam=1.15)


def seam_ratio(image: np.ndarray, tile: int) -> float:
    """Mean gradient magnitude across the tile borders over that one pixel away (1 = no seam)."""
    grey = cv2.cvtColor(images.quantise(image, 8), cv2.COLOR_BGR2GRAY).astype(np.float64)
    h, w = grey.shape
    dx = np.abs(np.diff(grey, axis=1))   # dx[:, x] is between x and x+1
    dy = np.abs(np.diff(grey, axis=0))
    tiles = grid(h, w, tile, 0, 16)   # the borders the library's grid draws
    cols = sorted({t.x0 for t in tiles} - {0})
    rows = sorted({t.y0 for t in tiles} - {0})
    at = np.mean([dx[:, x - 1].mean() for x in cols] + [dy[y - 1, :].mean() for y in rows])
    near = np.mean([dx[:, x].mean() for x in cols] + [dx[:, x - 2].mean() for x in cols]
                   + [dy[y, :].mean() for y in rows] + [dy[y - 2, :].mean() for y in rows])
    return float(at / near)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--content", default=os.path.join(ROOT, "samples", "bunny.jpg"))
    ap.add_argument("--style", default=os.path.join(ROOT, "samples", "brushstrokes.jpg"))
    ap.add_argument("--width", type=int, default=1024)
    ap.add_argument("--tile", type=int, default=256)
    ap.add_argument("--iterations", type=int, default=30)
    ap.add_argument("--halos", type=int, nargs="+", default=[32, DEFAULT_HALO])
    ap.add_argument("--out", default=os.path.join(HERE, "TILES.md"))
    ap.add_argument("--crop", default=os.path.join(ROOT, "docs", "tile_corner.png"))
    args = ap.parse_args()
    began = time.perf_counter()
    photo = images.read_image(args.content).pixels
    h = round(photo.shape[0] * args.width / photo.shape[1])
    content = cv2.resize(photo, (args.width, h), interpolation=cv2.INTER_CUBIC).clip(0, 1)
    style = images.read_image(args.style).pixels
    base = StyleOptions(size=None, scales=1, iterations=args.iterations, tolerance=0.0, precision="fp32", tile=0)
    engine = Stylizer([style], base)

    # 1. the halo at one point
    c = images.to_tensor(content, engine.device)
    rng = torch.Generator().manual_seed(0)
    x = (c + 0.1 * torch.randn(c.shape, generator=rng)).clamp(0, 1)
    terms = engine.terms(c)
    def timed(objective, repeats: int = 3):
        """The evaluation at x and the median seconds of ``repeats`` of them."""
        seconds = []
        for _ in range(repeats):
            t0 = time.perf_counter()
            done = objective.evaluate(x)
            seconds.append(time.perf_counter() - t0)
        return done, statistics.median(seconds)

    whole, whole_s = timed(Objective(engine.net, terms))
    forward = []   # step 1's share: a forward pass alone, no graph (the backward computes no weight gradients)
    for _ in range(3):
        t0 = time.perf_counter()
        with torch.no_grad():
            engine.net(x, engine.layers)
        forward.append(time.perf_counter() - t0)
    forward_s = statistics.median(forward)
    halo_rows = []
    for halo in (0, 32, 48, 64, 96):
        tiled, seconds = timed(TiledObjective(engine.net, terms, args.tile, halo))
        halo_rows.append((halo, tiled.losses["style"] / whole.losses["style"] - 1,
                          float((tiled.grad - whole.grad).norm() / whole.grad.norm()), seconds / whole_s))
        print("halo", halo_rows[-1], flush=True)

    # 2. the picture
    runs = {}
    for name, tile, halo in (("no tiles", 0, DEFAULT_HALO),
                             *((f"tiles of {args.tile}, halo {h}", args.tile, h) for h in args.halos)):
        stylizer = Stylizer([style], base.replace(tile=tile, tile_halo=halo))
        times: list[float] = []
        last = [time.perf_counter()]

        def tick(p, times=times, last=last):
            now = time.perf_counter()
            times.append(now - last[0])
            last[0] = now

        out = stylizer.run(content, Plan(), tick).image
        runs[name] = (out, statistics.median(times[1:]))
        print(name, f"{statistics.median(times[1:]):.2f} s/iteration", flush=True)
    judge = metrics.judge([style])
    losses = {n: metrics.frame_losses(judge, out, content) for n, (out, _) in runs.items()}
    untiled = "no tiles"
    shown = DEFAULT_HALO if DEFAULT_HALO in args.halos else args.halos[0]   # the crop: the library's halo
    tiles = grid(content.shape[0], content.shape[1], args.tile, shown, 16)
    corner = next(t for t in tiles if t.y0 > 0 and t.x0 > 0)
    y, x0 = corner.y0, corner.x0
    crop = [runs[n][0][y - 48:y + 48, x0 - 48:x0 + 48] for n in (f"tiles of {args.tile}, halo {shown}", untiled)]
    if args.crop:
        big = [cv2.resize(cr, (288, 288), interpolation=cv2.INTER_NEAREST) for cr in crop]
        images.write_image(args.crop, np.concatenate([big[0], np.ones((288, 8, 3), np.float32), big[1]], axis=1))
    seam = {n: seam_ratio(runs[n][0], args.tile) for n in runs}
    verdicts = []
    for n in runs:
        if n == untiled:
            continue
        dl = {k: losses[n][k] / losses[untiled][k] - 1 for k in ("style", "content")}
        verdicts.append(f"{n} against no tiles: style {dl['style']:+.1%}, content {dl['content']:+.1%} (target "
                        f"within {TARGETS['loss']:.0%}); seam {seam[n]:.3f} (target <= {TARGETS['seam']}); time "
                        f"per iteration {runs[n][1] / runs[untiled][1]:.2f}x.")
    lines = [
        "# Tiles against no tiles (issue #21)",
        "",
        f"Command: `python benchmarks/tiles.py --width {args.width} --tile {args.tile} --iterations "
        f"{args.iterations} --halos {' '.join(map(str, args.halos))}{out_option(args.out, ap.get_default('out'))}` ({(time.perf_counter() - began) / 60:.0f} "
        f"min)  ",
        f"Machine: {cpu_name()}, {os.cpu_count()} cores, torch {torch.__version__} ({torch.get_num_threads()} "
        f"threads), fp32  ",
        f"Input: {os.path.relpath(args.content, ROOT)} at {content.shape[1]}x{content.shape[0]}, style "
        f"{os.path.basename(args.style)}, one level.",
        "",
        f"## The halo (tiles of {args.tile}, one evaluation at the content plus noise; seconds: median of 3)",
        "",
        "| halo px | style loss, tiled / untiled - 1 | gradient error (relative L2) | seconds, tiled / untiled |",
        "|---|---|---|---|",
        *[f"| {h} | {e:+.4f} | {g:.4f} | {s:.2f} |" for h, e, g, s in halo_rows],
        "",
        f"One untiled evaluation (forward and backward): {whole_s:.2f} s; a forward pass alone, no graph: "
        f"{forward_s:.2f} s ({forward_s / whole_s:.2f} of it: what step 1 adds before any halo).",
        "",
        f"## The picture ({args.iterations} iterations)",
        "",
        "| run | style loss | content loss | seam (border / one px away) | s / iteration (median) |",
        "|---|---|---|---|---|",
        *[f"| {n} | {losses[n]['style']:.4f} | {losses[n]['content']:.4f} | {seam[n]:.3f} | {runs[n][1]:.2f} |"
          for n in runs],
        "",
        *[f"- {v}" for v in verdicts],
        "",
        f"Crop across a tile corner (tiles of {args.tile}, halo {shown} | untiled): `{os.path.relpath(args.crop, ROOT)}`.",
    ]
    publish(lines, args.out)


if __name__ == "__main__":
    main()
