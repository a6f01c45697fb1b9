"""The file runner: a video, a folder or a sequence in, a video or a sequence out; streaming and resumable.

It only drives: ``preflight.prepare`` checks everything first, the work
folder (resume.py) holds the lock and decides fresh / resume / done, the
per-frame processor (temporal.py) stylises, and each frame is written as it
finishes (a sequence) or fed to the encoder, which adds the source's sound
at the end (a video, media.py).

Nothing serial around the optimiser: a reader thread decodes and analyses
frames ahead (cut detection, resize, both optical flows and the reliability
mask in a flow worker pool: everything that needs source frames only), and a
writer thread stores, writes and encodes behind; bounded queues keep memory
flat. Between two frames' optimisations only the warp of the previous output
is left (``FrameRecord.stages`` and ``t_optimise_*`` show it;
benchmarks/throughput.py measures it).

Resume: each finished frame is stored (16-bit, with the key of the source
frame it was made from). A rerun of the same command reuses a stored frame
only while nothing before it in its shot was rendered again and its source
frame is unchanged; so an interrupted run ends with the frames of an
uninterrupted one, and a plate replaced in between is rendered again from
the first changed frame to the end of its shot.
"""

from __future__ import annotations

import dataclasses
import functools
import itertools
import json
import os
import queue
import threading
import time
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from typing import Callable, Sequence

from . import images, mattes, media
from .errors import InputError
from .lbfgs import Memory
from .options import MEMORY_CHECKPOINT_EVERY, StyleOptions, VideoOptions
from .preflight import Job, prepare
from .resume import Decision, WorkFolder
from .schedule import Progress
from .stylize import PathLike
from .temporal import FrameRecord
from .warmstart import Carry

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
        track = "" if job.processor.track is None else job.processor.track.fingerprint()
        decision = work.decide(job.fingerprint, job.source, overwrite, track)
        if decision is Decision.DONE:
            summary.frames = [FrameRecord.stored(n) for n in job.keep]
            return summary
        work.start(job.fingerprint, {"input": job.input_path, "output": job.output.path,
                                     "styles": job.style_paths, "frames": os.path.basename(work.root),
                                     "warmup": job.warmup, "track": track})
        def new_encoder() -> media.Encoder | None:
            # A video is encoded as frames finish; a sequence is written frame by frame.
            return media.Encoder(job.output.path, job.timing, codec=video.codec, crf=video.crf) \
                if job.output.is_video else None

        encoder = new_encoder()
        try:
            while True:
                try:
                    _render(job, work, summary, start, callback, report_path, encoder)
                    break
                except _Rewind as rewind:
                    # Frames after the last memory checkpoint are rendered again (the same bytes
                    # come out); everything before it is reused.
                    work.discard_from(rewind.number)
                    job.processor.analyser.restart()
                    summary = RunSummary(output=summary.output, fps=summary.fps)
                    if encoder is not None:
                        encoder.abort()
                    encoder = new_encoder()
            _deliver(job, work, encoder)
        finally:
            if encoder is not None:
                encoder.abort()
    summary.seconds = time.perf_counter() - start
    if report_path:
        _write_report(report_path, summary, start)
    return summary


# Frames in flight on each side of the optimiser: enough to hide a slow decode or write behind
# it, few enough that memory stays flat however long the clip.
QUEUE_FRAMES = 2


