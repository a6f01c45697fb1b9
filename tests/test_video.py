"""Video and image sequences: tiny synthetic clips made in fixtures."""

from __future__ import annotations

import glob
import json
import os
from fractions import Fraction

import cv2
import numpy as np
import pytest

import vidstyle
from vidstyle import OutputError, StyleOptions, VideoOptions, cli
from vidstyle.media import probe

from .conftest import OPTS, ROOT, VOPTS, digest, interrupt_after, moving_square, sequence, two_shots, write_clip


@pytest.fixture
def clip(tmp_path):
    return str(write_clip(tmp_path / "clip.mp4", moving_square(6)))


def read_video(path):
    cap = cv2.VideoCapture(str(path))
    frames = []
    while True:
        ok, f = cap.read()
        if not ok:
            break
        frames.append(f)
    fps = cap.get(cv2.CAP_PROP_FPS)
    cap.release()
    return frames, fps


def test_video_keeps_audio_fps_and_frame_count(clip, style, tmp_path):
    out = tmp_path / "out.mp4"
    summary = vidstyle.stylize_video(clip, style, str(out), OPTS, VOPTS)
    frames, fps = read_video(out)
    assert len(frames) == 6 and fps == pytest.approx(10)
    assert frames[0].shape == (48, 64, 3)
    assert probe(str(out)).has_audio
    data = out.read_bytes()
    assert data.index(b"moov") < data.index(b"mdat")  # faststart: playable while downloading
    assert [r.number for r in summary.frames] == list(range(6))
    assert not any(n.endswith(".vidstyle") for n in os.listdir(tmp_path))  # work folder removed


def test_ntsc_rate_stays_exact_and_silent_source_is_fine(style, tmp_path):
    src = write_clip(tmp_path / "ntsc.mp4", moving_square(4), fps="30000/1001", audio=False)
    out = tmp_path / "ntsc_out.mov"
    summary = vidstyle.stylize_video(str(src), style, str(out), OPTS, VOPTS)
    assert summary.fps == "30000/1001"
    import subprocess

    import imageio_ffmpeg
    info = subprocess.run([imageio_ffmpeg.get_ffmpeg_exe(), "-hide_banner", "-i", str(out)],
                          capture_output=True, text=True).stderr
    assert "29.97 fps" in info and not probe(str(out)).has_audio


def test_odd_size_video(style, tmp_path):
    src = write_clip(tmp_path / "odd.mp4", [f[:47, :63] for f in moving_square(3)], audio=False,
                     codec_args=("-c:v", "libx264", "-pix_fmt", "yuv444p", "-crf", "10"))
    out = tmp_path / "odd_out.mp4"
    vidstyle.stylize_video(str(src), style, str(out), StyleOptions(size=None, iterations=3, device="cpu"), VOPTS)
    frames, _ = read_video(out)
    assert len(frames) == 3 and frames[0].shape[:2] in ((48, 64), (47, 63))


def test_sequence_keeps_vfx_numbers_padding_and_16_bit(style, tmp_path):
    pattern = sequence(tmp_path / "in", moving_square(3), depth=16)
    out = str(tmp_path / "out" / "styled.####.png")
    os.makedirs(tmp_path / "out")
    summary = vidstyle.stylize_video(pattern, style, out, OPTS, VOPTS)
    names = sorted(n for n in os.listdir(tmp_path / "out") if not n.startswith("."))
    assert names == ["styled.1001.png", "styled.1002.png", "styled.1003.png"]
    # What stays hidden beside them is the record that the range is complete, not frames.
    assert os.listdir(tmp_path / "out" / ".styled.____.png.vidstyle" / "all") == ["manifest.json"]
    assert cv2.imread(str(tmp_path / "out" / names[0]), cv2.IMREAD_UNCHANGED).dtype == np.uint16
    assert summary.shots == [1001]


