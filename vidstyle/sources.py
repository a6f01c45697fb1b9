"""Frame sources: a video file, a folder of images, or a numbered image sequence.

Every source gives frames one at a time as ``Frame(number, pixels)`` with
pixels (H, W, 3) float32 BGR in [0, 1], display-referred (EXR frames are
converted from scene-linear with the sRGB curve). Nothing holds more than
one decoded frame, so memory does not grow with the length of the input.

Frame numbers: a sequence keeps its own (VFX shots start at 1001 and keep
their numbers); a video's frames and a folder's files are numbered from 0 in
decoding / name order.

``check()`` is the expensive look a render takes before any work: a
sequence's frame headers (one size, one bit depth), a video's full decode
(the frames its container promises really decode, without decoder errors).
"""

from __future__ import annotations

import contextlib
import hashlib
import os
from dataclasses import dataclass
from fractions import Fraction
from typing import Callable, Iterator, Sequence

# OpenCV's ffmpeg backend prints libav's complaints (damaged packets, a
# missing moov atom) straight to stderr, ahead of vidstyle's own one-line
# message; vidstyle finds and words those faults itself (VideoSource.check).
# Read when OpenCV first opens a video, so setting it here is in time.
os.environ.setdefault("OPENCV_FFMPEG_LOGLEVEL", "-8")

import cv2  # noqa: E402
import numpy as np  # noqa: E402

from . import images, media  # noqa: E402
from .errors import ConfigError, InputError  # noqa: E402
from .sequences import format_ranges, is_sequence_pattern  # noqa: E402



@contextlib.contextmanager
def _quiet_opencv():
    """OpenCV's own log lines ("VIDEOIO(FFMPEG): ...") stay out of the user's terminal while we decode."""
    logging = cv2.utils.logging
    before = logging.getLogLevel()
    logging.setLogLevel(logging.LOG_LEVEL_FATAL)
    try:
        yield
    finally:
        logging.setLogLevel(before)


@dataclass(frozen=True)
class Frame:
    number: int
    pixels: np.ndarray  # (H, W, 3) float32 BGR [0, 1]


class FrameSource:
    """Common interface. ``numbers`` lists the frames to process, in order."""

    path: str = ""
    numbers: list[int]
    fps: Fraction | None = None
    width: int = 0
    height: int = 0
    bit_depth: int = 8
    is_exr: bool = False
    is_video: bool = False
    has_audio: bool = False
    padding: int | None = None   # digits in a sequence's file names; None for videos and folders
    needs_contiguous: bool = False   # a sequence's numbers must have no holes (gaps are refused)

    def __init__(self) -> None:
        self.warnings: list[str] = []   # faults accepted rather than refused (accept_damaged)

    @property
    def audio_path(self) -> str | None:
        """The file whose sound goes with these frames, or None."""
        return self.path if self.is_video and self.has_audio else None

    def frames(self) -> Iterator[Frame]:
        raise NotImplementedError

    def check(self, accept_damaged: bool = False) -> None:
        """The look before any work; raise InputError naming what is wrong (see the module doc)."""

    def stamp(self) -> str:
        """A cheap fingerprint of the files behind ``numbers`` (sizes and times, no pixels).

        When it matches the one recorded at the end of a run, the input has not
        been replaced since.
        """
        raise NotImplementedError

    def restrict(self, wanted: Sequence[int]) -> None:
        """Keep only ``wanted`` frame numbers; refuse numbers the source lacks."""
        have = set(self.numbers)
        missing = [n for n in wanted if n not in have]
        if missing:
            raise ConfigError(f"--frames asks for frame(s) the input does not have: {format_ranges(missing)} "
                              f"(it has {format_ranges(self.numbers)})")
        self.numbers = sorted(set(wanted))

    def check_no_gaps(self) -> None:
        """A sequence whose numbers skip (1001, 1002, 1004) is refused, naming the missing frames."""
        if not self.needs_contiguous:
            return
        n = self.numbers
        missing = sorted(set(range(n[0], n[-1] + 1)) - set(n))
        if missing:
            raise InputError(f"sequence {self.path} has gaps: frame(s) {format_ranges(missing)} missing "
                             f"(render them, or pick a range with --frames)")


