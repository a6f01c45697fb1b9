"""Reading, resizing and atomically writing still images with OpenCV.

In memory an image is a float32 numpy array ``(H, W, 3)``, **BGR** (OpenCV's
order, and the order of the original VGG weights), values in ``[0, 1]``.
"""

from __future__ import annotations

import os
import tempfile
import uuid
from dataclasses import dataclass

import cv2
import numpy as np
import torch

from .errors import InputError, OutputError

# Extensions OpenCV writes in every wheel (EXR and DPX are not among them).
WRITABLE_EXTENSIONS = (".png", ".jpg", ".jpeg", ".tif", ".tiff", ".bmp", ".webp")
# Formats that can hold 16 bits per channel.
SIXTEEN_BIT_EXTENSIONS = (".png", ".tif", ".tiff")


@dataclass(frozen=True)
class Image:
    """A decoded image: ``pixels`` (H, W, 3) float32 BGR [0, 1] and its source bit depth."""

    pixels: np.ndarray
    bit_depth: int  # 8 or 16 (float inputs count as 16: they deserve more than 8 bits)


def read_image(path: str | os.PathLike, what: str = "image") -> Image:
    """Decode ``path``; raise InputError naming the file if it is not a usable image.

    Grey images become three equal channels; an alpha channel is dropped
    (style transfer has no meaning for it).
    """
    path = os.fspath(path)
    if not os.path.exists(path):
        raise InputError(f"{what} not found: {path}")
    if os.path.isdir(path):
        raise InputError(f"{what} is a folder, not an image file: {path}")
    if os.path.getsize(path) == 0:
        raise InputError(f"{what} is an empty file: {path}")
    # IMREAD_UNCHANGED keeps 16-bit depth; plain imread would drop it.
    data = cv2.imread(path, cv2.IMREAD_UNCHANGED)
    if data is None:
        raise InputError(f"{what} is not an image OpenCV can read: {path}")
    if data.size == 0 or min(data.shape[:2]) == 0:
        raise InputError(f"{what} has no pixels: {path}")
    if data.ndim == 2:
        data = data[:, :, None]
    channels = data.shape[2]
    if channels == 1:
        data = np.repeat(data, 3, axis=2)
    elif channels == 4:
        data = data[:, :, :3]
    elif channels != 3:
        raise InputError(f"{what} has {channels} channels; expected grey, BGR or BGRA: {path}")
    if data.dtype == np.uint8:
        pixels, depth = data.astype(np.float32) / 255.0, 8
    elif data.dtype == np.uint16:
        pixels, depth = data.astype(np.float32) / 65535.0, 16
    elif data.dtype in (np.float32, np.float64):
        pixels, depth = np.clip(data.astype(np.float32), 0.0, 1.0), 16
    else:
        raise InputError(f"{what} has unsupported pixel type {data.dtype}: {path}")
    if not np.isfinite(pixels).all():
        raise InputError(f"{what} contains NaN or infinite pixels: {path}")
    return Image(np.ascontiguousarray(pixels), depth)


def fit_size(height: int, width: int, long_side: int | None) -> tuple[int, int]:
    """(H, W) scaled so the longer side is ``long_side`` (None: unchanged), at least 1 px."""
    if long_side is None:
        return height, width
    scale = long_side / max(height, width)
    return max(1, round(height * scale)), max(1, round(width * scale))


def output_size(height: int, width: int, long_side: int | None) -> tuple[int, int]:
    """(H, W) of an output for content of (height, width): the longer side
    ``long_side`` but never more than the content's own (enlarging a small
    frame costs time and adds no detail); None keeps the content's size."""
    if long_side is None or long_side >= max(height, width):
        return height, width
    return fit_size(height, width, long_side)


def resize(pixels: np.ndarray, size: tuple[int, int]) -> np.ndarray:
    """Resize (H, W, 3) to ``size`` = (H', W'): area averaging down, bicubic up."""
    h, w = pixels.shape[:2]
    if (h, w) == tuple(size):
        return pixels
    shrinking = size[0] * size[1] < h * w
    interp = cv2.INTER_AREA if shrinking else cv2.INTER_CUBIC
    out = cv2.resize(pixels, (size[1], size[0]), interpolation=interp)
    return np.clip(out, 0.0, 1.0)


def to_tensor(pixels: np.ndarray, device: torch.device | str = "cpu") -> torch.Tensor:
    """(H, W, 3) float32 -> (1, 3, H, W) on ``device``."""
    return torch.from_numpy(np.ascontiguousarray(pixels)).permute(2, 0, 1).unsqueeze(0).contiguous().to(device)


