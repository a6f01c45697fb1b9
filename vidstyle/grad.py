"""Autograd for the optimiser whatever mode its caller runs in.

The optimiser needs gradients of the loss with respect to the image, so it
needs autograd. Hosts do not always leave it on: ComfyUI runs every node
inside ``torch.inference_mode()`` (its ``execution.py``), others wrap
plugins in ``torch.no_grad()``. Under inference mode every tensor made is an
"inference tensor" that autograd may never save for a backward pass (the
network's weights, the targets, the start image), and ``backward()`` finds
no graph at all.

``autograd_on`` wraps the library's entry points that make or use tensors
(the network and targets in ``Stylizer``, the optimisation, a frame's
render): inside them inference mode is off and gradients are on, so a call
gives the same bytes whatever the caller's mode. Tensors a caller hands in
that were made under inference mode are copied once (``normal``).
"""

from __future__ import annotations

import functools
from typing import Callable, TypeVar

import torch

F = TypeVar("F", bound=Callable)


def autograd_on(function: F) -> F:
    """Run ``function`` with inference mode off and gradients on (restored afterwards)."""
    @functools.wraps(function)
    def wrapper(*args, **kwargs):
        with torch.inference_mode(False), torch.enable_grad():
            return function(*args, **kwargs)

    return wrapper  # type: ignore[return-value]


def normal(tensor: torch.Tensor) -> torch.Tensor:
    """``tensor``, or a copy of it when it was made under inference mode (autograd may not save those)."""
    if tensor.is_inference():
        with torch.inference_mode(False):
            return tensor.clone()
    return tensor


__all__ = ["autograd_on", "normal"]
