"""Reading, resizing and atomically writing still images and plates (OpenCV; EXR through the openexr package).

In memory an image is a float32 numpy array ``(H, W, 3)``, **BGR** (OpenCV's
order, and the order of the original VGG weights), values in ``[0, 1]``.
Every file is written under a hidden temporary name beside its final path
(``partial_path``) and renamed when complete, so a reader or a crash never
sees half a file; ``remove_partials`` clears what a killed process left.
"""

from __future__ import annotations

import os
import re
import shutil
import tempfile
import uuid
from dataclasses import dataclass
from typing import Callable, Iterable

import cv2
import numpy as np
import torch

from .colorspaces import LINEAR, SRGB, Encoding, encoding_for
from .errors import ConfigError, InputError, OutputError

# Extensions OpenCV writes in every wheel (EXR and DPX are not among them).
WRITABLE_EXTENSIONS = (".png", ".jpg", ".jpeg", ".tif", ".tiff", ".bmp", ".webp")
# What vidstyle reads and writes as stills and sequence frames: OpenCV's, plus EXR (openexr).
IMAGE_EXTENSIONS = WRITABLE_EXTENSIONS + (".exr",)
# Formats that can hold 16 bits per channel.
SIXTEEN_BIT_EXTENSIONS = (".png", ".tif", ".tiff")
# Formats OpenCV writes with an alpha channel (EXR holds one too: write_exr).
ALPHA_EXTENSIONS = (".png", ".tif", ".tiff", ".webp")


@dataclass(frozen=True)
class Image:
    """A decoded image: ``pixels`` (H, W, 3) float32 BGR [0, 1] as the network sees them, and what else it had.

    ``bit_depth``: the source's (8 or 16; float inputs, EXR among them,
    count as 16: they deserve more than 8 bits); ``alpha``: (H, W) float32
    [0, 1], straight (not premultiplied), or None; ``encoding``: how the
    file's values became ``pixels`` and go back (``colorspaces.Encoding``);
    ``values``: the file's colour as read, (H, W, 3) float32 BGR
    (premultiplied for an EXR; /255 or /65535 for integers), which a
    matte-limited output writes back exactly where no matte reaches.
    """

    pixels: np.ndarray
    bit_depth: int
    alpha: np.ndarray | None = None
    encoding: Encoding = Encoding(SRGB, SRGB)
    values: np.ndarray | None = None


def read_image(path: str | os.PathLike, what: str = "image") -> Image:
    """Decode ``path`` as display-referred sRGB (style images, init images, stored frames); alpha is dropped.

    An EXR's scene-linear values go through the sRGB curve, highlights
    clipped at 1: a painting has none (plates are read with ``read_plate``).
    """
    path = os.fspath(path)
    image = read_plate(path, what, encoding=Encoding(LINEAR if path.lower().endswith(".exr") else SRGB, SRGB))
    return Image(image.pixels, image.bit_depth)


def read_plate(path: str | os.PathLike, what: str = "image", colorspace: str | None = None,
               encoding: Encoding | None = None) -> Image:
    """Decode a plate ``path``: its colour for the network, its alpha, its encoding; InputError if unusable.

    ``colorspace``: the file's OCIO colour space (None: linear Rec.709 for
    an EXR, sRGB otherwise; ``colorspaces.encoding_for``), or ``encoding``
    given outright. Grey images become three equal channels. An EXR is
    premultiplied by convention: its colour is divided by its alpha (0
    where alpha is 0) before the network sees it. A truncated JPEG is
    refused: libjpeg would fill its missing rows with grey and only say
    "Premature end of JPEG file" on stderr.
    """
    path = os.fspath(path)
    if not os.path.exists(path):
        raise InputError(f"{what} not found: {path}")
    if os.path.isdir(path):
        raise InputError(f"{what} is a folder, not an image file: {path}")
    if os.path.getsize(path) == 0:
        raise InputError(f"{what} is an empty file: {path}")
    exr = path.lower().endswith(".exr")
    encoding = encoding or encoding_for(colorspace, scene_linear_file=exr)
    if exr:
        values, alpha = read_exr(path, what)
        colour = values if alpha is None else unpremultiply(values, alpha)
        return Image(np.ascontiguousarray(encoding.to_network(colour)), 16, alpha, encoding, values)
    if path.lower().endswith((".jpg", ".jpeg")) and _jpeg_truncated(path):
        raise InputError(f"{what} is a truncated JPEG (its data ends before the image does): {path}; "
                         f"copy or export it again")
    # IMREAD_UNCHANGED keeps 16-bit depth and alpha; plain imread would drop both.
    data = cv2.imread(path, cv2.IMREAD_UNCHANGED)
    if data is None:
        raise InputError(f"{what} is not an image OpenCV can read: {path}")
    if data.size == 0 or min(data.shape[:2]) == 0:
        raise InputError(f"{what} has no pixels: {path}")
    if data.ndim == 2:
        data = data[:, :, None]
    channels = data.shape[2]
    if channels not in (1, 2, 3, 4):
        raise InputError(f"{what} has {channels} channels; expected grey, BGR or BGRA: {path}")
    if data.dtype == np.uint8:
        scale, depth = 255.0, 8
    elif data.dtype == np.uint16:
        scale, depth = 65535.0, 16
    elif data.dtype in (np.float32, np.float64):
        _refuse_non_finite(data, what, path)
        scale, depth = 1.0, 16
    else:
        raise InputError(f"{what} has unsupported pixel type {data.dtype}: {path}")
    values = data.astype(np.float32) / np.float32(scale)
    colour = np.repeat(values[:, :, :1], 3, axis=2) if channels <= 2 else values[:, :, :3]
    alpha = values[:, :, -1] if channels in (2, 4) else None
    if alpha is not None and scale == 1.0:
        alpha = np.clip(alpha, 0.0, 1.0)
    colour = np.ascontiguousarray(colour)
    return Image(encoding.to_network(colour), depth, None if alpha is None else np.ascontiguousarray(alpha),
                 encoding, colour)


