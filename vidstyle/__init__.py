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

The names below load their modules on first use (PEP 562), so ``import
vidstyle`` (and the command line's start, before it takes over Ctrl-C) does
not wait for torch.
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING

__version__ = "0.1.0"

# name -> the module that defines it
_EXPORTS = {
    "BusyError": "errors", "ChunkFailed": "errors", "ConfigError": "errors", "DivergedError": "errors",
    "InputError": "errors", "OutputError": "errors", "StreamError": "errors", "VidstyleError": "errors",
    "WeightsError": "errors",
    "StyleOptions": "options", "VideoOptions": "options",
    "Progress": "engine", "ProgressCallback": "engine", "Stylizer": "engine",
    "stylize_image": "stylize", "stylize_image_file": "stylize",
    "FrameRecord": "temporal", "FrameStylizer": "temporal", "SourceFrame": "temporal",
    "RunSummary": "video", "VideoProgress": "video", "stylize_video": "video",
}
_SUBMODULES = ("metrics", "jobs", "colorspaces")

__all__ = sorted([*_EXPORTS, *_SUBMODULES, "__version__"])


def __getattr__(name: str):
    if name in _EXPORTS:
        value = getattr(importlib.import_module(f".{_EXPORTS[name]}", __name__), name)
    elif name in _SUBMODULES:
        value = importlib.import_module(f".{name}", __name__)
    else:
        raise AttributeError(f"module 'vidstyle' has no attribute {name!r}")
    globals()[name] = value
    return value


def __dir__() -> list[str]:
    return __all__


if TYPE_CHECKING:   # what the names are, for type checkers and editors
    from . import colorspaces, jobs, metrics
    from .engine import Progress, ProgressCallback, Stylizer
    from .errors import (
        BusyError,
        ChunkFailed,
        ConfigError,
        DivergedError,
        InputError,
        OutputError,
        StreamError,
        VidstyleError,
        WeightsError,
    )
    from .options import StyleOptions, VideoOptions
    from .stylize import stylize_image, stylize_image_file
    from .temporal import FrameRecord, FrameStylizer, SourceFrame
    from .video import RunSummary, VideoProgress, stylize_video
