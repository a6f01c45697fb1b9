"""The engine: what stays fixed across many images (the network, the styles and their Gram targets).

``Stylizer`` holds the VGG-19 network, the style images and their Gram
targets per size, so a video reuses it for every frame. It builds a
level's terms (content, style and total variation from the options, plus
any a caller adds) and their objective (``objective.Objective``); the
coarse-to-fine schedule (``schedule.coarse_to_fine``) and the optimiser
loop (``optimize.optimize``, with vidstyle's own L-BFGS, ``lbfgs.py``) do
the rest. ``Stylizer.run`` optimises one image and returns an ``Outcome``
(the image, the L-BFGS memory to carry on, the last progress report);
``Stylizer.stylize`` returns just the image.
"""

from __future__ import annotations

import math
from typing import Sequence

import numpy as np
import torch

from . import images
from .errors import ConfigError, InputError
from .grad import autograd_on, normal
from .lbfgs import Memory
from .losses import blend_grams, gram
from .objective import Objective
from .options import StyleOptions
from .schedule import Outcome, Plan, Progress, ProgressCallback, coarse_to_fine, level_sizes, levels_for
from .terms import Content, GuidedStyle, Style, Term, TotalVariation
from .tiles import TiledObjective, auto_tile, check_options, one_tile, tiled_features, tiled_grams
from .vgg import LAYER_INDEX, VGG19Features, build_network, min_side


def resolve_device(name: str) -> torch.device:
    """"auto" -> cuda, else mps, else cpu; check that an explicit device exists."""
    if name == "auto":
        if torch.cuda.is_available():
            return torch.device("cuda")
        mps = getattr(torch.backends, "mps", None)
        if mps is not None and mps.is_available():
            return torch.device("mps")
        return torch.device("cpu")
    try:
        device = torch.device(name)
    except (RuntimeError, TypeError):
        raise ConfigError(f"unknown device {name!r}: use auto, cpu, cuda, cuda:N or mps") from None
    if device.type == "cuda":
        if not torch.cuda.is_available():
            raise ConfigError("device cuda was asked for but PyTorch sees no CUDA GPU: use --device cpu")
        if device.index is not None and device.index >= torch.cuda.device_count():
            raise ConfigError(f"device {name}: only {torch.cuda.device_count()} CUDA device(s) present")
    elif device.type == "mps":
        mps = getattr(torch.backends, "mps", None)
        if mps is None or not mps.is_available():
            raise ConfigError("device mps was asked for but is not available: use --device cpu")
    elif device.type != "cpu":
        raise ConfigError(f"unsupported device {name!r}: use auto, cpu, cuda, cuda:N or mps")
    return device


def resolve_devices(names: str) -> list[torch.device]:
    """``--device``: one device, or a comma list for tiles spread over several (``cuda:0,cuda:1``, ``cpu,cpu``).

    Every device must exist and be of one kind (a tile's features meet on
    the first device).
    """
    parts = [p.strip() for p in str(names).split(",")]
    if any(not p for p in parts):
        raise ConfigError(f"--device takes a device or a comma list of them like cuda:0,cuda:1, not {names!r}")
    if len(parts) > 1 and "auto" in parts:
        raise ConfigError("a device list names its devices: leave auto out (e.g. cuda:0,cuda:1)")
    devices = [resolve_device(p) for p in parts]
    if len({d.type for d in devices}) > 1:
        raise ConfigError(f"the devices {names} mix kinds ({', '.join(sorted({d.type for d in devices}))}): tiles "
                          f"are spread over devices of one kind")
    return devices


def native_bf16(device: torch.device) -> bool:
    """Whether ``device`` computes bfloat16 natively: a CUDA GPU that supports it, a CPU with
    AVX512-BF16 or AMX as oneDNN reports them. Elsewhere bf16 is emulated."""
    if device.type == "cuda":
        return torch.cuda.is_bf16_supported()
    if device.type == "cpu":
        return bool(getattr(torch.ops.mkldnn, "_is_mkldnn_bf16_supported", lambda: False)())
    return False


