"""The node pack in a real ComfyUI, over its HTTP API. Opt-in: skipped unless COMFYUI_DIR is set.

    COMFYUI_DIR=/path/to/ComfyUI [COMFYUI_PYTHON=/path/to/its/python] [VHS_DIR=/path/to/ComfyUI-VideoHelperSuite] \
        python -m pytest -s tests/test_comfyui_real.py

What it does, as a user following the README would: installs the pack's
requirements.txt into ComfyUI's Python and checks that ``pip check`` stays
clean; links the pack (and VideoHelperSuite) into the ``custom_nodes/`` of a
fresh base directory (``--base-directory``, so the ComfyUI checkout is not
touched); starts ``main.py --cpu`` headless; and queues through ``POST
/prompt`` / ``GET /history``: the video workflow (Load Video -> Stylize video
frames -> Video Combine), the image workflow, the shipped example workflow
(converted from the editor's format with ``/object_info``, as the editor
does), a re-queue after a change upstream, a meta batch, a refused size and
a cancel. ``-s`` shows what it measured (versions, seconds, frames).

ComfyUI's Python defaults to ``$COMFYUI_DIR/venv/bin/python``, then this
one; VideoHelperSuite to ``$COMFYUI_DIR/custom_nodes/*VideoHelperSuite*``.
"""

from __future__ import annotations

import glob
import json
import os
import shutil
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request

import cv2
import numpy as np
import pytest

COMFYUI = os.environ.get("COMFYUI_DIR")
pytestmark = pytest.mark.skipif(not COMFYUI, reason="set COMFYUI_DIR to a ComfyUI checkout to run the pack there")

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
PACK = os.path.join(ROOT, "comfyui_vidstyle")
SAMPLES = os.path.join(ROOT, "samples")
SMALL = dict(preset="draft", size=64, style_weight=5.0, seed=0, keep_colors=False)


def say(*words) -> None:
    print("[comfyui]", *words, flush=True)


def _python() -> str:
    given = os.environ.get("COMFYUI_PYTHON")
    if given:
        return given
    venv = os.path.join(COMFYUI, "venv", "bin", "python")
    return venv if os.path.exists(venv) else sys.executable


def _videohelpersuite() -> str | None:
    given = os.environ.get("VHS_DIR")
    if given:
        return given
    found = glob.glob(os.path.join(COMFYUI, "custom_nodes", "*VideoHelperSuite*"))
    return found[0] if found else None


