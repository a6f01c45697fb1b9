"""vidstyle's own L-BFGS: the two-loop recursion, no line search, every step projected to [0, 1].

Gatys et al. (2016) optimise with L-BFGS. We take one loss-and-gradient
evaluation per iteration and no line search (as Johnson's neural-style
does): an iteration then costs one VGG forward and backward pass. The step
is the L-BFGS direction ``-H g`` at full length, except the very first step
of an optimiser with no memory, which is steepest descent shortened to
``min(1, 1/|g|_1)`` (torch.optim.LBFGS's rule, which vidstyle used before;
a step of that length cannot throw a fresh image far).

Departures, each for a reason:

* **Projected steps.** Pixels are kept in [0, 1] after every step; the paper
  optimises unconstrained and clips at the end, which throws away part of
  the optimisation (on a 256 px frame clipping raised the loss by ~11%).
  The curvature pair remembers the step actually taken (after projection),
  so the memory describes the path the image really followed.
* **A memory that outlives one image.** What L-BFGS has learnt of the
  loss's curvature is a value (``Memory``): ``LBFGS.memory`` hands it out,
  a new optimiser is given one. A warm video frame starts from its
  neighbour's memory: its first step is a full L-BFGS step instead of a
  tiny steepest-descent one, which bf16 noise swamps, and new content gets
  painted in the few iterations a warm frame has (temporal.py).

Vectors are the flattened image, (3 H W,) float32, on the image's device.
"""

from __future__ import annotations

from dataclasses import dataclass

import torch

# The format of a memory written to disk (``Memory.to_state``); a reader refuses any other.
MEMORY_FORMAT = "vidstyle.lbfgs-memory/1"
# A curvature pair is kept only when s'y exceeds this (torch's threshold): the loss must curve up
# along the step, or the inverse-Hessian estimate would stop being positive definite.
CURVATURE_EPS = 1e-10


@dataclass(frozen=True)
class Memory:
    """What L-BFGS knows of the loss's curvature: its last curvature pairs and its scale.

    ``steps[k]`` is a step taken, s = x_{k+1} - x_k; ``changes[k]`` the
    gradient's change along it, y = g_{k+1} - g_k, oldest first, each
    (n,) float32. ``scale`` is the initial inverse Hessian's diagonal,
    gamma = s'y / y'y of the newest pair (1 with no pair). Immutable; an
    empty memory (no pairs) is a valid memory: a flat objective leaves
    nothing to learn, which is not the same as a memory lost (None).
    """

    steps: tuple[torch.Tensor, ...] = ()
    changes: tuple[torch.Tensor, ...] = ()
    scale: float = 1.0

    def __len__(self) -> int:
        return len(self.steps)

    def recent(self, pairs: int) -> "Memory":
        """The same memory with only its last ``pairs`` pairs (what a warm frame carries on)."""
        return Memory(self.steps[-pairs:] if pairs else (), self.changes[-pairs:] if pairs else (), self.scale)

    def to(self, device: torch.device | str) -> "Memory":
        """The same memory with every tensor on ``device`` (one call: a run resumed on another device)."""
        return Memory(tuple(s.to(device) for s in self.steps), tuple(c.to(device) for c in self.changes), self.scale)

    def to_state(self) -> dict:
        """A dict of plain tensors and numbers for ``torch.save`` (the checkpoint format, on the CPU).

        ``{"format": MEMORY_FORMAT, "steps": (m, n) float32, "changes":
        (m, n) float32, "scale": float}`` with m the number of pairs (0 or
        more) and n the flattened image's length.
        """
        n = self.steps[0].numel() if self.steps else 0
        stack = (lambda ts: torch.stack([t.detach().float().cpu() for t in ts]) if ts else torch.zeros(0, n))
        return {"format": MEMORY_FORMAT, "steps": stack(self.steps), "changes": stack(self.changes),
                "scale": float(self.scale)}

    @classmethod
    def from_state(cls, state: dict, device: torch.device | str = "cpu") -> "Memory":
        """The memory ``to_state`` wrote; ValueError for anything else."""
        if not isinstance(state, dict) or state.get("format") != MEMORY_FORMAT:
            raise ValueError(f"not an L-BFGS memory of format {MEMORY_FORMAT}")
        steps, changes = state["steps"], state["changes"]
        if steps.shape != changes.shape or steps.dim() != 2:
            raise ValueError("an L-BFGS memory's steps and changes must be two (m, n) tables")
        return cls(tuple(s.to(device) for s in steps), tuple(c.to(device) for c in changes), float(state["scale"]))


