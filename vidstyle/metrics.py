"""How stable and how stylised a stylised clip is: E_warp, style and content loss, flicker.

Temporal stability is the warping error of Lai et al., "Learning Blind Video
Temporal Consistency" (ECCV 2018): optical flow
on the SOURCE frames, a forward-backward occlusion mask, and

    E_warp(t) = sum(mask * (warp(O_{t-1}) - O_t)^2) / (3 * sum(mask)),  RGB in [0, 1]

averaged over the pairs of consecutive frames. The same number for the source
clip itself is the floor: it is what the flow's own error leaves.

The flow here is OpenCV's Farneback, NOT the DIS flow the stylisation warps
with (flow.py), and the mask is Lai's occlusion check alone (no motion
boundaries): a metric that reused the stylisation's flow would reward the
flow's own mistakes, which the temporal loss has copied into the output.

Style and content losses are vidstyle's relative Gram and feature errors
(losses.py) of each output frame against the style image(s) and its source
frame, in fp32 with weight 1 each, whatever weights made the clip.

Flicker: a pair whose output error, divided by the source's own error at
that pair (at least the source's median, so a still stretch does not divide
by ~0), jumps above ``FLICKER_FACTOR`` times the clip's median of that ratio.
Dividing by the source's error keeps fast motion, where the flow itself
errs, from being blamed on the stylisation. Pairs across a scene cut are
left out of the averages: no flow joins two shots.
"""

from __future__ import annotations

import statistics
from dataclasses import asdict, dataclass, field
from typing import Callable, Sequence

import cv2
import numpy as np
import torch

from . import images
from .errors import InputError
from .options import StyleOptions, VideoOptions
from .shots import ShotTracker
from .sources import FrameSource, open_source

# Lai et al. 2018 (following Sundaram et al. 2010): occluded where the
# round trip of the flows misses by more than this.
OCCLUSION_REL, OCCLUSION_ABS = 0.01, 0.5
FLICKER_FACTOR = 3.0
DEFAULT_CUTS = VideoOptions().cuts


def farneback_flow(frame: np.ndarray, reference: np.ndarray) -> np.ndarray:
    """Flow (H, W, 2) from ``frame`` to ``reference``, both (H, W, 3) float BGR [0, 1].

    ``frame(p) ~ reference(p + flow(p))``. Farneback with a 5-level pyramid
    and 15 px windows: coarse enough for the motion of real footage at
    256-1080 px.
    """
    grey = [cv2.cvtColor(images.quantise(f, 8), cv2.COLOR_BGR2GRAY)
            for f in (frame, reference)]
    return cv2.calcOpticalFlowFarneback(grey[0], grey[1], None, 0.5, 5, 15, 5, 5, 1.1, 0)


def _sample(image: np.ndarray, flow: np.ndarray) -> np.ndarray:
    """``image`` (H, W, C) sampled bilinearly at p + flow(p) (flow (H, W, 2))."""
    h, w = flow.shape[:2]
    gx, gy = np.meshgrid(np.arange(w, dtype=np.float32), np.arange(h, dtype=np.float32))
    return cv2.remap(image, gx + flow[..., 0], gy + flow[..., 1], cv2.INTER_LINEAR,
                     borderMode=cv2.BORDER_REPLICATE)


def occlusion_mask(backward: np.ndarray, forward: np.ndarray) -> np.ndarray:
    """(H, W) bool, True where frame t's pixel is visible in frame t-1.

    ``backward``: flow t -> t-1, ``forward``: flow t-1 -> t, each (H, W, 2).
    """
    fwd_at = _sample(forward, backward)
    miss = ((backward + fwd_at) ** 2).sum(-1)
    return miss <= OCCLUSION_REL * ((backward ** 2).sum(-1) + (fwd_at ** 2).sum(-1)) + OCCLUSION_ABS