def use_bf16(precision: str, device: torch.device) -> bool:
    """Whether the VGG convolutions run in bfloat16.

    "auto" picks bf16 where the hardware computes it natively (``native_bf16``):
    there it cuts the cost of an iteration by ~1.8x on the CPU with the same
    loss curve (benchmarks/engine_speed.py). Elsewhere bf16 is emulated and
    slow (``precision_note``).
    """
    if precision == "fp32":
        return False
    if precision == "bf16":
        if device.type == "mps":
            raise ConfigError("precision bf16 is not supported on mps: use fp32")
        return True
    return native_bf16(device)


# Seconds an engine iteration at 256x144 on a 2-core AMD EPYC without AVX512-BF16 (session 18):
# forced bf16 19.4 s (benchmarks/ENGINE_COST_EMULATED.md) against fp32 0.394 s (ENGINE_COST_EPYC.md).
EMULATED_BF16_SLOWDOWN = 49


def precision_note(precision: str, devices: str) -> str | None:
    """The warning for ``precision="bf16"`` on a CPU that only emulates bf16 (None for anything else).

    ``devices``: ``StyleOptions.device``. Not an error: the choice is the
    user's (it halves the activations' memory), but a run taking ~49x longer
    than the default with nothing said would look like a hang.
    """
    if precision != "bf16":
        return None
    if not any(d.type == "cpu" and not native_bf16(d) for d in resolve_devices(devices)):
        return None
    return (f"--precision bf16 is emulated on this CPU (it has no AVX512-BF16 or AMX): an iteration takes tens of "
            f"times as long as in fp32 ({EMULATED_BF16_SLOWDOWN}x on a 2-core AMD EPYC); --precision auto picks "
            f"fp32 here")


# The longest side a style image may be resized to (style_scale x the output's): beyond it
# OpenCV's resize cannot allocate, and no machine holds VGG-19's activations anyway.
MAX_STYLE_SIDE = 16384


def _two_digits(value: float, up: bool) -> float:
    """``value`` rounded to 2 significant digits, up (advice that is enough) or down (advice not too much)."""
    scale = 10 ** (1 - math.floor(math.log10(value)))
    return (math.ceil if up else math.floor)(value * scale) / scale


