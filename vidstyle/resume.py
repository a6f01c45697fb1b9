"""The resume state of a run: its work folder, its fingerprint, its lock, and the fresh / resume / done decision.

A run keeps its state in ``.NAME.vidstyle/RANGE/`` beside the output (RANGE
is ``all`` or the ``--frames`` range, so farm chunks of one output never
share a folder):

* ``manifest.json``: the fingerprint of everything that decides the pixels
  (options, the input's path and size, the style files' bytes); for a
  finished sequence range also ``complete`` and the input's stamp;
* ``frames/+0001001.<key>.png``: each finished frame, 16-bit, written
  atomically. ``key`` digests the source frame the output was made from
  (its pixels at the output size, and whether it starts a shot), so a plate
  replaced at the same path is noticed frame by frame and never finished
  with the old plate's pictures;
* ``memory/+0001016.<key>.pt``: the optimiser's L-BFGS memory after that
  frame (``lbfgs.Memory.to_state`` written by ``torch.save``: a dict of
  ``format`` "vidstyle.lbfgs-memory/1", ``steps`` and ``changes`` (m, n)
  float32 tables of the last m curvature pairs, ``scale`` a float), at
  every shot start, every MEMORY_CHECKPOINT_EVERY frames and when a run
  stops on Ctrl-C, SIGTERM or an error (the last two kept). A resumed run
  goes on from the last stored frame with its memory; after a crash it goes
  back to the last checkpoint and renders the frames after it again (the
  same bytes come out);
* ``lock``: held (``flock``) while a process works on the folder; it names
  that process, so a second run of the same command refuses at once
  instead of racing the first.

A rerun of the same command resumes after the last finished frame: it
warm-starts from the stored 16-bit frame exactly as an uninterrupted run
does (the per-frame processor keeps its warm starts on the 16-bit grid),
so both give the same bytes.
"""

from __future__ import annotations

import contextlib
import dataclasses
import enum
import hashlib
import json
import os
import re
import shutil
import socket
from typing import Sequence

import numpy as np
import torch

from . import images
from .lbfgs import Memory
from .errors import BusyError, InputError, OutputError
from .options import StyleOptions, VideoOptions
from .outputs import Output
from .sequences import range_name
from .sources import FrameSource

# 2: stored frames carry their source key in the name (version 1 had none).
# 3: memory checkpoints in vidstyle's own format (lbfgs.Memory), no longer torch.optim's state.
STATE_VERSION = 3
# Options that decide how a result is delivered, not its pixels.
_DELIVERY = ("frames", "crf", "codec", "fps", "accept_damaged")


def _file_digest(path: str) -> str:
    h = hashlib.sha256()
    with open(path, "rb") as handle:
        for block in iter(lambda: handle.read(1 << 20), b""):
            h.update(block)
    return h.hexdigest()


def fingerprint(source: FrameSource, style_paths: Sequence[str], options: StyleOptions,
                video: VideoOptions) -> str:
    """Everything that decides the pixels of a frame; the frame range and delivery options excluded.

    The input counts by path and size here; its pixels are checked frame by
    frame (the stored frames' keys) and, for a finished range, by its stamp.
    """
    opts = dataclasses.asdict(options)
    opts.pop("device")  # the same run may continue on another device
    vopts = dataclasses.asdict(video)
    for key in _DELIVERY:
        vopts.pop(key)
    # The style track is in each frame's key instead (temporal.SourceFrame): a changed track renders
    # again from the first frame whose style it changes, and reuses the frames before.
    vopts.pop("style_keys")
    vopts.pop("style_fade")
    data = {
        "version": STATE_VERSION, "options": opts, "video": vopts,
        "input": [os.path.abspath(source.path), source.width, source.height],
        "styles": [_file_digest(p) for p in style_paths],
    }
    return hashlib.sha256(json.dumps(data, sort_keys=True, default=str).encode()).hexdigest()[:16]


