"""The style track: which styles each frame is painted with, and how a change inside a shot fades.

A whole edit need not have one painting. A track is a list of keys: from
frame N on, these styles (a blend with these weights). Frames before the
first key take the positional styles. Since a blend of styles is matching
the weighted mean of their Gram matrices (``losses.blend_grams``), a style
that changes over time is a blend whose weights change with the frame, and
the engine needs nothing new: each frame gets its weights over the distinct
style images of the whole track (``StyleTrack.slots_at``).

A key at a shot's start takes effect at once (nothing before it in the
shot). A key inside a shot cross-fades the Gram targets from the blend
before it to its own over ``fade`` frames, starting at the key: frame
``key + i`` is ``(i + 1) / fade`` of the way (``fade`` 0 or 1: at once);
the warm start carries on through it, so the temporal term keeps the
picture steady while the style term moves it. A cut inside a fade does not
stop it (put a key at the cut for a new look there).

Whether a key's frame starts a shot is decided when the frame is analysed
(``decide``), or before the run for keys before its first frame whose fade
reaches into it (a farm chunk's warm-up: ``reaching``), so every run of the
same frames, whole or in chunks, gives each frame the same weights.

With K mattes (``--mask``, K > 1), each key names K styles, the k-th
painting the k-th matte's region: a frame's style is K "slots", each a
weight vector over the track's images; without mattes (or one), one slot.

Frame numbers are those ``--frames`` uses: a sequence's own numbers, a
video's indices from 0.
"""

from __future__ import annotations

import hashlib
import json
import os
from dataclasses import dataclass
from typing import Callable, Sequence

import numpy as np

from .errors import ConfigError, InputError

# A frame's style: one weight vector over the track's images per slot (one slot, or one per matte).
Slots = tuple[tuple[float, ...], ...]


@dataclass(frozen=True)
class StyleKey:
    """From frame ``frame`` on: ``styles`` (paths, or arrays for a host), blended by ``weights`` (None: equal)."""

    frame: int
    styles: tuple
    weights: tuple[float, ...] | None = None

    def __post_init__(self) -> None:
        from .options import weight_list, whole_number

        whole_number("style key frame", self.frame, 0)
        if isinstance(self.styles, (str, os.PathLike, np.ndarray)):
            object.__setattr__(self, "styles", (self.styles,))
        styles = tuple(os.fspath(s) if isinstance(s, os.PathLike) else s for s in self.styles)
        object.__setattr__(self, "styles", styles)
        if not styles:
            raise ConfigError(f"the style key at frame {self.frame} names no style image")
        if self.weights is not None:
            weights = weight_list(f"the style key at frame {self.frame}: weights", self.weights)
            if len(weights) != len(styles):
                raise ConfigError(f"the style key at frame {self.frame} has {len(weights)} weight(s) for "
                                  f"{len(styles)} style image(s)")
            object.__setattr__(self, "weights", weights)

    def __eq__(self, other) -> bool:   # arrays compare by content (the dataclass's == would be ambiguous)
        return isinstance(other, StyleKey) and self.frame == other.frame and self.weights == other.weights \
            and len(self.styles) == len(other.styles) \
            and all(_same(a, b) for a, b in zip(self.styles, other.styles))

    def __hash__(self) -> int:
        return hash((self.frame, self.weights, tuple(s if isinstance(s, str) else s.tobytes() for s in self.styles)))

    def describe(self) -> str:
        """``FRAME=PATH+PATH@W,W``, as ``--style-at`` takes it (arrays shown by their shape)."""
        names = "+".join(s if isinstance(s, str) else f"<{s.shape[1]}x{s.shape[0]} image>" for s in self.styles)
        weights = "" if self.weights is None else "@" + ",".join(f"{w:g}" for w in self.weights)
        return f"{self.frame}={names}{weights}"


def _same(a, b) -> bool:
    if isinstance(a, np.ndarray) or isinstance(b, np.ndarray):
        return isinstance(a, np.ndarray) and isinstance(b, np.ndarray) and a.shape == b.shape and np.array_equal(a, b)
    return a == b


