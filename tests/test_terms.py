"""The objective as a sum of named terms, and a new term added without touching the engine."""

from __future__ import annotations

import numpy as np
import pytest
import torch

import vidstyle
from vidstyle import StyleOptions
from vidstyle.engine import Plan, Stylizer
from vidstyle.objective import Objective
from vidstyle.terms import Term

from .conftest import FAST, make_content, make_style


class MeanColour(Term):
    """A toy term: the image's mean colour should be ``colour`` (B, G, R in [0, 1]). Reads no layer."""

    name = "mean_colour"

    def __init__(self, colour, weight: float):
        super().__init__(weight)
        self.colour = torch.tensor(colour, dtype=torch.float32).view(1, 3)

    def value(self, image, features):
        return (image.mean(dim=(2, 3)) - self.colour.to(image.device)).pow(2).mean()


def _px(img):
    return img.astype(np.float32) / 255


def test_a_new_term_is_one_class_and_the_engine_sums_it_by_name():
    opts = StyleOptions(**{**FAST, "iterations": 20})
    engine = Stylizer([_px(make_style())], opts)
    content = _px(make_content())
    plain = engine.run(content, Plan())
    seen = []
    red = engine.run(content, Plan(terms=(MeanColour((0.0, 0.0, 1.0), 50.0),)), seen.append)
    assert set(seen[-1].losses) == {"content", "style", "tv", "mean_colour"}
    assert seen[-1].loss == pytest.approx(sum(seen[-1].losses.values()), rel=1e-5)
    assert red.image[..., 2].mean() > plain.image[..., 2].mean() + 0.05      # pulled towards red (BGR)
    assert seen[-1].losses["mean_colour"] < seen[0].losses["mean_colour"]


def test_the_objective_runs_the_network_once_for_every_term_and_refuses_two_names_alike():
    engine = Stylizer([_px(make_style())], StyleOptions(**FAST))
    content = vidstyle.images.to_tensor(_px(make_content()))
    objective = engine.objective(content)
    assert [t.name for t in objective.terms] == ["content", "style", "tv"]
    assert set(objective.layers) == {"relu4_2", "relu1_1", "relu2_1", "relu3_1", "relu4_1", "relu5_1"}
    evaluation = objective.evaluate(content)
    assert evaluation.losses["content"] == pytest.approx(0.0, abs=1e-6) and evaluation.grad.shape == content.shape
    with pytest.raises(ValueError, match="share a name"):
        Objective(engine.net, [MeanColour((0, 0, 0), 1), MeanColour((1, 1, 1), 1)])


def test_a_term_weighted_zero_is_left_out():
    engine = Stylizer([_px(make_style())], StyleOptions(**{**FAST, "tv_weight": 0.0}))
    content = vidstyle.images.to_tensor(_px(make_content()))
    assert [t.name for t in engine.terms(content, [MeanColour((0, 0, 0), 0.0)])] == ["content", "style"]
