"""Videos and image sequences: temporally stable stylisation, streaming, resumable.

Per frame (Ruder, Dosovitskiy & Brox 2016, with Gatys 2016 as the engine):

* The first frame of each shot is fully optimised (the still-image path).
* A later frame starts from the previous OUTPUT warped into it by DIS optical
  flow computed on the SOURCE frames (``--warm-start flow``), and a temporal
  loss holds it to that warped image where a forward-backward check says the
  flow is reliable. ``previous`` starts from the unwarped previous output
  with no temporal loss; ``none`` stylises every frame on its own.
* A scene cut (detected while decoding, or given) starts a new shot: nothing
  of the previous shot is used.

State lives in a work folder beside the output (``.NAME.vidstyle/``): a
manifest with a fingerprint of everything that affects the pixels, and each
finished frame as a 16-bit PNG written atomically. A rerun of the same
command resumes after the last finished frame, warm-starting from the stored
frame; since an uninterrupted run also warm-starts from the stored
(quantised) frame, both give the same frames. The work folder is removed
once the output is complete.
"""

from __future__ import annotations

import dataclasses
import hashlib
import json
import os
import shutil
import time
from dataclasses import dataclass, field
from fractions import Fraction
from typing import Callable, Sequence

import numpy as np

from . import images, media
from .cuts import CutDetector
from .engine import Progress, Stylizer
from .errors import ConfigError, InputError, OutputError
from .flow import FlowEstimator, reliability, warp
from .options import StyleOptions, VideoOptions
from .stylize import as_path_list
from .sources import (FrameSource, check_no_gaps, is_sequence_pattern, is_video_path, open_source,
                      split_pattern, write_exr)

STATE_VERSION = 1
REPORT_EVERY_S = 10.0


@dataclass(frozen=True)
class FrameRecord:
    """What happened to one frame (one row of ``--report``)."""

    number: int
    seconds: float
    iterations: int
    shot_start: bool
    reliable_fraction: float | None  # share of pixels under the temporal loss; None on a shot's first frame
    loss: float
    content_loss: float
    style_loss: float
    tv_loss: float
    temporal_loss: float
    resumed: bool = False             # finished by an earlier run


@dataclass(frozen=True)
class VideoProgress:
    """Reported after every optimiser iteration and after every frame."""

    frames_done: int
    frames_total: int
    frame_number: int
    shot_start: bool
    iteration: Progress | None      # the engine's report; None when a frame just finished
    elapsed: float


VideoCallback = Callable[[VideoProgress], None]


@dataclass
class RunSummary:
    output: str
    frames: list[FrameRecord] = field(default_factory=list)
    shots: list[int] = field(default_factory=list)  # frame numbers that started a shot
    warmup: list[FrameRecord] = field(default_factory=list)  # rendered before --frames, not kept
    fps: str | None = None
    seconds: float = 0.0

    def to_json(self) -> dict:
        return {"output": self.output, "fps": self.fps, "seconds": round(self.seconds, 3),
                "shots": self.shots, "frames": [dataclasses.asdict(f) for f in self.frames],
                "warmup": [dataclasses.asdict(f) for f in self.warmup]}


# -- output ----------------------------------------------------------------------