def test_fileseq_range_pattern_and_16_bit_tiff(style, tmp_path):
    for i, f in enumerate(moving_square(4)):
        cv2.imwrite(str(tmp_path / f"plate.{1001 + i:04d}.tif"), f.astype(np.uint16) * 257)
    summary = vidstyle.stylize_video(str(tmp_path / "plate.1002-1003#.tif"), style, str(tmp_path / "st.####.tif"),
                                     OPTS, VOPTS)
    assert [r.number for r in summary.frames] == [1002, 1003]
    out = cv2.imread(str(tmp_path / "st.1003.tif"), cv2.IMREAD_UNCHANGED)
    assert out.dtype == np.uint16 and not (tmp_path / "st.1001.tif").exists()


def test_prores_mov(clip, style, tmp_path):
    out = tmp_path / "deliver.mov"
    vidstyle.stylize_video(clip, style, str(out), OPTS, VideoOptions(warm_iterations=1, codec="prores",
                                                                     frames=(0, 1)))
    import subprocess

    import imageio_ffmpeg
    info = subprocess.run([imageio_ffmpeg.get_ffmpeg_exe(), "-hide_banner", "-i", str(out)],
                          capture_output=True, text=True).stderr
    assert "prores" in info and probe(str(out)).has_audio


def test_frame_range_and_printf_pattern(style, tmp_path):
    sequence(tmp_path / "in", moving_square(5))
    out = str(tmp_path / "o.%04d.png")
    vidstyle.stylize_video(str(tmp_path / "in" / "shot.%04d.png"), style, out, OPTS,
                           VideoOptions(warm_iterations=2, frames=(1002, 1003)))
    assert sorted(n for n in os.listdir(tmp_path) if n.startswith("o.")) == ["o.1002.png", "o.1003.png"]


def test_video_to_sequence_and_sequence_to_video(clip, style, tmp_path):
    vidstyle.stylize_video(clip, style, str(tmp_path / "f.####.png"), OPTS, VideoOptions(warm_iterations=2,
                                                                                          frames=(0, 1, 2)))
    assert sorted(n for n in os.listdir(tmp_path) if n.startswith("f.")) == ["f.0000.png", "f.0001.png", "f.0002.png"]
    out = tmp_path / "back.mp4"
    vidstyle.stylize_video(str(tmp_path / "f.####.png"), style, str(out), OPTS,
                           VideoOptions(warm_iterations=2, fps=Fraction(24)))
    frames, fps = read_video(out)
    assert len(frames) == 3 and fps == pytest.approx(24)


def test_exr_sequence_round_trip(style, tmp_path):
    OpenEXR = pytest.importorskip("OpenEXR")
    os.makedirs(tmp_path / "exr")
    for i, frame in enumerate(moving_square(2)):
        linear = (frame[..., ::-1].astype(np.float32) / 255) ** 2.2
        with OpenEXR.File({"compression": OpenEXR.ZIP_COMPRESSION, "type": OpenEXR.scanlineimage},
                          {"RGB": linear.astype(np.float16)}) as f:
            f.write(str(tmp_path / "exr" / f"plate.{1001 + i}.exr"))
    out = tmp_path / "st.####.exr"
    vidstyle.stylize_video(str(tmp_path / "exr" / "plate.####.exr"), style, str(out), OPTS, VOPTS)
    with OpenEXR.File(str(tmp_path / "st.1002.exr")) as f:
        rgb = np.array(f.channels()["RGB"].pixels)
    assert rgb.dtype == np.float16 and rgb.shape == (48, 64, 3)


def test_flow_warm_start_flickers_less_than_independent_frames(style, tmp_path):
    sources = moving_square(6)
    pattern = sequence(tmp_path / "in", sources)
    opts = StyleOptions(size=64, iterations=30, tolerance=0.0, device="cpu", init="noise")
    results = {}
    for mode in ("none", "flow"):
        out = str(tmp_path / f"{mode}.####.png")
        vidstyle.stylize_video(pattern, style, out, opts, VideoOptions(warm_start=mode, warm_iterations=15))
        results[mode] = vidstyle.metrics.check(pattern, out).ewarp
    assert results["flow"] < 0.5 * results["none"], results


