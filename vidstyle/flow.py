"""Optical flow on source frames, warping, and Ruder's reliability mask.

Ruder, Dosovitskiy & Brox, "Artistic style transfer for videos" (GCPR 2016)
warm-start frame t from the previous *output* warped into frame t with flow
computed on the *source* frames, and only ask the temporal loss to hold where
that flow is reliable. They used DeepFlow (external binaries, minutes per
frame); we use OpenCV's DIS flow, which takes milliseconds at our sizes.

Flow arrays are (H, W, 2) float32 in pixels, (dx, dy). ``backward`` flow
of frame t points from each pixel of frame t to where it was in frame t-1:
``frame_t(p) ~ frame_{t-1}(p + flow(p))``.
"""

from __future__ import annotations

import threading

import cv2
import numpy as np
import torch
import torch.nn.functional as F

from .images import quantise

# Ruder 2016, section 3.1: a pixel is occluded where the forward flow, taken
# where the backward flow points, does not cancel the backward flow ...
OCCLUSION_REL, OCCLUSION_ABS = 0.01, 0.5
# ... and on a motion boundary where the backward flow's gradient is large.
BOUNDARY_REL, BOUNDARY_ABS = 0.01, 0.002


def _grey(frame: np.ndarray) -> np.ndarray:
    """(H, W, 3) float BGR [0, 1] -> (H, W) uint8, what DIS takes."""
    return cv2.cvtColor(quantise(frame, 8), cv2.COLOR_BGR2GRAY)


class FlowEstimator:
    """DIS optical flow (OpenCV), MEDIUM preset: robust on real footage at video sizes.

    Safe to call from several threads at once (each gets its own DIS object),
    so the flows of upcoming frames can be computed side by side.
    Resolution: always the frames' own. Computing it at a capped size and
    scaling it up was measured on the Big Buck Bunny clip (source frames
    warped by the flow, error on Farneback-visible pixels): at 720p a 960 px
    cap raised the error by 14%, 640 px by 43%; parallel workers buy the
    speed instead (video.py).
    """

    def __init__(self, preset: int = cv2.DISOPTICAL_FLOW_PRESET_MEDIUM):
        self._preset = preset
        self._local = threading.local()

    def __call__(self, frame: np.ndarray, reference: np.ndarray) -> np.ndarray:
        """Flow from ``frame`` to ``reference``, both (H, W, 3): ``frame(p) ~ reference(p + flow(p))``."""
        dis = getattr(self._local, "dis", None)
        if dis is None:
            dis = self._local.dis = cv2.DISOpticalFlow_create(self._preset)
        return dis.calc(_grey(frame), _grey(reference), None)


def warp(image: np.ndarray, flow: np.ndarray, fill: np.ndarray | None = None,
         interpolation: int = cv2.INTER_CUBIC, mirror: bool = False) -> tuple[np.ndarray, np.ndarray]:
    """Sample ``image`` (H, W, C) at ``p + flow(p)``; returns (warped, inside).

    Bicubic rather than bilinear: a warm start is warped again every frame,
    and resampling blurs a little each time; the blur builds up (over 12
    frames of the Big Buck Bunny clip's moving bunny, bicubic kept 0.80-0.85
    of an independent frame's fine detail, bilinear 0.15). Lanczos kept ~0.1
    more, but once the temporal loss holds only the low frequencies
    (temporal.py) it made no measurable difference, and bicubic is what a
    GPU's grid_sample offers (``warp_tensor``). ``inside``
    (H, W) bool is False where the flow points outside the frame; there the
    result takes ``fill`` (same shape as ``image``), or without one the
    image's nearest edge pixel (replicated), or with ``mirror`` the image
    reflected about its edge pixels (OpenCV's BORDER_REFLECT_101: what a
    pan brings in starts as strokes, not streaks). ``interpolation``:
    an OpenCV flag (benchmarks/warm_frames.py tries Lanczos with it).
    """
    h, w = flow.shape[:2]
    grid_x, grid_y = np.meshgrid(np.arange(w, dtype=np.float32), np.arange(h, dtype=np.float32))
    map_x, map_y = grid_x + flow[..., 0], grid_y + flow[..., 1]
    border = cv2.BORDER_REFLECT_101 if mirror else cv2.BORDER_REPLICATE
    warped = cv2.remap(image, map_x, map_y, interpolation=interpolation, borderMode=border)
    inside = (map_x >= 0) & (map_x <= w - 1) & (map_y >= 0) & (map_y <= h - 1)
    if warped.ndim == 3 and warped.shape[2] != image.shape[2]:
        warped = warped.reshape(image.shape)
    if fill is not None:
        warped = np.where(inside[..., None] if warped.ndim == 3 else inside, warped, fill)
    return warped.astype(image.dtype, copy=False), inside


def warp_tensor(image: torch.Tensor, flow: np.ndarray, fill: torch.Tensor | None = None,
                mirror: bool = False) -> torch.Tensor:
    """``warp`` on the device: sample ``image`` (1, C, H, W) at ``p + flow(p)``; (1, C, H, W) back.

    For a GPU, where moving the previous output to the host and back for
    OpenCV's remap would cost more than the warp: ``grid_sample`` bicubic
    (the same a = -0.75 kernel as OpenCV's INTER_CUBIC), edges replicated,
    ``fill`` (1, C, H, W) where the flow points outside the frame (None:
    the replicated edge, as ``warp`` without a fill, or reflected with
    ``mirror``: grid_sample's reflection with aligned corners reflects about
    the edge pixels' centres, as BORDER_REFLECT_101 does). ``flow``
    is (H, W, 2) on the host (OpenCV's DIS makes it there).
    """
    h, w = flow.shape[:2]
    f = torch.from_numpy(np.ascontiguousarray(flow)).to(image.device, non_blocking=True)
    x = torch.arange(w, device=image.device, dtype=f.dtype)[None, :] + f[..., 0]
    y = torch.arange(h, device=image.device, dtype=f.dtype)[:, None] + f[..., 1]
    grid = torch.stack((2 * x / max(w - 1, 1) - 1, 2 * y / max(h - 1, 1) - 1), dim=-1)[None]
    warped = F.grid_sample(image, grid.to(image.dtype), mode="bicubic",
                           padding_mode="reflection" if mirror else "border", align_corners=True)
    if fill is not None:
        inside = ((x >= 0) & (x <= w - 1) & (y >= 0) & (y <= h - 1))[None, None]
        warped = torch.where(inside, warped, fill)
    return warped.clamp(0.0, 1.0)


def reliability(backward: np.ndarray, forward: np.ndarray) -> np.ndarray:
    """Ruder's mask c for frame t, (H, W) float32 in {0, 1}.

    ``backward``: flow t -> t-1 (H, W, 2); ``forward``: flow t-1 -> t (H, W, 2).
    0 where the pixel is disoccluded (forward-backward check fails), on a
    motion boundary, or comes from outside the frame.
    """
    fwd_at, inside = warp(forward, backward)
    total = fwd_at + backward
    occluded = (total ** 2).sum(-1) > OCCLUSION_REL * ((fwd_at ** 2).sum(-1) + (backward ** 2).sum(-1)) + OCCLUSION_ABS
    grad_sq = np.zeros(backward.shape[:2], np.float32)
    for k in range(2):
        gy, gx = np.gradient(backward[..., k])
        grad_sq += gx ** 2 + gy ** 2
    boundary = grad_sq > BOUNDARY_REL * (backward ** 2).sum(-1) + BOUNDARY_ABS
    return (~occluded & ~boundary & inside).astype(np.float32)
