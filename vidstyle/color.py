"""Keeping the content's colours (Gatys, Bethge, Hertzmann & Shechtman 2016,
"Preserving Color in Neural Artistic Style Transfer", luminance-only transfer).

We take the luminance of the stylised image and the chrominance of the
content image (BT.601 YCbCr). Because YCbCr is linear in RGB, keeping the
content's Cb and Cr while taking the output's Y is the same as adding the
luminance difference to every channel of the content. Why this method and not
their other one (matching the style image's colour histogram to the content
before optimising): it keeps the colours exactly, costs nothing, and in a
video it takes each frame's colours from its own source frame, so colours
cannot drift or flicker.
"""

from __future__ import annotations

import torch

# BT.601 luma weights in B, G, R order (our images are BGR).
_LUMA_BGR = (0.114, 0.587, 0.299)


def luminance(image: torch.Tensor) -> torch.Tensor:
    """(B, 3, H, W) BGR -> (B, 1, H, W) luma."""
    w = image.new_tensor(_LUMA_BGR).view(1, 3, 1, 1)
    return (image * w).sum(dim=1, keepdim=True)


def keep_colors(stylized: torch.Tensor, content: torch.Tensor) -> torch.Tensor:
    """Stylised luminance with the content's chrominance.

    Both (B, 3, H, W), BGR, [0, 1]; returns the same shape, clamped to [0, 1].
    """
    if stylized.shape != content.shape:
        raise ValueError(f"shape mismatch: {tuple(stylized.shape)} vs {tuple(content.shape)}")
    return (content + (luminance(stylized) - luminance(content))).clamp(0.0, 1.0)
