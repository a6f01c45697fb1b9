"""The pure parts, alone: sequence names, frame ranges, the shot rule and cut detector, warm-up selection,
the reliability mask, and the resume decision."""

from __future__ import annotations

import os

import numpy as np
import pytest

from vidstyle import ConfigError, OutputError, StyleOptions, VideoOptions, images
from vidstyle.cuts import CutDetector
from vidstyle.flow import reliability, warp, warp_tensor
from vidstyle.options import PRESETS
from vidstyle.outputs import Output
from vidstyle.resume import Decision, WorkFolder
from vidstyle.sequences import belongs_to, format_ranges, is_sequence_pattern, parse_frames, range_name, split_pattern
from vidstyle.shots import ShotTracker, warmup_frames
from vidstyle.sources import open_sequence

from .conftest import moving_square, sequence, two_shot_frames, two_shots


@pytest.mark.parametrize("pattern,expected", [
    ("/a/out.####.png", ("/a/out.", 4, ".png")),
    ("/a/out.%04d.exr", ("/a/out.", 4, ".exr")),
    ("out.%d.png", ("out.", 1, ".png")),
    ("/a/out.@@@.tif", ("/a/out.", 3, ".tif")),
    ("/a/out.$F4.png", ("/a/out.", 4, ".png")),
    ("/a/shot.1001-1100#.exr", ("/a/shot.", 4, ".exr")),     # fileseq: a lone # is 4 digits
    ("/a/take #1.####.png", ("/a/take #1.", 4, ".png")),      # the last token is the frame number
])
def test_split_pattern(pattern, expected):
    assert split_pattern(pattern) == expected
    assert is_sequence_pattern(pattern)


def test_what_is_not_a_pattern():
    assert not is_sequence_pattern("take #1.mp4")               # a video name is never a pattern
    assert not is_sequence_pattern("/a/photo.png")
    with pytest.raises(ConfigError, match="not a sequence pattern"):
        split_pattern("/a/photo.png")


def test_belongs_to_matches_only_the_frames_of_that_sequence(tmp_path):
    pattern = str(tmp_path / "st.####.png")
    assert belongs_to(pattern, str(tmp_path / "st.0001.png")) and belongs_to(pattern, str(tmp_path / "st.-001.png"))
    assert not belongs_to(pattern, str(tmp_path / "st.x.png"))
    assert not belongs_to(pattern, str(tmp_path / "st.0001.jpg"))
    assert not belongs_to(pattern, str(tmp_path / "other" / "st.0001.png"))
    assert not belongs_to(str(tmp_path / "out.mp4"), str(tmp_path / "out.mp4"))


def test_parse_frames_uses_fileseq_syntax():
    assert parse_frames("1001-1100x2")[:3] == [1001, 1003, 1005] and len(parse_frames("1001-1100x2")) == 50
    assert parse_frames("1-3, 7") == [1, 2, 3, 7]
    assert parse_frames("5") == [5]
    assert parse_frames("10-5") == [5, 6, 7, 8, 9, 10]
    assert parse_frames("-2-1") == [-2, -1, 0, 1]
    for bad in ("a-b", "", "1-", "1.5"):
        with pytest.raises(ConfigError, match="--frames"):
            parse_frames(bad)


def test_format_ranges_and_range_names():
    assert format_ranges([7, 1, 2, 3, 9]) == "1-3,7,9"
    assert format_ranges([]) == ""
    assert range_name(None) == "all" and range_name([3, 1, 2]) == "1-3"
    assert range_name([1, 2, 5]).startswith("1-5-") and range_name([1, 2, 5]) != range_name([1, 4, 5])


# -- the shot rule -------------------------------------------------------------------------------------

def test_cut_detector_scores_cuts_far_above_motion():
    frames = [f.astype(np.float32) / 255 for f in two_shot_frames(3)]
    detector = CutDetector()
    assert detector.is_cut(frames[0])                     # the first frame starts a shot
    motion = [detector.score(f) for f in frames[1:3]]
    cut = detector.score(frames[3])
    assert max(motion) < 0.1 < 0.5 < cut


def test_shot_tracker_cuts_jumps_given_cuts_and_reset():
    frames = [f.astype(np.float32) / 255 for f in two_shot_frames(3)]
    auto = ShotTracker("auto")
    assert [auto.starts_shot(f, 1001 + i) for i, f in enumerate(frames)] == [True, False, False, True, False, False]
    given = ShotTracker((1003,))
    assert not given.needs_pixels
    assert [given.starts_shot(None, n) for n in (1001, 1002, 1003, 1004, 1006)] == [True, False, True, False, True]
    implicit = ShotTracker("none")
    assert [implicit.starts_shot(None) for _ in range(3)] == [True, False, False]
    implicit.reset()
    assert implicit.starts_shot(None) and not implicit.starts_shot(None)