def test_hard_cut_resets_warm_start(style, tmp_path):
    pattern = two_shots(tmp_path / "in")
    both = vidstyle.stylize_video(pattern, style, str(tmp_path / "both.####.png"), OPTS, VOPTS)
    assert both.shots == [1001, 1004]
    # Frame 1004 rendered after shot A must equal frame 1004 rendered with no shot A at all.
    alone = vidstyle.stylize_video(pattern, style, str(tmp_path / "alone.####.png"), OPTS,
                                   VideoOptions(warm_iterations=4, frames=(1004, 1005, 1006)))
    assert alone.shots == [1004]
    for n in (1004, 1005, 1006):
        assert digest(tmp_path / f"both.{n}.png") == digest(tmp_path / f"alone.{n}.png")
    # Given cuts replace detection.
    given = vidstyle.stylize_video(pattern, style, str(tmp_path / "given.####.png"), OPTS,
                                   VideoOptions(warm_iterations=4, cuts=(1003,)))
    assert given.shots == [1001, 1003]


def test_interrupted_run_resumes_to_identical_frames(style, tmp_path):
    pattern = sequence(tmp_path / "in", moving_square(5))
    straight = str(tmp_path / "straight.####.png")
    vidstyle.stylize_video(pattern, style, straight, OPTS, VOPTS)

    resumed = str(tmp_path / "resumed.####.png")

    with pytest.raises(KeyboardInterrupt):
        vidstyle.stylize_video(pattern, style, resumed, OPTS, VOPTS, callback=interrupt_after(2))
    assert sorted(n for n in os.listdir(tmp_path) if n.startswith("resumed.")) == \
        ["resumed.1001.png", "resumed.1002.png"]
    # Other parameters: refused, the unfinished run is kept.
    with pytest.raises(OutputError, match="other parameters"):
        vidstyle.stylize_video(pattern, style, resumed, OPTS.replace(style_weight=3.0), VOPTS)
    summary = vidstyle.stylize_video(pattern, style, resumed, OPTS, VOPTS)
    assert [r.resumed for r in summary.frames] == [True, True, False, False, False]
    for n in range(1001, 1006):
        assert digest(tmp_path / f"straight.{n}.png") == digest(tmp_path / f"resumed.{n}.png")


def test_memory_checkpoints_are_gathered_on_the_rendering_thread(style, tmp_path, monkeypatch):
    # Memory.to_state runs torch operations. Run on the writer's thread, the first of them started a
    # second OpenMP team, and on a 2-core CPU every warm frame after the first checkpoint took ~2x as
    # long an iteration (session 15): the checkpoint must be made where the frames are rendered.
    import threading

    from vidstyle.lbfgs import Memory
    threads = []
    to_state = Memory.to_state
    monkeypatch.setattr(Memory, "to_state", lambda self: threads.append(threading.current_thread()) or to_state(self))
    pattern = sequence(tmp_path / "in", moving_square(3))
    vidstyle.stylize_video(pattern, style, str(tmp_path / "o.####.png"), OPTS, VOPTS)
    assert threads and all(t is threading.main_thread() for t in threads)   # the shot's start was checkpointed


def test_a_run_killed_between_checkpoints_goes_back_and_gives_the_same_frames(style, tmp_path):
    # Warm frames go on from the previous frame's L-BFGS memory. A graceful stop keeps it; a kill
    # does not, so the rerun goes back to the last memory checkpoint (the shot's start here) and
    # renders the frames after it again, to the same bytes.
    pattern = sequence(tmp_path / "in", moving_square(5))
    vidstyle.stylize_video(pattern, style, str(tmp_path / "straight.####.png"), OPTS, VOPTS)
    out = str(tmp_path / "killed.####.png")

    with pytest.raises(KeyboardInterrupt):
        vidstyle.stylize_video(pattern, style, out, OPTS, VOPTS, callback=interrupt_after(3))
    memories = tmp_path / ".killed.____.png.vidstyle" / "all" / "memory"
    names = sorted(os.listdir(memories))
    assert [n.split(".")[0] for n in names] == ["+00001001", "+00001003"]   # the shot's start, the stop
    os.unlink(memories / names[-1])                  # as if killed: no memory after the last frame
    summary = vidstyle.stylize_video(pattern, style, out, OPTS, VOPTS)
    assert [r.resumed for r in summary.frames] == [True, False, False, False, False]
    for n in range(1001, 1006):
        assert digest(tmp_path / f"straight.{n}.png") == digest(tmp_path / f"killed.{n}.png")


