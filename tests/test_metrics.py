"""vidstyle.metrics and `vidstyle check`: E_warp, flicker frames, losses, cuts."""

from __future__ import annotations

import json
import os

import cv2
import numpy as np
import pytest

from vidstyle import InputError, cli, metrics

from .conftest import moving_square, sequence, two_shots


def _noisy(frames, amount, seed=0):
    """Each frame with its own random noise: independent per-frame changes, i.e. flicker."""
    rng = np.random.default_rng(seed)
    return [np.clip(f.astype(np.int16) + rng.integers(-amount, amount + 1, f.shape), 0, 255).astype(np.uint8)
            for f in frames]


def test_ewarp_of_the_source_itself_is_the_floor_and_noise_raises_it(tmp_path):
    src = moving_square(6)
    as_float = [f.astype(np.float32) / 255 for f in src]
    same = metrics.warping_error(as_float, as_float)
    noisy = metrics.warping_error([f.astype(np.float32) / 255 for f in _noisy(src, 40)], as_float)
    # The square moves 3 px a frame: Farneback follows it, so the source's own
    # error is small, and independent noise is far above it.
    assert same < 2e-3
    assert noisy > 10 * same


def test_occlusion_mask_drops_pixels_the_flows_disagree_on():
    h, w = 20, 30
    backward = np.zeros((h, w, 2), np.float32)
    forward = np.zeros((h, w, 2), np.float32)
    assert metrics.occlusion_mask(backward, forward).all()
    forward[5:10, 5:10] = (6.0, 0.0)   # the round trip misses by 6 px there
    mask = metrics.occlusion_mask(backward, forward)
    assert not mask[5:10, 5:10].any() and mask.sum() == h * w - 25


def test_check_finds_the_flickering_frame_and_matches_sequences_by_number(tmp_path):
    src = moving_square(8)
    styled = [f.copy() for f in src]
    styled[5] = np.clip(styled[5].astype(np.int16) + 70, 0, 255).astype(np.uint8)  # frame 1006 pops
    src_pattern = sequence(tmp_path / "src", src)
    out_pattern = sequence(tmp_path / "out", styled[2:], start=1003)   # a stylised sub-range
    report = metrics.check(src_pattern, out_pattern)
    assert report.frames == 6 and (report.width, report.height) == (64, 48)
    # A frame that pops makes the pair into it and the pair out of it jump.
    assert report.flicker == [1006, 1007]
    assert report.ewarp > report.ewarp_source
    assert report.style_loss is None and report.content_loss > 0
    assert [p.number for p in report.pairs] == [1004, 1005, 1006, 1007, 1008]


def test_check_leaves_pairs_across_a_scene_cut_out(tmp_path):
    pattern = two_shots(tmp_path / "src")
    report = metrics.check(pattern, pattern)
    assert report.cuts == [1004]
    assert [p.ewarp is None for p in report.pairs] == [False, False, True, False, False]
    assert report.flicker == []
    assert report.ewarp == pytest.approx(report.ewarp_source)


def test_style_loss_is_lower_for_frames_closer_to_the_style(tmp_path, style):
    src = moving_square(3)
    src_pattern = sequence(tmp_path / "src", src)
    stripes = cv2.imread(style)
    styled = [cv2.resize(np.tile(stripes, (2, 2, 1)), (64, 48)) for _ in src]
    like_style = metrics.check(src_pattern, sequence(tmp_path / "st", styled), [style])
    like_source = metrics.check(src_pattern, src_pattern, [style])
    assert like_style.style_loss < like_source.style_loss
    assert like_style.content_loss > like_source.content_loss


def test_check_refuses_clips_that_do_not_belong_together(tmp_path, style):
    src = sequence(tmp_path / "src", moving_square(4))
    wide = sequence(tmp_path / "wide", [cv2.resize(f, (128, 48)) for f in moving_square(4)])
    with pytest.raises(InputError, match="not the same picture"):
        metrics.check(src, wide)
    other = sequence(tmp_path / "other", moving_square(3), start=1)   # neither a sub-range nor as long
    with pytest.raises(InputError, match="frames"):
        metrics.check(src, other)


def test_check_command_prints_a_table_and_json(tmp_path, style, capsys):
    src = sequence(tmp_path / "src", moving_square(5))
    out = sequence(tmp_path / "out", _noisy(moving_square(5), 30))
    assert cli.main(["check", src, out, "--style", style]) == 0
    table = capsys.readouterr().out
    assert "E_warp output" in table and "x the source's" in table and "style loss" in table
    assert cli.main(["check", src, out, "--json"]) == 0
    data = json.loads(capsys.readouterr().out)
    assert data["frames"] == 5 and len(data["pairs"]) == 4
    assert data["ewarp_ratio"] > 5 and data["style_loss"] is None
    assert cli.main(["check", src, os.path.join(tmp_path, "missing.####.png")]) == 3
    assert capsys.readouterr().err.startswith("vidstyle: error:")


def test_check_leaves_out_the_cuts_given_to_the_render(tmp_path, capsys):
    """``--cuts`` as the render takes it: the cuts given are the pairs left out, none detected beside them."""
    pattern = two_shots(tmp_path / "src")
    none = metrics.check(pattern, pattern, cuts="none")
    assert none.cuts == [] and all(p.ewarp is not None for p in none.pairs)
    given = metrics.check(pattern, pattern, cuts=(1002,))
    assert given.cuts == [1002]
    assert [p.ewarp is None for p in given.pairs] == [True, False, False, False, False]   # frames 1001-1006
    assert cli.main(["check", pattern, pattern, "--cuts", "1002", "--json"]) == 0
    assert json.loads(capsys.readouterr().out)["cuts"] == [1002]
