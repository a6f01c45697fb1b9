"""Ray backend: a 2-chunk run on a local Ray with 2 workers against a serial run, and Ray's cost per chunk.

    python benchmarks/ray_scaling.py [--frames 16] [--size 256] [--repeats 3] [--out benchmarks/RAY.md]

The first ``--frames`` frames of the Big Buck Bunny clip (one shot) are
planned into two chunks (the second starts inside the shot, so it renders
``warmup`` frames more), then rendered

* serially: one `stylize_video` over all frames in this process (torch's
  default threads, all cores);
* on Ray: `run_on_ray` on a local Ray with 2 CPUs, one chunk per worker,
  one torch thread each.

Ray's overhead per chunk = the time from calling `run_on_ray` until the
chunk's `stylize_video` starts inside its worker (planning the cuts,
scheduling, worker start-up, imports), plus the time from the last chunk's
end to `run_on_ray` returning. The network and weights load inside the
chunk's work, as in any run. Ray's own start-up (`ray.init`) is reported
apart. Medians over ``--repeats``.

Needs ../shared/data and `pip install 'vidstyle[ray]'`.
"""

from __future__ import annotations

import os
import platform
import statistics
import sys
import tempfile
import time

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(HERE)
sys.path.insert(0, ROOT)
sys.path.insert(0, HERE)

import ray  # noqa: E402
import torch  # noqa: E402

import vidstyle  # noqa: E402
from suite import arguments, check_inputs, cpu_name, out_option  # noqa: E402
from vidstyle import StyleOptions, VideoOptions  # noqa: E402
from vidstyle.ray_backend import render_chunk, run_on_ray  # noqa: E402


def timed_chunk(input_path, styles, pattern, options, video, frames, overwrite=False):
    """render_chunk, returning when it started and ended inside the worker."""
    began = time.time()
    kept = render_chunk(input_path, styles, pattern, options, video, frames, overwrite)
    return {"kept": kept, "began": began, "ended": time.time()}


def main() -> None:
    ap = arguments(__doc__, "RAY.md")
    args = ap.parse_args()
    check_inputs(args)
    options = StyleOptions(size=args.size)
    video = VideoOptions(frames=tuple(range(args.frames)))
    chunk_size = (args.frames + 1) // 2
    t = time.perf_counter()
    ray.init(num_cpus=2, include_dashboard=False, log_to_driver=False, logging_level="ERROR")
    ray.cloudpickle.register_pickle_by_value(sys.modules[__name__])
    init_s = time.perf_counter() - t
    serial_s, ray_s, overheads, chunk_s = [], [], [], []
    for r in range(args.repeats):
        with tempfile.TemporaryDirectory() as tmp:
            t = time.perf_counter()
            vidstyle.stylize_video(args.clip, args.style, os.path.join(tmp, "serial.####.png"), options, video)
            serial_s.append(time.perf_counter() - t)
            submitted = time.time()
            t = time.perf_counter()
            run = run_on_ray(args.clip, args.style, os.path.join(tmp, "ray.####.png"), options, video,
                             chunk_size=chunk_size, chunk_runner=timed_chunk)
            ray_s.append(time.perf_counter() - t)
            works = [res["ended"] - res["began"] for res in run.results.values()]
            chunk_s += works
            # Before a chunk's work begins: planning, scheduling, worker start-up and imports.
            starts = [res["began"] - submitted for res in run.results.values()]
            # After the last chunk: collecting results (no assembly for a sequence output).
            tails = [ray_s[-1] - (max(res["ended"] for res in run.results.values()) - submitted)]
            overheads.append(statistics.median(starts) + tails[0])
            warmups = [c.warmup for c in run.plan.chunks]
        print(f"repeat {r}: serial {serial_s[-1]:.1f} s, ray {ray_s[-1]:.1f} s", flush=True)
    ray.shutdown()
    med = statistics.median
    lines = [
        "# Ray backend: 2 chunks on a local Ray (2 workers) against a serial run", "",
        f"Command: `python benchmarks/ray_scaling.py --frames {args.frames} --size {args.size} "
        f"--repeats {args.repeats}{out_option(args.out, ap.get_default('out'))}`  ",
        f"Machine: {cpu_name()}, {os.cpu_count()} cores, Python {platform.python_version()}, torch "
        f"{torch.__version__}, ray {ray.__version__}, no GPU  ",
        f"Input: first {args.frames} frames of {os.path.basename(args.clip)} (one shot) at {args.size} px, "
        f"{os.path.basename(args.style)}, standard preset; chunks of {chunk_size} frames, warm-up frames per "
        f"chunk {warmups}; medians over {args.repeats} runs.", "",
        "| run | wall s | vs serial |", "|---|---|---|",
        f"| serial, 1 process, {torch.get_num_threads()} torch threads | {med(serial_s):.1f} | 1.00x |",
        f"| Ray, 2 chunks on 2 workers, 1 thread each | {med(ray_s):.1f} | {med(serial_s) / med(ray_s):.2f}x |",
        "",
        f"Ray start-up (`ray.init`, once per run): {init_s:.1f} s. Overhead per chunk (from the call to the "
        f"chunk's work starting in its worker, plus from the last chunk's end to the return): median "
        f"{med(overheads):.1f} s (planning, scheduling, worker start-up, imports); a chunk's own work: "
        f"median {med(chunk_s):.1f} s.",
    ]
    with open(args.out, "w") as handle:
        handle.write("\n".join(lines) + "\n")
    print("\n".join(lines))


if __name__ == "__main__":
    main()
