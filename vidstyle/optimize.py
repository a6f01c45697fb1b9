"""The optimiser loop: one image, one objective, a budget; the best point found is the result.

Every iteration evaluates the objective once (its value and gradient at
the current point), reports it, and takes a step (``lbfgs.LBFGS`` or
``lbfgs.Adam``). The loss an iteration reports belongs to the point the
gradient was taken at, before the step; without a line search a step may
overshoot now and then, so the best point evaluated is what comes back,
not the last. The loop ends when the budget is spent, when the loss has
stopped falling (``Budget.tolerance`` over ``Budget.patience``
iterations, never before ``Budget.min_iterations``), or at once on a
flat objective (a zero gradient: every further step would return the same
point).
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Callable

import torch

from .errors import DivergedError
from .lbfgs import LBFGS, Adam, Memory
from .objective import Evaluation, Objective


@dataclass(frozen=True)
class Budget:
    """How long one level may run: at most ``iterations``; early stop as in the module doc (tolerance 0: never)."""

    iterations: int
    tolerance: float = 0.0
    patience: int = 20
    min_iterations: int = 1

    def settled(self, history: list[float]) -> bool:
        """Whether the loss fell by less than ``tolerance`` (relative) over the last ``patience`` iterations."""
        if self.tolerance <= 0 or len(history) <= self.patience or len(history) < self.min_iterations:
            return False
        before = history[-1 - self.patience]
        return before - history[-1] < self.tolerance * before


@dataclass(frozen=True)
class Result:
    """What one level's optimisation gives: the best point, the memory to carry on, what it cost."""

    image: torch.Tensor          # (1, 3, H, W) in [0, 1], the best point evaluated
    memory: Memory | None        # L-BFGS's memory after the last step taken (None with Adam)
    iterations: int
    last: Evaluation


def optimize(objective: Objective, init: torch.Tensor, budget: Budget, *, method: str = "lbfgs",
             step_size: float = 1.0, memory: Memory | None = None, history: int = 20,
             on_iteration: Callable[[int, Evaluation, torch.Tensor], None] | None = None) -> Result:
    """Minimise ``objective`` from ``init`` (1, 3, H, W) within ``budget``; see the module doc.

    ``method``: "lbfgs" (given ``memory`` to start from, keeping ``history``
    pairs) or "adam". ``on_iteration(i, evaluation, point)``: after every
    evaluation, 1-based, with the point evaluated (read-only).
    """
    x = init.detach().clamp(0.0, 1.0)
    stepper = LBFGS(memory, history, step_size) if method == "lbfgs" else Adam(x, step_size)
    best, best_loss = x, math.inf
    history_losses: list[float] = []
    done = 0
    for i in range(budget.iterations):
        ev = objective.evaluate(x)
        stepper.observe(ev.grad)    # completes the curvature pair of the step that led here
        if not math.isfinite(ev.loss):
            raise DivergedError("the loss became NaN or infinite: lower the weights or the learning rate")
        done = i + 1
        if ev.loss < best_loss:
            best, best_loss = x, ev.loss
        history_losses.append(ev.loss)
        if on_iteration is not None:
            on_iteration(done, ev, x)
        if ev.flat or done == budget.iterations or budget.settled(history_losses):
            break
        x = stepper.step(x, ev.grad)
    return Result(best, stepper.memory, done, ev)


__all__ = ["Budget", "Result", "optimize"]
