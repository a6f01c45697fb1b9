"""A style change inside a shot: no flicker across the fade, and the new style reached by its end.

    python benchmarks/style_track.py [--size 256] [--key 6] [--fade 12] [--out benchmarks/STYLE_TRACK.md]

The sample clip (samples/bunny.mp4, 24 frames, one shot) with the two
sample styles (A: samples/brushstrokes.jpg, B: samples/mosaic.png), three
runs of the default preset at ``--size``, one after the other:

* ``fade``: A, then ``--style-at KEY=B --style-fade FADE`` (the key inside
  the shot: the Gram targets cross-fade over FADE frames, the warm start
  goes on);
* ``B throughout``: B for the whole shot, the reference;
* ``at once``: the same key with ``--style-fade 0``, to show what a pop is.

Measured (issue #20, point 2), with ``vidstyle check``'s own code
(``metrics.check``: the flicker frames are those whose warping error jumps):

* flicker frames reported across the change (from KEY to the end);
* the style loss against B at the fade's last frame (KEY + FADE - 1) and at
  the last frame, ``fade`` over ``B throughout`` (target <= 1.1 at the
  fade's end).

Also writes docs/style_track.jpg: frames KEY-1 .. KEY+FADE of the fade run,
every third, with the source frame first. Needs only the samples.
"""

from __future__ import annotations

import argparse
import os
import sys
import tempfile
import time

import numpy as np

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(HERE)
sys.path.insert(0, ROOT)
sys.path.insert(0, HERE)

import torch  # noqa: E402

from suite import cpu_name, out_option, publish  # noqa: E402
from vidstyle import StyleOptions, VideoOptions, images, metrics, stylize_video  # noqa: E402
from vidstyle.sources import open_source  # noqa: E402
from vidstyle.styletrack import StyleKey  # noqa: E402

TARGET = 1.1


def render(clip: str, styles: list[str], folder: str, name: str, options: StyleOptions,
           video: VideoOptions) -> tuple[str, float]:
    """Stylise ``clip`` into a PNG sequence in ``folder``; (its pattern, seconds)."""
    pattern = os.path.join(folder, f"{name}.####.png")
    began = time.perf_counter()
    stylize_video(clip, styles, pattern, options, video)
    return pattern, time.perf_counter() - began


def frame(pattern: str, number: int) -> np.ndarray:
    return images.read_image(pattern.replace("####", f"{number:04d}")).pixels


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--clip", default=os.path.join(ROOT, "samples", "bunny.mp4"))
    ap.add_argument("--styles", nargs=2, default=[os.path.join(ROOT, "samples", "brushstrokes.jpg"),
                                                  os.path.join(ROOT, "samples", "mosaic.png")])
    ap.add_argument("--size", type=int, default=256)
    ap.add_argument("--key", type=int, default=6)
    ap.add_argument("--fade", type=int, default=12)
    ap.add_argument("--out", default=os.path.join(HERE, "STYLE_TRACK.md"))
    ap.add_argument("--strip", default=os.path.join(ROOT, "docs", "style_track.jpg"))
    args = ap.parse_args()
    a, b = args.styles
    options = StyleOptions(size=args.size)
    base = VideoOptions(cuts="none")   # the sample clip is one shot: the key is inside it
    key = (StyleKey(args.key, (b,)),)
    end = args.key + args.fade - 1
    measure = metrics.judge([images.read_image(b).pixels])
    rows, began = [], time.perf_counter()
    with tempfile.TemporaryDirectory() as tmp:
        runs = {"fade": render(args.clip, [a], tmp, "fade", options,
                               base.replace(style_keys=key, style_fade=args.fade)),
                "B throughout": render(args.clip, [b], tmp, "b", options, base),
                "at once": render(args.clip, [a], tmp, "now", options, base.replace(style_keys=key, style_fade=0))}
        clip = open_source(args.clip)
        clip.check()
        source = {f.number: f.pixels for f in clip.frames()}
        last = max(source)
        losses = {}
        for name, (pattern, seconds) in runs.items():
            report = metrics.check(args.clip, pattern, cuts="none")
            flicker = [n for n in report.flicker if n >= args.key]
            losses[name] = {n: metrics.frame_losses(measure, frame(pattern, n), source[n])["style"]
                            for n in (args.key - 1, end, last)}
            rows.append((name, seconds, flicker, report.ewarp_ratio))
        fade_pattern = runs["fade"][0]
        picks = list(range(args.key - 1, end + 2, 3))
        strip = [images.resize(source[picks[0]], frame(fade_pattern, picks[0]).shape[:2])] + \
            [frame(fade_pattern, n) for n in picks]
        if args.strip:
            images.write_image(args.strip, np.concatenate(strip, axis=1))
    ref = losses["B throughout"]
    lines = [
        "# A style change inside a shot (issue #20)",
        "",
        f"Command: `python benchmarks/style_track.py --size {args.size} --key {args.key} --fade {args.fade}{out_option(args.out, ap.get_default('out'))}` "
        f"({(time.perf_counter() - began) / 60:.0f} min)  ",
        f"Machine: {cpu_name()}, {os.cpu_count()} cores, torch {torch.__version__} ({torch.get_num_threads()} "
        f"threads)  ",
        f"Input: {os.path.relpath(args.clip, ROOT)} ({len(source)} frames, one shot), at {args.size} px, default "
        f"preset; A = {os.path.basename(a)}, B = {os.path.basename(b)}; key at frame {args.key}, the fade's last "
        f"frame {end}.",
        "",
        "| run | seconds | flicker frames from the key on (vidstyle check) | E_warp / source | "
        f"style loss vs B at {args.key - 1} / {end} (fade's end) / {last}, over B throughout |",
        "|---|---|---|---|---|",
    ]
    for name, seconds, flicker, ratio in rows:
        l = losses[name]
        ratios = " / ".join(f"{l[n] / ref[n]:.3f}" for n in (args.key - 1, end, last))
        lines.append(f"| {name} | {seconds:.0f} | {', '.join(map(str, flicker)) or 'none'} | "
                     f"{ratio:.2f} | {ratios} |")
    verdict = losses["fade"][end] / ref[end] <= TARGET and not rows[0][2]
    lines += ["", f"Target: no flicker frame across the fade, and style loss against B at the fade's end within "
                  f"{TARGET}x of B throughout: **{'met' if verdict else 'not met'}**. "
                  f"Strip: `{os.path.relpath(args.strip, ROOT)}` (source, then frames {', '.join(map(str, picks))} "
                  f"of the fade run)."]
    publish(lines, args.out)


if __name__ == "__main__":
    main()