class Stylizer:
    """The network, the style images and their targets for one set of options (see the module doc).

    ``styles``: (H, W, 3) float32 BGR [0, 1] arrays, as ``images.read_image``
    gives them. None are needed when ``options.style_weight`` is 0 (a judge
    of content loss alone, as ``vidstyle check`` uses without ``--style``).
    """

    # On CUDA: ask cuDNN for deterministic kernels (the same seed gives the same bytes); on the CPU
    # this changes nothing. The network's memory layout: None keeps the feature maps channels-last
    # on the CPU (measured faster: ``VGG19Features.use_channels_last``) and NCHW elsewhere (on CUDA
    # not yet measured). Both are switches for benchmarks/gpu.py, which measures the other choice.
    deterministic = True
    channels_last: bool | None = None

    @autograd_on
    def __init__(self, styles: Sequence[np.ndarray], options: StyleOptions | None = None):
        self.options = options = options or StyleOptions()
        if not styles and options.style_weight > 0:
            raise ConfigError("give at least one style image")
        blend = options.style_blend or (1.0,) * len(styles)
        if len(blend) != len(styles):
            raise ConfigError(f"style blend: {len(blend)} weight(s) for {len(styles)} style image(s)")
        self.blend = [w / sum(blend) for w in blend]
        layer_w = options.style_layer_weights or (1.0,) * len(options.style_layers)
        self.style_layer_weights = {n: w / sum(layer_w) for n, w in zip(options.style_layers, layer_w)}
        self.devices = resolve_devices(options.device)   # several: a tiled image's tiles spread over them
        self.device = self.devices[0]
        self.layers = tuple(dict.fromkeys(options.content_layers + options.style_layers))
        nets: dict[torch.device, VGG19Features] = {}
        for d in self.devices:
            if d not in nets:
                layout = d.type == "cpu" if self.channels_last is None else self.channels_last
                nets[d] = build_network(self.layers, weights=options.weights, pooling=options.pooling,
                                        preprocessing=options.preprocessing, device=d, channels_last=layout)
        self.nets = [nets[d] for d in self.devices]
        self.net = self.nets[0]
        self.styles = list(styles)
        self.bf16 = use_bf16(options.precision, self.device)
        self.min_side = min_side(self.layers)
        check_options(options)
        self._style_cache: dict[tuple[int, int], dict[str, torch.Tensor]] = {}
        self._each_cache: dict[tuple[int, int], list[dict[str, torch.Tensor]]] = {}

    def check_size(self, height: int, width: int, native: tuple[int, int] | None = None) -> None:
        """Refuse, before any work, an output of (height, width) the network cannot take.

        VGG-19's pooling stages halve the image on the way to the deepest
        layer (relu5_1: four of them), so every side of the content, of each
        level of the schedule and of each resized style image must be at least
        ``self.min_side`` px. ``native``: the content's own (H, W); when it is
        already too small the input is at fault (InputError), otherwise the
        options are (ConfigError).
        """
        need, o = self.min_side, self.options
        deepest = max(self.layers, key=LAYER_INDEX.__getitem__)
        why = f"VGG-19 needs at least {need} px on each side to reach {deepest}"
        if native is not None and min(native) < need:
            raise InputError(f"the content is {native[1]}x{native[0]} px; {why}")
        levels = level_sizes(height, width, levels_for(height, width, o.scales, o.coarsest))
        for lh, lw in levels:
            if min(lh, lw) < need:
                if (lh, lw) != (height, width):
                    raise ConfigError(f"scales {o.scales} makes a level of {lw}x{lh} px; {why}: use fewer scales")
                long_need = math.ceil(need * max(height, width) / min(height, width))
                raise ConfigError(f"size {o.size} makes the output {width}x{height} px; {why}: "
                                  f"use a size of at least {long_need}")
        for k, style in enumerate(self.styles, start=1):
            h0, w0 = style.shape[:2]
            # The style's longer side is style_scale times the output's, at every level: the coarsest
            # level gives it its shortest short side, the finest its longest long side.
            smallest, largest = min(max(lh, lw) for lh, lw in levels), max(height, width)
            long_needed = math.ceil((need - 0.5) * max(h0, w0) / min(h0, w0))   # rounds to >= need px short
            if long_needed > MAX_STYLE_SIDE:
                raise ConfigError(f"style image {k} is {w0}x{h0} px: too thin to be seen by VGG-19 ({why}) unless "
                                  f"it is made more than {MAX_STYLE_SIDE} px long; crop it to a less elongated shape")
            for lh, lw in levels:
                sh, sw = self._style_size(style, lh, lw)
                if min(sh, sw) < need:
                    scale = _two_digits(long_needed / smallest, up=True)
                    raise ConfigError(f"style scale {o.style_scale:g} makes style image {k} {sw}x{sh} px at an "
                                      f"output of {lw}x{lh}; {why}: use a style scale of at least {scale:g}")
                if max(sh, sw) > MAX_STYLE_SIDE:
                    scale = _two_digits(MAX_STYLE_SIDE / largest, up=False)
                    raise ConfigError(f"style scale {o.style_scale:g} makes style image {k} {sw}x{sh} px at an "
                                      f"output of {lw}x{lh}, beyond the {MAX_STYLE_SIDE} px a side vidstyle takes: "
                                      f"use a style scale of at most {scale:g}")

    def _style_size(self, style: np.ndarray, height: int, width: int) -> tuple[int, int]:
        """(H, W) of a style image for an output of (height, width): its longer side ``style_scale`` times the output's."""
        long_side = max(8, round(max(height, width) * self.options.style_scale))
        return images.fit_size(style.shape[0], style.shape[1], long_side)

    # -- targets and terms ---------------------------------------------------------------------------

    @autograd_on
    @torch.no_grad()
    def style_targets(self, height: int, width: int) -> dict[str, torch.Tensor]:
        """Blended Gram targets for an output of (height, width): ``{layer: (1, C, C)}``.

        Each style image is resized so its longer side is ``style_scale``
        times the output's, so brush strokes keep their size relative to the
        picture at every level of the schedule and at any output size.
        """
        key = (height, width)
        if key not in self._style_cache:
            if not self.styles:
                return {}
            self._style_cache[key] = blend_grams(self.style_targets_each(height, width)[:len(self.blend)], self.blend)
        return self._style_cache[key]

    @autograd_on
    @torch.no_grad()
    def style_targets_each(self, height: int, width: int) -> list[dict[str, torch.Tensor]]:
        """Each style's own Gram targets for an output of (height, width) (mattes: each style in its region)."""
        per_style = self._each_cache.setdefault((height, width), [])
        for style in self.styles[len(per_style):]:   # styles added since (add_styles) join the cache
            size = self._style_size(style, height, width)
            x = images.to_tensor(images.resize(style, size), self.device)
            tile = self.tile_for(*size)   # a style as large as a plate is measured tile by tile too
            if tile is not None:
                per_style.append(tiled_grams(self.net, x, self.options.style_layers, tile, self.options.tile_halo))
                continue
            feats = self.net(x, self.options.style_layers)
            per_style.append({n: gram(f) for n, f in feats.items()})
        return per_style

    def add_styles(self, styles: Sequence[np.ndarray]) -> None:
        """More style images (a style track's later keys): their targets are made when first used."""
        self.styles.extend(styles)

    def slot_targets(self, height: int, width: int, slot: Sequence[float]) -> dict[str, torch.Tensor]:
        """Gram targets ``{layer: (1, C, C)}`` of one style slot: ``slot`` weights each of ``self.styles``."""
        each = self.style_targets_each(height, width)
        used = [(w, each[i]) for i, w in enumerate(slot) if w > 0]
        return blend_grams([g for _, g in used], [w for w, _ in used])

    @autograd_on
    @torch.no_grad()
    def content_targets(self, content: torch.Tensor) -> dict[str, torch.Tensor]:
        """Features of ``content`` (1, 3, H, W) at the content layers (tile by tile when the image is tiled), float32.

        Made in the precision the objective evaluates in (bf16 convolutions where ``self.bf16``): a
        target made in fp32 would sit off the bf16 features of the content image itself, and the
        content term could not reach 0 there (relative error ~2e-5 on a bf16 CPU).
        """
        tile = self.tile_for(*content.shape[2:])
        with torch.autocast(self.device.type, dtype=torch.bfloat16, enabled=self.bf16):
            if tile is not None:
                feats = tiled_features(self.net, normal(content), self.options.content_layers, tile,
                                       self.options.tile_halo)
            else:
                feats = self.net(normal(content), self.options.content_layers)
        return {n: f.float().clone() for n, f in feats.items()}

    def tile_for(self, height: int, width: int) -> int | None:
        """The tile side an image of (height, width) runs with (``StyleOptions.tile``), or None: untiled.

        With several devices "auto" makes at least one tile per device. An
        image the grid would make one tile of runs untiled (the same pass
        without step 1's).
        """
        tile = self.options.tile
        if tile == "auto":
            tile = auto_tile(height, width, self.device, self.options.tile_halo, self.bf16)
            if len(self.devices) > 1:
                split = -(-max(height, width) // len(self.devices))
                tile = min(tile or split, max(self.min_side, -(-split // 16) * 16))
        return tile if tile and not one_tile(height, width, tile, self.min_side) else None

    def terms(self, content: torch.Tensor, extra: Sequence[Term] = (), guides: torch.Tensor | None = None,
              styles: Sequence[Sequence[float]] | None = None) -> list[Term]:
        """The terms of one level: content, style and TV from the options (those weighted above 0), then ``extra``.

        ``content``: (1, 3, H, W) on the device, at the level's size;
        ``guides``: (K, 1, H, W), one region per style (mattes), or one
        region for the styles' blend; None: the blend everywhere.
        ``styles``: this image's style slots (a style track's frame,
        ``styletrack.Slots``): one weight vector over ``self.styles`` per
        guide (one without guides); None: the options' blend.
        """
        o = self.options
        made: list[Term] = []
        h, w = content.shape[2:]
        if o.content_weight > 0:
            made.append(Content(self.content_targets(content), o.content_weight))
        if o.style_weight > 0 and styles is not None:
            targets = [self.slot_targets(h, w, slot) for slot in styles]
            if guides is None and len(targets) == 1:
                made.append(Style(targets[0], self.style_layer_weights, o.style_weight))
            elif guides is not None and guides.shape[0] == len(targets):
                made.append(GuidedStyle(targets, guides.to(self.device), self.style_layer_weights, o.style_weight))
            else:
                raise ConfigError(f"{0 if guides is None else guides.shape[0]} matte(s) for {len(targets)} style "
                                  f"slot(s): give one matte per style of each key, or none")
        elif o.style_weight > 0 and guides is not None:
            if guides.shape[0] not in (1, len(self.styles)):
                raise ConfigError(f"{guides.shape[0]} matte(s) for {len(self.styles)} style image(s): give one "
                                  f"matte per style, or one for their blend")
            targets = self.style_targets_each(h, w) if guides.shape[0] == len(self.styles) else \
                [self.style_targets(h, w)]
            made.append(GuidedStyle(targets, guides.to(self.device), self.style_layer_weights, o.style_weight))
        elif o.style_weight > 0:
            made.append(Style(self.style_targets(h, w), self.style_layer_weights, o.style_weight))
        if o.tv_weight > 0:
            made.append(TotalVariation(o.tv_weight))
        return made + [t for t in extra if t.weight > 0]

    @autograd_on
    def objective(self, content: torch.Tensor, extra: Sequence[Term] = (),
                  guides: torch.Tensor | None = None, styles: Sequence[Sequence[float]] | None = None) -> Objective:
        """The objective of one level: ``terms(content, extra, guides, styles)`` over this network, tiled when
        ``tile_for`` says so (``tiles.TiledObjective``: the same objective, one tile's memory)."""
        terms = self.terms(content, extra, guides, styles)
        tile = self.tile_for(*content.shape[2:])
        if tile is not None:
            return TiledObjective(self.nets, terms, tile, self.options.tile_halo, bf16=self.bf16)
        return Objective(self.net, terms, bf16=self.bf16)

    # -- one image -----------------------------------------------------------------------------------

    @autograd_on
    def run(self, content: np.ndarray, plan: Plan | None = None, callback: ProgressCallback | None = None) -> Outcome:
        """Optimise one content image (H, W, 3) BGR [0, 1] at its own size, as ``plan`` says (``schedule.Plan``)."""
        plan = plan or Plan()
        # cudnn picks non-deterministic kernels unless told; on the CPU this is a no-op.
        with torch.backends.cudnn.flags(enabled=True, benchmark=False, deterministic=self.deterministic):
            return coarse_to_fine(self, content, plan, callback)

    def stylize(self, content: np.ndarray, *, init: np.ndarray | torch.Tensor | None = None,
                callback: ProgressCallback | None = None, iterations: int | None = None,
                scales: int | None = None, terms: Sequence[Term] = (), memory: Memory | None = None,
                tolerance: float | None = None, patience: int | None = None,
                min_iterations: int = 1) -> np.ndarray:
        """``run`` with the plan's fields as keywords; returns the image (H, W, 3) float32 BGR [0, 1]."""
        plan = Plan(iterations, scales, init, tuple(terms), memory, tolerance, patience, min_iterations)
        return self.run(content, plan, callback).image

    def tensor(self, image: np.ndarray | torch.Tensor) -> torch.Tensor:
        """(H, W, 3) array or (1, 3, H, W) tensor -> (1, 3, H, W) on the device (a copy if made under inference mode)."""
        if isinstance(image, torch.Tensor):
            return normal(image).to(self.device)
        return images.to_tensor(image, self.device)

    def initial(self, content: torch.Tensor, init: np.ndarray | torch.Tensor | None) -> torch.Tensor:
        """The starting image for the coarsest level, (1, 3, h, w): ``init``, else the options' init."""
        o = self.options
        h, w = content.shape[2:]
        if isinstance(init, torch.Tensor):
            init = normal(init)
            if tuple(init.shape[2:]) != (h, w):
                init = torch.nn.functional.interpolate(init, size=(h, w), mode="bicubic",
                                                       align_corners=False).clamp(0, 1)
            return init.to(self.device)
        if init is not None:
            return images.to_tensor(images.resize(init, (h, w)), self.device)
        if o.init == "content":
            return content.clone()
        if o.init == "noise":
            # The paper's white-noise start, seeded so runs repeat. Drawn on the
            # CPU so the same seed gives the same start on any device.
            g = torch.Generator().manual_seed(o.seed)
            noise = 0.5 + 0.2 * torch.randn(content.shape, generator=g)
            return noise.clamp(0, 1).to(self.device)
        image = images.read_image(o.init, "init image").pixels
        return images.to_tensor(images.resize(image, (h, w)), self.device)


__all__ = ["MAX_STYLE_SIDE", "Outcome", "Plan", "Progress", "ProgressCallback", "Stylizer", "level_sizes",
           "resolve_device", "resolve_devices", "use_bf16"]
