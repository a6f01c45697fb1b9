"""Typed exceptions. The library raises these and never prints or exits.

Each message is written for a user: it names the file, option or value at
fault and, where it can, what to do instead. ``cli.py`` turns them into one
line on stderr and the exit code stored on the class.
"""

from __future__ import annotations


class VidstyleError(Exception):
    """Base class of every error vidstyle raises on purpose."""

    exit_code = 1


class ConfigError(VidstyleError, ValueError):
    """An option has a value that cannot work (negative size, NaN weight, ...)."""

    exit_code = 2


class InputError(VidstyleError):
    """An input file is missing, unreadable, empty or not what it claims to be."""

    exit_code = 3


class WeightsError(InputError):
    """A VGG-19 weights file does not fit the network (missing keys, bad shapes)."""


class OutputError(VidstyleError):
    """The output cannot be written (exists, unwritable folder, same as an input)."""

    exit_code = 4


class BusyError(OutputError):
    """Another process is working on the same output (it holds the work folder's lock)."""


class StreamError(InputError):
    """A raw frame stream (``vidstyle pipe``) ended in the middle of a frame."""


class DivergedError(VidstyleError):
    """The optimisation blew up: the loss became NaN or infinite."""


class ChunkFailed(VidstyleError):
    """A chunk of a distributed run (Ray) failed on every try; finished frames stay for a rerun."""
