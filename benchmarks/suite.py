"""The benchmark suite: speed, memory, stability and style of --warm-start none | previous | flow.

    python benchmarks/suite.py [--frames 16] [--size 256] [--repeats 3] [--out benchmarks/RESULTS.md]

On the first ``--frames`` frames of the Big Buck Bunny clip at ``--size`` px
wide, with a painting from ../shared/data/styles, each mode is run
``--repeats`` times as a fresh `vidstyle` process (the real command line,
default preset apart from the size), and the table gives medians over the
runs of:

* seconds for the first frame and (median) for a later frame, their ratio,
  iterations per frame (first / later), peak memory (the process's max RSS);
* E_warp of the output and of the source clip (vidstyle.metrics: Farneback
  flow, not the DIS flow the stylisation uses), style and content loss
  (relative Gram and feature errors, weight 1, fp32).

Then the targets of issue #4 for ``flow`` (E_warp <= 0.25x none, style loss
<= 1.2x none, later frames <= 0.25x the first frame), and the engine's cost
per iteration against a bare VGG-19 forward+backward at the same size.

Needs ../shared/data, or --clip/--style.
"""

from __future__ import annotations

import argparse
import contextlib
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

import torch  # noqa: E402

from engine_speed import first_frame, per_iteration  # noqa: E402
from vidstyle import images, metrics  # noqa: E402
from vidstyle.options import DEFAULT_PRESET, PRESETS  # noqa: E402

SHARED = os.path.join(ROOT, "..", "shared", "data")
MODES = ("none", "previous", "flow")
TARGETS = {"ewarp": 0.25, "style": 1.2, "later": 0.25}


def cpu_name() -> str:
    try:
        with open("/proc/cpuinfo") as handle:
            for line in handle:
                if line.startswith("model name"):
                    return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or platform.machine()


@contextlib.contextmanager
def tree(rev: str | None):
    """The command line (``cli.py``) of commit ``rev``, checked out for the run and removed after; this tree's for None.

    How ``--base REV`` measures an older vidstyle beside this one, on the same
    machine in the same run (each cli.py imports the vidstyle beside it).
    """
    if rev is None:
        yield os.path.join(ROOT, "cli.py")
        return
    with tempfile.TemporaryDirectory() as tmp:
        folder = os.path.join(tmp, "tree")
        subprocess.run(["git", "-C", ROOT, "worktree", "add", "--detach", folder, rev], check=True,
                       capture_output=True)
        try:
            yield os.path.join(folder, "cli.py")
        finally:
            subprocess.run(["git", "-C", ROOT, "worktree", "remove", "--force", folder], capture_output=True)


def run_mode(clip: str, style: str, mode: str, frames: int, size: int, folder: str,
             cli: str = os.path.join(ROOT, "cli.py")) -> dict:
    """One `vidstyle` process (``cli``: a tree's cli.py); returns its per-frame report, wall time and peak RSS (MiB)."""
    out = os.path.join(folder, f"{mode}.####.png")
    report = os.path.join(folder, f"{mode}.json")
    cmd = [sys.executable, cli, clip, style, "-o", out, "--size", str(size),
           "--frames", f"0-{frames - 1}", "--warm-start", mode, "--report", report, "--quiet"]
    wall, peak = timed(cmd)
    with open(report) as handle:
        data = json.load(handle)
    return dict(report=data, wall=wall, peak_mib=peak, pattern=out)


def out_option(out: str | None, default: str | None) -> str:
    """`` --out PATH`` (relative to the repository) for a printed command, or '' when ``out`` is the default.

    A table written elsewhere than its script's default is regenerated only by a command that names it.
    """
    if not out or (default and os.path.abspath(out) == os.path.abspath(default)):
        return ""
    return " --out " + os.path.relpath(out, ROOT)


def publish(lines: list[str], out: str | None) -> None:
    """Print a result table and write it to ``out`` (when given)."""
    text = "\n".join(lines) + "\n"
    print(text)
    if out:
        with open(out, "w") as handle:
            handle.write(text)


