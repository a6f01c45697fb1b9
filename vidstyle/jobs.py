"""What a run is, decided from its inputs: a still, a clip, or a clip on Ray; and running it.

The one place that decides, for every host: the CLI (``vidstyle IN STYLE``
takes a photo, a video, a folder or a sequence alike), the ComfyUI nodes (an
image is a still, a batch of frames a clip) and any script. ``kind_of``
decides; ``processor`` gives the per-frame processor a kind needs;
``stylize_frames`` runs frames through it; ``run`` runs a file job.
"""

from __future__ import annotations

import enum
import os
from dataclasses import dataclass, field
from typing import Callable, Iterator, Sequence

import numpy as np

from .errors import ConfigError
from .options import StyleOptions, VideoOptions
from .stylize import ImageLike, PathLike


class Kind(enum.Enum):
    STILL = "still"   # one image, optimised on its own
    CLIP = "clip"     # frames in order, each warm-started from the previous output
    RAY = "ray"       # a clip whose chunks run as Ray tasks


def kind_of(content: PathLike | np.ndarray | Sequence[np.ndarray], ray: str | None = None) -> Kind:
    """The kind of run ``content`` makes.

    A path: one image file is a STILL; a video, a folder of images or a
    sequence pattern (``shot.####.exr``) a CLIP, or RAY when ``ray`` (a Ray
    address: "local", "auto", "HOST:6379") is given. Frames in memory: one
    (H, W, C) image is a STILL; a batch (B, H, W, C) or a list of images is
    a CLIP. A still on Ray is refused (there is nothing to split).
    """
    from .sources import is_still_path

    if isinstance(content, (str, os.PathLike)):
        kind = Kind.STILL if is_still_path(os.fspath(content)) else Kind.CLIP
    else:
        shape = getattr(content, "shape", None)
        kind = Kind.STILL if shape is not None and len(shape) == 3 else Kind.CLIP
    if ray is not None:
        if kind is Kind.STILL:
            raise ConfigError("--ray renders a clip's chunks on a cluster; a still image has none: leave --ray out")
        return Kind.RAY
    return kind


def still_video_options() -> VideoOptions:
    """How a per-frame processor treats stills: every frame a shot of its own, no warm start, no cut detection."""
    return VideoOptions(warm_start="none", cuts="none")


def processor(kind: Kind, styles: ImageLike | Sequence[ImageLike], options: StyleOptions | None = None,
              video: VideoOptions | None = None):
    """The per-frame processor (``FrameStylizer``) for frames of ``kind`` (STILL ignores ``video``)."""
    from .temporal import FrameStylizer

    return FrameStylizer(styles, options, still_video_options() if kind is Kind.STILL else video)


def stylize_frames(kind: Kind, stylizer, frames, callback: Callable | None = None,
                   masks: Callable[[int], Sequence[np.ndarray] | None] | None = None) -> Iterator[np.ndarray]:
    """Each of ``frames`` ((H, W, 3) BGR) through ``stylizer`` in order; STILL frames each on their own.

    ``callback``: the processor's per-iteration callback (``Progress``);
    ``masks(i)``: the mattes of the i-th frame (one per style), or None.
    Yields each frame stylised (float32 BGR [0, 1]) as soon as it is done.
    """
    for i, frame in enumerate(frames):
        if kind is Kind.STILL:
            stylizer.reset()
        yield stylizer.process(frame, callback=callback, masks=None if masks is None else masks(i))


@dataclass
class Result:
    """What a file run made: its output, its kind, what a user must hear of, and the video run's summary."""

    output: str
    kind: Kind
    warnings: list[str] = field(default_factory=list)
    summary: object | None = None    # video.RunSummary for a clip, ray_backend.RayRun for Ray


def run(content: PathLike, styles: PathLike | Sequence[PathLike], output: PathLike | None,
        options: StyleOptions | None = None, video: VideoOptions | None = None, *, ray: str | None = None,
        chunk_size: int | None = None, retries: int | None = None, overwrite: bool = False,
        report: PathLike | None = None, image_callback: Callable | None = None,
        clip_callback: Callable | None = None) -> Result:
    """Stylise ``content`` (a still, a clip, or a clip on Ray: ``kind_of``) into ``output``.

    ``output`` None: ``CONTENT_stylized.png`` (a still) or ``.mp4`` (a video)
    beside the content; a folder or sequence needs one. ``image_callback``
    gets a ``Progress`` per iteration of a still; ``clip_callback`` a
    ``VideoProgress``. ``report``: a clip's JSON report (not with Ray: each
    chunk has its own).
    """
    from .options import DEFAULT_CHUNK_SIZE, DEFAULT_RETRIES

    kind = kind_of(content, ray)
    content = os.fspath(content)
    if output is None:
        stem, _ = os.path.splitext(content)
        if kind is Kind.STILL:
            output = f"{stem}_stylized.png"
        elif os.path.isdir(content) or not os.path.isfile(content):
            raise ConfigError("give -o: a video (OUT.mp4) or a sequence (OUT.####.png) for frames")
        else:
            output = f"{stem}_stylized.mp4"
    output = os.fspath(output)
    if kind is Kind.STILL:
        from .stylize import alpha_dropped, stylize_image_file

        made = stylize_image_file(content, styles, output, options, overwrite=overwrite, callback=image_callback,
                                  colorspace=None if video is None else video.colorspace,
                                  masks=() if video is None else video.masks)
        from . import images
        from .tiles import untiled_note

        dropped = alpha_dropped(content, made)
        said = [dropped] if dropped else []
        if options is not None and isinstance(options.tile, int) and options.tile > 0:   # the size, read only then
            said += [n for n in [untiled_note(options.tile, *images.read_image(made).pixels.shape[:2])] if n]
        return Result(made, kind, said)
    if kind is Kind.RAY:
        from .ray_backend import run_on_ray

        if report is not None:
            raise ConfigError("--report is per process: each chunk of a --ray run has its own; leave it out with "
                              "--ray")
        done = run_on_ray(content, styles, output, options, video, address=ray,
                          chunk_size=DEFAULT_CHUNK_SIZE if chunk_size is None else chunk_size,
                          retries=DEFAULT_RETRIES if retries is None else retries, overwrite=overwrite,
                          callback=clip_callback)
        return Result(done.output, kind, list(done.warnings), done)
    if chunk_size is not None or retries is not None:
        given = " and ".join(n for n, v in (("--chunk-size", chunk_size), ("--retries", retries)) if v is not None)
        raise ConfigError(f"{given} appl{'y' if ' and ' in given else 'ies'} to --ray runs: add --ray, or leave "
                          f"{'them' if ' and ' in given else 'it'} out")
    from .video import stylize_video

    summary = stylize_video(content, styles, output, options, video, overwrite=overwrite, callback=clip_callback,
                            report_path=report)
    return Result(summary.output, kind, list(summary.warnings), summary)


__all__ = ["Kind", "Result", "kind_of", "processor", "run", "still_video_options", "stylize_frames"]
