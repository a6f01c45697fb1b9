"""Tiny synthetic images, made fresh for each test: no test needs ../shared."""

from __future__ import annotations

import hashlib
import os

import cv2
import numpy as np
import pytest

from vidstyle import StyleOptions, VideoOptions

# The repository: the checkout whose vidstyle/ the tests import (samples/, comfyui_vidstyle/, cli.py).
ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
# Small enough that a test run of the optimiser takes a second on a CPU.
FAST = dict(size=48, iterations=6, tolerance=0.0, device="cpu")
# Clips: 64 px, 8 iterations for a shot's first frame, 4 for a warm one.
OPTS = StyleOptions(size=64, iterations=8, tolerance=0.0, device="cpu")
VOPTS = VideoOptions(warm_iterations=4)


def make_content(height: int = 36, width: int = 48) -> np.ndarray:
    """uint8 BGR: a horizontal gradient with a red square in it."""
    img = np.zeros((height, width, 3), np.uint8)
    img[:, :, 0] = np.linspace(40, 220, width, dtype=np.uint8)[None, :]
    img[:, :, 1] = np.linspace(200, 60, height, dtype=np.uint8)[:, None]
    img[height // 4: height // 2, width // 4: width // 2] = (30, 30, 230)
    return img


def make_style(size: int = 48) -> np.ndarray:
    """uint8 BGR: diagonal yellow/blue stripes, a texture with strong Gram statistics."""
    yy, xx = np.mgrid[0:size, 0:size]
    stripes = ((xx + yy) // 4) % 2 == 0
    img = np.empty((size, size, 3), np.uint8)
    img[stripes] = (20, 210, 240)
    img[~stripes] = (160, 60, 20)
    return img


def digest(path) -> str:
    with open(path, "rb") as handle:
        return hashlib.sha256(handle.read()).hexdigest()


@pytest.fixture
def content_path(tmp_path):
    path = tmp_path / "content.png"
    cv2.imwrite(str(path), make_content())
    return path


@pytest.fixture
def style_path(tmp_path):
    path = tmp_path / "style.png"
    cv2.imwrite(str(path), make_style())
    return path


@pytest.fixture
def fast_options():
    return StyleOptions(**FAST)


def write_clip(path, frames, fps="10", audio=True, codec_args=("-c:v", "libx264", "-pix_fmt", "yuv420p",
                                                                  "-crf", "10"), audio_seconds=None):
    """Encode BGR uint8 frames to ``path`` with ffmpeg, with a 440 Hz tone track if ``audio``.

    The tone lasts as long as the picture, or ``audio_seconds``.
    """
    import subprocess
    import wave

    import imageio_ffmpeg

    h, w = frames[0].shape[:2]
    cmd = [imageio_ffmpeg.get_ffmpeg_exe(), "-hide_banner", "-loglevel", "error", "-y",
           "-f", "rawvideo", "-pix_fmt", "bgr24", "-s", f"{w}x{h}", "-r", str(fps), "-i", "-"]
    if audio:
        from fractions import Fraction
        seconds = len(frames) / float(Fraction(fps)) if audio_seconds is None else audio_seconds
        rate = 8000
        t = np.arange(int(rate * seconds)) / rate
        tone = (np.sin(2 * np.pi * 440 * t) * 12000).astype(np.int16)
        wav = str(path) + ".wav"
        with wave.open(wav, "wb") as handle:
            handle.setnchannels(1)
            handle.setsampwidth(2)
            handle.setframerate(rate)
            handle.writeframes(tone.tobytes())
        cmd += ["-i", wav, "-c:a", "aac"]
    cmd += [*codec_args, str(path)]
    subprocess.run(cmd, input=b"".join(np.ascontiguousarray(f).tobytes() for f in frames), check=True)
    return path


def moving_square(count=6, height=48, width=64, step=3, background=None):
    """Frames of a square moving right over a textured, slowly varying background."""
    yy, xx = np.mgrid[0:height, 0:width]
    frames = []
    for i in range(count):
        img = np.zeros((height, width, 3), np.uint8)
        img[..., 0] = (90 + 60 * np.sin(xx / 5.0)).astype(np.uint8)
        img[..., 1] = (120 + 50 * np.cos(yy / 4.0)).astype(np.uint8)
        img[..., 2] = 140 if background is None else background
        x0 = 8 + step * i
        img[16:32, x0:x0 + 16] = (20, 40, 220)
        frames.append(img)
    return frames


@pytest.fixture
def style(tmp_path):
    """A style image's path as a string."""
    path = tmp_path / "style.png"
    cv2.imwrite(str(path), make_style())
    return str(path)


def sequence(folder, frames, start=1001, pattern="shot.{:04d}.png", depth=8):
    """Write BGR uint8 ``frames`` as an image sequence (8- or 16-bit); returns its ``####`` pattern."""
    os.makedirs(folder, exist_ok=True)
    for i, f in enumerate(frames):
        data = f.astype(np.uint16) * 257 if depth == 16 else f
        cv2.imwrite(os.path.join(folder, pattern.format(start + i)), data)
    return os.path.join(folder, pattern.replace("{:04d}", "####"))


def two_shot_frames(length=3):
    """Two shots of ``length`` frames with a hard cut between them (colours inverted, another motion)."""
    shot_a = moving_square(length)
    shot_b = [255 - f[::-1] for f in moving_square(length, step=2)]
    return shot_a + shot_b


def two_shots(folder, length=3):
    """A sequence 1001.. of ``two_shot_frames``: the cut is at 1001 + length."""
    return sequence(folder, two_shot_frames(length))


def interrupt_after(frames_done: int):
    """A progress callback that presses Ctrl-C once ``frames_done`` frames are finished."""
    def callback(p):
        if p.iteration is None and p.frames_done == frames_done:
            raise KeyboardInterrupt
    return callback


def frame_count(path) -> int:
    """Frames in a video file, counted by decoding it (not the container's claim)."""
    cap = cv2.VideoCapture(str(path))
    count = 0
    while cap.read()[0]:
        count += 1
    cap.release()
    return count
