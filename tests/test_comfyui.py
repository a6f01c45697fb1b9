"""The ComfyUI node pack, loaded the way ComfyUI loads a custom_nodes folder, against stand-in comfy modules.

The stand-ins (tests/comfy_stubs) model what ComfyUI does that matters to a
node (see their docstring), and ``execute`` runs a node as ComfyUI's
executor does: inside ``torch.inference_mode()``. tests/test_comfyui_real.py
runs the same pack in a real ComfyUI when one is there.
"""

from __future__ import annotations

import importlib.util
import json
import logging
import os
import subprocess
import sys

import cv2
import numpy as np
import pytest
import tomllib
import torch

from vidstyle import ConfigError, InputError, VideoOptions, cli

from .conftest import ROOT, moving_square, sequence, two_shot_frames

PACK = os.path.join(ROOT, "comfyui_vidstyle")
STUBS = os.path.join(os.path.dirname(os.path.abspath(__file__)), "comfy_stubs")
SETTINGS = dict(preset="standard", size=64, style_weight=5.0, seed=0, keep_colors=False)


def load_pack(name="vidstyle_nodes"):
    """What ComfyUI does with custom_nodes/<name>/: import its __init__.py as a module of its own."""
    spec = importlib.util.spec_from_file_location(name, os.path.join(PACK, "__init__.py"))
    module = importlib.util.module_from_spec(spec)
    sys.modules[name] = module
    spec.loader.exec_module(module)
    return module


def nodes_of(pack):
    """The pack's nodes module (a second load of the pack reuses it)."""
    return sys.modules[pack.NODE_CLASS_MAPPINGS["VidstyleStylizeImage"].__module__]


def execute(node, **inputs):
    """Run a node the way ComfyUI's executor does (execution.py): inside torch.inference_mode()."""
    with torch.inference_mode():
        return getattr(node, node.FUNCTION)(**inputs)


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
    comfy.model_management.DEVICE["device"] = torch.device("cpu")
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
    settings = dict(SETTINGS, warm_start="flow", temporal_weight=VideoOptions().temporal_weight, iterations=8,
                    warm_iterations=4, unique_id="7")
    settings.update(extra)
    return execute(node, frames=as_image(frames), style=as_image([cv2.imread(style)]), **settings)[0]


def meta_batch_prompt(requeue: int) -> dict:
    """The API prompt of a workflow with VideoHelperSuite's Meta Batch Manager, at its ``requeue``-th run."""
    return {"9": {"class_type": "VHS_BatchManager", "inputs": {"frames_per_batch": 2, "requeue": requeue}},
            "7": {"class_type": "VidstyleStylizeVideoFrames", "inputs": {}}}


def test_the_pack_loads_as_comfyui_loads_it_and_declares_its_nodes(comfy):
    pack = load_pack()
    assert set(pack.NODE_CLASS_MAPPINGS) == set(pack.NODE_DISPLAY_NAME_MAPPINGS) == {
        "VidstyleStylizeVideoFrames", "VidstyleStylizeImage"}
    for cls in pack.NODE_CLASS_MAPPINGS.values():
        types = cls.INPUT_TYPES()
        assert types["required"]["style"][0] == "IMAGE" and "preset" in types["required"]
        assert cls.RETURN_TYPES == ("IMAGE",) and callable(getattr(cls(), cls.FUNCTION)) and cls.CATEGORY
    video = pack.NODE_CLASS_MAPPINGS["VidstyleStylizeVideoFrames"].INPUT_TYPES()
    assert video["hidden"] == {"unique_id": "UNIQUE_ID", "prompt": "PROMPT"}
    assert video["required"]["frames"][0] == "IMAGE"
    # Saved workflows refer to these names: they only ever grow, by optional inputs.
    assert list(video["required"]) == ["frames", "style", "preset", "size", "style_weight", "seed", "keep_colors",
                                       "warm_start", "temporal_weight"]
    assert list(video["optional"])[:3] == ["iterations", "warm_iterations", "new_clip"]
    assert list(video["optional"])[-4:] == ["mask", "style_schedule", "style_fade", "tile"]   # in the order they came
    assert video["optional"]["mask"][0] == "MASK" and video["optional"]["style_schedule"][0] == "STRING"
    from vidstyle.options import WARM_STARTS
    assert video["required"]["warm_start"][0] == list(WARM_STARTS)   # the library's choices


