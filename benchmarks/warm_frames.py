"""Warm-start rules on several clips: a warm frame's cost, its style, and the detail it paints where content appears.

    python benchmarks/warm_frames.py [--size 192] [--frames 24] [--clips ...] [--candidates ...]
                                     [--padding zeros|reflect|replicate|reflect-first|margin] [--pooling max|avg]
                                     [--pan-step DX DY] [--trace] [--out benchmarks/WARM_FRAMES.md]

Each candidate is a warm-start rule object (vidstyle.warmstart: the rule
``--warm-start flow`` uses, and variants of its settings), run in-process
through ``FrameStylizer`` with the default preset at ``--size``, on:

* ``bunny``: the first ``--frames`` frames of bigbuckbunny.mp4 (the bunny
  leaves its burrow: new fur appears);
* ``carphone``: the first frames of carphone_pristine.mp4 (a talking head
  in a moving car, scenery passing the window);
* ``pan``: made here from Big Buck Bunny frame 50: a camera panning across
  it while a textured disc crosses the picture (camera motion, occlusion,
  and content revealed at the border and behind the disc);
* ``zoom`` and ``pan-bare`` (only with ``--clips``): the same pan zooming
  in by 1% a frame, and the pan without the disc (camera motion alone).

With max pooling (VGG as trained, the default until session 13) no rule
held on the pan: its warm frames never settled within 16 iterations and
lost style. The default now (average pooling, plateau 0.6%, at most 11
iterations) holds on all three (docs/DEVELOPING.md, "Warm frames", lists
what was tried: the ``probe`` candidates below; ``--pooling max`` runs the
network of before). The measure stays VGG's max pooling
(``metrics.YARDSTICK``), whatever the stylising network.

Every candidate of a clip goes on from one shared first frame (its output
and the optimiser's memory), so the table compares warm frames only.
Against the same frames stylised each on its own (``--warm-start none``):

* warm frame cost: the median warm frame's VGG-19 forward+backward passes
  (its iterations, plus a third of a pass for its content targets; target
  <= 12);
* style: the style loss (vidstyle check's, weight 1, fp32) of the middle and
  the last frame, warm over independent (target <= 1.05 each); beside it the
  same with the features of a 16 px border band left out, and by the
  network that painted them (its own padding and pooling);
* revealed detail: the high-frequency energy (variance of the Laplacian of
  the grey image) of the last frame over the pixels the flow could not bring
  from the frame before, in any of the last 4 frames (Ruder's reliability
  mask 0: disoccluded, on a motion boundary, or from outside the frame),
  warm over independent (target >= 0.9);
* E_warp of the warm frames over the source clip's own (1 is the floor).

A rule is kept only if it meets the targets on every clip.
Needs ../shared/data (or --bunny/--carphone/--style).
"""

from __future__ import annotations

import argparse
import os
import statistics
import sys
import time
from dataclasses import dataclass

import cv2
import numpy as np

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(HERE)
sys.path.insert(0, ROOT)
sys.path.insert(0, HERE)

import torch  # noqa: E402

from suite import SHARED, cpu_name, out_option, publish  # noqa: E402
from vidstyle import FrameStylizer, StyleOptions, VideoOptions, images, metrics  # noqa: E402
from vidstyle.flow import FlowEstimator, reliability, warp  # noqa: E402
from vidstyle.lbfgs import CURVATURE_EPS, Memory  # noqa: E402
from vidstyle.sources import open_source  # noqa: E402
from vidstyle.vgg import min_side  # noqa: E402
from vidstyle.warmstart import Carry, Flow, Previous  # noqa: E402



@dataclass(frozen=True)
class LanczosFlow(Flow):
    """Probe (CPU only): the warm start warped with Lanczos (8x8) instead of bicubic: does resampling blur matter?"""

    def warp(self, output, src, device):
        warped = warp(output, src.backward, interpolation=cv2.INTER_LANCZOS4, mirror=self.fill == "mirror")[0]
        return np.clip(warped, 0, 1)   # Lanczos rings past [0, 1] more than bicubic


@dataclass(frozen=True)
class NearestFlow(Flow):
    """Probe (CPU only): the warm start warped to the nearest pixel: the strokes' values moved, never resampled."""

    def warp(self, output, src, device):
        return warp(output, src.backward, interpolation=cv2.INTER_NEAREST, mirror=self.fill == "mirror")[0]


