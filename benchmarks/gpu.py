"""vidstyle on a CUDA GPU: cost per iteration against a bare VGG-19 pass, and warm frames per second.

    python benchmarks/gpu.py [--sizes 720p 1080p] [--frames 12] [--out benchmarks/GPU.md]

Needs a CUDA device (exits with status 2 and says so otherwise) and
../shared/data (or --clip/--style).

A. Seconds per optimiser iteration (bf16 autocast where the GPU supports
   it) against one bare VGG-19 forward+backward through the same layers at
   the same size and precision, CUDA-synchronised, medians; for the four
   combinations of cuDNN deterministic on/off and channels-last on/off
   (vidstyle's defaults: deterministic on, channels-last off; the table says
   what the other choices would gain). Target: at most 1.2x the bare pass.
B. Warm frames per second at 720p and 1080p with the default preset and the
   flow warm start: one fresh `vidstyle` process per size over the first
   ``--frames`` frames (benchmarks/throughput.py's run and report reading),
   the first frame capped at 20 iterations. Targets on one H100-class GPU:
   720p at least 5 warm frames/s, 1080p at least 2.
"""

from __future__ import annotations

import argparse
import os
import statistics
import sys
import tempfile
import time

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(HERE)
sys.path.insert(0, ROOT)
sys.path.insert(0, HERE)

import numpy as np  # noqa: E402
import torch  # noqa: E402

from engine_speed import first_frame  # noqa: E402
from suite import SHARED, publish  # noqa: E402
from throughput import analyse, run, upscaled  # noqa: E402
from vidstyle import StyleOptions, images  # noqa: E402
from vidstyle.engine import Stylizer  # noqa: E402

LONG_SIDE = {"720p": 1280, "1080p": 1920}


def per_iteration(content: np.ndarray, style: np.ndarray, long_side: int, deterministic: bool,
                  channels_last: bool, iterations: int = 30) -> dict:
    """Median seconds per engine iteration and per bare forward+backward, CUDA-synchronised."""
    Stylizer.deterministic, Stylizer.channels_last = deterministic, channels_last
    try:
        h, w = images.fit_size(*content.shape[:2], long_side)
        c = images.resize(content, (h, w))
        st = Stylizer([style], StyleOptions(size=None, iterations=iterations, tolerance=0.0, device="cuda"))
        stamps = []

        def tick(_):
            torch.cuda.synchronize()
            stamps.append(time.perf_counter())

        st.stylize(c, callback=tick)
        engine = statistics.median(np.diff(stamps)[3:])
        x = torch.rand(1, 3, h, w, device="cuda", requires_grad=True)
        if channels_last:
            x = x.detach().contiguous(memory_format=torch.channels_last).requires_grad_(True)
        bare = []
        with torch.backends.cudnn.flags(enabled=True, benchmark=False, deterministic=deterministic):
            for _ in range(iterations):
                torch.cuda.synchronize()
                t = time.perf_counter()
                with torch.autocast("cuda", dtype=torch.bfloat16, enabled=st.bf16):
                    feats = st.net(x, st.layers)
                sum(f.float().sum() for f in feats.values()).backward()
                torch.cuda.synchronize()
                bare.append(time.perf_counter() - t)
        bare_s = statistics.median(bare[3:])
        return dict(size=f"{w}x{h}", bf16=st.bf16, engine=engine, bare=bare_s, ratio=engine / bare_s)
    finally:
        Stylizer.deterministic, Stylizer.channels_last = True, False


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--clip", default=os.path.join(SHARED, "clips", "bigbuckbunny.mp4"))
    ap.add_argument("--style", default=os.path.join(SHARED, "styles", "starry_night.jpg"))
    ap.add_argument("--sizes", nargs="+", default=list(LONG_SIDE), choices=list(LONG_SIDE))
    ap.add_argument("--frames", type=int, default=12)
    ap.add_argument("--out", default=os.path.join(HERE, "GPU.md"))
    args = ap.parse_args()
    if not torch.cuda.is_available():
        print("no CUDA device here: nothing measured (run this on a machine with an NVIDIA GPU)", file=sys.stderr)
        sys.exit(2)
    content, style = first_frame(args.clip), images.read_image(args.style).pixels
    name = torch.cuda.get_device_name()
    lines = ["# GPU", "", f"Command: `python benchmarks/gpu.py --sizes {' '.join(args.sizes)} --frames {args.frames}`  ",
             f"Device: {name}, torch {torch.__version__}, CUDA {torch.version.cuda}", "",
             "A. Per iteration (medians, synchronised):", "",
             "| size | cuDNN deterministic | channels-last | bf16 | engine s/iter | bare fwd+bwd s | ratio |",
             "|---|---|---|---|---|---|---|"]
    for size in args.sizes:
        for det in (True, False):
            for cl in (False, True):
                r = per_iteration(content, style, LONG_SIDE[size], det, cl)
                lines.append(f"| {r['size']} | {'on' if det else 'off'} | {'on' if cl else 'off'} | "
                             f"{'yes' if r['bf16'] else 'no'} | {r['engine']:.4f} | {r['bare']:.4f} | "
                             f"{r['ratio']:.2f}x |")
                print(lines[-1], flush=True)
    lines += ["", "B. Warm frames per second (default preset, flow warm start, one process per size):", "",
              "| size | frames | warm iterations (median) | optimise s | gap s | warm frames/s | target |",
              "|---|---|---|---|---|---|---|"]
    with tempfile.TemporaryDirectory() as tmp:
        for size in args.sizes:
            clip = upscaled(args.clip, tmp, args.frames) if size == "1080p" else args.clip
            folder = os.path.join(tmp, size)
            os.makedirs(folder)
            r = analyse(run(os.path.join(ROOT, "cli.py"), clip, args.style, "full", args.frames, folder,
                            ["--device", "cuda", "--iterations", "20"]))
            target = 5 if size == "720p" else 2
            lines.append(f"| {size} | {args.frames} | {r['its']:.0f} | {r['stages']['optimise']:.4f} | "
                         f"{r['gap']:.4f} | {r['warm_fps']:.2f} | >= {target} |")
            print(lines[-1], flush=True)
    publish(lines, args.out)


if __name__ == "__main__":
    main()