def pair_errors(prev_src: np.ndarray, src: np.ndarray, prev_out: np.ndarray,
                out: np.ndarray) -> tuple[float, float]:
    """E_warp of one pair for the output and for the source; all (H, W, 3) float [0, 1]."""
    backward = farneback_flow(src, prev_src)
    mask = occlusion_mask(backward, farneback_flow(prev_src, src))[..., None]
    count = max(float(mask.sum()) * 3, 1.0)

    def error(prev: np.ndarray, cur: np.ndarray) -> float:
        return float((mask * (_sample(prev, backward) - cur) ** 2).sum() / count)

    return error(prev_out, out), error(prev_src, src)


def warping_error(outputs: Sequence[np.ndarray], sources: Sequence[np.ndarray]) -> float:
    """Mean E_warp of ``outputs`` over consecutive pairs, flow from ``sources`` (same shapes)."""
    if len(outputs) != len(sources) or len(outputs) < 2:
        raise InputError("warping error needs at least two frames, as many outputs as sources")
    return statistics.fmean(pair_errors(sources[t - 1], sources[t], outputs[t - 1], outputs[t])[0]
                            for t in range(1, len(outputs)))


@dataclass(frozen=True)
class PairRecord:
    """One pair of consecutive frames (``number`` is the later one)."""

    number: int
    ewarp: float | None          # None across a scene cut
    ewarp_source: float | None
    flicker: bool = False


@dataclass
class StabilityReport:
    frames: int
    width: int
    height: int
    ewarp: float | None                     # mean over pairs within shots
    ewarp_source: float | None
    style_loss: float | None                # mean over frames; None without a style image
    content_loss: float
    flicker: list[int] = field(default_factory=list)   # frame numbers where the error jumps
    cuts: list[int] = field(default_factory=list)      # frame numbers that start a new shot
    pairs: list[PairRecord] = field(default_factory=list)

    @property
    def ewarp_ratio(self) -> float | None:
        """Output's E_warp over the source's: 1 is the floor."""
        if self.ewarp is None or not self.ewarp_source:
            return None
        return self.ewarp / self.ewarp_source

    def to_json(self) -> dict:
        data = asdict(self)
        data["ewarp_ratio"] = self.ewarp_ratio
        return data


def _pairs_of(source: FrameSource, styled: FrameSource):
    """Yield (styled number, source number, source pixels, styled pixels), matching frames by number or order."""
    if not styled.is_video and set(styled.numbers) <= set(source.numbers):
        source.restrict(styled.numbers)
    elif len(source.numbers) != len(styled.numbers):
        raise InputError(f"{source.path} has {len(source.numbers)} frames but {styled.path} has "
                         f"{len(styled.numbers)}: compare a stylised clip with the frames it was made from")
    yield from ((b.number, a.number, a.pixels, b.pixels) for a, b in zip(source.frames(), styled.frames()))


# The yardstick: VGG-19 as it was trained (max pooling), whatever network a render painted with
# (StyleOptions' default is the paper's average pooling), so that measures compare across settings
# and versions. A network judges its own kind of image best (an average-pooled frame's style loss is
# about twice a max-pooled one's by this yardstick and the other way round by the other), so
# compare a render's losses with renders made by the same network, never across poolings.
YARDSTICK = StyleOptions(pooling="max")


def judge(styles: Sequence[np.ndarray], options: StyleOptions | None = None):
    """A ``Stylizer`` that measures rather than paints: content and style weight 1 (style 0 without styles), fp32.

    ``options``: the layers, pooling and weights file of the loss network
    (default ``YARDSTICK``); every frame is measured at its own size.
    """
    from .engine import Stylizer  # torch and the network load only when losses are wanted

    options = (options or YARDSTICK).replace(content_weight=1.0, style_weight=1.0 if styles else 0.0,
                                                  tv_weight=0.0, precision="fp32", size=None)
    return Stylizer(list(styles), options)