@dataclass(frozen=True)
class WarpedMemoryFlow(Flow):
    """Probe (CPU only): the carried L-BFGS pairs warped along the flow, as the image is (zero where revealed)."""

    def plan(self, src, carry, options, video, engine):
        memory = carry.memory
        if memory is not None and len(memory):
            h, w = src.backward.shape[:2]

            def moved(v: torch.Tensor) -> torch.Tensor:   # (3 h w,) channel-major, as lbfgs.py flattens
                image = v.cpu().numpy().reshape(3, h, w).transpose(1, 2, 0).copy()
                out, inside = warp(image, src.backward)
                out = np.where(inside[..., None], out, 0.0).transpose(2, 0, 1)
                return torch.from_numpy(np.ascontiguousarray(out, dtype=np.float32).reshape(-1)).to(v.device)

            pairs = [(moved(s), moved(y)) for s, y in zip(memory.steps, memory.changes)]
            pairs = [(s, y) for s, y in pairs if float(y.dot(s)) > CURVATURE_EPS]
            s, y = pairs[-1] if pairs else (None, None)
            memory = Memory(tuple(p[0] for p in pairs), tuple(p[1] for p in pairs),
                            float(y.dot(s) / y.dot(y))) if pairs else None
            carry = Carry(carry.output, memory)
        return super().plan(src, carry, options, video, engine)


@dataclass(frozen=True)
class AnchoredBorderFlow(Flow):
    """Probe (CPU only): near the frame's edge the warm start is the previous output where it was on screen.

    Within ``border`` px of the edge the start is the previous output not
    moved (ramping to the warped one over ``ramp`` px) and the temporal term
    leaves that band free: with VGG-19's zero padding the strokes along the
    border are part of the optimum (DEVELOPING.md, "Warm frames"), and a
    pan that moves them inward makes every warm frame repaint the band.
    """

    border: int = 8
    ramp: int = 8

    def plan(self, src, carry, options, video, engine):
        from vidstyle.schedule import Plan
        from vidstyle.terms import Temporal
        from vidstyle.warmstart import WarmPlan

        warped = self.warp(carry.output, src, engine.device)
        h, w = warped.shape[:2]
        yy, xx = np.mgrid[0:h, 0:w]
        edge = np.minimum(np.minimum(yy, h - 1 - yy), np.minimum(xx, w - 1 - xx)).astype(np.float32)
        inner = np.clip((edge - self.border + 1) / max(1, self.ramp), 0, 1)[..., None]
        start = (inner * warped + (1 - inner) * carry.output).astype(np.float32)
        mask = (src.mask * inner[..., 0]).astype(np.float32)
        held = Temporal(engine.tensor(warped), torch.from_numpy(mask)[None, None].to(engine.device),
                        video.temporal_weight, self.lowpass_px)
        return WarmPlan(Plan(init=start, terms=(held,), **self.budget(options, video, carry, src)),
                        float(mask.mean()))


@dataclass(frozen=True)
class CappedFlow(Flow):
    """Probe: the flow rule with at most ``cap`` iterations a warm frame (the standard preset's cap is 11)."""

    cap: int = 11

    def budget(self, options, video, carry, src=None):
        return super().budget(options, video.replace(warm_iterations=self.cap), carry, src)


@dataclass(frozen=True)
class CappedBorderFlow(CappedFlow, AnchoredBorderFlow):
    """Probe: ``AnchoredBorderFlow`` with at most ``cap`` iterations a warm frame."""


