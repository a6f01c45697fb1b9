"""The nodes: Stylize video frames, Stylize image.

They are hosts of vidstyle's per-frame processor (``vidstyle.FrameStylizer``)
and follow ComfyUI's conventions: an IMAGE is a float tensor [B, H, W, C],
RGB, 0..1, on the CPU, and a video is an IMAGE batch, one entry per frame.

*Stylize video frames* stylises a batch in order, each frame warm-started
from the previous output and held to it by the temporal loss, cuts
detected. A long clip that does not fit in memory arrives in pieces
(VideoHelperSuite's Meta Batch Manager re-runs the graph per piece): the
node keeps its processor between runs, keyed by its unique id, so the next
piece continues warm from the last frame of the previous one. A new clip
starts a shot of its own (its first frame is a cut to the detector), or
say so with ``new_clip``.

Inside ComfyUI: progress per frame on the node (with a preview), the cancel
button honoured between optimiser iterations, the device ComfyUI picked.
Errors are vidstyle's own exceptions, with the messages the CLI prints.
"""

from __future__ import annotations

import hashlib

import numpy as np
import torch

from vidstyle import FrameStylizer, StyleOptions, VideoOptions
from vidstyle.options import DEFAULT_PRESET, PRESETS

CATEGORY = "vidstyle"
_STYLE = StyleOptions()
_VIDEO = VideoOptions()

# What both nodes take: the style, the preset and the options people change most.
COMMON = {
    "style": ("IMAGE", {"tooltip": "The style image; a batch of several is blended equally."}),
    "preset": (list(PRESETS), {"default": DEFAULT_PRESET,
                               "tooltip": "Size and iteration budgets together (standard: 512 px on a CPU, "
                                          "1280 px on a GPU)."}),
    "size": ("INT", {"default": 0, "min": 0, "max": 8192, "step": 1,
                     "tooltip": "Longest side of the output in pixels; 0 = the preset's. Never enlarges."}),
    "style_weight": ("FLOAT", {"default": _STYLE.style_weight, "min": 0.0, "max": 1000.0, "step": 0.1,
                               "tooltip": "Higher = more paint, less photo."}),
    "seed": ("INT", {"default": _STYLE.seed, "min": 0, "max": 2 ** 63 - 1}),
    "keep_colors": ("BOOLEAN", {"default": _STYLE.keep_colors,
                                "tooltip": "Keep the content's colours (luminance-only transfer)."}),
}
BUDGETS = {
    "iterations": ("INT", {"default": 0, "min": 0, "max": 10000,
                           "tooltip": "Iterations of a shot's first frame (a still's); 0 = the preset's."}),
}


def _comfy():
    """ComfyUI's model management and utils inside ComfyUI; (None, None) anywhere else."""
    try:
        import comfy.model_management as model_management
        import comfy.utils as utils
    except ImportError:
        return None, None
    return model_management, utils


def _device() -> str:
    model_management, _ = _comfy()
    if model_management is None:
        return _STYLE.device
    return str(model_management.get_torch_device())


def _options(preset: str, size: int, style_weight: float, seed: int, keep_colors: bool,
             iterations: int = 0) -> StyleOptions:
    given = {"size": size} if size else {}
    if iterations:
        given["iterations"] = iterations
    return StyleOptions.from_preset(preset, device=_device(), style_weight=style_weight, seed=seed,
                                    keep_colors=keep_colors, **given)


def to_bgr(image: torch.Tensor) -> np.ndarray:
    """One IMAGE entry (H, W, C) RGB float [0, 1] -> (H, W, 3) float32 BGR, as vidstyle takes it."""
    array = image.detach().to("cpu", torch.float32).numpy()
    if array.ndim != 3 or array.shape[2] not in (1, 3, 4):
        raise ValueError(f"expected an IMAGE entry (H, W, C), got shape {tuple(array.shape)}")
    if array.shape[2] == 1:
        array = np.repeat(array, 3, axis=2)
    return np.ascontiguousarray(array[..., 2::-1])


def to_image(frames: list[np.ndarray]) -> torch.Tensor:
    """(h, w, 3) float BGR frames -> an IMAGE batch [B, h, w, 3] RGB float32 on the CPU."""
    return torch.from_numpy(np.ascontiguousarray(np.stack(frames)[..., ::-1]))


def _styles(style: torch.Tensor) -> list[np.ndarray]:
    return [to_bgr(entry) for entry in style]


class _Progress:
    """ComfyUI's progress bar (per frame, with a preview) and cancel check; nothing outside ComfyUI."""

    def __init__(self, total: int):
        model_management, utils = _comfy()
        self.check = getattr(model_management, "throw_exception_if_processing_interrupted", None)
        self.bar = utils.ProgressBar(total) if utils is not None else None
        self.total = total

    def iteration(self, _progress) -> None:
        if self.check is not None:
            self.check()

    def frame(self, done: int, output: np.ndarray) -> None:
        if self.bar is None:
            return
        from PIL import Image
        preview = Image.fromarray(np.round(np.clip(output[..., ::-1], 0, 1) * 255).astype(np.uint8))
        self.bar.update_absolute(done, self.total, ("JPEG", preview, 512))