def _stat_stamp(paths: Sequence[str]) -> str:
    h = hashlib.sha256()
    for path in paths:
        st = os.stat(path)
        h.update(f"{os.path.abspath(path)}\0{st.st_size}\0{st.st_mtime_ns}\n".encode())
    return h.hexdigest()[:16]


class VideoSource(FrameSource):
    """A video file decoded by OpenCV (rotation metadata applied by OpenCV)."""

    is_video = True

    def __init__(self, path: str):
        super().__init__()
        self.path = path
        if not os.path.exists(path):
            raise InputError(f"input video not found: {path}")
        if os.path.getsize(path) == 0:
            raise InputError(f"input video is an empty file: {path}")
        with _quiet_opencv():
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
        self.promised = max(count, 1)
        self.numbers = list(range(self.promised))
        self.has_audio = media.probe_has_audio(path)
        self._accept_short = False

    def check(self, accept_damaged: bool = False) -> None:
        """Decode up to the last wanted frame with ffmpeg; refuse a damaged or short file.

        A container may promise more frames than decode (a truncated file), and
        a decoder may conceal errors as garbled pictures; both would otherwise
        give a shorter or broken result with exit 0. With ``accept_damaged``
        the frames that decode are rendered and a warning is recorded.
        """
        last = max(self.numbers)
        decoded, errors = media.decode_scan(self.path, last + 1)
        missing = [n for n in self.numbers if n >= decoded]
        if not errors and not missing:
            return
        what = []
        if missing:
            what.append(f"it promises {self.promised} frames but only {decoded} decode "
                        f"(frame(s) {format_ranges(missing)} missing)")
        if errors:
            # "partial file" says more to a user than the NAL unit that broke first.
            telling = next((e for e in errors if "partial file" in e), errors[0])
            what.append(f"its decoder reports {len(errors)} error(s), e.g. '{telling}' (some frames may be "
                        f"garbled)")
        fault = f"{self.path} is damaged: {'; '.join(what)}"
        if not accept_damaged:
            raise InputError(f"{fault}; repair or re-export it, or pass --accept-damaged to render the frames "
                             f"that decode")
        self.warnings.append(fault + "; rendering the frames that decode (--accept-damaged)")
        self.numbers = [n for n in self.numbers if n < decoded]
        self._accept_short = True
        if not self.numbers:
            raise InputError(f"{fault}: none of the wanted frames decode")

    def stamp(self) -> str:
        return _stat_stamp([self.path])

    def frames(self) -> Iterator[Frame]:
        wanted = set(self.numbers)
        last = max(self.numbers)
        with _quiet_opencv():
            cap = cv2.VideoCapture(self.path)
        index = 0
        try:
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
        if index <= last:
            lost = [n for n in self.numbers if n >= index]
            fault = f"{self.path}: frame(s) {format_ranges(lost)} did not decode"
            if not self._accept_short:
                raise InputError(f"{fault} (a damaged or truncated file); finished frames are kept: pass "
                                 f"--accept-damaged to finish without them")
            self.warnings.append(fault + "; left out (--accept-damaged)")


