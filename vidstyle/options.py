"""Every option of a stylisation and its default, written once.

The CLI reads its defaults from here (``StyleOptions()``); nothing else
repeats them. Values are checked when the object is made, so a bad number
fails before any file is read or any network is built.
"""

from __future__ import annotations

import dataclasses
import math
from dataclasses import dataclass, field
from fractions import Fraction
from typing import Literal, Union

from .errors import ConfigError
from .vgg import check_layers

Optimizer = Literal["lbfgs", "adam"]

DEFAULT_CONTENT_LAYERS = ("relu4_2",)  # the paper's conv4_2 (Caffe's ReLU is in place)
DEFAULT_STYLE_LAYERS = ("relu1_1", "relu2_1", "relu3_1", "relu4_1", "relu5_1")

# Presets bundle the size, the iteration budgets and the schedule; any
# option given explicitly overrides its preset's value. "standard" is the
# default: StyleOptions() and VideoOptions() ARE the standard preset.
#
# gpu_size replaces size when the preset is taken for a CUDA device: a GPU
# runs an iteration at 720p in milliseconds, where a 2-core CPU needs seconds,
# so a GPU user gets 720p from "standard" (and 1080p from "high") without
# asking, and a CPU user a size that finishes today.
#
# warm_iterations is the most a warm frame may take; it stops sooner when it
# is done (the warm-start rule's plateau, warmstart.py). standard's 11 is the
# cap that held on all three clips of benchmarks/WARM_FRAMES.md, a camera pan
# among them, whose warm frames all run to the cap (11 iterations + the content
# targets' forward = 11.3 VGG passes, issue #18's limit is 12).
#
# standard's tolerance (0.5% over 20 iterations) stops a first frame within 1.4%
# of the lowest loss its 300 iterations reach, as close as torch's L-BFGS got at
# 0.1% in a5dd93a (benchmarks/FIRST_FRAME.md, 256 px: 149 iterations against
# a5dd93a's 141, each 1.014 of its own lowest; FIRST_FRAME_512.md, 512 px: 164,
# 1.014, against 91, 1.022). draft's and high's were not re-measured.
PRESETS: dict[str, dict[str, object]] = {
    "draft": dict(size=256, gpu_size=640, iterations=150, scales=1, tolerance=3e-3, warm_iterations=8),
    "standard": dict(size=512, gpu_size=1280, iterations=300, scales=1, tolerance=5e-3, warm_iterations=11),
    "high": dict(size=1024, gpu_size=1920, iterations=500, scales=2, tolerance=5e-4, warm_iterations=24),
}
DEFAULT_PRESET = "standard"
_STANDARD = PRESETS[DEFAULT_PRESET]

# Warm frames: how a frame that continues a shot is started, held and budgeted is its warm-start
# rule's (warmstart.py: the plateau stop, the carried L-BFGS memory, the low-passed temporal term,
# each with its measurement). The optimiser's memory is checkpointed in the work folder at every
# shot start and every MEMORY_CHECKPOINT_EVERY frames, so a run resumed after a crash redoes at most
# that many frames and ends with the same bytes.
MEMORY_CHECKPOINT_EVERY = 16

# Below this a level of the coarse-to-fine schedule holds too little for
# relu5_1 (1/16 of the input size) to see any structure.
MIN_LEVEL_SIDE = 64

# Video, sequence and farm defaults (the CLI and every driver read them here).
# The encoder keeps the paint (benchmarks/encoder.py, ENCODER.md): at CRF 18 with x264's default
# tuning and ffmpeg's default chroma downsampling the decoded frames of the Big Buck Bunny clip at
# 512 px had 1.43x the style loss of the PNG frames (2.0x the worst frame). CRF 15 with -tune grain,
# no B-frames and lanczos chroma downsampling (media.py) keeps every frame within 1.07x in 4:2:0,
# which every player decodes, for 2.4x the file size.
DEFAULT_CRF = 15
DEFAULT_CODEC = "h264"
CODECS = ("h264", "h264-444", "prores", "prores4444")
DEFAULT_CUT_THRESHOLD = 0.5      # 1 - HSV histogram correlation; cuts score ~1, motion < 0.1
DEFAULT_WARMUP = 5               # frames a chunk inside a shot renders first and throws away
DEFAULT_CHUNK_SIZE = 50          # most frames a farm / Ray chunk keeps
DEFAULT_RETRIES = 2              # further tries of a failed Ray chunk
DEFAULT_STYLE_FADE = 12          # frames a style key inside a shot cross-fades over (styletrack.py)
DEFAULT_HALO = 64                # px of context around a tile (tiles.py; its cost and error: benchmarks/TILES.md)
# The coarsest level of a large still or first frame: a 2048 px plate made from 1024 px had 0.66x the style
# loss (seen at 1024 px) of one optimised at full size only, and 0.78x that of one made from 512 px
# (benchmarks/PLATE_STROKES.md): VGG-19's window is a few hundred px, so the coarsest level sets the strokes.
DEFAULT_COARSEST = 1024