def _stylize_batch(processor: FrameStylizer, batch: torch.Tensor, each_on_its_own: bool = False) -> torch.Tensor:
    """Every entry of an IMAGE batch through ``processor``, in order, with ComfyUI's progress and cancel."""
    progress = _Progress(len(batch))
    out = []
    for done, entry in enumerate(batch, start=1):
        if each_on_its_own:
            processor.reset()
        out.append(processor.process(to_bgr(entry), callback=progress.iteration))
        progress.frame(done, out[-1])
    return to_image(out)


# One processor per node instance (its unique id): a clip fed in pieces continues warm.
_SESSIONS: dict[str, tuple[tuple, FrameStylizer]] = {}


class StylizeVideoFrames:
    """A video (an IMAGE batch) -> the same frames stylised, each warm-started from the one before."""

    DESCRIPTION = __doc__
    CATEGORY = CATEGORY
    FUNCTION = "stylize"
    RETURN_TYPES = ("IMAGE",)
    RETURN_NAMES = ("frames",)

    @classmethod
    def INPUT_TYPES(cls):
        return {
            "required": {
                "frames": ("IMAGE", {"tooltip": "The video: one batch entry per frame, in order."}),
                **COMMON,
                "warm_start": (["flow", "previous", "none"], {"default": _VIDEO.warm_start,
                                                             "tooltip": "flow: warp the previous output along the "
                                                                        "optical flow (steady); none: every frame on "
                                                                        "its own (flickers)."}),
                "temporal_weight": ("FLOAT", {"default": _VIDEO.temporal_weight, "min": 0.0, "max": 100000.0,
                                              "step": 1.0}),
            },
            "optional": {
                **BUDGETS,
                "warm_iterations": ("INT", {"default": 0, "min": 0, "max": 10000,
                                            "tooltip": "Most iterations of a warm-started frame; 0 = the preset's."}),
                "new_clip": ("BOOLEAN", {"default": False,
                                         "tooltip": "Start afresh: do not continue from this node's last frame "
                                                    "(a new clip is also found by its cut)."}),
            },
            "hidden": {"unique_id": "UNIQUE_ID"},
        }

    def stylize(self, frames: torch.Tensor, style: torch.Tensor, preset: str, size: int, style_weight: float,
                seed: int, keep_colors: bool, warm_start: str, temporal_weight: float, iterations: int = 0,
                warm_iterations: int = 0, new_clip: bool = False, unique_id: str | None = None):
        options = _options(preset, size, style_weight, seed, keep_colors, iterations)
        video = VideoOptions.from_preset(preset, warm_start=warm_start, temporal_weight=temporal_weight,
                                         **({"warm_iterations": warm_iterations} if warm_iterations else {}))
        styles = _styles(style)
        key = (options, video, hashlib.sha256(b"".join(s.tobytes() for s in styles)).hexdigest())
        session = _SESSIONS.get(unique_id)
        if session is None or session[0] != key or new_clip:
            session = (key, FrameStylizer(styles, options, video))
        _SESSIONS.pop(unique_id, None)   # kept again only when this piece finishes: no half-done state
        out = _stylize_batch(session[1], frames)
        _SESSIONS[unique_id] = session
        return (out,)


class StylizeImage:
    """An image (each entry of an IMAGE batch on its own) -> stylised."""

    DESCRIPTION = __doc__
    CATEGORY = CATEGORY
    FUNCTION = "stylize"
    RETURN_TYPES = ("IMAGE",)
    RETURN_NAMES = ("image",)

    @classmethod
    def INPUT_TYPES(cls):
        return {"required": {"image": ("IMAGE",), **COMMON}, "optional": dict(BUDGETS)}

    def stylize(self, image: torch.Tensor, style: torch.Tensor, preset: str, size: int, style_weight: float,
                seed: int, keep_colors: bool, iterations: int = 0):
        options = _options(preset, size, style_weight, seed, keep_colors, iterations)
        # Every entry starts a shot of its own: no warm start, no temporal loss.
        processor = FrameStylizer(_styles(style), options, VideoOptions(warm_start="none", cuts="none"))
        return (_stylize_batch(processor, image, each_on_its_own=True),)


NODE_CLASS_MAPPINGS = {"VidstyleStylizeVideoFrames": StylizeVideoFrames, "VidstyleStylizeImage": StylizeImage}
NODE_DISPLAY_NAME_MAPPINGS = {"VidstyleStylizeVideoFrames": "Stylize video frames (vidstyle)",
                              "VidstyleStylizeImage": "Stylize image (vidstyle)"}
