"""Frame sources: a video file, a folder of images, or a numbered image sequence.

Every source gives frames one at a time as ``Frame(number, pixels)`` with
pixels (H, W, 3) float32 BGR in [0, 1], display-referred (EXR frames are
converted from scene-linear with the sRGB curve). Nothing holds more than
one decoded frame, so memory does not grow with the length of the input.

Frame numbers: a sequence keeps its own (VFX shots start at 1001 and keep
their numbers); a video's frames and a folder's files are numbered from 0 in
decoding / name order.
"""

from __future__ import annotations

import os
import re
from dataclasses import dataclass
from fractions import Fraction
from typing import Iterator, Sequence

import cv2
import numpy as np

from . import images
from .errors import ConfigError, InputError

VIDEO_EXTENSIONS = (".mp4", ".mov", ".mkv", ".avi", ".m4v", ".webm", ".mxf", ".mpg", ".mpeg", ".ts", ".y4m")
IMAGE_EXTENSIONS = (".png", ".jpg", ".jpeg", ".tif", ".tiff", ".bmp", ".webp", ".exr")
_PATTERN = re.compile(r"%0?\d*d|#+|@+|\$F\d*|\d+(-\d+)?(x\d+)?#|\d+(-\d+)?(x\d+)?@+")


@dataclass(frozen=True)
class Frame:
    number: int
    pixels: np.ndarray  # (H, W, 3) float32 BGR [0, 1]


def split_pattern(path: str) -> tuple[str, int, str]:
    """``/a/out.####.png`` -> ("/a/out.", 4, ".png").

    Padding: ``%04d`` 4, ``@@@`` 3, ``$F4`` 4, ``####`` 4 (Nuke: one digit a
    hash), but a lone ``#`` (fileseq/Katana: ``shot.1001-1100#.png``) means 4.
    A frame range before the token is dropped.
    """
    folder, name = os.path.split(path)
    m = _PATTERN.search(name)
    if not m:
        raise ConfigError(f"{path} is not a sequence pattern (use OUT.####.png or OUT.%04d.png)")
    token = m.group(0)
    if token.startswith("%"):
        pad = int(token[1:-1] or 1)
    elif token.startswith("$F"):
        pad = int(token[2:] or 1)
    else:
        marks = re.search(r"#+|@+", token).group(0)
        pad = 4 if marks == "#" else len(marks)
    return os.path.join(folder, name[:m.start()]), pad, name[m.end():]


def is_sequence_pattern(path: str) -> bool:
    """``shot.%04d.png``, ``shot.####.png``, ``shot.@@@@.png``, ``shot.$F4.png``, ``shot.1001-1100#.png``."""
    return bool(_PATTERN.search(os.path.basename(path)))


def is_video_path(path: str) -> bool:
    return os.path.splitext(path)[1].lower() in VIDEO_EXTENSIONS


# -- EXR ---------------------------------------------------------------------------

def linear_to_display(x: np.ndarray) -> np.ndarray:
    """Scene-linear -> sRGB-encoded [0, 1]; values above 1 (highlights) are clipped."""
    x = np.clip(x, 0.0, 1.0)
    return np.where(x <= 0.0031308, 12.92 * x, 1.055 * np.power(x, 1 / 2.4) - 0.055).astype(np.float32)


def display_to_linear(x: np.ndarray) -> np.ndarray:
    """sRGB-encoded [0, 1] -> scene-linear."""
    x = np.clip(x, 0.0, 1.0)
    return np.where(x <= 0.04045, x / 12.92, np.power((x + 0.055) / 1.055, 2.4)).astype(np.float32)


def read_exr(path: str) -> np.ndarray:
    """An EXR's RGB as display-referred (H, W, 3) float32 BGR [0, 1] (openexr package)."""
    try:
        import OpenEXR
    except ImportError:
        raise InputError("reading EXR needs the 'openexr' package: pip install openexr") from None
    try:
        with OpenEXR.File(path) as handle:
            # The pixels must be taken while the file is open.
            channels = {name: np.array(ch.pixels) for name, ch in handle.channels().items()}
    except Exception as exc:
        raise InputError(f"cannot read EXR {path}: {exc}") from None
    if "RGB" in channels or "RGBA" in channels:
        rgb = channels.get("RGB", channels.get("RGBA"))[..., :3]
    elif "Y" in channels:
        rgb = np.repeat(channels["Y"][..., None], 3, axis=2)
    else:
        raise InputError(f"EXR {path} has no RGB or Y channels (has {', '.join(channels) or 'none'})")
    rgb = rgb.astype(np.float32)
    if not np.isfinite(rgb).all():
        rgb = np.nan_to_num(rgb, nan=0.0, posinf=1.0, neginf=0.0)
    return np.ascontiguousarray(linear_to_display(rgb)[..., ::-1])


