"""Every check a clip run makes before it writes anything, in one place.

``prepare`` opens the input and the output, reads the styles, builds the
per-frame processor (which checks the device, the weights file, the style
blend and the sizes the network can take), works out the frames to render
and keep, and only then looks at the input closely (a sequence's headers, a
video's full decode), cheapest first. It raises the first problem it finds
(ConfigError, InputError, OutputError) and leaves nothing on disk: the work
folder is created only after it returns.
"""

from __future__ import annotations

import functools
import os
from dataclasses import dataclass, field
from typing import Sequence

from . import images
from .errors import OutputError
from .options import StyleOptions, VideoOptions
from .outputs import Output
from .resume import fingerprint
from .sequences import belongs_to
from .shots import warmup_frames
from .sources import FrameSource, open_source
from .stylize import PathLike, as_path_list, check_init
from .temporal import FrameStylizer


@dataclass
class Job:
    """A checked clip run: what to read, what to write, the processor, and which frames."""

    input_path: str
    source: FrameSource          # ``numbers``: every frame to render, warm-up included
    output: Output
    style_paths: list[str]
    processor: FrameStylizer
    options: StyleOptions
    video: VideoOptions
    warmup: list[int] = field(default_factory=list)   # rendered first, not kept
    fingerprint: str = ""

    @property
    def keep(self) -> list[int]:
        """The frames written, in order."""
        skip = set(self.warmup)
        return [n for n in self.source.numbers if n not in skip]


def prepare(input_path: PathLike, styles: PathLike | Sequence[PathLike], output_path: PathLike,
            options: StyleOptions, video: VideoOptions, report_path: PathLike | None = None) -> Job:
    """Check everything about a clip run that can be checked before any work; see the module doc."""
    input_path, output_path = os.fspath(input_path), os.fspath(output_path)
    style_paths = as_path_list(styles)
    style_px = [images.read_image(p, "style image").pixels for p in style_paths]
    check_init(options)
    # A folder input never takes the output's own frames (a rerun would stylise them again).
    source = open_source(input_path, exclude=functools.partial(belongs_to, output_path))
    warmup: list[int] = []
    if video.frames is not None:
        everything = list(source.numbers)
        source.restrict(video.frames)   # refuses frames the input lacks
        warmup = warmup_frames(input_path, everything, video.frames, video)
        source.numbers = sorted({*warmup, *source.numbers})
    else:
        source.check_no_gaps()
    output = Output(output_path, fps=video.fps or source.fps, padding=source.padding, bit_depth=source.bit_depth)
    _reject_same_paths(input_path, output, style_paths, options)
    output.check(video)
    if report_path is not None:
        images.check_writable_folder(os.path.dirname(os.path.abspath(os.fspath(report_path))))
    processor = FrameStylizer(style_px, options, video)      # device, weights, blend
    processor.output_size(source.height, source.width)       # sizes the network can take
    source.check(video.accept_damaged)                        # headers / a full decode: the costly look, last
    return Job(input_path, source, output, style_paths, processor, options, video, warmup,
               fingerprint(source, style_paths, options, video))


def _reject_same_paths(input_path: str, output: Output, style_paths: Sequence[str], options: StyleOptions) -> None:
    """Refuse an output that would overwrite an input file or the input's frames."""
    out_real = os.path.realpath(output.path)
    inputs = [input_path, *style_paths, options.weights]
    if options.init not in ("content", "noise"):
        inputs.append(options.init)
    for p in inputs:
        if p is not None and os.path.realpath(p) == out_real:
            raise OutputError(f"output {output.path} is also an input: choose another output path")
    if output.overwrites_sequence(input_path):
        raise OutputError(f"output sequence {output.path} would overwrite the input frames")


__all__ = ["Job", "prepare"]
