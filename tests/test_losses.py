import cv2
import numpy as np
import pytest
import torch

from vidstyle.color import keep_colors
from vidstyle.losses import blend_grams, content_loss, gram, relative_mse, style_loss, tv_loss


def test_gram_shape_value_and_gradient():
    f = torch.randn(2, 4, 3, 5, dtype=torch.double, requires_grad=True)
    g = gram(f)
    assert g.shape == (2, 4, 4)
    flat = f.reshape(2, 4, 15)
    torch.testing.assert_close(g, flat @ flat.transpose(1, 2) / 15)
    # Our one-product backward must equal autograd's.
    assert torch.autograd.gradcheck(gram, (f,))
    with pytest.raises(ValueError):
        gram(torch.zeros(4, 3, 5))


def test_gram_does_not_depend_on_image_size():
    # The same texture seen over a 4x larger area has the same Gram (per position).
    tile = torch.rand(1, 8, 6, 6)
    assert torch.allclose(gram(tile), gram(tile.repeat(1, 1, 2, 2)), atol=1e-6)


def test_relative_errors_are_zero_at_target_and_scale_free():
    t = torch.rand(1, 3, 4, 4) + 0.1
    assert relative_mse(t, t).item() == 0
    # Scaling value and target together (other weights, other units) changes nothing.
    v = torch.rand(1, 3, 4, 4)
    assert relative_mse(1000 * v, 1000 * t).item() == pytest.approx(relative_mse(v, t).item(), rel=1e-5)
    assert content_loss({"a": t}, {"a": t}).item() == 0
    grams = {"a": gram(t)}
    assert style_loss({"a": t}, grams, {"a": 1.0}).item() == pytest.approx(0, abs=1e-7)


def test_tv_loss_zero_for_flat_image_positive_for_edges():
    assert tv_loss(torch.full((1, 3, 8, 8), 0.3)).item() == 0
    img = torch.zeros(1, 3, 8, 8)
    img[..., 4:] = 1
    assert tv_loss(img).item() > 0


def test_blend_grams_is_weighted_mean():
    a, b = {"l": torch.ones(1, 2, 2)}, {"l": torch.zeros(1, 2, 2)}
    assert torch.allclose(blend_grams([a, b], [0.25, 0.75])["l"], torch.full((1, 2, 2), 0.25))


def test_keep_colors_keeps_content_chroma_and_output_luma():
    rng = np.random.default_rng(0)
    content = torch.from_numpy(rng.uniform(0.3, 0.7, (1, 3, 6, 6)).astype(np.float32))
    styled = torch.from_numpy(rng.uniform(0.3, 0.7, (1, 3, 6, 6)).astype(np.float32))
    out = keep_colors(styled, content)

    def ycrcb(t):
        return cv2.cvtColor(t[0].permute(1, 2, 0).numpy(), cv2.COLOR_BGR2YCrCb)

    assert np.allclose(ycrcb(out)[..., 1:], ycrcb(content)[..., 1:], atol=2e-3)
    assert np.allclose(ycrcb(out)[..., 0], ycrcb(styled)[..., 0], atol=2e-3)


def test_gram_of_bf16_features_is_float32_and_close():
    f = torch.rand(1, 16, 8, 8)
    g16 = gram(f.bfloat16())
    assert g16.dtype == torch.float32
    torch.testing.assert_close(g16, gram(f), rtol=2e-2, atol=1e-3)


def test_the_low_passed_temporal_loss_holds_structure_and_frees_the_finest_strokes():
    from vidstyle.losses import lowpass, temporal_loss
    torch.manual_seed(0)
    target = torch.rand(1, 3, 24, 32)
    mask = torch.ones(1, 1, 24, 32)
    yy, xx = torch.meshgrid(torch.arange(24), torch.arange(32), indexing="ij")
    checker = (((xx + yy) % 2) * 2 - 1).float() * 0.1          # a one-pixel stroke pattern
    assert lowpass(target, 1.0).shape == target.shape
    assert torch.allclose(lowpass(torch.full((1, 3, 8, 8), 0.3), 1.0), torch.full((1, 3, 8, 8), 0.3))
    fine = temporal_loss(target + checker, target, mask, sigma=1.0) / temporal_loss(target + checker, target, mask)
    coarse = temporal_loss(target + 0.1, target, mask, sigma=1.0) / temporal_loss(target + 0.1, target, mask)
    assert fine < 0.05 and coarse > 0.95
