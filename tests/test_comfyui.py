"""The ComfyUI node pack, loaded the way ComfyUI loads a custom_nodes folder, against stand-in comfy modules."""

from __future__ import annotations

import importlib.util
import json
import os
import sys

import cv2
import numpy as np
import pytest
import torch

import cli
from vidstyle import InputError

from .conftest import moving_square, sequence, two_shot_frames

ROOT = os.path.dirname(os.path.abspath(cli.__file__))
PACK = os.path.join(ROOT, "comfyui_vidstyle")
STUBS = os.path.join(os.path.dirname(os.path.abspath(__file__)), "comfy_stubs")
SETTINGS = dict(preset="standard", size=64, style_weight=5.0, seed=0, keep_colors=False)


def load_pack(name="vidstyle_nodes"):
    """What ComfyUI does with custom_nodes/<name>/: import its __init__.py as the module <name>."""
    spec = importlib.util.spec_from_file_location(name, os.path.join(PACK, "__init__.py"))
    module = importlib.util.module_from_spec(spec)
    sys.modules[name] = module
    spec.loader.exec_module(module)
    return module


@pytest.fixture
def comfy(monkeypatch):
    """The stand-in comfy package on the path, its records cleared."""
    monkeypatch.syspath_prepend(STUBS)
    for name in [m for m in sys.modules if m == "comfy" or m.startswith("comfy.")]:
        monkeypatch.delitem(sys.modules, name)
    import comfy.model_management
    import comfy.utils
    comfy.utils.UPDATES.clear()
    comfy.model_management.INTERRUPT.update(now=False, after_checks=None)
    return comfy


def as_image(frames_bgr_uint8):
    """uint8 BGR frames -> a ComfyUI IMAGE batch [B, H, W, 3] RGB float."""
    return torch.from_numpy(np.stack([f[..., ::-1] for f in frames_bgr_uint8]).astype(np.float32) / 255)


def as_bgr_uint8(image):
    return [np.round(e.numpy()[..., ::-1] * 255).astype(np.uint8) for e in image]


@pytest.fixture(scope="module")
def cli_result(tmp_path_factory):
    """The CLI's frames for a two-shot clip: (style path, frames, outputs)."""
    from .conftest import make_style
    folder = tmp_path_factory.mktemp("cli")
    style = str(folder / "style.png")
    cv2.imwrite(style, make_style())
    frames = two_shot_frames(3)
    pattern = sequence(folder / "in", frames)
    assert cli.main([pattern, style, "-o", str(folder / "o.####.png"), "--size", "64", "--iterations", "8",
                     "--warm-iterations", "4", "--device", "cpu", "-q"]) == 0
    outputs = [cv2.imread(str(folder / f"o.{1001 + i}.png")) for i in range(len(frames))]
    return style, frames, outputs


def run_video_node(pack, frames, style, **extra):
    node = pack.NODE_CLASS_MAPPINGS["VidstyleStylizeVideoFrames"]()
    settings = dict(SETTINGS, warm_start="flow", temporal_weight=200.0, iterations=8, warm_iterations=4,
                    unique_id="7")
    settings.update(extra)
    return node.stylize(as_image(frames), as_image([cv2.imread(style)]), **settings)[0]


def test_the_pack_loads_as_comfyui_loads_it_and_declares_its_nodes(comfy):
    pack = load_pack()
    assert set(pack.NODE_CLASS_MAPPINGS) == set(pack.NODE_DISPLAY_NAME_MAPPINGS) == {
        "VidstyleStylizeVideoFrames", "VidstyleStylizeImage"}
    for cls in pack.NODE_CLASS_MAPPINGS.values():
        types = cls.INPUT_TYPES()
        assert types["required"]["style"][0] == "IMAGE" and "preset" in types["required"]
        assert cls.RETURN_TYPES == ("IMAGE",) and callable(getattr(cls(), cls.FUNCTION)) and cls.CATEGORY
    video = pack.NODE_CLASS_MAPPINGS["VidstyleStylizeVideoFrames"].INPUT_TYPES()
    assert video["hidden"] == {"unique_id": "UNIQUE_ID"} and video["required"]["frames"][0] == "IMAGE"


