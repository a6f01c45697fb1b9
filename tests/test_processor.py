"""The per-frame processor (FrameStylizer) and the pipe step built on it."""

from __future__ import annotations

import subprocess
import sys

import cv2
import imageio_ffmpeg
import numpy as np
import pytest
import torch

import vidstyle
from vidstyle import FrameStylizer, cli
from vidstyle.images import quantise

from .conftest import OPTS, ROOT, VOPTS, frame_count, moving_square, sequence, two_shot_frames, write_clip

FFMPEG = imageio_ffmpeg.get_ffmpeg_exe()
ARGS = ["--size", "64", "--iterations", "8", "--warm-iterations", "4", "--tolerance", "0", "--device", "cpu"]


def sixteen_bit(frames):
    return [f.astype(np.uint16) * 257 for f in frames]


@pytest.fixture(scope="module")
def cli_frames(tmp_path_factory):
    """A two-shot 16-bit sequence and the CLI's 16-bit frames of it: (input frames, style path, outputs)."""
    folder = tmp_path_factory.mktemp("cli")
    from .conftest import make_style
    style = str(folder / "style.png")
    cv2.imwrite(style, make_style())
    pattern = sequence(folder / "in", two_shot_frames(3), depth=16)
    frames = sixteen_bit(two_shot_frames(3))   # what the sequence holds
    assert cli.main([pattern, style, "-o", str(folder / "out.####.png"), *ARGS, "-q"]) == 0
    outputs = [cv2.imread(str(folder / f"out.{1001 + i}.png"), cv2.IMREAD_UNCHANGED) for i in range(len(frames))]
    return frames, style, outputs


def test_fed_the_frames_of_a_clip_it_gives_the_clis_frames(cli_frames):
    frames, style, expected = cli_frames
    stylizer = FrameStylizer(style, OPTS, VOPTS)
    records = []
    for frame, want in zip(frames, expected):
        out = stylizer.process(frame)              # uint16 BGR in, float BGR [0, 1] out
        records.append(stylizer.record)
        assert out.dtype == np.float32 and out.shape == want.shape
        assert np.array_equal(quantise(out, 16), want)
    assert [r.shot_start for r in records] == [True, False, False, True, False, False]   # the cut, detected
    assert [r.iterations for r in records] == [8, 4, 4, 8, 4, 4]
    assert records[0].reliable_fraction is None and 0 < records[1].reliable_fraction <= 1
    assert [r.number for r in records] == list(range(6))


@pytest.mark.parametrize("mode", [torch.no_grad, torch.inference_mode])
def test_the_same_frames_whatever_the_callers_autograd_mode(cli_frames, mode):
    """Hosts wrap plugins in no_grad or inference_mode (ComfyUI runs every node inside the latter)."""
    frames, style, expected = cli_frames
    stylizer = FrameStylizer(style, OPTS, VOPTS)          # built outside, used inside ...
    with mode():
        inside = FrameStylizer(style, OPTS, VOPTS)        # ... and built inside
        for frame, want in zip(frames[:4], expected[:4]):
            assert np.array_equal(quantise(stylizer.process(frame), 16), want)
            assert np.array_equal(quantise(inside.process(frame), 16), want)


def test_reset_starts_a_shot_and_prime_continues_a_stored_run(cli_frames):
    frames, style, expected = cli_frames
    stylizer = FrameStylizer(style, OPTS, VOPTS)
    stylizer.process(frames[0])
    stylizer.reset()
    stylizer.process(frames[1])
    assert stylizer.record.shot_start and stylizer.record.iterations == 8
    # A resumed run: frames 0-1 were stylised earlier; their outputs and the memory the last left
    # were kept (the file runner keeps them in its work folder).
    earlier = FrameStylizer(style, OPTS, VOPTS)
    outputs = [earlier.process(f) for f in frames[:2]]
    memory = earlier.memory
    resumed = FrameStylizer(style, OPTS, VOPTS)
    resumed.prime(resumed.analyse(frames[0]), outputs[0])
    src = resumed.analyse(frames[1])
    assert resumed.needs_memory(src) and resumed.record.resumed
    resumed.prime(src, outputs[1], memory)
    assert np.array_equal(quantise(resumed.process(frames[2]), 16), expected[2])


