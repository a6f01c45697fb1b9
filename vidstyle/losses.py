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


def _rows(features: torch.Tensor) -> tuple[torch.Tensor, bool]:
    """(B, C, H, W) -> its positions as (B, C, M), or (B, M, C) with True for a channels-last map (no copy)."""
    if features.dim() != 4:
        raise ValueError(f"gram expects (B, C, H, W), got {tuple(features.shape)}")
    b, c, h, w = features.shape
    if not features.is_contiguous() and features.is_contiguous(memory_format=torch.channels_last):
        return features.permute(0, 2, 3, 1).reshape(b, h * w, c), True
    return features.reshape(b, c, h * w), False


def gram(features: torch.Tensor) -> torch.Tensor:
    """Gram matrix ``F F^T / (H W)``: (B, C, H, W) -> (B, C, C), at least float32.

    Reads NCHW and channels-last maps where they lie (``vgg.VGG19Features.use_channels_last``).
    """
    return _Gram.apply(*_rows(features))


def _flat(t: torch.Tensor) -> torch.Tensor:
    """A contiguous or channels-last tensor's elements as one vector, without a copy (in memory order)."""
    if not t.is_contiguous() and t.dim() == 4 and t.is_contiguous(memory_format=torch.channels_last):
        return t.permute(0, 2, 3, 1).reshape(-1)
    return t.reshape(-1)


def _sum_of_squares(t: torch.Tensor) -> torch.Tensor:
    """sum(t^2) -> 0-dim, as one dot product (pow and sum were two passes)."""
    flat = _flat(t)
    return torch.dot(flat, flat)


def power(target: torch.Tensor) -> float:
    """``mean(target^2) + EPS``, relative_mse's denominator: any shape -> a number (a term makes it once).

    A Python number, not a tensor: the fused errors below then scale by
    constants, with no 0-dim tensor operations (tens of microseconds each
    on a CPU) in every evaluation. Reading it waits for the device once.
    """
    return float(target.pow(2).mean()) + EPS


class _RelativeError(torch.autograd.Function):
    """``mean((value - target)^2) * scale`` -> scalar (at least float32), for a constant ``target``.

    One subtraction forward (a bf16 ``value`` is promoted to float32 inside
    it, no separate copy) and one product backward; autograd's graph of
    mse_loss, the division and the casts was a dozen small operations a
    term, each tens of microseconds on a CPU (benchmarks/engine_speed.py).
    """

    @staticmethod
    def forward(ctx, value: torch.Tensor, target: torch.Tensor, scale: float) -> torch.Tensor:
        diff = value - target
        ctx.save_for_backward(diff)
        ctx.dtype, ctx.coef = value.dtype, 2.0 * scale / diff.numel()
        return _sum_of_squares(diff) * (scale / diff.numel())

    @staticmethod
    def backward(ctx, grad: torch.Tensor):
        (diff,) = ctx.saved_tensors
        return diff.mul(grad * ctx.coef).to(ctx.dtype), None, None


def relative_mse(value: torch.Tensor, target: torch.Tensor, target_power: float | None = None) -> torch.Tensor:
    """``mean((value - target)^2) / mean(target^2)``: same shapes -> scalar, at least float32.

    ``target_power``: ``power(target)``, if made. ``value`` may be bf16 (the
    error is taken in float32); the target is a constant unless it needs a
    gradient itself.
    """
    if value.shape != target.shape:
        raise ValueError(f"shape mismatch: {tuple(value.shape)} vs {tuple(target.shape)}")
    if target.requires_grad:
        return (value.float() - target).pow(2).mean() / (target.float().pow(2).mean() + EPS)
    return _RelativeError.apply(value, target, 1.0 / (power(target) if target_power is None else target_power))


def content_loss(features: dict[str, torch.Tensor], targets: dict[str, torch.Tensor],
                 powers: dict[str, float] | None = None) -> torch.Tensor:
    """Mean relative feature error over the content layers -> scalar.

    ``features[l]`` and ``targets[l]`` are (B, C_l, H_l, W_l); ``powers[l]``: ``power(targets[l])``, if made.
    """
    terms = [relative_mse(features[name], target, None if powers is None else powers[name])
             for name, target in targets.items()]
    return terms[0] if len(terms) == 1 else torch.stack(terms).mean()