@dataclass(frozen=True)
class StyleOptions:
    """How one image is stylised. All sizes are in pixels.

    size: longest side of the output, at most the content's own (a smaller
        content is not enlarged); None keeps the content's size.
    iterations: optimiser iterations at the finest level; coarser levels of
        the schedule get the same budget, at a fraction of the cost.
    scales: levels of the coarse-to-fine schedule, each twice the size of
        the one before (1 = optimise at full size only).
    coarsest: a still or a shot's first frame larger than this gets more
        levels than ``scales``, so that its coarsest level is about this
        long (``schedule.levels_for``: 2048 px runs 1024 > 2048, 3840 px
        960 > 1920 > 3840); 0 = ``scales`` levels whatever the size.
    content_weight, style_weight, tv_weight: weights of the loss terms; both
        content and style terms are relative errors (see losses.py), so these
        do not depend on the image size.
    content_layers, style_layers: VGG-19 layer names (relu4_2, relu1_1, ...).
    style_layer_weights: one per style layer (normalised to sum 1); None = equal.
    style_blend: one weight per style image (normalised to sum 1); None = equal.
    style_scale: style image's longest side relative to the output's: > 1
        gives finer brush strokes, < 1 coarser ones.
    keep_colors: keep the content's colours (luminance-only transfer).
    init: "content", "noise" (the paper's white noise) or an image path.
    optimizer: "lbfgs" (the paper's) or "adam".
    learning_rate: step size; None = 1.0 for L-BFGS, 0.02 for Adam.
    seed: seeds the noise init; same seed and machine give the same bytes.
    tolerance, patience: stop a level early when the loss fell by less than
        ``tolerance`` (relative) over the last ``patience`` iterations;
        tolerance 0 disables early stopping.
    pooling: "avg" (the paper's choice, section 2; the default since it holds
        a camera pan's style in 11 warm iterations where max pooling lost it
        in 16: docs/DEVELOPING.md, "Warm frames") or "max" (VGG as trained; the
        earlier default, and the network the benchmarks judge with).
    weights: path to a user's VGG-19 state dict; None = the original weights.
    preprocessing: "caffe" or "torchvision"; None picks the one the weights
        need (caffe for the original, torchvision for a user file).
    device: "auto" (CUDA, then MPS, then CPU), "cpu", "cuda", "mps" or "cuda:N";
        or a comma list of devices of one kind ("cuda:0,cuda:1"): a tiled
        image's tiles are spread over them (at least one tile each), the
        result that of one device.
    precision: "auto" (bf16 convolutions where the hardware has them, else
        fp32), "fp32" or "bf16". Losses are always summed in fp32.
    tile: plate resolution (tiles.py): the network runs over tiles of this
        many px (before the halo) with one global style (the Gram matrices
        of the whole image), so memory holds one tile's activations; 0 =
        never tiled; "auto" = tiled only when the image's untiled pass would
        not fit in the device's free memory, with the largest tile that does.
        Tiles are at most 1.25 x this (``tiles.grid`` shares a thin
        remainder); an image that makes one tile runs untiled.
    tile_halo: px of context around each tile (its cost against its error:
        benchmarks/TILES.md; the time per iteration: benchmarks/MEMORY.md).
    """

    size: int | None = _STANDARD["size"]
    iterations: int = _STANDARD["iterations"]
    scales: int = _STANDARD["scales"]
    coarsest: int = DEFAULT_COARSEST
    content_weight: float = 1.0
    style_weight: float = 5.0
    tv_weight: float = 10.0
    content_layers: tuple[str, ...] = DEFAULT_CONTENT_LAYERS
    style_layers: tuple[str, ...] = DEFAULT_STYLE_LAYERS
    style_layer_weights: tuple[float, ...] | None = None
    style_blend: tuple[float, ...] | None = None
    style_scale: float = 1.0
    keep_colors: bool = False
    init: str = "content"
    optimizer: Optimizer = "lbfgs"
    learning_rate: float | None = None
    seed: int = 0
    tolerance: float = _STANDARD["tolerance"]
    patience: int = 20
    pooling: Literal["max", "avg"] = "avg"
    weights: str | None = None
    preprocessing: Literal["caffe", "torchvision"] | None = None
    device: str = "auto"
    precision: Literal["auto", "fp32", "bf16"] = "auto"
    lbfgs_history: int = field(default=20, repr=False)
    tile: int | str = "auto"
    tile_halo: int = DEFAULT_HALO

    def __post_init__(self) -> None:
        if self.size is not None:
            whole_number("size", self.size, 16)
        whole_number("iterations", self.iterations, 1)
        whole_number("scales", self.scales, 1)
        whole_number("coarsest", self.coarsest, 0)
        whole_number("patience", self.patience, 1)
        whole_number("lbfgs_history", self.lbfgs_history, 1)
        for name in ("content_weight", "style_weight", "tv_weight", "tolerance"):
            _finite_at_least(name, getattr(self, name), 0.0)
        if self.content_weight == 0 and self.style_weight == 0:
            raise ConfigError("content_weight and style_weight cannot both be 0")
        _finite_positive("style_scale", self.style_scale)
        if self.learning_rate is not None:
            _finite_positive("learning_rate", self.learning_rate)
        object.__setattr__(self, "content_layers", check_layers(self.content_layers, "content layers"))
        object.__setattr__(self, "style_layers", check_layers(self.style_layers, "style layers"))
        if len(set(self.style_layers)) != len(self.style_layers):
            raise ConfigError("style layers: a layer is listed twice")
        if self.style_layer_weights is not None:
            weights = weight_list("style layer weights", self.style_layer_weights)
            if len(weights) != len(self.style_layers):
                raise ConfigError(f"style layer weights: {len(weights)} given for "
                                  f"{len(self.style_layers)} style layers")
            object.__setattr__(self, "style_layer_weights", weights)
        if self.style_blend is not None:
            object.__setattr__(self, "style_blend", weight_list("style blend", self.style_blend))
        if self.optimizer not in ("lbfgs", "adam"):
            raise ConfigError(f"optimizer must be 'lbfgs' or 'adam', not {self.optimizer!r}")
        if self.pooling not in ("max", "avg"):
            raise ConfigError(f"pooling must be 'max' or 'avg', not {self.pooling!r}")
        if self.precision not in ("auto", "fp32", "bf16"):
            raise ConfigError(f"precision must be 'auto', 'fp32' or 'bf16', not {self.precision!r}")
        if self.preprocessing not in (None, "caffe", "torchvision"):
            raise ConfigError(f"preprocessing must be 'caffe' or 'torchvision', not {self.preprocessing!r}")
        if not isinstance(self.init, str) or not self.init:
            raise ConfigError("init must be 'content', 'noise' or an image path")
        whole_number("seed", self.seed, 0, 2**63 - 1)
        if self.tile != "auto":
            if isinstance(self.tile, str) and self.tile.strip().isdigit():
                object.__setattr__(self, "tile", int(self.tile))
            if isinstance(self.tile, str) or isinstance(self.tile, bool):
                raise ConfigError(f"tile must be a number of pixels, 0 (no tiles) or 'auto', not {self.tile!r}")
            whole_number("tile", self.tile, 0)
        whole_number("tile_halo", self.tile_halo, 0)

    def replace(self, **changes) -> "StyleOptions":
        """A copy with some fields changed (validated again)."""
        return dataclasses.replace(self, **changes)

    @classmethod
    def from_preset(cls, preset: str = DEFAULT_PRESET, **changes) -> "StyleOptions":
        """The preset's values, then ``changes`` (explicit options win).

        The size is the preset's ``gpu_size`` when ``changes["device"]`` (or
        "auto") means a CUDA GPU, else its ``size``.
        """
        fields = _preset_fields(cls, preset)
        if _cuda(changes.get("device", "auto")):
            fields["size"] = PRESETS[preset]["gpu_size"]
        return cls(**{**fields, **changes})

    @property
    def step_size(self) -> float:
        if self.learning_rate is not None:
            return self.learning_rate
        return 1.0 if self.optimizer == "lbfgs" else 0.02


