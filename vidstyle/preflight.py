"""Every check a clip run makes before it writes anything, in one place.

``prepare`` opens the input and the output, reads the styles, checks every
path the run will write (``paths.check_writes``: the output, the report, the
work folder, their temporary names), builds the per-frame processor (which
checks the device, the weights file, the style blend and the sizes the
network can take), and only then looks at the input closely (a sequence's
frame headers, a video's full decode, which counts and times its frames),
cheapest first. It raises the first problem it finds (ConfigError,
InputError, OutputError) and leaves nothing on disk: the work folder is
created only after it returns.
"""

from __future__ import annotations

import functools
import os
from dataclasses import dataclass, field
from typing import Sequence

from . import images, media
from .errors import ConfigError, InputError, OutputError
from .mattes import MatteSet
from .options import StyleOptions, VideoOptions
from .outputs import Output
from .paths import check_writes
from .resume import fingerprint, work_folder_path
from .sequences import belongs_to
from .shots import starts_at, warmup_frames
from .styletrack import StyleTrack
from .tiles import untiled_note
from .sources import FrameSource, open_source
from .stylize import PathLike, as_path_list, check_init, init_path
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
    timing: media.Timing | None = None                # when a video output's frames play; None for a sequence
    mattes: MatteSet | None = None                    # one per style (--mask), matched to the frames

    @property
    def keep(self) -> list[int]:
        """The frames written, in order."""
        skip = set(self.warmup)
        return [n for n in self.source.numbers if n not in skip]


def prepare(input_path: PathLike, styles: PathLike | Sequence[PathLike], output_path: PathLike,
            options: StyleOptions, video: VideoOptions, report_path: PathLike | None = None) -> Job:
    """Check everything about a clip run that can be checked before any work; see the module doc."""
    input_path, output_path = os.fspath(input_path), os.fspath(output_path)
    style_paths = [] if video.style_keys and not styles else as_path_list(styles)
    style_px = [images.read_image(p, "style image").pixels for p in style_paths]
    check_init(options)
    mattes = MatteSet(video.masks, len(style_paths)) if video.masks else None   # their count, first
    # A folder input never takes the output's own frames (a rerun would stylise them again).
    source = open_source(input_path, exclude=functools.partial(belongs_to, output_path), colorspace=video.colorspace)
    style_px = [source.encoding.style(px) for px in style_px]   # the styles seen as the plate is (colorspaces.py)
    output = Output(output_path, fps=video.fps or source.fps, padding=source.padding, bit_depth=source.bit_depth,
                    encoding=source.encoding)
    output.check(video)
    if source.has_alpha and output.alpha_warning(video.codec):
        source.warnings.append(output.alpha_warning(video.codec))
    inputs = [input_path, *style_paths, options.weights, init_path(options)]
    check_writes([("output", output.sample_path(source.numbers)),
                  ("report", None if report_path is None else os.fspath(report_path))],
                 inputs, source.owns, folders=[("work folder", work_folder_path(output))])
    if output.overwrites_sequence(input_path):
        raise OutputError(f"output sequence {output.path} would overwrite the input frames")
    track = None
    if video.style_keys:   # every key's images read (once each) and seen as the plate is
        track = StyleTrack(style_px, video.style_keys, video.style_fade, blend=options.style_blend,
                           regions=len(video.masks),
                           load=lambda p: source.encoding.style(images.read_image(p, "style image").pixels))
    processor = FrameStylizer(style_px, options, video, track=track)   # device, weights, blend
    size = processor.output_size(source.height, source.width)   # sizes the network can take
    source.warnings += [n for n in [untiled_note(options.tile, *size)] if n]
    # The costly look last: a sequence's frame headers, a video's full decode (its frame count).
    warmup: list[int] = []
    if video.frames is not None:
        everything = source.candidates(video.frames)
        source.restrict(video.frames)   # refuses frames a sequence lacks; a video's are counted next
        source.check(video.accept_damaged)
        warmup = warmup_frames(input_path, everything, source.numbers, video)
        source.add(warmup)
    else:
        source.check_no_gaps()
        source.check(video.accept_damaged)
    if mattes is not None:
        mattes.check(source.numbers, (source.height, source.width))
    if track is not None:
        everything = everything if video.frames is not None else list(source.numbers)
        # A video range was decoded only up to its last frame: keys after it may be for other chunks.
        known_end = video.frames is None or not source.is_video
        source.warnings += check_track(input_path, video, track, everything, sorted(source.numbers), bool(style_px),
                                       known_end)
    job = Job(input_path, source, output, style_paths, processor, options, video, warmup,
              fingerprint(source, style_paths, options, video), mattes=mattes)
    if output.is_video:
        job.timing, said = source.timing(job.keep, video.fps)
        source.warnings += said
    elif source.variable_rate():
        source.warnings.append(f"{input_path} has a variable frame rate and an image sequence keeps no frame "
                               f"times: assemble it with --audio-from {input_path} to keep them")
    return job


def check_track(input_path: str, video: VideoOptions, track: StyleTrack, everything: list[int],
                numbers: list[int], positional: bool, known_end: bool = True) -> list[str]:
    """Refuse style keys nothing would use; decide the keys a run starting late cannot; the warnings to give.

    ``everything``: the input's frame numbers (up to the range's last, when
    not ``known_end``); ``numbers``: those this run renders (warm-up
    included); ``positional``: whether positional styles were given.
    """
    first, last = everything[0], everything[-1]
    keys = video.style_keys
    late = [k for k in keys if k.frame > last] if known_end else []
    if late:
        raise InputError(f"the style key at frame {late[0].frame} comes after the last frame of {input_path} "
                         f"({last}): nothing would use it")
    early = [k for k in keys if k.frame < first]
    if len(early) > 1:
        raise InputError(f"the style key at frame {early[-2].frame} comes before the first frame of {input_path} "
                         f"({first}) and so does the one at {early[-1].frame}: nothing would use the first")
    if not positional and keys[0].frame > first:
        raise ConfigError(f"frames {first}-{keys[0].frame - 1} come before the first style key and no positional "
                          f"style was given: give one, or a key at frame {first}")
    said = [f"the style key at frame {early[0].frame} comes before the first frame of {input_path} ({first}): "
            f"it applies from there"] if early else []
    for frame, starts in starts_at(input_path, everything, track.reaching(numbers[0]), video).items():
        track.starts[frame] = starts
    return said


__all__ = ["Job", "check_track", "prepare"]
