"""Mattes: where each style goes, read from files and matched to the plate's frames.

A matte is (H, W) float32 in [0, 1]: a grey image, or the alpha of an RGBA
image (an RGB image counts by its mean). ``--mask`` gives one per style, the
k-th for the k-th style; each is a single still (every frame) or a
sequence, folder or video matched to the plate frame by frame (the same
numbers: a sequence's own, a video's index from 0). What the method makes
of them (Gatys et al. 2017's guided Gram matrices) is ``terms.GuidedStyle``;
here are the guides it is given and the composite that puts the plate back
where no matte reaches.
"""

from __future__ import annotations

import os
from typing import Iterator, Sequence

import numpy as np

from . import images
from .errors import ConfigError, InputError
from .sequences import format_ranges


def from_image(image: images.Image | np.ndarray) -> np.ndarray:
    """A decoded image or an array -> its matte (H, W) float32 [0, 1]: its alpha when it has one, else the mean of
    its channels."""
    if isinstance(image, np.ndarray):   # uint8, uint16 or float [0, 1], as frames are given
        unit = images.to_unit(image)
        return unit if unit.ndim == 2 else (unit[..., 3] if unit.shape[2] == 4 else unit.mean(axis=2))
    if image.alpha is not None:
        return image.alpha
    return image.values.mean(axis=2).clip(0.0, 1.0).astype(np.float32)


def guides(mattes: Sequence[np.ndarray]) -> np.ndarray:
    """K mattes (H, W) -> (K, H, W) guides: where they overlap to more than 1, each pixel shared out by weight."""
    stack = np.stack([np.asarray(m, np.float32) for m in mattes])
    total = stack.sum(axis=0)
    return (stack / np.maximum(total, 1.0)).astype(np.float32)


def coverage(mattes: Sequence[np.ndarray] | np.ndarray) -> np.ndarray:
    """(H, W): how much of each pixel is stylised, the mattes' sum up to 1 (0: the plate as it is)."""
    return np.clip(np.sum(np.asarray(mattes, np.float32), axis=0), 0.0, 1.0)


def composite(stylised: np.ndarray, plate: np.ndarray, cover: np.ndarray) -> np.ndarray:
    """(H, W, 3) stylised over the plate by ``cover`` (H, W): a soft edge blends, 0 is the plate exactly."""
    c = cover[..., None]
    return np.where(c > 0, stylised * c + plate * (1.0 - c), plate).astype(np.float32)


def resize_all(mattes: Sequence[np.ndarray], size: tuple[int, int]) -> list[np.ndarray]:
    """Each matte at ``size`` (H, W), area-averaged as the plate is."""
    return [images.resize_alpha(m, size) for m in mattes]


class MatteSet:
    """The mattes of a run: one path per style, each a still or a clip matched to the plate's frames.

    ``check(numbers, size)`` refuses, before any work, a matte frame that is
    missing or not the plate's size (naming it); ``frames(numbers)`` then
    gives, for each plate frame in order, its K mattes.
    """

    def __init__(self, paths: Sequence[str | os.PathLike], styles: int):
        from .sources import is_still_path, open_source

        self.paths = [os.fspath(p) for p in paths]
        if len(self.paths) != styles:
            raise ConfigError(f"{len(self.paths)} matte(s) (--mask) for {styles} style image(s): give one matte "
                              f"per style, the k-th for the k-th style")
        self.stills: dict[int, np.ndarray] = {}
        self.clips = {}
        for k, path in enumerate(self.paths):
            if is_still_path(path):
                self.stills[k] = from_image(images.read_plate(path, f"matte {path}"))
            else:
                self.clips[k] = open_source(path, purpose="stylize")

    def check(self, numbers: Sequence[int], size: tuple[int, int]) -> None:
        """Every matte has every frame of ``numbers`` and the plate's ``size`` (H, W); InputError otherwise."""
        for k, matte in self.stills.items():
            _same_size(self.paths[k], matte.shape[:2], size)
        for k, clip in self.clips.items():
            missing = [] if clip.is_video else sorted(set(numbers) - set(clip.numbers))
            if missing:
                raise InputError(f"matte {self.paths[k]} lacks frame(s) {format_ranges(missing)} of the plate")
            _same_size(self.paths[k], (clip.height, clip.width), size)
            clip.restrict(list(numbers))
            clip.check()

    def frames(self, numbers: Sequence[int]) -> Iterator[list[np.ndarray]]:
        """For each of ``numbers`` in order, the K mattes (H, W) of that frame."""
        readers = {k: iter(clip.frames()) for k, clip in self.clips.items()}
        for number in numbers:
            out = []
            for k in range(len(self.paths)):
                if k in self.stills:
                    out.append(self.stills[k])
                    continue
                frame = next(readers[k], None)
                if frame is None or frame.number != number:
                    raise InputError(f"matte {self.paths[k]} has no frame {number}")
                out.append(from_image(_frame_image(frame)))
            yield out


def _frame_image(frame) -> images.Image:
    return images.Image(frame.pixels, 16, frame.alpha, values=frame.values)


def _same_size(path: str, have: tuple[int, int], want: tuple[int, int]) -> None:
    if tuple(have) != tuple(want):
        raise InputError(f"matte {path} is {have[1]}x{have[0]} px, the plate is {want[1]}x{want[0]}: a matte must "
                         f"have the plate's size")


__all__ = ["MatteSet", "composite", "coverage", "from_image", "guides", "resize_all"]