def flow_workers(device) -> int:
    """Threads computing the flows of upcoming frames.

    One on a CPU run: the optimiser already keeps every core busy, more would
    only take turns with it. With a GPU the CPU is idle, and two DIS flows at
    1080p (~0.4 s) take longer than a warm frame's GPU work: up to 4 frames
    side by side.
    """
    if device.type == "cpu":
        return 1
    return max(1, min(4, (os.cpu_count() or 2) // 4))


_END, _ABORT = object(), object()   # a queue's last item: the run ended / the run stopped


class _Rewind(Exception):
    """Go back: frames from ``number`` on must be rendered again to go on exactly (see _render)."""

    def __init__(self, number: int):
        super().__init__(number)
        self.number = number


class _Stage(threading.Thread):
    """A background thread whose failure reaches the thread that drives the run."""

    def __init__(self, name: str, work: Callable[[], None]):
        super().__init__(name=f"vidstyle-{name}", daemon=True)
        self._work, self.error = work, None

    def run(self) -> None:
        try:
            self._work()
        except BaseException as exc:   # handed to the driving thread, which raises it
            self.error = exc


def _put(q: queue.Queue, item, stage: _Stage | None = None, stop: threading.Event | None = None) -> bool:
    """Put into a bounded queue without hanging when the other side has died or the run is stopping."""
    while True:
        try:
            q.put(item, timeout=0.1)
            return True
        except queue.Full:
            if stop is not None and stop.is_set():
                return False
            if stage is not None and not stage.is_alive():
                raise stage.error or InputError("a background stage of the run stopped")


def _state(memory: Memory | None) -> dict | None:
    """The checkpoint of ``memory`` (``Memory.to_state``), or None without one."""
    return None if memory is None else memory.to_state()


def _render(job: Job, work: WorkFolder, summary: RunSummary, start: float, callback: VideoCallback | None,
            report_path: PathLike | None, encoder: media.Encoder | None) -> None:
    """Every frame of the job in order: reuse what is stored and still valid, stylise the rest.

    Three stages, so nothing serial sits around the optimiser: a reader
    thread decodes and analyses ahead (cut detection, resize, both optical
    flows, the reliability mask: everything that needs source frames only),
    this thread warps the previous output and optimises, and a writer thread
    stores each result, writes it out or feeds it to the encoder. A video is
    encoded while the frames are rendered, so nothing is left for the end
    but the sound and the frame count.
    """
    processor, warmup = job.processor, set(job.warmup)
    analyser, renderer = processor.analyser, processor.renderer   # the reader's half, this thread's half
    processor.start_clock(start)
    total = len(job.source.numbers)
    stop = threading.Event()
    analysed: queue.Queue = queue.Queue(QUEUE_FRAMES)
    finished: queue.Queue = queue.Queue(QUEUE_FRAMES)

    flows = ThreadPoolExecutor(flow_workers(processor.engine.device), thread_name_prefix="vidstyle-flow")

    def read() -> None:
        frames = iter(job.source.frames())
        matted = None if job.mattes is None else job.mattes.frames(job.source.numbers)
        while not stop.is_set():
            t0 = time.perf_counter()
            frame = next(frames, None)
            masks = None if frame is None or matted is None else next(matted)
            decode = time.perf_counter() - t0
            if frame is None:
                break
            src = analyser.analyse(frame.pixels, frame.number, flows=False, masks=masks)
            src.stages["decode"] = decode
            # A frame stored by an earlier run is likely reused: its flows would be wasted.
            pending = None if work.has(frame.number) else flows.submit(analyser.compute_flows, src)
            if not _put(analysed, (src, pending, frame), stop=stop):
                return
        _put(analysed, _END, stop=stop)

    reader = _Stage("reader", read)
    writer = _Stage("writer", functools.partial(_write, job, work, finished, encoder))
    reader.start()
    writer.start()
    last_report = start
    rendered_in_shot = False   # a frame of the current shot was rendered now: later stored ones are stale
    shot_first = None          # the number of the current shot's first frame
    carry: Carry | None = None   # what the last frame left for the next (its output, the optimiser's memory)
    handed = None              # (frame, memory after it) last handed to the writer, for a checkpoint on a stop
    try:
        for done in itertools.count():
            item = _get(analysed, reader)
            if item is _END:
                break
            src, pending, frame = item
            if pending is not None:
                pending.result()   # computed while earlier frames were optimised
            if writer.error is not None:
                raise writer.error
            kept = src.number not in warmup
            if src.shot_start:
                rendered_in_shot, shot_first = False, src.number
                if kept:
                    summary.shots.append(src.number)
            stored = None if rendered_in_shot else work.stored(src.number, src.key)
            if stored is not None:
                out, record = stored, FrameRecord.stored(src.number, src.shot_start, src.stages)
                carry = Carry(stored, work.load_memory(src.number, src.key))
            else:
                if renderer.needs_memory(src, carry):
                    # The frames before were stored but not the optimiser's memory the last one left
                    # (the run was killed): go back to the last checkpoint, or to the shot's start.
                    last = work.last_checkpoint(before=src.number, since=shot_first)
                    raise _Rewind(shot_first if last is None else last + 1)
                def on_iteration(p: Progress, done=done, number=src.number, shot=src.shot_start) -> None:
                    if callback is not None:
                        callback(VideoProgress(done, total, number, shot, p, time.perf_counter() - start))

                made = renderer.render(src, carry, on_iteration)
                out, record, carry = made.frame, made.record, made.carry
                rendered_in_shot = True
            (summary.frames if kept else summary.warmup).append(record)
            checkpoint = stored is None and (src.shot_start or src.number % MEMORY_CHECKPOINT_EVERY == 0)
            # The checkpoint's tensors are gathered here, on the rendering thread (WorkFolder.save_memory).
            _put(finished, (src, out, frame, stored is None, kept, record.stages,
                            _state(carry.memory) if checkpoint else None), writer)
            if stored is None:
                handed = (src, carry.memory)
            if report_path and time.perf_counter() - last_report > REPORT_EVERY_S:
                # Rewriting the report after every frame would cost O(frames^2) on a long video.
                _write_report(report_path, summary, start)
                last_report = time.perf_counter()
            if callback is not None:
                callback(VideoProgress(done + 1, total, src.number, src.shot_start, None,
                                       time.perf_counter() - start))
        _put(finished, _END, writer)
        writer.join()
    except _Rewind:
        stop.set()
        if writer.is_alive():
            _put(finished, _ABORT, writer)
            writer.join()
        raise
    except BaseException:
        # Frames already handed over are still stored (nothing lost), then the writer stops; the
        # memory after the last of them is kept, so the same command goes on exactly from there.
        stop.set()
        try:
            if writer.is_alive():
                _put(finished, _ABORT, writer)
                writer.join()
            if handed is not None and writer.error is None:
                work.save_memory(handed[0].number, handed[0].key, _state(handed[1]))
        except BaseException:   # the writer failed too: the first error is the one to report
            pass
        raise
    finally:
        # Wait for the reader and the flow workers to finish what they hold (a frame's decode, a
        # flow: fractions of a second): a thread still inside OpenCV when the interpreter exits can
        # abort the process (a double Ctrl-C used to end in exit 134).
        stop.set()
        reader.join()
        flows.shutdown(wait=True, cancel_futures=True)
    if writer.error is not None:
        raise writer.error
    summary.warnings += job.source.warnings
    if not summary.frames:
        raise InputError(f"{job.input_path} gave no frames")


def _get(q: queue.Queue, stage: _Stage):
    """The next item from a stage's queue; its failure, raised here, if it died."""
    while True:
        try:
            return q.get(timeout=0.1)
        except queue.Empty:
            if not stage.is_alive():
                try:
                    return q.get_nowait()
                except queue.Empty:
                    raise stage.error or InputError("a background stage of the run stopped") from None


def _write(job: Job, work: WorkFolder, finished: queue.Queue, encoder: media.Encoder | None) -> None:
    """The writer thread: store each finished frame, then write it (a sequence) or encode it (a video)."""
    output = job.output
    while True:
        item = finished.get()
        if item is _END or item is _ABORT:
            return
        src, pixels, frame, new, kept, stages, state = item
        t0 = time.perf_counter()
        if new:
            work.save(src.number, src.key, pixels)
            work.save_memory(src.number, src.key, state)
        t1 = time.perf_counter()
        stages["store"] = t1 - t0
        if kept and src.coverage is not None:
            pixels = mattes.composite(pixels, src.content, src.coverage)   # the plate where no matte reaches
        if kept and encoder is not None:
            encoder.write(output.video_values(pixels), images.resize_alpha(frame.alpha, pixels.shape[:2]))
        elif kept and (new or not os.path.exists(output.frame_path(src.number))):
            keep = None
            if src.coverage is not None and output.exr == job.source.is_exr and frame.values is not None \
                    and frame.values.shape[:2] == pixels.shape[:2]:
                keep = (frame.values, src.coverage == 0)   # bit for bit there (an EXR's through OCIO is not)
            output.write_frame(src.number, pixels, frame.alpha, keep)
        stages["write"] = time.perf_counter() - t1 if kept else 0.0


def _deliver(job: Job, work: WorkFolder, encoder: media.Encoder | None) -> None:
    """Finish the video (sound, frame count, name) and drop the work folder; or mark the sequence complete."""
    if encoder is None:
        work.finish(job.source.stamp())
        return
    encoder.finish(job.source.audio_path)   # the sound where job.timing puts it
    work.remove()


def _write_report(path: PathLike, summary: RunSummary, start: float) -> None:
    summary.seconds = time.perf_counter() - start
    images.write_bytes_atomic(os.fspath(path), json.dumps(summary.to_json(), indent=1).encode())


__all__ = ["FrameRecord", "RunSummary", "VideoProgress", "stylize_video"]