class _GramError(torch.autograd.Function):
    """``scale * mean((F F^T / M - A)^2)`` of one layer -> float32 scalar: Gram and error in one node.

    F as ``_Gram`` takes it; A (B or 1, C, C) a constant target; ``scale``
    a number (the layer's weight over its target's power). The error
    E = G - A is symmetric, so the gradient is one product,
    ``dL/dF = 4 scale / (B C^2 M) * E F``, with no graph of the Gram, the
    mean square and the casts behind it (a style term's small operations
    were ~2 ms of an iteration's ~14 ms beside the network at 256x144 on a
    2-core CPU; benchmarks/engine_speed.py).
    """

    @staticmethod
    def forward(ctx, flat: torch.Tensor, by_rows: bool, target: torch.Tensor, scale: float) -> torch.Tensor:
        rows = flat.transpose(1, 2) if by_rows else flat            # (B, C, M) either way
        m = rows.shape[2]
        # M E = F F^T - M A in one subtraction (a bf16 product is promoted to float32 inside it)
        error_m = torch.sub(torch.bmm(rows, rows.transpose(1, 2)), target, alpha=m)
        if error_m.dtype not in (torch.float32, torch.float64):   # bf16 targets too: the error in float32
            error_m = error_m.float()
        n = error_m.numel()
        ctx.save_for_backward(flat, error_m)
        ctx.by_rows, ctx.coef = by_rows, 4.0 * scale / (n * m * m)
        return _sum_of_squares(error_m) * (scale / (n * m * m))

    @staticmethod
    def backward(ctx, grad: torch.Tensor):
        flat, error_m = ctx.saved_tensors
        e = error_m.mul(grad * ctx.coef).to(flat.dtype)   # (B, C, C)
        return (torch.bmm(flat, e) if ctx.by_rows else torch.bmm(e, flat)), None, None, None


def gram_error(features: torch.Tensor, target: torch.Tensor, target_power: float | None = None,
               weight: float = 1.0) -> torch.Tensor:
    """``weight * relative_mse(gram(features), target)`` in one autograd node: (B, C, H, W), (B or 1, C, C) -> scalar."""
    c = features.shape[1]
    if target.shape[-2:] != (c, c):
        raise ValueError(f"a Gram target for {c} channels must be (B, {c}, {c}), got {tuple(target.shape)}")
    if target.requires_grad:
        return weight * relative_mse(gram(features), target.expand(features.shape[0], c, c))
    return _GramError.apply(*_rows(features), target, weight / (power(target) if target_power is None else target_power))


def style_loss(features: dict[str, torch.Tensor], target_grams: dict[str, torch.Tensor],
               layer_weights: dict[str, float], powers: dict[str, float] | None = None) -> torch.Tensor:
    """Weighted relative Gram error over the style layers -> scalar.

    ``features[l]``: (B, C_l, H_l, W_l); ``target_grams[l]``: (B or 1, C_l, C_l);
    ``layer_weights`` sum to 1; ``powers[l]``: ``power(target_grams[l])``, if made.
    """
    total = None
    for name, target in target_grams.items():
        term = gram_error(features[name], target, None if powers is None else powers[name], layer_weights[name])
        total = term if total is None else total + term
    return total


class _TotalVariation(torch.autograd.Function):
    """``tv_loss`` with a hand-written backward: half the small operations of autograd's slices and means."""

    @staticmethod
    def forward(ctx, image: torch.Tensor) -> torch.Tensor:
        dx = image[..., :, 1:] - image[..., :, :-1]
        dy = image[..., 1:, :] - image[..., :-1, :]
        ctx.save_for_backward(dx, dy)
        return (_sum_of_squares(dx) / dx.numel()).add_(_sum_of_squares(dy), alpha=1.0 / dy.numel())

    @staticmethod
    def backward(ctx, grad: torch.Tensor) -> torch.Tensor:
        dx, dy = ctx.saved_tensors
        gx = dx.mul(grad * (2.0 / dx.numel()))   # d/d(dx) of mean(dx^2): (B, C, H, W - 1)
        gy = dy.mul(grad * (2.0 / dy.numel()))   # (B, C, H - 1, W)
        out = dx.new_zeros(dx.shape[:-1] + (dx.shape[-1] + 1,))
        out[..., :, 1:] += gx
        out[..., :, :-1] -= gx
        out[..., 1:, :] += gy
        out[..., :-1, :] -= gy
        return out


def tv_loss(image: torch.Tensor) -> torch.Tensor:
    """Total variation: mean squared difference of neighbours, (B, C, H, W) -> scalar.

    Not in Gatys 2016; a small amount removes the high-frequency speckle the
    optimiser otherwise leaves (as in Johnson's neural-style and Ruder 2016).
    """
    if image.shape[-1] < 2 or image.shape[-2] < 2:
        raise ValueError(f"total variation needs an image of at least 2x2, got {tuple(image.shape)}")
    return _TotalVariation.apply(image)


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
