"""Tiles (plate resolution): the untiled objective, computed tile by tile with one global style."""

import numpy as np
import pytest
import torch

from vidstyle import ConfigError, StyleOptions, Stylizer, cli
from vidstyle.objective import Objective
from vidstyle.terms import GuidedStyle, Temporal
from vidstyle.tiles import TiledObjective, Window, auto_tile, grid, history_for, one_tile

from .conftest import make_style


@pytest.fixture(scope="module")
def engine():
    rng = np.random.default_rng(0)
    return Stylizer([make_style().astype(np.float32) / 255, rng.random((40, 56, 3)).astype(np.float32)],
                    StyleOptions(device="cpu", precision="fp32", tile=0))


def test_the_grid_covers_the_image_once_on_pooling_boundaries():
    tiles = grid(100, 130, 48, 20, 16)
    cover = np.zeros((100, 130), int)
    for t in tiles:
        cover[t.y0:t.y1, t.x0:t.x1] += 1
        assert t.y0 % 16 == t.x0 % 16 == t.cy0 % 16 == t.cx0 % 16 == 0          # halo rounded up to 32
        assert t.cy0 == max(0, t.y0 - 32) and t.cx1 == min(130, t.x1 + 32)
    assert (cover == 1).all()
    assert [t.x1 for t in tiles[:3]] == [48, 96, 130]    # 130 - 96 = 34: the last tile takes the rest
    assert {(t.y0, t.y1) for t in grid(104, 64, 48, 0, 16)} == {(0, 48), (48, 104)}   # an 8 px sliver is shared
    # a side cut in n tiles costs n - 1 halos: 1080 rows in tiles of 512 are two, not 512 + 512 + 56
    assert sorted({(t.y0, t.y1) for t in grid(1080, 1920, 512, 64, 16)}) == [(0, 544), (544, 1080)]
    assert len({t.x0 for t in grid(1080, 1920, 512, 64, 16)}) == 4
    # one tile's worth (a side under 1.25 tiles) is not tiled: the same pass, without step 1's
    assert one_tile(600, 630, 512) and not one_tile(700, 630, 512) and len(grid(600, 630, 512, 64, 16)) == 1
    engine = Stylizer([make_style().astype(np.float32) / 255], StyleOptions(device="cpu", tile=512))
    assert engine.tile_for(600, 630) is None and engine.tile_for(700, 630) == 512


def test_with_a_halo_as_large_as_the_image_tiles_give_the_untiled_loss_and_gradient(engine):
    torch.manual_seed(0)
    content, x = torch.rand(1, 3, 100, 130), torch.rand(1, 3, 100, 130)
    guides = torch.zeros(2, 1, 100, 130)
    guides[0, :, :, :60], guides[1, :, :, 60:] = 1, 1
    temporal = Temporal(torch.rand(1, 3, 100, 130), torch.ones(1, 1, 100, 130), 50.0, 2.0)
    for terms in (engine.terms(content, [temporal]),
                  engine.terms(content, guides=guides, styles=((0.0, 1.0), (0.6, 0.4)))):
        whole = Objective(engine.net, terms).evaluate(x)
        tiled = TiledObjective(engine.net, terms, 48, 512).evaluate(x)
        assert tiled.losses.keys() == whole.losses.keys()
        for name in whole.losses:
            assert tiled.losses[name] == pytest.approx(whole.losses[name], rel=1e-5), name
        assert float((tiled.grad - whole.grad).norm() / whole.grad.norm()) < 1e-5
    assert any(isinstance(t, GuidedStyle) for t in terms)


def test_a_small_halo_is_close_and_a_larger_one_closer(engine):
    torch.manual_seed(1)
    content, x = torch.rand(1, 3, 128, 160), torch.rand(1, 3, 128, 160)
    terms = engine.terms(content)
    whole = Objective(engine.net, terms).evaluate(x)
    errors = []
    for halo in (16, 64):
        tiled = TiledObjective(engine.net, terms, 64, halo).evaluate(x)
        errors.append(float((tiled.grad - whole.grad).norm() / whole.grad.norm()))
        assert tiled.losses["style"] == pytest.approx(whole.losses["style"], rel=0.05)
    assert errors[1] < errors[0] / 3