def test_eight_bit_frames_and_a_size(style):
    stylizer = FrameStylizer([style], OPTS.replace(size=32), VOPTS)
    out = stylizer.process(moving_square(1)[0])        # uint8
    assert out.shape == (24, 32, 3)
    with pytest.raises(vidstyle.InputError, match="16 px"):
        stylizer.process(np.zeros((8, 8, 3), np.uint8))


# -- vidstyle pipe ------------------------------------------------------------------------------------

def pipe_command(style, *extra):
    return [sys.executable, "-m", "vidstyle", "pipe", style, *extra, *ARGS]


def test_pipe_between_two_real_ffmpeg_processes(style, tmp_path):
    clip = write_clip(tmp_path / "in.mp4", moving_square(5), audio=False)
    out = tmp_path / "out.mp4"
    decode = subprocess.Popen([FFMPEG, "-v", "error", "-i", str(clip), "-f", "rawvideo", "-pix_fmt", "rgb24", "-"],
                              stdout=subprocess.PIPE)
    step = subprocess.Popen(pipe_command(style, "--frame-size", "64x48"), stdin=decode.stdout,
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, cwd=ROOT)
    decode.stdout.close()
    encode = subprocess.Popen([FFMPEG, "-v", "error", "-f", "rawvideo", "-pix_fmt", "rgb24", "-s", "64x48", "-r", "10",
                               "-i", "-", "-pix_fmt", "yuv420p", str(out)], stdin=step.stdout)
    step.stdout.close()
    assert encode.wait(timeout=300) == 0 and step.wait(timeout=300) == 0 and decode.wait(timeout=60) == 0
    assert step.stderr.read() == b""                      # piped stderr: no bar, no noise
    assert frame_count(out) == 5


def test_pipe_rgb48_gives_the_clis_frames(cli_frames):
    frames, style, expected = cli_frames
    raw = b"".join(np.ascontiguousarray(f[..., ::-1]).astype("<u2").tobytes() for f in frames)
    done = subprocess.run(pipe_command(style, "--frame-size", "64x48", "--pix-fmt", "rgb48le"), input=raw,
                          capture_output=True, timeout=300, cwd=ROOT)
    assert done.returncode == 0, done.stderr
    got = np.frombuffer(done.stdout, "<u2").reshape(len(frames), 48, 64, 3)[..., ::-1]
    for out, want in zip(got, expected):
        assert np.array_equal(out, want)


def test_pipe_truncated_stream_writes_the_whole_frames_then_one_line(style):
    frame = moving_square(1)[0][..., ::-1].tobytes()
    done = subprocess.run(pipe_command(style, "--frame-size", "64x48"), input=frame * 2 + frame[:1000],
                          capture_output=True, timeout=300, cwd=ROOT)
    assert done.returncode == 3
    assert len(done.stdout) == 2 * len(frame)
    lines = done.stderr.decode().strip().splitlines()
    assert len(lines) == 1 and "ended inside frame 2" in lines[0]


def test_pipe_closed_downstream_is_one_line_no_traceback(style):
    frame = moving_square(1)[0][..., ::-1].tobytes()
    step = subprocess.Popen(pipe_command(style, "--frame-size", "64x48"), stdin=subprocess.PIPE,
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, cwd=ROOT)
    step.stdin.write(frame * 3)
    step.stdin.close()
    step.stdout.read(100)       # a reader that takes a little and goes away
    step.stdout.close()
    err = step.stderr.read().decode()
    assert step.wait(timeout=300) == 4
    lines = err.strip().splitlines()
    assert len(lines) == 1 and "closed by its reader" in lines[0], err


def test_pipe_refuses_bad_geometry(capsys, style):
    assert cli.main(["pipe", style, "--frame-size", "64by48"]) == 2
    assert "WIDTHxHEIGHT" in capsys.readouterr().err
    assert cli.main(["pipe", style, "--frame-size", "64x48", "--pix-fmt", "yuv420p"]) == 2
