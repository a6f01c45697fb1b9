"""The ``vidstyle`` command line: a thin typer layer over the library.

It parses options (their defaults come from ``vidstyle.options``), draws
progress on a terminal, and turns the library's exceptions into one line on
stderr and an exit code:

    0 done · 1 other vidstyle error · 2 bad option or value · 3 bad input file
    4 output cannot be written (or another run holds it) · 130 interrupted (Ctrl-C)
    143 terminated (SIGTERM)

One module per command (``stylize.py``: stylize and pipe; ``farm.py``: plan
and assemble; ``check.py``), the options they share in ``options.py``, the
app, its errors and its progress bars in ``app.py``. This module is light:
``main`` takes over Ctrl-C and SIGTERM first (``stop.py``) and imports the
rest (torch, the library) only then, so a Ctrl-C at any moment ends in one
line.
"""

from __future__ import annotations

import os
import sys
from typing import Optional

from .stop import EXIT_INTERRUPTED, EXIT_TERMINATED, Stopping, Terminated

# Set when a signal stopped the start-up (the import of torch and the library): see ``run``.
_stopped_while_starting = False


def main(argv: Optional[list[str]] = None, *, exiting: bool = False) -> int:
    """Run the CLI on ``argv`` (default: sys.argv[1:]); return the exit code.

    ``exiting``: the process ends after this (``run``): signals stay ignored on the way out.
    """
    with Stopping(exiting):
        try:
            from .app import app  # torch and the library load here, under our signal handling
            app(args=argv, prog_name="vidstyle")
        except SystemExit as exc:
            return exc.code if isinstance(exc.code, int) else (0 if exc.code is None else 1)
        except KeyboardInterrupt as exc:   # before the command's own error handling was set up
            global _stopped_while_starting
            _stopped_while_starting = True
            terminated = isinstance(exc, Terminated)
            print(f"vidstyle: error: {'terminated (SIGTERM)' if terminated else 'interrupted'} while starting",
                  file=sys.stderr)
            return EXIT_TERMINATED if terminated else EXIT_INTERRUPTED
    return 0


def run() -> None:
    """Console-script entry point: ``main``, then exit with its code (a late Ctrl-C changes nothing).

    A start-up stopped by a signal ends with ``os._exit``: its one line was
    printed and nothing had begun that needs cleaning up. Under load such a
    process was once seen to print its line and then die by SIGINT (exit -2,
    tests/test_faults.py::test_a_double_ctrl_c_ends_in_one_line_every_time,
    session 17; not reproduced in 45 tries by hand). SIGINT is ignored by
    then, so only CPython itself can have done it: at exit it re-raises
    SIGINT with the default action when it believes a KeyboardInterrupt went
    unhandled (bpo-1054041), a belief an interrupt inside the half-done
    import can leave behind. ``os._exit`` skips that teardown.
    """
    code = main(exiting=True)
    if _stopped_while_starting:
        sys.stdout.flush()
        sys.stderr.flush()
        os._exit(code)
    sys.exit(code)


__all__ = ["main", "run"]