TARGETS = dict(passes=12, style=1.05, detail=0.9)
CLIPS = ["bunny", "carphone", "pan"]   # the clips a rule must hold on (issue #18)
# name -> (rule, what it tries)
CANDIDATES = {
    "flow (default)": (Flow(), f"temporal term low-passed 2 px at weight 100, plateau {Flow.plateau:.1%} over 3, "
                               "min 6, last 5 pairs carried, mirror fill, at most 11 iterations (the standard preset)"),
    "flow, session 12's default": (CappedFlow(cap=16, plateau=0.008, min_iterations=5),
                                   "the rule before session 13: plateau 0.8% over 3, min 5, at most 16 iterations "
                                   "(with --pooling max, the network of then)"),
    "flow, session 4's default": (Flow(lowpass_px=1.0, temporal_weight=200.0), "low-pass 1 px, temporal weight 200"),
    "flow, temporal 200": (Flow(temporal_weight=200.0), "twice the temporal weight"),
    "flow, low-pass 1 px": (Flow(lowpass_px=1.0), "the temporal term holds finer structure"),
    "flow, low-pass 3 px": (Flow(lowpass_px=3.0), "the temporal term holds coarser structure only"),
    "flow, no low-pass": (Flow(lowpass_px=0.0), "the temporal term holds every frequency"),
    "flow, memory not carried": (Flow(memory_pairs=0), "every warm frame's L-BFGS starts afresh"),
    "flow, 10 pairs": (Flow(memory_pairs=10), "the last 10 curvature pairs carried"),
    "flow, plateau 0.8%": (Flow(plateau=0.008, min_iterations=5), "stops sooner (session 12's plateau)"),
    "flow, plateau 0.4%": (Flow(plateau=0.004), "settles later (session 13's first plateau)"),
    "flow, temporal 0": (Flow(temporal_weight=0.0), "the warped start alone: nothing holds the picture to it"),
    "flow, temporal 30": (Flow(temporal_weight=30.0), "a third of the temporal weight"),
    "previous": (Previous(), "unwarped previous output, no temporal term"),
    "flow, Lanczos warp": (LanczosFlow(), "the start warped with Lanczos, not bicubic (probe, CPU only)"),
    "flow, nearest warp": (NearestFlow(), "the start warped to the nearest pixel, never resampled (probe, CPU only)"),
    "flow, content fill": (Flow(fill="content"), "what enters the frame starts as the source frame (sessions 4-7's "
                                                 "default), not the output mirrored"),
    "flow, edge fill": (Flow(fill="edge"), "what enters the frame starts as the output's edge pixels stretched "
                                           "(sessions 8-16's default), not mirrored"),
    "flow, border 8 anchored": (AnchoredBorderFlow(border=8, ramp=8), "within 8 px of the edge (ramp 8) the start is "
                                "the previous output unmoved, free of the temporal term (probe, CPU only)"),
    "flow, border 16 anchored": (AnchoredBorderFlow(border=16, ramp=8), "the same within 16 px (probe, CPU only)"),
    "flow, 12 iterations": (CappedFlow(cap=12), "the default with at most 12 iterations a warm frame (probe)"),
    "flow, 16 iterations": (CappedFlow(cap=16), "the default with session 12's cap, 16 (probe)"),
    "flow, border 8 anchored, 11 iterations": (CappedBorderFlow(border=8, ramp=8, cap=11),
                                               "border 8 anchored with at most 11 iterations (probe, CPU only)"),
    "flow, temporal 50": (Flow(temporal_weight=50.0), "half the temporal weight"),
    "flow, memory warped": (WarpedMemoryFlow(), "the carried curvature pairs warped along the flow (probe, CPU only)"),
}


def clip_frames(path: str, count: int) -> list[np.ndarray]:
    source = open_source(path)
    source.restrict(list(range(count)))
    source.check()
    return [f.pixels for f in source.frames()]


def pan_frames(path: str, count: int, zoom: float = 0.0, disc: bool = True,
               step: tuple[int, int] = (12, 3)) -> list[np.ndarray]:
    """A camera pan across frame 50 of ``path`` (``step`` px a frame right and down in the half-size view,
    zooming in by ``zoom`` a frame), a textured disc crossing in front."""
    source = open_source(path)
    source.restrict([50])
    source.check()
    still = next(iter(source.frames())).pixels
    h, w = still.shape[:2]
    out_h, out_w = h // 2, w // 2
    yy, xx = np.mgrid[0:out_h, 0:out_w]
    disc_texture = np.dstack([0.5 + 0.4 * np.sin(xx / 3.0), 0.5 + 0.4 * np.cos(yy / 4.0),
                              0.5 + 0.4 * np.sin((xx + yy) / 5.0)]).astype(np.float32)
    frames = []
    for i in range(count):
        scale = 1.0 + zoom * i
        cw, ch = int(out_w / scale), int(out_h / scale)
        x0 = int(40 + step[0] * i)
        y0 = int(60 + step[1] * i)
        view = cv2.resize(still[y0:y0 + ch, x0:x0 + cw], (out_w, out_h), interpolation=cv2.INTER_AREA)
        cx, cy, r = int(out_w * (0.85 - 0.03 * i)), int(out_h * 0.5), out_h // 4
        inside = (xx - cx) ** 2 + (yy - cy) ** 2 < r * r
        if disc:
            view[inside] = disc_texture[inside]
        frames.append(np.clip(view, 0, 1))
    return frames


