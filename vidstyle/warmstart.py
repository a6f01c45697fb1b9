"""Warm-start rules: how a video frame that continues a shot is started, held and budgeted.

A rule decides, in one place, a warm frame's start image, the terms added
to its objective and its iteration budget (``plan``), and whether the
optimiser's memory goes on to the next frame. A shot's first frame is not
the rule's: it is optimised in full, as a still (``first_frame``). The
rules, by the name ``--warm-start`` takes:

* ``flow`` (the default; Ruder, Dosovitskiy & Brox 2016, with departures
  below): the previous OUTPUT warped into this frame along the optical flow
  of the SOURCE frames, held there by the temporal term where a
  forward-backward check says the flow is reliable;
* ``previous``: the previous output as it is, no temporal term;
* ``none``: every frame on its own, from ``StyleOptions.init``.

Departures of ``flow`` and ``previous`` from Ruder 2016, each measured
(docs/DEVELOPING.md, "Warm frames"; ``benchmarks/warm_frames.py`` runs
candidates as rule objects like these):

* L-BFGS goes on from the previous frame's memory (its last
  ``memory_pairs`` curvature pairs) instead of restarting, whose first step
  is a tiny steepest-descent one that bf16 noise swamps; with it, new
  content gets painted in the few iterations a warm frame has;
* a warm frame stops once its loss settles: ``patience`` iterations
  gaining less than ``plateau`` of it, never before ``min_iterations``,
  never after ``VideoOptions.warm_iterations`` (never early when
  ``StyleOptions.tolerance`` is 0);
* the temporal term holds the warped image low-passed by ``lowpass_px``,
  so the finest strokes, which every warp softens a little, are repainted
  by the style term rather than pinned (2 px and temporal weight 100:
  the setting that held on the bunny and carphone, benchmarks/WARM_FRAMES.md);
* where the flow points outside the frame (what a moving camera brings
  in), the warm start is the previous output mirrored about its edge
  (``fill="mirror"``), not the source frame: unstylised photo pixels there
  raised the start's style loss and cost two iterations a frame (session
  8), and the edge pixel stretched into streaks (session 8's ``"edge"``)
  left the pan's border band at 1.07x independent style at frame 12,
  where the mirrored strokes hold 1.00x (session 17, WARM_FRAMES.md).

With VGG-19's max pooling no rule held on a camera pan at 192 px: every
warm frame ran to the 16-iteration cap and the style drifted to 1.1x
independent, in the interior too. Average pooling (the paper's, section 2;
``StyleOptions.pooling``'s default) with this rule's 0.6% plateau and the
standard preset's 11-iteration cap holds on all three clips of
benchmarks/WARM_FRAMES.md (bunny, carphone and a pan with an occluding
disc); max pooling's pan is in docs/DEVELOPING.md, "Warm frames".
"""

from __future__ import annotations

from dataclasses import dataclass, replace

import numpy as np
import torch

from .errors import ConfigError
from .flow import warp, warp_tensor
from .lbfgs import Memory
from .options import WARM_STARTS, StyleOptions, VideoOptions
from .schedule import Plan
from .terms import Temporal


@dataclass(frozen=True)
class Carry:
    """What a rendered frame leaves for the next one of its shot.

    ``output``: the frame as rendered, (h, w, 3) float32 on the 16-bit grid
    (what the work folder stores, so a resumed run goes on exactly);
    ``memory``: the optimiser's memory to go on from, or None when it is
    not known (a frame read back from storage without its checkpoint: a
    warm frame after it would not go on as an unbroken run does);
    ``continues``: False when the next frame must start afresh even inside
    its shot (this frame was the plate: no matte reached it).
    """

    output: np.ndarray
    memory: Memory | None
    continues: bool = True


@dataclass(frozen=True)
class WarmPlan:
    """A frame's plan (``schedule.Plan``) and what the report says of it."""

    plan: Plan
    reliable_fraction: float | None = None   # share of pixels under the temporal term


