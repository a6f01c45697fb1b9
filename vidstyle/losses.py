"""The loss terms of Gatys et al. (2016), normalised so defaults travel.

Where we depart from the paper, and why:

* The paper's content loss is a *sum* of squared errors and its style loss
  divides by ``4 N^2 M^2``; the content/style ratio that looks right then
  depends on the image size and on the network's activation scale. Here both
  terms are *relative* mean squared errors: divided by the mean square of
  their target. Each term is ~1 for an unrelated image and 0 at a perfect
  match, whatever the size (128 px or 1024 px), the style image, or the
  weights (Caffe 0..255 or torchvision 0..1 activations). The same default
  weights therefore work everywhere.
* Gram matrices are divided by the number of positions ``H*W`` (the paper's
  ``M_l``), so a style's Gram does not change with the size it is seen at.
* Style layers are weighted equally by default (the paper's ``w_l = 1/5``);
  weights given are normalised to sum to 1.

All functions take batched tensors; B is 1 in practice.
"""

from __future__ import annotations

import torch

EPS = 1e-8   # keeps a relative error finite against an all-zero target


class _Gram(torch.autograd.Function):
    """``F F^T / M`` -> float32 (B, C, C), with a one-product backward.

    F comes as (B, C, M), or as (B, M, C) when ``by_rows`` (a channels-last
    map's own memory, read without a copy; the product is then F^T F).
    Autograd's generic backward of ``bmm(F, F^T)`` does two (C x C) @ (C x M)
    products; since the gradient of F F^T is ``(G' + G'^T) F``, one suffices.
    The product runs in F's dtype (bf16 when the network does), the small
    result is returned in float32 for the loss; the scale 1/M is applied to
    the small matrices, never to the large F. Together this keeps the
    optimiser's overhead over a bare VGG pass small (benchmarks/engine_speed.py).
    """

    @staticmethod
    def forward(ctx, flat: torch.Tensor, by_rows: bool) -> torch.Tensor:
        ctx.save_for_backward(flat)
        ctx.by_rows = by_rows
        out_dtype = torch.promote_types(flat.dtype, torch.float32)  # bf16 -> fp32, fp64 stays
        rows = flat.transpose(1, 2) if by_rows else flat            # (B, C, M) either way
        return torch.bmm(rows, rows.transpose(1, 2)).to(out_dtype) / rows.shape[2]

    @staticmethod
    def backward(ctx, grad: torch.Tensor) -> tuple[torch.Tensor, None]:
        (flat,) = ctx.saved_tensors
        m = flat.shape[1] if ctx.by_rows else flat.shape[2]
        sym = ((grad + grad.transpose(1, 2)) / m).to(flat.dtype)   # (B, C, C), symmetric
        return (torch.bmm(flat, sym) if ctx.by_rows else torch.bmm(sym, flat)), None


def gram(features: torch.Tensor) -> torch.Tensor:
    """Gram matrix ``F F^T / (H W)``: (B, C, H, W) -> (B, C, C), at least float32.

    Reads NCHW and channels-last maps where they lie (``vgg.VGG19Features.use_channels_last``).
    """
    if features.dim() != 4:
        raise ValueError(f"gram expects (B, C, H, W), got {tuple(features.shape)}")
    b, c, h, w = features.shape
    if not features.is_contiguous() and features.is_contiguous(memory_format=torch.channels_last):
        return _Gram.apply(features.permute(0, 2, 3, 1).reshape(b, h * w, c), True)
    return _Gram.apply(features.reshape(b, c, h * w), False)


def power(target: torch.Tensor) -> torch.Tensor:
    """``mean(target^2) + EPS``, relative_mse's denominator: any shape -> scalar (a term makes it once)."""
    return target.pow(2).mean() + EPS


def relative_mse(value: torch.Tensor, target: torch.Tensor, target_power: torch.Tensor | None = None) -> torch.Tensor:
    """``mean((value - target)^2) / mean(target^2)``: same shapes -> scalar (``target_power``: ``power(target)``)."""
    if value.shape != target.shape:
        raise ValueError(f"shape mismatch: {tuple(value.shape)} vs {tuple(target.shape)}")
    # mse_loss is one fused operation forward and one backward (sub, pow and mean were three each)
    return torch.nn.functional.mse_loss(value, target) / (power(target) if target_power is None else target_power)


