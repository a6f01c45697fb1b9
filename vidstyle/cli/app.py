"""The typer app: its default command, the --ray address rule, one-line errors and progress bars."""

from __future__ import annotations

import re
import sys

import typer
from typer.core import TyperGroup

from .. import __version__
from ..errors import VidstyleError
from .stop import EXIT_INTERRUPTED, EXIT_TERMINATED, Terminated

DEFAULT_COMMAND = "stylize"


class _DefaultCommandGroup(TyperGroup):
    """``vidstyle CONTENT STYLE`` runs ``vidstyle stylize CONTENT STYLE``.

    Any first argument that is not a command name (a file, an option) is
    handed to the default command, so the short form users type works while
    later commands can sit beside it.
    """

    def parse_args(self, ctx: typer.Context, args: list[str]) -> list[str]:
        if args and args[0] not in self.commands and args[0] not in ("--version", "--help", "-h"):
            args = [DEFAULT_COMMAND, *args]
        return super().parse_args(ctx, ray_address_optional(args))


def ray_address_optional(args: list[str]) -> list[str]:
    """``--ray`` alone means a local Ray: give it the value ``local`` unless an address follows.

    An address is ``auto``, ``local``, ``ray://HOST:PORT`` or ``HOST:PORT``,
    so ``vidstyle --ray in.mp4 style.jpg`` does not take in.mp4 for one.
    """
    out = []
    for i, arg in enumerate(args):
        if arg == "--ray":
            following = args[i + 1] if i + 1 < len(args) else ""
            if not re.fullmatch(r"auto|local|\w+://\S+|[\w.\-]+:\d+", following):
                arg = "--ray=local"
        out.append(arg)
    return out


app = typer.Typer(cls=_DefaultCommandGroup, add_completion=False, pretty_exceptions_enable=False,
                  context_settings={"help_option_names": ["-h", "--help"]})


def _version(value: bool) -> None:
    if value:
        typer.echo(f"vidstyle {__version__}")
        raise typer.Exit()


@app.callback()
def _root(version: bool = typer.Option(False, "--version", callback=_version, is_eager=True,
                                       help="Print the version and exit.")) -> None:
    """Neural style transfer (Gatys et al. 2016) for images and video."""


def fail(message: str) -> None:
    print(f"vidstyle: error: {message}", file=sys.stderr)


def warn_before_work(options) -> None:
    """The warnings a user must read before a long run starts, not after it (``engine.precision_note``)."""
    from ..engine import precision_note   # here, not at the top: `vidstyle --help` does not load torch
    reported_errors.warnings([note for note in [precision_note(options.precision, options.device)] if note])


class reported_errors:
    """Turn the library's exceptions, Ctrl-C and SIGTERM into one line and an exit code.

    Wraps a command's body, and also the building of its options (ConfigError
    from StyleOptions), so no traceback reaches a user. ``warnings()`` prints
    what the library accepted but a user must hear of (``--accept-damaged``).
    """

    def __enter__(self):
        return self

    @staticmethod
    def warnings(lines: list[str]) -> None:
        for line in lines:
            print(f"vidstyle: warning: {line}", file=sys.stderr)

    def __exit__(self, kind, exc, tb):
        if isinstance(exc, VidstyleError):
            fail(str(exc))
            raise typer.Exit(exc.exit_code)
        if isinstance(exc, Terminated):
            fail("terminated (SIGTERM): no partial file was left; for a video or sequence, finished frames "
                 "are kept and the same command resumes")
            raise typer.Exit(EXIT_TERMINATED)
        if isinstance(exc, KeyboardInterrupt):
            fail("interrupted: no partial file was left; for a video or sequence, finished frames are "
                 "kept and the same command resumes")
            raise typer.Exit(EXIT_INTERRUPTED)
        return False


class progress_bar:
    """Context manager giving a progress callback: a rich bar on a terminal, else nothing.

    A bar is drawn only when stderr is a terminal, so logs of pipelines and
    render farms do not fill with control characters.
    """

    def __init__(self, quiet: bool):
        self.enabled = not quiet and sys.stderr.isatty()
        self.bar = None

    def __enter__(self):
        if not self.enabled:
            return None
        from rich.console import Console
        from rich.progress import BarColumn, Progress, TextColumn, TimeElapsedColumn, TimeRemainingColumn
        self.bar = Progress(TextColumn("{task.description}"), BarColumn(),
                            TextColumn("{task.fields[count]}"), TextColumn("{task.fields[status]}"),
                            TimeElapsedColumn(), TextColumn("ETA"), TimeRemainingColumn(),
                            console=Console(stderr=True), transient=True)
        self.bar.__enter__()
        self.task = self.bar.add_task("stylising", total=None, count="", status="")
        return self.update

    def update(self, p) -> None:
        """``p``: the engine's ``Progress`` (one iteration of a still)."""
        self.bar.update(self.task, completed=p.iteration, total=p.max_iterations,
                        count=f"{p.iteration}/{p.max_iterations}", status=f"loss {p.loss:.4f}",
                        description=f"stylising {p.width}x{p.height}")

    def __exit__(self, *exc) -> None:
        if self.bar is not None:
            self.bar.__exit__(*exc)


class frame_progress(progress_bar):
    """Frames done out of total, for commands called back with (done, total)."""

    def __init__(self, quiet: bool, description: str):
        super().__init__(quiet)
        self.description = description

    def update(self, done: int, total: int | None = None) -> None:
        count = f"{done} frames" if total is None else f"{done}/{total} frames"
        self.bar.update(self.task, completed=done, total=total, count=count, description=self.description)


class video_progress(progress_bar):
    """Frames done / total, the current frame's iteration and loss, and the ETA."""

    def update(self, p) -> None:
        """``p``: a ``VideoProgress``."""
        it = p.iteration
        partial = 0.0 if it is None else it.iteration / max(1, it.max_iterations)
        status = "" if it is None else f"frame {p.frame_number}{' (new shot)' if p.shot_start else ''} " \
                                       f"it {it.iteration}/{it.max_iterations} loss {it.loss:.4f}"
        self.bar.update(self.task, completed=p.frames_done + partial, total=p.frames_total,
                        count=f"{p.frames_done}/{p.frames_total} frames", status=status, description="stylising")


# The commands register themselves on ``app`` (imported last: they import it).
from . import check, farm, stylize  # noqa: E402,F401