def to_unit(values: np.ndarray) -> np.ndarray:
    """Samples of any shape as float32 [0, 1]: uint8 / 255, uint16 / 65535, floats clipped."""
    if values.dtype == np.uint8:
        return values.astype(np.float32) / 255.0
    if values.dtype == np.uint16:
        return values.astype(np.float32) / 65535.0
    return np.clip(values.astype(np.float32), 0.0, 1.0)


def unpremultiply(colour: np.ndarray, alpha: np.ndarray) -> np.ndarray:
    """Premultiplied (H, W, 3) and its alpha (H, W) -> straight colour; 0 where alpha is 0."""
    a = alpha[..., None]
    return np.where(a > 0, colour / np.where(a > 0, a, 1.0), 0.0).astype(np.float32)


def _refuse_non_finite(data: np.ndarray, what: str, path: str) -> None:
    """NaN or infinite pixels are reported, never silently turned black."""
    bad = int(np.count_nonzero(~np.isfinite(data)))
    if bad:
        raise InputError(f"{what} has {bad} NaN or infinite pixel value(s) of {data.size}: {path}; fix the "
                         f"render (or clamp them in your compositor) and try again")


def _jpeg_truncated(path: str) -> bool:
    """True when a JPEG lacks its end-of-image marker (FF D9) at the end.

    Inside the compressed data every FF byte is stuffed (FF 00), so a file cut
    short cannot end in the marker by chance. Some writers pad after it, hence
    the stripped zero and newline bytes.
    """
    with open(path, "rb") as handle:
        handle.seek(max(0, os.path.getsize(path) - 64))
        tail = handle.read().rstrip(b"\x00\r\n ")
    return not tail.endswith(b"\xff\xd9")