def test_the_library_comes_from_the_checkout_the_pack_is_linked_from(tmp_path):
    """ComfyUI's Python need not have vidstyle installed: the pack loads the library beside it."""
    nodes = tmp_path / "custom_nodes"
    nodes.mkdir()
    os.symlink(PACK, nodes / "vidstyle_nodes")
    code = ("import importlib.util, sys; "
            f"spec = importlib.util.spec_from_file_location('vidstyle_nodes', {str(nodes / 'vidstyle_nodes' / '__init__.py')!r}); "
            "m = importlib.util.module_from_spec(spec); sys.modules['vidstyle_nodes'] = m; spec.loader.exec_module(m); "
            "print(sys.modules['vidstyle'].__file__)")
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, cwd=tmp_path, timeout=120)
    assert done.returncode == 0, done.stderr
    assert done.stdout.strip() == os.path.join(ROOT, "vidstyle", "__init__.py")


def test_video_node_gives_the_clis_frames_inside_inference_mode(comfy, cli_result):
    style, frames, expected = cli_result
    pack = load_pack()
    out = run_video_node(pack, frames, style)
    assert out.dtype == torch.float32 and tuple(out.shape) == (6, 48, 64, 3)
    for got, want in zip(as_bgr_uint8(out), expected):
        assert np.array_equal(got, want)
    previews = [u for u in comfy.utils.UPDATES if u[2] is not None]
    steps = nodes_of(pack).STEPS_PER_FRAME
    assert [u[0] for u in previews] == [steps * k for k in range(1, 7)] and previews[0][2][0] == "JPEG"
    assert all(u[1] == 6 * steps and u[3] == "7" for u in comfy.utils.UPDATES)
    values = [u[0] for u in comfy.utils.UPDATES]
    assert values == sorted(values) and len(values) > 6 * 2   # moves with the iterations, never back


def test_a_new_run_after_a_change_upstream_gives_the_frames_of_a_fresh_run(comfy, cli_result):
    style, frames, expected = cli_result
    pack = load_pack()
    run_video_node(pack, frames[:3], style)             # a run of the workflow ...
    again = run_video_node(pack, frames[:3], style)     # ... queued again after a change upstream
    for got, want in zip(as_bgr_uint8(again), expected[:3]):
        assert np.array_equal(got, want)


