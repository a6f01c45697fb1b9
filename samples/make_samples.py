"""Rebuild the files in samples/ (see samples/README.md for sources and licences).

    python samples/make_samples.py [PATH/TO/bigbuckbunny.mp4]

The style images are drawn here from seeded random numbers; the content
image and the short clip are cut from Big Buck Bunny (CC BY 3.0, Blender
Foundation), by default from ../shared/data/clips/bigbuckbunny.mp4.
"""

from __future__ import annotations

import os
import subprocess
import sys

import cv2
import numpy as np

HERE = os.path.dirname(os.path.abspath(__file__))
DEFAULT_CLIP = os.path.join(HERE, "..", "..", "shared", "data", "clips", "bigbuckbunny.mp4")


def bunny_frame(clip: str, index: int = 50, width: int = 640) -> np.ndarray:
    cap = cv2.VideoCapture(clip)
    if not cap.isOpened():
        sys.exit(f"cannot open {clip}")
    cap.set(cv2.CAP_PROP_POS_FRAMES, index)
    ok, frame = cap.read()
    cap.release()
    if not ok:
        sys.exit(f"cannot read frame {index} of {clip}")
    h, w = frame.shape[:2]
    return cv2.resize(frame, (width, round(h * width / w)), interpolation=cv2.INTER_AREA)


def bunny_clip(clip: str, out: str, seconds: float = 1.92, every: int = 2, width: int = 256) -> None:
    """The bunny leaving its burrow: the first ``seconds``, every ``every``-th
    frame (25 -> 12.5 fps), ``width`` px wide, stereo AAC sound.

    Small on purpose: the README's quick start stylises all of it on a 2-core
    CPU in a few minutes (24 frames at 256x144).
    """
    import imageio_ffmpeg

    cmd = [imageio_ffmpeg.get_ffmpeg_exe(), "-hide_banner", "-loglevel", "error", "-y", "-i", clip,
           "-t", str(seconds), "-vf", f"select='not(mod(n\\,{every}))',setpts=N/(25/{every})/TB,"
           f"scale={width}:-2:flags=area", "-r", f"25/{every}", "-c:v", "libx264", "-pix_fmt", "yuv420p",
           "-crf", "16", "-preset", "slow", "-c:a", "aac", "-ac", "2", "-b:a", "96k",
           "-movflags", "+faststart", "-map_metadata", "-1", out]
    subprocess.run(cmd, check=True)


def brush_strokes(size: int = 512, seed: int = 1) -> np.ndarray:
    """Short curved strokes in warm and deep-blue paint, following a swirling field."""
    rng = np.random.default_rng(seed)
    palette = np.array([(40, 30, 120), (30, 90, 200), (40, 170, 240), (150, 200, 240),
                        (120, 60, 20), (200, 120, 40), (90, 40, 60)], np.uint8)  # BGR
    img = np.full((size, size, 3), (60, 50, 70), np.uint8)
    for _ in range(5000):
        x, y = rng.uniform(0, size, 2)
        colour = palette[rng.integers(len(palette))].astype(int) + rng.integers(-20, 20, 3)
        points = []
        for _step in range(int(rng.integers(6, 16))):
            angle = np.sin(x / 53.0) * 2.0 + np.cos(y / 41.0) * 2.0
            x, y = x + 3 * np.cos(angle), y + 3 * np.sin(angle)
            points.append((int(x), int(y)))
        cv2.polylines(img, [np.array(points, np.int32)], False, tuple(int(c) for c in np.clip(colour, 0, 255)),
                      int(rng.integers(2, 6)), cv2.LINE_AA)
    return cv2.GaussianBlur(img, (3, 3), 0)


def mosaic(size: int = 512, seed: int = 2, cells: int = 220) -> np.ndarray:
    """Stained glass: Voronoi cells in bright colours with dark lead lines."""
    rng = np.random.default_rng(seed)
    palette = np.array([(40, 40, 200), (40, 160, 230), (60, 200, 90), (200, 120, 30),
                        (150, 50, 120), (220, 200, 60), (30, 90, 40)], np.float32)
    seeds = rng.uniform(0, size, (cells, 2)).astype(np.float32)
    yy, xx = np.mgrid[0:size, 0:size].astype(np.float32)
    d = (xx[..., None] - seeds[:, 0]) ** 2 + (yy[..., None] - seeds[:, 1]) ** 2
    order = np.argsort(d, axis=2)
    nearest, second = order[..., 0], order[..., 1]
    colours = palette[rng.integers(len(palette), size=cells)] * rng.uniform(0.7, 1.1, (cells, 1))
    img = colours[nearest]
    gap = np.sqrt(np.take_along_axis(d, second[..., None], 2)[..., 0]) - \
        np.sqrt(np.take_along_axis(d, nearest[..., None], 2)[..., 0])
    img[gap < 3.0] = (25, 20, 20)
    return np.clip(img, 0, 255).astype(np.uint8)


def main() -> None:
    clip = sys.argv[1] if len(sys.argv) > 1 else DEFAULT_CLIP
    cv2.imwrite(os.path.join(HERE, "bunny.jpg"), bunny_frame(clip), [cv2.IMWRITE_JPEG_QUALITY, 92])
    cv2.imwrite(os.path.join(HERE, "brushstrokes.jpg"), brush_strokes(), [cv2.IMWRITE_JPEG_QUALITY, 92])
    cv2.imwrite(os.path.join(HERE, "mosaic.png"), mosaic())
    bunny_clip(clip, os.path.join(HERE, "bunny.mp4"))


if __name__ == "__main__":
    main()