class Output:
    """Where frames go: a video file or a numbered sequence (``OUT.####.png``, ``OUT.%04d.png``)."""

    def __init__(self, path: str, source: FrameSource, fps: Fraction | None):
        self.path = os.fspath(path)
        self.is_video = is_video_path(self.path) and not is_sequence_pattern(self.path)
        ext = os.path.splitext(self.path)[1].lower()
        if self.is_video:
            if ext not in (".mp4", ".mov", ".m4v", ".mkv"):
                raise OutputError(f"video output must be .mp4 or .mov (or .m4v/.mkv), not {ext}")
        elif not is_sequence_pattern(self.path):
            raise OutputError(f"output {self.path} is neither a video (.mp4/.mov) nor a sequence pattern "
                              f"(OUT.####.png or OUT.%04d.png)")
        elif ext not in images.WRITABLE_EXTENSIONS + (".exr",):
            raise OutputError(f"cannot write {ext} frames: use .png, .tif, .exr or .jpg")
        self.folder = os.path.dirname(os.path.abspath(self.path))
        if not self.is_video:
            self._prefix, pad, self._suffix = split_pattern(self.path)
            self.padding = source.padding or pad
        self.fps = fps or source.fps
        self.bit_depth = source.bit_depth
        self.exr = ext == ".exr"

    def frame_path(self, number: int) -> str:
        """``OUT.####.png`` -> ``OUT.1001.png``.

        The digits: an input sequence's own padding (shot.00001.png stays
        5 digits whatever the number of #), else the pattern's (#### or %04d).
        """
        return f"{self._prefix}{number:0{self.padding}d}{self._suffix}"

    def write_frame(self, number: int, pixels: np.ndarray) -> None:
        path = self.frame_path(number)
        if self.exr:
            write_exr(path, pixels)
        else:
            images.write_image(path, pixels, self.bit_depth)

    def existing(self, numbers: Sequence[int]) -> list[str]:
        if self.is_video:
            return [self.path] if os.path.exists(self.path) else []
        return [p for p in (self.frame_path(n) for n in numbers) if os.path.exists(p)]


# -- the run -------------------------------------------------------------------------

def _file_digest(path: str) -> str:
    h = hashlib.sha256()
    with open(path, "rb") as handle:
        for block in iter(lambda: handle.read(1 << 20), b""):
            h.update(block)
    return h.hexdigest()


def fingerprint(source: FrameSource, style_paths: Sequence[str], options: StyleOptions,
                video: VideoOptions) -> str:
    """Everything that decides the pixels of a frame; frames range and report excluded."""
    opts = dataclasses.asdict(options)
    opts.pop("device")  # the same run may continue on another device
    vopts = dataclasses.asdict(video)
    for key in ("frames", "crf", "codec", "fps"):
        vopts.pop(key)
    data = {
        "version": STATE_VERSION, "options": opts, "video": vopts,
        "input": [os.path.abspath(source.path), source.width, source.height],
        "styles": [_file_digest(p) for p in style_paths],
    }
    return hashlib.sha256(json.dumps(data, sort_keys=True, default=str).encode()).hexdigest()[:16]


class WorkFolder:
    """``.NAME.vidstyle/RANGE/`` beside the output: manifest.json and frames/NUMBER.png (16-bit).

    RANGE is ``all``, or the ``--frames`` range (``1001-1050``): farm chunks
    of one output run at the same time, each in its own folder. For a
    sequence output the manifest stays when the range is complete (its
    frames are deleted), so rerunning a finished chunk does nothing.
    """

    def __init__(self, output: Output, frames: Sequence[int] | None = None):
        name = os.path.basename(output.path).replace("%", "_").replace("#", "_").replace("@", "_")
        self.base = os.path.join(output.folder, f".{name}.vidstyle")
        self.root = os.path.join(self.base, range_name(frames))
        self.frames = os.path.join(self.root, "frames")
        self.manifest = os.path.join(self.root, "manifest.json")

    def exists(self) -> bool:
        return os.path.isfile(self.manifest)

    def _read(self) -> dict:
        try:
            with open(self.manifest) as handle:
                return json.load(handle)
        except (OSError, ValueError):
            return {}

    def fingerprint(self) -> str | None:
        return self._read().get("fingerprint")

    def complete(self) -> bool:
        return bool(self._read().get("complete"))

    def start(self, fp: str, summary: dict) -> None:
        os.makedirs(self.frames, exist_ok=True)
        images.write_bytes_atomic(self.manifest, json.dumps({"fingerprint": fp, **summary}, indent=1).encode())

    def finish(self) -> None:
        """Mark the range complete and drop the stored frames (a sequence output holds them now)."""
        data = {**self._read(), "complete": True}
        images.write_bytes_atomic(self.manifest, json.dumps(data, indent=1).encode())
        shutil.rmtree(self.frames, ignore_errors=True)

    def frame_path(self, number: int) -> str:
        return os.path.join(self.frames, f"{number:+09d}.png")

    def has(self, number: int) -> bool:
        return os.path.isfile(self.frame_path(number))

    def save(self, number: int, pixels: np.ndarray) -> np.ndarray:
        """Store a finished frame (16-bit) and return it as stored, so warm starts match after a resume."""
        images.write_image(self.frame_path(number), pixels, 16)
        return self.load(number)

    def load(self, number: int) -> np.ndarray:
        return images.read_image(self.frame_path(number), "stored frame").pixels

    def remove(self) -> None:
        shutil.rmtree(self.root, ignore_errors=True)
        try:
            os.rmdir(self.base)  # only when no other range is in it
        except OSError:
            pass