def header_info(path: str, what: str = "frame") -> tuple[int, int, int | None]:
    """(width, height, bits per channel or None) from a file's header and tail, without decoding it.

    Reads a few bytes, not the pixels, and refuses (InputError, naming the
    file) what cannot be a whole image: a folder, an empty file, a file whose
    header does not parse, a PNG without its closing IEND chunk, a JPEG
    without its end marker, a TIFF whose strips run past its end, an EXR
    whose last chunk lies past its end (all signs of a copy cut short).
    PNG's IHDR gives the depth (Pillow reports 16-bit RGB PNGs as 8-bit
    "RGB"), TIFF its BitsPerSample tag; EXR counts as 16 (float), other
    formats hold 8 bits.
    """
    if os.path.isdir(path):
        raise InputError(f"{what} {path} is a folder, not an image file")
    if not os.path.isfile(path):
        raise InputError(f"{what} not found: {path}")
    size = os.path.getsize(path)
    if size == 0:
        raise InputError(f"{what} {path} is an empty file")
    lower = path.lower()
    with open(path, "rb") as handle:
        head = handle.read(64)
        handle.seek(max(0, size - 64))
        tail = handle.read()
    if lower.endswith(".png"):
        if head[:8] != b"\x89PNG\r\n\x1a\n" or head[12:16] != b"IHDR":
            raise InputError(f"{what} {path} is not a PNG (its header does not parse)")
        if not tail.endswith(b"IEND\xaeB`\x82"):
            raise InputError(f"{what} {path} is a truncated PNG (it ends before its IEND chunk); copy or render it "
                             f"again")
        return int.from_bytes(head[16:20], "big"), int.from_bytes(head[20:24], "big"), head[24]
    if lower.endswith((".jpg", ".jpeg")) and _jpeg_truncated(path):
        raise InputError(f"{what} {path} is a truncated JPEG (its data ends before the image does); copy or "
                         f"export it again")
    if lower.endswith(".exr"):
        return (*_exr_header(path, what, size), 16)
    import warnings

    try:
        from PIL import Image as PILImage
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")   # "Truncated File Read": said in our own words below
            im = PILImage.open(path)
        with im:
            depth = 8
            if lower.endswith((".tif", ".tiff")):
                bits = im.tag_v2.get(258)
                depth = int(bits[0] if isinstance(bits, tuple) else bits) if bits else None
                offsets, counts = im.tag_v2.get(273) or im.tag_v2.get(324), im.tag_v2.get(279) or im.tag_v2.get(325)
                if offsets and counts and max(o + c for o, c in zip(offsets, counts)) > size:
                    raise InputError(f"{what} {path} is a truncated TIFF (its image data runs past its end); copy "
                                     f"or render it again")
            return im.size[0], im.size[1], depth
    except InputError:
        raise
    except Exception:
        raise InputError(f"{what} {path} is not a readable image (its header does not parse: not an image, or a "
                         f"copy cut short)") from None


