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
from dataclasses import dataclass, field
from typing import Callable, Sequence

import numpy as np
import torch

from . import images
from .engine import Progress, Stylizer, memory_to
from .errors import InputError
from .flow import FlowEstimator, reliability, warp, warp_tensor
from .grad import autograd_on
from .options import (MEMORY_PAIRS, TEMPORAL_LOWPASS_PX, WARM_MIN_ITERATIONS, WARM_PATIENCE, WARM_PLATEAU,
                      StyleOptions, VideoOptions)
from .shots import ShotTracker
from .stylize import ImageLike, as_pixels, style_list

# Where a frame's time goes (``FrameRecord.stages``), in seconds: decoding it, the two optical flows,
# the reliability mask, warping the previous output, the optimisation, storing the result in the
# work folder, writing it out. 0 where a stage did not run (a shot's first frame has no flow).
STAGES = ("decode", "flow", "mask", "warp", "optimise", "store", "write")


def no_stages() -> dict[str, float]:
    return dict.fromkeys(STAGES, 0.0)


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
    t_optimise_start: float | None = None   # when its optimisation began and ended, seconds on the
    t_optimise_end: float | None = None     # processor's clock (since the run started, for a file run)
    stages: dict[str, float] = field(default_factory=no_stages)   # seconds per stage (STAGES)