class LBFGS:
    """Projected L-BFGS over one image (see the module doc).

    ``memory``: where to start (None or empty: afresh); ``history``: the
    most pairs kept; ``step_size``: the step's length along the L-BFGS
    direction. ``step(x, g)`` returns the next point; ``observe(g)`` takes
    the gradient there, which completes the curvature pair of that step.
    """

    def __init__(self, memory: Memory | None = None, history: int = 20, step_size: float = 1.0):
        memory = memory or Memory()
        self.history, self.step_size = history, step_size
        self._steps, self._changes, self._scale = list(memory.steps), list(memory.changes), memory.scale
        # rho = 1 / s'y of each pair, made once per pair (here, and in ``observe`` from the s'y it
        # tests), not once per step: a recursion over 20 pairs was 40 dot products more.
        self._rhos = [1.0 / float(y.dot(s)) for s, y in zip(self._steps, self._changes)]
        self._fresh = len(memory) == 0   # no curvature known: the first step is a short steepest descent
        self._last: tuple[torch.Tensor, torch.Tensor] | None = None   # (step taken, gradient before it)

    @property
    def memory(self) -> Memory:
        """What was learnt so far, as an immutable value."""
        return Memory(tuple(self._steps[-self.history:]), tuple(self._changes[-self.history:]), self._scale)

    def direction(self, grad: torch.Tensor) -> torch.Tensor:
        """-H g by the two-loop recursion (Nocedal & Wright, algorithm 7.4); grad (n,) -> (n,)."""
        # The alphas and betas stay on the device (0-dim tensors): no wait for the GPU inside the
        # recursion; each update is one fused in-place pass (addcmul_), no temporary vector.
        q = grad.neg()
        alphas = []
        for s, y, rho in zip(reversed(self._steps), reversed(self._changes), reversed(self._rhos)):
            alpha = s.dot(q) * rho
            q.addcmul_(y, alpha, value=-1.0)
            alphas.append(alpha)
        r = q.mul_(self._scale)
        for s, y, rho, alpha in zip(self._steps, self._changes, self._rhos, reversed(alphas)):
            r.addcmul_(s, alpha - y.dot(r) * rho)
        return r

    @torch.no_grad()
    def step(self, x: torch.Tensor, grad: torch.Tensor) -> torch.Tensor:
        """The next point from ``x`` (any shape) with gradient ``grad`` there, projected to [0, 1]."""
        g = grad.reshape(-1)
        d = self.direction(g)
        length = self.step_size
        if self._fresh:
            length *= min(1.0, 1.0 / float(g.abs().sum()))   # torch's first step: short steepest descent
            self._fresh = False
        nxt = (x + length * d.view_as(x)).clamp_(0.0, 1.0)
        self._last = ((nxt - x).reshape(-1), g)
        return nxt

    @torch.no_grad()
    def observe(self, grad: torch.Tensor) -> None:
        """The gradient at the point the last ``step`` returned: keep the curvature pair it makes."""
        if self._last is None:
            return
        s, g_before = self._last
        y = grad.reshape(-1) - g_before
        sy = float(y.dot(s))
        if sy > CURVATURE_EPS:
            self._steps.append(s)
            self._changes.append(y)
            self._rhos.append(1.0 / sy)
            del self._steps[:-self.history], self._changes[:-self.history], self._rhos[:-self.history]
            self._scale = sy / float(y.dot(y))
        self._last = None


class Adam:
    """Adam (torch.optim.Adam, through its public API) over one image, projected to [0, 1] after every step."""

    memory = None   # Adam keeps no memory worth carrying to another image

    def __init__(self, x: torch.Tensor, step_size: float):
        self._param = x.detach().clone().requires_grad_(True)
        self._opt = torch.optim.Adam([self._param], lr=step_size)

    def step(self, x: torch.Tensor, grad: torch.Tensor) -> torch.Tensor:
        with torch.no_grad():
            self._param.copy_(x)
        self._param.grad = grad.detach().view_as(self._param)
        self._opt.step()
        with torch.no_grad():
            return self._param.clamp_(0.0, 1.0).detach().clone()

    def observe(self, grad: torch.Tensor) -> None:
        pass


__all__ = ["Adam", "LBFGS", "MEMORY_FORMAT", "Memory"]
