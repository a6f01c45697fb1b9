"""Make the README's pictures from the samples: a strip and an animated GIF of source | none | flow.

    python docs/make_preview.py [--style samples/brushstrokes.jpg] [--preset standard]

Stylises samples/bunny.mp4 twice with the default preset: every frame on its
own (--warm-start none) and warm-started along the optical flow (the
default), then writes

* docs/preview_strip.jpg: rows source / none / flow, four frames across;
* docs/preview.gif: the three side by side, animated (watch the none row
  boil and the flow row hold still);
* docs/preview_check.txt: `vidstyle check` of both, the numbers behind the
  pictures.

About 15 minutes on a 2-core CPU (the none run optimises every frame in full).
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

import vidstyle  # noqa: E402
from vidstyle import StyleOptions, VideoOptions, media, metrics  # noqa: E402
from vidstyle.sources import open_source  # noqa: E402

ROWS = ("source", "none", "flow")


def label(image: np.ndarray, text: str) -> np.ndarray:
    out = image.copy()
    cv2.putText(out, text, (6, 18), cv2.FONT_HERSHEY_SIMPLEX, 0.5, (0, 0, 0), 3, cv2.LINE_AA)
    cv2.putText(out, text, (6, 18), cv2.FONT_HERSHEY_SIMPLEX, 0.5, (255, 255, 255), 1, cv2.LINE_AA)
    return out


def write_gif(path: str, panels: list[np.ndarray], fps) -> None:
    """uint8 BGR panels of one size -> an endlessly looping GIF (ffmpeg, a 128-colour palette)."""
    h, w = panels[0].shape[:2]
    cmd = [media.ffmpeg_exe(), "-hide_banner", "-loglevel", "error", "-y", "-f", "rawvideo", "-pix_fmt", "bgr24",
           "-s", f"{w}x{h}", "-r", str(fps), "-i", "-", "-vf",
           "split[a][b];[a]palettegen=max_colors=128[p];[b][p]paletteuse=dither=bayer:bayer_scale=3",
           "-loop", "0", path]
    subprocess.run(cmd, input=b"".join(np.ascontiguousarray(p).tobytes() for p in panels), check=True)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--clip", default=os.path.join(ROOT, "samples", "bunny.mp4"))
    ap.add_argument("--style", default=os.path.join(ROOT, "samples", "brushstrokes.jpg"))
    ap.add_argument("--preset", default="standard")
    ap.add_argument("--columns", type=int, nargs="+", default=[0, 8, 16, 23], help="frames in the strip")
    args = ap.parse_args()
    source = open_source(args.clip)
    source.check()   # its frames, counted by decoding it
    frames = {"source": {f.number: f.pixels for f in source.frames()}}
    report = []
    with tempfile.TemporaryDirectory() as tmp:
        for mode in ROWS[1:]:
            pattern = os.path.join(tmp, f"{mode}.####.png")
            summary = vidstyle.stylize_video(args.clip, args.style, pattern, StyleOptions.from_preset(args.preset),
                                             VideoOptions.from_preset(args.preset, warm_start=mode))
            frames[mode] = {f.number: f.pixels for f in open_source(pattern).frames()}
            r = metrics.check(args.clip, pattern, [args.style])
            report.append(f"{mode}: E_warp {r.ewarp:.6f} ({r.ewarp_ratio:.2f}x the source's {r.ewarp_source:.6f}), "
                          f"style loss {r.style_loss:.4f}, content loss {r.content_loss:.4f}, "
                          f"{summary.seconds:.0f} s for {len(summary.frames)} frames")
            print(report[-1], flush=True)
    h, w = frames["none"][0].shape[:2]
    to8 = {mode: {n: np.round(cv2.resize(p, (w, h), interpolation=cv2.INTER_AREA) * 255).astype(np.uint8)
                  for n, p in frames[mode].items()} for mode in ROWS}
    rows = [np.hstack([label(to8[mode][n], f"{mode}  frame {n}") if i == 0 else to8[mode][n]
                       for i, n in enumerate(args.columns)]) for mode in ROWS]
    cv2.imwrite(os.path.join(HERE, "preview_strip.jpg"), np.vstack(rows), [cv2.IMWRITE_JPEG_QUALITY, 90])
    numbers = sorted(to8["none"])
    write_gif(os.path.join(HERE, "preview.gif"), [np.hstack([label(to8[mode][n], mode) for mode in ROWS])
                                                  for n in numbers], source.fps or 12)
    with open(os.path.join(HERE, "preview_check.txt"), "w") as handle:
        handle.write(f"python docs/make_preview.py  (samples/bunny.mp4, {os.path.basename(args.style)}, "
                     f"preset {args.preset})\n" + "\n".join(report) + "\n")


if __name__ == "__main__":
    main()