def timed(cmd: list[str], cwd: str | None = None) -> tuple[float, float]:
    """Run ``cmd`` as a fresh process: (wall seconds, its peak RSS in MiB); exit if it fails."""
    start = time.perf_counter()
    proc = subprocess.Popen(cmd, cwd=cwd)
    _, status, usage = os.wait4(proc.pid, 0)
    wall = time.perf_counter() - start
    if status != 0:
        sys.exit(f"{' '.join(cmd)} failed with status {status}")
    return wall, usage.ru_maxrss / 1024


def measure(clip: str, style: str, mode: str, frames: int, size: int, repeats: int,
            clis: dict[str, str]) -> dict[str, dict]:
    """``mode`` run ``repeats`` times by each tree in ``clis`` ({name: cli.py}), the trees alternating.

    Run by run (this, base, this, base, ...): a slow stretch of a shared
    host then falls on both trees, not on the one whose turn it was
    (seconds moved 1.8x between identical runs here, QUALITY_512.md).
    Returns each tree's medians over its runs.
    """
    runs: dict[str, list[dict]] = {name: [] for name in clis}
    for r in range(repeats):
        for name, cli in clis.items():
            with tempfile.TemporaryDirectory() as tmp:
                run = run_mode(clip, style, mode, frames, size, tmp, cli)
                rows = run["report"]["frames"]
                quality = metrics.check(clip, run["pattern"], [style])
                runs[name].append(dict(
                    first=rows[0]["seconds"], later=statistics.median(f["seconds"] for f in rows[1:]),
                    first_its=rows[0]["iterations"], later_its=statistics.median(f["iterations"] for f in rows[1:]),
                    peak=run["peak_mib"], wall=run["wall"], ewarp=quality.ewarp, source=quality.ewarp_source,
                    style=quality.style_loss, content=quality.content_loss))
                print(name, mode, r, {k: round(v, 6) for k, v in runs[name][-1].items()}, flush=True)
    return {name: {k: statistics.median(run[k] for run in rs) for k in rs[0]} for name, rs in runs.items()}


def arguments(doc: str, out: str) -> argparse.ArgumentParser:
    """The options every benchmark here shares: the clip, the style, frames, size, repeats, output."""
    ap = argparse.ArgumentParser(description=doc.split("\n")[0])
    ap.add_argument("--clip", default=os.path.join(SHARED, "clips", "bigbuckbunny.mp4"))
    ap.add_argument("--style", default=os.path.join(SHARED, "styles", "starry_night.jpg"))
    ap.add_argument("--frames", type=int, default=16)
    ap.add_argument("--size", type=int, default=256)
    ap.add_argument("--repeats", type=int, default=3)
    ap.add_argument("--out", default=os.path.join(HERE, out))
    return ap


def check_inputs(args) -> None:
    for path in (args.clip, args.style):
        if not os.path.exists(path):
            sys.exit(f"missing {path}: run next to ../shared/data or pass --clip/--style")


