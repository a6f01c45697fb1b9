"""Where a clip's frames go: a video file or a numbered image sequence.

``Output`` checks its path before any work (container, extension, folder,
fps, codec), names and writes sequence frames, and lists what already
exists; the video encoding itself is media.py's.
"""

from __future__ import annotations

import os
from fractions import Fraction
from typing import Iterable, Sequence

import numpy as np

from . import images, media
from .colorspaces import SRGB, Encoding
from .errors import ConfigError, OutputError
from .options import VideoOptions
from .sequences import frame_name, is_sequence_pattern, is_video_path, split_pattern

VIDEO_OUTPUT_EXTENSIONS = (".mp4", ".mov", ".m4v", ".mkv")


def check_video_path(path: str, codec: str) -> None:
    """Refuse a video output path whose container cannot hold what we encode."""
    ext = os.path.splitext(path)[1].lower()
    if ext not in VIDEO_OUTPUT_EXTENSIONS:
        raise OutputError(f"video output must be .mp4 or .mov (or .m4v/.mkv), not {ext or 'no extension'}")
    if codec.startswith("prores") and ext != ".mov":
        raise ConfigError(f"--codec {codec} needs a .mov output")


class Output:
    """A video file (``.mp4 .mov``; a ``#`` in its name is just a character) or a sequence pattern.

    ``padding``: an input sequence's own digits win over the pattern's
    (shot.00001.png stays 5 digits whatever the number of ``#``);
    ``bit_depth`` follows the input (16-bit PNG/TIFF in, 16-bit out).
    """

    def __init__(self, path: str, fps: Fraction | None = None, padding: int | None = None,
                 bit_depth: int = 8, encoding: Encoding | None = None):
        self.path = os.fspath(path)
        self.folder = os.path.dirname(os.path.abspath(self.path))
        self.is_video = is_video_path(self.path)
        ext = os.path.splitext(self.path)[1].lower()
        if not self.is_video:
            if not is_sequence_pattern(self.path):
                raise OutputError(f"output {self.path} is neither a video (.mp4/.mov) nor a sequence pattern "
                                  f"(OUT.####.png or OUT.%04d.png)")
            if ext not in images.IMAGE_EXTENSIONS:
                raise OutputError(f"cannot write {ext or 'extension-less'} frames: use .png, .tif, .exr or .jpg")
            self.prefix, pattern_padding, self.suffix = split_pattern(self.path)
            self.padding = padding or pattern_padding
        self.fps = fps
        self.bit_depth = bit_depth
        self.exr = ext == ".exr"
        self.encoding = encoding or Encoding(SRGB, SRGB)   # the input's: frames go back into its colour space

    def check(self, video: VideoOptions) -> None:
        """Everything about the output that can be checked before any work."""
        if self.is_video:
            check_video_path(self.path, video.codec)
            if self.fps is None:
                raise ConfigError("the input has no frame rate: give --fps (e.g. 24 or 30000/1001)")
        elif self.exr:
            images.check_output_path(self.frame_path(0), overwrite=True)   # the openexr package is there
        images.check_writable_folder(self.folder)

    def sample_path(self, numbers: Sequence[int]) -> str:
        """The path to check before writing: the video, or the sequence's frame with the longest name."""
        if self.is_video:
            return self.path
        return max((self.frame_path(n) for n in (min(numbers, default=0), max(numbers, default=0))), key=len)

    def frame_path(self, number: int) -> str:
        """``OUT.####.png`` -> ``OUT.1001.png``."""
        return frame_name(self.prefix, self.padding, self.suffix, number)

    def write_frame(self, number: int, pixels: np.ndarray, alpha: np.ndarray | None = None,
                    keep: tuple[np.ndarray, np.ndarray] | None = None) -> None:
        """A frame of the network's values (H, W, 3) into the input's colour space, with the input's ``alpha``.

        ``keep``: the input's own values and where to write them as they are (``images.write_image``).
        """
        images.write_image(self.frame_path(number), pixels, self.bit_depth,
                           images.resize_alpha(alpha, pixels.shape[:2]), self.encoding, keep)

    def video_values(self, pixels: np.ndarray) -> np.ndarray:
        """A frame of the network's values -> what the video encoder takes (display-referred [0, 1])."""
        return self.encoding.from_network(pixels)

    def alpha_warning(self, codec: str) -> str | None:
        """The line to say when the input has alpha and this output cannot keep it; None when it can.

        A sequence in PNG, TIFF, WebP or EXR keeps it, and a video in ProRes
        4444 (``media.ALPHA_CODEC``).
        """
        if (codec == media.ALPHA_CODEC) if self.is_video else images.has_alpha(self.path):
            return None
        where = f"codec {codec}" if self.is_video else f"{os.path.splitext(self.path)[1]} frames"
        return (f"the input has an alpha channel and {where} cannot hold one: it is dropped (write a PNG, TIFF or "
                f"EXR sequence, or a .mov with --codec {media.ALPHA_CODEC}, to keep it)")

    def existing(self, numbers: Sequence[int]) -> list[str]:
        """The files of ``numbers`` (or the video) already on disk."""
        if self.is_video:
            return [self.path] if os.path.exists(self.path) else []
        return [p for p in (self.frame_path(n) for n in numbers) if os.path.exists(p)]

    def overwrites_sequence(self, pattern: str) -> bool:
        """True when this sequence output would write over the frames of the sequence ``pattern``."""
        if self.is_video or not is_sequence_pattern(pattern):
            return False
        prefix, _, suffix = split_pattern(pattern)
        return (os.path.realpath(prefix), suffix) == (os.path.realpath(self.prefix), self.suffix)

    def remove_partials(self, numbers: Iterable[int]) -> list[str]:
        """Temporary files a killed run left for this output (the video, or the frames ``numbers``)."""
        names = [os.path.basename(self.path)] if self.is_video else \
            [os.path.basename(self.frame_path(n)) for n in numbers]
        return images.remove_partials(self.folder, names)


__all__ = ["Output", "VIDEO_OUTPUT_EXTENSIONS", "check_video_path"]