def test_report_json(clip, style, tmp_path):
    report = tmp_path / "run.json"
    vidstyle.stylize_video(clip, style, str(tmp_path / "r.mp4"), OPTS, VOPTS, report_path=str(report))
    data = json.loads(report.read_text())
    assert len(data["frames"]) == 6 and data["fps"] == "10"
    first, second = data["frames"][0], data["frames"][1]
    assert first["shot_start"] and first["reliable_fraction"] is None and first["iterations"] == 8
    assert not second["shot_start"] and 0 < second["reliable_fraction"] <= 1
    assert second["iterations"] <= 4 and second["seconds"] > 0
    # Every term's weighted value by name; the temporal term only on frames that continue a shot.
    assert set(first["losses"]) == {"content", "style", "tv"}
    assert set(second["losses"]) == {"content", "style", "tv", "temporal"} and second["losses"]["temporal"] >= 0
    assert second["loss"] == pytest.approx(sum(second["losses"].values()), abs=1e-5)
    # Where each frame's time went: every stage named, optimisation timestamps in order, frame after frame.
    from vidstyle.temporal import STAGES
    for row in data["frames"]:
        assert set(row["stages"]) == set(STAGES) and all(v >= 0 for v in row["stages"].values())
        assert 0 <= row["t_optimise_start"] <= row["t_optimise_end"] <= data["seconds"]
        assert row["stages"]["decode"] > 0 and row["stages"]["optimise"] > 0 and row["stages"]["store"] > 0
    assert first["stages"]["flow"] == 0 and second["stages"]["flow"] > 0 and second["stages"]["mask"] > 0
    assert all(a["t_optimise_end"] <= b["t_optimise_start"] for a, b in zip(data["frames"], data["frames"][1:]))


# -- bad input, through the CLI ---------------------------------------------------------

def _garbage(tmp_path):
    path = tmp_path / "garbage.mp4"
    path.write_bytes(os.urandom(2000))
    return path


def _audio_only(tmp_path):
    import subprocess

    import imageio_ffmpeg
    path = tmp_path / "sound.mp4"
    subprocess.run([imageio_ffmpeg.get_ffmpeg_exe(), "-loglevel", "error", "-f", "lavfi", "-i",
                    "sine=frequency=440:duration=1", "-c:a", "aac", str(path)], check=True)
    return path


def _gappy(tmp_path):
    sequence(tmp_path / "gap", moving_square(4))
    os.unlink(tmp_path / "gap" / "shot.1003.png")
    return tmp_path / "gap" / "shot.####.png"


def _mixed(tmp_path):
    sequence(tmp_path / "mixed", moving_square(3))
    cv2.imwrite(str(tmp_path / "mixed" / "shot.1002.png"), np.zeros((20, 20, 3), np.uint8))
    return tmp_path / "mixed" / "shot.####.png"


def _bad_style(tmp_path):
    path = tmp_path / "bad_style.jpg"
    path.write_text("not a picture")
    return path


