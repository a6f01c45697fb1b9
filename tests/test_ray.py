"""The Ray backend on a local Ray started here with 2 CPUs: same frames as a serial run, retries, failures."""

from __future__ import annotations

import os
import sys

import cv2
import numpy as np
import pytest
import ray
import torch

import vidstyle
from vidstyle import cli
from vidstyle.media import probe
from vidstyle.ray_backend import ChunkFailed, render_chunk, run_on_ray

from .conftest import OPTS, VOPTS, digest, make_style, moving_square, two_shots, write_clip

NUMBERS = range(1001, 1007)


@pytest.fixture(scope="module")
def local_ray():
    ray.init(num_cpus=2, include_dashboard=False, log_to_driver=False, logging_level="ERROR")
    # The runners below live in this test module, which Ray's workers cannot
    # import: ship them by value.
    ray.cloudpickle.register_pickle_by_value(sys.modules[__name__])
    yield
    ray.shutdown()


@pytest.fixture(scope="module")
def shots(tmp_path_factory):
    """Two 3-frame shots, a style, and the frames of one serial run: (pattern, style, {number: digest})."""
    folder = tmp_path_factory.mktemp("shots")
    style = str(folder / "style.png")
    cv2.imwrite(style, make_style())
    pattern = two_shots(folder / "in")
    serial_run(pattern, style, str(folder / "serial.####.png"), VOPTS)
    return pattern, style, digests(folder, "serial")


def serial_run(pattern, style, output, video) -> None:
    """The reference: one torch thread, as each Ray task has (README: determinism)."""
    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    try:
        vidstyle.stylize_video(pattern, style, output, OPTS, video)
    finally:
        torch.set_num_threads(threads)


def digests(folder, prefix):
    return [digest(os.path.join(folder, f"{prefix}.{n}.png")) for n in NUMBERS]


def test_chunks_on_ray_equal_a_serial_run(local_ray, shots, tmp_path):
    pattern, style, serial = shots
    seen = []
    run = run_on_ray(pattern, style, str(tmp_path / "ray.####.png"), OPTS, VOPTS, chunk_size=3,
                     callback=seen.append)
    assert [(c.frames, c.starts_at_cut) for c in run.plan.chunks] == [("1001-1003", True), ("1004-1006", True)]
    assert digests(tmp_path, "ray") == serial
    # Overall progress: frames on disk out of all, rising to the end.
    assert seen and seen[-1].frames_done == seen[-1].frames_total == 6
    assert [p.frames_done for p in seen] == sorted(p.frames_done for p in seen)


def dies_once(input_path, styles, pattern, options, video, frames, overwrite=False):
    """Kill the worker process after the chunk's first frame, the first time each chunk runs."""
    marker = os.path.join(os.path.dirname(pattern), f"died-{frames[0]}")
    if os.path.exists(marker):
        return render_chunk(input_path, styles, pattern, options, video, frames, overwrite)
    open(marker, "w").close()

    def die(p):
        if p.iteration is None and p.frames_done == 1:
            os._exit(1)

    vidstyle.stylize_video(input_path, styles, pattern, options, video.replace(frames=tuple(frames)), callback=die)


def test_killed_worker_is_retried_without_lost_or_duplicated_frames(local_ray, shots, tmp_path):
    pattern, style, serial = shots
    run_on_ray(pattern, style, str(tmp_path / "ray.####.png"), OPTS, VOPTS, chunk_size=3, chunk_runner=dies_once)
    assert sorted(n for n in os.listdir(tmp_path) if n.startswith("died-")) == ["died-1001", "died-1004"]
    assert sorted(n for n in os.listdir(tmp_path) if n.startswith("ray.")) == [f"ray.{n}.png" for n in NUMBERS]
    assert digests(tmp_path, "ray") == serial


def fails_on_second_shot(input_path, styles, pattern, options, video, frames, overwrite=False):
    if 1004 in frames:
        raise RuntimeError("disk on fire")
    return render_chunk(input_path, styles, pattern, options, video, frames, overwrite)


def test_a_chunk_that_keeps_failing_stops_the_run_naming_its_range(local_ray, shots, tmp_path):
    pattern, style, serial = shots
    out = str(tmp_path / "ray.####.png")
    with pytest.raises(ChunkFailed, match=r"chunk 1004-1006 failed 2 times: .*disk on fire"):
        run_on_ray(pattern, style, out, OPTS, VOPTS, chunk_size=3, retries=1, chunk_runner=fails_on_second_shot)
    assert not (tmp_path / "ray.1004.png").exists()
    # The same command again finishes the job, with the frames a serial run gives.
    run_on_ray(pattern, style, out, OPTS, VOPTS, chunk_size=3)
    assert digests(tmp_path, "ray") == serial


def test_ray_from_the_command_line_assembles_a_video_with_sound(local_ray, style, tmp_path, capsys):
    clip = write_clip(tmp_path / "clip.mp4", moving_square(4))
    out = tmp_path / "out.mp4"
    code = cli.main([str(clip), style, "-o", str(out), "--ray", "--chunk-size", "2", "--warmup", "1",
                     "--size", "64", "--iterations", "4", "--warm-iterations", "2", "--device", "cpu", "-q"])
    assert code == 0, capsys.readouterr().err
    cap = cv2.VideoCapture(str(out))
    assert int(cap.get(cv2.CAP_PROP_FRAME_COUNT)) == 4 and cap.get(cv2.CAP_PROP_FPS) == 10
    cap.release()
    assert probe(str(out)).has_audio
    assert not [n for n in os.listdir(tmp_path) if n.endswith(".frames")]   # the chunks' frames are cleaned up


def test_ray_missing_says_how_to_install_it(monkeypatch, style, tmp_path, capsys):
    clip = write_clip(tmp_path / "clip.mp4", moving_square(2), audio=False)
    monkeypatch.setitem(sys.modules, "ray", None)   # as if Ray were not installed
    assert cli.main([str(clip), style, "-o", str(tmp_path / "o.mp4"), "--ray"]) == 2
    assert "pip install 'vidstyle[ray]'" in capsys.readouterr().err


def test_ray_chunks_render_the_style_track_a_serial_run_does(local_ray, shots, tmp_path):
    from vidstyle.styletrack import parse_key

    pattern, style, plain = shots
    other = str(tmp_path / "other.png")
    cv2.imwrite(other, np.ascontiguousarray(make_style()[:, ::-1, ::-1]))
    video = VOPTS.replace(style_fade=2, style_keys=(parse_key(f"1002={other}"), parse_key(f"1004={style}")))
    serial_run(pattern, style, str(tmp_path / "serial.####.png"), video)
    run_on_ray(pattern, style, str(tmp_path / "ray.####.png"), OPTS, video, chunk_size=3)
    serial = digests(tmp_path, "serial")
    assert digests(tmp_path, "ray") == serial
    assert serial[0] == plain[0] and serial[1:3] != plain[1:3]   # the fade inside shot 1 reached the chunk
