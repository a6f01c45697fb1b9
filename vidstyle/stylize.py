"""The public entry points for still images: ``stylize_image`` and ``stylize_image_file``."""

from __future__ import annotations

import os
from typing import Sequence, Union

import numpy as np

from . import images
from .colorspaces import SRGB, Encoding
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


def split_alpha(frame: ImageLike) -> tuple[ImageLike, np.ndarray | None]:
    """An (H, W, 4) BGRA array -> its (H, W, 3) colour and its alpha (H, W) float32 [0, 1]; anything else as it is."""
    if not isinstance(frame, np.ndarray) or frame.ndim != 3 or frame.shape[2] != 4:
        return frame, None
    return frame[:, :, :3], images.to_unit(frame[:, :, 3])


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
                       callback: ProgressCallback | None = None, colorspace: str | None = None,
                       masks: Sequence[PathLike] = (), **overrides) -> str:
    """Read, stylise and write an image; returns the output path.

    Everything is checked before the optimisation starts (options, inputs,
    output folder, overwrite, sizes the network can take); the output is
    written atomically, so a failure or Ctrl-C never leaves a partial file.
    Any still format vidstyle reads may be written, EXR included (scene-linear
    in and out, like sequences); a 16-bit or EXR content image gives a 16-bit
    PNG/TIFF. ``colorspace``: the content's OCIO colour space (None: by file
    type; colorspaces.py); the output is written back in it. The content's
    alpha goes to the output unchanged where its format holds one (PNG,
    TIFF, WebP, EXR; ``alpha_dropped`` says when it does not). ``masks``:
    one still matte per style (``VideoOptions.masks``): each style paints
    its own region, the output is the content where no matte reaches.
    """
    from . import mattes
    from .schedule import Plan
    from .sources import is_still_path

    options = _options(options, overrides)
    style_paths = as_path_list(styles)
    if masks and len(masks) != len(style_paths):
        raise ConfigError(f"{len(masks)} matte(s) (--mask) for {len(style_paths)} style image(s): give one matte "
                          f"per style, the k-th for the k-th style")
    for path in masks:
        if not is_still_path(os.fspath(path)):
            raise ConfigError(f"matte {os.fspath(path)} is not a single image: a still takes still mattes")
    content_img = images.read_plate(content, "content image", colorspace)
    mats = [mattes.from_image(images.read_plate(p, f"matte {os.fspath(p)}")) for p in masks]
    for path, matte in zip(masks, mats):
        if matte.shape != content_img.pixels.shape[:2]:
            raise InputError(f"matte {os.fspath(path)} is {matte.shape[1]}x{matte.shape[0]} px, the content is "
                             f"{content_img.pixels.shape[1]}x{content_img.pixels.shape[0]}: a matte must have the "
                             f"content's size")
    style_px = [content_img.encoding.style(px) for px in style_list(style_paths)]
    check_init(options)
    output = images.check_output_path(output, overwrite=overwrite,
                                      inputs=(content, *style_paths, options.weights,
                                              None if options.init in ("content", "noise") else options.init))
    px = content_img.pixels
    size = images.output_size(px.shape[0], px.shape[1], options.size)
    stylizer = Stylizer(style_px, options)
    stylizer.check_size(*size, native=px.shape[:2])
    small = images.resize(px, size)
    keep = None
    if mats:
        regions = mattes.resize_all(mats, size)
        cover = mattes.coverage(regions)
        result = small if not cover.any() else \
            mattes.composite(stylizer.run(small, Plan(guides=mattes.guides(regions)), callback).image, small, cover)
        if size == px.shape[:2] and os.fspath(output).lower().endswith(".exr") == os.fspath(content).lower().endswith(".exr"):
            keep = (content_img.values, cover == 0)   # the content there, bit for bit
    else:
        result = stylizer.stylize(small, callback=callback)
    images.write_image(output, result, content_img.bit_depth, images.resize_alpha(content_img.alpha, size),
                       content_img.encoding, keep)
    return output


def alpha_dropped(content: PathLike, output: PathLike) -> str | None:
    """The warning for a still whose content has alpha that ``output``'s format cannot hold; None otherwise."""
    if images.has_alpha(os.fspath(output)):
        return None
    if images.read_plate(content, "content image", encoding=Encoding(SRGB, SRGB)).alpha is None:
        return None
    return (f"{os.fspath(content)} has an alpha channel and {os.path.splitext(os.fspath(output))[1]} cannot hold "
            f"one: it is dropped (write a PNG, TIFF or EXR to keep it)")


def init_path(options: StyleOptions) -> str | None:
    """The init image's path, or None when the start is the content or noise."""
    return None if options.init in ("content", "noise") else options.init


def check_init(options: StyleOptions) -> None:
    """An ``init`` image path must be a readable image (checked before any work)."""
    if init_path(options) is not None:
        images.read_image(options.init, "init image")
