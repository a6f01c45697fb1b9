"""The terms of the objective: each a small object with one job, the objective their weighted sum.

A term has a ``name`` (how progress, records and reports call it), a
``weight``, the VGG-19 ``layers`` it reads (none: it looks at the image
itself), and ``value(image, features)``: its unweighted value, a scalar
tensor. ``objective.Objective`` runs the network once for all the terms it
is given and sums ``weight * value``. Gatys et al. (2016) is two terms
(content and style); we add total variation and, for video, Ruder's
temporal term; a new term is one more class like these (docs/DEVELOPING.md,
"Adding a loss term"; tests/test_terms.py adds a toy one).

Images are (1, 3, H, W) BGR in [0, 1]; features ``{layer: (1, C, h, w)}``.
The functions the terms compute are in ``losses.py`` (with the paper's
normalisation and where we depart from it).
"""

from __future__ import annotations

from typing import Mapping, Sequence

import torch

from .losses import content_loss, gram, power, relative_mse, style_loss, temporal_loss, tv_loss


class Term:
    """One part of the objective (see the module doc). Subclasses set ``name`` and implement ``value``."""

    name: str = "term"
    layers: tuple[str, ...] = ()

    def __init__(self, weight: float):
        self.weight = float(weight)

    def value(self, image: torch.Tensor, features: Mapping[str, torch.Tensor]) -> torch.Tensor:
        """The unweighted value at ``image`` (1, 3, H, W), given ``features`` at ``self.layers``: a scalar."""
        raise NotImplementedError

    # Tiles (tiles.py): a term that reads layers and is a function of sums over positions says so with
    # these two; the tiled objective adds up ``tile_sums`` over the tiles and calls ``from_sums``.
    def tile_sums(self, inner: Mapping[str, torch.Tensor], window) -> dict[str, torch.Tensor]:
        """Statistics that add up over tiles, of one tile's own positions ``inner`` ``{layer: (1, C, h, w)}``.

        ``window`` (``tiles.Window``) says where they lie in the whole image's maps.
        """
        raise NotImplementedError

    def from_sums(self, sums: Mapping[str, torch.Tensor], window) -> torch.Tensor:
        """The unweighted value from the statistics ``tile_sums`` gave, summed over every tile: a scalar."""
        raise NotImplementedError

    def __repr__(self) -> str:
        return f"{type(self).__name__}(weight={self.weight:g})"


class Content(Term):
    """Gatys 2016, eq. 1: the image's features at the content layers match the content image's.

    ``targets``: ``{layer: (1, C, h, w)}``, the content image's features.
    """

    name = "content"

    def __init__(self, targets: Mapping[str, torch.Tensor], weight: float):
        super().__init__(weight)
        self.targets = dict(targets)
        self.layers = tuple(self.targets)
        self.powers = {n: power(t) for n, t in self.targets.items()}   # the targets' scale, once

    def value(self, image, features):
        # Features may be bf16 (the network's autocast); relative_mse takes the error in float32.
        return content_loss({n: features[n] for n in self.layers}, self.targets, self.powers)

    def tile_sums(self, inner, window):
        out = {}
        for n in self.layers:
            ys, xs = window.slices(n)
            out[n] = (inner[n].float() - self.targets[n][:, :, ys, xs]).pow(2).sum()
        return out

    def from_sums(self, sums, window):
        # content_loss's relative_mse: the mean squared error over the target's mean square, per layer.
        return torch.stack([sums[n] / self.targets[n].numel() / self.powers[n]
                            for n in self.layers]).mean()


class Style(Term):
    """Gatys 2016, eq. 5: the Gram matrices of the image's features match the style's.

    ``targets``: ``{layer: (1, C, C)}`` Gram matrices (a blend of several
    styles is one set of blended targets); ``layer_weights`` sum to 1.
    """

    name = "style"

    def __init__(self, targets: Mapping[str, torch.Tensor], layer_weights: Mapping[str, float], weight: float):
        super().__init__(weight)
        self.targets = dict(targets)
        self.layer_weights = dict(layer_weights)
        self.layers = tuple(self.targets)
        self.powers = {n: power(t) for n, t in self.targets.items()}   # the targets' scale, once

    def value(self, image, features):
        return style_loss(features, self.targets, self.layer_weights, self.powers)

    def tile_sums(self, inner, window):
        return {n: gram(inner[n]) * (inner[n].shape[2] * inner[n].shape[3]) for n in self.layers}

    def from_sums(self, sums, window):
        total = None
        for n, target in self.targets.items():
            h, w = window.full(n)
            g = sums[n] / (h * w)   # the whole image's Gram: F F^T over its positions
            term = self.layer_weights[n] * relative_mse(g, target.expand_as(g), self.powers[n])
            total = term if total is None else total + term
        return total


