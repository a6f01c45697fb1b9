"""Engine speed on the CPU: cost per iteration, and time to a loss level against pastiche.

    python benchmarks/engine_speed.py [--sizes 256 512] [--repeats 3] [--parts A B] [--precisions auto fp32]
                                      [--out benchmarks/engine_speed.md]

A. Seconds per optimiser iteration against one bare VGG-19 forward+backward
   through the same layers (up to relu5_1) at the same size and precision,
   in the same process, a bare pass between every two engine iterations, each
   iteration compared with the passes either side of it (target: <= 1.1x,
   issue #18).
B. Wall time until the *written* image reaches a fixed content+style loss,
   vidstyle against the ``pastiche`` package's own command (target: vidstyle
   >= 3x faster). Both run as fresh processes (start-up and weight loading
   count), on the same pre-resized content and style PNGs, with the same
   VGG-19 weights and the same objective: pastiche's per-layer weights are
   set to our normalisation constants, so its loss is ours times a constant.
   TV is off for both. Every checkpoint image both tools write (8-bit PNG,
   pastiche's --workspace, our Progress.image) is scored afterwards with one
   yardstick: vidstyle's fp32 content+style loss. The level is the lowest
   loss among pastiche's written images (its best moment: without bounds
   its L-BFGS can blow up later in the run); each tool's time is when its
   first checkpoint at or below that level was written, medians over
   --repeats.

Needs ../shared/data (a Big Buck Bunny frame, Starry Night) or --content/--style.
"""

from __future__ import annotations

import argparse
import glob
import os
import statistics
import subprocess
import sys
import tempfile
import time

import cv2
import numpy as np
import torch

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(HERE)
sys.path.insert(0, ROOT)

from vidstyle import StyleOptions, images  # noqa: E402
from vidstyle.engine import Stylizer  # noqa: E402

SHARED = os.path.join(ROOT, "..", "shared", "data")
DEFAULT_CLIP = os.path.join(SHARED, "clips", "bigbuckbunny.mp4")
DEFAULT_STYLE = os.path.join(SHARED, "styles", "starry_night.jpg")
PASTICHE_SCALE = 1e6
DEFAULT_OUT = os.path.join(HERE, "engine_speed.md")


def first_frame(path: str) -> np.ndarray:
    if path.lower().endswith((".mp4", ".mov", ".mkv")):
        cap = cv2.VideoCapture(path)
        ok, frame = cap.read()
        cap.release()
        if not ok:
            sys.exit(f"cannot read {path}")
        return frame.astype(np.float32) / 255
    return images.read_image(path).pixels


# -- A: cost per iteration ------------------------------------------------------

def per_iteration(content: np.ndarray, style: np.ndarray, width: int, precision: str,
                  repeats: int = 3, iterations: int = 12) -> dict:
    """Engine iterations and bare passes interleaved one for one, ``repeats`` runs of ``iterations``.

    A bare pass runs in the progress callback, between every two engine
    iterations; each engine iteration (the step, then the next evaluation)
    is compared with the mean of the bare passes just before and just after
    it, and the median of these paired ratios is the engine's cost. This
    host's speed drifts by tens of percent within minutes: medians of
    separate blocks of engine and bare runs moved by up to 0.4 between two
    runs of this script (sessions 12-13), pairs a fraction of a second apart
    do not share that drift.
    """
    h, w = images.fit_size(*content.shape[:2], width)
    c = images.resize(content, (h, w))
    st = Stylizer([style], StyleOptions(size=None, coarsest=0, iterations=iterations, tolerance=0.0,
                                        device="cpu", precision=precision))
    x = torch.rand(1, 3, h, w, requires_grad=True)

    def bare_pass() -> float:
        # A gradient of ones at every layer the terms read, in the maps' own layout: backpropagating a
        # plain .sum() hands channels-last maps an expanded NCHW gradient that costs a reorder per layer
        # (0.15 s against 0.11 s at 256 px, bf16), which would flatter the engine.
        t = time.perf_counter()
        with torch.autocast("cpu", dtype=torch.bfloat16, enabled=st.bf16):
            feats = list(st.net(x, st.layers).values())
        torch.autograd.backward(feats, [torch.ones_like(f) for f in feats])
        return time.perf_counter() - t

    engine, bare, ratios = [], [], []
    bare_pass()   # warm-up
    for _ in range(repeats):
        stamps: list[float] = []
        passes: list[float] = []

        def between(_progress) -> None:
            stamps.append(time.perf_counter())   # the engine iteration that reported ends here
            passes.append(bare_pass())
            stamps.append(time.perf_counter())   # and the next one starts here

        st.stylize(c, callback=between)
        # Engine iteration k runs from the end of callback k to the start of callback k + 1; the
        # first is left out (its step is L-BFGS's first, a short steepest descent).
        for k in range(1, len(passes) - 1):
            engine.append(stamps[2 * k + 2] - stamps[2 * k + 1])
            ratios.append(engine[-1] / ((passes[k] + passes[k + 1]) / 2))
        bare += passes
    return dict(size=f"{w}x{h}", precision="bf16" if st.bf16 else "fp32", engine=statistics.median(engine),
                bare=statistics.median(bare), ratio=statistics.median(ratios), pairs=len(ratios),
                quartiles=tuple(np.percentile(ratios, [25, 75])))