def _cuda(device: str) -> bool:
    """Whether a device name means a CUDA GPU here ("auto" does when PyTorch sees one)."""
    if device == "auto":
        import torch
        return torch.cuda.is_available()
    return isinstance(device, str) and device.startswith("cuda")


def _preset_fields(cls, preset: str) -> dict:
    if preset not in PRESETS:
        raise ConfigError(f"preset must be one of {', '.join(PRESETS)}, not {preset!r}")
    names = {f.name for f in dataclasses.fields(cls)}
    return {k: v for k, v in PRESETS[preset].items() if k in names}


def check_codec(codec: str) -> None:
    """Refuse a codec vidstyle does not write (ConfigError): the one check, for renders, assemble and encoders."""
    if codec not in CODECS:
        raise ConfigError(f"codec must be one of {', '.join(CODECS)}, not {codec!r}")


def whole_number(name: str, value, low: int, high: int | None = None) -> None:
    """Refuse ``value`` unless it is a whole number (not a bool) from ``low`` (to ``high``): the one such check."""
    if not isinstance(value, int) or isinstance(value, bool) or value < low or (high is not None and value > high):
        span = f">= {low}" if high is None else f"from {low} to {high}"
        raise ConfigError(f"{name} must be a whole number {span}, not {value!r}")


