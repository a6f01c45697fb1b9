"""The per-frame processor: Gatys stylisation made temporally stable, one frame at a time.

``FrameStylizer`` is the whole temporal method and nothing else: a host (the
file runner, a farm chunk, a Ray task, ``vidstyle pipe``, a ComfyUI node)
feeds it frames in order and gets stylised frames back. It never touches a
file. What it does with each frame (Ruder, Dosovitskiy & Brox 2016, with
Gatys et al. 2016 as the engine):

* The first frame of a shot is fully optimised (the still-image path).
* A later frame starts from the previous OUTPUT warped into it by DIS optical
  flow computed on the SOURCE frames (``warm_start="flow"``), and a temporal
  loss holds it to that warped image where a forward-backward check says the
  flow is reliable. ``"previous"`` starts from the unwarped previous output
  with no temporal loss; ``"none"`` stylises every frame on its own.
* A scene cut (detected, given by number, or announced with ``reset()``)
  starts a new shot: nothing of the previous shot is used.

Each frame goes through two steps, which a pipelined host may run apart:
``analyse`` (everything that depends on source frames alone: the shot
decision, the resize to the output size, later the flows) and ``render``
(what needs the previous output: the warp and the optimisation).
``process`` does both.

Outputs are kept on the 16-bit grid (``images.as_stored``): a run resumed
from frames stored as 16-bit PNGs continues exactly as an uninterrupted one.
"""

from __future__ import annotations

import hashlib
import time
from dataclasses import dataclass
from typing import Callable, Sequence

import numpy as np

from . import images
from .engine import Progress, Stylizer
from .flow import FlowEstimator, reliability, warp
from .options import StyleOptions, VideoOptions
from .shots import ShotTracker
from .stylize import ImageLike, as_pixels, style_list


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
    resumed: bool = False             # finished earlier (a stored frame), not optimised now


@dataclass(frozen=True)
class SourceFrame:
    """One source frame as the method sees it: everything that depends on source frames alone.

    content: (h, w, 3) float32 BGR [0, 1] at the output size; previous: the
    previous frame's content when this one continues a shot, else None.
    """

    number: int
    content: np.ndarray
    shot_start: bool
    previous: np.ndarray | None

    @property
    def key(self) -> str:
        """Digest of what this frame's output is made from besides the previous output.

        The content at the output size and the shot decision: a plate replaced
        at the same path changes it, so a stored frame made from the old
        plate is never reused.
        """
        h = hashlib.blake2b(digest_size=8)
        h.update(np.ascontiguousarray(self.content).view(np.uint8))
        h.update(b"S" if self.shot_start else b"W")
        return h.hexdigest()


class FrameStylizer:
    """Stylise a clip frame by frame, warm-starting each frame from the previous output.

    ``styles``: style images (paths or arrays, as ``stylize_image`` takes
    them); ``options``/``video``: ``StyleOptions``/``VideoOptions`` (defaults:
    the standard preset). Feed frames in order to ``process``; each is an
    (H, W, 3) BGR array, float in [0, 1], uint8 or uint16. It returns the
    stylised frame at the size ``options.size`` gives (float32 BGR [0, 1]);
    ``record`` then describes it (a ``FrameRecord``). Cuts are detected
    (``video.cuts``); ``reset()`` says the next frame starts a shot;
    ``prime()`` continues from a frame stylised earlier (a resumed run).
    """

    def __init__(self, styles: ImageLike | Sequence[ImageLike], options: StyleOptions | None = None,
                 video: VideoOptions | None = None):
        self.options = options or StyleOptions()
        self.video = video or VideoOptions()
        self.engine = Stylizer(style_list(styles), self.options)
        self.shots = ShotTracker.for_video(self.video)
        self.flow = FlowEstimator()
        self.record: FrameRecord | None = None
        self._prev_content: np.ndarray | None = None
        self._prev_output: np.ndarray | None = None
        self._count = 0
        self._checked: set[tuple[int, ...]] = set()

    def reset(self) -> None:
        """The next frame starts a new shot: nothing of the current one is used for it."""
        self.shots.reset()

    def output_size(self, height: int, width: int) -> tuple[int, int]:
        """(H, W) of the output for a frame of (height, width); refuses sizes the network cannot take."""
        size = images.output_size(height, width, self.options.size)
        if (height, width) not in self._checked:
            self.engine.check_size(*size, native=(height, width))
            self._checked.add((height, width))
        return size

    def analyse(self, frame: ImageLike, number: int | None = None) -> SourceFrame:
        """The source-only step for the next frame, in order: shot decision and resize.

        ``number``: the frame's number (sequences keep theirs; a jump starts a
        shot); None numbers frames on from the previous one.
        """
        pixels = as_pixels(frame, "frame")
        if number is None:
            number = self._count
        self._count = number + 1
        start = self.shots.starts_shot(pixels, number)
        content = images.resize(pixels, self.output_size(*pixels.shape[:2]))
        previous = None if start else self._prev_content
        self._prev_content = content
        return SourceFrame(number, content, start, previous)

    def render(self, src: SourceFrame, callback: Callable[[Progress], None] | None = None) -> np.ndarray:
        """Stylise an analysed frame, warm-started from the previous output; returns (h, w, 3) float32."""
        t0 = time.perf_counter()
        seen: list[Progress] = []

        def on_iteration(p: Progress) -> None:
            seen.append(p)
            if callback is not None:
                callback(p)

        video, engine = self.video, self.engine
        fraction = None
        prev_out = self._prev_output
        if src.previous is None or video.warm_start == "none" or prev_out is None:
            out = engine.stylize(src.content, callback=on_iteration)
        elif video.warm_start == "previous":
            out = engine.stylize(src.content, init=prev_out, iterations=video.warm_iterations, scales=1,
                                 callback=on_iteration)
        else:
            backward = self.flow(src.content, src.previous)
            forward = self.flow(src.previous, src.content)
            warped, _ = warp(prev_out, backward, fill=src.content)
            mask = reliability(backward, forward)
            fraction = float(mask.mean())
            out = engine.stylize(src.content, init=warped, iterations=video.warm_iterations, scales=1,
                                 temporal=(warped, mask, video.temporal_weight), callback=on_iteration)
        out = images.as_stored(out)
        self._prev_output = out
        last = seen[-1]
        losses = (last.loss, last.content_loss, last.style_loss, last.tv_loss, last.temporal_loss)
        self.record = FrameRecord(src.number, round(time.perf_counter() - t0, 4), len(seen), src.shot_start,
                                  fraction, *(round(v, 6) for v in losses))
        return out

    def prime(self, src: SourceFrame, output: ImageLike) -> None:
        """Continue from ``output``, the frame ``src`` stylised earlier (read back from storage)."""
        self._prev_output = images.as_stored(as_pixels(output, "stored frame"))
        self.record = FrameRecord(src.number, 0.0, 0, src.shot_start, None, 0, 0, 0, 0, 0, resumed=True)

    def process(self, frame: ImageLike, number: int | None = None,
                callback: Callable[[Progress], None] | None = None) -> np.ndarray:
        """``render(analyse(frame, number))``: the next frame, stylised."""
        return self.render(self.analyse(frame, number), callback)


__all__ = ["FrameRecord", "FrameStylizer", "SourceFrame"]
