"""Running the chunks of a plan as Ray tasks, on this machine or an existing Ray cluster.

No scheduler of our own: Ray places the tasks, gives each
a GPU (``num_gpus=1``) when the cluster has GPUs, else one CPU, retries a
chunk whose worker died or raised, and we only watch. Each task runs an
ordinary chunk, ``stylize_video(..., frames=chunk)``, which writes its own
frames of a sequence, resumes from its own work folder, and does nothing
when its frames are already done: so a retried or rerun chunk never
duplicates or loses a frame, and a failed run is finished by running the
same command again.

For a video output the chunks render into a hidden sequence beside it
(``.NAME.frames/``), assembled with the source's fps and sound at the end.
Workers need vidstyle installed and the input, styles and output folder at
the same paths (a shared filesystem); the README says how.
"""

from __future__ import annotations

import os
import shutil
import time
from dataclasses import dataclass, field
from typing import Callable, Sequence

from . import chunks as chunking
from .assemble import assemble
from .errors import ChunkFailed, ConfigError, InputError, OutputError
from .options import DEFAULT_CHUNK_SIZE, DEFAULT_RETRIES, StyleOptions, VideoOptions, whole_number
from .outputs import Output, check_video_path
from .paths import check_writes
from .sequences import is_sequence_pattern
from .sources import open_source
from .stylize import as_path_list, init_path
from .video import VideoProgress, stylize_video

POLL_S = 0.5
INSTALL_HINT = "pip install 'vidstyle[ray]'"


@dataclass
class RayRun:
    output: str
    plan: chunking.Plan
    results: dict[int, object] = field(default_factory=dict)   # chunk index -> what its task returned
    seconds: float = 0.0
    warnings: list[str] = field(default_factory=list)


def render_chunk(input_path: str, styles: Sequence[str], pattern: str, options: StyleOptions,
                 video: VideoOptions, frames: Sequence[int], overwrite: bool = False) -> int:
    """One chunk, as a Ray task runs it: the frames ``frames`` into the sequence ``pattern``.

    Returns the number of frames kept. The same as ``vidstyle INPUT STYLE -o
    PATTERN --frames FIRST-LAST``.
    """
    summary = stylize_video(input_path, list(styles), pattern, options, video.replace(frames=tuple(frames)),
                            overwrite=overwrite)
    return len(summary.frames)


def _run_task(runner: Callable[..., int], threads: int, *args):
    """What a Ray worker runs: ``runner(*args)`` with ``threads`` torch threads (0: torch's default).

    A CPU task holds one CPU of the cluster, so it must not spread over more.
    """
    if threads:
        import torch
        torch.set_num_threads(threads)
    return runner(*args)


def check_cluster_options(chunk_size: int, retries: int, warmup: int = 0) -> None:
    """Refuse a chunk size below 1, negative retries or warm-up (before Ray is even imported)."""
    chunking.check_chunking(chunk_size, warmup)
    whole_number("retries", retries, 0)


def _import_ray():
    try:
        import ray
    except ImportError:
        raise ConfigError(f"--ray needs Ray, which is not installed: {INSTALL_HINT}") from None
    return ray


def frames_pattern(output_path: str, source) -> tuple[str, str | None]:
    """(sequence the chunks write, hidden folder to remove afterwards or None)."""
    if is_sequence_pattern(output_path):
        return output_path, None
    folder, name = os.path.split(os.path.abspath(output_path))
    hidden = os.path.join(folder, f".{name}.frames")
    digits = max(4, len(str(max(source.numbers))))
    return os.path.join(hidden, f"frame.{'#' * digits}.png"), hidden


