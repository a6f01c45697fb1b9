"""The objective: the weighted sum of the terms it is given, over one image, one network pass.

``Objective(net, terms)`` evaluates ``sum(term.weight * term.value)`` at an
image: the network runs once, to the deepest layer any term reads, and
every term reads its layers from that pass. ``evaluate`` also gives the
gradient with respect to the image and each term's weighted value by name,
with a single wait for the device: the optimiser needs the total on the
host every iteration anyway (best point, early stop).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Sequence

import torch

from .terms import Term, layers_of


@dataclass(frozen=True)
class Evaluation:
    """The objective at one point: its value, each term's weighted value, the gradient (same shape as the image)."""

    loss: float
    losses: dict[str, float]
    grad: torch.Tensor
    flat: bool   # the gradient is exactly 0: a stationary point (a flat objective) where no step helps


class Objective:
    """``sum(term.weight * term.value(image, features))`` (see the module doc).

    ``net``: a ``vgg.VGG19Features`` (its memory layout is its own: the
    image itself stays contiguous for the optimiser); ``terms``: with
    distinct names; ``bf16``: run the convolutions (and the Gram products)
    in bfloat16, the terms summed in float32.
    """

    def __init__(self, net, terms: Sequence[Term], *, bf16: bool = False):
        names = [t.name for t in terms]
        if len(set(names)) != len(names):
            raise ValueError(f"two terms share a name: {names}")
        self.net, self.terms = net, list(terms)
        self.layers = layers_of(self.terms)
        self.bf16 = bf16
        self.device_type = next(net.parameters()).device.type

    def __call__(self, image: torch.Tensor) -> tuple[torch.Tensor, dict[str, torch.Tensor]]:
        """The total and each term's weighted value at ``image`` (1, 3, H, W): scalar tensors, in the graph."""
        features = {}
        if self.layers:
            with torch.autocast(self.device_type, dtype=torch.bfloat16, enabled=self.bf16):
                features = self.net(image, self.layers)
        parts = {t.name: t.weight * t.value(image, features) for t in self.terms}
        total = sum(parts.values(), image.new_zeros(()))
        return total, parts

    def evaluate(self, image: torch.Tensor) -> Evaluation:
        """The objective and its gradient at ``image`` (1, 3, H, W), one wait for the device."""
        x = image.detach().requires_grad_(True)
        total, parts = self(x)
        (grad,) = torch.autograd.grad(total, x)
        values = torch.stack([total.detach(), grad.abs().max().to(total.dtype),
                              *(v.detach().to(total.dtype) for v in parts.values())]).tolist()
        return Evaluation(values[0], dict(zip(parts, values[2:])), grad, values[1] == 0.0)


__all__ = ["Evaluation", "Objective"]