BAD = [
    ("missing video", lambda c, s, t: [t / "nope.mp4", s, "-o", t / "o.mp4"], 3, "not found"),
    ("garbage video", lambda c, s, t: [_garbage(t), s, "-o", t / "o.mp4"], 3, "garbage.mp4"),
    ("zero frames", lambda c, s, t: [_audio_only(t), s, "-o", t / "o.mp4"], 3, "no frames"),
    ("sequence gap", lambda c, s, t: [_gappy(t), s, "-o", t / "o.####.png"], 3, "1003"),
    ("mixed sizes", lambda c, s, t: [_mixed(t), s, "-o", t / "o.####.png"], 3, "frames 1002"),
    ("output is input", lambda c, s, t: [c, s, "-o", c, "--overwrite"], 4, "also an input"),
    ("unwritable folder", lambda c, s, t: [c, s, "-o", "/proc/self/o.mp4"], 4, "not writable"),
    ("missing folder", lambda c, s, t: [c, s, "-o", t / "none" / "o.mp4"], 4, "does not exist"),
    ("bad style", lambda c, s, t: [c, _bad_style(t), "-o", t / "o.mp4"], 3, "bad_style.jpg"),
    ("prores in mp4", lambda c, s, t: [c, s, "-o", t / "o.mp4", "--codec", "prores"], 2, ".mov"),
    ("bad frames", lambda c, s, t: [c, s, "-o", t / "o.mp4", "--frames", "50-60"], 2, "--frames"),
    ("bad warm start", lambda c, s, t: [c, s, "-o", t / "o.mp4", "--warm-start", "magic"], 2, "warm start"),
    ("bad fps", lambda c, s, t: [c, s, "-o", t / "o.mp4", "--fps", "fast"], 2, "--fps"),
    ("bad output kind", lambda c, s, t: [c, s, "-o", t / "o.gif"], 4, "sequence pattern"),
]


@pytest.mark.parametrize("case,build,code,text", BAD, ids=[b[0] for b in BAD])
def test_bad_video_input(capsys, clip, style, tmp_path, case, build, code, text):
    before = digest(clip)
    args = [str(a) for a in build(clip, style, tmp_path)]
    got = cli.main(["--size", "32", "--iterations", "2", "--warm-iterations", "1", "--device", "cpu", *args])
    err = capsys.readouterr().err
    assert got == code, err
    lines = err.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("vidstyle: error:") and text in lines[0], err
    leftovers = [n for n in os.listdir(tmp_path) if n.startswith(("o.", ".o.")) or n.endswith(".partial")]
    assert not leftovers
    assert digest(clip) == before


def test_existing_video_output_needs_overwrite(capsys, clip, style, tmp_path):
    out = tmp_path / "exists.mp4"
    out.write_bytes(b"keep me")
    got = cli.main([clip, style, "-o", str(out), "--size", "32", "--iterations", "2", "--device", "cpu"])
    assert got == 4 and "--overwrite" in capsys.readouterr().err
    assert out.read_bytes() == b"keep me"


def test_cli_video_with_report_and_quiet(capsys, clip, style, tmp_path):
    out = tmp_path / "cli.mp4"
    report = tmp_path / "r.json"
    got = cli.main([clip, style, "-o", str(out), "--size", "32", "--iterations", "3", "--warm-iterations", "2",
                    "--warm-start", "previous", "--report", str(report), "--device", "cpu", "--crf", "23", "-q"])
    captured = capsys.readouterr()
    assert got == 0, captured.err
    assert captured.out == "" and out.is_file() and json.loads(report.read_text())["frames"]


def test_ffmpeg_failure_is_one_line_with_its_stderr(clip, style, tmp_path):
    # A stand-in ffmpeg that fails the way a real one does (message on
    # stderr, non-zero exit), run as a real subprocess.
    import stat
    import subprocess
    import sys
    fake = tmp_path / "ffmpeg"
    fake.write_text("#!/bin/sh\necho 'Unknown encoder: out of luck' >&2\nexit 1\n")
    fake.chmod(fake.stat().st_mode | stat.S_IEXEC)
    out = tmp_path / "o.mp4"
    done = subprocess.run([sys.executable, "-m", "vidstyle", clip, style, "-o", str(out),
                           "--size", "32", "--iterations", "2", "--warm-iterations", "1", "--device", "cpu"],
                          capture_output=True, text=True, timeout=300,
                          env={**os.environ, "IMAGEIO_FFMPEG_EXE": str(fake)},
                          cwd=ROOT)
    assert done.returncode == 4, done.stderr
    lines = done.stderr.strip().splitlines()
    assert len(lines) == 1 and "ffmpeg" in lines[0] and "out of luck" in lines[0], done.stderr
    assert not out.exists() and not [n for n in os.listdir(tmp_path) if ".partial" in n]