def write_exr(path: str, pixels: np.ndarray) -> None:
    """Display-referred BGR [0, 1] -> scene-linear half-float RGB EXR, written atomically."""
    import OpenEXR

    rgb = np.ascontiguousarray(display_to_linear(pixels)[..., ::-1]).astype(np.float16)
    folder, name = os.path.split(os.path.abspath(path))
    tmp = os.path.join(folder, f".{name}.{os.getpid()}.partial.exr")
    try:
        header = {"compression": OpenEXR.ZIP_COMPRESSION, "type": OpenEXR.scanlineimage}
        with OpenEXR.File(header, {"RGB": rgb}) as handle:
            handle.write(tmp)
        os.replace(tmp, path)
    finally:
        if os.path.exists(tmp):
            os.unlink(tmp)


def read_frame_file(path: str) -> images.Image:
    if path.lower().endswith(".exr"):
        return images.Image(read_exr(path), 16)
    return images.read_image(path, "frame")


# -- sources -----------------------------------------------------------------------

class FrameSource:
    """Common interface. ``numbers`` lists the frames to process, in order."""

    kind: str = ""
    path: str = ""
    numbers: list[int]
    fps: Fraction | None = None
    width: int = 0
    height: int = 0
    bit_depth: int = 8
    is_exr: bool = False
    has_audio: bool = False
    padding: int | None = None  # digits in a sequence's file names; None for videos and folders

    def frames(self) -> Iterator[Frame]:
        raise NotImplementedError

    def restrict(self, wanted: Sequence[int]) -> None:
        """Keep only ``wanted`` frame numbers; refuse numbers the source lacks."""
        have = set(self.numbers)
        missing = [n for n in wanted if n not in have]
        if missing:
            raise ConfigError(f"--frames asks for frame(s) the input does not have: {format_ranges(missing)} "
                              f"(it has {format_ranges(self.numbers)})")
        self.numbers = sorted(set(wanted))


class VideoSource(FrameSource):
    """A video file decoded by OpenCV (rotation metadata applied by OpenCV)."""

    kind = "video"

    def __init__(self, path: str):
        self.path = path
        if not os.path.exists(path):
            raise InputError(f"input video not found: {path}")
        if os.path.getsize(path) == 0:
            raise InputError(f"input video is an empty file: {path}")
        cap = cv2.VideoCapture(path)
        try:
            ok, first = cap.read() if cap.isOpened() else (False, None)
            fps = cap.get(cv2.CAP_PROP_FPS)
            count = int(cap.get(cv2.CAP_PROP_FRAME_COUNT))
            if ok and count <= 0:  # some containers do not say: count by decoding
                count = 1
                while cap.grab():
                    count += 1
        finally:
            cap.release()
        if not ok or first is None:
            raise InputError(f"{path} has no frames OpenCV can decode (not a video, or a damaged one)")
        self.height, self.width = first.shape[:2]
        # OpenCV reports 29.97 as 29.97002997...; 1001 is the NTSC denominator.
        self.fps = Fraction(fps).limit_denominator(1001) if fps and fps > 0 else None
        self.numbers = list(range(max(count, 1)))
        self.bit_depth = 8
        from .media import probe_has_audio
        self.has_audio = probe_has_audio(path)

    def frames(self) -> Iterator[Frame]:
        wanted = set(self.numbers)
        last = max(self.numbers)
        cap = cv2.VideoCapture(self.path)
        try:
            index = 0
            if min(self.numbers) > 0:
                # Seeking is exact for intra-only codecs and for OpenCV's
                # ffmpeg backend on H.264/HEVC; read on to be safe when it is not.
                cap.set(cv2.CAP_PROP_POS_FRAMES, min(self.numbers))
                index = int(cap.get(cv2.CAP_PROP_POS_FRAMES))
            while index <= last:
                ok, frame = cap.read()
                if not ok:
                    break
                if index in wanted:
                    yield Frame(index, frame.astype(np.float32) / 255.0)
                index += 1
        finally:
            cap.release()


