"""Ctrl-C and SIGTERM for the length of a command: the first one stops the run, cleanly; more only wait.

The first signal raises where the program is (``KeyboardInterrupt`` for
Ctrl-C, ``Terminated`` for SIGTERM, which farms, Ray and ``kill`` send), so
the library's cleanup runs as for any error: encoders are killed, temporary
files removed, finished frames and the optimiser's memory kept for the same
command to resume. A second Ctrl-C while that cleanup runs is ignored: a
double press used to land inside the cleanup and end the process with a
traceback or an abort instead of one line. Signals are Python's to handle
in the main thread only; elsewhere (a command run from another thread) the
handlers are left alone.
"""

from __future__ import annotations

import signal
import threading

EXIT_INTERRUPTED = 130
EXIT_TERMINATED = 143   # 128 + SIGTERM, what shells report for a process SIGTERM ended


class Terminated(KeyboardInterrupt):
    """SIGTERM, raised where the process is, so cleanup runs as for Ctrl-C."""


class Stopping:
    """Context manager: the signal handling of one command (see the module doc)."""

    def __init__(self, exiting: bool = False) -> None:
        # exiting: the process ends with the command (the console script), so on the way out the
        # signals stay ignored instead of going back to Python's handler: a second Ctrl-C landing
        # between the two would end the process by the signal after its one line was printed.
        self.exiting = exiting
        self.stopping = False
        self._previous: dict[int, object] = {}

    def _handle(self, signum, frame) -> None:
        if self.stopping:
            return   # the run is already stopping: let its cleanup finish
        self.stopping = True
        raise Terminated() if signum == signal.SIGTERM else KeyboardInterrupt()

    def __enter__(self) -> "Stopping":
        if threading.current_thread() is threading.main_thread():
            for signum in (signal.SIGINT, signal.SIGTERM):
                self._previous[signum] = signal.signal(signum, self._handle)
        return self

    def __exit__(self, *exc) -> None:
        if self.exiting:
            self.ignore_from_now()
            return
        for signum, previous in self._previous.items():
            signal.signal(signum, previous)

    @staticmethod
    def ignore_from_now() -> None:
        """Ignore Ctrl-C and SIGTERM until the process exits (it is exiting: nothing is left to stop)."""
        if threading.current_thread() is threading.main_thread():
            for signum in (signal.SIGINT, signal.SIGTERM):
                signal.signal(signum, signal.SIG_IGN)


__all__ = ["EXIT_INTERRUPTED", "EXIT_TERMINATED", "Stopping", "Terminated"]
