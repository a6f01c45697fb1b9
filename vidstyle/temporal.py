"""The per-frame processor: Gatys stylisation made temporally stable, one frame at a time.

The temporal method and nothing else: a host (the file runner, a farm
chunk, a Ray task, ``vidstyle pipe``, a ComfyUI node) feeds it frames in
order and gets stylised frames back. It never touches a file. What it does
with each frame (Ruder, Dosovitskiy & Brox 2016, with Gatys et al. 2016 as
the engine): a shot's first frame is optimised in full (the still-image
path); a later frame is warm-started as the warm-start rule says
(``warmstart.py``: by default the previous OUTPUT warped along the optical
flow of the SOURCE frames, held there by the temporal term); a scene cut
(detected, given by number, or announced with ``reset()``) starts a new
shot, and nothing of the previous shot is used.

Its state is split by the thread that owns it:

* ``FrameAnalyser`` (source frames only; a pipelined host runs it ahead,
  on a reader thread): the shot decision, the resize to the output size,
  the optical flows and the reliability mask -> a ``SourceFrame``;
* ``FrameRenderer`` (the optimiser's thread): ``render(src, carry)`` takes
  the analysed frame and what the previous frame left (``warmstart.Carry``:
  its output and the optimiser's memory) and RETURNS a ``Rendered``: the
  frame, its record and the carry for the next frame. Nothing is left
  behind in the renderer, so resuming is handing it a carry made from a
  stored frame (``Carry(stored, memory)``).

``FrameStylizer`` puts the two together for hosts that feed frames one by
one (``process``), keeping the carry itself.

Outputs are kept on the 16-bit grid (``images.as_stored``): a run resumed
from frames stored as 16-bit PNGs continues exactly as an uninterrupted one.
"""

from __future__ import annotations

import dataclasses
import hashlib
import time
from dataclasses import dataclass, field
from typing import Callable, Sequence

import numpy as np

from . import images, mattes
from .engine import Stylizer
from .errors import InputError
from .flow import FlowEstimator, reliability
from .grad import autograd_on
from .lbfgs import Memory
from .options import StyleOptions, VideoOptions
from .schedule import Progress
from .shots import ShotTracker
from .stylize import ImageLike, as_pixels, split_alpha, style_list
from .styletrack import StyleKey, StyleTrack
from .warmstart import Carry, WarmStart, rule_for

# Where a frame's time goes (``FrameRecord.stages``), in seconds: decoding it, the two optical flows,
# the reliability mask, warping the previous output, the optimisation, storing the result in the
# work folder, writing it out. 0 where a stage did not run (a shot's first frame has no flow).
STAGES = ("decode", "flow", "mask", "warp", "optimise", "store", "write")


def no_stages() -> dict[str, float]:
    return dict.fromkeys(STAGES, 0.0)


@dataclass(frozen=True)
class FrameRecord:
    """What happened to one frame (one row of ``--report``).

    ``losses``: each term's weighted value by name (content, style, tv,
    temporal, ...) at the frame's last iteration; ``loss`` their sum.
    """

    number: int
    seconds: float
    iterations: int
    shot_start: bool
    reliable_fraction: float | None  # share of pixels under the temporal term; None on a shot's first frame
    loss: float
    losses: dict[str, float] = field(default_factory=dict)
    resumed: bool = False             # finished earlier (a stored frame), not optimised now
    t_optimise_start: float | None = None   # when its optimisation began and ended, seconds on the
    t_optimise_end: float | None = None     # processor's clock (since the run started, for a file run)
    stages: dict[str, float] = field(default_factory=no_stages)   # seconds per stage (STAGES)

    @classmethod
    def stored(cls, number: int, shot_start: bool = False, stages: dict[str, float] | None = None) -> "FrameRecord":
        """The record of a frame finished earlier and read back, not optimised now."""
        return cls(number, 0.0, 0, shot_start, None, 0.0, resumed=True, stages=stages or no_stages())


