"""``vidstyle stylize`` (the default command: ``vidstyle IN STYLE``) and ``vidstyle pipe``."""

from __future__ import annotations

import os
import sys
from pathlib import Path
from typing import Optional

import typer

from .. import jobs
from .. import pipe as pipe_step
from ..errors import ConfigError, VidstyleError
from ..options import DEFAULT_CHUNK_SIZE, DEFAULT_RETRIES
from ..sequences import parse_frames
from .app import (DEFAULT_COMMAND, app, frame_progress, progress_bar, reported_errors, video_progress,
                  warn_before_work)
from .options import (VIDEO_DEFAULTS, Quiet, StyleAt, StyleFade, Styles, StyleTrackFile, only_given, options_from,
                      parse_fps, style_track, styles_given, stylising)

VIDEO_PANEL = "Video"


@app.command(DEFAULT_COMMAND, no_args_is_help=True)
@stylising
def stylize(
    content: Path = typer.Argument(..., help="Content: an image, a video, a folder of images or a sequence "
                                             "pattern (shot.####.png, shot.%04d.png, shot.1001-1100#.exr).",
                                   show_default=False),
    styles: Styles = None,
    output: Optional[Path] = typer.Option(None, "-o", "--output",
                                          help="Output: an image (.png .jpg .tif .exr ...), a video (.mp4 .mov) "
                                               "or a sequence (OUT.####.png, OUT.%04d.exr). (default: "
                                               "CONTENT_stylized.png or .mp4 beside CONTENT)",
                                          show_default=False),
    overwrite: bool = typer.Option(False, "--overwrite", help="Replace an existing output."),
    quiet: Quiet = False,
    frames: Optional[str] = typer.Option(None, "--frames", rich_help_panel=VIDEO_PANEL, show_default=False,
                                         help="Frames to render, e.g. 1001-1100 (sequence numbers; video "
                                              "frames count from 0). (default: all)"),
    fps: Optional[str] = typer.Option(None, "--fps", rich_help_panel=VIDEO_PANEL, show_default=False,
                                      help="Output frame rate, e.g. 24 or 30000/1001. (default: the input's)"),
    crf: Optional[int] = typer.Option(None, "--crf", rich_help_panel=VIDEO_PANEL, show_default=False,
                                      help=f"H.264 quality: 0 lossless .. 51; lower is better. "
                                           f"(default: {VIDEO_DEFAULTS.crf})"),
    codec: Optional[str] = typer.Option(None, "--codec", rich_help_panel=VIDEO_PANEL, show_default=False,
                                        help="h264 (4:2:0, plays everywhere), h264-444 (keeps every stroke; not "
                                             "for browsers/QuickTime), prores (422 HQ, .mov) or prores4444 "
                                             f"(.mov). (default: {VIDEO_DEFAULTS.codec})"),
    report: Optional[Path] = typer.Option(None, "--report", rich_help_panel=VIDEO_PANEL, show_default=False,
                                          help="Write a JSON record per frame (time, iterations, losses, shot "
                                               "starts, reliable pixels) and the warnings."),
    warmup: Optional[int] = typer.Option(None, "--warmup", rich_help_panel=VIDEO_PANEL, show_default=False,
                                         help="With --frames starting inside a shot: frames rendered before it "
                                              "and not kept, so a farm chunk does not pop. "
                                              f"(default: {VIDEO_DEFAULTS.warmup})"),
    colorspace: Optional[str] = typer.Option(None, "--colorspace", rich_help_panel="Plate", show_default=False,
                                             metavar="NAME",
                                             help="The input's OCIO colour space, e.g. ACEScg, 'Linear Rec.709 "
                                                  "(sRGB)', 'sRGB Encoded Rec.709 (sRGB)' ($OCIO's config, else "
                                                  "OCIO's built-in ACES studio config); the output is written "
                                                  "back in it. (default: scene-linear Rec.709 for EXR, sRGB for "
                                                  "the rest)"),
    mask: Optional[list[Path]] = typer.Option(None, "--mask", rich_help_panel="Plate", show_default=False,
                                              metavar="PATH",
                                              help="A matte per style (repeat it; the k-th for the k-th style): a "
                                                   "grey image or an RGBA image's alpha, one still for every frame "
                                                   "or a sequence/video matched frame by frame. Each style paints "
                                                   "only its region; where no matte reaches, the output is the "
                                                   "plate."),
    accept_damaged: bool = typer.Option(False, "--accept-damaged", rich_help_panel=VIDEO_PANEL,
                                        help="Render the frames of a damaged or truncated video that decode "
                                             "(a warning names what is missing) instead of refusing it."),
    style_at: StyleAt = None,
    style_track_file: StyleTrackFile = None,
    style_fade: StyleFade = None,
    ray: Optional[str] = typer.Option(None, "--ray", rich_help_panel="Cluster", show_default=False,
                                      help="Render chunks as Ray tasks: --ray alone on this machine, --ray auto "
                                           "or --ray HOST:6379 / ray://HOST:10001 on a cluster. Needs "
                                           "pip install 'vidstyle\\[ray]'."),
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
    with reported_errors() as said:
        clip_only = {"--warm-start": shared["warm_start"], "--warm-iterations": shared["warm_iterations"],
                     "--temporal-weight": shared["temporal_weight"], "--frames": frames, "--cuts": shared["cuts"],
                     "--fps": fps, "--crf": crf, "--codec": codec, "--report": report, "--warmup": warmup,
                     "--accept-damaged": accept_damaged or None, "--ray": ray, "--chunk-size": chunk_size,
                     "--retries": retries, "--style-at": style_at or None, "--style-track": style_track_file,
                     "--style-fade": style_fade}
        kind = jobs.kind_of(content)
        if kind is jobs.Kind.STILL:
            given = [name for name, value in clip_only.items() if value is not None]
            if given:
                raise ConfigError(f"{', '.join(given)} appl{'ies' if len(given) == 1 else 'y'} to videos and "
                                  f"sequences, not to a still image: leave {'it' if len(given) == 1 else 'them'} out")
        options, video = options_from(shared)
        video = video.replace(**only_given(colorspace=colorspace,
                                           masks=tuple(str(m) for m in mask) if mask else None))
        track = style_track(style_at, style_track_file, style_fade)
        style_paths = styles_given(styles, track)
        if kind is not jobs.Kind.STILL:
            video = video.replace(**track)
            video = video.replace(**only_given(frames=None if frames is None else tuple(parse_frames(frames)),
                                               fps=parse_fps(fps), crf=crf, codec=codec, warmup=warmup,
                                               accept_damaged=accept_damaged or None))
        warn_before_work(options)
        bar = progress_bar(quiet) if kind is jobs.Kind.STILL else video_progress(quiet)
        with bar as callback:
            result = jobs.run(content, style_paths, output, options, video, ray=ray,
                              chunk_size=chunk_size, retries=retries, overwrite=overwrite,
                              report=None if report is None else str(report), image_callback=callback,
                              clip_callback=callback)
        said.warnings(result.warnings)
    if not quiet:
        typer.echo(result.output)


@app.command("pipe", no_args_is_help=True)
@stylising
def pipe(
    styles: Styles = None,
    frame_size: str = typer.Option(..., "--frame-size", show_default=False,
                                   help="Geometry of the raw frames on stdin (and stdout): WIDTHxHEIGHT."),
    pix_fmt: str = typer.Option("rgb24", "--pix-fmt", help="rgb24, bgr24, rgb48le (16 bit); with alpha, passed "
                                                           "through unchanged: rgba, bgra, rgba64le (16 bit)."),
    quiet: Quiet = False,
    style_at: StyleAt = None,
    style_track_file: StyleTrackFile = None,
    style_fade: StyleFade = None,
    shared: dict = None,
) -> None:
    """Stylise raw video frames from stdin to stdout, one out for one in: a step between two ffmpeg processes.

    ffmpeg -i in.mov -f rawvideo -pix_fmt rgb24 - | vidstyle pipe style.jpg --frame-size 1920x1080 |
    ffmpeg -f rawvideo -pix_fmt rgb24 -s 1920x1080 -r 24 -i - out.mov

    Frames are stylised at --size (the preset's; 'full' for the frame's own) and written back at the
    stream's geometry. Progress and errors go to stderr.
    """
    with reported_errors():
        options, video = options_from(shared)
        track = style_track(style_at, style_track_file, style_fade)   # frames numbered from 0, as they come
        style_paths = styles_given(styles, track)
        video = video.replace(**track)
        if isinstance(video.cuts, tuple):
            raise ConfigError("--cuts takes auto or none in a pipe (a stream has no frame numbers)")
        fmt = pipe_step.StreamFormat.parse(frame_size, pix_fmt)
        if sys.stdout is None or sys.stdin is None:
            raise ConfigError("vidstyle pipe reads raw frames from stdin and writes them to stdout, but "
                              f"{'stdout' if sys.stdout is None else 'stdin'} is closed: connect both to ffmpeg")
        if sys.stdin.isatty():
            raise ConfigError("vidstyle pipe reads raw frames from stdin: pipe ffmpeg into it "
                              "(ffmpeg -i IN -f rawvideo -pix_fmt rgb24 - | vidstyle pipe ...)")
        warn_before_work(options)
        with frame_progress(quiet, "stylising") as progress:
            callback = None if progress is None else (lambda done, p: progress(done))
            try:
                pipe_step.stylize_stream(sys.stdin.buffer, sys.stdout.buffer, fmt, style_paths,
                                         options, video, callback=callback)
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


__all__ = ["pipe", "stylize"]
