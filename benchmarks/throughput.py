"""Where a frame's time goes: stage medians, the gap between optimisations, frames per second, peak memory.

    python benchmarks/throughput.py [--sizes 512 720p 1080p] [--frames 6 4 4] [--device cpu]
                                    [--first-iterations 20] [--base REV] [--out benchmarks/THROUGHPUT.md]

For each size, one fresh `vidstyle` process stylises the first frames of the
Big Buck Bunny clip (720p; the 1080p input is that clip scaled up with
ffmpeg, made once in a temporary folder) into an H.264 video with
``--report``, and this script reads the report:

* the median seconds of each stage over the warm frames (decode, flow, mask,
  warp, optimise, store, write);
* the gap: from ``t_optimise_end`` of one warm frame to ``t_optimise_start``
  of the next (what the optimiser waits for), its median, and its ratio to
  the median decode + flow + mask + store + write of a warm frame (the work
  that a serial runner does inside the gap);
* warm frames per second (one over the median time from one warm frame's
  end to the next's), frames per second over the whole run (process start to
  exit, encode and sound included), peak RSS of the process.

The first frame of a shot is capped at ``--first-iterations`` (it would take
half an hour at 1080p on a CPU and says nothing about the pipeline); warm
frames use the default preset's rule. ``--base REV`` also times an older
commit's `vidstyle` on the same inputs and options (wall time only), in the
same run.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import statistics
import subprocess
import sys
import tempfile
import time

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(HERE)
sys.path.insert(0, ROOT)
sys.path.insert(0, HERE)

from suite import SHARED, cpu_name, out_option, publish, timed, tree  # noqa: E402

SIZES = {"512": "512", "720p": "full", "1080p": "full"}
SOURCE_STAGES = ("decode", "flow", "mask", "store", "write")


def upscaled(clip: str, folder: str, frames: int) -> str:
    """The first ``frames`` frames of ``clip`` at 1920x1080 (bicubic), H.264 at CRF 10."""
    from vidstyle import media
    path = os.path.join(folder, "clip1080.mp4")
    subprocess.run([media.ffmpeg_exe(), "-hide_banner", "-loglevel", "error", "-y", "-i", clip, "-frames:v",
                    str(frames), "-vf", "scale=1920:1080:flags=bicubic", "-c:v", "libx264", "-crf", "10",
                    "-pix_fmt", "yuv420p", "-an", path], check=True)
    return path


def run(cli: str, clip: str, style: str, size: str, frames: int, folder: str, extra: list[str]) -> dict:
    """One `vidstyle` process; its report, wall time and peak RSS (MiB)."""
    out = os.path.join(folder, "out.mp4")
    report = os.path.join(folder, "report.json")
    cmd = [sys.executable, cli, clip, style, "-o", out, "--size", size, "--frames", f"0-{frames - 1}",
           "--report", report, "--overwrite", "-q", *extra]
    wall, peak = timed(cmd, cwd=os.path.dirname(cli))
    with open(report) as handle:
        data = json.load(handle)
    return dict(report=data, wall=wall, peak=peak)


def analyse(data: dict) -> dict:
    rows = data["report"]["frames"]
    warm = [r for r in rows if not r["shot_start"] and not r["resumed"]]
    stages = {k: statistics.median(r["stages"][k] for r in warm) for k in warm[0]["stages"]}
    pairs = [(a, b) for a, b in zip(rows, rows[1:]) if not b["shot_start"]]
    gaps = [b["t_optimise_start"] - a["t_optimise_end"] for a, b in pairs]
    periods = [b["t_optimise_end"] - a["t_optimise_end"] for a, b in pairs]
    around = statistics.median(sum(r["stages"][k] for k in SOURCE_STAGES) for r in warm)
    return dict(stages=stages, gap=statistics.median(gaps), around=around,
                gap_ratio=statistics.median(gaps) / around if around else float("nan"),
                warm_fps=1 / statistics.median(periods), fps=len(rows) / data["wall"], wall=data["wall"],
                peak=data["peak"], its=statistics.median(r["iterations"] for r in warm))


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--clip", default=os.path.join(SHARED, "clips", "bigbuckbunny.mp4"))
    ap.add_argument("--style", default=os.path.join(SHARED, "styles", "starry_night.jpg"))
    ap.add_argument("--sizes", nargs="+", default=list(SIZES), choices=list(SIZES))
    ap.add_argument("--frames", type=int, nargs="+", default=[6, 4, 4], help="frames per size (first + warm)")
    ap.add_argument("--device", default="auto")
    ap.add_argument("--first-iterations", type=int, default=20)
    ap.add_argument("--warm-iterations", type=int, default=None,
                    help="the same budget for both versions when comparing with --base (default: the preset's)")
    ap.add_argument("--base", default=None, help="also time this commit's vidstyle (wall time)")
    ap.add_argument("--out", default=os.path.join(HERE, "THROUGHPUT.md"))
    args = ap.parse_args()
    for path in (args.clip, args.style):
        if not os.path.exists(path):
            sys.exit(f"missing {path}: run next to ../shared/data or pass --clip/--style")
    frames = dict(zip(args.sizes, args.frames + [args.frames[-1]] * len(args.sizes)))
    extra = ["--device", args.device, "--iterations", str(args.first_iterations)]
    if args.warm_iterations is not None:
        extra += ["--warm-iterations", str(args.warm_iterations)]
    import torch
    device = args.device
    if device == "auto":
        device = "cuda" if torch.cuda.is_available() else "cpu"
    results, base = {}, {}
    began = time.perf_counter()
    with tempfile.TemporaryDirectory() as tmp, tree(args.base) as base_cli:
        for name in args.sizes:
            clip = upscaled(args.clip, tmp, frames[name]) if name == "1080p" else args.clip
            folder = os.path.join(tmp, name)
            os.makedirs(folder)
            results[name] = analyse(run(os.path.join(ROOT, "cli.py"), clip, args.style, SIZES[name],
                                        frames[name], folder, extra))
            print(name, json.dumps(results[name]), flush=True)
            if args.base:
                os.makedirs(folder + "-base")
                data = run(base_cli, clip, args.style, SIZES[name], frames[name], folder + "-base", extra)
                base[name] = data["wall"]
                print(name, "base wall", round(data["wall"], 1), flush=True)
    lines = [
        "# Throughput", "",
        f"Command: `python benchmarks/throughput.py --sizes {' '.join(args.sizes)} --frames "
        f"{' '.join(str(frames[s]) for s in args.sizes)} --device {args.device} --first-iterations "
        f"{args.first_iterations}{' --warm-iterations ' + str(args.warm_iterations) if args.warm_iterations else ''}"
        f"{' --base ' + args.base if args.base else ''}{out_option(args.out, ap.get_default('out'))}` "
        f"({(time.perf_counter() - began) / 60:.0f} min)  ",
        f"Machine: {cpu_name()}, {os.cpu_count()} cores, {platform.system()} {platform.machine()}, Python "
        f"{platform.python_version()}, torch {torch.__version__}, device {device}"
        f"{' (' + torch.cuda.get_device_name() + ')' if device == 'cuda' else ''}  ",
        f"Input: the first frames of {os.path.basename(args.clip)} (1080p: scaled up), style "
        f"{os.path.basename(args.style)}, default preset, first frame capped at {args.first_iterations} "
        f"iterations; medians over the warm frames.", "",
        "| size | frames | warm its | " + " | ".join(f"{s} s" for s in results[args.sizes[0]]["stages"])
        + " | gap s | decode+flow+mask+store+write s | gap / that | warm frames/s | frames/s (whole run) "
          "| peak RSS MiB |" + (" wall s | base wall s |" if base else ""),
        "|---" * (len(results[args.sizes[0]]["stages"]) + 9 + (2 if base else 0)) + "|",
    ]
    for name, r in results.items():
        lines.append(f"| {name} | {frames[name]} | {r['its']:.0f} | "
                     + " | ".join(f"{v:.3f}" for v in r["stages"].values())
                     + f" | {r['gap']:.3f} | {r['around']:.3f} | {r['gap_ratio']:.2f} | {r['warm_fps']:.3f} | "
                       f"{r['fps']:.3f} | {r['peak']:.0f} |"
                     + (f" {r['wall']:.1f} | {base[name]:.1f} |" if base else ""))
    publish(lines, args.out)


if __name__ == "__main__":
    main()
