"""Building the final video from frames rendered by many chunks (a farm, Ray).

The frames are a numbered sequence (``OUT.####.png``); the frame rate and
the sound come from the source (``audio_from``), so the film plays in sync
with it. Missing frames are named and refused before anything is encoded:
a film with a hole in it is worse than no film. The film holds exactly the
frames given, whatever the length of the sound (media.encode_video counts
them before it keeps the file).
"""

from __future__ import annotations

import os
from fractions import Fraction

from . import images, media
from .errors import ConfigError, InputError, OutputError
from .options import DEFAULT_CODEC, DEFAULT_CRF, VideoOptions
from .outputs import check_video_path
from .sequences import format_ranges
from .sources import FrameSource, open_sequence, open_source


def expected_numbers(frames: FrameSource, reference: FrameSource | None) -> list[int]:
    """The frame numbers the film needs: the reference's, else the sequence's own first..last."""
    if reference is not None:
        return list(reference.numbers)
    return list(range(frames.numbers[0], frames.numbers[-1] + 1))


def assemble(frames_pattern: str, output: str, *, audio_from: str | None = None, fps: Fraction | None = None,
             codec: str = DEFAULT_CODEC, crf: int = DEFAULT_CRF, frames: list[int] | None = None,
             overwrite: bool = False) -> str:
    """Encode the sequence ``frames_pattern`` into the video ``output``; returns ``output``.

    ``audio_from``: the source video (or sequence): its fps (unless ``fps``
    is given), its sound, and its frame numbers, which must all be present
    (video frames count from 0, as ``--frames`` does). ``frames``: the
    numbers to use instead (e.g. a shot 1001-1100).
    """
    sequence = open_sequence(frames_pattern)
    reference = open_source(audio_from) if audio_from is not None else None
    wanted = frames if frames is not None else expected_numbers(sequence, reference)
    have = set(sequence.numbers)
    missing = [n for n in wanted if n not in have]
    if missing:
        raise InputError(f"{len(missing)} frame(s) missing from {frames_pattern}: {format_ranges(missing)}; "
                         f"render them (rerun their chunks) and assemble again")
    sequence.numbers = list(wanted)
    sequence.check()
    VideoOptions(fps=fps, codec=codec, crf=crf)   # the same checks as a render's
    rate = fps or (reference.fps if reference is not None else None)
    if rate is None:
        raise ConfigError("give --fps (e.g. 24 or 30000/1001) or --audio-from the source video")
    check_video_path(output, codec)
    if audio_from is not None and os.path.realpath(output) == os.path.realpath(audio_from):
        raise OutputError(f"output {output} is also the input: choose another output path")
    if os.path.exists(output) and not overwrite:
        raise OutputError(f"output {output} exists: pass --overwrite to replace it")
    images.check_writable_folder(os.path.dirname(os.path.abspath(output)))
    audio = reference.audio_path if reference is not None else None
    offset = float(wanted[0] / reference.fps) if audio and reference.fps else 0.0
    media.encode_video(output, (f.pixels for f in sequence.frames()), Fraction(rate), codec=codec, crf=crf,
                       audio_from=audio, offset=offset)
    return output


__all__ = ["assemble", "expected_numbers"]