class _Lock:
    """An exclusive, non-blocking lock on a file, released when the process ends (even by SIGKILL).

    POSIX ``flock``; ``msvcrt.locking`` on Windows. After locking, the file
    must still be the one at ``path``: a finishing run deletes its folder,
    lock and all, and a lock on a deleted file would protect nothing.
    """

    def __init__(self, path: str):
        self.path = path
        self.fd: int | None = None

    def acquire(self) -> bool:
        for _ in range(10):
            fd = os.open(self.path, os.O_RDWR | os.O_CREAT, 0o644)
            if not _try_lock(fd):
                os.close(fd)
                return False
            try:
                same = os.stat(self.path).st_ino == os.fstat(fd).st_ino
            except OSError:
                same = False
            if same:
                self.fd = fd
                os.ftruncate(fd, 0)
                os.write(fd, f"pid {os.getpid()} on {socket.gethostname()}\n".encode())
                return True
            os.close(fd)
        return False

    def holder(self) -> str:
        try:
            with open(self.path) as handle:
                return handle.read().strip() or "unknown"
        except OSError:
            return "unknown"

    def release(self) -> None:
        """Remove the lock file, then drop the lock (closing the descriptor drops it).

        Removing it while still held is safe: a process that opened it before
        then finds, after locking, that it is no longer the file at ``path``.
        """
        if self.fd is not None:
            try:
                if os.stat(self.path).st_ino == os.fstat(self.fd).st_ino:
                    os.unlink(self.path)
            except OSError:
                pass
            os.close(self.fd)
            self.fd = None


def _try_lock(fd: int) -> bool:
    try:
        import fcntl
    except ImportError:   # Windows
        import msvcrt
        try:
            msvcrt.locking(fd, msvcrt.LK_NBLCK, 1)
            return True
        except OSError:
            return False
    try:
        fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        return True
    except OSError:
        return False


class Decision(enum.Enum):
    FRESH = "fresh"      # nothing usable stored: start the range
    RESUME = "resume"    # an unfinished run of the same command: go on after its frames
    DONE = "done"        # the same command finished this range and nothing changed since: nothing to do


# A stored frame or memory checkpoint: "+0001001.<key>.png" / ".pt". Anything else in those folders
# (a stray file, a leftover of an editor) is not ours and is left alone.
_STORED = re.compile(r"^([+-]\d+)\.[0-9a-f]+\.(png|pt)$")


@contextlib.contextmanager
def _file_system(what: str, folder: str):
    """Turn an OSError (a read-only or full disk, a file where a folder should be) into one line naming ``folder``."""
    try:
        yield
    except OSError as exc:
        raise OutputError(f"cannot {what} in the work folder {folder}: {exc.strerror or exc}; make it writable, or "
                          f"delete it to start the run afresh") from None


def work_folder_path(output: Output) -> str:
    """``.NAME.vidstyle`` beside the output: where its runs keep their state (one folder per frame range)."""
    name = os.path.basename(output.path).replace("%", "_").replace("#", "_").replace("@", "_")
    return os.path.join(output.folder, f".{name}.vidstyle")