@dataclass
class SourceFrame:
    """One source frame as the method sees it: everything that depends on source frames alone.

    content: (h, w, 3) float32 BGR [0, 1] at the output size; previous: the
    previous frame's content when this one continues a shot, else None;
    backward (t -> t-1) and forward (t-1 -> t) flows, (h, w, 2), and Ruder's
    reliability mask, (h, w), when computed (``analyse(flows=True)``, or
    ``render`` on demand); stages: seconds spent so far (see STAGES).
    """

    number: int
    content: np.ndarray
    shot_start: bool
    previous: np.ndarray | None
    backward: np.ndarray | None = None
    forward: np.ndarray | None = None
    mask: np.ndarray | None = None
    stages: dict[str, float] = field(default_factory=no_stages)
    key: str = field(init=False)

    def __post_init__(self) -> None:
        # The digest of what this frame's output is made from besides the previous output: the
        # content at the output size and the shot decision. A plate replaced at the same path
        # changes it, so a stored frame made from the old plate is never reused. Made here, with
        # the rest of the source-only work, not between two optimisations.
        h = hashlib.blake2b(digest_size=8)
        h.update(np.ascontiguousarray(self.content).view(np.uint8))
        h.update(b"S" if self.shot_start else b"W")
        self.key = h.hexdigest()


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
        self._memory: dict | None = None       # L-BFGS memory the next warm frame goes on from
        self._memory_lost = False               # primed from storage without the memory it had
        self._count = 0
        self._checked: set[tuple[int, ...]] = set()
        self._origin = time.perf_counter()

    def reset(self) -> None:
        """The next frame starts a new shot: nothing of the current one is used for it."""
        self.shots.reset()

    def restart(self) -> None:
        """Forget the clip fed so far (shots, previous frames, memory): the next frame is fed as the first."""
        self.shots = ShotTracker.for_video(self.video)
        self._prev_content = self._prev_output = self._memory = None
        self._memory_lost = False
        self._count = 0
        self.record = None

    def output_size(self, height: int, width: int) -> tuple[int, int]:
        """(H, W) of the output for a frame of (height, width); refuses sizes the network cannot take."""
        size = images.output_size(height, width, self.options.size)
        if (height, width) not in self._checked:
            self.engine.check_size(*size, native=(height, width))
            self._checked.add((height, width))
        return size

    def start_clock(self, origin: float | None = None) -> None:
        """Measure records' ``t_optimise_*`` from ``origin`` (a ``time.perf_counter()``; now by default)."""
        self._origin = time.perf_counter() if origin is None else origin

    def analyse(self, frame: ImageLike, number: int | None = None, *, flows: bool = True) -> SourceFrame:
        """The source-only step for the next frame, in order: shot decision, resize, flows and mask.

        ``number``: the frame's number (sequences keep theirs; a jump starts a
        shot); None numbers frames on from the previous one. ``flows=False``
        leaves the flows to ``compute_flows`` or ``render`` (a host that
        expects to reuse a stored output for this frame, or computes flows in
        other threads). Needs nothing of the previous output, so a host may
        run it ahead, in another thread, while ``render`` works on an earlier
        frame.
        """
        pixels = as_pixels(frame, "frame")
        size = self.output_size(*pixels.shape[:2])
        if self._prev_content is not None and self._prev_content.shape[:2] != size and not self.shots.reset_pending:
            # Refused before anything changes: the processor goes on with the next frame of the clip's size.
            raise InputError(f"frame {self._count if number is None else number} is {pixels.shape[1]}x"
                             f"{pixels.shape[0]} px, which stylises at {size[1]}x{size[0]}, but the clip's frames "
                             f"stylise at {self._prev_content.shape[1]}x{self._prev_content.shape[0]}: every frame "
                             f"of a clip must have one size (call reset() before a clip of another size)")
        if number is None:
            number = self._count
        self._count = number + 1
        start = self.shots.starts_shot(pixels, number)
        content = images.resize(pixels, size)
        previous = None if start else self._prev_content
        self._prev_content = content
        src = SourceFrame(number, content, start, previous)
        if flows:
            self.compute_flows(src)
        return src

    def compute_flows(self, src: SourceFrame) -> None:
        """Both flows and the mask of an analysed frame, when its warm start uses them and they are not there yet.

        Source frames only: safe to run for several frames at once in other
        threads (each frame's own data; the flow estimator is thread-safe).
        """
        if src.previous is None or self.video.warm_start != "flow" or src.mask is not None:
            return
        t0 = time.perf_counter()
        src.backward = self.flow(src.content, src.previous)
        src.forward = self.flow(src.previous, src.content)
        t1 = time.perf_counter()
        src.mask = reliability(src.backward, src.forward)
        src.stages["flow"] += t1 - t0
        src.stages["mask"] += time.perf_counter() - t1

    def _warm(self, src: SourceFrame) -> bool:
        """Whether ``src`` is warm-started (not a shot's first frame, warm starts on, an output to start from)."""
        return src.previous is not None and self.video.warm_start != "none" and self._prev_output is not None

    @autograd_on
    def render(self, src: SourceFrame, callback: Callable[[Progress], None] | None = None) -> np.ndarray:
        """Stylise an analysed frame, warm-started from the previous output; returns (h, w, 3) float32.

        A shot's first frame is optimised in full. A warm frame (Ruder 2016,
        with our departures) starts from the previous output warped along the
        flow and is held to it by the temporal loss where the flow is
        reliable; departures, each measured (options.py, DEVELOPING.md):

        * its L-BFGS goes on from the previous frame's memory instead of
          restarting, whose first step is a tiny steepest-descent one that
          bf16 noise swamps; with it, new content gets painted in the few
          iterations a warm frame has (the bunny leaving its burrow: 0.85x
          an independent frame's fine detail without, 1.0x with);
        * it stops once its loss settles (``WARM_PLATEAU``), between
          ``WARM_MIN_ITERATIONS`` and ``video.warm_iterations`` (never early
          when ``options.tolerance`` is 0);
        * the temporal loss holds the warped image low-passed, so the finest
          strokes, which every warp softens a little, are repainted by the
          style loss rather than pinned.

        Between two frames' optimisations only this frame's warp is left to
        do here when ``analyse`` already made the flows.
        """
        seen: list[Progress] = []

        def on_iteration(p: Progress) -> None:
            seen.append(p)
            if callback is not None:
                callback(p)

        video, engine, stages = self.video, self.engine, src.stages
        fraction = None
        run: dict = {}
        if self._warm(src):
            # Early stopping off (tolerance 0) means off for warm frames too.
            plateau = WARM_PLATEAU if self.options.tolerance > 0 else 0.0
            run = dict(iterations=video.warm_iterations, scales=1, memory=self._memory, tolerance=plateau,
                       patience=WARM_PATIENCE, min_iterations=WARM_MIN_ITERATIONS, init=self._prev_output)
            if video.warm_start == "flow":
                self.compute_flows(src)
                t0 = time.perf_counter()
                warped = self._warp(self._prev_output, src)
                stages["warp"] = time.perf_counter() - t0
                fraction = float(src.mask.mean())
                run.update(init=warped, temporal=(warped, src.mask, video.temporal_weight, TEMPORAL_LOWPASS_PX))
        t_start = time.perf_counter()
        out = engine.stylize(src.content, callback=on_iteration, **run)
        t_end = time.perf_counter()
        stages["optimise"] = t_end - t_start
        self._memory = _recent(engine.memory) if video.warm_start != "none" else None
        self._memory_lost = False
        out = images.as_stored(out)
        self._prev_output = out
        last = seen[-1]
        losses = (last.loss, last.content_loss, last.style_loss, last.tv_loss, last.temporal_loss)
        self.record = FrameRecord(src.number, round(stages["flow"] + stages["mask"] + stages["warp"]
                                                    + stages["optimise"], 4),
                                  len(seen), src.shot_start, fraction, *(round(v, 6) for v in losses),
                                  t_optimise_start=round(t_start - self._origin, 4),
                                  t_optimise_end=round(t_end - self._origin, 4), stages=stages)
        return out

    def _warp(self, prev_out: np.ndarray, src: SourceFrame) -> np.ndarray | torch.Tensor:
        """The previous output warped into this frame: OpenCV on the CPU, grid_sample on a GPU (no round trip)."""
        device = self.engine.device
        if device.type == "cpu":
            return warp(prev_out, src.backward, fill=src.content)[0]
        return warp_tensor(images.to_tensor(prev_out, device), src.backward, images.to_tensor(src.content, device))

    # -- resuming ------------------------------------------------------------------------------

    @property
    def memory(self) -> dict | None:
        """The L-BFGS memory the next warm frame goes on from (None: it would start afresh).

        A dict of tensors: keep it with the last output to resume exactly
        (``prime(src, output, memory)``); the file runner checkpoints it.
        """
        return self._memory

    def needs_memory(self, src: SourceFrame) -> bool:
        """True when rendering ``src`` now would start afresh where an unbroken run would go on.

        That is a warm frame after ``prime()`` without memory: its bytes would
        differ from an uninterrupted run's (the file runner goes back to a
        checkpoint instead).
        """
        return self._warm(src) and self._memory_lost

    @autograd_on
    def prime(self, src: SourceFrame, output: ImageLike, memory: dict | None = None) -> None:
        """Continue from ``output``, the frame ``src`` stylised earlier (read back from storage).

        ``memory``: the ``memory`` that frame left, when it was kept; without
        it the next warm frame's L-BFGS starts afresh.
        """
        self._prev_output = images.as_stored(as_pixels(output, "stored frame"))
        self._memory = None if memory is None else memory_to(memory, self.engine.device)
        # A frame stored without its memory: the next warm frame would not go on as an unbroken run
        # does (unless that run had none: a flat objective leaves no curvature to keep).
        self._memory_lost = memory is None and self.options.optimizer == "lbfgs"
        self.record = FrameRecord(src.number, 0.0, 0, src.shot_start, None, 0, 0, 0, 0, 0, resumed=True,
                                  stages=src.stages)

    def process(self, frame: ImageLike, number: int | None = None,
                callback: Callable[[Progress], None] | None = None) -> np.ndarray:
        """``render(analyse(frame, number))``: the next frame, stylised."""
        return self.render(self.analyse(frame, number), callback)


def _recent(memory: dict | None) -> dict | None:
    """The last MEMORY_PAIRS curvature pairs of an L-BFGS memory: all a warm frame carries to the next."""
    if memory is None:
        return None
    return {"H_diag": memory["H_diag"], **{k: memory[k][-MEMORY_PAIRS:] for k in ("old_dirs", "old_stps", "ro")}}


__all__ = ["FrameRecord", "FrameStylizer", "STAGES", "SourceFrame"]