def test_video_node_gives_the_clis_frames_with_cuts_progress_and_previews(comfy, cli_result):
    style, frames, expected = cli_result
    pack = load_pack()
    out = run_video_node(pack, frames, style, new_clip=True)
    assert out.dtype == torch.float32 and tuple(out.shape) == (6, 48, 64, 3)
    for got, want in zip(as_bgr_uint8(out), expected):
        assert np.array_equal(got, want)
    frames_reported = [u for u in comfy.utils.UPDATES if u[2] is not None]
    assert [u[0] for u in frames_reported] == [1, 2, 3, 4, 5, 6] and frames_reported[0][2][0] == "JPEG"


def test_a_clip_fed_in_pieces_continues_warm(comfy, cli_result):
    style, frames, expected = cli_result
    pack = load_pack()
    first = run_video_node(pack, frames[:2], style, new_clip=True)     # a meta batch: frames 0-1 ...
    second = run_video_node(pack, frames[2:], style)                    # ... then 2-5, same node
    for got, want in zip(as_bgr_uint8(torch.cat([first, second])), expected):
        assert np.array_equal(got, want)
    again = run_video_node(pack, frames[2:3], style, new_clip=True)     # asked to start afresh
    assert not np.array_equal(as_bgr_uint8(again)[0], expected[2])


def test_cancel_is_honoured_between_iterations(comfy, cli_result):
    style, frames, _ = cli_result
    pack = load_pack()
    comfy.model_management.INTERRUPT["after_checks"] = 10   # the user presses cancel during frame 2
    with pytest.raises(comfy.model_management.InterruptProcessingException):
        run_video_node(pack, frames, style, new_clip=True)
    assert len([u for u in comfy.utils.UPDATES if u[2] is not None]) == 1


def test_errors_are_vidstyles_with_the_clis_message(comfy, capsys, tmp_path, cli_result):
    style, _, _ = cli_result
    pack = load_pack()
    tiny = [np.zeros((8, 8, 3), np.uint8)] * 2
    with pytest.raises(InputError) as raised:
        run_video_node(pack, tiny, style, new_clip=True)
    cv2.imwrite(str(tmp_path / "tiny.png"), tiny[0])
    assert cli.main([str(tmp_path / "tiny.png"), style, "-o", str(tmp_path / "o.png"), "--device", "cpu"]) == 3
    assert capsys.readouterr().err.strip() == f"vidstyle: error: {raised.value}"


def test_image_node_stylises_each_entry_on_its_own(comfy, cli_result):
    style, frames, _ = cli_result
    pack = load_pack()
    node = pack.NODE_CLASS_MAPPINGS["VidstyleStylizeImage"]()
    batch = as_image(frames[:2])
    out = node.stylize(batch, as_image([cv2.imread(style)]), **SETTINGS, iterations=3)[0]
    alone = node.stylize(batch[1:], as_image([cv2.imread(style)]), **SETTINGS, iterations=3)[0]
    assert tuple(out.shape) == (2, 48, 64, 3) and torch.equal(out[1], alone[0])


def test_the_pack_needs_nothing_of_comfyui(monkeypatch):
    for name in [m for m in sys.modules if m == "comfy" or m.startswith("comfy.")]:
        monkeypatch.delitem(sys.modules, name)
    pack = load_pack("vidstyle_nodes_plain")
    node = pack.NODE_CLASS_MAPPINGS["VidstyleStylizeImage"]()
    from .conftest import make_style
    out = node.stylize(as_image(moving_square(1)), as_image([make_style()]), **SETTINGS, iterations=2)[0]
    assert tuple(out.shape) == (1, 48, 64, 3)
    with open(os.path.join(ROOT, "pyproject.toml")) as handle:
        assert "comfy" not in handle.read().split("[project.optional-dependencies]")[0].split("dependencies")[1]


def test_the_example_workflow_uses_the_packs_nodes():
    with open(os.path.join(PACK, "workflows", "stylize_video.json")) as handle:
        workflow = json.load(handle)
    types = {node["type"] for node in workflow["nodes"]}
    assert {"VHS_LoadVideo", "VidstyleStylizeVideoFrames", "VHS_VideoCombine"} <= types