class Server:
    """A ComfyUI started headless on a free port of this machine, with its own base directory."""

    def __init__(self, base: str, python: str):
        with socket.socket() as probe:
            probe.bind(("127.0.0.1", 0))
            self.port = probe.getsockname()[1]
        self.base = base
        self.log = open(os.path.join(base, "comfyui.log"), "w")
        self.proc = subprocess.Popen([python, "main.py", "--cpu", "--listen", "127.0.0.1", "--port", str(self.port),
                                      "--base-directory", base, "--disable-auto-launch",
                                      "--database-url", "sqlite:///:memory:"],
                                     cwd=COMFYUI, stdout=self.log, stderr=subprocess.STDOUT)
        start = time.perf_counter()
        while True:
            try:
                self.object_info = self.get("/object_info")
                break
            except (urllib.error.URLError, ConnectionError, OSError):
                if self.proc.poll() is not None or time.perf_counter() - start > 300:
                    self.stop()
                    raise RuntimeError(f"ComfyUI did not start: {self.tail()}")
                time.sleep(1)
        self.started_in = time.perf_counter() - start

    def tail(self, lines: int = 40) -> str:
        with open(os.path.join(self.base, "comfyui.log")) as handle:
            return "".join(handle.readlines()[-lines:])

    def get(self, path: str):
        with urllib.request.urlopen(f"http://127.0.0.1:{self.port}{path}", timeout=30) as reply:
            return json.loads(reply.read())

    def post(self, path: str, data: dict | None = None):
        request = urllib.request.Request(f"http://127.0.0.1:{self.port}{path}", data=json.dumps(data or {}).encode(),
                                         headers={"Content-Type": "application/json"})
        with urllib.request.urlopen(request, timeout=30) as reply:
            body = reply.read()
            return json.loads(body) if body else None

    def queue(self, prompt: dict) -> str:
        return self.post("/prompt", {"prompt": prompt, "client_id": "vidstyle-tests"})["prompt_id"]

    def refused(self, prompt: dict) -> dict:
        """The error body of a prompt ComfyUI refuses when it is queued."""
        try:
            self.queue(prompt)
        except urllib.error.HTTPError as exc:
            return json.loads(exc.read())
        raise AssertionError("the prompt was accepted")

    def wait(self, prompt_id: str, limit: float = 900) -> tuple[dict, float]:
        start = time.perf_counter()
        while time.perf_counter() - start < limit:
            history = self.get(f"/history/{prompt_id}")
            if prompt_id in history and history[prompt_id].get("status", {}).get("completed") is not None:
                entry = history[prompt_id]
                if entry["status"]["status_str"] != "success" and entry["status"].get("messages"):
                    if not any(m[0] == "execution_interrupted" for m in entry["status"]["messages"]):
                        raise AssertionError(f"ComfyUI failed: {entry['status']['messages']}\n{self.tail()}")
                return entry, time.perf_counter() - start
            if self.proc.poll() is not None:
                raise AssertionError(f"ComfyUI died: {self.tail()}")
            time.sleep(0.1)
        raise AssertionError(f"no result in {limit} s: {self.tail()}")

    def run(self, prompt: dict) -> tuple[dict, float]:
        return self.wait(self.queue(prompt))

    def stop(self) -> None:
        self.proc.terminate()
        try:
            self.proc.wait(timeout=30)
        except subprocess.TimeoutExpired:
            self.proc.kill()
        self.log.close()


@pytest.fixture(scope="module")
def server(tmp_path_factory):
    python = _python()
    vhs = _videohelpersuite()
    if vhs is None:
        pytest.skip("VideoHelperSuite not found: set VHS_DIR or put it in $COMFYUI_DIR/custom_nodes")
    # Installed as the README says: the pack's requirements into ComfyUI's Python, the pack linked.
    done = subprocess.run([python, "-m", "pip", "install", "-q", "-r", os.path.join(PACK, "requirements.txt")],
                          capture_output=True, text=True)
    assert done.returncode == 0, done.stderr
    check = subprocess.run([python, "-m", "pip", "check"], capture_output=True, text=True)
    say("pip check:", check.stdout.strip() or check.stderr.strip())
    assert check.returncode == 0, check.stdout + check.stderr
    base = str(tmp_path_factory.mktemp("comfy"))
    for folder in ("custom_nodes", "input", "output", "temp", "user"):
        os.makedirs(os.path.join(base, folder))
    os.symlink(PACK, os.path.join(base, "custom_nodes", "vidstyle_nodes"))
    os.symlink(vhs, os.path.join(base, "custom_nodes", "ComfyUI-VideoHelperSuite"))
    for name in ("bunny.mp4", "brushstrokes.jpg", "bunny.jpg"):
        shutil.copy(os.path.join(SAMPLES, name), os.path.join(base, "input", name))
    versions = subprocess.run([python, "-c", "import torch, cv2; print(torch.__version__, cv2.__version__)"],
                              capture_output=True, text=True).stdout.split()
    comfy_version = subprocess.run([python, "-c", "import comfyui_version; print(comfyui_version.__version__)"],
                                   capture_output=True, text=True, cwd=COMFYUI).stdout.strip()
    vhs_version = next((line.split("=")[1].strip().strip('"') for line in open(os.path.join(vhs, "pyproject.toml"))
                        if line.startswith("version")), "?")
    srv = Server(base, python)
    say(f"ComfyUI {comfy_version}, VideoHelperSuite {vhs_version}, torch {versions[0]}, OpenCV {versions[1]}; "
        f"started in {srv.started_in:.1f} s")
    yield srv
    srv.stop()