def fade_weight(step: int, fade: int) -> float:
    """How far frame ``step`` (1 = the key's frame) of a ``fade``-frame cross-fade is to the new style.

    Ease-out, ``1 - (1 - t)^2``: the targets move most at the start and
    arrive gently. The picture follows its targets a few frames behind; with
    a linear fade it was still 1.17x the new style's loss at the fade's last
    frame, with ease-out 1.09x, at no cost and no more frame-to-frame change
    (benchmarks/STYLE_TRACK.md; a doubled warm budget gave 1.12x, a
    quarter of the temporal weight during the fade 1.09x).
    """
    t = min(1.0, step / fade)
    return 1.0 - (1.0 - t) ** 2


def check_keys(keys: Sequence[StyleKey]) -> tuple[StyleKey, ...]:
    """Keys in frame order; two on one frame refused."""
    ordered = tuple(sorted(keys, key=lambda k: k.frame))
    for a, b in zip(ordered, ordered[1:]):
        if a.frame == b.frame:
            raise ConfigError(f"two style keys on frame {a.frame} ({a.describe()} and {b.describe()}): give one")
    return ordered


def parse_key(text: str) -> StyleKey:
    """``--style-at FRAME=PATH[+PATH...][@W1,W2...]`` -> a StyleKey."""
    usage = "--style-at takes FRAME=PATH, FRAME=PATH+PATH or FRAME=PATH+PATH@W1,W2"
    frame, sep, rest = text.partition("=")
    if not sep or not rest:
        raise ConfigError(f"{usage}, not {text!r}")
    try:
        number = int(frame.strip())
    except ValueError:
        raise ConfigError(f"{usage} (FRAME a whole number), not {text!r}") from None
    paths, at, weights = rest.rpartition("@") if "@" in rest else (rest, "", "")
    try:
        values = tuple(float(w) for w in weights.split(",")) if at else None
    except ValueError:
        raise ConfigError(f"{usage} (weights numbers separated by commas), not {text!r}") from None
    names = tuple(p for p in paths.split("+"))
    if not all(n.strip() for n in names):
        raise ConfigError(f"{usage} (a path on each side of +), not {text!r}")
    return StyleKey(number, names, values)


TRACK_SCHEMA = ('{"keys": [{"frame": 0, "styles": ["a.jpg"]}, '
                '{"frame": 48, "styles": ["b.jpg", "c.jpg"], "weights": [0.7, 0.3]}]}')


