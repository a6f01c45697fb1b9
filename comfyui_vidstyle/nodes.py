"""The nodes: Stylize video frames, Stylize image.

They are hosts of vidstyle's per-frame processor (``vidstyle.FrameStylizer``)
and follow ComfyUI's conventions: an IMAGE is a float tensor [B, H, W, C],
RGB, 0..1, on the CPU, and a video is an IMAGE batch, one entry per frame.
Node class names and input names are an API (saved workflows refer to them):
inputs are only ever added, as optional ones with defaults.

*Stylize video frames* stylises a batch in order, each frame warm-started
from the previous output and held to it by the temporal loss, cuts
detected. With a ``style_schedule`` (``0=1,48=2``: from clip frame 48 on,
style 2 of the style batch), the style changes over time as vidstyle's
style track does (a change inside a shot cross-fades over ``style_fade``
frames). Every run of a workflow starts a new clip, except:

* a continuation of VideoHelperSuite's Meta Batch Manager (a clip too long
  for memory, fed in pieces by re-running the graph): the node keeps its
  processor between those runs, keyed by its unique id, so each piece goes
  on warm from the last frame of the one before;
* a host that feeds one clip in several queued runs on purpose gives each
  piece's ``first_frame`` (the frames fed so far): the node continues when
  it matches what it was fed.

``new_clip`` always starts afresh. Nothing of a run that failed or was
cancelled is continued.

Inside ComfyUI (which runs every node inside ``torch.inference_mode()``;
the library turns autograd back on for its optimiser): progress per
optimiser iteration on the node, with a preview per frame; the cancel
button honoured between iterations; the device ComfyUI picked, or the CPU
with a warning when that device is one vidstyle cannot use. Errors are
vidstyle's own exceptions, with the messages the CLI prints.
"""

from __future__ import annotations

import hashlib
import logging
from dataclasses import dataclass

import numpy as np
import torch

from vidstyle import FrameStylizer, StyleOptions, VideoOptions, jobs
from vidstyle.errors import ConfigError
from vidstyle.images import quantise
from vidstyle.options import DEFAULT_PRESET, PRESETS, WARM_STARTS
from vidstyle.styletrack import StyleKey, check_keys
from vidstyle.tiles import check_options

CATEGORY = "vidstyle"
_STYLE = StyleOptions()
_VIDEO = VideoOptions()
log = logging.getLogger("vidstyle.comfyui")

# Device types vidstyle runs on; ComfyUI may pick others (xpu, npu, DirectML's privateuseone).
SUPPORTED_DEVICES = ("cpu", "cuda", "mps")
# A progress bar's units per frame: the bar moves with every optimiser iteration.
STEPS_PER_FRAME = 1000

