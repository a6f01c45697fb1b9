"""Run vidstyle's command line from a checkout: ``python cli.py IN STYLE ...``.

The command line lives in the package (``vidstyle/cli/``); installed, it is
the ``vidstyle`` command (or ``python -m vidstyle``). This file only lets a
checkout run it without installing.
"""

from vidstyle.cli import main, run

if __name__ == "__main__":
    run()

__all__ = ["main", "run"]