def range_name(frames: Sequence[int] | None) -> str:
    """``all``, ``1001-1050``, or for a range with holes ``1-30-<hash>``."""
    if not frames:
        return "all"
    first, last = min(frames), max(frames)
    name = f"{first}-{last}"
    if len(set(frames)) != last - first + 1:
        name += "-" + hashlib.sha256(",".join(map(str, sorted(frames))).encode()).hexdigest()[:8]
    return name


def warmup_frames(input_path: str, all_numbers: Sequence[int], wanted: Sequence[int],
                  video: VideoOptions) -> list[int]:
    """Frames to render, not keep, before ``wanted`` so its first frame is warm-started (see chunks.py).

    Up to ``video.warmup`` frames straight before the first wanted one; none
    when that frame starts a shot (a given cut, a detected cut, the input's
    first frame), and only from the start of the shot when it starts sooner.
    Cut detection looks at the same pairs of frames a whole run would.
    """
    if video.warm_start == "none":
        return []   # frames do not depend on each other
    first = min(wanted)
    have = set(all_numbers)
    window = [n for n in range(first - 1, first - 1 - video.warmup, -1) if n in have]
    window = [n for i, n in enumerate(window) if n == first - 1 - i][::-1]   # straight before, no holes
    if not window:
        return []
    if isinstance(video.cuts, tuple):
        starts = [n for n in [*window, first] if n in video.cuts]
    elif video.cuts == "auto":
        scan = open_source(input_path)
        scan.restrict([*window, first])
        detector = CutDetector(video.cut_threshold)
        starts = [f.number for i, f in enumerate(scan.frames()) if detector.is_cut(f.pixels) and i > 0]
    else:
        starts = []
    if starts:
        window = [n for n in window if n >= starts[-1]]
    return window


def _reject_same_paths(input_path: str, output: Output, style_paths: Sequence[str]) -> None:
    """Refuse an output that would overwrite an input file or the input's frames."""
    out_real = os.path.realpath(output.path)
    for p in (input_path, *style_paths):
        if os.path.realpath(p) == out_real:
            raise OutputError(f"output {output.path} is also an input: choose another output path")
    if not output.is_video and is_sequence_pattern(input_path):
        in_prefix, _, in_suffix = split_pattern(input_path)
        if (os.path.realpath(in_prefix), in_suffix) == (os.path.realpath(output._prefix), output._suffix):
            raise OutputError(f"output sequence {output.path} would overwrite the input frames")


