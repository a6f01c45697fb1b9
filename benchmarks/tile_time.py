"""Tiled against untiled seconds per evaluation, timed in turn in one process.

    python benchmarks/tile_time.py [--sizes 720p 1080p 2K] [--tile 512] [--halo 64] [--rounds 3]
                                   [--out benchmarks/TILE_TIME.md]

memory.py times each run in a fresh process (it needs the process's peak
memory), minutes apart, so its tiled / untiled ratio is two single readings
of a noisy host. Here one process holds both objectives of an image and
evaluates them alternately (untiled, tiled, untiled, ...) ``--rounds``
times at the same point (samples/bunny.jpg enlarged, plus noise; fp32, one
level); the ratio is of the medians. An evaluation is what an L-BFGS
iteration costs beside its small algebra (``Objective.evaluate`` against
``tiles.TiledObjective.evaluate``). Issue #21's target: at most 1.6x.

Needs only the samples.
"""

from __future__ import annotations

import argparse
import os
import statistics
import sys
import time

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(HERE)
sys.path.insert(0, HERE)
sys.path.insert(0, ROOT)

import cv2  # noqa: E402
import torch  # noqa: E402

from memory import SIZES  # noqa: E402
from suite import cpu_name, out_option, publish  # noqa: E402
from vidstyle import StyleOptions, Stylizer, images  # noqa: E402
from vidstyle.objective import Objective  # noqa: E402
from vidstyle.options import DEFAULT_HALO  # noqa: E402
from vidstyle.tiles import TiledObjective, grid  # noqa: E402

TARGET = 1.6


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--sizes", nargs="+", default=["720p", "1080p", "2K"], choices=list(SIZES))
    ap.add_argument("--tile", type=int, default=512)
    ap.add_argument("--halo", type=int, default=DEFAULT_HALO)
    ap.add_argument("--rounds", type=int, default=3)
    ap.add_argument("--out", default=os.path.join(HERE, "TILE_TIME.md"))
    args = ap.parse_args()
    began = time.perf_counter()
    photo = images.read_image(os.path.join(ROOT, "samples", "bunny.jpg")).pixels
    style = images.read_image(os.path.join(ROOT, "samples", "brushstrokes.jpg")).pixels
    engine = Stylizer([style], StyleOptions(size=None, scales=1, precision="fp32", tile=0))
    rows = []
    for name in args.sizes:
        width, height = SIZES[name]
        content = cv2.resize(photo, (width, height), interpolation=cv2.INTER_CUBIC).clip(0, 1)
        c = images.to_tensor(content, engine.device)
        x = (c + 0.1 * torch.randn(c.shape, generator=torch.Generator().manual_seed(0))).clamp(0, 1)
        terms = engine.terms(c)
        pair = {"untiled": Objective(engine.net, terms), "tiled": TiledObjective(engine.net, terms, args.tile, args.halo)}
        seconds: dict[str, list[float]] = {k: [] for k in pair}
        done = {}
        for _ in range(args.rounds):
            for key, objective in pair.items():
                t0 = time.perf_counter()
                done[key] = objective.evaluate(x)
                seconds[key].append(time.perf_counter() - t0)
        error = float((done["tiled"].grad - done["untiled"].grad).norm() / done["untiled"].grad.norm())
        tiles = grid(height, width, args.tile, args.halo, pair["tiled"].align)
        computed = sum((t.cy1 - t.cy0) * (t.cx1 - t.cx0) for t in tiles) / (height * width)
        med = {k: statistics.median(v) for k, v in seconds.items()}
        rows.append((name, width, height, len(tiles), computed, med["untiled"], med["tiled"],
                     med["tiled"] / med["untiled"], min(t / u for t, u in zip(seconds["tiled"], seconds["untiled"])),
                     max(t / u for t, u in zip(seconds["tiled"], seconds["untiled"])), error))
        print(name, rows[-1], flush=True)

    lines = [
        "# Tiled against untiled, timed in turn (issue #21)",
        "",
        f"Command: `python benchmarks/tile_time.py --sizes {' '.join(args.sizes)} --tile {args.tile} --halo {args.halo} "
        f"--rounds {args.rounds}{out_option(args.out, ap.get_default('out'))}` "
        f"({(time.perf_counter() - began) / 60:.0f} min)  ",
        f"Machine: {cpu_name()}, {os.cpu_count()} cores, torch {torch.__version__} ({torch.get_num_threads()} threads), fp32, CPU  ",
        "Input: samples/bunny.jpg enlarged plus noise, style samples/brushstrokes.jpg, one level; in one process the "
        "untiled and the tiled objective are evaluated alternately, each round one of each.",
        "",
        f"| size | tiles (step 3) | pixels step 3 computes / image | untiled s | tiled s | tiled / untiled "
        f"(target <= {TARGET}) | rounds' range | gradient error (relative L2) |",
        "|---|---|---|---|---|---|---|---|",
        *[f"| {n} {w}x{h} | {k} | {p:.2f} | {u:.2f} | {t:.2f} | {r:.2f}x | {lo:.2f}-{hi:.2f} | {e:.1e} |"
          for n, w, h, k, p, u, t, r, lo, hi, e in rows],
        "",
        "s: the median evaluation (forward and backward; the tiled one adds step 1, a forward over larger tiles "
        "without a graph). Step 3's pixels include the halos each tile computes.",
    ]
    publish(lines, args.out)


if __name__ == "__main__":
    main()
