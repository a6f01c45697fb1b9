"""The file runner: a video, a folder or a sequence in, a video or a sequence out; streaming and resumable.

It only drives: ``preflight.prepare`` checks everything first, the work
folder (resume.py) holds the lock and decides fresh / resume / done, the
per-frame processor (temporal.py) stylises, and the output is written as
frames finish (a sequence) or encoded at the end with the source's sound
(a video, media.py).

Resume: each finished frame is stored (16-bit, with the key of the source
frame it was made from). A rerun of the same command reuses a stored frame
only while nothing before it in its shot was rendered again and its source
frame is unchanged; so an interrupted run ends with the frames of an
uninterrupted one, and a plate replaced in between is rendered again from
the first changed frame to the end of its shot.
"""

from __future__ import annotations

import dataclasses
import json
import os
import time
from dataclasses import dataclass, field
from typing import Callable, Sequence

from . import images, media
from .engine import Progress
from .errors import InputError
from .options import StyleOptions, VideoOptions
from .preflight import Job, prepare
from .resume import Decision, WorkFolder
from .stylize import PathLike
from .temporal import FrameRecord

REPORT_EVERY_S = 10.0


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
    warnings: list[str] = field(default_factory=list)   # faults accepted (--accept-damaged)

    def to_json(self) -> dict:
        return {"output": self.output, "fps": self.fps, "seconds": round(self.seconds, 3),
                "warnings": self.warnings, "shots": self.shots,
                "frames": [dataclasses.asdict(f) for f in self.frames],
                "warmup": [dataclasses.asdict(f) for f in self.warmup]}


def stylize_video(input_path: PathLike, styles: PathLike | Sequence[PathLike], output_path: PathLike,
                  options: StyleOptions | None = None, video: VideoOptions | None = None, *,
                  overwrite: bool = False, callback: VideoCallback | None = None,
                  report_path: PathLike | None = None) -> RunSummary:
    """Stylise a video file, a folder of images or a sequence pattern into a video or a sequence.

    Checks everything it can before the first frame (inputs, styles, output,
    an existing output, a run of other parameters, another process on the
    same output), then streams: one frame decoded, stylised, stored and
    written at a time. Returns a RunSummary; ``report_path`` also gets it as
    JSON.
    """
    options, video = options or StyleOptions(), video or VideoOptions()
    job = prepare(input_path, styles, output_path, options, video, report_path)
    summary = RunSummary(output=job.output.path, fps=None if job.output.fps is None else str(job.output.fps))
    start = time.perf_counter()
    with WorkFolder(job.output, video.frames, job.keep) as work:
        decision = work.decide(job.fingerprint, job.source, overwrite)
        if decision is Decision.DONE:
            summary.frames = [FrameRecord(n, 0.0, 0, False, None, 0, 0, 0, 0, 0, resumed=True) for n in job.keep]
            return summary
        work.start(job.fingerprint, {"input": job.input_path, "output": job.output.path,
                                     "styles": job.style_paths, "frames": os.path.basename(work.root),
                                     "warmup": job.warmup})
        _render(job, work, summary, start, callback, report_path)
        _deliver(job, work, summary)
    summary.seconds = time.perf_counter() - start
    if report_path:
        _write_report(report_path, summary, start)
    return summary


def _render(job: Job, work: WorkFolder, summary: RunSummary, start: float, callback: VideoCallback | None,
            report_path: PathLike | None) -> None:
    """Every frame of the job in order: reuse what is stored and still valid, stylise the rest."""
    processor, output, warmup = job.processor, job.output, set(job.warmup)
    total = len(job.source.numbers)
    last_report = start
    rendered_in_shot = False   # a frame of the current shot was rendered now: later stored ones are stale
    for done, frame in enumerate(job.source.frames()):
        src = processor.analyse(frame.pixels, frame.number)
        kept = frame.number not in warmup
        if src.shot_start:
            rendered_in_shot = False
            if kept:
                summary.shots.append(frame.number)
        stored = None if rendered_in_shot else work.stored(frame.number, src.key)
        if stored is not None:
            processor.prime(src, stored)
        else:
            def on_iteration(p: Progress, done=done, number=frame.number, shot=src.shot_start) -> None:
                if callback is not None:
                    callback(VideoProgress(done, total, number, shot, p, time.perf_counter() - start))

            out = processor.render(src, on_iteration)
            rendered_in_shot = True
            work.save(frame.number, src.key, out)
            if kept and not output.is_video:
                output.write_frame(frame.number, out)
            # Rewriting the report after every frame would cost O(frames^2)
            # on a long video: every 10 s is enough to follow a run.
            if report_path and time.perf_counter() - last_report > REPORT_EVERY_S:
                _write_report(report_path, summary, start)
                last_report = time.perf_counter()
        (summary.frames if kept else summary.warmup).append(processor.record)
        if callback is not None:
            callback(VideoProgress(done + 1, total, frame.number, src.shot_start, None, time.perf_counter() - start))
    summary.warnings += job.source.warnings
    if not summary.frames:
        raise InputError(f"{job.input_path} gave no frames")


def _deliver(job: Job, work: WorkFolder, summary: RunSummary) -> None:
    """Encode the video (with the source's sound, frames counted) or complete the sequence."""
    output, numbers = job.output, [r.number for r in summary.frames]
    if output.is_video:
        audio = job.source.audio_path
        # A range that starts later in the video takes its sound from there.
        offset = float(numbers[0] / job.source.fps) if audio and job.source.fps else 0.0
        media.encode_video(output.path, (work.load(n) for n in numbers), output.fps, codec=job.video.codec,
                           crf=job.video.crf, audio_from=audio, offset=offset)
        work.remove()
        return
    for record in summary.frames:   # finished by an earlier run but not yet written
        if record.resumed and not os.path.exists(output.frame_path(record.number)):
            output.write_frame(record.number, work.load(record.number))
    work.finish(job.source.stamp())


def _write_report(path: PathLike, summary: RunSummary, start: float) -> None:
    summary.seconds = time.perf_counter() - start
    images.write_bytes_atomic(os.fspath(path), json.dumps(summary.to_json(), indent=1).encode())


__all__ = ["FrameRecord", "RunSummary", "VideoProgress", "stylize_video"]
