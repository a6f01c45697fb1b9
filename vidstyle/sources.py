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
import re
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
from .colorspaces import encoding_for  # noqa: E402
from .errors import ConfigError, InputError  # noqa: E402
from .sequences import format_ranges, is_sequence_pattern, split_pattern  # noqa: E402


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
    pixels: np.ndarray  # (H, W, 3) float32 BGR [0, 1], as the network sees it (the source's ``encoding``)
    alpha: np.ndarray | None = None   # (H, W) float32 [0, 1], straight; None when the frame has none
    values: np.ndarray | None = None  # the file's colour as read (images.Image.values)


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
    has_alpha: bool = False          # the frames carry an alpha channel (the first one did)

    def __init__(self) -> None:
        self.warnings: list[str] = []   # faults accepted rather than refused (accept_damaged)
        self.encoding = encoding_for(None, scene_linear_file=False)   # how file values become pixels

    def set_colorspace(self, colorspace: str | None) -> None:
        """Read the frames as OCIO colour space ``colorspace`` (None: by file type; ``colorspaces.encoding_for``)."""
        self.encoding = encoding_for(colorspace, scene_linear_file=self.is_exr)

    @property
    def audio_path(self) -> str | None:
        """The file whose sound goes with these frames, or None."""
        return self.path if self.is_video and self.has_audio else None

    def frames(self) -> Iterator[Frame]:
        raise NotImplementedError

    def check(self, accept_damaged: bool = False) -> None:
        """The look before any work; raise InputError naming what is wrong (see the module doc)."""

    def timing(self, keep: Sequence[int], fps: Fraction | None = None) -> tuple["media.Timing", list[str]]:
        """When the frames ``keep`` play in a video made of them, and warnings to give.

        A sequence or folder has no times: its frames play at ``fps`` (given,
        or the output's) with nothing to keep in step. A video keeps each
        frame's own time when its frame rate varies (unless ``fps`` is given,
        which is warned of) and the offset between its picture and its sound.
        """
        return media.Timing(Fraction(fps or self.fps or 25)), []

    def stamp(self) -> str:
        """A cheap fingerprint of the files behind ``numbers`` (sizes and times, no pixels).

        When it matches the one recorded at the end of a run, the input has not
        been replaced since.
        """
        raise NotImplementedError

    def variable_rate(self) -> bool:
        """Whether the frames play at uneven intervals (a video whose frame rate varies; known after ``check``)."""
        return False

    def owns(self, path: str) -> bool:
        """Whether ``path`` is a file this clip is read from (a run must never write there)."""
        return os.path.realpath(path) in self._files_read()

    def _files_read(self) -> set[str]:
        return {os.path.realpath(self.path)}

    def candidates(self, wanted: Sequence[int]) -> list[int]:
        """Every frame a range ``wanted`` might warm up from (before ``restrict``): the frames on disk."""
        return list(self.numbers)

    def add(self, extra: Sequence[int]) -> None:
        """Render the frames ``extra`` too (a range's warm-up frames, from ``candidates``), checked as ``check`` does."""
        self.numbers = sorted(set(self.numbers) | set(extra))

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
    """A video file decoded by OpenCV, frame after frame from the first (rotation metadata applied).

    Which frames exist, and when each plays, come from decoding (``check``,
    ``media.scan``): a container's frame count is only an estimate (an edit
    list, a stream copied into MKV or a variable frame rate make it wrong),
    and a seek may land elsewhere (MPEG-TS), so frames are never sought:
    ``frames()`` decodes from the first and keeps the wanted ones, which
    gives exactly the frames ffmpeg's own decode gives, for every container
    (tests/test_media_faults.py compares them).
    """

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
            estimate = int(cap.get(cv2.CAP_PROP_FRAME_COUNT))
        finally:
            cap.release()
        if not ok or first is None:
            raise InputError(f"{path} has no frames OpenCV can decode (not a video, or a damaged one)")
        self.height, self.width = first.shape[:2]
        # OpenCV reports 29.97 as 29.97002997...; 1001 is the NTSC denominator.
        self.fps = Fraction(fps).limit_denominator(1001) if fps and fps > 0 else None
        self.promised = max(estimate, 1)                 # the container's word: a hint, used in messages
        self.numbers = list(range(self.promised))        # until check() has counted by decoding
        self._wanted: list[int] | None = None
        self.scan: media.Scan | None = None
        probed = media.probe(path)
        self.has_audio, self.has_alpha = probed.has_audio, probed.video_alpha
        self._accept_short = False

    def variable_rate(self) -> bool:
        return self.scan is not None and media.is_variable_rate(self.scan.times, self.fps)

    def candidates(self, wanted: Sequence[int]) -> list[int]:
        """Frames 0 to the last wanted one: a video has them all if it has that one (``check`` decodes to it)."""
        return list(range(max(wanted) + 1))

    def add(self, extra: Sequence[int]) -> None:
        """Render the frames ``extra`` too; they come before the last wanted frame, which ``check`` decoded to."""
        if self.scan is not None and extra and max(extra) >= self.scan.frames:
            raise ValueError("add() takes frames the scan decoded")
        self.numbers = sorted(set(self.numbers) | set(extra))

    def restrict(self, wanted: Sequence[int]) -> None:
        """Keep only ``wanted``; whether the video has them is known once ``check`` has decoded it."""
        negative = [n for n in wanted if n < 0]
        if negative:
            raise ConfigError(f"--frames asks for frame(s) {format_ranges(negative)}: a video's frames count "
                              f"from 0")
        self.numbers = self._wanted = sorted(set(wanted))

    def check(self, accept_damaged: bool = False) -> None:
        """Decode with ffmpeg up to the last wanted frame (all of it without a range); refuse what is wrong.

        Sets ``numbers`` (every frame that decodes, or the wanted ones) and
        ``scan`` (their times). A damaged file (the demuxer or the decoder
        reports errors: a truncated file, garbled data) is refused naming
        what is wrong; with ``accept_damaged`` the frames that decode are
        rendered and a warning is recorded. Frames asked for past the end of
        an undamaged video are a wrong range, not damage.
        """
        last = None if self._wanted is None else max(self._wanted)
        found = self.scan = media.scan(self.path, last)
        decoded = found.frames
        if self._wanted is None:
            self.numbers = list(range(decoded))
        missing = [n for n in self.numbers if n >= decoded]
        if not found.errors:
            if missing:
                raise ConfigError(f"--frames asks for frame(s) {format_ranges(missing)} but {self.path} has "
                                  f"{decoded} frames ({format_ranges(range(decoded)) or 'none'}, counted by "
                                  f"decoding it)")
            if not self.numbers:
                raise InputError(f"{self.path} has no frames that decode")
            return
        what = []
        short = [n for n in range(decoded, self.promised) if self._wanted is None or n in self._wanted] + missing
        if short:
            what.append(f"it promises {self.promised} frames but only {decoded} decode "
                        f"(frame(s) {format_ranges(short)} missing)")
        # "partial file" says more to a user than the NAL unit that broke first.
        telling = next((e for e in found.errors if "partial file" in e), found.errors[0])
        what.append(f"its decoder reports {len(found.errors)} error(s), e.g. '{telling}' (some frames may be "
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

    def timing(self, keep: Sequence[int], fps: Fraction | None = None) -> tuple[media.Timing, list[str]]:
        """When the frames ``keep`` play in an output, and the warnings to give (see ``FrameSource.timing``)."""
        if self.scan is None or not keep or max(keep) >= self.scan.frames:
            raise ValueError("timing() needs check() to have decoded the frames first")
        times = [self.scan.times[n] for n in keep]
        # A frame lasts until the next one starts (a stream's own duration field holds the nominal
        # one, not the gap of a variable frame rate); the last frame keeps its own.
        every = self.scan.times
        durations = [every[n + 1] - every[n] if n + 1 < len(every) else self.scan.durations[n] for n in keep]
        rate = fps or self.fps or _rate_of(times)
        varies = media.is_variable_rate(self.scan.times[:max(keep) + 1], self.fps)
        warnings = []
        if varies and fps is not None:
            warnings.append(f"{self.path} has a variable frame rate: --fps {fps} writes every frame for 1/{fps} s, "
                            f"so the sound drifts out of step; leave --fps out to keep each frame's time")
        steady = fps is not None or not varies
        return media.Timing.of(rate, times, durations, self.scan.audio_start if self.has_audio else None,
                               from_start=keep[0] == 0, steady=steady), warnings

    def frames(self) -> Iterator[Frame]:
        wanted = set(self.numbers)
        last = max(self.numbers)
        with _quiet_opencv():
            cap = cv2.VideoCapture(self.path)
        # OpenCV decodes no alpha: ffmpeg gives it beside, frame for frame in the same order.
        alphas = media.AlphaReader(self.path, self.width, self.height) if self.has_alpha else None
        index = 0
        try:
            # No seeking: OpenCV's frame positions are estimates for some containers (an MPEG-TS
            # seek lands elsewhere and reports the position asked for). Decoding from the first
            # frame gives the decoder's own order, the one check() counted.
            while index <= last:
                if index in wanted:
                    ok, frame = cap.read()
                else:
                    ok, frame = cap.grab(), None
                if not ok:
                    break
                alpha = None if alphas is None else alphas.next()
                if frame is not None:
                    values = frame.astype(np.float32) / 255.0
                    yield Frame(index, self.encoding.to_network(values), alpha, values)
                index += 1
        finally:
            cap.release()
            if alphas is not None:
                alphas.close()
        if index <= last:
            lost = [n for n in self.numbers if n >= index]
            fault = f"{self.path}: frame(s) {format_ranges(lost)} did not decode"
            if not self._accept_short:
                raise InputError(f"{fault} (a damaged or truncated file); finished frames are kept: pass "
                                 f"--accept-damaged to finish without them")
            self.warnings.append(fault + "; left out (--accept-damaged)")


def _rate_of(times: Sequence[float]) -> Fraction:
    """The mean rate of frames at ``times`` (seconds), for a video that states none; 25 for a single frame."""
    if len(times) < 2 or times[-1] <= times[0]:
        return Fraction(25)
    return Fraction((len(times) - 1) / (times[-1] - times[0])).limit_denominator(1001)


class ImageListSource(FrameSource):
    """Numbered image files: a VFX sequence or a folder of images."""

    def __init__(self, files: dict[int, str], path: str, padding: int | None = None,
                 needs_contiguous: bool = False):
        super().__init__()
        if not files:
            raise InputError(f"no frames found for {path}")
        self.path, self.files, self.padding = path, files, padding
        self._real: set[str] | None = None
        self.needs_contiguous = needs_contiguous
        self.numbers = sorted(files)
        self.is_exr = files[self.numbers[0]].lower().endswith(".exr")
        self.set_colorspace(None)
        first = images.read_plate(files[self.numbers[0]], "frame", encoding=self.encoding)
        self.height, self.width = first.pixels.shape[:2]
        self.bit_depth = first.bit_depth
        self.has_alpha = first.alpha is not None

    def check(self, accept_damaged: bool = False) -> None:
        """Refuse, before any work, a frame that cannot be read whole, or whose size or bit depth is not the first's.

        Reads every frame's header and tail, not its pixels (``images.header_info``):
        an empty, truncated or folder "frame" is named here, not when the
        render reaches it; ``frames()`` checks the pixels again as they are decoded.
        """
        self._check_headers(self.numbers)

    def add(self, extra: Sequence[int]) -> None:
        super().add(extra)
        self._check_headers(extra)

    def _check_headers(self, numbers: Sequence[int]) -> None:
        odd_size, odd_depth = [], []
        for number in numbers:
            width, height, depth = images.header_info(self.files[number], f"frame {number}")
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

    def _files_read(self) -> set[str]:
        if self._real is None:
            self._real = {os.path.realpath(p) for p in self.files.values()}
        return self._real

    def stamp(self) -> str:
        return _stat_stamp([self.files[n] for n in self.numbers])

    def frames(self) -> Iterator[Frame]:
        for number in self.numbers:
            img = images.read_plate(self.files[number], "frame", encoding=self.encoding)
            if img.pixels.shape[:2] != (self.height, self.width):
                raise InputError(
                    f"frame {number} ({self.files[number]}) is {img.pixels.shape[1]}x{img.pixels.shape[0]}, "
                    f"the first frame is {self.width}x{self.height}: all frames must have one size")
            if img.bit_depth != self.bit_depth:
                raise InputError(f"frame {number} ({self.files[number]}) is {img.bit_depth}-bit, the first frame "
                                 f"is {self.bit_depth}-bit: all frames must have one bit depth")
            yield Frame(number, img.pixels, img.alpha, img.values)


def open_sequence(pattern: str) -> ImageListSource:
    """Find a sequence on disk from any pattern fileseq understands; refuse missing frames of a given range.

    A frame is a file named prefix + number + suffix with the pattern's
    padding (``shot.####.png``: shot.0001.png, shot.10000.png), so files of
    another padding beside it (a stray ``shot.1.png``) are not taken for
    frames: they are left out and named in a warning.
    """
    import fileseq

    folder = os.path.dirname(pattern) or "."
    if not os.path.isdir(folder):
        raise InputError(f"input folder not found: {folder}")
    prefix, padding, suffix = split_pattern(pattern)
    start = os.path.basename(prefix)
    files, others = {}, []
    for name in os.listdir(folder):
        if not (name.startswith(start) and name.endswith(suffix)) or len(name) <= len(start) + len(suffix):
            continue
        digits = name[len(start):len(name) - len(suffix)]
        if not re.fullmatch(r"-?\d+", digits):
            continue
        number = int(digits)
        if f"{number:0{padding}d}" == digits:
            files[number] = os.path.join(folder, name)
        else:
            others.append(name)
    if not files:
        raise InputError(f"no frames match {pattern} (none named {start}{'0' * padding}{suffix}-style in "
                         f"{folder}{', only ' + ', '.join(sorted(others)[:3]) if others else ''})")
    try:
        asked = fileseq.FileSequence(pattern).frameSet()
    except fileseq.FileSeqException:
        asked = None
    if asked is not None:
        wanted = set(int(n) for n in asked)
        missing = sorted(wanted - set(files))
        if missing:
            raise InputError(f"sequence {pattern} lacks frame(s) {format_ranges(missing)}")
        files = {n: files[n] for n in sorted(wanted)}
    source = ImageListSource(dict(sorted(files.items())), pattern, padding=padding, needs_contiguous=True)
    if others:
        source.warnings.append(f"{len(others)} file(s) beside {pattern} with another number of digits left out "
                               f"(e.g. {sorted(others)[0]})")
    return source


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


# What a single image given where a clip is wanted says, by the command that got it.
_STILL_ADVICE = {
    "stylize": "stylise it as a still (vidstyle IMAGE STYLE -o OUT.png, or stylize_image_file)",
    "plan": "plan splits a clip (a video, a folder or a sequence) into chunks; one image needs none",
    "check": "check measures a clip's flicker and style over its frames; give the clip and its stylised frames",
    "assemble --audio-from": "give the source video (or sequence) the frames were rendered from",
}


def open_source(path: str, exclude: Callable[[str], bool] | None = None, purpose: str = "stylize",
                colorspace: str | None = None) -> FrameSource:
    """A video file, a folder of images, or a sequence pattern -> a FrameSource.

    ``colorspace``: the frames' OCIO colour space (None: by file type).

    ``exclude``: for a folder, files to leave out (the output's own frames, so
    a rerun never stylises its earlier output). A single image is refused: it
    is a still, not a clip; ``purpose`` (the command: stylize, plan, check,
    assemble --audio-from) picks the advice given.
    """
    path = os.fspath(path)
    if is_sequence_pattern(path) and not os.path.exists(path):
        source: FrameSource = open_sequence(path)
    elif os.path.isdir(path):
        source = open_folder(path, exclude)
    elif not os.path.exists(path):
        raise InputError(f"input not found: {path}")
    elif is_still_path(path):
        raise InputError(f"{path} is a single image, not a clip: {_STILL_ADVICE.get(purpose, _STILL_ADVICE['stylize'])}")
    else:
        source = VideoSource(path)
    if colorspace is not None:
        source.set_colorspace(colorspace)
    return source


__all__ = ["Frame", "FrameSource", "ImageListSource", "VideoSource", "is_still_path", "open_folder",
           "open_sequence", "open_source"]
