"""Building the final video from frames rendered by many chunks (a farm, Ray).

The frames are a numbered sequence (``OUT.####.png``); the frame rate and
the sound come from the source (``audio_from``), so the film plays in sync
with it. Missing frames are named and refused before anything is encoded:
a film with a hole in it is worse than no film. The film holds exactly the
frames given, whatever the length of the sound (media.encode_video counts
them before it keeps the file).
"""

from __future__ import annotations

import functools
import os
from dataclasses import dataclass, field
from fractions import Fraction

from . import media
from .errors import ConfigError, InputError, OutputError
from .options import DEFAULT_CODEC, DEFAULT_CRF, VideoOptions
from .outputs import check_video_path
from .paths import check_writes
from .sequences import belongs_to, format_ranges, is_sequence_pattern
from .sources import FrameSource, open_sequence, open_source


def expected_numbers(frames: FrameSource, reference: FrameSource | None) -> list[int]:
    """The frame numbers the film needs: the reference's, else the sequence's own first..last."""
    if reference is not None:
        return list(reference.numbers)
    return list(range(frames.numbers[0], frames.numbers[-1] + 1))


@dataclass
class Assembled:
    """What ``assemble`` made: the video, its frame count, and what a user must hear of."""

    output: str
    frames: int
    warnings: list[str] = field(default_factory=list)


def assemble(frames_pattern: str, output: str, *, audio_from: str | None = None, fps: Fraction | None = None,
             codec: str = DEFAULT_CODEC, crf: int = DEFAULT_CRF, frames: list[int] | None = None,
             overwrite: bool = False) -> Assembled:
    """Encode the sequence ``frames_pattern`` into the video ``output``.

    ``audio_from``: the source video (or sequence): its frame times (unless
    ``fps`` is given: a video whose frame rate varies keeps each frame's
    time), its sound, and its frame numbers, which must all be present
    (video frames count from 0, as ``--frames`` does, counted by decoding
    it). ``frames``: the numbers to use instead (e.g. a shot 1001-1100).
    """
    if not is_sequence_pattern(frames_pattern) or os.path.isfile(frames_pattern):
        raise ConfigError(f"assemble takes the rendered frames as a sequence pattern (OUT.####.png), not "
                          f"{frames_pattern}")
    VideoOptions(fps=fps, codec=codec, crf=crf)   # the same checks as a render's
    check_video_path(output, codec)
    check_writes([("output", output)], [audio_from], functools.partial(belongs_to, frames_pattern))
    if os.path.exists(output) and not overwrite:
        raise OutputError(f"output {output} exists: pass --overwrite to replace it")
    sequence = open_sequence(frames_pattern)
    reference = open_source(audio_from, purpose="assemble --audio-from") if audio_from is not None else None
    if reference is not None:
        if frames is not None:
            reference.restrict(frames)
        reference.check(accept_damaged=True)   # a damaged source was refused or accepted by its render
    wanted = frames if frames is not None else expected_numbers(sequence, reference)
    have = set(sequence.numbers)
    missing = [n for n in wanted if n not in have]
    if missing:
        raise InputError(f"{len(missing)} frame(s) missing from {frames_pattern}: {format_ranges(missing)}; "
                         f"render them (rerun their chunks) and assemble again")
    sequence.numbers = list(wanted)
    sequence.check()
    warnings = list(sequence.warnings)
    if reference is not None:
        timing, said = reference.timing(wanted, fps)
        warnings += said
    elif fps is None:
        raise ConfigError("give --fps (e.g. 24 or 30000/1001) or --audio-from the source video")
    else:
        timing = media.Timing(Fraction(fps))
    audio = reference.audio_path if reference is not None else None
    count = media.encode_video(output, (f.pixels for f in sequence.frames()), timing, codec=codec, crf=crf,
                               audio_from=audio)
    return Assembled(output, count, warnings)


__all__ = ["Assembled", "assemble", "expected_numbers"]