def test_meta_batch_pieces_continue_warm_and_give_the_frames_of_one_batch(comfy, cli_result):
    style, frames, expected = cli_result
    pack = load_pack()
    pieces = [run_video_node(pack, frames[i:i + 2], style, prompt=meta_batch_prompt(i // 2)) for i in (0, 2, 4)]
    for got, want in zip(as_bgr_uint8(torch.cat(pieces)), expected):
        assert np.array_equal(got, want)
    # The workflow queued anew (requeue 0) starts the clip again.
    first = run_video_node(pack, frames[2:4], style, prompt=meta_batch_prompt(0))
    assert not np.array_equal(as_bgr_uint8(first)[0], expected[2])
    # new_clip starts afresh even inside a meta batch.
    run_video_node(pack, frames[:2], style, prompt=meta_batch_prompt(0))
    fresh = run_video_node(pack, frames[2:4], style, prompt=meta_batch_prompt(1), new_clip=True)
    assert np.array_equal(as_bgr_uint8(fresh)[0], as_bgr_uint8(first)[0])


def test_a_host_feeding_one_clip_in_several_runs_gives_first_frame(comfy, cli_result):
    style, frames, expected = cli_result
    pack = load_pack()
    first = run_video_node(pack, frames[:2], style)
    second = run_video_node(pack, frames[2:], style, first_frame=2)
    for got, want in zip(as_bgr_uint8(torch.cat([first, second])), expected):
        assert np.array_equal(got, want)
    with pytest.raises(ConfigError, match="first_frame is 4 but this node has stylised 6"):
        run_video_node(pack, frames[4:], style, first_frame=4)
    with pytest.raises(ConfigError, match="no clip to continue"):   # the failed run left nothing to continue
        run_video_node(pack, frames[4:], style, first_frame=6)


def test_cancel_stops_between_iterations_and_the_next_run_starts_afresh(comfy, cli_result):
    style, frames, expected = cli_result
    pack = load_pack()
    assert not issubclass(comfy.model_management.InterruptProcessingException, Exception)
    comfy.model_management.INTERRUPT["after_checks"] = 20   # cancel during frame 2 (17 checks in frame 1)
    with pytest.raises(comfy.model_management.InterruptProcessingException):
        run_video_node(pack, frames, style, prompt=meta_batch_prompt(0))
    assert len([u for u in comfy.utils.UPDATES if u[2] is not None]) == 1
    # A meta-batch piece after a cancel does not continue the broken run.
    again = run_video_node(pack, frames[:2], style, prompt=meta_batch_prompt(1))
    for got, want in zip(as_bgr_uint8(again), expected[:2]):
        assert np.array_equal(got, want)


def test_a_device_vidstyle_cannot_use_falls_back_to_the_cpu_with_a_warning(comfy, cli_result, caplog):
    style, frames, expected = cli_result
    pack = load_pack()
    comfy.model_management.DEVICE["device"] = torch.device("xpu")
    with caplog.at_level(logging.WARNING, logger="vidstyle.comfyui"):
        out = run_video_node(pack, frames[:1], style)
    assert np.array_equal(as_bgr_uint8(out)[0], expected[0])
    assert any("xpu" in r.getMessage() and "CPU" in r.getMessage() for r in caplog.records)


def test_sizes_that_can_never_work_are_refused_when_queued(comfy):
    pack = load_pack()
    for cls in pack.NODE_CLASS_MAPPINGS.values():
        assert cls.VALIDATE_INPUTS(size=0) is True and cls.VALIDATE_INPUTS(size=16) is True
        for bad in (1, 15, 9000):
            assert "size must be 0" in cls.VALIDATE_INPUTS(size=bad)


def test_a_tile_is_the_clis_tile_and_bad_ones_are_refused_when_queued(comfy, cli_result, tmp_path):
    """The optional ``tile`` input is ``--tile``: the image node's picture equals the CLI's with the same tile."""
    style, _, _ = cli_result
    still = cv2.resize(moving_square(1)[0], (320, 96), interpolation=cv2.INTER_CUBIC)
    cv2.imwrite(str(tmp_path / "still.png"), still)
    common = ["--size", "320", "--iterations", "3", "--device", "cpu", "-q"]
    assert cli.main([str(tmp_path / "still.png"), style, "-o", str(tmp_path / "tiled.png"), "--tile", "128",
                     *common]) == 0
    pack = load_pack()
    node = pack.NODE_CLASS_MAPPINGS["VidstyleStylizeImage"]()
    settings = dict(SETTINGS, size=320, iterations=3)
    tiled = as_bgr_uint8(execute(node, image=as_image([still]), style=as_image([cv2.imread(style)]), tile="128",
                                 **settings)[0])[0]
    whole = as_bgr_uint8(execute(node, image=as_image([still]), style=as_image([cv2.imread(style)]), tile="0",
                                 **settings)[0])[0]
    assert np.array_equal(tiled, cv2.imread(str(tmp_path / "tiled.png")))
    # the input reached the engine: 3 tiles whose halo does not cover the image are not bit-equal to one pass
    assert not np.array_equal(tiled, whole)
    for cls in pack.NODE_CLASS_MAPPINGS.values():
        assert cls.VALIDATE_INPUTS(size=0, tile="auto") is True and cls.VALIDATE_INPUTS(size=0, tile=" 512") is True
        assert cls.VALIDATE_INPUTS(size=0, tile="") is True   # empty: the default
        assert "halo" in cls.VALIDATE_INPUTS(size=0, tile="20")
        assert "'auto'" in cls.VALIDATE_INPUTS(size=0, tile="big")


def test_errors_are_vidstyles_with_the_clis_message(comfy, capsys, tmp_path, cli_result):
    style, _, _ = cli_result
    pack = load_pack()
    tiny = [np.zeros((8, 8, 3), np.uint8)] * 2
    with pytest.raises(InputError) as raised:
        run_video_node(pack, tiny, style)
    cv2.imwrite(str(tmp_path / "tiny.png"), tiny[0])
    assert cli.main([str(tmp_path / "tiny.png"), style, "-o", str(tmp_path / "o.png"), "--device", "cpu"]) == 3
    assert capsys.readouterr().err.strip() == f"vidstyle: error: {raised.value}"


def test_image_node_stylises_each_entry_on_its_own_with_progress_per_iteration(comfy, cli_result):
    style, frames, _ = cli_result
    pack = load_pack()
    node = pack.NODE_CLASS_MAPPINGS["VidstyleStylizeImage"]()
    batch = as_image(frames[:2])
    out = execute(node, image=batch, style=as_image([cv2.imread(style)]), **SETTINGS, iterations=3, unique_id="3")[0]
    steps = nodes_of(pack).STEPS_PER_FRAME
    within_first = [u for u in comfy.utils.UPDATES if u[0] < steps]
    assert len(within_first) == 3 and all(u[2] is None for u in within_first)   # one per iteration
    alone = execute(node, image=batch[1:], style=as_image([cv2.imread(style)]), **SETTINGS, iterations=3)[0]
    assert tuple(out.shape) == (2, 48, 64, 3) and torch.equal(out[1], alone[0])


def test_a_mask_limits_the_style_and_leaves_the_frames_elsewhere_as_they_are(comfy, cli_result):
    style, frames, _ = cli_result
    pack = load_pack()
    batch = as_image(frames[:2])
    mask = torch.zeros(48, 64)
    mask[:, :32] = 1.0                                  # ComfyUI's MASK: [H, W] or [B, H, W], float 0..1
    for name, inputs in (("VidstyleStylizeImage", dict(image=batch, iterations=6)),
                         ("VidstyleStylizeVideoFrames", dict(frames=batch, iterations=6, warm_iterations=3,
                                                             warm_start="flow", temporal_weight=100.0))):
        node = pack.NODE_CLASS_MAPPINGS[name]()
        out = execute(node, style=as_image([cv2.imread(style)]), **SETTINGS, mask=mask, unique_id="5", **inputs)[0]
        assert torch.equal(out[:, :, 32:], batch[:, :, 32:])              # the frames themselves
        assert (out[:, :, :32] - batch[:, :, :32]).abs().mean() > 0.01     # stylised
    with pytest.raises(ConfigError, match="size"):
        execute(pack.NODE_CLASS_MAPPINGS["VidstyleStylizeImage"](), image=batch, style=as_image([cv2.imread(style)]),
                **SETTINGS, mask=torch.ones(3, 20, 20))


def test_a_style_schedule_gives_the_frames_of_the_clis_style_track(comfy, cli_result, tmp_path):
    style, frames, expected = cli_result
    from .conftest import make_style
    other = str(tmp_path / "other.png")
    cv2.imwrite(other, np.ascontiguousarray(make_style()[:, ::-1, ::-1]))
    pattern = sequence(tmp_path / "in", frames)   # numbered 1001..: the node counts clip frames from 0
    assert cli.main([pattern, style, "-o", str(tmp_path / "o.####.png"), "--size", "64", "--iterations", "8",
                     "--warm-iterations", "4", "--device", "cpu", "-q", "--style-at", f"1002={other}",
                     "--style-fade", "2"]) == 0
    tracked = [cv2.imread(str(tmp_path / f"o.{1001 + i}.png")) for i in range(len(frames))]
    pack = load_pack()
    node = pack.NODE_CLASS_MAPPINGS["VidstyleStylizeVideoFrames"]()
    settings = dict(SETTINGS, warm_start="flow", temporal_weight=VideoOptions().temporal_weight, iterations=8,
                    warm_iterations=4, unique_id="8")
    out = execute(node, frames=as_image(frames), style=as_image([cv2.imread(style), cv2.imread(other)]),
                  style_schedule="0=1, 1=2", style_fade=2, **settings)[0]
    got = as_bgr_uint8(out)
    assert all(np.array_equal(a, b) for a, b in zip(got, tracked))
    assert np.array_equal(got[0], expected[0]) and not np.array_equal(got[2], expected[2])
    for bad, says in (("0=3", "has 2 image"), ("x=1", "FRAME=N"), ("1=1,1=2", "two style keys")):
        with pytest.raises(ConfigError, match=says):
            execute(node, frames=as_image(frames[:1]), style=as_image([cv2.imread(style), cv2.imread(other)]),
                    style_schedule=bad, **settings)


def test_the_pack_needs_nothing_of_comfyui(monkeypatch):
    for name in [m for m in sys.modules if m == "comfy" or m.startswith("comfy.")]:
        monkeypatch.delitem(sys.modules, name)
    pack = load_pack("vidstyle_nodes_plain")
    node = pack.NODE_CLASS_MAPPINGS["VidstyleStylizeImage"]()
    from .conftest import make_style
    out = execute(node, image=as_image(moving_square(1)), style=as_image([make_style()]), **SETTINGS,
                  iterations=2)[0]
    assert tuple(out.shape) == (1, 48, 64, 3)


def test_installing_the_pack_adds_no_opencv_build_and_nothing_of_comfyui():
    """requirements.txt (what ComfyUI Manager installs) is vidstyle's dependencies without an OpenCV build."""
    with open(os.path.join(ROOT, "pyproject.toml"), "rb") as handle:
        library = tomllib.load(handle)["project"]["dependencies"]
    with open(os.path.join(PACK, "pyproject.toml"), "rb") as handle:
        registry = tomllib.load(handle)["project"]["dependencies"]
    with open(os.path.join(PACK, "requirements.txt")) as handle:
        wanted = [line.strip() for line in handle if line.strip() and not line.startswith("#")]
    assert wanted == [d for d in library if not d.startswith("opencv")] == registry
    assert not any("opencv" in d or "comfy" in d for d in wanted)
    assert not any("comfy" in d for d in library)


def _widget_inputs(cls) -> list[str]:
    """The inputs a saved workflow stores in widgets_values, in order (IMAGE sockets are not widgets)."""
    types = cls.INPUT_TYPES()
    names = []
    for group in ("required", "optional"):
        for name, spec in types.get(group, {}).items():
            if isinstance(spec[0], list) or spec[0] in ("INT", "FLOAT", "BOOLEAN", "STRING"):
                names.append(name)
                if name == "seed":
                    names.append("control_after_generate")   # the frontend adds it after a seed
    return names


def test_the_example_workflow_matches_the_nodes_and_plays_at_the_clips_rate(comfy):
    folder = os.path.join(PACK, "example_workflows")
    assert os.listdir(folder) == ["stylize_video.json"]   # where ComfyUI's template browser looks
    with open(os.path.join(folder, "stylize_video.json")) as handle:
        workflow = json.load(handle)
    nodes = {n["id"]: n for n in workflow["nodes"]}
    types = {n["type"] for n in nodes.values()}
    assert {"VHS_LoadVideo", "VidstyleStylizeVideoFrames", "VHS_VideoCombine", "VHS_VideoInfoLoaded"} <= types
    pack = load_pack()
    stylize = next(n for n in nodes.values() if n["type"] == "VidstyleStylizeVideoFrames")
    assert len(stylize["widgets_values"]) == len(_widget_inputs(pack.NODE_CLASS_MAPPINGS["VidstyleStylizeVideoFrames"]))
    # Video Combine's frame rate comes from Load Video's video info, not a number that fits one clip.
    links = {link[0]: link for link in workflow["links"]}
    combine = next(n for n in nodes.values() if n["type"] == "VHS_VideoCombine")
    rate = next(i for i in combine["inputs"] if i["name"] == "frame_rate")
    source = nodes[links[rate["link"]][1]]
    assert source["type"] == "VHS_VideoInfoLoaded" and links[rate["link"]][2] == 0   # its fps output
    assert nodes[links[source["inputs"][0]["link"]][1]]["type"] == "VHS_LoadVideo"