class WorkFolder:
    """``.NAME.vidstyle/RANGE/`` beside the output. Use as a context manager: it holds the lock.

    Entering refuses (BusyError) when another process holds the lock, and
    removes what killed writers of this output left (temporary files). On
    leaving, a folder that this run created and never started (a refused
    run) is removed again: a refused command leaves nothing behind.
    """

    def __init__(self, output: Output, frames: Sequence[int] | None = None, keep: Sequence[int] = ()):
        self.output = output
        self.keep = list(keep)
        self.base = work_folder_path(output)
        self.root = os.path.join(self.base, range_name(frames))
        self.frames = os.path.join(self.root, "frames")
        self.memories = os.path.join(self.root, "memory")
        self.manifest = os.path.join(self.root, "manifest.json")
        self._lock = _Lock(os.path.join(self.root, "lock"))
        self._created = False
        self._started = False
        self._stored: dict[int, str] = {}

    # -- the lock --------------------------------------------------------------------

    def __enter__(self) -> "WorkFolder":
        self._created = not os.path.isdir(self.root)
        with _file_system("create or lock files", self.root):
            os.makedirs(self.root, exist_ok=True)
            locked = self._lock.acquire()
        if not locked:
            holder = self._lock.holder()
            self._drop_if_unused()
            raise BusyError(f"another vidstyle run ({holder}) is working on {self.output.path} (lock "
                            f"{self._lock.path}): wait for it to finish, or stop it first")
        self.output.remove_partials(self.keep)
        with _file_system("remove temporary files", self.root):
            for folder in (self.frames, self.memories):   # our own temporaries: ours while we hold the lock
                if os.path.isdir(folder):
                    for name in os.listdir(folder):
                        if name.startswith(".") and ".partial" in name:
                            os.unlink(os.path.join(folder, name))
        return self

    def __exit__(self, *exc) -> None:
        if self._started and not self._stored and not self.complete():
            # This run wrote its manifest but no frame (it failed or was stopped at once): the state
            # holds nothing worth resuming and must not block a corrected command as "other parameters".
            self.remove_state()
        self._lock.release()
        self._drop_if_unused()

    def _drop_if_unused(self) -> None:
        if self._created and not self.exists():
            shutil.rmtree(self.root, ignore_errors=True)
            try:
                os.rmdir(self.base)   # only when no other range is in it
            except OSError:
                pass

    # -- the manifest -------------------------------------------------------------------

    def exists(self) -> bool:
        return os.path.isfile(self.manifest)

    def _read(self) -> dict:
        try:
            with open(self.manifest) as handle:
                data = json.load(handle)
            return data if isinstance(data, dict) else {}
        except (OSError, ValueError):
            return {}

    def _broken(self) -> bool:
        """A manifest that is there but unreadable (damaged, edited): the state cannot be trusted."""
        return self.exists() and "fingerprint" not in self._read()

    def fingerprint(self) -> str | None:
        return self._read().get("fingerprint")

    def complete(self) -> bool:
        return bool(self._read().get("complete"))

    def decide(self, fp: str, source: FrameSource, overwrite: bool, track: str = "") -> Decision:
        """Fresh, resume or done for a run with fingerprint ``fp``; refuse what must not be touched.

        Refused (OutputError): an unfinished or finished run with other
        parameters or inputs, or output files not made by this command,
        unless ``overwrite``. A finished sequence range is done when all its
        frames are still there and neither the input's stamp (file sizes and
        times) nor the style track (``track``, its digest) has changed;
        otherwise it is rendered again. An unfinished run with another style
        track goes on: its stored frames whose style is unchanged are reused
        (their keys include their style, temporal.SourceFrame).
        """
        ours = False   # existing output frames were made by this very command
        if self._broken():
            # Nothing in it can be matched to a command: start the range afresh (finished output
            # frames are still refused below unless --overwrite, as frames of unknown origin).
            self.remove_state()
        if self.exists() and self.fingerprint() != fp:
            if not overwrite:
                state = "a finished" if self.complete() else "an unfinished"
                raise OutputError(f"{self.output.path} has {state} run with other parameters or inputs "
                                  f"(work folder {self.root}): rerun that command to finish it, or pass "
                                  f"--overwrite to start again")
            self.remove_state()
        elif self.exists() and self.complete():
            on_disk = self.output.existing(self.keep)
            if not overwrite and len(on_disk) == len(self.keep) and self._read().get("stamp") == source.stamp() \
                    and self._read().get("track", "") == track:
                return Decision.DONE   # e.g. a farm requeued the task
            ours = True   # frames deleted, or the input replaced since: render the range again
            self.remove_state()
        if self.exists():
            return Decision.RESUME
        existing = self.output.existing(self.keep)
        if existing and not (overwrite or ours):
            more = f" and {len(existing) - 1} more" if len(existing) > 1 else ""
            raise OutputError(f"output {existing[0]}{more} exists: pass --overwrite to replace")
        return Decision.FRESH

    def start(self, fp: str, summary: dict) -> None:
        with _file_system("start the run", self.root):
            os.makedirs(self.frames, exist_ok=True)
            images.write_bytes_atomic(self.manifest, json.dumps({"fingerprint": fp, **summary}, indent=1).encode())
            self._started = True
            self._stored = {}
            for name in os.listdir(self.frames):
                found = _STORED.match(name)
                if found and found.group(2) == "png":
                    self._stored[int(found.group(1))] = os.path.join(self.frames, name)

    def finish(self, stamp: str) -> None:
        """Mark the range complete and drop the stored frames (a sequence output holds them now)."""
        data = {**self._read(), "complete": True, "stamp": stamp}
        images.write_bytes_atomic(self.manifest, json.dumps(data, indent=1).encode())
        shutil.rmtree(self.frames, ignore_errors=True)
        shutil.rmtree(self.memories, ignore_errors=True)

    def remove_state(self) -> None:
        """Forget the stored frames, the memories and the manifest (the lock stays held)."""
        shutil.rmtree(self.frames, ignore_errors=True)
        shutil.rmtree(self.memories, ignore_errors=True)
        if os.path.exists(self.manifest):
            os.unlink(self.manifest)
        self._stored = {}

    def remove(self) -> None:
        """Remove the whole folder at the end of a video run (the lock goes with it; it is released on exit)."""
        shutil.rmtree(self.root, ignore_errors=True)
        self._created = False
        try:
            os.rmdir(self.base)   # only when no other range is in it
        except OSError:
            pass

    # -- stored frames ---------------------------------------------------------------------

    def _path(self, number: int, key: str) -> str:
        return os.path.join(self.frames, f"{number:+09d}.{key}.png")

    def has(self, number: int) -> bool:
        """Whether some output of frame ``number`` is stored (made from whichever source frame)."""
        return number in self._stored

    def stored(self, number: int, key: str) -> np.ndarray | None:
        """The stored output of frame ``number`` made from the source frame ``key``, or None.

        A stored frame of another key (the source changed since) is deleted.
        """
        path = self._stored.get(number)
        if path is None:
            return None
        if path != self._path(number, key):
            self.discard(number)
            return None
        try:
            return images.read_image(path, "stored frame").pixels
        except InputError:   # damaged since (a disk error, a half-copied folder): render it again
            self.discard(number)
            return None

    def discard(self, number: int) -> None:
        path = self._stored.pop(number, None)
        if path is not None and os.path.exists(path):
            with _file_system("remove a stale frame", self.root):
                os.unlink(path)

    def save(self, number: int, key: str, pixels: np.ndarray) -> None:
        """Store a finished frame (16-bit PNG, atomically), replacing any older one of that number."""
        self.discard(number)
        path = self._path(number, key)
        images.write_image(path, pixels, 16)
        self._stored[number] = path

    def discard_from(self, number: int) -> None:
        """Forget the stored frames and memories of ``number`` and after (a run going back to a checkpoint)."""
        for n in [n for n in self._stored if n >= number]:
            self.discard(n)
        with _file_system("remove stale checkpoints", self.root):
            for n, path in self._memory_files():
                if n >= number:
                    os.unlink(path)

    # -- L-BFGS memory checkpoints ---------------------------------------------------------

    def _memory_path(self, number: int, key: str) -> str:
        return os.path.join(self.memories, f"{number:+09d}.{key}.pt")

    def _memory_files(self) -> list[tuple[int, str]]:
        if not os.path.isdir(self.memories):
            return []
        found = [(_STORED.match(name), name) for name in os.listdir(self.memories)]
        return sorted((int(m.group(1)), os.path.join(self.memories, name)) for m, name in found
                      if m and m.group(2) == "pt")

    def save_memory(self, number: int, key: str, state: dict | None, keep: int = 2) -> None:
        """Checkpoint the optimiser's memory after frame ``number`` (atomically); keep the last ``keep``.

        ``state``: ``Memory.to_state()``, made by the caller on the thread that renders. It runs
        torch operations, and torch's first operation on another thread (this is called on the
        writer's) starts a second OpenMP team: on a 2-core CPU the renderer's own team then sleeps
        between operations, and every warm frame after the first checkpoint took ~2x as long an
        iteration (session 15, docs/DEVELOPING.md). Writing the bytes runs no parallel operation.
        """
        if state is None:
            return
        path = self._memory_path(number, key)

        def write(tmp: str) -> None:
            try:
                torch.save(state, tmp)
            except RuntimeError as exc:   # how torch says a write failed (a full disk, a file-size limit)
                raise OutputError(f"cannot save the optimiser's memory in the work folder {self.root}: the write "
                                  f"failed as on a full disk ({str(exc).splitlines()[0].strip()}); free some "
                                  f"space, then run the same command to resume") from None

        with _file_system("save a checkpoint", self.root):
            os.makedirs(self.memories, exist_ok=True)
            images.write_atomic(path, write)
            for _, old in self._memory_files()[:-keep]:
                os.unlink(old)

    def load_memory(self, number: int, key: str) -> Memory | None:
        """The memory checkpointed after frame ``number`` made from source frame ``key``, or None."""
        path = self._memory_path(number, key)
        if not os.path.isfile(path):
            return None
        try:
            return Memory.from_state(torch.load(path, map_location="cpu", weights_only=True))
        except Exception:   # a damaged or older checkpoint is as good as none: the run goes back further
            return None

    def last_checkpoint(self, before: int, since: int) -> int | None:
        """The latest frame in [since, before) with a memory checkpoint, or None."""
        found = [n for n, _ in self._memory_files() if since <= n < before]
        return found[-1] if found else None


__all__ = ["Decision", "STATE_VERSION", "WorkFolder", "fingerprint"]
