"""vidstyle: neural style transfer (Gatys et al. 2016) for images and video.

The public API::

    import vidstyle
    out = vidstyle.stylize_image("photo.jpg", "painting.jpg", size=256)   # (H, W, 3) BGR float
    vidstyle.stylize_image_file("photo.jpg", "painting.jpg", "out.png", iterations=200)

For a host that feeds frames itself (a pipe, an editor, a node graph)::

    stylizer = vidstyle.FrameStylizer("painting.jpg")        # VideoOptions() : flow warm start, cuts detected
    for frame in frames:                                    # (H, W, 3) BGR, float [0, 1], uint8 or uint16
        out = stylizer.process(frame)                       # warm-started from the previous output
        print(stylizer.record.iterations)

Options and their defaults live in ``StyleOptions`` (``StyleOptions.from_preset("draft")``);
``vidstyle.metrics.check(source, styled, styles)`` measures flicker and style; errors are subclasses
of ``VidstyleError``; progress arrives as ``Progress`` through ``callback``.
"""

from . import metrics
from .engine import Progress, ProgressCallback, Stylizer
from .errors import (BusyError, ChunkFailed, ConfigError, DivergedError, InputError, OutputError, StreamError,
                     VidstyleError, WeightsError)
from .options import StyleOptions, VideoOptions
from .stylize import stylize_image, stylize_image_file
from .temporal import FrameRecord, FrameStylizer, SourceFrame
from .video import RunSummary, VideoProgress, stylize_video

__version__ = "0.1.0"

__all__ = [
    "BusyError", "ChunkFailed", "ConfigError", "DivergedError", "FrameRecord", "FrameStylizer", "InputError",
    "OutputError", "Progress", "ProgressCallback", "RunSummary", "SourceFrame", "StreamError", "StyleOptions",
    "Stylizer", "VideoOptions", "VideoProgress", "VidstyleError", "WeightsError", "metrics", "stylize_image",
    "stylize_image_file", "stylize_video", "__version__",
]
