"""Hard scene-cut detection while decoding, with OpenCV alone.

A cut makes any warm start wrong: the previous shot's output would ghost
into the new one. Each frame is shrunk to a thumbnail and compared with the
previous one by HSV histogram correlation; a cut is where the colour
distribution changes wholesale. Ordinary motion, even fast, keeps the
histogram of a shot, so cuts stand out by an order of magnitude (on the Big
Buck Bunny clip its one cut scores ~0.9, motion below 0.1; tests/test_units.py
has the synthetic case). ``shots.ShotTracker`` turns these scores, given cuts
and jumps in the frame numbers into the one rule of where a shot starts.
"""

from __future__ import annotations

import cv2
import numpy as np

from .options import DEFAULT_CUT_THRESHOLD

THUMB_SIDE = 128


def _signature(frame: np.ndarray) -> np.ndarray:
    """(H, W, 3) float BGR [0, 1] -> a normalised 3-D hue/saturation/value histogram (16x4x4 bins), flattened."""
    h, w = frame.shape[:2]
    scale = THUMB_SIDE / max(h, w)
    thumb = cv2.resize(frame, (max(1, round(w * scale)), max(1, round(h * scale))), interpolation=cv2.INTER_AREA)
    hsv = cv2.cvtColor(np.clip(thumb, 0, 1).astype(np.float32), cv2.COLOR_BGR2HSV)
    hist = cv2.calcHist([hsv], [0, 1, 2], None, [16, 4, 4], [0, 360, 0, 1, 0, 1])
    return cv2.normalize(hist, None).flatten()


class CutDetector:
    """Feed frames in order; ``is_cut(frame)`` says whether it starts a new shot.

    The first frame always starts a shot.
    """

    def __init__(self, threshold: float = DEFAULT_CUT_THRESHOLD):
        self.threshold = threshold
        self._previous: np.ndarray | None = None

    def score(self, frame: np.ndarray) -> float:
        """1 - histogram correlation with the previous frame (0 = same colours; 1 for the first); updates state."""
        sig = _signature(frame)
        prev, self._previous = self._previous, sig
        return 1.0 if prev is None else 1.0 - float(cv2.compareHist(prev, sig, cv2.HISTCMP_CORREL))

    def is_cut(self, frame: np.ndarray) -> bool:
        first = self._previous is None
        return self.score(frame) > self.threshold or first
