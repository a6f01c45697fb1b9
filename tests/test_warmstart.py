"""Warm-start rules as objects: each decides a warm frame's start, extra terms and budget in one place."""

from __future__ import annotations

import numpy as np
import pytest

from vidstyle import ConfigError, FrameStylizer
from vidstyle.options import WARM_STARTS
from vidstyle.warmstart import RULES, Carry, Flow, Independent, Previous, rule_for

from .conftest import OPTS, VOPTS, moving_square


def test_the_rules_are_the_choices_of_warm_start():
    assert tuple(RULES) == WARM_STARTS == ("flow", "previous", "none")
    assert isinstance(rule_for("flow"), Flow) and isinstance(rule_for("previous"), Previous)
    assert isinstance(rule_for("none"), Independent) and rule_for(Flow(plateau=0.01)).plateau == 0.01
    with pytest.raises(ConfigError, match="flow, previous, none"):
        rule_for("optical")


@pytest.mark.parametrize("name", ["flow", "previous", "none"])
def test_each_rule_decides_start_terms_and_budget(style, name):
    stylizer = FrameStylizer(style, OPTS, VOPTS.replace(warm_start=name))
    frames = moving_square(2)
    first = stylizer.process(frames[0])
    src = stylizer.analyse(frames[1])
    carry = Carry(first, stylizer.memory)
    made = stylizer.rule.plan(src, carry, OPTS, VOPTS, stylizer.engine)
    if name == "none":
        assert made.plan == stylizer.rule.first_frame() and stylizer.memory is None
    else:
        assert made.plan.iterations == VOPTS.warm_iterations and made.plan.scales == 1
        assert made.plan.memory is carry.memory and len(carry.memory) > 0
    if name == "flow":
        assert [t.name for t in made.plan.terms] == ["temporal"] and 0 < made.reliable_fraction <= 1
        assert not np.array_equal(made.plan.init, first)      # warped along the flow
    if name == "previous":
        assert made.plan.terms == () and made.plan.init is first


def test_a_rule_object_can_be_given_instead_of_a_name(style):
    """How benchmarks/warm_frames.py runs its candidates."""
    stylizer = FrameStylizer(style, OPTS.replace(tolerance=1e-3), VOPTS, rule=Flow(min_iterations=2, plateau=0.5,
                                                                               patience=1))
    for f in moving_square(3):
        stylizer.process(f)
    assert stylizer.record.iterations == 2 and stylizer.record.losses["temporal"] > 0