@dataclass
class SourceFrame:
    """One source frame as the method sees it: everything that depends on source frames alone.

    content: (h, w, 3) float32 BGR [0, 1] at the output size; previous: the
    previous frame's content when this one continues a shot, else None;
    backward (t -> t-1) and forward (t-1 -> t) flows, (h, w, 2), and Ruder's
    reliability mask, (h, w), when computed (``FrameAnalyser.compute_flows``);
    guides: (K, h, w) the region of each style and coverage (h, w) how much
    of each pixel is stylised, when the frame has mattes (``mattes.py``);
    styles: the frame's style slots from a style track (``styletrack.py``)
    and style_key what they are made of, or None/"" without a track;
    restyled: its style differs from the frame before's (a key or a fade);
    stages: seconds spent so far (see STAGES).
    """

    number: int
    content: np.ndarray
    shot_start: bool
    previous: np.ndarray | None
    backward: np.ndarray | None = None
    forward: np.ndarray | None = None
    mask: np.ndarray | None = None
    guides: np.ndarray | None = None
    coverage: np.ndarray | None = None
    styles: tuple[tuple[float, ...], ...] | None = None
    style_key: str = ""
    restyled: bool = False
    stages: dict[str, float] = field(default_factory=no_stages)
    key: str = field(init=False)

    def __post_init__(self) -> None:
        # The digest of what this frame's output is made from besides the previous output: the
        # content at the output size and the shot decision. A plate replaced at the same path
        # changes it, so a stored frame made from the old plate is never reused. Made here, with
        # the rest of the source-only work, not between two optimisations.
        h = hashlib.blake2b(digest_size=8)
        h.update(np.ascontiguousarray(self.content).view(np.uint8))
        if self.guides is not None:   # a changed matte changes the frame
            h.update(np.ascontiguousarray(self.guides).view(np.uint8))
        h.update(self.style_key.encode())   # so does a changed style track (from the first frame it changes)
        h.update(b"S" if self.shot_start else b"W")
        self.key = h.hexdigest()


@dataclass(frozen=True)
class Rendered:
    """What ``FrameRenderer.render`` returns: the frame (h, w, 3) float32 BGR, its record, the carry on."""

    frame: np.ndarray
    record: FrameRecord
    carry: Carry


class FrameAnalyser:
    """The source-only half: feed frames in order; ``analyse`` gives each a ``SourceFrame``.

    ``output_size(h, w)``: the size a frame stylises at (and the check that
    the network can take it); ``rule``: the warm-start rule (whether flows
    are needed); ``track``: the style track (``styletrack.StyleTrack``), or
    None. Safe to run on another thread than the renderer: it shares
    nothing with it but the track, which only it reads while frames run.
    """

    def __init__(self, video: VideoOptions, rule: WarmStart, output_size: Callable[[int, int], tuple[int, int]],
                 track: StyleTrack | None = None):
        self.video, self.rule, self.output_size, self.track = video, rule, output_size, track
        self.flow = FlowEstimator()
        self.restart()

    def restart(self) -> None:
        """Forget the clip fed so far: the next frame is fed as the first."""
        self.shots = ShotTracker.for_video(self.video)
        self._previous: np.ndarray | None = None
        self._count = 0

    def reset(self) -> None:
        """The next frame starts a new shot: nothing of the current one is used for it."""
        self.shots.reset()

    def analyse(self, frame: ImageLike, number: int | None = None, *, flows: bool = True,
                masks: Sequence[np.ndarray] | None = None) -> SourceFrame:
        """The source-only step for the next frame, in order: shot decision, resize, flows and mask.

        ``number``: the frame's number (sequences keep theirs; a jump starts a
        shot); None numbers frames on from the previous one. ``flows=False``
        leaves the flows to ``compute_flows`` (a host that expects to reuse a
        stored output for this frame, or computes flows on other threads).
        ``masks``: one matte (H, W) in [0, 1] per style at the frame's size,
        or None (every style everywhere, blended).
        """
        pixels = as_pixels(frame, "frame")
        if masks is not None:
            for k, m in enumerate(masks, start=1):
                if np.shape(m)[:2] != pixels.shape[:2]:
                    raise InputError(f"matte {k} is {np.shape(m)[1]}x{np.shape(m)[0]} px, the frame is "
                                     f"{pixels.shape[1]}x{pixels.shape[0]}: a matte must have the frame's size")
        size = self.output_size(*pixels.shape[:2])
        if self._previous is not None and self._previous.shape[:2] != size and not self.shots.reset_pending:
            # Refused before anything changes: the analyser goes on with the next frame of the clip's size.
            raise InputError(f"frame {self._count if number is None else number} is {pixels.shape[1]}x"
                             f"{pixels.shape[0]} px, which stylises at {size[1]}x{size[0]}, but the clip's frames "
                             f"stylise at {self._previous.shape[1]}x{self._previous.shape[0]}: every frame "
                             f"of a clip must have one size (call reset() before a clip of another size)")
        if number is None:
            number = self._count
        self._count = number + 1
        start = self.shots.starts_shot(pixels, number)
        content = images.resize(pixels, size)
        guides = cover = None
        if masks is not None:
            small = mattes.resize_all([mattes.from_image(np.asarray(m)) for m in masks], size)
            guides, cover = mattes.guides(small), mattes.coverage(small)
        styles, style_key, restyled = None, "", False
        if self.track is not None:
            self.track.place_pending(number)
            self.track.decide(number, start)
            styles, style_key, restyled = self.track.slots_at(number), self.track.key_digest(number), \
                self.track.changing(number)
        src = SourceFrame(number, content, start, None if start else self._previous, guides=guides, coverage=cover,
                          styles=styles, style_key=style_key, restyled=restyled)
        self._previous = content
        if flows:
            self.compute_flows(src)
        return src

    def compute_flows(self, src: SourceFrame) -> None:
        """Both flows and the mask of an analysed frame (``compute_flows``), with this analyser's estimator."""
        compute_flows(src, self.rule, self.flow)