# -- B: time to a loss level against pastiche -------------------------------------

def worker(args) -> None:
    """Run inside a fresh process: stylise and write every k-th iterate as a PNG."""
    content = images.read_image(args.content).pixels
    style = images.read_image(args.style).pixels
    st = Stylizer([style], StyleOptions(size=None, coarsest=0, iterations=args.steps, tolerance=0.0, tv_weight=0.0,
                                        device="cpu"))

    def save(p):
        if p.iteration % args.every == 0 or p.iteration == 1:
            images.write_image(os.path.join(args.workspace, f"{p.iteration:05d}.png"),
                               images.from_tensor(p.image))

    st.stylize(content, callback=save)


def objective_constants(st: Stylizer, content: np.ndarray, style: np.ndarray):
    """mean(P^2) of the content layer and mean(A_l^2) per style layer (our normalisers)."""
    with torch.no_grad():
        c = images.to_tensor(content)
        p = st.content_targets(c)["relu4_2"]
        grams = st.style_targets(content.shape[0], content.shape[1])
    return p.pow(2).mean().item(), [grams[n].pow(2).mean().item() for n in st.options.style_layers]


def score(st: Stylizer, content: np.ndarray, folder: str) -> list[tuple[str, float]]:
    objective = st.objective(images.to_tensor(content))
    out = []
    for path in sorted(glob.glob(os.path.join(folder, "*.png"))):
        with torch.no_grad():
            _, parts = objective(images.to_tensor(images.read_image(path).pixels))
        out.append((path, float(parts["content"] + parts["style"])))
    return out


def time_to_level(scored, launched: float, level: float):
    for path, loss in scored:
        if loss <= level:
            return os.path.getmtime(path) - launched
    return None


