import cv2
import numpy as np
import pytest
import torch

from vidstyle.color import keep_colors
from vidstyle.losses import blend_grams, content_loss, gram, gram_error, relative_mse, style_loss, tv_loss


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


@pytest.mark.parametrize("layout", [torch.contiguous_format, torch.channels_last])
def test_the_fused_errors_have_the_plain_formulas_values_and_gradients(layout):
    # gram_error, relative_mse and tv_loss write their own backward (one node each, for speed):
    # against autograd through the textbook formulas, in float64, both memory layouts.
    torch.manual_seed(0)
    f = torch.rand(1, 6, 5, 7, dtype=torch.double).contiguous(memory_format=layout).requires_grad_(True)
    target = gram(torch.rand(1, 6, 5, 7, dtype=torch.double))
    plain = ((f.reshape(1, 6, 35) @ f.reshape(1, 6, 35).transpose(1, 2) / 35 - target).pow(2).mean()
             / target.pow(2).mean())
    torch.testing.assert_close(gram_error(f, target, weight=0.5), 0.5 * plain)
    assert torch.autograd.gradcheck(lambda t: gram_error(t, target, weight=0.5), (f,))
    content = torch.rand(1, 6, 5, 7, dtype=torch.double).contiguous(memory_format=layout)
    torch.testing.assert_close(relative_mse(f, content), (f - content).pow(2).mean() / content.pow(2).mean())
    assert torch.autograd.gradcheck(lambda t: relative_mse(t, content), (f,))
    assert torch.autograd.gradcheck(tv_loss, (f,))
    dx, dy = f[..., 1:] - f[..., :-1], f[..., 1:, :] - f[..., :-1, :]
    torch.testing.assert_close(tv_loss(f), dx.pow(2).mean() + dy.pow(2).mean())


def test_bf16_features_get_bf16_gradients_from_float32_errors():
    f = torch.rand(1, 4, 6, 6).bfloat16().requires_grad_(True)
    target = torch.rand(1, 4, 6, 6)
    loss = relative_mse(f, target)
    assert loss.dtype == torch.float32
    torch.testing.assert_close(loss, (f.float() - target).pow(2).mean() / target.pow(2).mean())
    loss.backward()
    assert f.grad.dtype == torch.bfloat16


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
