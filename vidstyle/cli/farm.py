"""``vidstyle plan`` (a clip split into chunks for a render farm) and ``vidstyle assemble`` (the film from them)."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Optional

import typer

from .. import assemble as assembling
from .. import chunks as chunking
from ..options import DEFAULT_CHUNK_SIZE, VideoOptions
from ..sequences import parse_frames
from .app import app, frame_progress, reported_errors
from .options import VIDEO_DEFAULTS, StyleAt, StyleFade, StyleTrackFile, parse_cuts, parse_fps, style_track


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
    style_at: StyleAt = None,
    style_track_file: StyleTrackFile = None,
    style_fade: StyleFade = None,
) -> None:
    """Split INPUT into frame-range chunks for a render farm: they start at scene cuts where they can.

    Each chunk is an ordinary command: `vidstyle INPUT STYLE -o OUT.####.png --frames FIRST-LAST`
    (it renders its warm-up frames itself). Then `vidstyle assemble` builds the film.
    """
    with reported_errors():
        video = VideoOptions(warmup=warmup, cuts=parse_cuts(cuts),
                             frames=None if frames is None else tuple(parse_frames(frames)),
                             **style_track(style_at, style_track_file, style_fade))
        to_file = None if as_json is None or str(as_json) == "-" else str(as_json)
        with frame_progress(quiet or str(as_json) == "-", "finding scene cuts") as callback:
            result = chunking.plan(str(content), chunk_size, video, callback=callback, json_path=to_file)
        data = result.to_json()
    if as_json is not None and str(as_json) == "-":
        typer.echo(json.dumps(data, indent=1))
        return
    typer.echo(f"{len(result.numbers)} frames ({result.numbers[0]}-{result.numbers[-1]}), "
               f"{len(result.shots)} shot(s), {len(result.chunks)} chunk(s) of at most {chunk_size}:")
    typed = bool(video.style_keys)
    typer.echo(f"{'chunk':>5}  {'--frames':<15} {'frames':>6}  {'warm-up':>7}  {'starts at':<13}"
               + ("  styles (from the warm-up on)" if typed else ""))
    for c in result.chunks:
        typer.echo(f"{c.index:>5}  {c.frames:<15} {c.count:>6}  {c.warmup:>7}  "
                   f"{'scene cut' if c.starts_at_cut else 'inside a shot':<13}" + (f"  {c.styles}" if typed else ""))


@app.command("assemble", no_args_is_help=True)
def assemble(
    frames_pattern: Path = typer.Argument(..., help="The rendered frames: OUT.####.png (or %04d).",
                                          show_default=False),
    output: Path = typer.Option(..., "-o", "--output", help="The video to write (.mp4 or .mov).",
                                show_default=False),
    audio_from: Optional[Path] = typer.Option(None, "--audio-from", show_default=False,
                                              help="The source: its sound, its frame times, and the frames the film "
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
    with reported_errors() as said:
        made = assembling.assemble(
            str(frames_pattern), str(output), audio_from=None if audio_from is None else str(audio_from),
            fps=parse_fps(fps), codec=codec, crf=crf, frames=None if frames is None else parse_frames(frames),
            overwrite=overwrite)
        said.warnings(made.warnings)
    if not quiet:
        typer.echo(made.output)



__all__ = ["assemble", "plan"]