def test_warmup_selection(tmp_path):
    numbers = list(range(1001, 1011))
    given = VideoOptions(warmup=3, cuts=())
    # Straight before the first wanted frame, as many as asked ...
    assert warmup_frames("unused", numbers, [1006, 1007], given) == [1003, 1004, 1005]
    # ... never back over a shot's start, none at a cut, none without warm starts.
    assert warmup_frames("unused", numbers, [1006], given.replace(cuts=(1005,))) == [1005]
    assert warmup_frames("unused", numbers, [1006], given.replace(cuts=(1006,))) == []
    assert warmup_frames("unused", numbers, [1006], given.replace(warm_start="none")) == []
    assert warmup_frames("unused", numbers, [1001], given) == []
    # A hole in the numbers ends the window.
    assert warmup_frames("unused", [n for n in numbers if n != 1004], [1006], given) == [1005]
    # Detected cuts: the second shot of a real sequence starts at 1004.
    pattern = two_shots(tmp_path / "in")
    assert warmup_frames(pattern, list(range(1001, 1007)), [1006], VideoOptions(warmup=5)) == [1004, 1005]


# -- the reliability mask (Ruder 2016) -------------------------------------------------------------------

def test_reliability_mask():
    h, w = 20, 30
    still = np.zeros((h, w, 2), np.float32)
    assert reliability(still, still).all()
    # Disoccluded: the forward flow does not come back where the backward flow points.
    forward = still.copy()
    forward[5:10, 5:10] = (6.0, 0.0)
    mask = reliability(still, forward)
    assert not mask[5:10, 5:10].any() and mask.sum() == h * w - 25
    # A motion boundary: the backward flow jumps between two halves.
    split = still.copy()
    split[:, 15:] = (2.0, 0.0)
    fwd = still.copy()
    fwd[:, 17:] = (-2.0, 0.0)
    mask = reliability(split, fwd)
    assert not mask[:, 14:16].any() and mask[:, :12].all()
    # From outside the frame: a shift of 5 px to the right samples beyond the right edge.
    shift = np.full((h, w, 2), (5.0, 0.0), np.float32)
    mask = reliability(shift, -shift)
    assert not mask[:, -5:].any() and mask[:, :-5].all()


# -- the resume decision ---------------------------------------------------------------------------------

def test_resume_decision(tmp_path):
    pattern = sequence(tmp_path / "in", moving_square(3))
    source = open_sequence(pattern)
    out = Output(str(tmp_path / "st.####.png"), padding=4)
    keep = source.numbers
    with WorkFolder(out, None, keep) as work:
        assert work.decide("fp1", source, overwrite=False) is Decision.FRESH
        work.start("fp1", {})
        assert work.decide("fp1", source, overwrite=False) is Decision.RESUME
        with pytest.raises(OutputError, match="unfinished run with other parameters"):
            work.decide("fp2", source, overwrite=False)
        assert work.decide("fp2", source, overwrite=True) is Decision.FRESH and not work.exists()
        work.start("fp1", {})
        for n in keep:
            out.write_frame(n, np.zeros((4, 4, 3), np.float32))
        work.finish(source.stamp())
        assert work.decide("fp1", source, overwrite=False) is Decision.DONE
        os.unlink(out.frame_path(1002))                  # a frame lost since: render the range again
        assert work.decide("fp1", source, overwrite=False) is Decision.FRESH
    with WorkFolder(out, None, keep) as work:            # a finished range whose input was replaced
        work.start("fp1", {})
        out.write_frame(1002, np.zeros((4, 4, 3), np.float32))
        work.finish("another input")
        assert work.decide("fp1", source, overwrite=False) is Decision.FRESH
    other = Output(str(tmp_path / "x.####.png"), padding=4)
    other.write_frame(1001, np.zeros((4, 4, 3), np.float32))
    with WorkFolder(other, None, keep) as work:          # files not made by this command: refused
        with pytest.raises(OutputError, match="exists: pass --overwrite"):
            work.decide("fp1", source, overwrite=False)
    assert not os.path.exists(tmp_path / ".x.____.png.vidstyle")   # a refused run leaves no folder


