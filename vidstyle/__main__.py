"""``python -m vidstyle ...``: the command line (the same as the ``vidstyle`` command)."""

from .cli import run

run()
