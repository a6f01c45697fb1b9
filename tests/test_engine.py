import numpy as np
import pytest
import torch

import vidstyle
from vidstyle import ConfigError, StyleOptions
from vidstyle.engine import Plan, Stylizer, level_sizes

from .conftest import FAST, make_content, make_style


def _px(img):
    return img.astype(np.float32) / 255


def test_optimisation_lowers_content_and_style_loss_together():
    # From the paper's white noise both terms start high; with balanced
    # weights both must fall (at style weight 10 the content term may rise
    # while the style term drops: that is the trade-off, not a bug).
    seen = []
    vidstyle.stylize_image(make_content(), make_style(), StyleOptions(**{**FAST, "iterations": 30}),
                           init="noise", style_weight=1.0, pooling="max", callback=seen.append)
    first, last = seen[0], seen[-1]
    # Max pooling: the balance these bounds were set for (average pooling paints more: content 0.64).
    assert last.losses["content"] < 0.6 * first.losses["content"]
    assert last.losses["style"] < 0.85 * first.losses["style"]


@pytest.mark.parametrize("mode", [torch.no_grad, torch.inference_mode])
def test_the_same_image_whatever_the_callers_autograd_mode(mode):
    opts = StyleOptions(**FAST)
    want = vidstyle.stylize_image(make_content(), make_style(), opts)
    engine = Stylizer([_px(make_style())], opts)
    with mode():
        assert np.array_equal(vidstyle.stylize_image(make_content(), make_style(), opts), want)
        assert np.array_equal(engine.stylize(_px(make_content())), want)


def test_adam_also_lowers_the_loss():
    seen = []
    vidstyle.stylize_image(make_content(), make_style(), StyleOptions(**FAST), optimizer="adam",
                           iterations=15, init="noise", learning_rate=0.05, callback=seen.append)
    assert seen[-1].loss < seen[0].loss


def test_same_seed_same_bytes_other_seed_other_image():
    opts = StyleOptions(**FAST, init="noise")
    a = vidstyle.stylize_image(make_content(), make_style(), opts, seed=7)
    b = vidstyle.stylize_image(make_content(), make_style(), opts, seed=7)
    c = vidstyle.stylize_image(make_content(), make_style(), opts, seed=8)
    assert a.tobytes() == b.tobytes()
    assert not np.array_equal(a, c)


def test_callback_reports_every_iteration():
    seen = []
    out = vidstyle.stylize_image(make_content(), make_style(), StyleOptions(**FAST), callback=seen.append)
    assert [p.iteration for p in seen] == list(range(1, FAST["iterations"] + 1))
    p = seen[-1]
    assert p.max_iterations == FAST["iterations"] and p.levels == 1
    assert (p.height, p.width) == out.shape[:2] == (36, 48)
    assert set(p.losses) == {"content", "style", "tv"}
    assert p.loss == pytest.approx(sum(p.losses.values()), rel=1e-5)
    assert all(b.elapsed >= a.elapsed for a, b in zip(seen, seen[1:]))


def test_early_stop_when_loss_stops_improving():
    seen = []
    vidstyle.stylize_image(make_content(), make_style(), StyleOptions(**FAST), iterations=50,
                           tolerance=0.9, patience=2, callback=seen.append)
    assert len(seen) < 50


def test_coarse_to_fine_schedule():
    assert level_sizes(300, 400, 3) == [(75, 100), (150, 200), (300, 400)]
    # Levels below the minimum side are skipped.
    assert level_sizes(36, 48, 3) == [(36, 48)]
    seen = []
    out = vidstyle.stylize_image(make_content(72, 128), make_style(), StyleOptions(**FAST), size=128,
                                 scales=2, iterations=3, callback=seen.append)
    assert [(p.level, p.width) for p in seen] == [(1, 64)] * 3 + [(2, 128)] * 3
    assert out.shape == (72, 128, 3)