# What both nodes take: the style, the preset and the options people change most.
COMMON = {
    "style": ("IMAGE", {"tooltip": "The style image; a batch of several is blended equally."}),
    "preset": (list(PRESETS), {"default": DEFAULT_PRESET,
                               "tooltip": "Size and iteration budgets together (standard: 512 px on a CPU, "
                                          "1280 px on a GPU)."}),
    # 0 = the preset's; 1-15 can never work (VGG-19 needs 16 px a side) and are refused when the
    # prompt is queued (VALIDATE_INPUTS), before anything runs.
    "size": ("INT", {"default": 0, "min": 0, "max": 8192, "step": 1,
                     "tooltip": "Longest side of the output in pixels (16 or more); 0 = the preset's. "
                                "Never enlarges."}),
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
# Optional on both nodes: where the style goes.
MASKS = {
    "mask": ("MASK", {"tooltip": "Where to stylise: 1 stylised, 0 the input as it is, between blends. One mask "
                                 "for every frame, or one per frame; the frames' size."}),
}
# Optional on both nodes, after the others: plate resolution (vidstyle's --tile).
TILES = {
    "tile": ("STRING", {"default": str(_STYLE.tile),
                        "tooltip": "Plate resolution: auto = tiles only when a frame would not fit in the device's "
                                   "free memory; N = tiles of N px (one global style, no seams); 0 = never tiled."}),
}
MIN_SIZE = 16


def validate_size(size) -> bool | str:
    """ComfyUI's VALIDATE_INPUTS for ``size``: True, or the reason the prompt is refused."""
    if not isinstance(size, int) or not (size == 0 or MIN_SIZE <= size <= COMMON["size"][1]["max"]):
        return f"size must be 0 (the preset's) or from {MIN_SIZE} to {COMMON['size'][1]['max']} px, not {size!r}"
    return True


def validate_tile(tile) -> bool | str:
    """ComfyUI's VALIDATE_INPUTS for ``tile``: True, or the reason the prompt is refused (the library's words)."""
    try:
        check_options(StyleOptions(tile=(tile.strip() or _STYLE.tile) if isinstance(tile, str) else tile))
    except ConfigError as exc:
        return str(exc)
    return True


def _comfy():
    """ComfyUI's model management and utils inside ComfyUI; (None, None) anywhere else."""
    try:
        import comfy.model_management as model_management
        import comfy.utils as utils
    except ImportError:
        return None, None
    return model_management, utils


def _device() -> str:
    """The device ComfyUI chose, when vidstyle can run on it; else the CPU, said in ComfyUI's log."""
    model_management, _ = _comfy()
    if model_management is None:
        return _STYLE.device
    device = torch.device(model_management.get_torch_device())
    if device.type not in SUPPORTED_DEVICES:
        log.warning("vidstyle: ComfyUI's device %s is not one vidstyle runs on (%s): stylising on the CPU",
                    device, ", ".join(SUPPORTED_DEVICES))
        return "cpu"
    return str(device)


def _options(preset: str, size: int, style_weight: float, seed: int, keep_colors: bool,
             iterations: int = 0, tile: str = str(_STYLE.tile)) -> StyleOptions:
    given = {"size": size} if size else {}
    if isinstance(tile, str) and tile.strip():
        given["tile"] = tile.strip()
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
    """ComfyUI's progress bar and cancel check; nothing outside ComfyUI.

    The bar counts ``STEPS_PER_FRAME`` per frame and moves after every
    optimiser iteration (a first frame may take minutes on a CPU); each
    finished frame is shown as a preview.
    """

    def __init__(self, total: int, node_id: str | None = None):
        model_management, utils = _comfy()
        self.check = getattr(model_management, "throw_exception_if_processing_interrupted", None)
        self.bar = utils.ProgressBar(total * STEPS_PER_FRAME, node_id=node_id) if utils is not None else None
        self.total = total * STEPS_PER_FRAME
        self.done = 0

    def iteration(self, progress) -> None:
        if self.check is not None:
            self.check()
        if self.bar is not None:
            within = min(progress.iteration / max(1, progress.max_iterations), 1.0)
            self.bar.update_absolute(self.done * STEPS_PER_FRAME + int(within * (STEPS_PER_FRAME - 1)), self.total)

    def frame(self, output: np.ndarray) -> None:
        self.done += 1
        if self.bar is None:
            return
        from PIL import Image
        preview = Image.fromarray(quantise(output[..., ::-1], 8))
        self.bar.update_absolute(self.done * STEPS_PER_FRAME, self.total, ("JPEG", preview, 512))


def mattes_of(mask: torch.Tensor | None, batch: torch.Tensor):
    """A MASK ([B, H, W] or [H, W], float 0..1) -> ``masks(i)`` for ``jobs.stylize_frames``, or None.

    One mask serves every frame; otherwise one per frame. A mask of another
    size than the frames, or a count that fits neither, is refused.
    """
    if mask is None:
        return None
    m = mask.detach().float().cpu()
    m = m[None] if m.dim() == 2 else m
    if m.dim() != 3 or tuple(m.shape[1:]) != tuple(batch.shape[1:3]):
        raise ConfigError(f"the mask is {tuple(m.shape[-2:])[::-1]} and the frames {tuple(batch.shape[1:3])[::-1]} "
                          f"(width, height): give a mask of the frames' size")
    if len(m) not in (1, len(batch)):
        raise ConfigError(f"{len(m)} masks for {len(batch)} frames: give one mask for every frame, or one per frame")
    arrays = m.clamp(0, 1).numpy()
    return lambda i: [arrays[0 if len(arrays) == 1 else i]]


def _stylize_batch(processor: FrameStylizer, kind: jobs.Kind, batch: torch.Tensor,
                   node_id: str | None = None, mask: torch.Tensor | None = None) -> torch.Tensor:
    """Every entry of an IMAGE batch through ``processor`` as ``kind`` says (jobs.py), with ComfyUI's progress."""
    masks = mattes_of(mask, batch)
    progress = _Progress(len(batch), node_id)
    out = []
    for frame in jobs.stylize_frames(kind, processor, (to_bgr(entry) for entry in batch), progress.iteration,
                                     masks):
        out.append(frame)
        progress.frame(frame)
    return to_image(out)


def schedule_keys(schedule: str, styles: list[np.ndarray]) -> tuple[StyleKey, ...]:
    """``0=1,48=2`` (clip frame = style number in the batch, from 1) -> the style track's keys."""
    keys = []
    for part in (p.strip() for p in (schedule or "").split(",")):
        if not part:
            continue
        frame, sep, number = part.partition("=")
        try:
            frame_i, index = int(frame), int(number)
        except ValueError:
            raise ConfigError(f"style_schedule takes FRAME=N pairs like 0=1,48=2, not {part!r}") from None
        if not sep or not 1 <= index <= len(styles):
            raise ConfigError(f"style_schedule: {part!r} names style {number.strip() or '?'}, but the style batch has "
                              f"{len(styles)} image(s) (numbered from 1)")
        keys.append(StyleKey(frame_i, (styles[index - 1],)))
    return check_keys(keys)


def meta_batch(prompt: dict | None) -> tuple[str, int] | None:
    """(manager id, run) when this run of the graph is part of a VideoHelperSuite meta batch, else None.

    The Meta Batch Manager re-queues the same prompt once per piece and
    counts the re-queues in its ``requeue`` input: 0 (or absent) on the
    first run of a workflow, 1, 2, ... on the pieces that continue it.
    """
    for node_id, node in (prompt or {}).items():
        if isinstance(node, dict) and node.get("class_type") == "VHS_BatchManager":
            step = (node.get("inputs") or {}).get("requeue", 0)
            return str(node_id), step if isinstance(step, int) and step > 0 else 0
    return None


@dataclass
class _Session:
    """One node's clip between runs: its settings, its processor, and how far it got."""

    key: tuple
    processor: FrameStylizer
    fed: int = 0                            # frames of the clip stylised so far
    meta_batch: tuple[str, int] | None = None   # the meta-batch run that fed the last piece


# One clip per node instance (its unique id).
_SESSIONS: dict[str, _Session] = {}


def _session_for(unique_id: str | None, key: tuple, new_clip: bool, first_frame: int,
                 meta: tuple[str, int] | None, make) -> _Session:
    """The session this run continues, or a new one (see the module doc for when a clip continues)."""
    old = _SESSIONS.pop(unique_id, None)   # kept again only when this run finishes: no half-done state
    continues_batch = meta is not None and meta[1] > 0
    if old is not None and old.key == key and not new_clip:
        if continues_batch and old.meta_batch == (meta[0], meta[1] - 1):
            return old
        if not continues_batch and first_frame > 0:
            if first_frame != old.fed:
                raise ConfigError(f"first_frame is {first_frame} but this node has stylised {old.fed} frame(s) of "
                                  f"the clip so far: feed the pieces in order, or set first_frame to 0 to start "
                                  f"a new clip")
            return old
    if first_frame > 0 and not continues_batch and not new_clip:
        raise ConfigError(f"first_frame is {first_frame} but this node has no clip to continue (a new clip, other "
                          f"settings, or the last run failed): set first_frame to 0 to start the clip")
    return _Session(key, make())


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
                "warm_start": (list(WARM_STARTS), {"default": _VIDEO.warm_start,
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
                                         "tooltip": "Start afresh even where the node would continue (a meta "
                                                    "batch piece, or first_frame > 0)."}),
                "first_frame": ("INT", {"default": 0, "min": 0, "max": 2 ** 31 - 1,
                                        "tooltip": "For a host that feeds one clip in several queued runs: the "
                                                   "frames fed before this batch (the node continues warm when "
                                                   "it matches). 0 = a new clip. Meta batches need nothing."}),
                **MASKS,   # new inputs go last: saved workflows list widget values in order
                "style_schedule": ("STRING", {"default": "", "tooltip": "Styles over time: FRAME=N pairs, e.g. "
                                              "0=1,48=2: from frame 48 of the clip on, style image 2 of the style "
                                              "batch. Empty: the batch blended."}),
                "style_fade": ("INT", {"default": _VIDEO.style_fade, "min": 0, "max": 10000,
                                       "tooltip": "Frames a change inside a shot cross-fades over; 0 = at once. "
                                                  "At a shot's start a change is at once."}),
                **TILES,
            },
            "hidden": {"unique_id": "UNIQUE_ID", "prompt": "PROMPT"},
        }

    @classmethod
    def VALIDATE_INPUTS(cls, size, tile=str(_STYLE.tile)):
        checked = validate_size(size)
        return validate_tile(tile) if checked is True else checked

    def stylize(self, frames: torch.Tensor, style: torch.Tensor, preset: str, size: int, style_weight: float,
                seed: int, keep_colors: bool, warm_start: str, temporal_weight: float, iterations: int = 0,
                warm_iterations: int = 0, new_clip: bool = False, first_frame: int = 0,
                unique_id: str | None = None, prompt: dict | None = None, mask: torch.Tensor | None = None,
                style_schedule: str = "", style_fade: int = _VIDEO.style_fade, tile: str = str(_STYLE.tile)):
        options = _options(preset, size, style_weight, seed, keep_colors, iterations, tile)
        styles = _styles(style)
        keys = schedule_keys(style_schedule, styles)
        video = VideoOptions.from_preset(preset, warm_start=warm_start, temporal_weight=temporal_weight,
                                         **({"warm_iterations": warm_iterations} if warm_iterations else {}),
                                         style_keys=keys, style_fade=style_fade)
        if keys:
            styles = styles[:1]   # before the first key: the batch's first style
        key = (options, video, hashlib.sha256(b"".join(s.tobytes() for s in styles)).hexdigest())
        meta = meta_batch(prompt)
        kind = jobs.kind_of(frames)   # a batch of frames: a clip
        session = _session_for(unique_id, key, new_clip, first_frame, meta,
                               lambda: jobs.processor(kind, styles, options, video))
        out = _stylize_batch(session.processor, kind, frames, unique_id, mask)
        session.fed += len(frames)
        session.meta_batch = meta
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
        return {"required": {"image": ("IMAGE",), **COMMON}, "optional": {**BUDGETS, **MASKS, **TILES},
                "hidden": {"unique_id": "UNIQUE_ID"}}

    @classmethod
    def VALIDATE_INPUTS(cls, size, tile=str(_STYLE.tile)):
        checked = validate_size(size)
        return validate_tile(tile) if checked is True else checked

    def stylize(self, image: torch.Tensor, style: torch.Tensor, preset: str, size: int, style_weight: float,
                seed: int, keep_colors: bool, iterations: int = 0, unique_id: str | None = None,
                mask: torch.Tensor | None = None, tile: str = str(_STYLE.tile)):
        options = _options(preset, size, style_weight, seed, keep_colors, iterations, tile)
        kind = jobs.kind_of(image[0])   # one image: a still; every entry of the batch is one on its own
        processor = jobs.processor(kind, _styles(style), options)
        return (_stylize_batch(processor, kind, image, unique_id, mask),)


NODE_CLASS_MAPPINGS = {"VidstyleStylizeVideoFrames": StylizeVideoFrames, "VidstyleStylizeImage": StylizeImage}
NODE_DISPLAY_NAME_MAPPINGS = {"VidstyleStylizeVideoFrames": "Stylize video frames (vidstyle)",
                              "VidstyleStylizeImage": "Stylize image (vidstyle)"}