def output_files(server, entry: dict, key: str) -> list[str]:
    files = []
    for output in entry["outputs"].values():
        for item in output.get(key, []):
            files.append(os.path.join(server.base, "output", item.get("subfolder", ""), item["filename"]))
    return files


def decode(path: str) -> tuple[list[np.ndarray], float]:
    cap = cv2.VideoCapture(path)
    fps = cap.get(cv2.CAP_PROP_FPS)
    frames = []
    while True:
        ok, frame = cap.read()
        if not ok:
            break
        frames.append(frame)
    cap.release()
    return frames, fps


def audio_seconds(path: str) -> float:
    """The length of the first audio stream (decoded), 0 without one."""
    import re

    import imageio_ffmpeg
    done = subprocess.run([imageio_ffmpeg.get_ffmpeg_exe(), "-nostdin", "-i", path, "-map", "0:a:0?", "-f", "null",
                           "-"], capture_output=True, text=True)
    found = re.findall(r"time=(\d+):(\d+):([\d.]+)", done.stderr)
    if not found or "Audio" not in done.stderr:
        return 0.0
    h, m, s = found[-1]
    return int(h) * 3600 + int(m) * 60 + float(s)


def video_prompt(frames: int = 6, stylize: dict | None = None, *, batch: int | None = None,
                 take: int | None = None, combine: bool = True, save_prefix: str = "frames") -> dict:
    """Load Video -> [ImageFromBatch] -> Stylize video frames -> Video Combine (+ SaveImage), in API format."""
    prompt = {
        "1": {"class_type": "VHS_LoadVideo", "inputs": {"video": "bunny.mp4", "force_rate": 0, "custom_width": 0,
                                                        "custom_height": 0, "frame_load_cap": frames,
                                                        "skip_first_frames": 0, "select_every_nth": 1}},
        "4": {"class_type": "LoadImage", "inputs": {"image": "brushstrokes.jpg"}},
        "2": {"class_type": "VidstyleStylizeVideoFrames",
              "inputs": {"frames": ["1", 0], "style": ["4", 0], **SMALL, "warm_start": "flow", "temporal_weight": 200.0,
                         "iterations": 20, "warm_iterations": 6, **(stylize or {})}},
        "6": {"class_type": "SaveImage", "inputs": {"images": ["2", 0], "filename_prefix": save_prefix}},
    }
    if take is not None:   # the same frames through one more node: a change upstream that leaves them alone
        prompt["8"] = {"class_type": "ImageFromBatch", "inputs": {"image": ["1", 0], "batch_index": 0, "length": take}}
        prompt["2"]["inputs"]["frames"] = ["8", 0]
    if combine:
        prompt["5"] = {"class_type": "VHS_VideoInfoLoaded", "inputs": {"video_info": ["1", 3]}}
        prompt["3"] = {"class_type": "VHS_VideoCombine",
                       "inputs": {"images": ["2", 0], "audio": ["1", 2], "frame_rate": ["5", 0], "loop_count": 0,
                                  "filename_prefix": "vidstyle", "format": "video/h264-mp4", "pix_fmt": "yuv420p",
                                  "crf": 12, "save_metadata": False, "trim_to_audio": False, "pingpong": False,
                                  "save_output": True}}
    if batch is not None:
        prompt["9"] = {"class_type": "VHS_BatchManager", "inputs": {"frames_per_batch": batch}}
        prompt["1"]["inputs"]["meta_batch"] = ["9", 0]
        prompt["3"]["inputs"]["meta_batch"] = ["9", 0]
    return prompt