def main() -> None:
    ap = arguments(__doc__, "RESULTS.md")
    ap.add_argument("--modes", nargs="+", default=list(MODES), choices=MODES)
    ap.add_argument("--base", default=None, help="also run this commit's vidstyle, in the same run, and compare")
    args = ap.parse_args()
    check_inputs(args)
    began = time.perf_counter()
    with (tree(args.base) if args.base else contextlib.nullcontext()) as base_cli:
        clis = {"this": os.path.join(ROOT, "cli.py"), **({"base": base_cli} if args.base else {})}
        measured = {mode: measure(args.clip, args.style, mode, args.frames, args.size, args.repeats, clis)
                    for mode in args.modes}
    rows = {mode: m["this"] for mode, m in measured.items()}
    before = {mode: m["base"] for mode, m in measured.items()} if args.base else {}
    content, style_px = first_frame(args.clip), images.read_image(args.style).pixels
    iteration = per_iteration(content, style_px, args.size, "auto", args.repeats)

    preset = PRESETS[DEFAULT_PRESET]
    base = rows.get("none")
    source = statistics.median(r["source"] for r in rows.values())
    lines = [
        "# Benchmark suite", "",
        f"Command: `python benchmarks/suite.py --frames {args.frames} --size {args.size} --repeats {args.repeats}"
        f"{' --modes ' + ' '.join(args.modes) if args.modes != list(MODES) else ''}"
        f"{' --base ' + args.base if args.base else ''}"
        f"{out_option(args.out, ap.get_default('out'))}` "
        f"({(time.perf_counter() - began) / 60:.0f} min)  ",
        f"Machine: {cpu_name()}, {os.cpu_count()} cores, {platform.system()} {platform.machine()}, "
        f"Python {platform.python_version()}, torch {torch.__version__} ({torch.get_num_threads()} threads), "
        f"no GPU used  ",
        f"Input: first {args.frames} frames of {os.path.basename(args.clip)} at {iteration['size']}, style "
        f"{os.path.basename(args.style)}; preset {DEFAULT_PRESET} (first frame of a shot: up to "
        f"{preset['iterations']} iterations, later frames: up to {preset['warm_iterations']}, early stop at "
        f"tolerance {preset['tolerance']:g}); each mode run {args.repeats} times as a fresh `vidstyle` process, "
        f"medians shown{'; the two trees alternate run by run' if args.base else ''}.", "",
        f"Source clip's own E_warp (the floor the flow's error sets): {source:.6f}", "",
        "| warm start | first frame s | later frame s | later / first | iterations first / later | peak memory MiB "
        "| E_warp | E_warp / none | E_warp / source | style loss | style / none | content loss |",
        "|---|---|---|---|---|---|---|---|---|---|---|---|",
    ]
    for mode, r in rows.items():
        rel = (lambda k: f"{r[k] / base[k]:.3f}") if base else (lambda k: "-")
        lines.append(
            f"| {mode} | {r['first']:.1f} | {r['later']:.1f} | {r['later'] / r['first']:.2f} | "
            f"{r['first_its']:.0f} / {r['later_its']:.0f} | {r['peak']:.0f} | {r['ewarp']:.6f} | {rel('ewarp')} | "
            f"{r['ewarp'] / r['source']:.2f} | {r['style']:.4f} | {rel('style')} | {r['content']:.4f} |")
    if base and "flow" in rows:
        f = rows["flow"]
        checks = [
            ("E_warp flow / none", f["ewarp"] / base["ewarp"], TARGETS["ewarp"]),
            ("style loss flow / none", f["style"] / base["style"], TARGETS["style"]),
            ("later / first frame time (flow)", f["later"] / f["first"], TARGETS["later"]),
        ]
        lines += ["", "| target (issue #4) | measured | limit | met |", "|---|---|---|---|"]
        for name, value, limit in checks:
            lines.append(f"| {name} | {value:.3f} | <= {limit} | {'yes' if value <= limit else 'NO'} |")
        lines.append(f"| E_warp flow / source (the floor is 1) | {f['ewarp'] / f['source']:.2f} | - | - |")
    if before:
        lines += ["", f"Against commit {args.base}, the trees run in turn on the same machine (this / base; issue #18: "
                      f"within 1.03, or lower):", "",
                  "| warm start | E_warp | style loss | content loss | first iterations | later iterations | "
                  "first frame s | later / first |",
                  "|---|---|---|---|---|---|---|---|"]
        for mode, r in rows.items():
            b = before[mode]
            lines.append(f"| {mode} | {r['ewarp'] / b['ewarp']:.3f} | {r['style'] / b['style']:.3f} | "
                         f"{r['content'] / b['content']:.3f} | {r['first_its']:.0f} / {b['first_its']:.0f} | "
                         f"{r['later_its']:.0f} / {b['later_its']:.0f} | {r['first']:.1f} / {b['first']:.1f} | "
                         f"{(r['later'] / r['first']) / (b['later'] / b['first']):.3f} |")
        lines += ["", "Style and content losses (vidstyle check's, VGG-19 with max pooling) compare only trees that "
                      "paint with one network: an average-pooled tree against a max-pooled one is compared by "
                      "benchmarks/quality.py, each against its own independent frames."]
    lines += ["", "Engine cost per iteration (benchmarks/engine_speed.py's part A: same process, same network, "
                  "size and precision, a bare pass between every two iterations; medians):", "",
              "| size | precision | engine s / iteration | bare VGG-19 forward+backward s | paired ratio |",
              "|---|---|---|---|---|",
              f"| {iteration['size']} | {iteration['precision']} | {iteration['engine']:.3f} | "
              f"{iteration['bare']:.3f} | {iteration['ratio']:.3f}x |"]
    with open(args.out, "w") as handle:
        handle.write("\n".join(lines) + "\n")
    print("\n".join(lines))


if __name__ == "__main__":
    main()