def compute_flows(src: SourceFrame, rule: WarmStart, estimator: FlowEstimator) -> None:
    """Both flows and the mask of an analysed frame, when its rule uses them and they are not there yet.

    Source frames only: safe to run for several frames at once on other
    threads (each frame's own data; the flow estimator is thread-safe).
    """
    if src.previous is None or not rule.uses_flow or src.mask is not None:
        return
    t0 = time.perf_counter()
    src.backward = estimator(src.content, src.previous)
    src.forward = estimator(src.previous, src.content)
    t1 = time.perf_counter()
    src.mask = reliability(src.backward, src.forward)
    src.stages["flow"] += t1 - t0
    src.stages["mask"] += time.perf_counter() - t1


class FrameRenderer:
    """The optimiser's half: ``render(src, carry)`` -> ``Rendered`` (see the module doc).

    ``engine``: the ``Stylizer`` (network and style targets); ``rule``: the
    warm-start rule. Holds no state of the clip: everything a frame needs
    from the one before comes in ``carry``.
    """

    def __init__(self, engine: Stylizer, video: VideoOptions, rule: WarmStart):
        self.engine, self.video, self.rule = engine, video, rule
        self.origin = time.perf_counter()
        self.flow = FlowEstimator()   # for a frame whose flows the analysis left out (``flows=False``)

    def warm(self, src: SourceFrame, carry: Carry | None) -> bool:
        """Whether ``src`` continues its shot from ``carry`` (not a shot's first frame, and an output to go on from)."""
        return src.previous is not None and carry is not None and carry.continues and self.rule.continues

    def needs_memory(self, src: SourceFrame, carry: Carry | None) -> bool:
        """True when rendering ``src`` now would start the optimiser afresh where an unbroken run goes on.

        That is a warm frame whose carry lost its memory (read back from
        storage without its checkpoint): the file runner goes back to a
        checkpoint instead, so its bytes stay those of an unbroken run.
        """
        return (self.warm(src, carry) and carry.memory is None and self.rule.carries_memory
                and self.engine.options.optimizer == "lbfgs")

    @autograd_on
    def render(self, src: SourceFrame, carry: Carry | None = None,
               callback: Callable[[Progress], None] | None = None) -> Rendered:
        """Stylise the analysed frame ``src``, warm from ``carry`` as the rule says, or in full at a shot's start."""
        stages = src.stages
        fraction = None
        if src.coverage is not None and not src.coverage.any():
            # No matte reaches this frame: it is the plate, nothing is optimised, and the next frame
            # a matte reaches is painted in full, as a shot's first frame is.
            out = images.as_stored(src.content)
            return Rendered(out, FrameRecord(src.number, 0.0, 0, src.shot_start, None, 0.0, stages=stages),
                            Carry(out, None, continues=False))
        if self.warm(src, carry):
            compute_flows(src, self.rule, self.flow)   # at once when the analysis already made them
            t0 = time.perf_counter()
            made = self.rule.plan(src, carry, self.engine.options, self.video, self.engine)
            stages["warp"] = time.perf_counter() - t0
            plan, fraction = made.plan, made.reliable_fraction
        else:
            plan = self.rule.first_frame()
        if src.guides is not None or src.styles is not None:
            plan = dataclasses.replace(plan, guides=src.guides, styles=src.styles)
        t_start = time.perf_counter()
        outcome = self.engine.run(src.content, plan, callback)
        t_end = time.perf_counter()
        stages["optimise"] = t_end - t_start
        out = images.as_stored(outcome.image)
        last = outcome.last
        record = FrameRecord(src.number, round(stages["flow"] + stages["mask"] + stages["warp"] + stages["optimise"], 4),
                             outcome.iterations, src.shot_start, fraction, round(last.loss, 6),
                             {name: round(v, 6) for name, v in last.losses.items()},
                             t_optimise_start=round(t_start - self.origin, 4),
                             t_optimise_end=round(t_end - self.origin, 4), stages=stages)
        return Rendered(out, record, Carry(out, self.rule.carried(outcome.memory)))