class GuidedStyle(Term):
    """Gatys et al. (2017), "Controlling Perceptual Factors in Neural Style Transfer", guided Gram matrices:
    each style matched only inside its own region (a matte).

    ``targets``: one ``{layer: (1, C, C)}`` per style; ``guides``: (K, 1,
    H, W) float in [0, 1] at the image's size, the k-th the region of the
    k-th style (where regions overlap, ``mattes.guides`` has shared each
    pixel out by weight). At each layer a guide is brought down to the
    layer's size by area averaging (the paper's simplest propagation), the
    features are weighted by it before the Gram matrix, and the Gram is
    divided by the guide's own sum of squares instead of h*w: the region's
    Gram is a mean over the region, comparable to the style's whatever its
    area, so a small region is painted as strongly as a large one. Each
    region's loss then counts by the share of the image it covers, so a
    pixel feels the pull it would in an unmasked run (benchmarks/regions.py
    measures both); an empty guide is left out.
    """

    name = "style"

    def __init__(self, targets: Sequence[Mapping[str, torch.Tensor]], guides: torch.Tensor,
                 layer_weights: Mapping[str, float], weight: float):
        super().__init__(weight)
        if guides.dim() != 4 or guides.shape[0] != len(targets) or guides.shape[1] != 1:
            raise ValueError(f"guides must be (K, 1, H, W) for {len(targets)} style(s), got {tuple(guides.shape)}")
        self.targets = [dict(t) for t in targets]
        self.powers = [{n: power(t) for n, t in k.items()} for k in self.targets]   # the targets' scale, once
        self.guides = guides.float()
        self.shares = self.guides.mean(dim=(1, 2, 3)).tolist()
        self.layer_weights = dict(layer_weights)
        self.layers = tuple(self.targets[0])
        self._at: dict[tuple[int, int], tuple[torch.Tensor, list[float]]] = {}

    def _guides_at(self, size: tuple[int, int]) -> tuple[torch.Tensor, list[float]]:
        """(K, 1, h, w) guides at a layer's size and their K sums of squares, computed once per size."""
        if size not in self._at:
            g = self.guides if tuple(self.guides.shape[2:]) == size else \
                torch.nn.functional.interpolate(self.guides, size=size, mode="area")
            self._at[size] = (g, g.pow(2).sum(dim=(1, 2, 3)).tolist())
        return self._at[size]

    def value(self, image, features):
        total = image.new_zeros((), dtype=torch.float32)
        for k, (targets, share) in enumerate(zip(self.targets, self.shares)):
            if share <= 0:
                continue
            for layer, target in targets.items():
                f = features[layer]
                guides, energy = self._guides_at(tuple(f.shape[2:]))
                if energy[k] <= 0:
                    continue
                g = gram(f * guides[k:k + 1].to(f.dtype)) * (f.shape[2] * f.shape[3] / energy[k])
                total = total + share * self.layer_weights[layer] * relative_mse(g, target.expand_as(g),
                                                                                 self.powers[k][layer])
        return total

    def tile_sums(self, inner, window):
        out = {}
        for k, (targets, share) in enumerate(zip(self.targets, self.shares)):
            for layer in targets:
                f = inner[layer]
                guides, energy = self._guides_at(window.full(layer))
                if share <= 0 or energy[k] <= 0:
                    continue
                ys, xs = window.slices(layer)
                out[f"{k}:{layer}"] = gram(f * guides[k:k + 1, :, ys, xs].to(f.dtype)) * (f.shape[2] * f.shape[3])
        return out

    def from_sums(self, sums, window):
        total = None
        for k, (targets, share) in enumerate(zip(self.targets, self.shares)):
            for layer, target in targets.items():
                if f"{k}:{layer}" not in sums:
                    continue
                _, energy = self._guides_at(window.full(layer))
                g = sums[f"{k}:{layer}"] / energy[k]
                term = share * self.layer_weights[layer] * relative_mse(g, target.expand_as(g), self.powers[k][layer])
                total = term if total is None else total + term
        return total if total is not None else torch.zeros(())


class TotalVariation(Term):
    """Not in Gatys 2016: a little smoothness removes the optimiser's high-frequency speckle."""

    name = "tv"

    def value(self, image, features):
        return tv_loss(image)


class Temporal(Term):
    """Ruder et al. (2016), eq. 5: hold the image to ``target`` (the warped previous output) where ``mask`` is 1.

    target (1, 3, H, W), mask (1, 1, H, W) in [0, 1]; ``sigma`` > 0 holds
    only the low frequencies of the difference (a departure: the finest
    strokes, which every warp softens, are left to the style term).
    """

    name = "temporal"

    def __init__(self, target: torch.Tensor, mask: torch.Tensor, weight: float, sigma: float = 0.0):
        super().__init__(weight)
        self.target, self.mask, self.sigma = target, mask, float(sigma)

    def value(self, image, features):
        return temporal_loss(image, self.target, self.mask, self.sigma)


def layers_of(terms: Sequence[Term]) -> tuple[str, ...]:
    """Every VGG layer the terms read, each once, in first-asked order."""
    return tuple(dict.fromkeys(layer for term in terms for layer in term.layers))


__all__ = ["Content", "GuidedStyle", "Style", "Temporal", "Term", "TotalVariation", "layers_of"]
