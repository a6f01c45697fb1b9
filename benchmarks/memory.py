"""Memory flat in resolution: peak memory per megapixel, tiled and untiled, and the time per iteration.

    python benchmarks/memory.py [--tile 512] [--halo 32] [--iterations 3] [--out benchmarks/MEMORY.md]

Each run is a fresh process (its peak RSS from the kernel, ``wait4``)
stylising samples/bunny.jpg enlarged to 1280x720, 1920x1080, 2048x1080 and
3840x2160 at full size, one level, ``--iterations`` iterations, fp32, with
tiles of ``--tile`` (halo ``--halo``, default the library's) and without (untiled only up to 2K: a 4K untiled pass
needs ~26 GB on the CPU). Each run holds a full L-BFGS history by its end (the
pairs a long run keeps: ``tiles.history_for`` tiled, ``lbfgs_history``
untiled; the run is given them, less the ones its steps add), so its peak
is a long run's. Seconds per iteration: the median
after the first. Targets (issue #21, point 3): the 4K still within 6 GiB tiled; an
iteration tiled at most 1.6x untiled.

Needs only the samples.
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import time

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(HERE)
sys.path.insert(0, HERE)

SIZES = {"720p": (1280, 720), "1080p": (1920, 1080), "2K": (2048, 1080), "4K": (3840, 2160)}
UNTILED = ("720p", "1080p", "2K")
TARGETS = dict(gib_4k=6.0, time=1.6)


def worker(width: int, height: int, tile: int, halo: int, iterations: int) -> None:
    """In the child: one still, printing its seconds per iteration as JSON."""
    sys.path.insert(0, ROOT)
    import statistics

    import cv2
    import torch

    from vidstyle import StyleOptions, Stylizer, images
    from vidstyle.lbfgs import Memory
    from vidstyle.schedule import Plan
    from vidstyle.tiles import history_for

    photo = images.read_image(os.path.join(ROOT, "samples", "bunny.jpg")).pixels
    content = cv2.resize(photo, (width, height), interpolation=cv2.INTER_CUBIC).clip(0, 1)
    style = images.read_image(os.path.join(ROOT, "samples", "brushstrokes.jpg")).pixels
    options = StyleOptions(size=None, scales=1, coarsest=0, iterations=iterations, tolerance=0.0, precision="fp32",
                           tile=tile, tile_halo=halo)
    # A long run holds its whole L-BFGS history (two image-sized vectors a pair): start with it nearly full,
    # so a few iterations reach a long run's peak and pay its L-BFGS products (pairs with y = s keep the
    # direction finite; the picture is not what is measured). Since session 16 the optimiser copies the
    # given pairs into its own table while the plan holds them: the peak counts them twice, as a warm
    # frame's does (the carried memory lives until the frame is done). The plan keeps the given pairs alive while the
    # run adds one a step, so it is given the history less the steps to come: at the end, a full history.
    keeps = history_for(height, width, options.lbfgs_history) if tile else options.lbfgs_history
    pairs = max(0, keeps - (iterations - 1))
    steps = tuple(torch.full((3 * height * width,), 1e-3) for _ in range(pairs))
    memory = Memory(steps, tuple(s.clone() for s in steps), 1e-3)
    stamps = [time.perf_counter()]
    Stylizer([style], options).run(content, Plan(memory=memory), lambda p: stamps.append(time.perf_counter()))
    steps = [b - a for a, b in zip(stamps[1:], stamps[2:])]
    print(json.dumps({"per_iteration": statistics.median(steps), "first": stamps[1] - stamps[0]}))


def measure(width: int, height: int, tile: int, halo: int, iterations: int) -> dict:
    cmd = [sys.executable, os.path.abspath(__file__), "--worker", *(str(v) for v in (width, height, tile, halo,
                                                                                     iterations))]
    proc = subprocess.Popen(cmd, stdout=subprocess.PIPE, text=True)
    _, status, usage = os.wait4(proc.pid, 0)
    out = proc.stdout.read()
    if status != 0:
        sys.exit(f"{' '.join(cmd)} failed with status {status}")
    return {**json.loads(out.strip().splitlines()[-1]), "gib": usage.ru_maxrss / 2**20}


def main() -> None:
    if len(sys.argv) > 1 and sys.argv[1] == "--worker":
        worker(*(int(v) for v in sys.argv[2:7]))
        return
    from suite import cpu_name, out_option, publish

    sys.path.insert(0, ROOT)
    from vidstyle.options import DEFAULT_HALO

    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--tile", type=int, default=512)
    ap.add_argument("--halo", type=int, default=DEFAULT_HALO)
    ap.add_argument("--iterations", type=int, default=3)
    ap.add_argument("--sizes", nargs="+", default=list(SIZES), choices=list(SIZES))
    ap.add_argument("--out", default=os.path.join(HERE, "MEMORY.md"))
    args = ap.parse_args()
    began = time.perf_counter()
    rows = []
    for name in args.sizes:
        w, h = SIZES[name]
        mpx = w * h / 1e6
        tiled = measure(w, h, args.tile, args.halo, args.iterations)
        untiled = measure(w, h, 0, args.halo, args.iterations) if name in UNTILED else None
        rows.append((name, w, h, mpx, tiled, untiled))
        print(name, tiled, untiled, flush=True)
    import torch
    lines = [
        "# Memory and time per iteration, tiled and untiled (issue #21)",
        "",
        f"Command: `python benchmarks/memory.py --tile {args.tile} --halo {args.halo} --iterations {args.iterations}"
        + ("" if args.sizes == list(SIZES) else f" --sizes {' '.join(args.sizes)}") + f"{out_option(args.out, ap.get_default('out'))}` "
        f"({(time.perf_counter() - began) / 60:.0f} min)  ",
        f"Machine: {cpu_name()}, {os.cpu_count()} cores, torch {torch.__version__}, fp32, CPU  ",
        "Input: samples/bunny.jpg enlarged, style samples/brushstrokes.jpg, one level, a fresh process per run "
        "(peak RSS), holding a whole L-BFGS history by its end (a long run's peak); seconds: the median of the "
        "iterations after the first.",
        "",
        f"| size | Mpx | peak GiB tiled ({args.tile}, halo {args.halo}) | GiB / Mpx tiled | peak GiB untiled | GiB / Mpx untiled "
        "| s / iteration tiled | untiled | tiled / untiled |",
        "|---|---|---|---|---|---|---|---|---|",
    ]
    for name, w, h, mpx, t, u in rows:
        lines.append(f"| {name} {w}x{h} | {mpx:.2f} | {t['gib']:.2f} | {t['gib'] / mpx:.2f} | "
                     + (f"{u['gib']:.2f} | {u['gib'] / mpx:.2f} | " if u else "- | - | ")
                     + f"{t['per_iteration']:.1f} | " + (f"{u['per_iteration']:.1f} | "
                                                           f"{t['per_iteration'] / u['per_iteration']:.2f} |"
                                                           if u else "- | - |"))
    four = next((t for name, *_, t, u in rows if name == "4K"), None)
    if four is not None:
        lines += ["", f"4K tiled: {four['gib']:.2f} GiB peak (target <= {TARGETS['gib_4k']} GiB)."]
    publish(lines, args.out)


if __name__ == "__main__":
    main()