def test_the_nodes_are_listed_with_their_inputs(server):
    info = server.object_info["VidstyleStylizeVideoFrames"]
    assert info["input_order"]["required"][:3] == ["frames", "style", "preset"]
    assert "first_frame" in info["input_order"]["optional"]
    assert "VidstyleStylizeImage" in server.object_info
    templates = server.get("/api/workflow_templates")   # the template browser's list
    assert ["stylize_video"] in templates.values(), templates


def test_the_video_workflow_gives_stylised_steady_frames_at_the_clips_rate(server):
    entry, seconds = server.run(video_prompt(6))
    videos = output_files(server, entry, "gifs")
    pictures = sorted(output_files(server, entry, "images"))
    frames, fps = decode(videos[0])
    source, source_fps = decode(os.path.join(SAMPLES, "bunny.mp4"))
    say(f"video workflow: {len(frames)} frames at {fps:g} fps in {seconds:.1f} s "
        f"({frames[0].shape[1]}x{frames[0].shape[0]}), sound {audio_seconds(videos[0]):.2f} s")
    assert len(frames) == len(pictures) == 6 and fps == pytest.approx(source_fps)
    small = [cv2.resize(f, (frames[0].shape[1], frames[0].shape[0]), interpolation=cv2.INTER_AREA) for f in source[:6]]
    assert all(np.abs(a.astype(float) - b).mean() > 10 for a, b in zip(frames, small))   # stylised
    steps = [np.abs(frames[i + 1].astype(float) - frames[i]).mean() for i in range(5)]
    assert max(steps) < 20   # steady: no frame jumps like an independently stylised one
    assert audio_seconds(videos[0]) == pytest.approx(6 / source_fps, abs=0.1)


def test_a_requeue_after_a_change_upstream_gives_the_frames_of_a_fresh_run(server):
    fresh, _ = server.run(video_prompt(6, combine=False, save_prefix="fresh"))
    changed, _ = server.run(video_prompt(7, combine=False, take=6, save_prefix="changed"))
    a = [cv2.imread(p) for p in sorted(output_files(server, fresh, "images"))]
    b = [cv2.imread(p) for p in sorted(output_files(server, changed, "images"))]
    say(f"re-queue after a change upstream: {len(b)} frames, largest difference to a fresh run "
        f"{max(np.abs(x.astype(int) - y).max() for x, y in zip(a, b))}")
    assert len(a) == len(b) == 6 and all(np.array_equal(x, y) for x, y in zip(a, b))


def test_meta_batch_pieces_give_the_frames_of_one_batch(server):
    whole, _ = server.run(video_prompt(6, save_prefix="whole"))
    pieces, seconds = server.run(video_prompt(6, batch=2, save_prefix="pieces"))
    # The Meta Batch Manager re-queues the graph once per piece; wait for the last piece's run.
    deadline = time.perf_counter() + 600
    while server.get("/queue")["queue_running"] or server.get("/queue")["queue_pending"]:
        assert time.perf_counter() < deadline
        time.sleep(0.5)
    history = server.get("/history")
    pieces_pngs = sorted(p for p in glob.glob(os.path.join(server.base, "output", "pieces_*.png")))
    whole_pngs = sorted(output_files(server, whole, "images"))
    runs = sum(1 for e in history.values() if any(n.get("class_type") == "VHS_BatchManager"
                                                  for n in e["prompt"][2].values()))
    say(f"meta batch of 2: {runs} runs, {len(pieces_pngs)} frames")
    assert runs == 3 and len(pieces_pngs) == 6
    for x, y in zip(whole_pngs, pieces_pngs):
        assert np.array_equal(cv2.imread(x), cv2.imread(y))


