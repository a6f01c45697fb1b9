"""A raw-frame stream in, the same stream stylised out: the step between two ffmpeg processes.

    ffmpeg -i in.mov -f rawvideo -pix_fmt rgb24 - |
      vidstyle pipe style.jpg --frame-size 1920x1080 |
      ffmpeg -f rawvideo -pix_fmt rgb24 -s 1920x1080 -r 24 -i - out.mov

A frame is exactly width * height * 3 samples (1 byte each for rgb24/bgr24,
2 little-endian bytes for rgb48le), or * 4 with alpha (rgba, bgra; rgba64le
at 16 bit), frames back to back, no header. A frame's alpha goes out as it
came in, byte for byte; its colour is stylised. Each
frame read is stylised by the per-frame processor (warm-started from the
previous output, cuts detected) and written out at once in the same format
and geometry: one frame out for one frame in, in order, so memory stays flat
however long the stream. Frames are stylised at the size the options give
and scaled back to the stream's geometry (``size=None`` stylises at full
size).

A stream that ends inside a frame (a truncated pipe) gets every whole frame
before it written, then StreamError. A reader that goes away (the
downstream ffmpeg stopped) raises OutputError; the caller decides how to
say so.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import BinaryIO, Callable, Sequence

import cv2
import numpy as np

from .engine import Progress
from .errors import ConfigError, OutputError, StreamError
from .images import quantise
from .options import StyleOptions, VideoOptions, whole_number
from .stylize import ImageLike
from .temporal import FrameStylizer

# The largest frame side a stream may have: 16K, beyond every plate format (OpenCV's resize and
# remap stop at 32767), so an absurd --frame-size is refused instead of asking for terabytes.
MAX_FRAME_SIDE = 16384
# name -> (sample type, RGB order (else BGR), channels)
PIX_FMTS = {"rgb24": (np.uint8, True, 3), "bgr24": (np.uint8, False, 3), "rgb48le": (np.dtype("<u2"), True, 3),
            "rgba": (np.uint8, True, 4), "bgra": (np.uint8, False, 4), "rgba64le": (np.dtype("<u2"), True, 4)}


@dataclass(frozen=True)
class StreamFormat:
    """Raw frames of ``width`` x ``height`` in ``pix_fmt`` (one of PIX_FMTS)."""

    width: int
    height: int
    pix_fmt: str = "rgb24"

    def __post_init__(self) -> None:
        if self.pix_fmt not in PIX_FMTS:
            raise ConfigError(f"--pix-fmt must be one of {', '.join(PIX_FMTS)}, not {self.pix_fmt!r}")
        for name in ("width", "height"):
            whole_number(f"--frame-size: {name}", getattr(self, name), 1, MAX_FRAME_SIDE)

    @classmethod
    def parse(cls, size: str, pix_fmt: str = "rgb24") -> "StreamFormat":
        """``"1920x1080"`` -> StreamFormat(1920, 1080, pix_fmt)."""
        try:
            width, height = (int(v) for v in size.lower().split("x"))
        except ValueError:
            raise ConfigError(f"--frame-size takes WIDTHxHEIGHT like 1920x1080, not {size!r}") from None
        return cls(width, height, pix_fmt)

    @property
    def dtype(self) -> np.dtype:
        return np.dtype(PIX_FMTS[self.pix_fmt][0])

    @property
    def channels(self) -> int:
        return PIX_FMTS[self.pix_fmt][2]

    @property
    def frame_bytes(self) -> int:
        return self.width * self.height * self.channels * self.dtype.itemsize

    def decode(self, data: bytes) -> tuple[np.ndarray, np.ndarray | None]:
        """Raw bytes of one frame -> its colour (H, W, 3) BGR and its alpha (H, W) or None, uint8 or uint16."""
        frame = np.frombuffer(data, self.dtype).reshape(self.height, self.width, self.channels)
        frame = frame.astype(frame.dtype.newbyteorder("="))
        colour = frame[..., 2::-1] if PIX_FMTS[self.pix_fmt][1] else frame[..., :3]
        return np.ascontiguousarray(colour), (frame[..., 3].copy() if self.channels == 4 else None)

    def encode(self, pixels: np.ndarray, alpha: np.ndarray | None = None) -> bytes:
        """(h, w, 3) float BGR [0, 1] and the frame's own ``alpha`` -> raw bytes of one frame at the stream's geometry."""
        if pixels.shape[:2] != (self.height, self.width):
            pixels = cv2.resize(pixels, (self.width, self.height), interpolation=cv2.INTER_CUBIC)
        values = quantise(pixels, 16 if self.dtype.itemsize == 2 else 8)
        if PIX_FMTS[self.pix_fmt][1]:
            values = values[..., ::-1]
        if self.channels == 4:
            values = np.dstack([values, alpha])
        return np.ascontiguousarray(values.astype(self.dtype)).tobytes()


def _read_exactly(stream: BinaryIO, size: int) -> bytes:
    """Up to ``size`` bytes: fewer only at the end of the stream (pipes return short reads)."""
    chunks, got = [], 0
    while got < size:
        chunk = stream.read(size - got)
        if not chunk:
            break
        chunks.append(chunk)
        got += len(chunk)
    return b"".join(chunks)


def stylize_stream(source: BinaryIO, sink: BinaryIO, fmt: StreamFormat,
                   styles: ImageLike | Sequence[ImageLike], options: StyleOptions | None = None,
                   video: VideoOptions | None = None, *,
                   callback: Callable[[int, Progress | None], None] | None = None) -> int:
    """Stylise raw frames from ``source`` into ``sink`` until the stream ends; returns the frames written.

    ``callback(frames_done, progress)``: after every optimiser iteration
    (``progress`` set) and every frame written (``progress`` None).
    """
    processor = FrameStylizer(styles, options, video)
    processor.output_size(fmt.height, fmt.width)   # refuse a geometry the network cannot take, before reading
    done = 0
    while True:
        data = _read_exactly(source, fmt.frame_bytes)
        if not data:
            return done
        if len(data) < fmt.frame_bytes:
            raise StreamError(f"the input stream ended inside frame {done} ({len(data)} of {fmt.frame_bytes} "
                              f"bytes for {fmt.width}x{fmt.height} {fmt.pix_fmt}); the {done} whole frame(s) "
                              f"before it were written")
        colour, alpha = fmt.decode(data)
        out = processor.process(colour, callback=None if callback is None else (lambda p: callback(done, p)))
        try:
            sink.write(fmt.encode(out, alpha))
            sink.flush()
        except (BrokenPipeError, ConnectionResetError):
            raise OutputError(f"the output stream was closed by its reader after {done} frame(s)") from None
        except (OSError, ValueError) as exc:   # a full device, a closed descriptor
            why = exc.strerror if isinstance(exc, OSError) and exc.strerror else str(exc)
            raise OutputError(f"cannot write the output stream after {done} frame(s): {why}") from None
        done += 1
        if callback is not None:
            callback(done, None)


__all__ = ["PIX_FMTS", "StreamFormat", "stylize_stream"]