def from_tensor(image: torch.Tensor) -> np.ndarray:
    """(1, 3, H, W) -> (H, W, 3) float32 numpy, clamped to [0, 1]."""
    if image.dim() != 4 or image.shape[0] != 1 or image.shape[1] != 3:
        raise ValueError(f"expected (1, 3, H, W), got {tuple(image.shape)}")
    return image.detach()[0].clamp(0.0, 1.0).permute(1, 2, 0).float().cpu().numpy()


def quantise(pixels: np.ndarray, bit_depth: int) -> np.ndarray:
    """[0, 1] float -> uint8 or uint16 with rounding."""
    if bit_depth == 16:
        return np.round(np.clip(pixels, 0.0, 1.0) * 65535.0).astype(np.uint16)
    return np.round(np.clip(pixels, 0.0, 1.0) * 255.0).astype(np.uint8)


def check_output_path(path: str | os.PathLike, *, overwrite: bool, inputs: tuple = ()) -> str:
    """Fail before any work if ``path`` cannot be written as an image.

    Checks the extension, that the folder exists and is writable (by creating
    and removing a file in it: ``os.access`` says yes to root on a read-only
    mount), that it is none of ``inputs``, and that it does not exist unless
    ``overwrite``. Returns the path as a string.
    """
    path = os.fspath(path)
    ext = os.path.splitext(path)[1].lower()
    if ext not in WRITABLE_EXTENSIONS:
        raise OutputError(f"cannot write {path!r}: use one of {', '.join(WRITABLE_EXTENSIONS)}")
    real = os.path.realpath(path)
    for given in inputs:
        if given is not None and os.path.realpath(os.fspath(given)) == real:
            raise OutputError(f"output {path} is also an input: choose another output path")
    folder = os.path.dirname(os.path.abspath(path))
    if not os.path.isdir(folder):
        raise OutputError(f"output folder does not exist: {folder}")
    if os.path.isdir(path):
        raise OutputError(f"output {path} is a folder")
    if os.path.exists(path) and not overwrite:
        raise OutputError(f"output {path} exists: pass --overwrite (overwrite=True) to replace it")
    check_writable_folder(folder)
    return path


def check_writable_folder(folder: str) -> None:
    """Raise OutputError unless a file can be created in ``folder``.

    Tries it (and removes the file): ``os.access`` says yes to root even on a
    read-only mount.
    """
    if not os.path.isdir(folder):
        raise OutputError(f"output folder does not exist: {folder}")
    try:
        with tempfile.TemporaryFile(dir=folder):
            pass
    except OSError as exc:
        raise OutputError(f"output folder is not writable: {folder} ({exc.strerror})") from None


def write_image(path: str | os.PathLike, pixels: np.ndarray, bit_depth: int = 8) -> None:
    """Encode and write atomically: a temporary file in the same folder, then rename.

    A reader (or a crash) never sees a half-written file. 16-bit output is
    used only where the format holds it (PNG, TIFF).
    """
    path = os.fspath(path)
    ext = os.path.splitext(path)[1].lower()
    if ext not in WRITABLE_EXTENSIONS:
        raise OutputError(f"cannot write {path!r}: use one of {', '.join(WRITABLE_EXTENSIONS)}")
    depth = bit_depth if ext in SIXTEEN_BIT_EXTENSIONS else 8
    ok, encoded = cv2.imencode(ext, quantise(pixels, depth))
    if not ok:
        raise OutputError(f"OpenCV could not encode {path}")
    write_bytes_atomic(path, encoded.tobytes())


def write_bytes_atomic(path: str, data: bytes) -> None:
    """Write ``data`` to a hidden temporary file beside ``path``, then rename it.

    The temporary file is opened normally (not with mkstemp) so the result
    gets the user's usual permissions (umask), not 0600.
    """
    folder, name = os.path.split(os.path.abspath(path))
    tmp = os.path.join(folder, f".{name}.{uuid.uuid4().hex[:12]}.partial")
    try:
        with open(tmp, "xb") as handle:
            handle.write(data)
        os.replace(tmp, path)
    except BaseException as exc:
        try:
            os.unlink(tmp)
        except OSError:
            pass
        if isinstance(exc, OSError):
            raise OutputError(f"cannot write {path}: {exc.strerror}") from None
        raise