@dataclass(frozen=True)
class WarmStart:
    """The base rule: settings every warm start shares (see the module doc for each)."""

    name = "none"
    uses_flow = False          # whether analysis must compute the flows and the reliability mask
    continues = True           # whether a frame depends on the one before (a farm chunk then warms up first)
    carries_memory = True      # whether the optimiser's memory goes on to the next frame
    plateau: float = 0.008
    patience: int = 3
    min_iterations: int = 5
    memory_pairs: int = 5

    def first_frame(self) -> Plan:
        """A shot's first frame: the options' whole schedule, afresh."""
        return Plan()

    def plan(self, src, carry: Carry, options: StyleOptions, video: VideoOptions, engine) -> WarmPlan:
        """The plan of the analysed frame ``src`` (a ``temporal.SourceFrame``), warm from ``carry``."""
        raise NotImplementedError

    def budget(self, options: StyleOptions, video: VideoOptions, carry: Carry, src=None) -> dict:
        """A warm frame's budget and memory (see the module doc).

        A frame whose style is changing (``src.restyled``: a style track's key
        or fade, styletrack.py) runs its whole budget: its targets moved, so a
        loss that settles only says it follows them, and the fade's last frame
        must arrive at the new style (benchmarks/STYLE_TRACK.md).
        """
        restyled = src is not None and getattr(src, "restyled", False)
        return dict(iterations=video.warm_iterations, scales=1, memory=carry.memory,
                    tolerance=self.plateau if options.tolerance > 0 else 0.0, patience=self.patience,
                    min_iterations=video.warm_iterations if restyled else self.min_iterations)

    def carried(self, memory: Memory | None) -> Memory | None:
        """The memory a rendered frame hands on (its last ``memory_pairs`` pairs), or None."""
        return memory.recent(self.memory_pairs) if self.carries_memory and memory is not None else None

    def with_settings(self, **changes) -> "WarmStart":
        """A copy with some settings changed (benchmarks/warm_frames.py's candidates)."""
        return replace(self, **changes)


@dataclass(frozen=True)
class Independent(WarmStart):
    """``none``: every frame on its own, as a shot's first frame is."""

    name = "none"
    continues = False
    carries_memory = False

    def plan(self, src, carry, options, video, engine) -> WarmPlan:
        return WarmPlan(self.first_frame())


@dataclass(frozen=True)
class Previous(WarmStart):
    """``previous``: start from the previous output as it is; nothing holds the picture to it."""

    name = "previous"

    def plan(self, src, carry, options, video, engine) -> WarmPlan:
        return WarmPlan(Plan(init=carry.output, **self.budget(options, video, carry, src)))


@dataclass(frozen=True)
class Flow(WarmStart):
    """``flow``: the previous output warped along the source's flow, held there where the flow is reliable."""

    name = "flow"
    uses_flow = True
    # Settles later than the base rule (0.6%, not 0.8%, over 3; at least 6): with average pooling,
    # carphone's warm frames stopped at 7 iterations on 0.8% and lost style (1.07x independent at
    # frame 23); at 0.6% they take about 8 and hold, as at 0.4% (11), and the bunny's median warm
    # frame at 512 px takes 10 iterations, not 0.4%'s 11 (benchmarks/WARM_FRAMES.md, QUALITY_512.md).
    plateau: float = 0.006
    min_iterations: int = 6
    lowpass_px: float = 2.0   # with temporal weight 100: the rule that held on bunny and carphone (WARM_FRAMES.md)
    temporal_weight: float | None = None   # None: VideoOptions.temporal_weight (a candidate may set its own)
    # Where the flow leaves the frame: "mirror" (the output reflected about its edge pixels), "edge" (the
    # edge pixel stretched: session 8's default) or "content" (the source).
    fill: str = "mirror"

    def plan(self, src, carry, options, video, engine) -> WarmPlan:
        warped = self.warp(carry.output, src, engine.device)
        mask = torch.from_numpy(np.ascontiguousarray(src.mask, dtype=np.float32))[None, None].to(engine.device)
        weight = video.temporal_weight if self.temporal_weight is None else self.temporal_weight
        held = Temporal(engine.tensor(warped), mask, weight, self.lowpass_px)
        return WarmPlan(Plan(init=warped, terms=(held,), **self.budget(options, video, carry, src)),
                        float(src.mask.mean()))

    def warp(self, output: np.ndarray, src, device: torch.device) -> np.ndarray | torch.Tensor:
        """``output`` warped into ``src`` along its backward flow: OpenCV on the CPU, grid_sample on a GPU."""
        if self.fill not in ("edge", "mirror", "content"):
            raise ConfigError(f"a flow warm start fills with 'edge', 'mirror' or 'content', not {self.fill!r}")
        content = src.content if self.fill == "content" else None
        if device.type == "cpu":
            return warp(output, src.backward, fill=content, mirror=self.fill == "mirror")[0]
        from . import images
        return warp_tensor(images.to_tensor(output, device), src.backward,
                           None if content is None else images.to_tensor(content, device), self.fill == "mirror")


RULES: dict[str, WarmStart] = {rule.name: rule for rule in (Flow(), Previous(), Independent())}
assert tuple(RULES) == WARM_STARTS, "options.WARM_STARTS lists the rules, the default first"


def rule_for(name_or_rule: str | WarmStart) -> WarmStart:
    """The rule named ``--warm-start`` takes (flow, previous, none), or a rule object as it is."""
    if isinstance(name_or_rule, WarmStart):
        return name_or_rule
    if name_or_rule not in RULES:
        raise ConfigError(f"warm start must be one of {', '.join(RULES)}, not {name_or_rule!r}")
    return RULES[name_or_rule]


__all__ = ["Carry", "Flow", "Independent", "Previous", "RULES", "WarmPlan", "WarmStart", "rule_for"]