def run_on_ray(input_path: str, styles: str | Sequence[str], output_path: str,
               options: StyleOptions | None = None, video: VideoOptions | None = None, *,
               address: str | None = None, chunk_size: int = DEFAULT_CHUNK_SIZE,
               retries: int = DEFAULT_RETRIES, overwrite: bool = False,
               callback: Callable[[VideoProgress], None] | None = None,
               chunk_runner: Callable[..., int] = render_chunk) -> RayRun:
    """Plan ``input_path`` into chunks, render them as Ray tasks, assemble a video output.

    ``address``: None or "local" starts Ray on this machine (or uses the one
    this process already started); "auto" joins the cluster this machine
    belongs to; "ray://HOST:10001" or "HOST:6379" joins that cluster.
    ``retries``: further tries of a failed chunk. ``callback`` gets a
    VideoProgress (frames done / total) about twice a second.
    ``chunk_runner``: what a task runs (``render_chunk``), replaceable for
    tests that kill workers.
    """
    check_cluster_options(chunk_size, retries, (video or VideoOptions()).warmup)
    ray = _import_ray()
    started = time.perf_counter()
    options = options or StyleOptions()
    video = video or VideoOptions()
    style_paths = as_path_list(styles)
    for path in style_paths:
        if not os.path.isfile(path):
            raise InputError(f"style image not found: {path}")
    output_path = os.fspath(output_path)
    source = open_source(input_path)
    pattern, hidden = frames_pattern(output_path, source)
    if hidden is not None:
        check_video_path(output_path, video.codec)
        check_writes([("output", output_path)], [input_path, *style_paths, options.weights, init_path(options)],
                     source.owns, folders=[("frames folder", hidden)])
        if os.path.exists(output_path) and not overwrite:
            raise OutputError(f"output {output_path} exists: pass --overwrite to replace")
        if source.fps is None and video.fps is None:
            raise ConfigError("the input has no frame rate: give --fps (e.g. 24 or 30000/1001)")
        os.makedirs(hidden, exist_ok=True)
    plan = chunking.plan(input_path, chunk_size, video)
    run = RayRun(output=output_path, plan=plan)

    if not ray.is_initialized():
        local = address in (None, "local")
        ray.init(address=None if local else address, include_dashboard=False, log_to_driver=False,
                 logging_level="ERROR", configure_logging=True)
    gpu = ray.cluster_resources().get("GPU", 0) >= 1
    task = ray.remote(_run_task).options(
        num_gpus=1 if gpu else 0, num_cpus=0 if gpu else 1,
        max_retries=retries, retry_exceptions=True)
    pending = {}
    for chunk in plan.chunks:
        frames = [n for n in plan.numbers if chunk.first <= n <= chunk.last]
        ref = task.remote(chunk_runner, 0 if gpu else 1, input_path, style_paths, pattern, options, video,
                          frames, overwrite)
        pending[ref] = chunk
    out = Output(pattern, padding=source.padding)
    names = [os.path.basename(out.frame_path(n)) for n in plan.numbers]
    total = len(plan.numbers)
    try:
        while pending:
            ready, _ = ray.wait(list(pending), num_returns=1, timeout=POLL_S)
            for ref in ready:
                chunk = pending.pop(ref)
                try:
                    run.results[chunk.index] = ray.get(ref)
                except ray.exceptions.RayError as exc:
                    raise ChunkFailed(f"chunk {chunk.frames} failed {retries + 1} times: {_cause(exc)}; "
                                      f"its finished frames and those of other chunks are kept: run the same "
                                      f"command again to finish") from None
            if callback is not None:
                # One directory listing per poll, not one stat per frame of the film.
                on_disk = set(os.listdir(out.folder))
                done = sum(1 for name in names if name in on_disk)
                callback(VideoProgress(done, total, plan.numbers[min(done, total - 1)], False, None,
                                       time.perf_counter() - started))
    except BaseException:
        for ref in pending:
            ray.cancel(ref, force=True)
        raise
    if hidden is not None:
        # A video source gives its own frame times (a variable frame rate is kept) and its sound.
        made = assemble(pattern, output_path, audio_from=input_path if source.is_video else None,
                        fps=video.fps if source.is_video else (video.fps or source.fps), codec=video.codec,
                        crf=video.crf, frames=plan.numbers, overwrite=overwrite)
        run.warnings += made.warnings
        shutil.rmtree(hidden, ignore_errors=True)
    run.seconds = time.perf_counter() - started
    return run


def _cause(exc: BaseException) -> str:
    """The last line of what went wrong inside a task, without Ray's wrapping."""
    cause = getattr(exc, "cause", None)
    if isinstance(cause, BaseException):
        return f"{type(cause).__name__}: {cause}"
    text = str(exc).strip().splitlines()
    return text[-1] if text else type(exc).__name__


__all__ = ["ChunkFailed", "RayRun", "render_chunk", "run_on_ray"]
