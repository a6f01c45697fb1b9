"""Seconds per iteration of this tree and an older commit, run in turn: A B A B.

    python benchmarks/in_turn.py --base a5dd93a [--size 512] [--frames 6] [--iterations 30] [--rounds 2]
                                 [--out benchmarks/IN_TURN.md]

quality.py and suite.py render each tree once, one after the other; on a
shared 2-core host the same 10 warm iterations at 512 px read 11.9 s against
11.9 s in one session and 18.0 s against 9.9 s in the next (QUALITY_512.md,
sessions 13 and 14), so a whole tree can come out 1.8x slower than the other
for nothing it does. This script asks only "is one tree slower an
iteration?": short runs (the first ``--frames`` frames, the first frame
capped at ``--iterations``), the trees alternating ``--rounds`` times, each
round's ratio taken between two runs minutes apart. Seconds per iteration
are each frame's optimisation seconds (the report's) over its iterations;
a tree's first frame and its warm frames (the median) are kept apart, since
a warm frame also builds its content targets and its temporal term.

Needs ../shared/data (or --clip / --style).
"""

from __future__ import annotations

import argparse
import os
import statistics
import sys
import tempfile
import time

import torch

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(HERE)
sys.path.insert(0, HERE)

from quality import render  # noqa: E402
from suite import SHARED, cpu_name, out_option, publish, tree  # noqa: E402


def per_iteration(report: dict) -> tuple[float, float]:
    """(first frame's seconds an iteration, the median warm frame's) of one run's --report."""
    frames = report["frames"]
    first = next(f for f in frames if f["shot_start"])
    warm = [f["seconds"] / f["iterations"] for f in frames if not f["shot_start"] and f["iterations"]]
    return first["seconds"] / first["iterations"], statistics.median(warm)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--clip", default=os.path.join(SHARED, "clips", "bigbuckbunny.mp4"))
    ap.add_argument("--style", default=os.path.join(SHARED, "styles", "starry_night.jpg"))
    ap.add_argument("--base", required=True, help="the older commit, checked out for the run")
    ap.add_argument("--size", type=int, default=512)
    ap.add_argument("--frames", type=int, default=6)
    ap.add_argument("--iterations", type=int, default=30, help="the first frame's cap (both trees)")
    ap.add_argument("--rounds", type=int, default=2)
    ap.add_argument("--out", default=os.path.join(HERE, "IN_TURN.md"))
    args = ap.parse_args()
    began = time.perf_counter()
    rows = []
    with tempfile.TemporaryDirectory() as tmp, tree(args.base) as base_cli:
        trees = {"this tree": os.path.join(ROOT, "cli.py"), f"base {args.base}": base_cli}
        for round_ in range(1, args.rounds + 1):
            result = {}
            for name, cli in trees.items():
                folder = os.path.join(tmp, f"{name.replace(' ', '_')}_{round_}")
                report, _ = render(cli, args.clip, args.style, args.size, f"0-{args.frames - 1}", "flow", folder,
                                   extra=["--iterations", str(args.iterations)])
                result[name] = per_iteration(report)
                print(round_, name, [round(v, 3) for v in result[name]], flush=True)
            rows.append(result)
    this, base = trees
    command = (f"python benchmarks/in_turn.py --base {args.base} --size {args.size} --frames {args.frames} "
               f"--iterations {args.iterations} --rounds {args.rounds}{out_option(args.out, ap.get_default('out'))}")
    lines = [f"# Seconds per iteration, this tree and {args.base} in turn", "",
             f"Command: `{command}` ({(time.perf_counter() - began) / 60:.0f} min)  ",
             f"Machine: {cpu_name()}, {os.cpu_count()} cores, torch {torch.__version__} "
             f"({torch.get_num_threads()} threads)  ",
             f"Input: first {args.frames} frames of {os.path.basename(args.clip)} at {args.size} px, style "
             f"{os.path.basename(args.style)}, default preset but the first frame capped at {args.iterations} "
             f"iterations; `--warm-start flow`; the trees alternate, each run a fresh `vidstyle` process.", "",
             "| round | first frame s/iteration, this / base | ratio | warm frame s/iteration (median), this / base "
             "| ratio |", "|---|---|---|---|---|"]
    first_ratios, warm_ratios = [], []
    for number, result in enumerate(rows, 1):
        (f_this, w_this), (f_base, w_base) = result[this], result[base]
        first_ratios.append(f_this / f_base)
        warm_ratios.append(w_this / w_base)
        lines.append(f"| {number} | {f_this:.3f} / {f_base:.3f} | {first_ratios[-1]:.3f} | "
                     f"{w_this:.3f} / {w_base:.3f} | {warm_ratios[-1]:.3f} |")
    lines += ["", f"Median ratio (this / base): first frame {statistics.median(first_ratios):.3f}, warm frame "
              f"{statistics.median(warm_ratios):.3f}. A ratio is one tree's run over the other's a few minutes "
              f"later; the rounds' spread is this host's noise."]
    publish(lines, args.out)


if __name__ == "__main__":
    main()
