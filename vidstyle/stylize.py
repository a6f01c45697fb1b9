"""The public entry points for still images: ``stylize_image`` and ``stylize_image_file``."""

from __future__ import annotations

import os
from typing import Sequence, Union

import numpy as np

from . import images
from .engine import ProgressCallback, Stylizer
from .errors import ConfigError, InputError
from .options import StyleOptions

PathLike = Union[str, os.PathLike]
ImageLike = Union[PathLike, np.ndarray]


def as_pixels(image: ImageLike, what: str) -> np.ndarray:
    """A path or an array -> (H, W, 3) float32 BGR [0, 1].

    Arrays may be (H, W, 3) BGR or (H, W) grey, uint8, uint16 or float in [0, 1].
    """
    if isinstance(image, (str, os.PathLike)):
        return images.read_image(image, what).pixels
    if not isinstance(image, np.ndarray):
        raise InputError(f"{what} must be a file path or a numpy array, not {type(image).__name__}")
    arr = image
    if arr.ndim == 2:
        arr = np.repeat(arr[:, :, None], 3, axis=2)
    if arr.ndim != 3 or arr.shape[2] != 3 or min(arr.shape[:2]) == 0:
        raise InputError(f"{what} must be an (H, W, 3) BGR or (H, W) grey array, got shape {arr.shape}")
    if arr.dtype == np.uint8:
        return arr.astype(np.float32) / 255.0
    if arr.dtype == np.uint16:
        return arr.astype(np.float32) / 65535.0
    if np.issubdtype(arr.dtype, np.floating):
        if not np.isfinite(arr).all():
            raise InputError(f"{what} contains NaN or infinite values")
        return np.clip(arr.astype(np.float32), 0.0, 1.0)
    raise InputError(f"{what} has unsupported dtype {arr.dtype}")


def _options(options: StyleOptions | None, overrides: dict) -> StyleOptions:
    options = options or StyleOptions()
    try:
        return options.replace(**overrides) if overrides else options
    except TypeError as exc:  # an unknown keyword
        raise ConfigError(str(exc)) from None


def as_path_list(styles: PathLike | Sequence[PathLike]) -> list[str]:
    """One style path or several -> a non-empty list of path strings."""
    paths = [styles] if isinstance(styles, (str, os.PathLike)) else list(styles)
    if not paths:
        raise ConfigError("give at least one style image")
    return [os.fspath(p) for p in paths]


def style_list(styles: ImageLike | Sequence[ImageLike]) -> list[np.ndarray]:
    """One style image or several (paths or arrays) -> a non-empty list of (H, W, 3) float32 BGR arrays."""
    if isinstance(styles, (str, os.PathLike, np.ndarray)):
        styles = [styles]
    styles = list(styles)
    if not styles:
        raise ConfigError("give at least one style image")
    return [as_pixels(s, "style image") for s in styles]


def stylize_image(content: ImageLike, styles: ImageLike | Sequence[ImageLike],
                  options: StyleOptions | None = None, *, callback: ProgressCallback | None = None,
                  **overrides) -> np.ndarray:
    """Stylise ``content`` with one style image or a blend of several.

    ``content`` and each style: a file path or an array (see ``as_pixels``).
    ``options``: a StyleOptions; keyword arguments override its fields
    (``size=256, iterations=100, seed=1, ...``). ``callback`` receives a
    ``Progress`` after every optimiser iteration.

    Returns (H, W, 3) float32 BGR in [0, 1], the content resized so its
    longer side is ``options.size`` (never enlarged).
    """
    options = _options(options, overrides)
    content_px = as_pixels(content, "content image")
    style_px = style_list(styles)
    size = images.output_size(content_px.shape[0], content_px.shape[1], options.size)
    stylizer = Stylizer(style_px, options)
    stylizer.check_size(*size, native=content_px.shape[:2])
    return stylizer.stylize(images.resize(content_px, size), callback=callback)


def stylize_image_file(content: PathLike, styles: PathLike | Sequence[PathLike], output: PathLike,
                       options: StyleOptions | None = None, *, overwrite: bool = False,
                       callback: ProgressCallback | None = None, **overrides) -> str:
    """Read, stylise and write an image; returns the output path.

    Everything is checked before the optimisation starts (options, inputs,
    output folder, overwrite, sizes the network can take); the output is
    written atomically, so a failure or Ctrl-C never leaves a partial file.
    Any still format vidstyle reads may be written, EXR included (scene-linear
    in and out, like sequences); a 16-bit or EXR content image gives a 16-bit
    PNG/TIFF.
    """
    options = _options(options, overrides)
    style_paths = as_path_list(styles)
    content_img = images.read_image(content, "content image")
    style_px = style_list(style_paths)
    check_init(options)
    output = images.check_output_path(output, overwrite=overwrite,
                                      inputs=(content, *style_paths, options.weights,
                                              None if options.init in ("content", "noise") else options.init))
    px = content_img.pixels
    size = images.output_size(px.shape[0], px.shape[1], options.size)
    stylizer = Stylizer(style_px, options)
    stylizer.check_size(*size, native=px.shape[:2])
    result = stylizer.stylize(images.resize(px, size), callback=callback)
    images.write_image(output, result, content_img.bit_depth)
    return output


def init_path(options: StyleOptions) -> str | None:
    """The init image's path, or None when the start is the content or noise."""
    return None if options.init in ("content", "noise") else options.init


def check_init(options: StyleOptions) -> None:
    """An ``init`` image path must be a readable image (checked before any work)."""
    if init_path(options) is not None:
        images.read_image(options.init, "init image")
