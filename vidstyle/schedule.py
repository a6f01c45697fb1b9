"""The coarse-to-fine schedule: one image optimised at growing sizes, each level starting from the last.

Gatys et al. (2016) optimise at one size. With ``scales`` > 1 the image is
first optimised at 1/2^(scales-1) of its size, then enlarged (bicubic) and
optimised again, twice as large each time, up to its own size: large
structures settle where they are cheap, and the finest level only refines
(the "high" preset, and large plates: ``levels_for`` adds levels to an
image larger than 1.5x ``StyleOptions.coarsest``). Each level gets the same iteration
budget; the L-BFGS memory of one level does not carry to the next (its
vectors have another length). A warm video frame runs one level.
"""

from __future__ import annotations

import math
import time
from dataclasses import dataclass
from typing import Callable

import cv2
import numpy as np
import torch
import torch.nn.functional as F

from . import images
from .color import keep_colors
from .lbfgs import Memory
from .optimize import Budget, optimize
from .options import MIN_LEVEL_SIDE
from .terms import Term
from .tiles import TiledObjective, history_for


@dataclass(frozen=True)
class Progress:
    """One optimiser iteration, as reported to the progress callback.

    Losses are those of the image *before* this iteration's update (the
    point where the gradient was taken), already multiplied by their
    weights: ``losses`` by term name ("content", "style", "tv", "temporal",
    or any term a caller added), ``loss`` their sum.
    """

    iteration: int          # 1-based, counted across all levels
    max_iterations: int     # the budget over all levels; early stopping may end sooner
    level: int              # 1-based level of the coarse-to-fine schedule
    levels: int
    height: int
    width: int
    loss: float
    losses: dict[str, float]
    elapsed: float          # seconds since the run started
    image: torch.Tensor     # (1, 3, H, W) the point evaluated; read-only, copy to keep

    def __repr__(self) -> str:
        return (f"Progress(iteration={self.iteration}/{self.max_iterations}, level={self.level}/{self.levels}, "
                f"{self.width}x{self.height}, loss={self.loss:.6g}, losses={self.losses})")


ProgressCallback = Callable[[Progress], None]


@dataclass(frozen=True)
class Plan:
    """How to optimise one image; None takes the options' value.

    ``init``: the start ((H, W, 3) array or (1, 3, H, W) tensor; None:
    ``StyleOptions.init``); ``terms``: terms added to the options' content,
    style and TV terms (they must fit the image's own size: a plan with
    terms runs one level); ``memory``: the L-BFGS memory to start from;
    ``tolerance``, ``patience``, ``min_iterations``: the early stop (see
    ``optimize.Budget``); ``guides``: (K, H, W) float32 [0, 1] at the
    image's size, the region of each style (``mattes.guides``), or None;
    ``styles``: the image's style slots (``styletrack.Slots``: a style
    track's frame), or None for the options' blend.
    """

    iterations: int | None = None
    scales: int | None = None
    init: np.ndarray | torch.Tensor | None = None
    terms: tuple[Term, ...] = ()
    memory: Memory | None = None
    tolerance: float | None = None
    patience: int | None = None
    min_iterations: int = 1
    guides: np.ndarray | None = None
    styles: tuple[tuple[float, ...], ...] | None = None


@dataclass(frozen=True)
class Outcome:
    """One image optimised: the result (H, W, 3) float32 BGR [0, 1], the memory to carry on, its last report."""

    image: np.ndarray
    memory: Memory | None
    iterations: int
    last: Progress


def levels_for(height: int, width: int, scales: int, coarsest: int) -> int:
    """Levels a still or a shot's first frame of (height, width) runs: ``scales``, or more for a large one.

    With ``coarsest`` > 0 an image whose longer side is more than 1.5x
    ``coarsest`` gets the levels that make its coarsest level closest to
    ``coarsest`` (StyleOptions.coarsest; measured: benchmarks/PLATE_STROKES.md).
    """
    long_side = max(height, width)
    if coarsest <= 0 or long_side <= 1.5 * coarsest:
        return scales
    return max(scales, 1 + round(math.log2(long_side / coarsest)))


def level_sizes(height: int, width: int, scales: int) -> list[tuple[int, int]]:
    """Sizes (H, W) of the coarse-to-fine levels, coarsest first, finest = (height, width).

    Each level halves the one after it; levels whose longer side would fall
    below MIN_LEVEL_SIDE are skipped.
    """
    sizes = [(height, width)]
    for k in range(1, scales):
        long_side = round(max(height, width) / 2**k)
        if long_side < MIN_LEVEL_SIDE:
            break
        sizes.append(images.fit_size(height, width, long_side))
    return sizes[::-1]


def coarse_to_fine(stylizer, content: np.ndarray, plan: Plan, callback: ProgressCallback | None = None) -> Outcome:
    """Optimise ``content`` (H, W, 3) float32 BGR [0, 1] with ``stylizer``'s network and targets, as ``plan`` says.

    ``stylizer``: an ``engine.Stylizer`` (the network, the style targets per
    size, the options). Returns the image at ``content``'s size.
    """
    o = stylizer.options
    h, w = content.shape[:2]
    sizes = level_sizes(h, w, levels_for(h, w, o.scales, o.coarsest) if plan.scales is None else plan.scales)
    if plan.terms and len(sizes) > 1:
        raise ValueError("terms added to a plan fit one size: such a plan runs a single level")
    iterations = o.iterations if plan.iterations is None else plan.iterations
    budget = Budget(iterations, o.tolerance if plan.tolerance is None else plan.tolerance,
                    o.patience if plan.patience is None else plan.patience, plan.min_iterations)
    start = time.perf_counter()
    done, x, last, memory = 0, None, None, None
    for level, (lh, lw) in enumerate(sizes, start=1):
        c = images.to_tensor(images.resize(content, (lh, lw)), stylizer.device)
        x = stylizer.initial(c, plan.init) if x is None else \
            F.interpolate(x, size=(lh, lw), mode="bicubic", align_corners=False).clamp(0, 1)
        guides = None
        if plan.guides is not None:
            # (K, H, W) -> (K, 1, lh, lw): each matte at the level's size, area-averaged as the image is
            guides = torch.from_numpy(np.stack([cv2.resize(g, (lw, lh), interpolation=cv2.INTER_AREA)
                                                if g.shape != (lh, lw) else g for g in plan.guides]))[:, None]
        objective = stylizer.objective(c, plan.terms, guides, plan.styles)

        def report(i, ev, point, level=level, lh=lh, lw=lw):
            nonlocal last
            last = Progress(done + i, iterations * len(sizes), level, len(sizes), lh, lw, ev.loss, ev.losses,
                            time.perf_counter() - start, point)
            if callback is not None:
                callback(last)

        tiled = isinstance(objective, TiledObjective)   # image-sized history: bounded (tiles.history_for)
        result = optimize(objective, x, budget, method=o.optimizer, step_size=o.step_size,
                          memory=plan.memory if level == len(sizes) else None,
                          history=history_for(lh, lw, o.lbfgs_history) if tiled else o.lbfgs_history,
                          on_iteration=report)
        x, memory, done = result.image, result.memory, done + result.iterations
    if o.keep_colors:
        x = keep_colors(x, images.to_tensor(content, stylizer.device))
    return Outcome(images.from_tensor(x), memory, done, last)


__all__ = ["Outcome", "Plan", "Progress", "ProgressCallback", "coarse_to_fine", "level_sizes", "levels_for"]
