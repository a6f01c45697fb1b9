"""A plate's colour space and the encoding the network sees, through OpenColorIO.

VGG-19 sees values in [0, 1]. A display-referred plate (an 8/16-bit image
or a video: sRGB by default) is already there and goes in as it is. A
scene-linear plate (an EXR: linear Rec.709 by default; an ACEScg render; a
camera's log) is not: a sun or a lamp sits at 4.0-100.0, and the sRGB curve
that vidstyle used to apply clipped them at 1.0. Such a plate is shown to
the network in **ACEScct**, the ACES log encoding grading tools work in:
it holds scene-linear -0.0069 to 223 in [0, 1] (0.18 at 0.41, 1.0 at 0.55,
16.0 at 0.78), so a highlight keeps its value through the optimisation and
comes back through the exact inverse (OCIO's lossless processor: ~1e-6
relative). The style images, display-referred paintings, are brought into
the same encoding, so the Gram matrices compare like with like.
benchmarks/colour.py chose it among OCIO's log spaces and the ACES 2.0 SDR
view: it keeps a 4-16 highlight patch (median 4.1 after stylising) at the
smallest cost in look of those that hold negatives (style loss viewed as
sRGB 1.9x that of clipping the plate to sRGB; the view's 4.4x). An encoding
may also be a display's view, named ``"DISPLAY / VIEW"`` (the benchmark's
candidate; a view's style image is taken as it is).

Every conversion is OCIO's (``opencolorio``), from the config named by
``$OCIO`` when it is set, otherwise OCIO's built-in ACES studio config
(``ocio://studio-config-latest``); no colour maths is written here.
Values below ACEScct's floor (-0.0069, legal in ACEScg) are clipped to it in
what the network paints; NaN and infinite values are refused when a plate is
read (``images``).

Arrays are (H, W, 3) float32 in vidstyle's **BGR** order.
"""

from __future__ import annotations

import functools
import os
from dataclasses import dataclass

import numpy as np

from .errors import ConfigError

BUILTIN_CONFIG = "ocio://studio-config-latest"
SRGB = "sRGB Encoded Rec.709 (sRGB)"       # 8/16-bit images, videos and style images
LINEAR = "Linear Rec.709 (sRGB)"            # EXR, unless told otherwise
LOG = "ACEScct"                             # what the network sees of a plate that is not display-referred
DISPLAY_ENCODINGS = ("sdr-video",)          # OCIO encodings shown to the network as they are (through sRGB)


def _ocio():
    try:
        import PyOpenColorIO
    except ImportError:
        raise ConfigError("colour spaces need the 'opencolorio' package: pip install opencolorio") from None
    return PyOpenColorIO


def config_path() -> str:
    """The OCIO config in use: ``$OCIO`` when set, else the built-in ACES studio config."""
    return os.environ.get("OCIO") or BUILTIN_CONFIG


@functools.lru_cache(maxsize=8)
def load_config(path: str):
    """The OCIO config at ``path`` (a file or an ``ocio://`` name); ConfigError when it does not load."""
    ocio = _ocio()
    try:
        config = ocio.Config.CreateFromFile(path)
        config.validate()
    except Exception as exc:   # OCIO raises its own Exception subclass with the reason
        source = " ($OCIO)" if os.environ.get("OCIO") == path else ""
        raise ConfigError(f"the OCIO config {path}{source} does not load: {str(exc).splitlines()[0]}") from None
    return config


def check_colorspace(name: str, config_file: str | None = None) -> str:
    """``name`` if the config knows it (names and aliases); otherwise ConfigError listing a few."""
    path = config_file or config_path()
    config = load_config(path)
    space = config.getColorSpace(name)
    if space is None:
        names = list(config.getColorSpaceNames())
        common = [n for n in ("ACEScg", LINEAR, SRGB, "ACEScct", "ACES2065-1", "Linear Rec.2020") if n in names]
        shown = common or names[:6]
        raise ConfigError(f"unknown colour space {name!r} in the OCIO config {path}: use one of "
                          f"{', '.join(repr(n) for n in shown)} (it has {len(names)})")
    return space.getName()


def _view(name: str) -> tuple[str, str] | None:
    """``"DISPLAY / VIEW"`` -> (display, view): an encoding that is a display's view, not a colour space."""
    if " / " not in name:
        return None
    display, view = name.split(" / ", 1)
    return display, view