def stylize_video(input_path: str, styles: str | Sequence[str], output_path: str,
                  options: StyleOptions | None = None, video: VideoOptions | None = None, *,
                  overwrite: bool = False, callback: VideoCallback | None = None,
                  report_path: str | None = None) -> RunSummary:
    """Stylise a video file, a folder of images or a sequence pattern into a video or a sequence.

    Checks everything it can before the first frame (inputs, styles, output,
    an existing output or an unfinished run with other parameters), then
    streams: one frame decoded, stylised, stored and written at a time.
    """
    options = options or StyleOptions()
    video = video or VideoOptions()
    style_paths = as_path_list(styles)
    style_px = [images.read_image(p, "style image").pixels for p in style_paths]
    input_path = os.fspath(input_path)
    source = open_source(input_path)
    warmup: list[int] = []
    if video.frames is not None:
        all_numbers = list(source.numbers)
        source.restrict(video.frames)   # refuses frames the input lacks
        warmup = warmup_frames(input_path, all_numbers, video.frames, video)
        source.numbers = sorted({*warmup, *source.numbers})
    else:
        check_no_gaps(source)
    warmup_set = set(warmup)
    keep = [n for n in source.numbers if n not in warmup_set]
    if hasattr(source, "check_sizes"):
        source.check_sizes()
    output = Output(output_path, source, video.fps)
    _reject_same_paths(input_path, output, style_paths)
    images.check_writable_folder(output.folder)
    if report_path is not None:
        images.check_writable_folder(os.path.dirname(os.path.abspath(report_path)))
    if output.is_video and output.fps is None:
        raise ConfigError("the input has no frame rate: give --fps (e.g. 24 or 30000/1001)")
    if output.is_video and video.codec == "prores" and not output.path.lower().endswith(".mov"):
        raise ConfigError("--codec prores needs a .mov output")
    if output.exr or source.is_exr:
        try:
            import OpenEXR  # noqa: F401
        except ImportError:
            raise ConfigError("EXR needs the 'openexr' package: pip install openexr") from None

    work = WorkFolder(output, video.frames)
    fp = fingerprint(source, style_paths, options, video)
    ours = False   # existing output frames were made by this very command
    if work.exists() and work.fingerprint() != fp:
        if not overwrite:
            state = "a finished" if work.complete() else "an unfinished"
            raise OutputError(f"{output.path} has {state} run with other parameters or inputs "
                              f"(work folder {work.root}): rerun that command to finish it, or pass "
                              f"--overwrite to start again")
        work.remove()
    elif work.exists() and work.complete():
        done = output.existing(keep)
        if not done or overwrite:
            pass
        elif len(done) == len(keep):
            # The same command ran to the end before: nothing to do (a farm may requeue a task).
            return RunSummary(output=output.path, fps=None if output.fps is None else str(output.fps),
                              frames=[FrameRecord(n, 0.0, 0, False, None, 0, 0, 0, 0, 0, resumed=True)
                                      for n in keep])
        ours = True   # some of our frames were deleted since: render the range again
        work.remove()
    if not work.exists():
        existing = output.existing(keep)
        if existing and not (overwrite or ours):
            more = f" and {len(existing) - 1} more" if len(existing) > 1 else ""
            raise OutputError(f"output {existing[0]}{more} exists: pass --overwrite to replace")
    work.start(fp, {"input": input_path, "output": output.path, "styles": style_paths,
                    "frames": range_name(video.frames), "warmup": warmup})

    cut_list = set(video.cuts) if isinstance(video.cuts, tuple) else set()
    detector = CutDetector(video.cut_threshold) if video.cuts == "auto" else None
    size = images.output_size(source.height, source.width, options.size)
    stylizer = Stylizer(style_px, options)
    flow = FlowEstimator()
    summary = RunSummary(output=output.path, fps=None if output.fps is None else str(output.fps))
    start = time.perf_counter()
    total = len(source.numbers)
    prev_src = prev_out = None
    prev_number = None
    last_report = start
    for done, frame in enumerate(source.frames()):
        cut = detector.is_cut(frame.pixels) if detector is not None else (prev_number is None)
        # A jump in the frame numbers (--frames 1-10,20-30) also starts a shot:
        # the flow between non-adjacent frames means nothing.
        shot_start = cut or frame.number in cut_list or prev_number is None or frame.number != prev_number + 1
        content = images.resize(frame.pixels, size)
        if shot_start and frame.number not in warmup_set:
            summary.shots.append(frame.number)
        kept = frame.number not in warmup_set
        records = summary.frames if kept else summary.warmup
        if work.has(frame.number):
            out = work.load(frame.number)
            records.append(FrameRecord(frame.number, 0.0, 0, shot_start, None, 0, 0, 0, 0, 0, resumed=True))
        else:
            out, record = _stylize_frame(stylizer, options, video, flow, frame.number, content, shot_start,
                                         prev_src, prev_out, done, total, start, callback)
            out = work.save(frame.number, out)
            if kept and not output.is_video:
                output.write_frame(frame.number, out)
            records.append(record)
            # Rewriting the report after every frame would cost O(frames^2)
            # on a long video: every 10 s is enough to follow a run.
            if report_path and time.perf_counter() - last_report > REPORT_EVERY_S:
                _write_report(report_path, summary, start)
                last_report = time.perf_counter()
        if callback is not None:
            callback(VideoProgress(done + 1, total, frame.number, shot_start, None, time.perf_counter() - start))
        prev_src, prev_out, prev_number = content, out, frame.number
    if not summary.frames:
        raise InputError(f"{input_path} gave no frames")

    if output.is_video:
        _encode(output, work, [r.number for r in summary.frames], source, video)
    else:
        for record in summary.frames:  # frames finished by an earlier run but not yet written
            if record.resumed and not os.path.exists(output.frame_path(record.number)):
                output.write_frame(record.number, work.load(record.number))
    if output.is_video:
        work.remove()
    else:
        work.finish()
    summary.seconds = time.perf_counter() - start
    if report_path:
        _write_report(report_path, summary, start)
    return summary