class ImageListSource(FrameSource):
    """Numbered image files: a VFX sequence or a folder of images."""

    def __init__(self, files: dict[int, str], kind: str, path: str, padding: int | None = None):
        if not files:
            raise InputError(f"no frames found for {path}")
        self.kind, self.path, self.files, self.padding = kind, path, files, padding
        self.numbers = sorted(files)
        first = read_frame_file(files[self.numbers[0]])
        self.height, self.width = first.pixels.shape[:2]
        self.bit_depth = first.bit_depth
        self.is_exr = files[self.numbers[0]].lower().endswith(".exr")

    def check_sizes(self) -> None:
        """Refuse, before any work, frames whose size differs from the first, naming them.

        Reads only the file headers (Pillow, which torchvision brings) where it can.
        """
        odd = []
        for number in self.numbers:
            size = _header_size(self.files[number])
            if size is not None and size != (self.width, self.height):
                odd.append(number)
        if odd:
            raise InputError(f"frames {format_ranges(odd)} of {self.path} are not {self.width}x{self.height} like the "
                             f"first frame: all frames must have one size")

    def frames(self) -> Iterator[Frame]:
        for number in self.numbers:
            img = read_frame_file(self.files[number])
            if img.pixels.shape[:2] != (self.height, self.width):
                raise InputError(
                    f"frame {number} ({self.files[number]}) is {img.pixels.shape[1]}x{img.pixels.shape[0]}, "
                    f"the first frame is {self.width}x{self.height}: all frames must have one size")
            yield Frame(number, img.pixels)


def _header_size(path: str) -> tuple[int, int] | None:
    """(width, height) from the file header, or None when Pillow cannot tell."""
    try:
        from PIL import Image as PILImage
        with PILImage.open(path) as im:
            return im.size
    except Exception:
        return None


def format_ranges(numbers: Sequence[int]) -> str:
    """[1, 2, 3, 7] -> '1-3,7'."""
    numbers = sorted(numbers)
    parts, start = [], None
    for i, n in enumerate(numbers):
        if start is None:
            start = n
        if i + 1 == len(numbers) or numbers[i + 1] != n + 1:
            parts.append(str(start) if start == n else f"{start}-{n}")
            start = None
    return ",".join(parts)


def parse_frames(text: str) -> list[int]:
    """'1001-1100', '5', '1-10,20-30', '1001-1100x2' -> sorted frame numbers."""
    numbers: set[int] = set()
    for part in text.replace(" ", "").split(","):
        m = re.fullmatch(r"(-?\d+)(?:-(-?\d+)(?:x(\d+))?)?", part)
        if not m:
            raise ConfigError(f"--frames: cannot read {part!r}; use e.g. 1001-1100 or 1-10,20")
        start = int(m.group(1))
        end = int(m.group(2)) if m.group(2) is not None else start
        step = int(m.group(3) or 1)
        if end < start or step < 1:
            raise ConfigError(f"--frames: {part!r} is an empty range")
        numbers.update(range(start, end + 1, step))
    return sorted(numbers)


def open_sequence(pattern: str) -> ImageListSource:
    """Find a sequence on disk from any pattern fileseq understands; refuse gaps."""
    import fileseq

    folder = os.path.dirname(pattern) or "."
    if not os.path.isdir(folder):
        raise InputError(f"input folder not found: {folder}")
    try:
        found = fileseq.findSequenceOnDisk(pattern)
    except fileseq.FileSeqException:
        raise InputError(f"no frames match {pattern}") from None
    asked = fileseq.FileSequence(pattern)
    numbers = [int(n) for n in found.frameSet()]
    if asked.frameSet() is not None:
        wanted = set(int(n) for n in asked.frameSet())
        missing = sorted(wanted - set(numbers))
        if missing:
            raise InputError(f"sequence {pattern} lacks frame(s) {format_ranges(missing)}")
        numbers = sorted(wanted)
    files = {n: found.frame(n) for n in numbers}
    return ImageListSource(files, "sequence", pattern, padding=found.zfill() or 1)


def check_no_gaps(source: FrameSource) -> None:
    """A sequence whose numbers skip (1001, 1002, 1004) is refused, naming the missing frames."""
    if source.kind != "sequence":
        return
    n = source.numbers
    missing = sorted(set(range(n[0], n[-1] + 1)) - set(n))
    if missing:
        raise InputError(f"sequence {source.path} has gaps: frame(s) {format_ranges(missing)} missing "
                         f"(render them, or pick a range with --frames)")


def open_folder(folder: str) -> ImageListSource:
    names = sorted(f for f in os.listdir(folder)
                   if f.lower().endswith(IMAGE_EXTENSIONS) and not f.startswith("."))
    if not names:
        raise InputError(f"folder {folder} holds no images ({', '.join(IMAGE_EXTENSIONS)})")
    files = {i: os.path.join(folder, name) for i, name in enumerate(names)}
    return ImageListSource(files, "folder", folder)


def open_source(path: str) -> FrameSource:
    """A video file, a folder of images, or a sequence pattern -> a FrameSource."""
    path = os.fspath(path)
    if is_sequence_pattern(path) and not os.path.exists(path):
        return open_sequence(path)
    if os.path.isdir(path):
        return open_folder(path)
    if not os.path.exists(path):
        raise InputError(f"input not found: {path}")
    return VideoSource(path)