@functools.lru_cache(maxsize=32)
def _processor(path: str, source: str, target: str):
    ocio = _ocio()
    config = load_config(path)
    try:
        if _view(target) is not None:
            display, view = _view(target)
            processor = config.getProcessor(ocio.DisplayViewTransform(src=source, display=display, view=view))
        elif _view(source) is not None:
            display, view = _view(source)
            processor = config.getProcessor(ocio.DisplayViewTransform(
                src=target, display=display, view=view, direction=ocio.TRANSFORM_DIR_INVERSE))
        else:
            processor = config.getProcessor(source, target)
    except Exception as exc:
        raise ConfigError(f"OCIO cannot convert {source!r} to {target!r}: {str(exc).splitlines()[0]}") from None
    # Lossless: no fast approximations of log and power curves, so a plate comes back as it went in.
    return processor.getOptimizedCPUProcessor(ocio.OptimizationFlags.OPTIMIZATION_LOSSLESS)


def convert(pixels: np.ndarray, source: str, target: str, config_file: str | None = None) -> np.ndarray:
    """(H, W, 3) BGR float32 from colour space ``source`` to ``target`` (a copy; unchanged values when equal)."""
    if source == target:
        return np.array(pixels, dtype=np.float32, copy=True)
    rgb = np.ascontiguousarray(pixels[..., ::-1], dtype=np.float32)
    _processor(config_file or config_path(), source, target).applyRGB(rgb)
    return np.ascontiguousarray(rgb[..., ::-1])


@dataclass(frozen=True)
class Encoding:
    """How a plate's values (``colorspace``) become the network's (``network``) and back.

    ``network`` is SRGB for display-referred plates (then an sRGB plate is
    not touched at all) and LOG otherwise (see the module doc); ``linear``:
    the plate is scene-linear (its values may pass 1).
    """

    colorspace: str
    network: str
    linear: bool = False
    config: str | None = None   # None: config_path() when converting

    @property
    def identity(self) -> bool:
        return self.colorspace == self.network

    def to_network(self, pixels: np.ndarray) -> np.ndarray:
        """Plate values (H, W, 3) -> the network's, in [0, 1] (what lies outside is clipped: module doc)."""
        out = pixels if self.identity else convert(pixels, self.colorspace, self.network, self.config)
        return np.clip(out, 0.0, 1.0).astype(np.float32, copy=False)

    def file_space(self, exr: bool) -> str:
        """The colour space a file of this plate is written in: the plate's own, where the format can hold it.

        An EXR (float) of a display-referred plate is scene-linear Rec.709;
        an integer image or video of a scene-linear plate is sRGB (its
        highlights clipped: only a float format keeps them).
        """
        if exr:
            return LINEAR if self.network == SRGB else self.colorspace
        return SRGB if self.linear else self.colorspace

    def from_network(self, pixels: np.ndarray, exr: bool = False) -> np.ndarray:
        """The network's values (H, W, 3) in [0, 1] -> ``file_space(exr)``, through the exact inverse."""
        target = self.file_space(exr)
        return pixels if target == self.network else convert(pixels, self.network, target, self.config)

    def style(self, pixels: np.ndarray) -> np.ndarray:
        """A style image (display-referred sRGB, as ``images.read_image`` gives it) -> the network's encoding.

        A display's view is what a screen shows: a painting is one already.
        """
        if self.network == SRGB or _view(self.network) is not None:
            return pixels
        return np.clip(convert(pixels, SRGB, self.network, self.config), 0.0, 1.0)


def encoding_for(colorspace: str | None, scene_linear_file: bool) -> Encoding:
    """The encoding of a plate in ``colorspace`` (None: LINEAR for an EXR, else SRGB).

    A named colour space is checked against the config (ConfigError with a
    few valid names); its OCIO encoding decides what the network sees.
    """
    if colorspace is None:
        return Encoding(LINEAR, LOG, linear=True) if scene_linear_file else Encoding(SRGB, SRGB)
    name = check_colorspace(colorspace)
    kind = load_config(config_path()).getColorSpace(name).getEncoding()
    return Encoding(name, SRGB if kind in DISPLAY_ENCODINGS else LOG, linear=kind == "scene-linear")


__all__ = ["BUILTIN_CONFIG", "Encoding", "LINEAR", "LOG", "SRGB", "check_colorspace", "config_path", "convert",
           "encoding_for", "load_config"]
