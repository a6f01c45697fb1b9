"""Tiles: the untiled objective over an image too large for one pass, in memory that does not grow with it.

Every term the network feeds is a function of sums over positions: the
content term of ``sum (F - P)^2``, a Gram matrix of ``sum F F^T`` (Gatys et
al. 2016 divide it by the positions; a guided Gram by the guide's energy).
So one evaluation is (issue #21):

1. a forward pass over the tiles, no graph kept, each tile carrying a
   ``halo`` of context around it (keeping no graph, these tiles are larger,
   ``sums_tile``: the same memory, less halo computed), summing each term's
   statistics over the tile's own positions (``Term.tile_sums``): the global sums, hence the
   global Gram matrices and the loss (``Term.from_sums``);
2. the gradient of the loss with respect to those sums (small: C x C per
   layer, one number per content layer);
3. per tile, a forward and backward pass of ``<dL/dS, S_tile>``, whose
   gradient with respect to the tile's pixels is the untiled gradient's share
   of them; the tiles' gradients, halo included, add up to the whole.

Terms that read the image itself (total variation, the temporal term) are
evaluated on the whole image: they are image-sized and cheap. The result
is the untiled objective up to the halo: a feature near a tile's edge sees
the halo, not the whole image (VGG-19's receptive field at relu5_1 is
hundreds of pixels; the halo is chosen by measurement, README "Plate
resolution"). At the image's own border a tile ends where the image does,
so the network's zero padding is the untiled one. Memory: one tile's
activations, plus image-sized buffers (the image, its gradient, the
optimiser's memory).

Tiles start on multiples of the deepest layer's stride (16 for relu5_1),
so every pooling window of a tile is one of the whole image's.
"""

from __future__ import annotations

import itertools
import os
from dataclasses import dataclass
from typing import Callable, Sequence

import torch

from .errors import ConfigError
from .objective import Evaluation
from .options import DEFAULT_HALO
from .terms import Term, layers_of
from .vgg import min_side

# Bytes a pixel of the image costs in one VGG-19 forward+backward pass to relu5_1 (activations kept for
# the backward, the gradients), by the convolutions' precision: measured by benchmarks/memory.py.
BYTES_PER_PIXEL = {"fp32": 3200, "bf16": 1900}
# A pass that keeps no graph (step 1: the sums) holds about this share of a graph pass's bytes per pixel
# (peak RSS of one 1024 px pass to relu5_1, fp32, CPU: 813 B/px without a graph, 2345 with one and its
# backward), so its tiles may be larger: fewer tiles, less halo computed.
SUMS_SHARE = 0.35
# The share of the device's free memory a pass may plan on (the rest: image-sized buffers, the optimiser).
MEMORY_SHARE = 0.5
# How much longer than asked ``grid`` may make a tile's side (a remainder under a quarter tile is shared).
GROWTH = 1.25
# The smallest tile "auto" picks: below it the halo costs more than the tile.
MIN_AUTO_TILE = 256
# L-BFGS keeps two image-sized vectors per curvature pair: a tiled image keeps at most this much of them
# (at 4K, 5 pairs; untiled images keep StyleOptions.lbfgs_history pairs).
HISTORY_BYTES = 1 << 30


