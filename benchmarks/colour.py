"""What the network should see of a scene-linear plate: the measurement behind colorspaces.LOG (ACEScct).

    python benchmarks/colour.py [--size 256] [--iterations 150] [--out benchmarks/COLOUR.md]

A scene-linear plate is made from samples/bunny.jpg (sRGB -> linear
Rec.709 through OCIO) with a highlight patch at 4.0, 8.0 and 16.0 in the sky.
It is stylised (samples/brushstrokes.jpg, the same options and iterations)
with the network seeing it through each candidate encoding, the style image
brought into the same encoding, the result taken back to linear:

* ``sRGB (clipped)``: the sRGB curve, what vidstyle did before issue #19;
* OCIO log spaces of the built-in studio config: ACEScct, ACEScc, ARRI LogC4;
* an OCIO view: the ACES 2.0 SDR output transform to an sRGB display (a
  filmic tone curve, invertible; the style image taken as it is, a display
  image already).

For each: the range the encoding holds in [0, 1]; the highlight patch after
stylising (its median, linear; the plate's values are 4-16); and the look,
the style loss of the result shown as sRGB (clipped, as a viewer shows it)
against the sRGB run's (1 = as stylised as a display-referred plate).
Needs only the samples.
"""

from __future__ import annotations

import argparse
import os
import sys
import time

import numpy as np

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(HERE)
sys.path.insert(0, ROOT)
sys.path.insert(0, HERE)

import torch  # noqa: E402

from suite import cpu_name, out_option, publish  # noqa: E402
from vidstyle import StyleOptions, Stylizer, colorspaces, images, metrics  # noqa: E402

CANDIDATES = [colorspaces.SRGB, "ACEScct", "ACEScc", "ARRI LogC4",
              "sRGB - Display / ACES 2.0 - SDR 100 nits (Rec.709)"]


def held(space: str) -> str:
    """The scene-linear range an encoding maps into [0, 1], as text."""
    if space == colorspaces.SRGB:
        return "0 to 1"
    ends = np.array([[[0.0, 0.0, 0.0], [0.999, 0.999, 0.999] if " / " in space else [1.0, 1.0, 1.0]]], np.float32)
    low, high = colorspaces.convert(ends, space, colorspaces.LINEAR)[0, :, 0]
    return f"{low:.4f} to {high:.0f}"


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--content", default=os.path.join(ROOT, "samples", "bunny.jpg"))
    ap.add_argument("--style", default=os.path.join(ROOT, "samples", "brushstrokes.jpg"))
    ap.add_argument("--size", type=int, default=256)
    ap.add_argument("--iterations", type=int, default=150)
    ap.add_argument("--out", default=os.path.join(HERE, "COLOUR.md"))
    args = ap.parse_args()
    began = time.perf_counter()
    display = images.read_image(args.content).pixels
    h, w = images.output_size(*display.shape[:2], args.size)
    linear = colorspaces.convert(images.resize(display, (h, w)), colorspaces.SRGB, colorspaces.LINEAR)
    patch = (slice(h // 12, h // 12 + h // 8), slice(w // 2, w // 2 + w // 8))
    linear[patch] = np.array([4.0, 8.0, 16.0], np.float32)
    style = images.read_image(args.style).pixels
    options = StyleOptions(size=None, iterations=args.iterations, tolerance=0.0)
    judge = metrics.judge([style])
    rows, base = [], None
    for space in CANDIDATES:
        enc = colorspaces.Encoding(colorspaces.LINEAR, space, linear=True)
        seen = enc.to_network(linear)
        result = Stylizer([enc.style(style)], options).stylize(seen)
        back = enc.from_network(result, exr=True)
        shown = np.clip(colorspaces.convert(back, colorspaces.LINEAR, colorspaces.SRGB), 0, 1)
        shown_plate = np.clip(colorspaces.convert(linear, colorspaces.LINEAR, colorspaces.SRGB), 0, 1)
        loss = metrics.frame_losses(judge, shown, shown_plate)["style"]
        base = loss if base is None else base
        rows.append((space, held(space), float(np.median(back[patch].max(axis=-1))), loss / base))
        print(rows[-1], flush=True)
    lines = [
        "# The network's encoding of a scene-linear plate", "",
        f"Command: `python benchmarks/colour.py --size {args.size} --iterations {args.iterations}{out_option(args.out, ap.get_default('out'))}` "
        f"({(time.perf_counter() - began) / 60:.0f} min)  ",
        f"Machine: {cpu_name()}, {os.cpu_count()} cores, torch {torch.__version__}  ",
        f"Input: {os.path.basename(args.content)} at {w}x{h} as linear Rec.709 with a highlight patch at 4, 8, 16; "
        f"style {os.path.basename(args.style)}; {args.iterations} iterations; OCIO {colorspaces.config_path()}.", "",
        "| network sees | holds (scene-linear) | highlight patch after (median, linear; plate 4-16) | "
        "style loss seen as sRGB / sRGB run's |",
        "|---|---|---|---|",
    ]
    for space, span, highlight, ratio in rows:
        lines.append(f"| {space}{' (before #19)' if space == colorspaces.SRGB else ''}"
                     f"{' (chosen)' if space == colorspaces.LOG else ''} | {span} | {highlight:.2f} | {ratio:.3f} |")
    publish(lines, args.out)


if __name__ == "__main__":
    main()
