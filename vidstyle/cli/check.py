"""``vidstyle check``: how much a stylised clip flickers, and how stylised it is."""

from __future__ import annotations

import json
from pathlib import Path
from typing import List, Optional

import typer

from .. import metrics
from .app import app, frame_progress, reported_errors
from .options import DEFAULTS, VIDEO_DEFAULTS, parse_cuts


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
    cuts: str = typer.Option(VIDEO_DEFAULTS.cuts, "--cuts",
                             help="Scene cuts, as given to the render: auto (detected), none, or frame numbers like "
                                  "120,348; pairs across a cut are left out."),
    device: str = typer.Option(DEFAULTS.device, "--device", help="auto, cpu, cuda, cuda:N or mps."),
    quiet: bool = typer.Option(False, "--quiet", "-q", help="No progress bar."),
) -> None:
    """Measure a stylised clip: flicker (E_warp against the source's own), style and content loss.

    E_warp (Lai et al. 2018) uses Farneback flow on the source frames, not the
    DIS flow vidstyle stylises with. Frames are compared at STYLED's size.
    """
    with reported_errors():
        options = metrics.YARDSTICK.replace(device=device)
        with frame_progress(quiet or as_json, "checking") as callback:
            report = metrics.check(str(source), str(styled), [str(p) for p in style] if style else None,
                                   options, callback=callback, cuts=parse_cuts(cuts))
    if as_json:
        typer.echo(json.dumps(report.to_json(), indent=1))
        return
    typer.echo(check_table(report))


def check_table(r) -> str:
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


__all__ = ["check", "check_table"]