def frame_losses(measure, image: np.ndarray, content: np.ndarray) -> dict[str, float]:
    """The content (and style) loss of ``image`` against ``content``, both (H, W, 3) BGR [0, 1], by ``judge``.

    ``content`` is resized to ``image``'s size first. These are the numbers
    ``vidstyle check`` reports (relative errors, weight 1, fp32).
    """
    objective = measure.objective(images.to_tensor(images.resize(content, image.shape[:2]), measure.device))
    with torch.no_grad():
        _, parts = objective(images.to_tensor(image, measure.device))
    return {name: float(value) for name, value in parts.items()}


def check(source_path: str, styled_path: str, styles: Sequence[str] | None = None,
          options: StyleOptions | None = None, callback: Callable[[int, int], None] | None = None,
          cuts: str | Sequence[int] = DEFAULT_CUTS) -> StabilityReport:
    """Measure a stylised clip against its source (videos, folders or sequence patterns).

    Frames are compared at the stylised clip's size (the source is resized
    to it). ``styles``: the style image(s), for the style loss (None: not
    measured). ``options``: layers, pooling and weights of the loss network
    (default ``YARDSTICK``); loss weights are set to 1. ``callback(done,
    total)`` after each frame. ``cuts``: where shots start, as the render
    was told (``VideoOptions.cuts``: "auto", "none" or frame numbers); the
    render's own shot rule (``shots.ShotTracker``) decides, and pairs across
    a cut are left out.
    """
    from .stylize import as_path_list

    source, styled = open_source(source_path, purpose="check"), open_source(styled_path, purpose="check")
    for clip in (source, styled):
        clip.check(accept_damaged=True)   # a video's frames, counted by decoding it; a measure refuses nothing
    if styled.width and styled.height and source.width and source.height and \
            abs(source.width / source.height - styled.width / styled.height) > 0.02:
        raise InputError(f"{styled_path} is {styled.width}x{styled.height} but {source_path} is "
                         f"{source.width}x{source.height}: not the same picture")
    style_px = [images.read_image(p, "style image").pixels for p in as_path_list(styles)] if styles else []
    measure = judge(style_px, options)   # without style images: content loss alone
    shots = ShotTracker(cuts)
    total = len(styled.numbers)
    pairs: list[PairRecord] = []
    cut_frames: list[int] = []
    style_l: list[float] = []
    content_l: list[float] = []
    prev = None
    width = height = 0
    for done, (number, source_number, src, out) in enumerate(_pairs_of(source, styled)):
        height, width = out.shape[:2]
        src = images.resize(src, (height, width))
        cut = shots.starts_shot(src, source_number)   # numbered as the render numbered it
        if prev is not None:
            if cut:
                cut_frames.append(number)
                pairs.append(PairRecord(number, None, None))
            else:
                pairs.append(PairRecord(number, *pair_errors(prev[0], src, prev[1], out)))
        parts = frame_losses(measure, out, src)
        content_l.append(parts["content"])
        if style_px:
            style_l.append(parts["style"])
        prev = (src, out)
        if callback is not None:
            callback(done + 1, total)
    if not content_l:
        raise InputError(f"{styled_path} gave no frames")
    within = [p for p in pairs if p.ewarp is not None]
    flicker = []
    if within:
        floor = max(statistics.median(p.ewarp_source for p in within), 1e-12)

        def excess(p: PairRecord) -> float:
            return p.ewarp / max(p.ewarp_source, floor)

        typical = statistics.median(excess(p) for p in within)
        flicker = [p.number for p in within if excess(p) > FLICKER_FACTOR * typical]
        pairs = [PairRecord(p.number, p.ewarp, p.ewarp_source, p.number in flicker) for p in pairs]
    return StabilityReport(
        frames=len(content_l), width=width, height=height,
        ewarp=statistics.fmean(p.ewarp for p in within) if within else None,
        ewarp_source=statistics.fmean(p.ewarp_source for p in within) if within else None,
        style_loss=statistics.fmean(style_l) if style_l else None,
        content_loss=statistics.fmean(content_l), flicker=flicker, cuts=cut_frames, pairs=pairs)


__all__ = ["PairRecord", "StabilityReport", "YARDSTICK", "check", "farneback_flow", "frame_losses", "judge",
           "occlusion_mask", "pair_errors", "warping_error"]