def test_the_device_warp_matches_the_cpu_warp():
    """The GPU path's warp (grid_sample) against OpenCV's, run here on the CPU."""
    yy, xx = np.mgrid[0:40, 0:50]
    image = np.dstack([np.sin(xx / 5.0), np.cos(yy / 4.0), np.sin((xx + yy) / 7.0)]).astype(np.float32) * 0.4 + 0.5
    rng = np.random.default_rng(0)
    flow = np.dstack([np.full((40, 50), 2.5), np.full((40, 50), -1.25)]).astype(np.float32)
    flow += rng.normal(0, 0.3, flow.shape).astype(np.float32)
    fill = np.full_like(image, 0.25)
    on_cpu, _ = warp(image, flow, fill=fill)
    on_device = images.from_tensor(warp_tensor(images.to_tensor(image), flow, images.to_tensor(fill)))
    assert np.abs(on_cpu - on_device).max() < 0.01
    edge_cpu, inside = warp(image, flow)                      # no fill: the edge replicated, on both paths
    edge_device = images.from_tensor(warp_tensor(images.to_tensor(image), flow))
    assert np.abs(edge_cpu - edge_device).max() < 0.01
    assert not np.isclose(edge_cpu[~inside], 0.25).all() and np.isclose(on_cpu[~inside], 0.25).all()
    mirror_cpu, _ = warp(image, flow, mirror=True)            # mirror fill: reflected about the edge pixels
    mirror_device = images.from_tensor(warp_tensor(images.to_tensor(image), flow, mirror=True))
    assert np.abs(mirror_cpu - mirror_device).max() < 0.01
    assert np.abs(mirror_cpu - edge_cpu)[~inside].max() > 0.05


def test_a_flow_warm_start_fills_what_enters_the_frame_with_the_output_mirrored_not_the_source():
    """A pan brings in a strip on the right: mirror fill (the default) reflects the output's last columns there."""
    from types import SimpleNamespace

    import torch

    from vidstyle.warmstart import Flow
    h, w = 20, 30
    output = np.full((h, w, 3), 0.8, np.float32)
    output[:, -4:] = np.array([0.2, 0.4, 0.6, 0.9], np.float32)[None, :, None]   # strokes near the right edge
    content = np.full((h, w, 3), 0.1, np.float32)             # the source: nothing like the output
    flow = np.zeros((h, w, 2), np.float32)
    flow[..., 0] = 3.0                                        # camera moves right: the last 3 columns are new
    src = SimpleNamespace(backward=flow, content=content)
    cpu = torch.device("cpu")
    mirrored = Flow().warp(output, src, cpu)
    assert np.allclose(mirrored[0, -6:, 0], [0.4, 0.6, 0.9, 0.6, 0.4, 0.2], atol=1e-6)   # 0.9 | 0.6 0.4 0.2
    assert np.allclose(Flow(fill="edge").warp(output, src, cpu)[:, -3:], 0.9)
    assert np.allclose(Flow(fill="content").warp(output, src, cpu)[:, -2:], 0.1)
    with pytest.raises(ConfigError, match="'edge', 'mirror' or 'content'"):
        Flow(fill="black").warp(output, src, cpu)


def test_presets_pick_a_bigger_size_for_a_gpu():
    assert StyleOptions.from_preset("standard", device="cpu").size == PRESETS["standard"]["size"] == 512
    assert StyleOptions.from_preset("standard", device="cuda").size == PRESETS["standard"]["gpu_size"] == 1280
    assert StyleOptions.from_preset("standard", device="cuda:1", size=300).size == 300   # explicit wins


def test_kind_of_decides_still_clip_or_ray_from_the_inputs(tmp_path):
    """jobs.kind_of is the one decision the CLI and the ComfyUI nodes share: one image is a still, anything with
    frames a clip, a clip with a Ray address a Ray run, and a still on Ray is refused."""
    from vidstyle.jobs import Kind, kind_of
    photo = tmp_path / "photo.png"
    images.write_image(str(photo), np.zeros((8, 8, 3), np.float32))
    (tmp_path / "frames").mkdir()
    clip = np.zeros((3, 8, 8, 3), np.float32)
    assert kind_of(str(photo)) is Kind.STILL and kind_of(clip[0]) is Kind.STILL
    for content in (str(tmp_path / "clip.mp4"), str(tmp_path / "frames"), str(tmp_path / "shot.####.png"),
                    clip, list(clip)):
        assert kind_of(content) is Kind.CLIP
        assert kind_of(content, ray="local") is Kind.RAY
    with pytest.raises(ConfigError, match="still image"):
        kind_of(str(photo), ray="local")