class FrameStylizer:
    """Stylise a clip frame by frame, each warm-started from the one before (see the module doc).

    ``styles``: style images (paths or arrays, as ``stylize_image`` takes
    them); ``options``/``video``: ``StyleOptions``/``VideoOptions`` (defaults:
    the standard preset); ``rule``: a warm-start rule object instead of
    ``video.warm_start``'s. Feed frames in order to ``process``; each is an
    (H, W, 3) BGR array, float in [0, 1], uint8 or uint16 (or (H, W, 4)
    BGRA: the alpha comes back beside the stylised colour, as it was at the
    frame's own size). It returns the stylised frame at the size
    ``options.size`` gives (float32 BGR [0, 1]);
    ``record`` then describes it (a ``FrameRecord``). Cuts are detected
    (``video.cuts``); ``reset()`` says the next frame starts a shot;
    ``prime()`` continues from a frame stylised earlier (a resumed run).

    Styles over time: ``video.style_keys`` (a style track: from frame N on,
    these styles; ``styletrack.py``) or ``track`` (one made already, e.g.
    with the styles in the plate's colour space), and ``set_styles`` between
    two frames. ``styles`` may then be empty when a key is on the first frame.
    """

    def __init__(self, styles: ImageLike | Sequence[ImageLike], options: StyleOptions | None = None,
                 video: VideoOptions | None = None, rule: WarmStart | str | None = None,
                 track: StyleTrack | None = None):
        self.options = options or StyleOptions()
        self.video = video or VideoOptions()
        self.rule = rule_for(self.video.warm_start if rule is None else rule)
        given = styles is not None and not (isinstance(styles, (list, tuple)) and len(styles) == 0)
        base = style_list(styles) if track is None and (given or not self.video.style_keys) else []
        if track is None and self.video.style_keys:
            track = StyleTrack(base, self.video.style_keys, self.video.style_fade, blend=self.options.style_blend,
                               regions=len(self.video.masks))
        self.track = track
        if track is None:
            self.engine = Stylizer(base, self.options)
        else:
            self.engine = Stylizer(list(track.images), self.options.replace(style_blend=None))
        self._checked: set[tuple[int, int]] = set()
        self.analyser = FrameAnalyser(self.video, self.rule, self.output_size, track)
        self.renderer = FrameRenderer(self.engine, self.video, self.rule)
        self.carry: Carry | None = None
        self.record: FrameRecord | None = None

    def output_size(self, height: int, width: int) -> tuple[int, int]:
        """(H, W) of the output for a frame of (height, width); refuses sizes the network cannot take."""
        size = images.output_size(height, width, self.options.size)
        if (height, width) not in self._checked:
            self.engine.check_size(*size, native=(height, width))
            self._checked.add((height, width))
        return size

    def reset(self) -> None:
        """The next frame starts a new shot: nothing of the current one is used for it."""
        self.analyser.reset()

    def set_styles(self, styles: ImageLike | Sequence[ImageLike], weights: Sequence[float] | None = None) -> None:
        """From the next frame fed on, these styles (blended by ``weights``; None: equally).

        Inside a shot the change cross-fades over ``video.style_fade`` frames
        (the warm start goes on); at a shot's start (``reset()``, a cut) it is
        at once. Images already loaded (by content) are not loaded or
        measured again, so switching between a few styles is cheap.
        """
        frames = style_list(styles)
        if self.track is None:
            self.track = StyleTrack(list(self.engine.styles), (), self.video.style_fade,
                                    blend=self.options.style_blend, regions=len(self.video.masks))
            self.analyser.track = self.track
        self.track.pending = self.track.prepare(StyleKey(0, tuple(frames), None if weights is None else tuple(weights)))
        self.engine.add_styles(self.track.images[len(self.engine.styles):])
        self._checked.clear()   # the new images must fit the frames' size too

    def restart(self) -> None:
        """Forget the clip fed so far (shots, previous frames, memory): the next frame is fed as the first."""
        self.analyser.restart()
        self.carry = self.record = None

    def start_clock(self, origin: float | None = None) -> None:
        """Measure records' ``t_optimise_*`` from ``origin`` (a ``time.perf_counter()``; now by default)."""
        self.renderer.origin = time.perf_counter() if origin is None else origin

    def analyse(self, frame: ImageLike, number: int | None = None, *, flows: bool = True,
                masks: Sequence[np.ndarray] | None = None) -> SourceFrame:
        """``FrameAnalyser.analyse``."""
        return self.analyser.analyse(frame, number, flows=flows, masks=masks)

    def compute_flows(self, src: SourceFrame) -> None:
        """``FrameAnalyser.compute_flows``."""
        self.analyser.compute_flows(src)

    def render(self, src: SourceFrame, callback: Callable[[Progress], None] | None = None) -> np.ndarray:
        """``FrameRenderer.render`` from this processor's carry, keeping the new one; returns the frame."""
        done = self.renderer.render(src, self.carry, callback)
        self.carry, self.record = done.carry, done.record
        return done.frame

    def process(self, frame: ImageLike, number: int | None = None,
                callback: Callable[[Progress], None] | None = None,
                masks: Sequence[np.ndarray] | None = None) -> np.ndarray:
        """``render(analyse(frame, number, masks=masks))``: the next frame, stylised.

        A BGRA frame's alpha comes back beside it (class doc). With ``masks``
        (one matte (H, W) per style: ``analyse``), each style paints its own
        region and the frame is the plate where no matte reaches (soft edges
        blend).
        """
        colour, alpha = split_alpha(frame)
        src = self.analyse(colour, number, masks=masks)
        out = self.render(src, callback)
        if src.coverage is not None:
            out = mattes.composite(out, src.content, src.coverage)
        return out if alpha is None else np.dstack([out, images.resize_alpha(alpha, out.shape[:2])])

    # -- resuming ------------------------------------------------------------------------------

    @property
    def memory(self) -> Memory | None:
        """The optimiser memory the next warm frame goes on from (None: it would start afresh)."""
        return None if self.carry is None else self.carry.memory

    def needs_memory(self, src: SourceFrame) -> bool:
        """``FrameRenderer.needs_memory`` for this processor's carry."""
        return self.renderer.needs_memory(src, self.carry)

    @autograd_on
    def prime(self, src: SourceFrame, output: ImageLike, memory: Memory | None = None) -> None:
        """Continue from ``output``, the frame ``src`` stylised earlier (read back from storage).

        ``memory``: the memory that frame left, when it was kept; without it
        the next warm frame's optimiser would start afresh (``needs_memory``).
        """
        stored = images.as_stored(as_pixels(output, "stored frame"))
        self.carry = Carry(stored, None if memory is None else memory.to(self.engine.device))
        self.record = FrameRecord.stored(src.number, src.shot_start, src.stages)


__all__ = ["FrameAnalyser", "FrameRecord", "FrameRenderer", "FrameStylizer", "Rendered", "STAGES", "SourceFrame",
           "compute_flows"]