def _finite_at_least(name: str, value, low: float) -> None:
    if not isinstance(value, (int, float)) or isinstance(value, bool) or not math.isfinite(value) or value < low:
        raise ConfigError(f"{name} must be a finite number >= {low:g}, not {value!r}")


def _finite_positive(name: str, value) -> None:
    _finite_at_least(name, value, 0.0)
    if value == 0:
        raise ConfigError(f"{name} must be > 0, not {value!r}")


def weight_list(name: str, values) -> tuple[float, ...]:
    values = tuple(values)
    if not values:
        raise ConfigError(f"{name}: give at least one weight")
    for v in values:
        _finite_at_least(name, v, 0.0)
    if sum(values) <= 0:
        raise ConfigError(f"{name}: the weights must not all be 0")
    return tuple(float(v) for v in values)


# The names --warm-start takes, the default first: each names a rule object (warmstart.RULES).
WARM_STARTS: tuple[str, ...] = ("flow", "previous", "none")
WarmStart = Literal["flow", "previous", "none"]
Codec = Literal["h264", "h264-444", "prores", "prores4444"]


@dataclass(frozen=True)
class VideoOptions:
    """How a video or image sequence is stylised, beyond the per-frame StyleOptions.

    warm_start: "flow" (previous output warped by optical flow, with a
        temporal loss on reliable pixels; Ruder 2016), "previous" (the
        unwarped previous output, no temporal loss) or "none" (every frame
        on its own, from StyleOptions.init).
    warm_iterations: the most iterations a warm-started frame may take (it
        stops sooner when its loss settles; the first frame of a shot gets
        StyleOptions.iterations).
    temporal_weight: weight of the temporal loss (mean squared difference to
        the warped previous output over reliable pixels, image in [0, 1]).
    cuts: "auto" (detect hard cuts while decoding), "none", or a tuple of
        frame numbers that start a new shot (replacing detection).
    cut_threshold: 1 - HSV histogram correlation above which "auto" cuts.
    frames: frame numbers to process (None: all); sequences keep their numbers.
    accept_damaged: a video whose decoder reports errors, or that decodes
        fewer frames than its container promises, is refused naming what is
        wrong (False); True renders the frames that decode and records a
        warning (``RunSummary.warnings``, the report) instead.
    warmup: when ``frames`` starts inside a shot, this many frames before it
        are rendered first and not kept, so the first kept frame is
        warm-started like its neighbours (a farm chunk does not pop); fewer
        when the shot starts sooner, none at a cut.
    fps: output frame rate (None: the input's); a Fraction keeps 29.97 exact.
    crf: H.264 quality, 0 (lossless) .. 51; lower keeps more.
    codec: "h264" (4:2:0, plays everywhere, .mp4/.mov), "h264-444" (4:4:4:
        keeps every stroke; browsers and QuickTime do not play it), "prores"
        (ProRes 422 HQ, .mov) or "prores4444" (ProRes 4444, .mov), for editing
        pipelines that want ProRes: at prores_ks's quality they keep less paint
        than "h264" (ENCODER.md).
    colorspace: the input's OCIO colour space (``ACEScg``, ``Linear Rec.709
        (sRGB)``, ...; names of ``$OCIO`` or OCIO's built-in ACES studio
        config); None: scene-linear Rec.709 for EXR, sRGB for the rest
        (colorspaces.py). Stills take it too.
    masks: matte paths, one per style (the k-th for the k-th style): each
        style is matched only inside its matte (guided Gram matrices, Gatys
        et al. 2017) and the output is the plate where no matte reaches; a
        still, or a clip matched to the input frame by frame (mattes.py).
        Empty: every style everywhere (blended). Stills take them too.
    style_keys: the style track (``styletrack.StyleKey``s: from frame N on,
        these styles; ``--style-at``, ``--style-track``); before the first
        key, the positional styles. Empty: the positional styles throughout.
    style_fade: frames a key inside a shot cross-fades the style over (0 or
        1: at once); a key at a shot's start takes effect at once.
    """

    warm_start: WarmStart = "flow"
    warm_iterations: int = _STANDARD["warm_iterations"]
    temporal_weight: float = 100.0   # with Flow's 2 px low-pass: benchmarks/WARM_FRAMES.md
    cuts: Union[str, tuple[int, ...]] = "auto"
    cut_threshold: float = DEFAULT_CUT_THRESHOLD
    frames: tuple[int, ...] | None = None
    warmup: int = DEFAULT_WARMUP
    fps: Fraction | None = None
    crf: int = DEFAULT_CRF
    codec: Codec = DEFAULT_CODEC
    accept_damaged: bool = False
    colorspace: str | None = None
    masks: tuple[str, ...] = ()
    style_keys: tuple = ()
    style_fade: int = DEFAULT_STYLE_FADE

    def __post_init__(self) -> None:
        from .styletrack import check_keys

        object.__setattr__(self, "masks", tuple(str(m) for m in self.masks))
        object.__setattr__(self, "style_keys", check_keys(self.style_keys))
        whole_number("style fade", self.style_fade, 0)
        if self.colorspace is not None and (not isinstance(self.colorspace, str) or not self.colorspace.strip()):
            raise ConfigError(f"colorspace must be an OCIO colour space name, not {self.colorspace!r}")
        if self.warm_start not in WARM_STARTS:
            raise ConfigError(f"warm start must be one of {', '.join(WARM_STARTS)}, not {self.warm_start!r}")
        whole_number("warm_iterations", self.warm_iterations, 1)
        _finite_at_least("temporal_weight", self.temporal_weight, 0.0)
        if isinstance(self.cuts, str):
            if self.cuts not in ("auto", "none"):
                raise ConfigError(f"cuts must be auto, none or a list of frame numbers, not {self.cuts!r}")
        else:
            object.__setattr__(self, "cuts", tuple(int(c) for c in self.cuts))
        _finite_positive("cut_threshold", self.cut_threshold)
        whole_number("warmup", self.warmup, 0)
        if self.frames is not None:
            if not self.frames:
                raise ConfigError("frames: the range is empty")
            object.__setattr__(self, "frames", tuple(sorted(set(int(f) for f in self.frames))))
        if self.fps is not None:
            try:
                fps = Fraction(self.fps).limit_denominator(1001 * 1000)
            except (ValueError, TypeError, ZeroDivisionError):
                raise ConfigError(f"fps must be a number like 24 or 30000/1001, not {self.fps!r}") from None
            if fps <= 0 or fps > 1000:
                raise ConfigError(f"fps must be more than 0 and at most 1000, not {fps}")
            object.__setattr__(self, "fps", fps)
        whole_number("crf", self.crf, 0, 51)
        check_codec(self.codec)

    def replace(self, **changes) -> "VideoOptions":
        """A copy with some fields changed (validated again)."""
        return dataclasses.replace(self, **changes)

    @classmethod
    def from_preset(cls, preset: str = DEFAULT_PRESET, **changes) -> "VideoOptions":
        """The preset's values, then ``changes`` (explicit options win)."""
        return cls(**{**_preset_fields(cls, preset), **changes})
