"""vidstyle's own L-BFGS: the compact form, no line search, every step projected to [0, 1].

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

import numpy as np
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
        """The same memory with only its last ``pairs`` pairs (what a warm frame carries on).

        Fewer pairs are copies: an optimiser's memory is views of its whole
        table (``LBFGS.memory``), which they would otherwise keep alive.
        """
        if pairs >= len(self):
            return self
        keep = (lambda ts: tuple(t.clone() for t in ts[-pairs:]) if pairs else ())
        return Memory(keep(self.steps), keep(self.changes), self.scale)

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

    The direction is computed in the compact form of Byrd, Nocedal &
    Schnabel (1994), "Representations of quasi-Newton matrices and their
    use in limited memory methods", eq. (3.1): the same ``H g`` as the
    two-loop recursion (Nocedal & Wright, algorithm 7.4), from the pairs'
    products with the gradient (one matrix-vector product), (k, k) algebra
    on the host in float64, and one product back, instead of 2k dot
    products and 2k vector updates in a Python loop. The pairs lie
    interleaved in one (history, 2, n) table, so each product reads it
    once. On a 2-core CPU with 20 pairs: 1.2 ms against 1.6 ms a step at
    256x144, 5 ms against 10 ms at 512x288. A new pair's products with the
    older ones come from the gradients' (s_i'y = s_i'g_new - s_i'g_old),
    not from another pass over the table. On a GPU the host algebra costs
    no extra wait: ``observe`` reads s'y on the host anyway.
    """

    def __init__(self, memory: Memory | None = None, history: int = 20, step_size: float = 1.0):
        memory = memory or Memory()
        self.history, self.step_size = history, step_size
        self._scale = memory.scale
        self._fresh = len(memory) == 0   # no curvature known: the first step is a short steepest descent
        # The pairs: row i of ``_pairs`` (history, 2, n) holds (s_i, y_i); a ring, the oldest at row
        # ``_head`` once it is full. On the host, oldest first, float64: ``_sy`` (k, k) s_i'y_j for
        # i <= j (R and D of the compact form; 0 below the diagonal) and ``_yy`` (k, k) y_i'y_j.
        self._pairs = None
        self._shared = False   # a Memory handed out holds views of the table: copy it before writing
        self._sy = self._yy = np.zeros((0, 0))
        self._count = self._head = 0
        steps, changes = memory.steps[-history:], memory.changes[-history:]
        if steps:
            self._allocate(steps[0])
            for i, (s, y) in enumerate(zip(steps, changes)):   # row by row: no stacked copy beside the table
                self._pairs[i, 0], self._pairs[i, 1] = s, y
            self._count = len(steps)
            table = self._pairs[:self._count]
            self._sy = np.triu((table[:, 0] @ table[:, 1].T).double().cpu().numpy())
            self._yy = (table[:, 1] @ table[:, 1].T).double().cpu().numpy()
        self._last = None   # (step taken, gradient before it, the pairs' products with that gradient)
        self._seen = None   # (gradient given to observe, the pairs' products with it)

    def _allocate(self, like: torch.Tensor) -> None:
        # Uninitialised: rows not yet written are never read, and their pages are not touched (a 4K
        # plate's pair is 200 MB), so the table's memory grows with the pairs as a list's would.
        self._pairs = like.new_empty(self.history, 2, like.numel(), dtype=torch.float32)

    def _table(self) -> torch.Tensor:
        """The held pairs as (2k, n) rows s, y, s, y, ... in the table's order (a view)."""
        return self._pairs[:self._count].view(2 * self._count, -1)

    def _products(self, vector: torch.Tensor) -> np.ndarray:
        """(s_i'v, y_i'v) for the held pairs, oldest first: (n,) -> (k, 2) float64 on the host."""
        out = (self._table() @ vector).view(self._count, 2).double().cpu().numpy()
        return np.roll(out, -self._head, 0)

    @property
    def memory(self) -> Memory:
        """What was learnt so far, as an immutable value.

        Its tensors are views of the table, not copies (a plate's memory is a
        gigabyte): the table is copied before this optimiser next writes to it.
        """
        rows = [(self._head + i) % self.history for i in range(self._count)]
        self._shared = True
        return Memory(tuple(self._pairs[r, 0] for r in rows), tuple(self._pairs[r, 1] for r in rows), self._scale)

    def direction(self, grad: torch.Tensor, products: np.ndarray | None = None) -> torch.Tensor:
        """-H g: grad (n,) -> (n,); ``products``: ``_products(grad)`` (k, 2), if already made."""
        gamma, k = self._scale, self._count
        if k == 0:
            return grad.mul(-gamma)
        if products is None:
            products = self._products(grad)
        u, v = products[:, 0], products[:, 1]                                   # S'g, Y'g
        r = self._sy                                                             # R, D on its diagonal
        p = np.linalg.solve(r, u)                                                # R^-1 S'g
        top = np.linalg.solve(r.T, np.diag(r) * p + gamma * (self._yy @ p - v))  # R^-T ((D + gamma Y'Y) p - gamma Y'g)
        # -H g = -gamma g - S top + gamma Y p: one product with the table, coefficients in its order
        coef = np.roll(np.stack([-top, gamma * p], 1), self._head, 0).reshape(-1)
        coef = torch.from_numpy(coef).to(device=grad.device, dtype=grad.dtype)
        return torch.addmv(grad, self._table().T, coef, beta=-gamma)

    @torch.no_grad()
    def step(self, x: torch.Tensor, grad: torch.Tensor) -> torch.Tensor:
        """The next point from ``x`` (any shape) with gradient ``grad`` there, projected to [0, 1]."""
        g = grad.reshape(-1)
        products = self._seen[1] if self._seen is not None and self._seen[0] is grad else \
            (self._products(g) if self._count else None)
        d = self.direction(g, products)
        length = self.step_size
        if self._fresh:
            length *= min(1.0, 1.0 / float(g.abs().sum()))   # torch's first step: short steepest descent
            self._fresh = False
        nxt = torch.add(x, d.view_as(x), alpha=length).clamp_(0.0, 1.0)
        self._last = ((nxt - x).reshape(-1), g, products)
        self._seen = None
        return nxt

    @torch.no_grad()
    def observe(self, grad: torch.Tensor) -> None:
        """The gradient at the point the last ``step`` returned: keep the curvature pair it makes.

        The pairs' products with this gradient are made here, once, for the
        new pair's column and for the ``step`` that follows from this point.
        """
        self._seen = None
        if self._last is None:
            return
        s, g_before, before = self._last
        self._last = None
        g = grad.reshape(-1)
        y = g - g_before
        k = self._count
        now = self._products(g) if k else np.zeros((0, 2))                   # (k, 2): S'g, Y'g
        sy, yy, sg, yg = torch.stack([y.dot(s), y.dot(y), s.dot(g), y.dot(g)]).double().tolist()
        if sy <= CURVATURE_EPS:
            self._seen = (grad, now) if k else None
            return
        if self._pairs is None:
            self._allocate(g)
        elif self._shared:   # a new table for the pairs held, the handed-out memory keeps the old one
            table, k_held = self._pairs, self._count
            self._allocate(g)
            self._pairs[:k_held] = table[:k_held]
            self._shared = False
        drop = int(k == self.history)                                          # the oldest pair goes
        row = self._head if drop else k
        self._head = (self._head + drop) % self.history
        self._count = k + 1 - drop
        self._pairs[row, 0], self._pairs[row, 1] = s, y
        column = (now - before)[drop:] if k else now                          # s_i'y, y_i'y, pairs kept
        m = self._count
        sy_t, yy_t = np.zeros((m, m)), np.zeros((m, m))
        sy_t[:-1, :-1], yy_t[:-1, :-1] = self._sy[drop:, drop:], self._yy[drop:, drop:]
        sy_t[:-1, -1], yy_t[:-1, -1], yy_t[-1, :-1] = column[:, 0], column[:, 1], column[:, 1]
        sy_t[-1, -1], yy_t[-1, -1] = sy, yy
        self._sy, self._yy = sy_t, yy_t
        self._scale = sy / yy
        self._seen = (grad, np.concatenate([now[drop:], [[sg, yg]]]))


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