def against_pastiche(content: np.ndarray, style: np.ndarray, width: int, steps: int, every: int,
                     repeats: int, tmp: str) -> dict:
    h, w = images.fit_size(*content.shape[:2], width)
    c8 = images.quantise(images.resize(content, (h, w)), 8)
    sh, sw = images.fit_size(*style.shape[:2], max(h, w))
    s8 = images.quantise(images.resize(style, (sh, sw)), 8)
    cpath, spath = os.path.join(tmp, f"content{width}.png"), os.path.join(tmp, f"style{width}.png")
    cv2.imwrite(cpath, c8)
    cv2.imwrite(spath, s8)
    c, s = c8.astype(np.float32) / 255, s8.astype(np.float32) / 255
    judge = Stylizer([s], StyleOptions(size=None, tv_weight=0.0, device="cpu", precision="fp32"))
    p2, a2 = objective_constants(judge, c, s)
    o = judge.options
    # pastiche's objective = ours x PASTICHE_SCALE. The constant changes
    # neither the minimiser nor the yardstick, but without it pastiche does
    # not move at 512 px: its pixels are 0..255, so an O(1) loss has
    # gradients below torch L-BFGS's tolerance_grad (1e-7) and every step
    # returns at once. 1e6 puts its loss where its own defaults put it.
    layer_w = [PASTICHE_SCALE * o.style_weight / len(a2) / a for a in a2]
    runs = {"pastiche": [], "vidstyle": []}
    level = None
    for r in range(repeats):
        for tool in ("pastiche", "vidstyle"):
            ws = os.path.join(tmp, f"{tool}{width}_{r}")
            os.makedirs(ws)
            if tool == "pastiche":
                cmd = [sys.executable, "-m", "pastiche", "-c", cpath, "-s", spath, "-o", os.path.join(ws, "final.out"),
                       "--size", str(max(h, w)), "--style-size", str(max(sh, sw)), "--num-steps", str(steps),
                       "--device", "cpu", "--seed", "0", "--no-verbose", "--workspace", ws,
                       "--workspace-step", str(every), "--content-weight", str(o.content_weight),
                       "--content-layer-weights", str(PASTICHE_SCALE / p2), "--style-weights", "1",
                       "--style-layer-weights", *map(str, layer_w), "--tv-weight", "0"]
            else:
                cmd = [sys.executable, __file__, "--_worker", "--content", cpath, "--style", spath,
                       "--steps", str(steps), "--every", str(every), "--workspace", ws]
            launched = time.time()
            subprocess.run(cmd, check=True, stdout=subprocess.DEVNULL)
            total = time.time() - launched
            scored = score(judge, c, ws)
            if tool == "pastiche" and level is None:
                level = min(loss for _, loss in scored)
            runs[tool].append((time_to_level(scored, launched, level), total, scored[-1][1]))
    med = {}
    for tool, rows in runs.items():
        reached = [t for t, _, _ in rows if t is not None]
        med[tool] = dict(time=statistics.median(reached) if len(reached) == len(rows) else None,
                         total=statistics.median(r[1] for r in rows),
                         final=statistics.median(r[2] for r in rows))
    speedup = (med["pastiche"]["time"] / med["vidstyle"]["time"]
               if med["pastiche"]["time"] and med["vidstyle"]["time"] else None)
    return dict(size=f"{w}x{h}", steps=steps, level=level, med=med, speedup=speedup)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--_worker", action="store_true", help=argparse.SUPPRESS)
    ap.add_argument("--workspace", help=argparse.SUPPRESS)
    ap.add_argument("--every", type=int, default=5, help="checkpoint every N iterations")
    ap.add_argument("--steps", type=int, default=None, help=argparse.SUPPRESS)
    ap.add_argument("--content", default=DEFAULT_CLIP)
    ap.add_argument("--style", default=DEFAULT_STYLE)
    ap.add_argument("--sizes", type=int, nargs="+", default=[256, 512])
    ap.add_argument("--pastiche-steps", type=int, nargs="+", default=[150, 100],
                    help="pastiche's step count per size; its best written image sets the level")
    ap.add_argument("--repeats", type=int, default=3)
    ap.add_argument("--parts", nargs="+", default=["A", "B"], choices=["A", "B"],
                    help="A: cost per iteration; B: time to a loss level against pastiche")
    ap.add_argument("--precisions", nargs="+", default=["auto", "fp32"], choices=["auto", "fp32", "bf16"],
                    help="A's precisions at each size (bf16 forced: emulated where the CPU lacks it)")
    ap.add_argument("--out", default=DEFAULT_OUT)
    args = ap.parse_args()
    if args._worker:
        return worker(args)
    for path in (args.content, args.style):
        if not os.path.exists(path):
            sys.exit(f"missing {path}: run next to ../shared/data or pass --content/--style")
    content, style = first_frame(args.content), images.read_image(args.style).pixels
    from suite import cpu_name, out_option   # here: suite.py imports this module
    lines = [
        "# Engine speed (CPU)", "",
        f"Command: `python benchmarks/engine_speed.py --sizes {' '.join(map(str, args.sizes))} "
        f"--repeats {args.repeats}{' --parts ' + ' '.join(args.parts) if args.parts != ['A', 'B'] else ''}"
        f"{' --precisions ' + ' '.join(args.precisions) if args.precisions != ['auto', 'fp32'] else ''}"
        f"{out_option(args.out, DEFAULT_OUT)}`  ",
        f"Machine: {cpu_name()}, {os.cpu_count()} cores, "
        f"torch {torch.__version__}, {torch.get_num_threads()} threads; "
        f"content: first frame of {os.path.basename(args.content)}, style: {os.path.basename(args.style)}", "",
    ]
    if "A" in args.parts:
        lines += ["## A. Seconds per iteration against a bare VGG-19 forward+backward (same layers, size, precision)",
                  "", "| size | precision | engine s/iter | bare fwd+bwd s | paired ratio (target <= 1.1) | "
                  "its quartiles |", "|---|---|---|---|---|---|"]
    for width in (args.sizes if "A" in args.parts else []):
        for precision in args.precisions:
            r = per_iteration(content, style, width, precision, args.repeats)
            lines.append(f"| {r['size']} | {r['precision']} | {r['engine']:.3f} | {r['bare']:.3f} | "
                         f"{r['ratio']:.3f}x | {r['quartiles'][0]:.3f}-{r['quartiles'][1]:.3f} |")
            print(lines[-1], flush=True)
    if "B" in args.parts:
        lines += ["", "## B. Wall time to the best loss pastiche's written images reach (same image, size, weights)",
                  "",
                  "| size | pastiche steps | level | pastiche s | vidstyle s | speed-up (target >= 3x) | "
                  "final loss pastiche / vidstyle |", "|---|---|---|---|---|---|---|"]
    with tempfile.TemporaryDirectory() as tmp:
        for width, steps in (zip(args.sizes, args.pastiche_steps) if "B" in args.parts else []):
            r = against_pastiche(content, style, width, steps, args.every, args.repeats, tmp)
            m = r["med"]
            fmt = lambda t: "not reached" if t is None else f"{t:.1f}"
            speedup = "-" if r["speedup"] is None else f"{r['speedup']:.2f}x"
            lines.append(f"| {r['size']} | {steps} | {r['level']:.4f} | {fmt(m['pastiche']['time'])} | "
                         f"{fmt(m['vidstyle']['time'])} | {speedup} | "
                         f"{m['pastiche']['final']:.4f} / {m['vidstyle']['final']:.4f} |")
            print(lines[-1], flush=True)
    lines += ["", f"B: medians over {args.repeats} runs of each tool. A: {args.repeats} runs of 12 iterations, a bare "
                  f"pass between every two; the ratio is the median over all runs of each engine iteration over the "
                  f"mean of the bare passes either side of it (s/iter and bare s: plain medians)."]
    with open(args.out, "w") as handle:
        handle.write("\n".join(lines) + "\n")
    print(f"wrote {args.out}")


if __name__ == "__main__":
    main()