def read_track(path: str | os.PathLike) -> tuple[StyleKey, ...]:
    """``--style-track track.json`` -> its keys (schema: README, ``TRACK_SCHEMA``); style paths relative to the file."""
    path = os.fspath(path)
    try:
        with open(path, "rb") as f:
            data = json.loads(f.read().decode("utf-8"))
    except FileNotFoundError:
        raise InputError(f"style track {path} does not exist") from None
    except (OSError, UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise InputError(f"style track {path} is not readable JSON ({exc})") from None
    where = f"style track {path}"
    if not isinstance(data, dict) or set(data) != {"keys"} or not isinstance(data["keys"], list) or not data["keys"]:
        raise InputError(f"{where} must be an object with one member, a non-empty list \"keys\", like {TRACK_SCHEMA}")
    base = os.path.dirname(os.path.abspath(path))
    keys = []
    for i, entry in enumerate(data["keys"]):
        at = f"{where}: key {i + 1}"
        if not isinstance(entry, dict) or not {"frame", "styles"} <= set(entry) <= {"frame", "styles", "weights"}:
            raise InputError(f"{at} must have \"frame\" and \"styles\" (and may have \"weights\"), like {TRACK_SCHEMA}")
        frame, styles, weights = entry["frame"], entry["styles"], entry.get("weights")
        if isinstance(frame, bool) or not isinstance(frame, int):
            raise InputError(f"{at}: \"frame\" must be a whole number, not {frame!r}")
        if not isinstance(styles, list) or not styles or not all(isinstance(s, str) and s for s in styles):
            raise InputError(f"{at}: \"styles\" must be a non-empty list of paths, not {styles!r}")
        if weights is not None and (not isinstance(weights, list) or
                                    not all(isinstance(w, (int, float)) and not isinstance(w, bool) for w in weights)):
            raise InputError(f"{at}: \"weights\" must be a list of numbers, not {weights!r}")
        try:
            keys.append(StyleKey(frame, tuple(os.path.join(base, s) for s in styles),
                                 None if weights is None else tuple(weights)))
        except ConfigError as exc:
            raise InputError(f"{where}: {exc}") from None
    try:
        return check_keys(keys)
    except ConfigError as exc:
        raise InputError(f"{where}: {exc}") from None


def describe_keys(keys: Sequence[StyleKey], first: int, last: int, starts: set[int], fade: int) -> str:
    """The styles of frames ``first``..``last``, as ``vidstyle plan`` shows them.

    ``starts``: the frames that start a shot (a key there is at once).
    E.g. ``positional; 48: fade to b.jpg; 96: c.jpg+d.jpg@0.7,0.3``.
    """
    def name(key: StyleKey) -> str:
        names = "+".join(os.path.basename(s) if isinstance(s, str) else "<image>" for s in key.styles)
        return names + ("" if key.weights is None else "@" + ",".join(f"{w:g}" for w in key.weights))

    before = [k for k in keys if k.frame <= first]
    parts = [name(before[-1]) if before else "positional"]
    for k in keys:
        if first < k.frame <= last:
            parts.append(f"{k.frame}: {'fade to ' if fade > 1 and k.frame not in starts else ''}{name(k)}")
    return "; ".join(parts)


def digest(pixels: np.ndarray) -> str:
    """A style image's identity: its pixels (the same picture under two paths is one image)."""
    h = hashlib.blake2b(np.ascontiguousarray(pixels).view(np.uint8), digest_size=8)
    h.update(str(pixels.shape).encode())
    return h.hexdigest()


class StyleTrack:
    """The styles of every frame: weights over the distinct style images of the positional styles and the keys.

    ``base``: the positional styles' pixels (may be empty when a key is at
    the first frame), blended by ``blend`` (None: equally); ``keys``:
    ``StyleKey``s (check_keys order) whose styles are paths (read with
    ``load``) or arrays; ``fade``: frames a change inside a shot takes;
    ``regions``: the number of mattes (K > 1: each key names K styles, one
    per matte). ``images`` lists the distinct images, ``load``'s pixels
    (each read once however many keys name it).
    """

    def __init__(self, base: Sequence[np.ndarray], keys: Sequence[StyleKey], fade: int, *,
                 blend: Sequence[float] | None = None, regions: int = 0,
                 load: Callable[[object], np.ndarray] | None = None):
        from .stylize import as_pixels

        self.fade, self.regions = fade, regions
        self.load = load or (lambda s: as_pixels(s, "style image"))
        self.images: list[np.ndarray] = []
        self.digests: list[str] = []
        self._index: dict[str, int] = {}
        self.base_count = len(base)
        indices = [self._add(as_pixels(px, "style image"), distinct=False)   # images[:base_count]: the base, in order
                   for px in base]
        blend = None if regions > 1 else blend   # with a matte per style, each paints its own region
        self.base: Slots | None = self._slots(indices, blend, "the positional styles") if base else None
        self.keys: list[tuple[int, Slots]] = []
        self.starts: dict[int, bool] = {}     # key frame -> whether it starts a shot (decided)
        self.pending: Slots | None = None     # styles a host set for the next frame (FrameStylizer.set_styles)
        for key in check_keys(keys):
            self.add(key)

    # -- building ------------------------------------------------------------------------------------

    def _add(self, pixels: np.ndarray, distinct: bool = True) -> int:
        d = digest(pixels)
        if d not in self._index or not distinct:
            self._index.setdefault(d, len(self.images))
            self.images.append(pixels)
            self.digests.append(d)
            return len(self.images) - 1
        return self._index[d]

    def _slots(self, indices: list[int], weights: Sequence[float] | None, what: str) -> Slots:
        n = len(self.images)
        if self.regions > 1:
            if len(indices) != self.regions:
                raise ConfigError(f"{what}: {len(indices)} style image(s) for {self.regions} mattes: give one "
                                  f"style per matte (the k-th paints the k-th matte)")
            if weights is not None:
                raise ConfigError(f"{what}: weights blend styles, but with {self.regions} mattes each style "
                                  f"paints its own region: leave the weights out")
            return tuple(tuple(1.0 if j == i else 0.0 for j in range(n)) for i in indices)
        w = list(weights) if weights is not None else [1.0] * len(indices)
        total = sum(w)
        vector = [0.0] * n
        for i, x in zip(indices, w):
            vector[i] += x / total
        return (tuple(vector),)

    def prepare(self, key: StyleKey) -> Slots:
        """``key``'s slots, its images loaded (each distinct image once)."""
        indices = [self._add(self.load(s)) for s in key.styles]
        return self._slots(indices, key.weights, f"the style key at frame {key.frame}")

    def add(self, key: StyleKey) -> None:
        """Add ``key``; keys at or after its frame are dropped (a host's new timeline)."""
        self.insert(key.frame, self.prepare(key))

    def insert(self, frame: int, slots: Slots) -> None:
        """A key of prepared ``slots`` at ``frame``; keys at or after it are dropped."""
        self.keys = [(f, s) for f, s in self.keys if f < frame] + [(frame, slots)]
        self.starts = {f: v for f, v in self.starts.items() if f < frame}

    def place_pending(self, number: int) -> None:
        """A host's ``set_styles`` (``pending``) becomes a key on frame ``number``, the next one analysed."""
        if self.pending is not None:
            self.insert(number, self.pending)
            self.pending = None

    # -- which styles a frame gets -------------------------------------------------------------------

    def _pad(self, slots: Slots) -> Slots:
        n = len(self.images)
        return tuple(s + (0.0,) * (n - len(s)) for s in slots)

    def key_before(self, number: int) -> int | None:
        """The index of the last key at or before ``number``, or None."""
        found = None
        for i, (f, _) in enumerate(self.keys):
            if f <= number:
                found = i
        return found

    def decide(self, number: int, starts_shot: bool) -> None:
        """Frame ``number`` was analysed: if a key is on it, whether it starts a shot (kept if decided before)."""
        if any(f == number for f, _ in self.keys) and number not in self.starts:
            self.starts[number] = starts_shot

    def fading(self, number: int) -> bool:
        """Whether frame ``number`` is inside a fade (its style is a mix of two keys')."""
        k = self.key_before(number)
        if k is None or self.fade <= 1:
            return False
        f = self.keys[k][0]
        return not self.starts.get(f, True) and number - f + 1 < self.fade

    def changing(self, number: int) -> bool:
        """Whether frame ``number``'s style differs from the frame before's: a key's frame, or in its fade."""
        k = self.key_before(number)
        if k is None:
            return False
        f = self.keys[k][0]
        return number == f or (self.fade > 1 and not self.starts.get(f, True) and number - f + 1 <= self.fade)

    def slots_at(self, number: int) -> Slots:
        """Frame ``number``'s style: per slot, the weights over ``images`` (see the module doc)."""
        k = self.key_before(number)
        if k is None:
            if self.base is None:
                raise ConfigError(f"frame {number} comes before the first style key ({self.keys[0][0]}) and no "
                                  f"positional style was given: give one, or a key at the first frame")
            return self._pad(self.base)
        f, new = self.keys[k]
        new = self._pad(new)
        if not self.fading(number):
            return new
        if f - 1 < 0 or (k == 0 and self.base is None):
            return new
        a = fade_weight(number - f + 1, self.fade)
        old = self.slots_at(f - 1)
        return tuple(tuple((1 - a) * o + a * n for o, n in zip(os_, ns)) for os_, ns in zip(old, new))

    def reaching(self, first: int) -> list[int]:
        """Key frames whose shot decision a run starting at ``first`` cannot make itself.

        The key on ``first`` (the run's first frame starts a shot for the run,
        not always for the clip: a farm chunk's warm-up) and the keys before
        it whose fade still runs at ``first - 1`` (the blend a later frame
        fades from), and the keys those fade from in turn.
        """
        wanted = [first] if any(f == first for f, _ in self.keys) else []
        n = first - 1
        while n >= 0 and self.fade > 1:
            k = self.key_before(n)
            if k is None:
                break
            f = self.keys[k][0]
            if n - f + 1 >= self.fade:
                break
            wanted.append(f)
            n = f - 1
        return wanted

    def fingerprint(self) -> str:
        """The whole track (its images by content, keys, weights and fade): a finished run is done only if unchanged."""
        data = [self.fade, self.digests, self.base, self.keys]
        return hashlib.blake2b(json.dumps(data).encode(), digest_size=8).hexdigest()

    def key_digest(self, number: int) -> str:
        """What frame ``number``'s style is made of, for its resume key: each used image and its weight."""
        parts = [[(self.digests[i], round(w, 9)) for i, w in enumerate(slot) if w > 0]
                 for slot in self.slots_at(number)]
        return hashlib.blake2b(json.dumps(parts).encode(), digest_size=8).hexdigest()


__all__ = ["Slots", "StyleKey", "StyleTrack", "TRACK_SCHEMA", "check_keys", "describe_keys", "digest", "fade_weight", "parse_key",
           "read_track"]
