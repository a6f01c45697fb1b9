"""Names of image sequences and frame ranges: pure functions, no file is read.

VFX sequences are written ``shot.####.exr`` (Nuke: one digit a hash),
``shot.%04d.exr`` (printf), ``shot.@@@@.exr`` (Houdini/Shake), ``shot.$F4.exr``
(Houdini) or fileseq's ``shot.1001-1100#.exr`` (a range, then a lone ``#``
meaning 4 digits). Frame ranges are fileseq's ``FrameSet`` syntax:
``1001-1100``, ``1-10,20-30``, ``1001-1100x2``.
"""

from __future__ import annotations

import os
import re
from typing import Iterable, Sequence

from .errors import ConfigError

VIDEO_EXTENSIONS = (".mp4", ".mov", ".mkv", ".avi", ".m4v", ".webm", ".mxf", ".mpg", ".mpeg", ".ts", ".y4m")
# A frame-number token: printf, hashes, at-signs, Houdini's $F, or a range before # / @.
_TOKEN = re.compile(r"%0?\d*d|\$F\d*|(?:-?\d+(?:--?\d+)?(?:x\d+)?)?(?:#+|@+)")


def is_video_path(path: str) -> bool:
    """A file name with a video container's extension (``.mp4``, ``.mov``, ...)."""
    return os.path.splitext(os.fspath(path))[1].lower() in VIDEO_EXTENSIONS


def _last_token(name: str) -> re.Match | None:
    """The frame-number token of a file name: the last one, so ``take #1.####.png`` splits at ``####``."""
    last = None
    for last in _TOKEN.finditer(name):
        pass
    return last


def is_sequence_pattern(path: str) -> bool:
    """``shot.%04d.png``, ``shot.####.png``, ``shot.@@@@.png``, ``shot.$F4.png``, ``shot.1001-1100#.png``.

    A video file name is never a pattern: the ``#`` of ``take #1.mp4`` is just
    a character (a video has no frame numbers in its name).
    """
    path = os.fspath(path)
    if is_video_path(path):
        return False
    return _last_token(os.path.basename(path)) is not None


def split_pattern(path: str) -> tuple[str, int, str]:
    """``/a/out.####.png`` -> (``/a/out.``, 4, ``.png``): prefix, digits, suffix.

    Digits: ``%04d`` 4, ``@@@`` 3, ``$F4`` 4, ``####`` 4 (one digit a hash),
    but a lone ``#`` (fileseq/Katana: ``shot.1001-1100#.png``) means 4. A frame
    range before the token is dropped.
    """
    path = os.fspath(path)
    folder, name = os.path.split(path)
    m = None if is_video_path(path) else _last_token(name)
    if m is None:
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


def frame_name(prefix: str, padding: int, suffix: str, number: int) -> str:
    """(``out.``, 4, ``.png``, 1001) -> ``out.1001.png``; negative numbers keep their sign."""
    return f"{prefix}{number:0{padding}d}{suffix}"


def belongs_to(pattern: str, path: str) -> bool:
    """True when ``path`` is a frame of the sequence ``pattern`` (same folder, prefix and suffix, digits between)."""
    if not is_sequence_pattern(pattern):
        return False
    prefix, _, suffix = split_pattern(pattern)
    folder, start = os.path.split(prefix)
    there, name = os.path.split(os.path.abspath(os.fspath(path)))
    if os.path.realpath(there) != os.path.realpath(folder or "."):
        return False
    if not (name.startswith(start) and name.endswith(suffix) and len(name) > len(start) + len(suffix)):
        return False
    return re.fullmatch(r"-?\d+", name[len(start):len(name) - len(suffix)]) is not None


def parse_frames(text: str) -> list[int]:
    """``1001-1100``, ``5``, ``1-10,20-30``, ``1001-1100x2`` -> sorted frame numbers (fileseq's FrameSet)."""
    import fileseq

    cleaned = text.replace(" ", "")
    try:
        frames = fileseq.FrameSet(cleaned)
        numbers = sorted(set(frames))
    except (fileseq.ParseException, ValueError):
        raise ConfigError(f"--frames: cannot read {text!r}; use e.g. 1001-1100, 1-10,20 or 1001-1100x2") from None
    if not numbers:
        raise ConfigError(f"--frames: {text!r} is an empty range")
    if any(n != int(n) for n in numbers):
        raise ConfigError(f"--frames: {text!r} has fractional frames; give whole frame numbers")
    return [int(n) for n in numbers]


def format_ranges(numbers: Iterable[int]) -> str:
    """[1, 2, 3, 7] -> ``1-3,7`` (consecutive runs joined; no steps, so it reads at a glance)."""
    numbers = sorted(set(numbers))
    parts, start = [], None
    for i, n in enumerate(numbers):
        if start is None:
            start = n
        if i + 1 == len(numbers) or numbers[i + 1] != n + 1:
            parts.append(str(start) if start == n else f"{start}-{n}")
            start = None
    return ",".join(parts)


def range_name(frames: Sequence[int] | None) -> str:
    """The name of a frame range's work folder: ``all``, ``1001-1050``, or ``1-30-<hash>`` with holes."""
    import hashlib

    if not frames:
        return "all"
    first, last = min(frames), max(frames)
    name = f"{first}-{last}"
    if len(set(frames)) != last - first + 1:
        name += "-" + hashlib.sha256(",".join(map(str, sorted(frames))).encode()).hexdigest()[:8]
    return name


__all__ = ["VIDEO_EXTENSIONS", "belongs_to", "format_ranges", "frame_name", "is_sequence_pattern", "is_video_path",
           "parse_frames", "range_name", "split_pattern"]