class ImageListSource(FrameSource):
    """Numbered image files: a VFX sequence or a folder of images."""

    def __init__(self, files: dict[int, str], path: str, padding: int | None = None,
                 needs_contiguous: bool = False):
        super().__init__()
        if not files:
            raise InputError(f"no frames found for {path}")
        self.path, self.files, self.padding = path, files, padding
        self.needs_contiguous = needs_contiguous
        self.numbers = sorted(files)
        first = images.read_image(files[self.numbers[0]], "frame")
        self.height, self.width = first.pixels.shape[:2]
        self.bit_depth = first.bit_depth
        self.is_exr = files[self.numbers[0]].lower().endswith(".exr")

    def check(self, accept_damaged: bool = False) -> None:
        """Refuse, before any work, frames whose size or bit depth differs from the first, naming them.

        Reads only the file headers where it can; ``frames()`` checks the
        pixels again as they are decoded.
        """
        odd_size, odd_depth = [], []
        for number in self.numbers:
            info = images.header_info(self.files[number])
            if info is None:
                continue
            width, height, depth = info
            if (width, height) != (self.width, self.height):
                odd_size.append(number)
            elif depth is not None and not self.is_exr and (16 if depth > 8 else 8) != self.bit_depth:
                odd_depth.append(number)
        if odd_size:
            raise InputError(f"frames {format_ranges(odd_size)} of {self.path} are not {self.width}x{self.height} "
                             f"like the first frame: all frames must have one size")
        if odd_depth:
            raise InputError(f"frames {format_ranges(odd_depth)} of {self.path} are not {self.bit_depth}-bit like "
                             f"the first frame: all frames must have one bit depth (convert them)")

    def stamp(self) -> str:
        return _stat_stamp([self.files[n] for n in self.numbers])

    def frames(self) -> Iterator[Frame]:
        for number in self.numbers:
            img = images.read_image(self.files[number], "frame")
            if img.pixels.shape[:2] != (self.height, self.width):
                raise InputError(
                    f"frame {number} ({self.files[number]}) is {img.pixels.shape[1]}x{img.pixels.shape[0]}, "
                    f"the first frame is {self.width}x{self.height}: all frames must have one size")
            if img.bit_depth != self.bit_depth:
                raise InputError(f"frame {number} ({self.files[number]}) is {img.bit_depth}-bit, the first frame "
                                 f"is {self.bit_depth}-bit: all frames must have one bit depth")
            yield Frame(number, img.pixels)


def open_sequence(pattern: str) -> ImageListSource:
    """Find a sequence on disk from any pattern fileseq understands; refuse missing frames of a given range."""
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
    return ImageListSource(files, pattern, padding=found.zfill() or 1, needs_contiguous=True)


def open_folder(folder: str, exclude: Callable[[str], bool] | None = None) -> ImageListSource:
    """The images of ``folder`` in name order, numbered from 0; ``exclude(path)`` drops files (an output's own)."""
    names = sorted(f for f in os.listdir(folder)
                   if f.lower().endswith(images.IMAGE_EXTENSIONS) and not f.startswith("."))
    paths = [os.path.join(folder, name) for name in names]
    if exclude is not None:
        paths = [p for p in paths if not exclude(p)]
    if not paths:
        raise InputError(f"folder {folder} holds no images ({', '.join(images.IMAGE_EXTENSIONS)})")
    return ImageListSource(dict(enumerate(paths)), folder)


def is_still_path(path: str) -> bool:
    """One image file (not a folder, not a sequence pattern such as ``shot.####.png``)."""
    path = os.fspath(path)
    if os.path.splitext(path)[1].lower() not in images.IMAGE_EXTENSIONS or os.path.isdir(path):
        return False
    return os.path.isfile(path) or not is_sequence_pattern(path)


def open_source(path: str, exclude: Callable[[str], bool] | None = None) -> FrameSource:
    """A video file, a folder of images, or a sequence pattern -> a FrameSource.

    ``exclude``: for a folder, files to leave out (the output's own frames, so
    a rerun never stylises its earlier output). A single image is refused: it
    is a still, not a clip.
    """
    path = os.fspath(path)
    if is_sequence_pattern(path) and not os.path.exists(path):
        return open_sequence(path)
    if os.path.isdir(path):
        return open_folder(path, exclude)
    if not os.path.exists(path):
        raise InputError(f"input not found: {path}")
    if is_still_path(path):
        raise InputError(f"{path} is a single image, not a clip: stylise it as a still "
                         f"(vidstyle IMAGE STYLE -o OUT.png, or stylize_image_file)")
    return VideoSource(path)


__all__ = ["Frame", "FrameSource", "ImageListSource", "VideoSource", "is_still_path", "open_folder",
           "open_sequence", "open_source"]
