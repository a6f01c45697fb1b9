"""Splitting a shot list into frame-range chunks for a render farm or a Ray cluster.

Warm start is sequential (each frame starts from the previous output), so a
chunk cannot simply start anywhere. A chunk either starts
at a scene cut, where a serial run starts afresh too, or renders
``warmup`` frames before its range and throws them away, so its first kept
frame is warm-started like its neighbours rather than freshly optimised
(a fresh frame in the middle of a shot pops).

Planning: the input's shots (cut detection while decoding, the same
detector the render uses, or the given cuts) are packed greedily into
chunks of at most ``chunk_size`` frames; a shot longer than that is split
into near-equal pieces, all but its first with a warm-up.

A chunk is an ordinary command: ``vidstyle INPUT STYLE -o OUT.####.png
--frames FIRST-LAST``. The render itself notices when FIRST does not start a
shot and adds the warm-up (shots.warmup_frames), so a farm needs nothing but
the frame ranges.
"""

from __future__ import annotations

import dataclasses
import json
import math
from dataclasses import asdict, dataclass
from typing import Callable, Sequence

from .errors import InputError
from .images import write_bytes_atomic
from .options import DEFAULT_CHUNK_SIZE, VideoOptions, whole_number
from .shots import ShotTracker, warmup_frames
from .sources import FrameSource, open_source
from .styletrack import describe_keys


@dataclass(frozen=True)
class Chunk:
    """Frames ``first``..``last`` (inclusive, input numbering) kept by one task."""

    index: int
    first: int
    last: int
    warmup: int            # frames rendered before ``first`` and not kept (0 at a scene cut)
    starts_at_cut: bool
    styles: str = ""       # the style track over its frames, warm-up included (styletrack.describe_keys)

    @property
    def frames(self) -> str:
        """The ``--frames`` value of the chunk's command."""
        return f"{self.first}-{self.last}"

    @property
    def count(self) -> int:
        return self.last - self.first + 1


@dataclass
class Plan:
    input: str
    numbers: list[int]     # every frame of the input (or of --frames), in order
    shots: list[int]       # frame numbers that start a shot
    chunks: list[Chunk]
    chunk_size: int
    warmup: int

    def to_json(self) -> dict:
        return {
            "input": self.input, "frames": len(self.numbers), "first": self.numbers[0],
            "last": self.numbers[-1], "chunk_size": self.chunk_size, "warmup": self.warmup, "shots": self.shots,
            "chunks": [{**asdict(c), "frames": c.frames, "count": c.count} for c in self.chunks],
        }


def find_shots(source: FrameSource, video: VideoOptions,
               callback: Callable[[int, int], None] | None = None) -> list[int]:
    """Frame numbers of ``source`` that start a shot, as a render of the whole input would find them.

    Frames are decoded only when cuts are detected (``cuts="auto"``).
    """
    tracker = ShotTracker.for_video(video)
    numbers = source.numbers
    fed = ((f.number, f.pixels) for f in source.frames()) if tracker.needs_pixels else ((n, None) for n in numbers)
    shots = []
    for done, (number, pixels) in enumerate(fed):
        if tracker.starts_shot(pixels, number):
            shots.append(number)
        if callback is not None:
            callback(done + 1, len(numbers))
    return shots


def check_chunking(chunk_size: int, warmup: int) -> None:
    """Refuse a chunk size below 1 or a negative warm-up."""
    whole_number("chunk size", chunk_size, 1)
    whole_number("warm-up", warmup, 0)


def split(numbers: Sequence[int], shots: Sequence[int], chunk_size: int, warmup: int) -> list[Chunk]:
    """Pack shots into chunks of at most ``chunk_size`` frames (see the module docstring).

    ``numbers``: every frame, in order; ``shots``: those that start a shot
    (the first frame always does).
    """
    check_chunking(chunk_size, warmup)
    starts = set(shots) | {numbers[0]}
    runs: list[list[int]] = []          # the frames of each shot
    for n in numbers:
        if n in starts:
            runs.append([])
        runs[-1].append(n)
    # (frames, warm-up frames available before them, starts at a cut)
    pieces: list[tuple[list[int], int, bool]] = []
    for run in runs:
        parts = math.ceil(len(run) / chunk_size)
        bounds = [round(i * len(run) / parts) for i in range(parts + 1)]
        for i in range(parts):
            pieces.append((run[bounds[i]:bounds[i + 1]], min(warmup, bounds[i]), i == 0))
    chunks: list[Chunk] = []
    current: list[int] = []
    for frames, warm, at_cut in pieces:
        # Whole short shots share a chunk (not across a hole in the numbers).
        if at_cut and current and len(current) + len(frames) <= chunk_size and current[-1] + 1 == frames[0]:
            current += frames
            continue
        if current:
            chunks.append(Chunk(len(chunks), current[0], current[-1], 0, True))
            current = []
        if at_cut:
            current = list(frames)
        else:
            chunks.append(Chunk(len(chunks), frames[0], frames[-1], warm, False))
    if current:
        chunks.append(Chunk(len(chunks), current[0], current[-1], 0, True))
    return chunks


def plan(input_path: str, chunk_size: int = DEFAULT_CHUNK_SIZE, video: VideoOptions | None = None,
         callback: Callable[[int, int], None] | None = None, json_path: str | None = None) -> Plan:
    """Chunks for ``input_path`` (a video, folder or sequence); ``video.frames`` limits the range.

    ``video.warmup`` sets the warm-up frames; cut detection follows
    ``video.cuts`` and ``video.cut_threshold`` exactly as a render would.
    ``json_path``: also write the plan there as JSON (checked before any
    work: never over the input).
    """
    from .paths import check_writes

    video = video or VideoOptions()
    check_chunking(chunk_size, video.warmup)
    source = open_source(input_path, purpose="plan")
    if json_path is not None:
        check_writes([("plan", json_path)], [input_path], source.owns)
    everything = source.candidates(video.frames) if video.frames is not None else None
    if video.frames is not None:
        source.restrict(video.frames)
    source.check(accept_damaged=video.accept_damaged)   # a video's frames, counted by decoding it
    if everything is None:
        everything = list(source.numbers)
    if not source.numbers:
        raise InputError(f"{input_path} has no frames")
    shots = find_shots(source, video, callback)
    chunks = split(source.numbers, shots, chunk_size, video.warmup)
    if video.frames is not None:
        # A range that starts inside a shot of the whole input: its first
        # chunk warms up too, as its render will (shots.warmup_frames).
        before = warmup_frames(input_path, everything, [chunks[0].first], video)
        if before:
            chunks[0] = dataclasses.replace(chunks[0], warmup=len(before), starts_at_cut=False)
            shots = shots[1:]
    if video.style_keys:
        chunks = [dataclasses.replace(c, styles=describe_keys(video.style_keys, c.first - c.warmup, c.last,
                                                              set(shots), video.style_fade)) for c in chunks]
    result = Plan(input_path, list(source.numbers), shots, chunks, chunk_size, video.warmup)
    if json_path is not None:
        write_bytes_atomic(json_path, json.dumps(result.to_json(), indent=1).encode())
    return result


__all__ = ["Chunk", "Plan", "find_shots", "plan", "split"]