def revealed_region(frames: list[np.ndarray], size: tuple[int, int], last: int = 4) -> np.ndarray:
    """(h, w) bool: pixels the flow could not bring from the frame before, in any of the last ``last`` frames."""
    flow = FlowEstimator()
    small = [images.resize(f, size) for f in frames[-last - 1:]]
    region = np.zeros(size, bool)
    for prev, cur in zip(small, small[1:]):
        region |= reliability(flow(cur, prev), flow(prev, cur)) == 0
    return region


def detail(image: np.ndarray, region: np.ndarray) -> float:
    grey = cv2.cvtColor(images.quantise(image, 8), cv2.COLOR_BGR2GRAY).astype(np.float64)
    return float(cv2.Laplacian(grey, cv2.CV_64F)[region].var())


MARGIN = 16   # px of reflected image around the picture for --padding margin (a multiple of relu5_1's stride)


def with_margin(net: torch.nn.Module, margin: int = MARGIN) -> None:
    """Probe: ``net`` sees its image (B, 3, H, W) with ``margin`` px reflected around it, and returns the
    features of the picture alone (B, C, H_l, W_l), as without the margin: VGG's zero padding then lies
    ``margin`` px outside the picture, so its border is not a black frame the optimum paints against,
    and no layer keeps padded copies (reflect padding in every convolution does: +37% memory)."""
    forward = net.forward

    def forward_with_margin(image: torch.Tensor, layers) -> dict[str, torch.Tensor]:
        return cropped(forward(torch.nn.functional.pad(image, (margin,) * 4, mode="reflect"), layers), margin)

    net.forward = forward_with_margin


def cropped(features: dict[str, torch.Tensor], band: int) -> dict[str, torch.Tensor]:
    """Each layer's (B, C, H_l, W_l) features without the positions within ``band`` image px of the border."""
    out = {}
    for name, f in features.items():
        m = band // min_side([name])   # a relu/conv layer's stride: 2 per pooling before it
        out[name] = f[..., m:f.shape[-2] - m, m:f.shape[-1] - m]
    return out


def interior(measure, band: int = MARGIN):
    """Probe measure: ``measure`` (a judge) reading only the features of the picture's interior, a band of
    ``band`` px along the border left out: where VGG's zero padding shapes the optimum (docs/DEVELOPING.md,
    "Warm frames", session 8), so a padding-neutral yardstick. Style targets made before are kept whole."""
    for net in measure.nets:
        def inner(image, layers, forward=net.forward):
            return cropped(forward(image, layers), band)
        net.forward = inner
    return measure


def padded(stylizer: FrameStylizer, mode: str) -> FrameStylizer:
    """Probe: ``stylizer``'s VGG-19 convolutions padded by ``mode`` ("zeros": VGG's own; "reflect",
    "replicate": the border is no longer a black frame the optimum paints strokes against; "margin":
    the image itself reflected ``MARGIN`` px outward, the convolutions' padding left as VGG's)."""
    for net in getattr(stylizer, "engine", stylizer).nets:   # a FrameStylizer or a judge (an engine)
        if mode == "margin":
            with_margin(net)
            continue
        convs = [m for m in net.modules() if isinstance(m, torch.nn.Conv2d)]
        for m in convs[:1] if mode == "reflect-first" else convs:   # "reflect-first": conv1_1 alone
            m.padding_mode = mode.removesuffix("-first")
    return stylizer


def traced(name: str, label: str, n: int, steps: list) -> None:
    """Print a warm frame's trace: each term at its first and last iteration, and the total's fall."""
    first, last = steps[0], steps[-1]
    terms = ", ".join(f"{k} {first.losses[k]:.4g}->{last.losses[k]:.4g}" for k in first.losses)
    print(f"trace {name} {label} frame {n}: {len(steps)} its, loss {first.loss:.4g}->{last.loss:.4g} "
          f"(last 3: -{100 * (1 - last.loss / steps[max(0, len(steps) - 4)].loss):.2f}%); {terms}", flush=True)


