"""Make the README's matte picture: the bunny stylised, the set kept, from the samples.

    python docs/make_matte_clip.py [--style samples/brushstrokes.jpg] [--frames 24]

A matte sequence is keyed from samples/bunny.mp4 (the grey bunny and its
rock against saturated grass and trees: low saturation in the lower left,
cleaned and softened), then the clip is stylised with ``--mask`` as a user
would (``vidstyle bunny.mp4 STYLE --mask matte.####.png``). Writes

* docs/matte_strip.jpg: rows source / matte / result, four frames across;
* docs/matte_clip.gif: the result, animated.

Where the matte is 0 the result is the source frame as decoded. About 5
minutes on a 2-core CPU.
"""

from __future__ import annotations

import argparse
import os
import subprocess
import sys
import tempfile

import cv2
import numpy as np

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(HERE)
sys.path.insert(0, ROOT)

from make_preview import label, write_gif  # noqa: E402  (docs/, beside this script)

from vidstyle.sources import open_source  # noqa: E402


def key(frame: np.ndarray) -> np.ndarray:
    """(H, W) uint8 matte of the grey bunny and rock: low saturation, lower left, cleaned and softened."""
    h, w = frame.shape[:2]
    saturation = cv2.cvtColor(frame, cv2.COLOR_BGR2HSV)[..., 1]
    matte = (saturation < 70).astype(np.uint8) * 255
    matte[: h // 4] = 0
    matte[:, int(w * 0.62):] = 0
    kernel = cv2.getStructuringElement(cv2.MORPH_ELLIPSE, (5, 5))
    matte = cv2.morphologyEx(cv2.morphologyEx(matte, cv2.MORPH_OPEN, kernel), cv2.MORPH_CLOSE, kernel)
    return cv2.GaussianBlur(matte, (5, 5), 0)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--clip", default=os.path.join(ROOT, "samples", "bunny.mp4"))
    ap.add_argument("--style", default=os.path.join(ROOT, "samples", "brushstrokes.jpg"))
    ap.add_argument("--frames", type=int, default=24)
    args = ap.parse_args()
    source = open_source(args.clip)
    source.restrict(list(range(args.frames)))
    source.check()
    frames = [np.round(f.pixels * 255).astype(np.uint8) for f in source.frames()]
    with tempfile.TemporaryDirectory() as tmp:
        for i, frame in enumerate(frames):
            cv2.imwrite(os.path.join(tmp, f"matte.{i:04d}.png"), key(frame))
        out = os.path.join(tmp, "out.####.png")
        subprocess.run([sys.executable, os.path.join(ROOT, "cli.py"), args.clip, args.style, "-o", out,
                        "--mask", os.path.join(tmp, "matte.####.png"), "--frames", f"0-{args.frames - 1}",
                        "--size", "full", "-q"], check=True)
        results = [cv2.imread(os.path.join(tmp, f"out.{i:04d}.png")) for i in range(args.frames)]
        mattes = [cv2.imread(os.path.join(tmp, f"matte.{i:04d}.png")) for i in range(args.frames)]
    picks = np.linspace(0, args.frames - 1, 4).round().astype(int)
    rows = [np.hstack([label(images[i], f"{name} {i}") for i in picks])
            for name, images in (("source", frames), ("matte", mattes), ("result", results))]
    cv2.imwrite(os.path.join(HERE, "matte_strip.jpg"), np.vstack(rows), [cv2.IMWRITE_JPEG_QUALITY, 90])
    write_gif(os.path.join(HERE, "matte_clip.gif"), [np.hstack([f, r]) for f, r in zip(frames, results)],
              source.fps or 12.5)
    print("wrote docs/matte_strip.jpg and docs/matte_clip.gif")


if __name__ == "__main__":
    main()
