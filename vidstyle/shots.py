"""Where a shot starts: the one rule the render, ``vidstyle plan`` and a chunk's warm-up share.

A frame starts a shot when it is the first frame fed, when a host says so
(``reset()``), when it is a given cut, when its number does not follow the
previous one (``--frames 1-10,20-30``: the flow between frames 10 and 20
means nothing), or, with ``cuts="auto"``, when the cut detector sees the
colours change wholesale. Nothing of the previous shot is used for it.
"""

from __future__ import annotations

from typing import Sequence, Union

import numpy as np

from .cuts import CutDetector
from .options import DEFAULT_CUT_THRESHOLD, VideoOptions

Cuts = Union[str, Sequence[int]]


class ShotTracker:
    """Feed frames in order; ``starts_shot`` says whether each one starts a shot.

    ``cuts``: "auto" (detect), "none", or frame numbers that start a shot
    (replacing detection). Frames fed without a number are numbered on from
    the previous one.
    """

    def __init__(self, cuts: Cuts = "auto", threshold: float = DEFAULT_CUT_THRESHOLD):
        self.given = frozenset(int(c) for c in cuts) if not isinstance(cuts, str) else frozenset()
        self.detector = CutDetector(threshold) if cuts == "auto" else None
        self.previous: int | None = None
        self._forced = False

    @classmethod
    def for_video(cls, video: VideoOptions) -> "ShotTracker":
        return cls(video.cuts, video.cut_threshold)

    @property
    def needs_pixels(self) -> bool:
        """False when the decision depends on the numbers alone (no detection): no frame need be decoded."""
        return self.detector is not None

    def reset(self) -> None:
        """The next frame starts a shot, whatever it shows."""
        self._forced = True

    @property
    def reset_pending(self) -> bool:
        """True when the next frame starts a shot whatever it shows (``reset()``, or nothing fed yet)."""
        return self._forced or self.previous is None

    def starts_shot(self, pixels: np.ndarray | None, number: int | None = None) -> bool:
        """Feed the next frame ((H, W, 3) float BGR [0, 1]; None when ``needs_pixels`` is False)."""
        if number is None:
            number = 0 if self.previous is None else self.previous + 1
        cut = self.detector.is_cut(pixels) if self.detector is not None else False
        start = (self.previous is None or self._forced or cut or number in self.given
                 or number != self.previous + 1)
        self.previous, self._forced = number, False
        return start


def warmup_frames(input_path: str, all_numbers: Sequence[int], wanted: Sequence[int],
                  video: VideoOptions) -> list[int]:
    """Frames to render, not keep, before ``wanted`` so its first frame is warm-started (see chunks.py).

    Up to ``video.warmup`` frames straight before the first wanted one; none
    when that frame starts a shot (a given cut, a detected cut, the input's
    first frame), and only from the start of the shot when it starts sooner.
    Cut detection looks at the same pairs of frames a whole run would.
    """
    from .sources import open_source
    from .warmstart import rule_for

    if not rule_for(video.warm_start).continues:
        return []   # frames do not depend on each other
    first = min(wanted)
    have = set(all_numbers)
    window = [n for n in range(first - 1, first - 1 - video.warmup, -1) if n in have]
    window = [n for i, n in enumerate(window) if n == first - 1 - i][::-1]   # straight before, no holes
    if not window:
        return []
    tracker = ShotTracker.for_video(video)
    if tracker.needs_pixels:
        scan = open_source(input_path, colorspace=video.colorspace)
        scan.restrict([*window, first])
        fed = ((f.number, f.pixels) for f in scan.frames())
    else:
        fed = ((n, None) for n in [*window, first])
    # The window's own first frame starts nothing: the shot may begin earlier.
    starts = [n for i, (n, px) in enumerate(fed) if tracker.starts_shot(px, n) and i > 0]
    if starts:
        window = [n for n in window if n >= starts[-1]]
    return window


def starts_at(input_path: str, all_numbers: Sequence[int], frames: Sequence[int], video: VideoOptions) -> dict[int, bool]:
    """Whether each of ``frames`` starts a shot of the whole input, as a run of the whole input decides it.

    For a run that starts later (a farm chunk): the style track needs to know
    it for keys before the run's first frame (styletrack.py). The input's
    first frame and a frame after a hole start one; otherwise the given cuts
    decide, or the cut detector on the frame and the one before it.
    """
    have, first = set(all_numbers), min(all_numbers)
    tracker = ShotTracker.for_video(video)
    result, scan = {}, []
    for f in frames:
        if f == first or f - 1 not in have:
            result[f] = True
        elif not tracker.needs_pixels:
            result[f] = f in tracker.given
        else:
            scan.append(f)
    if scan:
        from .sources import open_source

        source = open_source(input_path, colorspace=video.colorspace)
        source.restrict(sorted({n for f in scan for n in (f - 1, f)}))
        pixels = {frame.number: frame.pixels for frame in source.frames()}
        for f in scan:
            pair = ShotTracker.for_video(video)
            pair.starts_shot(pixels[f - 1], f - 1)
            result[f] = pair.starts_shot(pixels[f], f)
    return result


__all__ = ["ShotTracker", "starts_at", "warmup_frames"]
