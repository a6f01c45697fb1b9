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
C. Plate resolution (issue #21): a 4K (3840x2160) and an 8K (7680x4320)
   still, tiled (``--tile 512`` and ``auto``), 3 iterations: peak device
   memory (``torch.cuda.max_memory_allocated``; target: 4K within 8 GiB,
   8K works) and seconds per iteration; with two or more GPUs, the 4K still
   on ``cuda:0,cuda:1`` against one: seconds per iteration and the PSNR
   between the two results (target >= 45 dB).
   ``--tiles-only`` runs C alone.
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
from suite import SHARED, out_option, publish  # noqa: E402
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
        st = Stylizer([style], StyleOptions(size=None, coarsest=0, iterations=iterations, tolerance=0.0, device="cuda"))
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
        Stylizer.deterministic, Stylizer.channels_last = True, None   # the defaults


def tiled(content: np.ndarray, style: np.ndarray, size: tuple[int, int], tile: int | str, device: str,
          iterations: int = 3) -> dict:
    """A still of (w, h) tiled on ``device``: its image, peak device memory (GiB), median seconds per iteration."""
    import cv2

    w, h = size
    c = cv2.resize(content, (w, h), interpolation=cv2.INTER_CUBIC).clip(0, 1)
    for i in range(torch.cuda.device_count()):
        torch.cuda.reset_peak_memory_stats(i)
    stamps = []

    def tick(_):
        torch.cuda.synchronize()
        stamps.append(time.perf_counter())

    st = Stylizer([style], StyleOptions(size=None, scales=1, coarsest=0, iterations=iterations, tolerance=0.0, device=device,
                                        tile=tile))
    image = st.stylize(c, callback=tick)
    gib = max(torch.cuda.max_memory_allocated(i) for i in range(torch.cuda.device_count())) / 2**30
    return dict(image=image, gib=gib, per_iteration=statistics.median(np.diff(stamps)) if len(stamps) > 1 else None,
                tile=st.tile_for(h, w))


def plates(content: np.ndarray, style: np.ndarray) -> list[str]:
    lines = ["", "C. Plate resolution, tiled (3 iterations, one level):", "",
             "| size | device | --tile | tile used | peak device GiB | s / iteration | target |",
             "|---|---|---|---|---|---|---|"]
    runs = {}
    for name, size in (("4K", (3840, 2160)), ("8K", (7680, 4320))):
        for tile in (512, "auto"):
            r = tiled(content, style, size, tile, "cuda")
            runs[(name, tile)] = r
            target = "<= 8 GiB" if name == "4K" else "works"
            lines.append(f"| {name} {size[0]}x{size[1]} | cuda | {tile} | {r['tile']} | {r['gib']:.2f} | "
                         f"{r['per_iteration']:.3f} | {target} |")
            print(lines[-1], flush=True)
    if torch.cuda.device_count() >= 2:
        two = tiled(content, style, (3840, 2160), 512, "cuda:0,cuda:1")
        one = runs[("4K", 512)]
        mse = float(np.mean((two["image"] - one["image"]) ** 2))
        psnr = float("inf") if mse == 0 else 10 * np.log10(1 / mse)
        lines += ["", f"Two devices (cuda:0,cuda:1), 4K, tiles of 512: {two['per_iteration']:.3f} s / iteration "
                      f"against {one['per_iteration']:.3f} on one ({one['per_iteration'] / two['per_iteration']:.2f}x "
                      f"faster); PSNR against one device {psnr:.1f} dB (target >= 45)."]
    else:
        lines += ["", "Two devices: only one CUDA device here, not measured."]
    return lines


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--clip", default=os.path.join(SHARED, "clips", "bigbuckbunny.mp4"))
    ap.add_argument("--style", default=os.path.join(SHARED, "styles", "starry_night.jpg"))
    ap.add_argument("--sizes", nargs="+", default=list(LONG_SIDE), choices=list(LONG_SIDE))
    ap.add_argument("--frames", type=int, default=12)
    ap.add_argument("--out", default=os.path.join(HERE, "GPU.md"))
    ap.add_argument("--tiles-only", action="store_true", help="run part C alone")
    args = ap.parse_args()
    if not torch.cuda.is_available():
        print("no CUDA device here: nothing measured (run this on a machine with an NVIDIA GPU)", file=sys.stderr)
        sys.exit(2)
    content, style = first_frame(args.clip), images.read_image(args.style).pixels
    name = torch.cuda.get_device_name()
    if args.tiles_only:
        publish(["# GPU: plate resolution", "", f"Command: `python benchmarks/gpu.py --tiles-only{out_option(args.out, ap.get_default('out'))}`  ",
                 f"Device: {name} x {torch.cuda.device_count()}, torch {torch.__version__}"] + plates(content, style),
                args.out)
        return
    lines = ["# GPU", "", f"Command: `python benchmarks/gpu.py --sizes {' '.join(args.sizes)} --frames {args.frames}{out_option(args.out, ap.get_default('out'))}`  ",
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
    lines += plates(content, style)
    publish(lines, args.out)


if __name__ == "__main__":
    main()
