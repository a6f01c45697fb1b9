"""Where a run may write: never over one of its inputs, never two things at one path, always where it can.

Every command checks the paths it will write (the output, ``--report``,
``plan --json``, the work folder, the hidden temporary names files are
written under) before any work, with ``check_writes``: a report pointed at
the input video, a plan at the style image, an output that is a folder or
whose temporary name would be too long for the file system are refused in
one line, and nothing is written.
"""

from __future__ import annotations

import os
from typing import Callable, Iterable, Sequence

from .errors import OutputError
from .images import check_writable_folder, partial_path


def same_file(a: str, b: str) -> bool:
    """Whether two paths name one file (the same path, a link to it, or a hard link)."""
    a, b = os.fspath(a), os.fspath(b)
    if os.path.realpath(a) == os.path.realpath(b):
        return True
    try:
        return os.path.samefile(a, b)
    except OSError:
        return False


def name_max(folder: str) -> int:
    """The longest file name ``folder``'s file system takes (255 where it cannot say)."""
    try:
        return os.pathconf(folder, "PC_NAME_MAX")
    except (OSError, ValueError, AttributeError):
        return 255


def check_name_fits(path: str, what: str) -> None:
    """Refuse a file name too long for its folder once it is written under its hidden temporary name."""
    folder, name = os.path.split(os.path.abspath(path))
    longest = max(len(name), len(os.path.basename(partial_path(path))) + len(".frames"))
    limit = name_max(folder if os.path.isdir(folder) else os.path.dirname(folder) or ".")
    if longest > limit:
        raise OutputError(f"{what} name {name!r} is too long: vidstyle writes it under a hidden temporary name "
                          f"{longest - len(name)} characters longer, and this file system takes {limit}; "
                          f"use a name of at most {limit - (longest - len(name))} characters")


def check_writes(writes: Sequence[tuple[str, str | None]], inputs: Iterable[str | None] = (),
                 input_owns: Callable[[str], bool] | None = None,
                 folders: Sequence[tuple[str, str]] = ()) -> None:
    """Refuse, before any work, a run that would write where it must not.

    ``writes``: (what, path) for every file the run creates, e.g.
    ("output", "out.mp4"), ("report", "r.json"); None paths are skipped.
    ``folders``: (what, path) for folders it creates or keeps state in (the
    work folder). ``inputs``: the files it reads (input, styles, weights,
    init image). ``input_owns(path)``: True for a file that belongs to the
    input clip (a frame of an input sequence or folder). No written path may
    be an input, a frame of the input, or another written path; a file must
    not be a folder, its folder must exist and be writable, and its name
    must fit once written under a temporary name.
    """
    readers = [os.fspath(p) for p in inputs if p is not None]
    seen: list[tuple[str, str]] = []
    for what, path, is_folder in [*((w, p, False) for w, p in writes), *((w, p, True) for w, p in folders)]:
        if path is None:
            continue
        path = os.fspath(path)
        for name in readers:
            if same_file(path, name):
                raise OutputError(f"{what} {path} is also an input ({name}): writing it would destroy the input; "
                                  f"choose another path")
        if input_owns is not None and input_owns(path):
            raise OutputError(f"{what} {path} is a frame of the input: writing it would destroy the input; "
                              f"choose another path")
        for other_what, other in seen:
            if same_file(path, other):
                raise OutputError(f"{what} {path} is also the {other_what}: give them different paths")
        if not is_folder:
            if os.path.isdir(path):
                raise OutputError(f"{what} {path} is a folder: give a file name")
            check_writable_folder(os.path.dirname(os.path.abspath(path)))
        check_name_fits(path, what)
        seen.append((what, path))


__all__ = ["check_name_fits", "check_writes", "name_max", "same_file"]