def test_the_image_workflow(server):
    prompt = {"1": {"class_type": "LoadImage", "inputs": {"image": "bunny.jpg"}},
              "4": {"class_type": "LoadImage", "inputs": {"image": "brushstrokes.jpg"}},
              "2": {"class_type": "VidstyleStylizeImage", "inputs": {"image": ["1", 0], "style": ["4", 0], **SMALL,
                                                                      "iterations": 30}},
              "3": {"class_type": "SaveImage", "inputs": {"images": ["2", 0], "filename_prefix": "still"}}}
    entry, seconds = server.run(prompt)
    out = cv2.imread(output_files(server, entry, "images")[0])
    content = cv2.imread(os.path.join(SAMPLES, "bunny.jpg"))
    small = cv2.resize(content, (out.shape[1], out.shape[0]), interpolation=cv2.INTER_AREA)
    say(f"image workflow: {out.shape[1]}x{out.shape[0]} in {seconds:.1f} s")
    assert max(out.shape[:2]) == 64 and np.abs(out.astype(float) - small).mean() > 10


def test_the_image_workflow_with_a_mask_from_load_images_alpha(server):
    """LoadImage's MASK (1 - alpha: ComfyUI's convention) limits the style: the left half painted, the right kept."""
    content = cv2.resize(cv2.imread(os.path.join(SAMPLES, "bunny.jpg")), (128, 72), interpolation=cv2.INTER_AREA)
    alpha = np.full(content.shape[:2], 255, np.uint8)
    alpha[:, : content.shape[1] // 2] = 0                       # transparent left half: MASK 1 there
    cv2.imwrite(os.path.join(server.base, "input", "bunny_matte.png"), np.dstack([content, alpha]))
    prompt = {"1": {"class_type": "LoadImage", "inputs": {"image": "bunny_matte.png"}},
              "4": {"class_type": "LoadImage", "inputs": {"image": "brushstrokes.jpg"}},
              "2": {"class_type": "VidstyleStylizeImage", "inputs": {"image": ["1", 0], "style": ["4", 0],
                                                                      "mask": ["1", 1], **SMALL, "size": 128,
                                                                      "iterations": 20}},
              "3": {"class_type": "SaveImage", "inputs": {"images": ["2", 0], "filename_prefix": "masked"}}}
    entry, seconds = server.run(prompt)
    out = cv2.imread(output_files(server, entry, "images")[0]).astype(float)
    assert out.shape == content.shape                          # at the input's size: the input, bit for bit
    half = content.shape[1] // 2
    kept = np.abs(out[:, half + 2:] - content[:, half + 2:]).mean()
    painted = np.abs(out[:, : half - 2] - content[:, : half - 2]).mean()
    say(f"masked image workflow: {out.shape[1]}x{out.shape[0]} in {seconds:.1f} s; right half off the input by "
        f"{kept:.2f}, left half by {painted:.1f} (of 255)")
    assert kept == 0 and painted > 5


def test_a_tile_runs_the_image_in_tiles_and_a_bad_one_is_refused_when_queued(server):
    """The ``tile`` input reaches the engine: tiles of 128 on a 320 px still give a picture as good as the untiled
    one (style and content loss within 10%, vidstyle's judge) and close to it, not its exact bytes; a tile below
    its halo is refused when queued."""
    def still(tile: str, prefix: str) -> np.ndarray:
        prompt = {"1": {"class_type": "LoadImage", "inputs": {"image": "bunny.jpg"}},
                  "4": {"class_type": "LoadImage", "inputs": {"image": "brushstrokes.jpg"}},
                  "2": {"class_type": "VidstyleStylizeImage", "inputs": {"image": ["1", 0], "style": ["4", 0],
                                                                          **SMALL, "size": 320, "iterations": 8,
                                                                          "tile": tile}},
                  "3": {"class_type": "SaveImage", "inputs": {"images": ["2", 0], "filename_prefix": prefix}}}
        entry, seconds = server.run(prompt)
        say(f"image workflow, tile {tile}: {seconds:.1f} s")
        return cv2.imread(output_files(server, entry, "images")[0]).astype(float)

    from vidstyle import images, metrics
    tiled, whole = still("128", "tiled"), still("0", "whole")
    content = images.resize(images.read_image(os.path.join(SAMPLES, "bunny.jpg")).pixels, (180, 320)) * 255
    apart, stylised = np.abs(tiled - whole).mean(), np.abs(tiled - content).mean()
    judge = metrics.judge([images.read_image(os.path.join(SAMPLES, "brushstrokes.jpg")).pixels])
    losses = [metrics.frame_losses(judge, (x / 255).astype(np.float32), content / 255) for x in (tiled, whole)]
    say(f"tiles of 128 against none: {apart:.3f} levels apart on average; stylised by {stylised:.1f}; "
        f"style {losses[0]['style']:.4f} / {losses[1]['style']:.4f}, content {losses[0]['content']:.4f} / "
        f"{losses[1]['content']:.4f}")
    assert tiled.shape == whole.shape == content.shape and stylised > 10
    # Not the untiled bytes, nor its path: with average pooling a 64 px halo leaves a relative gradient error
    # of 6e-4 at this size, and eight L-BFGS steps carry it to 2.5 levels apart, spread over the picture, not
    # at the cuts (about 1 level with max pooling, 0.08 with a halo of 80 px; docs/DEVELOPING.md, "Tiles").
    # What must hold is the picture's quality.
    assert 0 < apart < 0.2 * stylised
    for name in ("style", "content"):
        assert losses[0][name] == pytest.approx(losses[1][name], rel=0.1)
    prompt = {"1": {"class_type": "LoadImage", "inputs": {"image": "bunny.jpg"}},
              "4": {"class_type": "LoadImage", "inputs": {"image": "brushstrokes.jpg"}},
              "2": {"class_type": "VidstyleStylizeImage", "inputs": {"image": ["1", 0], "style": ["4", 0], **SMALL,
                                                                      "tile": "20"}},
              "3": {"class_type": "SaveImage", "inputs": {"images": ["2", 0], "filename_prefix": "refused"}}}
    assert "halo" in json.dumps(server.refused(prompt))


def test_a_style_schedule_changes_the_style_inside_the_clip(server):
    """A style batch of two (core's Batch Images) and the schedule 0=1,3=2: frames 0-2 as with style 1 alone."""
    shutil.copy(os.path.join(SAMPLES, "mosaic.png"), os.path.join(server.base, "input", "mosaic.png"))
    plain, _ = server.run(video_prompt(6, combine=False, save_prefix="one_style"))
    prompt = video_prompt(6, {"style": ["11", 0], "style_schedule": "0=1,3=2", "style_fade": 2}, combine=False,
                          save_prefix="scheduled")
    prompt["10"] = {"class_type": "LoadImage", "inputs": {"image": "mosaic.png"}}
    prompt["11"] = {"class_type": "ImageBatch", "inputs": {"image1": ["4", 0], "image2": ["10", 0]}}
    scheduled, seconds = server.run(prompt)
    a = [cv2.imread(p) for p in sorted(output_files(server, plain, "images"))]
    b = [cv2.imread(p) for p in sorted(output_files(server, scheduled, "images"))]
    moved = [float(np.abs(x.astype(float) - y).mean()) for x, y in zip(a, b)]
    steps = [float(np.abs(b[i + 1].astype(float) - b[i]).mean()) for i in range(5)]
    say(f"style schedule 0=1,3=2 (fade 2): {len(b)} frames in {seconds:.1f} s; off the one-style run by "
        + ", ".join(f"{m:.1f}" for m in moved) + "; frame to frame " + ", ".join(f"{d:.1f}" for d in steps))
    assert len(b) == 6 and moved[:3] == [0.0, 0.0, 0.0] and min(moved[3:]) > 1
    assert max(steps) < 20   # the change fades in: no frame jumps


def to_api(workflow: dict, object_info: dict) -> dict:
    """The editor's workflow format -> the API's prompt, as ComfyUI's frontend converts it."""
    links = {link[0]: link for link in workflow["links"]}
    prompt = {}
    for node in workflow["nodes"]:
        info = object_info[node["type"]]
        linked = {i["name"]: [str(links[i["link"]][1]), links[i["link"]][2]]
                  for i in node.get("inputs", []) if i.get("link") is not None}
        values = node.get("widgets_values", [])
        inputs = {}
        if isinstance(values, dict):   # VideoHelperSuite keeps its widgets by name
            inputs = {k: v for k, v in values.items() if k != "videopreview"}
        else:
            specs = {**info["input"]["required"], **info["input"].get("optional", {})}
            remaining = iter(values)
            for name in info["input_order"]["required"] + info["input_order"].get("optional", []):
                kind, extra = specs[name][0], (specs[name][1] if len(specs[name]) > 1 else {})
                if isinstance(kind, list) or kind in ("INT", "FLOAT", "STRING", "BOOLEAN", "COMBO"):
                    value = next(remaining, None)
                    if value is not None:
                        inputs[name] = value
                    if name in ("seed", "noise_seed") or extra.get("control_after_generate"):
                        next(remaining, None)   # the "fixed / randomize" widget the editor adds
                    if extra.get("image_upload"):
                        next(remaining, None)   # the upload button's value
        inputs.update(linked)
        prompt[str(node["id"])] = {"class_type": node["type"], "inputs": inputs}
    return prompt


def test_the_shipped_workflow_runs_and_plays_at_the_clips_rate(server):
    with open(os.path.join(PACK, "example_workflows", "stylize_video.json")) as handle:
        prompt = to_api(json.load(handle), server.object_info)
    prompt["2"]["inputs"]["preset"] = "draft"    # the workflow as shipped, faster: draft's budgets at 256 px
    entry, seconds = server.run(prompt)
    video = output_files(server, entry, "gifs")[0]
    frames, fps = decode(video)
    source, source_fps = decode(os.path.join(SAMPLES, "bunny.mp4"))
    say(f"shipped workflow (draft preset): {len(frames)} frames at {fps:g} fps (source {source_fps:g}), "
        f"{frames[0].shape[1]}x{frames[0].shape[0]}, sound {audio_seconds(video):.2f} s, {seconds:.1f} s")
    assert len(frames) == len(source) and fps == pytest.approx(source_fps)
    assert audio_seconds(video) == pytest.approx(len(source) / source_fps, abs=0.1)


def test_a_size_that_cannot_work_is_refused_when_queued(server):
    prompt = video_prompt(2, {"size": 8}, combine=False)
    error = server.refused(prompt)
    text = json.dumps(error)
    say("size 8 refused:", error["node_errors"]["2"]["errors"][0]["details"])
    assert "size must be 0" in text


def test_cancel_stops_the_run_between_iterations(server):
    prompt = {"1": {"class_type": "LoadImage", "inputs": {"image": "bunny.jpg"}},
              "4": {"class_type": "LoadImage", "inputs": {"image": "brushstrokes.jpg"}},
              "2": {"class_type": "VidstyleStylizeImage", "inputs": {"image": ["1", 0], "style": ["4", 0],
                                                                      **{**SMALL, "preset": "standard", "size": 256},
                                                                      "iterations": 5000}},
              "3": {"class_type": "SaveImage", "inputs": {"images": ["2", 0], "filename_prefix": "cancelled"}}}
    prompt_id = server.queue(prompt)
    while not server.get("/queue")["queue_running"]:
        time.sleep(0.1)
    time.sleep(4)   # into the optimisation (its early stop needs far longer at this tolerance)
    pressed = time.perf_counter()
    server.post("/interrupt")
    entry, _ = server.wait(prompt_id)
    stopped = time.perf_counter() - pressed
    say(f"cancel: the run ended {stopped:.2f} s after /interrupt ({entry['status']['status_str']})")
    assert any(m[0] == "execution_interrupted" for m in entry["status"]["messages"])
    assert stopped < 3