def test_kill_9_then_rerun_gives_the_same_frames(style, tmp_path):
    # The real thing: a CLI process killed with SIGKILL mid-run, then the same command again.
    import signal
    import subprocess
    import sys
    import time

    pattern = sequence(tmp_path / "in", moving_square(6))
    args = ["--size", "64", "--iterations", "8", "--warm-iterations", "4", "--tolerance", "0", "--device", "cpu",
            "-q"]
    root = ROOT

    def command(out):
        return [sys.executable, "-m", "vidstyle", pattern, style, "-o", str(out), *args]

    subprocess.run(command(tmp_path / "straight.####.png"), check=True, cwd=root, timeout=300)
    victim = subprocess.Popen(command(tmp_path / "killed.####.png"), cwd=root)
    deadline = time.time() + 240
    while not (tmp_path / "killed.1002.png").exists() and victim.poll() is None and time.time() < deadline:
        time.sleep(0.05)
    victim.send_signal(signal.SIGKILL)
    victim.wait()
    done_before = sorted(n for n in os.listdir(tmp_path) if n.startswith("killed."))
    assert 2 <= len(done_before) < 6, done_before  # killed mid-run, not before or after
    subprocess.run(command(tmp_path / "killed.####.png"), check=True, cwd=root, timeout=300)
    for n in range(1001, 1007):
        assert digest(tmp_path / f"straight.{n}.png") == digest(tmp_path / f"killed.{n}.png")
    assert not glob.glob(str(tmp_path / ".*.vidstyle" / "*" / "frames"))  # no stored frames left


def test_rotation_metadata_is_honoured(clip, style, tmp_path):
    # A phone clip stored landscape with "display rotated 90 degrees": OpenCV
    # applies it on decode, so the stylised video comes out portrait.
    import subprocess

    import imageio_ffmpeg
    rotated = tmp_path / "rotated.mp4"
    subprocess.run([imageio_ffmpeg.get_ffmpeg_exe(), "-loglevel", "error", "-display_rotation", "90", "-i", clip,
                    "-c", "copy", str(rotated)], check=True)
    out = tmp_path / "portrait.mp4"
    vidstyle.stylize_video(str(rotated), style, str(out), StyleOptions(size=None, iterations=2, device="cpu"),
                           VideoOptions(warm_iterations=1, frames=(0, 1)))
    frames, _ = read_video(out)
    assert frames[0].shape == (64, 48, 3)


@pytest.mark.parametrize("codec,ext,layout", [("h264", ".mp4", "yuv420p"), ("h264-444", ".mp4", "yuv444p"),
                                              ("prores", ".mov", "yuv422p10le"), ("prores4444", ".mov", "(4444)")])
def test_each_codec_writes_its_layout_and_every_frame(tmp_path, codec, ext, layout):
    import subprocess

    import imageio_ffmpeg

    from vidstyle.media import count_frames, encode_video
    out = tmp_path / f"o{ext}"
    frames = [f.astype(np.float32) / 255 for f in moving_square(5)]
    assert encode_video(str(out), frames, Fraction(25), codec=codec) == 5 == count_frames(str(out))
    info = subprocess.run([imageio_ffmpeg.get_ffmpeg_exe(), "-hide_banner", "-i", str(out)], capture_output=True,
                          text=True).stderr
    assert layout in info
    if codec == "h264":   # the default plays in browsers, QuickTime and phones: High profile, 4:2:0, 8 bit
        assert "(High)" in info
    if codec.startswith("h264"):   # no B-frames: x264 quantises them harder and they lost the most strokes
        shown = subprocess.run([imageio_ffmpeg.get_ffmpeg_exe(), "-hide_banner", "-i", str(out), "-vf", "showinfo",
                                "-f", "null", "-"], capture_output=True, text=True).stderr
        types = [line.split("type:")[1][0] for line in shown.splitlines() if "type:" in line]
        assert len(types) == 5 and "B" not in types