def _stylize_frame(stylizer, options, video, flow, number, content, shot_start, prev_src, prev_out,
                   done, total, start, callback):
    t0 = time.perf_counter()
    seen: list[Progress] = []

    def on_iteration(p: Progress) -> None:
        seen.append(p)
        if callback is not None:
            callback(VideoProgress(done, total, number, shot_start, p, time.perf_counter() - start))

    fraction = None
    if shot_start or video.warm_start == "none" or prev_out is None:
        out = stylizer.stylize(content, callback=on_iteration)
    elif video.warm_start == "previous":
        out = stylizer.stylize(content, init=prev_out, iterations=video.warm_iterations, scales=1,
                               callback=on_iteration)
    else:
        backward = flow(content, prev_src)
        forward = flow(prev_src, content)
        warped, _ = warp(prev_out, backward, fill=content)
        mask = reliability(backward, forward)
        fraction = float(mask.mean())
        out = stylizer.stylize(content, init=warped, iterations=video.warm_iterations, scales=1,
                               temporal=(warped, mask, video.temporal_weight), callback=on_iteration)
    last = seen[-1]
    losses = (last.loss, last.content_loss, last.style_loss, last.tv_loss, last.temporal_loss)
    record = FrameRecord(number, round(time.perf_counter() - t0, 4), len(seen), shot_start, fraction,
                         *(round(v, 6) for v in losses))
    return out, record


def _encode(output: Output, work: WorkFolder, numbers: list[int], source: FrameSource, video: VideoOptions) -> None:
    audio = source.path if source.kind == "video" and source.has_audio else None
    # A range that starts later in the video takes its sound from there.
    offset = float(numbers[0] / source.fps) if audio and source.fps else 0.0
    media.encode_video(output.path, (work.load(n) for n in numbers), output.fps, codec=video.codec,
                       crf=video.crf, audio_from=audio, offset=offset)


def _write_report(path: str, summary: RunSummary, start: float) -> None:
    summary.seconds = time.perf_counter() - start
    images.write_bytes_atomic(path, json.dumps(summary.to_json(), indent=1).encode())


__all__ = ["FrameRecord", "RunSummary", "VideoProgress", "stylize_video"]
