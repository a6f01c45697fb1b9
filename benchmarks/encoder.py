"""Does the delivered video keep the paint? Style loss of decoded video frames against the frames it was made from.

    python benchmarks/encoder.py --size 512 --render 25 [--out benchmarks/ENCODER.md]
    python benchmarks/encoder.py FRAMES.####.png --style STYLE [--frames 12 24]

Without a FRAMES pattern, the frames are rendered first by this tree's
vidstyle: the first ``--render`` frames of the Big Buck Bunny clip at
``--size`` with the default preset (warm-started), into benchmarks/out/.

Encodes the stylised sequence with each candidate encoder setting (the
settings vidstyle used to have, each of its own codecs as media.py writes
them, and steps between), decodes every video back
with OpenCV, and measures vidstyle's style loss (relative Gram error, fp32,
weight 1) of the decoded frames named by ``--frames`` against that of the
PNG frames themselves: 1.00 means the encoder kept every stroke. Also the
file size and whether the stream is one that common players decode
(H.264 4:2:0 8-bit: browsers, QuickTime, phones; 4:4:4 and 10-bit are not).
"""

from __future__ import annotations

import argparse
import os
import statistics
import subprocess
import sys
import tempfile

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.dirname(HERE))
sys.path.insert(0, HERE)

import cv2  # noqa: E402

from vidstyle import images, media, metrics  # noqa: E402
from vidstyle.options import CODECS, DEFAULT_CODEC, DEFAULT_CRF  # noqa: E402
from vidstyle.sources import open_sequence  # noqa: E402
from suite import SHARED, cpu_name, out_option, publish, run_mode  # noqa: E402

PLAYS_EVERYWHERE = {"h264": True, "h264-444": False, "prores": False, "prores4444": False}


def vidstyle_settings(codec: str, crf: int = DEFAULT_CRF) -> list[str]:
    """The arguments vidstyle's own encoder (media.VideoWriter) uses for ``codec``."""
    return media.encoder_args(codec, crf)


# name: (codec args, container, plays in common players)
_X264 = ["-c:v", "libx264", "-pix_fmt", "yuv420p", "-preset", "medium"]
CANDIDATES = {
    "h264 crf18, x264 and ffmpeg defaults (vidstyle 0.1)": (_X264 + ["-crf", "18"], ".mp4", True),
    "h264 crf18, tune grain": (_X264 + ["-crf", "18", "-tune", "grain"], ".mp4", True),
    "h264 crf18, lanczos chroma": ([*media.CHROMA_FILTER, *_X264, "-crf", "18"], ".mp4", True),
    "h264 crf16, tune grain, lanczos chroma, B-frames": (
        [*media.CHROMA_FILTER, *_X264, "-crf", "16", "-tune", "grain"], ".mp4", True),
    "h264 crf18 (vidstyle's settings)": (vidstyle_settings("h264", 18), ".mp4", True),
    "h264 crf16 (vidstyle's settings)": (vidstyle_settings("h264", 16), ".mp4", True),
    **{f"{codec}{f' crf{DEFAULT_CRF}' if codec.startswith('h264') else ''} (vidstyle's default)"
       if codec == DEFAULT_CODEC else codec: (vidstyle_settings(codec), ".mov" if codec.startswith("prores") else ".mp4",
                                            PLAYS_EVERYWHERE[codec])
       for codec in CODECS},
    "h264 crf12 (vidstyle's settings)": (vidstyle_settings("h264", 12), ".mp4", True),
}


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("frames_pattern", nargs="?", default=None,
                    help="a stylised PNG sequence (default: render one, see --render)")
    ap.add_argument("--clip", default=os.path.join(SHARED, "clips", "bigbuckbunny.mp4"))
    ap.add_argument("--style", default=os.path.join(SHARED, "styles", "starry_night.jpg"))
    ap.add_argument("--size", type=int, default=512)
    ap.add_argument("--render", type=int, default=25, help="frames of --clip to render when no pattern is given")
    ap.add_argument("--frames", type=int, nargs="+", default=None,
                    help="frame numbers to measure (default: every frame)")
    ap.add_argument("--fps", default="25")
    ap.add_argument("--out", default=os.path.join(HERE, "ENCODER.md"))
    args = ap.parse_args()
    pattern = args.frames_pattern
    if pattern is None:
        folder = os.path.join(HERE, "out", f"encoder{args.size}")
        os.makedirs(folder, exist_ok=True)
        run_mode(args.clip, args.style, "flow", args.render, args.size, folder)
        pattern = os.path.join(folder, "flow.####.png")
    seq = open_sequence(pattern)
    pngs = {f.number: f.pixels for f in seq.frames()}
    numbers = sorted(pngs)
    wanted = args.frames or numbers
    measure = metrics.judge([images.read_image(args.style).pixels])

    def style_loss(img):
        return metrics.frame_losses(measure, img, img)["style"]

    reference = {n: style_loss(pngs[n]) for n in wanted}
    h, w = pngs[numbers[0]].shape[:2]
    rows = []
    with tempfile.TemporaryDirectory() as tmp:
        for name, (codec, ext, common) in CANDIDATES.items():
            path = os.path.join(tmp, f"v{len(rows)}{ext}")
            cmd = [media.ffmpeg_exe(), "-hide_banner", "-loglevel", "error", "-y", "-f", "rawvideo", "-pix_fmt",
                   "bgr24", "-s", f"{w}x{h}", "-r", args.fps, "-i", "-", *codec, path]
            raw = b"".join(images.quantise(pngs[n], 8).tobytes() for n in numbers)
            subprocess.run(cmd, input=raw, check=True)
            cap = cv2.VideoCapture(path)
            decoded = {}
            for n in numbers:
                ok, frame = cap.read()
                if ok:
                    decoded[n] = frame.astype("float32") / 255
            cap.release()
            ratios = [style_loss(decoded[n]) / reference[n] for n in wanted]
            rows.append((name, statistics.fmean(ratios), max(ratios), os.path.getsize(path) / 1e6 / len(numbers),
                         common))
            print(rows[-1], flush=True)
    given = (f"{args.frames_pattern} --style {args.style}" if args.frames_pattern else
             f"--size {args.size} --render {args.render}")
    lines = ["# Does the delivered video keep the paint?", "",
             f"Command: `python benchmarks/encoder.py {given}"
             f"{' --frames ' + ' '.join(map(str, args.frames)) if args.frames else ''}{out_option(args.out, ap.get_default('out'))}`  ",
             f"Machine: {cpu_name()}, ffmpeg from imageio-ffmpeg  ",
             f"Input: {len(numbers)} frames {w}x{h}" + ("" if args.frames_pattern else
                                                        f" (the first {args.render} frames of "
                                                        f"{os.path.basename(args.clip)}, {os.path.basename(args.style)}, "
                                                        f"default preset, warm-started)") +
             f"; style loss of the decoded frames {', '.join(map(str, wanted)) if args.frames else '(every one)'} "
             f"over that of the PNG frames (1.00 = nothing lost). vidstyle's settings = media.py's arguments for "
             f"that codec (Lanczos chroma downsampling, High profile, `-tune grain`, no B-frames).", "",
             "| setting | style loss ratio (mean) | worst frame | MB per frame | common players |",
             "|---|---|---|---|---|"]
    for name, mean, worst, mb, common in rows:
        lines.append(f"| {name} | {mean:.3f} | {worst:.3f} | {mb:.3f} | {'yes' if common else 'no'} |")
    publish(lines, args.out)


if __name__ == "__main__":
    main()