def content_loss(features: dict[str, torch.Tensor], targets: dict[str, torch.Tensor],
                 powers: dict[str, torch.Tensor] | None = None) -> torch.Tensor:
    """Mean relative feature error over the content layers -> scalar.

    ``features[l]`` and ``targets[l]`` are (B, C_l, H_l, W_l); ``powers[l]``: ``power(targets[l])``, if made.
    """
    terms = [relative_mse(features[name], target, None if powers is None else powers[name])
             for name, target in targets.items()]
    return torch.stack(terms).mean()


def style_loss(features: dict[str, torch.Tensor], target_grams: dict[str, torch.Tensor],
               layer_weights: dict[str, float], powers: dict[str, torch.Tensor] | None = None) -> torch.Tensor:
    """Weighted relative Gram error over the style layers -> scalar.

    ``features[l]``: (B, C_l, H_l, W_l); ``target_grams[l]``: (B or 1, C_l, C_l);
    ``layer_weights`` sum to 1; ``powers[l]``: ``power(target_grams[l])``, if made.
    """
    total = None
    for name, target in target_grams.items():
        g = gram(features[name])
        term = layer_weights[name] * relative_mse(g, target.expand_as(g), None if powers is None else powers[name])
        total = term if total is None else total + term
    return total


def tv_loss(image: torch.Tensor) -> torch.Tensor:
    """Total variation: mean squared difference of neighbours, (B, C, H, W) -> scalar.

    Not in Gatys 2016; a small amount removes the high-frequency speckle the
    optimiser otherwise leaves (as in Johnson's neural-style and Ruder 2016).
    """
    dx = image[..., :, 1:] - image[..., :, :-1]
    dy = image[..., 1:, :] - image[..., :-1, :]
    return dx.pow(2).mean() + dy.pow(2).mean()


def temporal_loss(image: torch.Tensor, target: torch.Tensor, mask: torch.Tensor, sigma: float = 0.0) -> torch.Tensor:
    """Ruder et al. (2016), eq. 5: ``(1/D) sum c (x - w)^2`` -> scalar.

    image, target: (B, C, H, W); mask c: (B, 1, H, W) in [0, 1] (1 where the
    flow is reliable); D = number of pixel values. Values are in [0, 1].
    ``sigma`` > 0: the difference is low-passed first (a Gaussian of that
    many pixels), so only the picture's structure is held and its finest
    strokes are left to the style loss (see ``lowpass``).
    """
    if image.shape != target.shape or mask.shape[-2:] != image.shape[-2:]:
        raise ValueError(f"shape mismatch: {tuple(image.shape)}, {tuple(target.shape)}, {tuple(mask.shape)}")
    diff = image - target
    if sigma > 0:
        diff = lowpass(diff, sigma)
    return (mask * diff.pow(2)).mean()


def lowpass(image: torch.Tensor, sigma: float) -> torch.Tensor:
    """A separable Gaussian blur of ``sigma`` px, edges replicated: (B, C, H, W) -> (B, C, H, W)."""
    radius = max(1, int(round(3 * sigma)))
    x = torch.arange(-radius, radius + 1, device=image.device, dtype=image.dtype)
    kernel = torch.exp(-0.5 * (x / sigma) ** 2)
    kernel = kernel / kernel.sum()
    c = image.shape[1]
    padded = torch.nn.functional.pad(image, (radius, radius, 0, 0), mode="replicate")
    out = torch.nn.functional.conv2d(padded, kernel.view(1, 1, 1, -1).expand(c, 1, 1, -1), groups=c)
    padded = torch.nn.functional.pad(out, (0, 0, radius, radius), mode="replicate")
    return torch.nn.functional.conv2d(padded, kernel.view(1, 1, -1, 1).expand(c, 1, -1, 1), groups=c)


def blend_grams(per_style: list[dict[str, torch.Tensor]], blend: list[float]) -> dict[str, torch.Tensor]:
    """Blend several styles' Grams with weights summing to 1.

    Matching the weighted mean of the Grams (rather than summing one loss per
    style) keeps one target per layer: a blend costs no more than one style.
    ``per_style[k][l]``: (1, C_l, C_l) -> ``{l: (1, C_l, C_l)}``.
    """
    out = {}
    for name in per_style[0]:
        out[name] = sum(w * grams[name] for w, grams in zip(blend, per_style))
    return out