def test_the_window_crops_each_layer_where_the_whole_image_has_it():
    t = grid(100, 130, 48, 32, 16)[4]   # an inner tile
    w = Window(t, 100, 130)
    ys, xs = w.slices("relu3_1")         # stride 4
    assert (ys.start, xs.start) == (t.y0 // 4, t.x0 // 4)
    feats = torch.zeros(1, 1, (t.cy1 - t.cy0) // 4, (t.cx1 - t.cx0) // 4)
    assert w.inner(feats, "relu3_1").shape[2:] == (ys.stop - ys.start, xs.stop - xs.start)


def test_auto_tiles_only_what_does_not_fit_and_names_a_tile_when_none_does():
    cpu = torch.device("cpu")
    assert auto_tile(288, 512, cpu, 64, False, free=8 << 30) is None              # fits: untiled
    tile = auto_tile(2160, 3840, cpu, 64, False, free=8 << 30)
    assert tile is not None and tile % 16 == 0 and 256 <= tile < 2160
    with pytest.raises(ConfigError, match="--tile .* would fit"):
        auto_tile(2160, 3840, cpu, 64, False, free=300 << 20)
    assert history_for(2160, 3840, 20) == 5 and history_for(288, 512, 20) == 20


def test_bad_tiles_are_refused_before_any_work(capsys, tmp_path, content_path, style_path):
    for tile, says in (("8", "smaller than the 16 px"), ("32", "smaller than its 64 px halo"),
                       ("big", "number of pixels")):
        out = tmp_path / "out.png"
        code = cli.main([str(content_path), str(style_path), "-o", str(out), "--tile", tile, "--device", "cpu", "-q"])
        err = capsys.readouterr().err
        assert code == 2 and says in err and len(err.strip().splitlines()) == 1, err
        assert not out.exists()


def test_a_tiled_still_looks_like_the_untiled_one(tmp_path):
    from vidstyle import stylize_image
    rng = np.random.default_rng(3)
    yy, xx = np.mgrid[0:96, 0:128]
    content = np.dstack([0.5 + 0.3 * np.sin(xx / 7.0), 0.5 + 0.3 * np.cos(yy / 5.0),
                         0.5 + 0.2 * rng.random((96, 128))]).astype(np.float32)
    options = StyleOptions(size=None, iterations=10, tolerance=0.0, device="cpu", precision="fp32", scales=1)
    whole = stylize_image(content, make_style(), options.replace(tile=0))
    tiled = stylize_image(content, make_style(), options.replace(tile=64))
    from vidstyle import metrics
    judge = metrics.judge([make_style().astype(np.float32) / 255])
    a, b = metrics.frame_losses(judge, whole, content), metrics.frame_losses(judge, tiled, content)
    assert b["style"] == pytest.approx(a["style"], rel=0.1) and b["content"] == pytest.approx(a["content"], rel=0.1)


def test_video_frames_run_tiled_first_and_warm_with_the_temporal_term():
    from vidstyle import FrameStylizer, VideoOptions

    from .conftest import OPTS, moving_square
    frames = moving_square(3)
    video = VideoOptions(warm_iterations=4, cuts="none")
    # A 32 px halo: at this size a 16 px one is well inside average pooling's reach (0.04-0.10 apart,
    # against 0.012-0.018 with max pooling); at plate size halo 64 is the objective to 0.07% (TILES.md).
    # fp32: the tiled gradient is exact to rounding, but bf16's rounding (1e-3 of the gradient) sends
    # warm frames with carried L-BFGS memory down other paths at this size (0.02-0.06 apart whether
    # tiled or not, a layout change alone moves them so), so bf16 would test the rounding, not the tiles.
    plain = FrameStylizer([make_style()], OPTS.replace(tile=0, precision="fp32"), video)
    tiled = FrameStylizer([make_style()], OPTS.replace(tile=32, tile_halo=32, precision="fp32"), video)
    assert tiled.engine.tile_for(48, 64) == 32 and plain.engine.tile_for(48, 64) is None
    for f in frames:
        a, b = plain.process(f), tiled.process(f)
        assert np.abs(a - b).mean() < 0.03        # the same picture, up to the halo
    assert "temporal" in tiled.record.losses and tiled.record.iterations == 4


def test_two_devices_give_the_one_device_frame():
    from vidstyle import stylize_image
    rng = np.random.default_rng(4)
    content = rng.random((80, 112, 3)).astype(np.float32)
    options = StyleOptions(size=None, iterations=4, tolerance=0.0, device="cpu", precision="fp32", scales=1,
                           tile=48, tile_halo=16)
    one = stylize_image(content, make_style(), options)
    two = stylize_image(content, make_style(), options.replace(device="cpu,cpu"))
    mse = float(np.mean((one - two) ** 2))
    assert mse == 0 or 10 * np.log10(1 / mse) >= 45
    assert Stylizer([make_style().astype(np.float32) / 255], options.replace(device="cpu,cpu")).tile_for(80, 112) == 48


def test_a_device_list_must_name_devices_of_one_kind_that_are_there():
    for names, says in (("cpu,,cpu", "comma list"), ("cpu,auto", "leave auto out"), ("cpu,tpu", "unknown device"),
                        ("cpu,cuda:7", "cuda")):
        with pytest.raises(ConfigError, match=says):
            Stylizer([make_style().astype(np.float32) / 255], StyleOptions(device=names))


def test_a_tile_larger_than_the_output_runs_untiled_and_says_so_once(capsys, tmp_path, content_path, style_path):
    out = tmp_path / "out.png"
    code = cli.main([str(content_path), str(style_path), "-o", str(out), "--tile", "512", "--size", "40",
                     "--iterations", "2", "--device", "cpu", "-q"])
    err = capsys.readouterr().err
    assert code == 0 and out.exists()
    assert err.count("ran untiled") == 1 and "--tile 512: the output is 40x30 px" in err