def history_for(height: int, width: int, wanted: int) -> int:
    """L-BFGS pairs a tiled image of (height, width) keeps: ``wanted``, at most ``HISTORY_BYTES``, at least 3."""
    return max(3, min(wanted, HISTORY_BYTES // (2 * 4 * 3 * height * width)))


def stride_of(layer: str) -> int:
    """How many image pixels one position of ``layer`` steps over (2 per pooling before it)."""
    return min_side([layer])


@dataclass(frozen=True)
class Tile:
    """A tile's own pixels [y0, y1) x [x0, x1) and the crop it is computed on (the tile and its halo)."""

    y0: int
    y1: int
    x0: int
    x1: int
    cy0: int
    cy1: int
    cx0: int
    cx1: int


class Window:
    """Where a tile lies in each layer's map, for an image of (height, width)."""

    def __init__(self, tile: Tile, height: int, width: int):
        self.tile, self.height, self.width = tile, height, width

    def full(self, layer: str) -> tuple[int, int]:
        """(h, w) of the whole image's map at ``layer``."""
        s = stride_of(layer)
        return self.height // s, self.width // s

    def slices(self, layer: str) -> tuple[slice, slice]:
        """The tile's own positions in the whole image's map at ``layer``."""
        s, t = stride_of(layer), self.tile
        h, w = self.full(layer)
        return slice(t.y0 // s, h if t.y1 == self.height else t.y1 // s), \
            slice(t.x0 // s, w if t.x1 == self.width else t.x1 // s)

    def inner(self, features: torch.Tensor, layer: str) -> torch.Tensor:
        """The tile's own positions of ``features`` (1, C, h, w), the crop's map at ``layer``."""
        s, t = stride_of(layer), self.tile
        ys, xs = self.slices(layer)
        oy, ox = t.cy0 // s, t.cx0 // s
        return features[:, :, ys.start - oy: ys.stop - oy, xs.start - ox: xs.stop - ox]


def grid(height: int, width: int, tile: int, halo: int, align: int) -> list[Tile]:
    """Tiles of about ``tile`` px (at most ``GROWTH`` x it), as even as can be, with ``halo`` px around them.

    ``tile`` and ``halo`` are rounded up to multiples of ``align`` (the
    deepest layer's stride), so every tile starts on a pooling boundary.
    A side cut into n tiles costs n - 1 halos whatever the tiles' sizes, so
    a remainder thinner than a quarter of a tile is not a tile of its own:
    its neighbours share it (they grow by at most a quarter; 1080 rows in
    tiles of 512 are 544 + 536, not 512 + 512 + 56 with two halos).
    """
    halo = -(-halo // align) * align

    def spans(n: int) -> list[tuple[int, int]]:
        count = count_along(n, tile, align)   # rounds the tile to ``align`` itself
        units, rest = divmod(n, align)     # sizes in whole pooling positions, within one of each other
        each, more = divmod(units, count)
        ends = list(itertools.accumulate((each + (i < more)) * align for i in range(count)))
        ends[-1] += rest                   # the last takes the pixels short of a position
        return list(zip([0] + ends[:-1], ends))

    return [Tile(y0, y1, x0, x1, max(0, y0 - halo), min(height, y1 + halo), max(0, x0 - halo), min(width, x1 + halo))
            for y0, y1 in spans(height) for x0, x1 in spans(width)]


def count_along(n: int, tile: int, align: int = 16) -> int:
    """How many tiles ``grid`` cuts a side of ``n`` px into (a remainder under a quarter tile is shared)."""
    tile = max(align, -(-tile // align) * align)
    count = -(-n // tile)
    if count > 1 and n - (count - 1) * tile < max(align, int(tile * (GROWTH - 1))):
        count -= 1
    return count


def one_tile(height: int, width: int, tile: int, align: int = 16) -> bool:
    """Whether ``grid`` makes one tile of an image of (height, width): then it runs untiled (no step 1)."""
    return count_along(height, tile, align) == 1 and count_along(width, tile, align) == 1


def sums_tile(tile: int, halo: int) -> int:
    """The tile side of step 1 (no graph kept) that needs no more memory than a graph pass over ``tile``."""
    return int((tile + 2 * halo) / SUMS_SHARE ** 0.5) - 2 * halo


def check_tile(tile: int, halo: int, align: int) -> None:
    """Refuse a tile too small to hold the deepest layer's positions beside its halo."""
    if tile < align:
        raise ConfigError(f"a tile of {tile} px is smaller than the {align} px one position of the deepest layer "
                          f"spans: use --tile {max(align, 2 * halo)} or more (or 0 for no tiles)")
    if tile < halo:
        raise ConfigError(f"a tile of {tile} px is smaller than its {halo} px halo: most of each pass would be "
                          f"halo; use --tile {max(2 * halo, 4 * align)} or more (or 0 for no tiles)")


def check_options(options) -> None:
    """Refuse ``options.tile`` (a ``StyleOptions``) before any work when it cannot hold its halo or a position."""
    if options.tile not in ("auto", 0):
        check_tile(options.tile, options.tile_halo, min_side(options.content_layers + options.style_layers))


def free_memory(device: torch.device) -> int:
    """Bytes free for the network on ``device``: CUDA's free memory, else the host's available memory."""
    if device.type == "cuda":
        return int(torch.cuda.mem_get_info(device)[0])
    try:
        with open("/proc/meminfo") as handle:
            for line in handle:
                if line.startswith("MemAvailable:"):
                    return int(line.split()[1]) * 1024
    except OSError:
        pass
    return int(os.sysconf("SC_AVPHYS_PAGES") * os.sysconf("SC_PAGE_SIZE"))


def auto_tile(height: int, width: int, device: torch.device, halo: int, bf16: bool,
              free: int | None = None) -> int | None:
    """The tile "auto" picks for an image of (height, width): None when an untiled pass fits.

    Otherwise the largest tile (a multiple of 16) whose pass, halo included,
    fits in ``MEMORY_SHARE`` of the free memory once grown by ``GROWTH``; refused, naming the tile
    that would fit, when not even ``MIN_AUTO_TILE`` does.
    """
    per_px = BYTES_PER_PIXEL["bf16" if bf16 else "fp32"]
    budget = MEMORY_SHARE * (free_memory(device) if free is None else free)
    if height * width * per_px <= budget:
        return None
    side = int(((budget / per_px) ** 0.5 - 2 * halo) / GROWTH)   # ``grid`` may grow a tile by a quarter
    side = side // 16 * 16
    if side < MIN_AUTO_TILE:
        fits = max(16, side)
        raise ConfigError(f"{budget / 2**30:.1f} GiB of free memory on {device} holds no tile of {MIN_AUTO_TILE} "
                          f"px with its {halo} px halo" + (f": --tile {fits} would fit" if side >= 16 else "")
                          + "; free memory or use a smaller --size")
    return side


def untiled_note(tile, height: int, width: int) -> str | None:
    """The summary's line when ``--tile N`` was given but an output of (height, width) fits in one tile."""
    if isinstance(tile, int) and tile > 0 and one_tile(height, width, tile):
        return f"--tile {tile}: the output is {width}x{height} px, one tile's worth: it ran untiled"
    return None


class TiledObjective:
    """The objective of ``objective.Objective`` (same terms, same ``evaluate``), computed tile by tile.

    ``net``: the network; ``terms``: those reading layers must implement
    ``tile_sums`` and ``from_sums`` (terms.py); ``tile``, ``halo``: px;
    ``bf16``: the convolutions in bfloat16 as ``Objective`` does.
    """

    def __init__(self, net, terms: Sequence[Term], tile: int, halo: int = DEFAULT_HALO, *, bf16: bool = False):
        names = [t.name for t in terms]
        if len(set(names)) != len(names):
            raise ValueError(f"two terms share a name: {names}")
        self.nets = list(net) if isinstance(net, (list, tuple)) else [net]   # tile i runs on nets[i % len]
        self.terms, self.tile, self.halo, self.bf16 = list(terms), tile, halo, bf16
        self.deep = [t for t in self.terms if t.layers]
        self.flat_terms = [t for t in self.terms if not t.layers]
        for t in self.deep:
            if type(t).tile_sums is Term.tile_sums:
                raise ConfigError(f"the {t.name} term cannot be computed in tiles: use --tile 0")
        self.layers = layers_of(self.deep)
        self.align = min_side(self.layers) if self.layers else 1
        self.device = next(self.nets[0].parameters()).device   # where the sums, the terms and the image live

    def tiles(self, height: int, width: int) -> list[Tile]:
        """Step 3's tiles (a forward and backward pass each)."""
        return grid(height, width, self.tile, self.halo, self.align)

    def sum_tiles(self, height: int, width: int) -> list[Tile]:
        """Step 1's tiles (no graph): ``sums_tile`` large, whatever the devices (their sums are the same bytes)."""
        return grid(height, width, sums_tile(self.tile, self.halo), self.halo, self.align)

    def _inner(self, k: int, crop: torch.Tensor, window: Window) -> dict[str, torch.Tensor]:
        """The k-th tile's own features ``{layer: (1, C, h, w)}`` on the main device, computed on its net's."""
        net = self.nets[k % len(self.nets)]
        device = next(net.parameters()).device
        with torch.autocast(device.type, dtype=torch.bfloat16, enabled=self.bf16):
            feats = net(crop if crop.device == device else crop.to(device), self.layers)
        return {n: window.inner(f, n).to(self.device) for n, f in feats.items()}

    def _each(self, work, count: int) -> list:
        """``work(k)`` for k in range(count), the tiles of each device on a thread of their own; results in order."""
        if len(self.nets) == 1:
            return [work(k) for k in range(count)]
        from concurrent.futures import ThreadPoolExecutor

        def lane(d: int) -> dict:
            with torch.inference_mode(False), torch.enable_grad():   # the caller's modes, on this thread too
                return {k: work(k) for k in range(d, count, len(self.nets))}

        with ThreadPoolExecutor(len(self.nets), thread_name_prefix="vidstyle-tiles") as pool:
            done: dict = {}
            for part in pool.map(lane, range(len(self.nets))):
                done.update(part)
        return [done[k] for k in range(count)]

    def evaluate(self, image: torch.Tensor) -> Evaluation:
        """The objective and its gradient at ``image`` (1, 3, H, W): see the module doc."""
        x = image.detach()
        h, w = x.shape[2:]
        tiles, sum_tiles = self.tiles(h, w), self.sum_tiles(h, w)
        windows, sum_windows = [Window(t, h, w) for t in tiles], [Window(t, h, w) for t in sum_tiles]

        def crop_of(t: Tile) -> torch.Tensor:
            return x[:, :, t.cy0:t.cy1, t.cx0:t.cx1]

        # 1. the global sums, no graph (added in tile order whatever the devices: the same bytes)
        def sums_of(k: int) -> dict[str, dict[str, torch.Tensor]]:
            with torch.no_grad():
                inner = self._inner(k, crop_of(sum_tiles[k]), sum_windows[k])
                return {t.name: {key: v.float() for key, v in t.tile_sums(inner, sum_windows[k]).items()}
                        for t in self.deep}

        totals: dict[str, dict[str, torch.Tensor]] = {}
        for sums in self._each(sums_of, len(sum_tiles)):
            for name, part in sums.items():
                into = totals.setdefault(name, {})
                for key, v in part.items():
                    into[key] = v if key not in into else into[key] + v
        # 2. the loss from them, and its gradient with respect to them
        leaves = {name: {k: v.requires_grad_(True) for k, v in sums.items()} for name, sums in totals.items()}
        parts = {t.name: t.weight * t.from_sums(leaves[t.name], windows[0]) for t in self.deep}
        flat = x.clone().requires_grad_(True)
        parts.update({t.name: t.weight * t.value(flat, {}) for t in self.flat_terms})
        total = sum(parts.values(), x.new_zeros((), dtype=torch.float32))
        wrt = [v for sums in leaves.values() for v in sums.values()] + [flat]
        grads = torch.autograd.grad(total, wrt, allow_unused=True)
        grad = grads[-1].clone() if grads[-1] is not None else torch.zeros_like(x)
        by_leaf = dict(zip([id(v) for v in wrt[:-1]], grads[:-1]))
        d_sums = {name: {k: by_leaf[id(v)] for k, v in sums.items()} for name, sums in leaves.items()}

        # 3. per tile, the gradient of <dL/dS, S_tile> with respect to its pixels, halo included
        def grad_of(k: int) -> torch.Tensor:
            crop = crop_of(tiles[k]).clone().requires_grad_(True)
            inner = self._inner(k, crop, windows[k])
            surrogate = x.new_zeros((), dtype=torch.float32)
            for t in self.deep:
                for key, v in t.tile_sums(inner, windows[k]).items():
                    g = d_sums[t.name][key]
                    if g is not None:
                        surrogate = surrogate + (g * v.float()).sum()
            return torch.autograd.grad(surrogate, crop)[0]

        for k, g_crop in enumerate(self._each(grad_of, len(tiles))):
            t = tiles[k]
            grad[:, :, t.cy0:t.cy1, t.cx0:t.cx1] += g_crop
        values = torch.stack([total.detach(), grad.abs().max().to(total.dtype),
                              *(v.detach().to(total.dtype) for v in parts.values())]).tolist()
        return Evaluation(values[0], dict(zip(parts, values[2:])), grad, values[1] == 0.0)


@torch.no_grad()
def tiled_features(net, image: torch.Tensor, layers: Sequence[str], tile: int, halo: int = DEFAULT_HALO,
                   transform: Callable[[torch.Tensor], torch.Tensor] | None = None) -> dict[str, torch.Tensor]:
    """``net(image, layers)`` ((1, 3, H, W) -> {layer: (1, C, h, w)}) tile by tile: the full maps, one tile's memory."""
    h, w = image.shape[2:]
    out: dict[str, torch.Tensor] = {}
    for t in grid(h, w, tile, halo, min_side(layers)):
        window = Window(t, h, w)
        crop = image[:, :, t.cy0:t.cy1, t.cx0:t.cx1]
        feats = net(crop if transform is None else transform(crop), layers)
        for n, f in feats.items():
            if n not in out:
                out[n] = f.new_zeros((1, f.shape[1], *window.full(n)))
            ys, xs = window.slices(n)
            out[n][:, :, ys, xs] = window.inner(f, n)
    return out


@torch.no_grad()
def tiled_grams(net, image: torch.Tensor, layers: Sequence[str], tile: int,
                halo: int = DEFAULT_HALO) -> dict[str, torch.Tensor]:
    """Gram matrices ``{layer: (1, C, C)}`` of ``image`` (1, 3, H, W) as ``losses.gram`` gives them, tile by tile."""
    from .losses import gram

    h, w = image.shape[2:]
    sums: dict[str, torch.Tensor] = {}
    window = None
    for t in grid(h, w, tile, halo, min_side(layers)):
        window = Window(t, h, w)
        feats = net(image[:, :, t.cy0:t.cy1, t.cx0:t.cx1], layers)
        for n, f in feats.items():
            f = window.inner(f, n)
            s = gram(f) * (f.shape[2] * f.shape[3])
            sums[n] = s if n not in sums else sums[n] + s
    return {n: s / (window.full(n)[0] * window.full(n)[1]) for n, s in sums.items()}


__all__ = ["DEFAULT_HALO", "auto_tile", "count_along", "one_tile", "free_memory", "history_for", "Tile", "TiledObjective", "Window", "check_options", "check_tile", "grid", "stride_of", "sums_tile", "tiled_features",
           "tiled_grams", "untiled_note"]
