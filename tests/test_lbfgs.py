"""vidstyle's own L-BFGS: the same iterates as torch's where the projection does nothing, a memory that is a value."""

from __future__ import annotations

import pytest
import torch

from vidstyle.lbfgs import LBFGS, MEMORY_FORMAT, Memory


def quadratic(n=12, seed=0):
    """f(x) = 1/2 (x - m)' A (x - m) with its minimum m inside [0, 1]^n: gradient A (x - m)."""
    g = torch.Generator().manual_seed(seed)
    q = torch.linalg.qr(torch.randn(n, n, generator=g))[0]
    a = q @ torch.diag(torch.linspace(0.5, 4.0, n)) @ q.T
    m = 0.3 + 0.4 * torch.rand(n, generator=g)
    return (lambda x: 0.5 * (x - m) @ a @ (x - m)), (lambda x: a @ (x - m)), m


def test_the_same_iterates_as_torch_lbfgs_without_a_line_search():
    f, grad, _ = quadratic()
    x0 = torch.full((12,), 0.5)
    # torch's L-BFGS, one step per call, no line search (what vidstyle used before its own).
    x = x0.clone().requires_grad_(True)
    opt = torch.optim.LBFGS([x], lr=1.0, max_iter=1, history_size=20, tolerance_grad=0.0, tolerance_change=0.0)
    theirs = []
    for _ in range(8):
        def closure():
            opt.zero_grad()
            loss = f(x)
            loss.backward()
            return loss
        opt.step(closure)
        theirs.append(x.detach().clone())
    ours, mine = [], LBFGS(history=20, step_size=1.0)
    y = x0.clone()
    for _ in range(8):
        g = grad(y)
        mine.observe(g)
        y = mine.step(y, g)
        ours.append(y)
    for a, b in zip(theirs, ours):
        assert torch.allclose(a, b, atol=1e-5)


def test_steps_are_projected_and_the_memory_remembers_the_step_taken():
    f, grad, _ = quadratic()
    opt = LBFGS(step_size=1.0)
    x = torch.full((12,), 0.5)
    for _ in range(20):
        g = grad(x)
        opt.observe(g)
        x = opt.step(x, -50 * g.abs() - 1)    # a gradient that pushes every pixel above 1
        assert float(x.max()) <= 1.0 and float(x.min()) >= 0.0


def test_it_minimises_and_its_memory_goes_on_elsewhere():
    f, grad, m = quadratic()
    opt, x = LBFGS(), torch.full((12,), 0.5)
    for _ in range(30):
        g = grad(x)
        opt.observe(g)
        x = opt.step(x, g)
    assert torch.allclose(x, m, atol=1e-4)
    memory = opt.memory
    assert 0 < len(memory) <= 20 and memory.scale > 0
    # A fresh optimiser's first step is a short steepest descent; one given the memory steps like L-BFGS.
    start = torch.full((12,), 0.9)
    fresh, warm = LBFGS(), LBFGS(memory)
    assert f(warm.step(start, grad(start))) < 0.2 * f(fresh.step(start, grad(start)))


def test_a_memory_is_a_value_that_round_trips_and_moves():
    steps = (torch.arange(6.0), torch.ones(6))
    memory = Memory(steps, (torch.ones(6), torch.arange(6.0) * 2), 0.25)
    state = memory.to_state()
    assert state["format"] == MEMORY_FORMAT and state["steps"].shape == (2, 6)
    back = Memory.from_state(state)
    assert len(back) == 2 and back.scale == 0.25 and torch.equal(back.changes[1], memory.changes[1])
    assert len(memory.recent(1)) == 1 and torch.equal(memory.recent(1).steps[0], steps[1])
    assert memory.to("cpu").steps[0].device.type == "cpu"
    assert len(Memory.from_state(Memory().to_state())) == 0     # an empty memory is a memory too
    with pytest.raises(ValueError):
        Memory.from_state({"format": "torch.optim", "H_diag": 1})


def two_loop(memory: Memory, g: torch.Tensor) -> torch.Tensor:
    """-H g by Nocedal & Wright's algorithm 7.4, the textbook form, from a memory's pairs."""
    q, alphas = g.clone().double(), []
    pairs = [(s.double(), y.double()) for s, y in zip(memory.steps, memory.changes)]
    for s, y in reversed(pairs):
        alphas.append(s.dot(q) / y.dot(s))
        q -= alphas[-1] * y
    r = memory.scale * q
    for (s, y), alpha in zip(pairs, reversed(alphas)):
        r += s * (alpha - y.dot(r) / y.dot(s))
    return -r


@pytest.mark.parametrize("history", [3, 20])
def test_the_compact_direction_is_the_two_loop_recursions_also_after_the_oldest_pairs_go(history):
    f, grad, _ = quadratic(n=40, seed=1)
    opt, x = LBFGS(history=history), torch.full((40,), 0.5)
    for i in range(12):
        g = grad(x)
        opt.observe(g)
        if len(opt.memory):
            assert len(opt.memory) == min(i, history)
            torch.testing.assert_close(opt.direction(g), two_loop(opt.memory, g).float(), rtol=1e-4, atol=1e-6)
        x = opt.step(x, g)
    # and from a memory handed over (the pairs it keeps are its last ``history``)
    again = LBFGS(opt.memory, history=2)
    g = grad(x)
    torch.testing.assert_close(again.direction(g), two_loop(opt.memory.recent(2), g).float(), rtol=1e-4, atol=1e-6)


def test_a_memory_handed_out_stays_as_it_was_while_the_optimiser_goes_on():
    # LBFGS.memory is views of the optimiser's table (no copy of a plate's gigabyte): the table is
    # copied before the next write, so the value never changes under its holder.
    f, grad, _ = quadratic()
    opt, x = LBFGS(history=3), torch.full((12,), 0.5)
    for _ in range(4):
        g = grad(x)
        opt.observe(g)
        x = opt.step(x, g)
    before = opt.memory
    copies = [t.clone() for t in before.steps + before.changes]
    for _ in range(5):
        g = grad(x)
        opt.observe(g)
        x = opt.step(x, g)
    assert all(torch.equal(a, b) for a, b in zip(before.steps + before.changes, copies))
    assert not torch.equal(opt.memory.steps[-1], before.steps[-1])
    # a shorter memory is its own copy, not a view that keeps the whole table alive
    short = opt.memory.recent(1)
    assert short.steps[0].untyped_storage().nbytes() == 12 * 4