def run_clip(name: str, frames: list[np.ndarray], style: np.ndarray, options: StyleOptions,
             candidates: dict, padding: str = "zeros", trace: bool = False) -> list[dict]:
    video = VideoOptions(cuts="none")
    checked = [len(frames) // 2, len(frames) - 1]
    measure = metrics.judge([style])   # the measure keeps VGG's zero padding whatever --padding says
    # and, beside it, the stylising network's own (the same when it is VGG's zero padding and max pooling)
    own = (measure if padding == "zeros" and options.pooling == "max"
           else padded(metrics.judge([style], options), padding))
    inside = metrics.judge([style])
    began = time.perf_counter()
    first = padded(FrameStylizer(style, options, video), padding)
    first_out = first.process(frames[0])
    shared_memory = first.memory
    alone = padded(FrameStylizer(style, options, video.replace(warm_start="none")), padding)
    independent = {n: alone.process(frames[n], n) for n in checked}   # frame numbers jump: each a shot
    size = first_out.shape[:2]
    metrics.frame_losses(inside, first_out, frames[0])   # its style targets, from the whole style image
    interior(inside)
    region = revealed_region(frames, size)
    rows = []
    for label, (rule, _) in candidates.items():
        stylizer = padded(FrameStylizer(style, options, video, rule=rule), padding)
        stylizer.prime(stylizer.analyse(frames[0], 0), first_out, shared_memory)
        outs, iterations = [first_out], []
        for n in range(1, len(frames)):
            steps: list = []
            outs.append(stylizer.process(frames[n], n, callback=steps.append if trace else None))
            iterations.append(stylizer.record.iterations)
            if trace:
                traced(name, label, n, steps)
        sources = [images.resize(f, size) for f in frames]
        ewarp, floor = metrics.warping_error(outs, sources), metrics.warping_error(sources, sources)
        style_ratios = [metrics.frame_losses(measure, outs[n], frames[n])["style"]
                        / metrics.frame_losses(measure, independent[n], frames[n])["style"] for n in checked]
        own_ratios = style_ratios if own is measure else [
            metrics.frame_losses(own, outs[n], frames[n])["style"]
            / metrics.frame_losses(own, independent[n], frames[n])["style"] for n in checked]
        inner_ratios = [metrics.frame_losses(inside, outs[n], frames[n])["style"]
                        / metrics.frame_losses(inside, independent[n], frames[n])["style"] for n in checked]
        big_enough = region.sum() >= 200
        row = dict(clip=name, rule=label, passes=statistics.median(iterations) + 1 / 3,
                   style=style_ratios, interior=inner_ratios, own=own_ratios, checked=checked,
                   detail=detail(outs[-1], region) / detail(independent[checked[-1]], region) if big_enough else None,
                   region=float(region.mean()), ewarp=ewarp / floor if floor else None)
        rows.append(row)
        print(name, label, {k: v for k, v in row.items() if k not in ("clip", "rule")}, flush=True)
    print(name, f"{(time.perf_counter() - began) / 60:.1f} min", flush=True)
    return rows


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--bunny", default=os.path.join(SHARED, "clips", "bigbuckbunny.mp4"))
    ap.add_argument("--carphone", default=os.path.join(SHARED, "clips", "carphone_pristine.mp4"))
    ap.add_argument("--style", default=os.path.join(SHARED, "styles", "starry_night.jpg"))
    ap.add_argument("--size", type=int, default=192)
    ap.add_argument("--frames", type=int, default=24)
    ap.add_argument("--candidates", nargs="+", default=list(CANDIDATES), choices=list(CANDIDATES), metavar="NAME",
                    help="which rules to run (default: all)")
    ap.add_argument("--clips", nargs="+", default=CLIPS, choices=CLIPS + ["zoom", "pan-bare"],
                    help="zoom: the pan zooming in 1%% a frame, a harder case than the three the rule must hold on")
    ap.add_argument("--padding", default="zeros", choices=["zeros", "reflect", "replicate", "reflect-first", "margin"],
                    help="probe: the stylising network's convolutions padded so (first and independent frames "
                         "too); reflect-first: conv1_1 alone reflected")
    ap.add_argument("--pooling", default=StyleOptions().pooling, choices=["max", "avg"],
                    help="the stylising network's pooling (default: the library's; the measure keeps VGG's "
                         "max pooling)")
    ap.add_argument("--pan-step", type=int, nargs=2, default=[12, 3], metavar=("DX", "DY"),
                    help="probe: the pan's step a frame, in px of the 640x360 view it is cut from (at --size 160 "
                         "a step of 16 is 4 px exactly: 32 and 64 line up with relu4_2's and relu5_1's strides)")
    ap.add_argument("--trace", action="store_true",
                    help="print each warm frame's losses at its first and last iteration (probe)")
    ap.add_argument("--out", default=os.path.join(HERE, "WARM_FRAMES.md"))
    args = ap.parse_args()
    began = time.perf_counter()
    style = images.read_image(args.style).pixels
    options = StyleOptions(size=args.size, pooling=args.pooling)
    step = tuple(args.pan_step)
    makers = {"bunny": lambda: clip_frames(args.bunny, args.frames),
              "carphone": lambda: clip_frames(args.carphone, args.frames),
              "pan": lambda: pan_frames(args.bunny, args.frames, step=step),
              "zoom": lambda: pan_frames(args.bunny, args.frames, zoom=0.01, step=step),
              "pan-bare": lambda: pan_frames(args.bunny, args.frames, disc=False, step=step)}
    chosen = {label: CANDIDATES[label] for label in args.candidates}
    rows = [row for name in args.clips for row in run_clip(name, makers[name](), style, options, chosen,
                                                             args.padding, args.trace)]
    lines = [
        "# Warm-start rules on three clips", "",
        f"Command: `python benchmarks/warm_frames.py --size {args.size} --frames {args.frames}"
        f"{' --candidates ' + ' '.join(repr(c) for c in args.candidates) if args.candidates != list(CANDIDATES) else ''}"
        f"{' --clips ' + ' '.join(args.clips) if args.clips != CLIPS else ''}"
        f"{' --padding ' + args.padding if args.padding != 'zeros' else ''}"
        f"{' --pooling ' + args.pooling if args.pooling != StyleOptions().pooling else ''}"
        f"{' --pan-step %d %d' % step if step != (12, 3) else ''}"
        f"{out_option(args.out, ap.get_default('out'))}` "
        f"({(time.perf_counter() - began) / 60:.0f} min)  ",
        f"Machine: {cpu_name()}, {os.cpu_count()} cores, torch {torch.__version__} ({torch.get_num_threads()} "
        f"threads)  ",
        f"Input: {args.frames} frames of each clip at {args.size} px (carphone at its own 176x144), style "
        f"{os.path.basename(args.style)}, default preset; every candidate of a clip goes on from one shared "
        f"first frame.", "",
        "Candidates: " + "; ".join(f"**{label}**: {what}" for label, (_, what) in chosen.items()) + ".", "",
        "| clip | rule | warm frame passes (median) | style / independent (frames) | same, border band "
        f"left out ({MARGIN} px) | same, by the painting network | revealed detail / independent (region) | "
        "E_warp / source | meets all |",
        "|---|---|---|---|---|---|---|---|---|",
    ]
    for r in rows:
        meets = (r["passes"] <= TARGETS["passes"] and all(s <= TARGETS["style"] for s in r["style"])
                 and (r["detail"] is None or r["detail"] >= TARGETS["detail"]))
        style_text = " / ".join(f"{s:.3f}" for s in r["style"]) + f" ({', '.join(map(str, r['checked']))})"
        detail_text = "-" if r["detail"] is None else f"{r['detail']:.2f}"
        inner_text = " / ".join(f"{s:.3f}" for s in r["interior"])
        own_text = " / ".join(f"{s:.3f}" for s in r["own"])
        lines.append(f"| {r['clip']} | {r['rule']} | {r['passes']:.1f} | {style_text} | {inner_text} | {own_text} | "
                     f"{detail_text} "
                     f"({100 * r['region']:.0f}% of pixels) | "
                     f"{'-' if r['ewarp'] is None else format(r['ewarp'], '.2f')} | {'yes' if meets else 'no'} |")
    lines += ["", f"Targets: warm frame <= {TARGETS['passes']} passes, style <= {TARGETS['style']}x independent, "
              f"revealed detail >= {TARGETS['detail']}x independent, on every clip. \"meets all\" reads the "
              f"style by the yardstick (metrics.YARDSTICK: VGG-19 with max pooling, the first style column); "
              f"the next two columns read the same frames with the border band left out and by the network "
              f"that painted them (its padding and pooling)."]
    publish(lines, args.out)


if __name__ == "__main__":
    main()