def _exr_header(path: str, what: str, size: int) -> tuple[int, int]:
    """(width, height) of an EXR's data window; refuses one whose chunk table points past its end.

    The header is a list of attributes (name, type, size, value) ended by a
    0 byte; the offset table after it holds one 8-byte file offset per chunk
    (scanline files), the last of which must lie inside the file.
    """
    import struct

    with open(path, "rb") as handle:
        data = handle.read(min(size, 1 << 20))
    if data[:4] != b"\x76\x2f\x31\x01":
        raise InputError(f"{what} {path} is not an EXR (its header does not parse)")
    # The version field's flags (its second byte): 0x02 tiled, 0x08 deep, 0x10 multi-part.
    pos, window, compression, tiled = 8, None, 0, bool(data[5] & 0x02)
    try:
        while data[pos] != 0:
            name_end = data.index(b"\0", pos)
            type_end = data.index(b"\0", name_end + 1)
            name = data[pos:name_end]
            (length,) = struct.unpack_from("<i", data, type_end + 1)
            value = type_end + 5
            if name == b"dataWindow":
                window = struct.unpack_from("<4i", data, value)
            elif name == b"compression":
                compression = data[value]
            pos = value + length
    except (ValueError, IndexError, struct.error):
        raise InputError(f"{what} {path} is a truncated EXR (its header is cut short)") from None
    if window is None:
        raise InputError(f"{what} {path} is not an EXR (no data window in its header)")
    width, height = window[2] - window[0] + 1, window[3] - window[1] + 1
    # Lines per chunk of each compression (OpenEXR's ImfCompression.h); others are not checked.
    lines = {0: 1, 1: 1, 2: 1, 3: 16, 4: 32, 5: 16, 6: 32, 7: 32, 8: 32, 9: 256}.get(compression)
    if lines is not None and not tiled and not data[5] & 0x18:   # a single-part flat scanline file
        chunks = -(-height // lines)
        table = pos + 1
        if table + 8 * chunks > size:
            raise InputError(f"{what} {path} is a truncated EXR (it ends inside its chunk table); copy or render "
                             f"it again")
        with open(path, "rb") as handle:
            handle.seek(table)
            offsets = struct.unpack(f"<{chunks}Q", handle.read(8 * chunks))
        if max(offsets) + 8 > size:
            raise InputError(f"{what} {path} is a truncated EXR (its last chunk lies past its end); copy or render "
                             f"it again")
    return width, height


# -- EXR (the openexr package: OpenCV's wheels read and write no EXR) ----------------------------

def _openexr(purpose: str):
    try:
        import OpenEXR
    except ImportError:
        raise ConfigError(f"{purpose} EXR needs the 'openexr' package: pip install openexr") from None
    return OpenEXR


def read_exr(path: str, what: str = "image") -> tuple[np.ndarray, np.ndarray | None]:
    """An EXR's values as they are: (H, W, 3) float32 BGR (premultiplied, scene-linear) and its A (H, W) or None.

    NaN or infinite values are refused with their count: turning them into
    black (or white) would hide a broken render in a stylised one.
    """
    OpenEXR = _openexr("reading")
    try:
        with OpenEXR.File(path) as handle:
            # The pixels must be taken while the file is open.
            channels = {name: np.array(ch.pixels) for name, ch in handle.channels().items()}
    except Exception as exc:
        raise InputError(f"cannot read EXR {path}: {exc}") from None
    alpha = channels.get("A")
    if "RGBA" in channels:
        rgb, alpha = channels["RGBA"][..., :3], channels["RGBA"][..., 3]
    elif "RGB" in channels:
        rgb = channels["RGB"]
    elif "Y" in channels:
        rgb = np.repeat(channels["Y"][..., None], 3, axis=2)
    else:
        raise InputError(f"EXR {path} has no RGB or Y channels (has {', '.join(channels) or 'none'})")
    rgb = rgb.astype(np.float32)
    _refuse_non_finite(rgb, what, path)
    if alpha is not None:
        alpha = alpha.astype(np.float32)
        _refuse_non_finite(alpha, what, path)
    return np.ascontiguousarray(rgb[..., ::-1]), alpha


def write_exr(path: str, colour: np.ndarray, alpha: np.ndarray | None = None,
              keep: tuple[np.ndarray, np.ndarray] | None = None) -> None:
    """(H, W, 3) BGR values, as they are -> a half-float RGB(A) EXR, premultiplied by ``alpha``, written atomically.

    A is stored as half when every value survives that (so a half A read in
    goes out bit for bit), else as float. ``keep``: (premultiplied BGR
    values, (H, W) bool): written as they are where True (``write_image``).
    """
    OpenEXR = _openexr("writing")
    rgb = np.ascontiguousarray(colour[..., ::-1], dtype=np.float32)
    channels = {}
    if alpha is not None:
        rgb = rgb * alpha[..., None]
        half = alpha.astype(np.float16)
        channels["A"] = half if np.array_equal(half.astype(np.float32), alpha) else alpha.astype(np.float32)
    if keep is not None:
        rgb = np.where(keep[1][..., None], keep[0][..., ::-1], rgb)
    channels["RGB"] = rgb.astype(np.float16)
    header = {"compression": OpenEXR.ZIP_COMPRESSION, "type": OpenEXR.scanlineimage}

    def write(tmp: str) -> None:
        with OpenEXR.File(header, channels) as handle:
            handle.write(tmp)

    write_atomic(path, write)


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


def as_stored(pixels: np.ndarray) -> np.ndarray:
    """(H, W, 3) float [0, 1] -> the same on the 16-bit grid, float32: exactly what a 16-bit PNG holds.

    A video's warm starts use this, so an interrupted run that reads its last
    frame back from the 16-bit work folder continues exactly as an
    uninterrupted one.
    """
    return quantise(pixels, 16).astype(np.float32) / 65535.0


def check_output_path(path: str | os.PathLike, *, overwrite: bool, inputs: tuple = ()) -> str:
    """Fail before any work if ``path`` cannot be written as an image.

    Checks the extension, that the folder exists and is writable (by creating
    and removing a file in it: ``os.access`` says yes to root on a read-only
    mount), that it is none of ``inputs``, and that it does not exist unless
    ``overwrite``. Returns the path as a string.
    """
    path = os.fspath(path)
    ext = os.path.splitext(path)[1].lower()
    if ext not in IMAGE_EXTENSIONS:
        raise OutputError(f"cannot write {path!r}: use one of {', '.join(IMAGE_EXTENSIONS)}")
    if ext == ".exr":
        _openexr("writing")
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


def write_image(path: str | os.PathLike, pixels: np.ndarray, bit_depth: int = 8, alpha: np.ndarray | None = None,
                encoding: Encoding | None = None, keep: tuple[np.ndarray, np.ndarray] | None = None) -> None:
    """Encode and write atomically: a temporary file in the same folder, then rename.

    ``pixels``: the network's values (H, W, 3) BGR [0, 1], in ``encoding``
    (None: sRGB, as every image vidstyle makes from an sRGB input). They go
    back into the file's colour space (``encoding.file_space``): EXR holds
    scene-linear half floats, the others display-referred values. ``alpha``
    (H, W) [0, 1], straight, is written beside them where the format holds
    it (PNG, TIFF, WebP, EXR; ``has_alpha``). A reader (or a crash) never
    sees a half-written file. 16-bit output is used only where the format
    holds it (PNG, TIFF). ``keep``: (the input file's values, ``Image.values``;
    (H, W) bool) -- where True, those values are written as they are (a
    matte-limited output is the plate there, bit for bit).
    """
    path = os.fspath(path)
    ext = os.path.splitext(path)[1].lower()
    encoding = encoding or Encoding(SRGB, SRGB)
    values = encoding.from_network(pixels, exr=ext == ".exr")
    if ext == ".exr":
        write_exr(path, values, alpha, keep)
        return
    if keep is not None:
        values = np.where(keep[1][..., None], keep[0], values)
    if ext not in WRITABLE_EXTENSIONS:
        raise OutputError(f"cannot write {path!r}: use one of {', '.join(IMAGE_EXTENSIONS)}")
    depth = bit_depth if ext in SIXTEEN_BIT_EXTENSIONS else 8
    if alpha is not None and ext in ALPHA_EXTENSIONS:
        values = np.dstack([values, alpha])
    ok, encoded = cv2.imencode(ext, quantise(values, depth))
    if not ok:
        raise OutputError(f"OpenCV could not encode {path}")
    write_bytes_atomic(path, encoded.tobytes())


def has_alpha(path: str) -> bool:
    """Whether a still or frame written to ``path`` keeps an alpha channel."""
    return os.path.splitext(os.fspath(path))[1].lower() in ALPHA_EXTENSIONS + (".exr",)


def resize_alpha(alpha: np.ndarray | None, size: tuple[int, int]) -> np.ndarray | None:
    """An alpha (H, W) at ``size`` (H', W'), area-averaged down, bicubic up; unchanged (bit for bit) at its own size."""
    if alpha is None or alpha.shape == tuple(size):
        return alpha
    shrinking = size[0] * size[1] < alpha.size
    out = cv2.resize(alpha, (size[1], size[0]), interpolation=cv2.INTER_AREA if shrinking else cv2.INTER_CUBIC)
    return np.clip(out, 0.0, 1.0)


def write_bytes_atomic(path: str, data: bytes) -> None:
    """Write ``data`` to ``path`` atomically (``write_atomic``).

    The temporary file is opened normally (not with mkstemp) so the result
    gets the user's usual permissions (umask), not 0600.
    """
    def write(tmp: str) -> None:
        with open(tmp, "xb") as handle:
            handle.write(data)

    write_atomic(path, write)


def write_atomic(path: str, write: Callable[[str], None]) -> None:
    """``write(tmp)`` a hidden temporary file beside ``path``, then rename it to ``path``.

    A reader or a crash never sees a half-written file; the temporary is
    removed whatever happens, and an OSError becomes an OutputError naming
    ``path``.
    """
    tmp = partial_path(path)
    try:
        write(tmp)
        os.replace(tmp, path)
    except OSError as exc:
        raise OutputError(f"cannot write {path}: {exc.strerror}") from None
    finally:
        if os.path.exists(tmp):
            os.unlink(tmp)


def partial_path(path: str) -> str:
    """The hidden temporary name a file is written under before it is renamed to ``path``.

    ``/a/out.mp4`` -> ``/a/.out.mp4.<hex>.partial.mp4``: same folder (so the
    rename is atomic), same extension (ffmpeg picks its muxer by it).
    """
    folder, name = os.path.split(os.path.abspath(os.fspath(path)))
    return os.path.join(folder, f".{name}.{uuid.uuid4().hex[:12]}.partial{os.path.splitext(name)[1]}")


# What partial_path makes (and what earlier versions made: ``.out.<hex>.partial.mp4`` without
# the extension in the name, ``.frame.png.<pid>.partial.exr``), and the folders named after it
# (``.out.mp4.<hex>.partial.mp4.frames``: a timed video's frames, media.Encoder).
_PARTIAL = re.compile(r"^\.(?P<name>.+?)\.(?:[0-9a-f]{10,12}|\d+)\.partial(?:\.[A-Za-z0-9]+)*$")


def remove_partials(folder: str, names: Iterable[str]) -> list[str]:
    """Delete the temporary files a killed writer left for the files ``names`` in ``folder``.

    One listing of the folder, whatever the number of names. Returns the
    paths removed. Only call it while nothing else writes those files
    (vidstyle holds the work folder's lock then).
    """
    targets = set()
    for name in names:
        targets.update((name, os.path.splitext(name)[0]))
    removed = []
    try:
        entries = os.listdir(folder)
    except OSError:
        return removed
    for entry in entries:
        m = _PARTIAL.match(entry)
        if m and m.group("name") in targets:
            path = os.path.join(folder, entry)
            try:
                if os.path.isdir(path) and not os.path.islink(path):
                    shutil.rmtree(path)
                else:
                    os.unlink(path)
                removed.append(path)
            except OSError:
                pass
    return removed