def test_a_large_image_gets_levels_down_to_the_coarsest_and_warm_frames_keep_one():
    """StyleOptions.coarsest (plate-size strokes, benchmarks/PLATE_STROKES.md): levels added above 1.5x it."""
    from vidstyle.schedule import levels_for
    assert [levels_for(h, w, 1, 1024) for h, w in ((288, 512), (1080, 1920), (856, 2048), (2160, 3840))] == [1, 2, 2, 3]
    assert levels_for(2160, 3840, 4, 1024) == 4 and levels_for(2160, 3840, 1, 0) == 1   # scales is the least
    seen = []
    vidstyle.stylize_image(make_content(144, 256), make_style(), StyleOptions(**FAST), size=256, coarsest=64,
                           iterations=2, callback=seen.append)
    assert [(p.level, p.width) for p in seen] == [(1, 64)] * 2 + [(2, 128)] * 2 + [(3, 256)] * 2
    engine = Stylizer([make_style().astype(np.float32) / 255], StyleOptions(**FAST).replace(size=256, coarsest=64,
                                                                                           iterations=2))
    warm = engine.run(make_content(144, 256).astype(np.float32) / 255, Plan(scales=1))   # a warm frame's plan: one level
    assert warm.last.levels == 1 and warm.last.width == 256


def test_output_size_follows_size_option():
    out = vidstyle.stylize_image(make_content(), make_style(), StyleOptions(**FAST), size=32)
    assert out.shape == (24, 32, 3) and out.dtype == np.float32
    assert 0 <= out.min() and out.max() <= 1


def test_blend_weights_select_the_styles():
    # A blend of (1, 0) is exactly the first style alone.
    other = make_style()[:, ::-1, ::-1].copy()
    opts = StyleOptions(**FAST)
    alone = vidstyle.stylize_image(make_content(), make_style(), opts)
    blended = vidstyle.stylize_image(make_content(), [make_style(), other], opts, style_blend=(1, 0))
    mixed = vidstyle.stylize_image(make_content(), [make_style(), other], opts)
    assert np.array_equal(alone, blended)
    assert not np.array_equal(alone, mixed)
    with pytest.raises(ConfigError, match="2 style image"):
        vidstyle.stylize_image(make_content(), [make_style(), other], opts, style_blend=(1, 1, 1))


def test_init_from_an_image_and_keep_colors(tmp_path):
    import cv2
    init = tmp_path / "init.png"
    cv2.imwrite(str(init), np.full((10, 10, 3), 128, np.uint8))
    opts = StyleOptions(**FAST)
    from_image = vidstyle.stylize_image(make_content(), make_style(), opts, init=str(init))
    from_content = vidstyle.stylize_image(make_content(), make_style(), opts)
    assert not np.array_equal(from_image, from_content)
    kept = vidstyle.stylize_image(make_content(), make_style(), opts, keep_colors=True)
    content = _px(make_content())
    chroma = lambda im: cv2.cvtColor(im, cv2.COLOR_BGR2YCrCb)[..., 1:]
    assert np.abs(chroma(kept) - chroma(content)).mean() < np.abs(chroma(from_content) - chroma(content)).mean()


@pytest.mark.parametrize("bad", [
    dict(size=-5), dict(size=0), dict(iterations=0), dict(style_weight=float("nan")),
    dict(content_weight=-1), dict(tv_weight=float("inf")), dict(style_layers=("relu9_9",)),
    dict(content_layers=()), dict(optimizer="sgd"), dict(style_scale=0), dict(seed=-1),
    dict(style_layer_weights=(1, 2)), dict(precision="fp8"), dict(pooling="min"),
])
def test_nonsense_options_are_refused(bad):
    with pytest.raises(ConfigError):
        StyleOptions(**bad)


def test_unknown_device_is_refused():
    with pytest.raises(ConfigError, match="device"):
        Stylizer([_px(make_style())], StyleOptions(device="tpu"))


def test_a_warm_frame_resumes_lbfgs_with_the_last_frames_curvature():
    """Its first step is a quasi-Newton step, not a fresh L-BFGS's tiny steepest-descent one."""
    opts = StyleOptions(**FAST)
    st = Stylizer([_px(make_style())], opts)
    content = _px(make_content())
    done = st.run(content, Plan(iterations=8))
    memory = done.memory     # returned, not left behind
    assert len(memory) > 0 and memory.scale > 0
    first_steps = {}
    for name, carried in (("fresh", None), ("resumed", memory)):
        seen = []
        # Going on from where the memory was gathered, as a warm frame does from the previous output.
        st.stylize(content, init=done.image, iterations=3, callback=seen.append, memory=carried)
        first_steps[name] = seen[0].loss - seen[1].loss
    assert first_steps["resumed"] > 3 * max(first_steps["fresh"], 0)
