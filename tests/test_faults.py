"""Real-world faults (issue #9): nothing lost, nothing stale, nothing left behind, one line when refused.

One test (or a few) per point of the issue, each on tiny synthetic data.
"""

from __future__ import annotations

import glob
import os
import signal
import stat
import subprocess
import sys
import time

import cv2
import imageio_ffmpeg
import numpy as np
import pytest
import torch

import vidstyle
from vidstyle import BusyError, InputError, OutputError, StyleOptions, VideoOptions, cli
from vidstyle.outputs import Output
from vidstyle.resume import WorkFolder

from .conftest import (OPTS, ROOT, VOPTS, digest, frame_count, interrupt_after, make_content, moving_square, sequence,
                       write_clip)

STILL = ["--size", "48", "--iterations", "3", "--device", "cpu", "-q"]
FAST = [*STILL, "--warm-iterations", "2"]


def run(capsys, *args):
    code = cli.main([str(a) for a in args])
    captured = capsys.readouterr()
    return code, captured.out, captured.err


def one_line(err: str) -> str:
    lines = err.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("vidstyle: error:"), err
    return lines[0]


def hidden(folder) -> list[str]:
    """What a run left in ``folder`` that a user did not ask for (work folders, temporaries)."""
    return sorted(n for n in os.listdir(folder) if n.startswith(".") or ".partial" in n)


# -- 1. audio never shortens the video -----------------------------------------------------------

@pytest.mark.parametrize("audio_seconds", [0.186, 0.08])
def test_short_audio_never_shortens_the_video(capsys, style, tmp_path, audio_seconds):
    clip = write_clip(tmp_path / "clip.mp4", moving_square(6, height=32, width=48), fps="30",
                      audio_seconds=audio_seconds)
    out = tmp_path / "out.mp4"
    code, _, err = run(capsys, clip, style, "-o", out, *FAST)
    assert code == 0, err
    assert frame_count(out) == 6
    # vidstyle's own output is accepted by vidstyle check.
    assert vidstyle.metrics.check(str(clip), str(out)).frames == 6
    # A range whose sound ran out before its first frame still gets its picture.
    part = tmp_path / "part.mp4"
    code, _, err = run(capsys, clip, style, "-o", part, "--frames", "3-5", *FAST)
    assert code == 0, err
    assert frame_count(part) == 3


def test_assemble_keeps_every_frame_whatever_the_sound(capsys, tmp_path):
    clip = write_clip(tmp_path / "clip.mp4", moving_square(6), fps="30", audio_seconds=0.08)
    for i, f in enumerate(moving_square(6)):
        cv2.imwrite(str(tmp_path / f"st.{i:04d}.png"), 255 - f)
    film = tmp_path / "film.mp4"
    assert run(capsys, "assemble", tmp_path / "st.####.png", "-o", film, "--audio-from", clip, "-q")[0] == 0
    assert frame_count(film) == 6


def _stand_in_ffmpeg(tmp_path, body: str) -> str:
    """A script in front of the real ffmpeg; ``body`` may inspect "$@" first."""
    script = tmp_path / "ffmpeg"
    script.write_text(f"#!/bin/bash\nREAL={imageio_ffmpeg.get_ffmpeg_exe()}\n{body}\nexec $REAL \"$@\"\n")
    script.chmod(script.stat().st_mode | stat.S_IEXEC)
    return str(script)


def test_an_encode_that_loses_frames_fails_loudly_and_keeps_the_work(capsys, monkeypatch, style, tmp_path):
    clip = write_clip(tmp_path / "clip.mp4", moving_square(5))
    # An ffmpeg whose audio mux drops the last frames (what -shortest did).
    fake = _stand_in_ffmpeg(tmp_path, 'if [[ " $* " == *" 1:a:0? "* ]]; then '
                                      'set -- "${@:1:$(($#-1))}" -frames:v 2 "${@: -1}"; fi')
    monkeypatch.setenv("IMAGEIO_FFMPEG_EXE", fake)
    out = tmp_path / "out.mp4"
    code, _, err = run(capsys, clip, style, "-o", out, *FAST)
    assert code == 4 and "wrote 2 frame(s) of 5" in one_line(err)
    assert not out.exists() and not glob.glob(str(tmp_path / "*.partial*")) and not glob.glob(
        str(tmp_path / ".out.mp4.*.partial*"))
    assert glob.glob(str(tmp_path / ".out.mp4.vidstyle" / "all" / "frames" / "*.png"))   # the work is kept
    monkeypatch.delenv("IMAGEIO_FFMPEG_EXE")
    code, _, err = run(capsys, clip, style, "-o", out, *FAST)   # the same command, ffmpeg mended: finishes
    assert code == 0, err
    assert frame_count(out) == 5


def test_an_encoder_that_dies_mid_run_stops_the_run_in_one_line_and_keeps_the_frames(capsys, monkeypatch, style,
                                                                                      tmp_path):
    clip = write_clip(tmp_path / "clip.mp4", moving_square(4))
    # The encoder (fed from the writer thread while frames render) dies at once; reading still works.
    fake = _stand_in_ffmpeg(tmp_path, 'if [[ " $* " == *" -i - "* ]]; then echo "encoder gone" >&2; exit 1; fi')
    monkeypatch.setenv("IMAGEIO_FFMPEG_EXE", fake)
    out = tmp_path / "out.mp4"
    code, _, err = run(capsys, clip, style, "-o", out, *FAST)
    assert code == 4 and "encoder gone" in one_line(err)
    assert not out.exists() and glob.glob(str(tmp_path / ".out.mp4.vidstyle" / "all" / "frames" / "*.png"))
    monkeypatch.delenv("IMAGEIO_FFMPEG_EXE")
    assert run(capsys, clip, style, "-o", out, *FAST)[0] == 0 and frame_count(out) == 4


# -- 2. a short or damaged input is never a silent short output -------------------------------------

def _faststart_clip(tmp_path, frames=12):
    return write_clip(tmp_path / "src.mp4", moving_square(frames), audio=False,
                      codec_args=("-c:v", "libx264", "-pix_fmt", "yuv420p", "-g", "4", "-movflags", "+faststart"))


def _truncated(tmp_path):
    data = _faststart_clip(tmp_path).read_bytes()
    path = tmp_path / "truncated.mp4"
    path.write_bytes(data[:int(len(data) * 0.9)])   # the first 8 of 12 frames still decode
    return path


def _corrupted(tmp_path):
    data = bytearray(_faststart_clip(tmp_path).read_bytes())
    start = data.index(b"mdat")
    middle = start + (len(data) - start) // 2
    for k in range(middle, middle + 200):
        data[k] ^= 0x5A
    path = tmp_path / "corrupt.mp4"
    path.write_bytes(bytes(data))
    return path


def test_truncated_video_is_refused_naming_frames_or_rendered_with_a_warning(capsys, style, tmp_path):
    clip = _truncated(tmp_path)
    out = tmp_path / "out.mp4"
    code, _, err = run(capsys, clip, style, "-o", out, *FAST)
    line = one_line(err)
    assert code == 3 and "promises 12 frames" in line and "missing" in line and "--accept-damaged" in line
    assert not out.exists() and not hidden(tmp_path)
    report = tmp_path / "report.json"
    code, _, err = run(capsys, clip, style, "-o", out, "--accept-damaged", "--report", report, *FAST)
    assert code == 0, err
    warnings = [line for line in err.splitlines() if line.startswith("vidstyle: warning:")]
    assert warnings and "damaged" in warnings[0]
    import json
    data = json.loads(report.read_text())
    assert data["warnings"] and 0 < len(data["frames"]) < 12 and frame_count(out) == len(data["frames"])


def test_decoder_errors_are_refused_in_one_line_without_libav_noise(style, tmp_path):
    clip = _corrupted(tmp_path)
    done = subprocess.run([sys.executable, "-m", "vidstyle", str(clip), style, "-o",
                           str(tmp_path / "out.mp4"), *FAST], capture_output=True, text=True, timeout=300, cwd=ROOT)
    assert done.returncode == 3
    assert "decoder reports" in one_line(done.stderr)   # exactly one line: no "[h264 @ 0x...]" before it


def test_truncated_style_jpeg_is_refused(capsys, content_path, tmp_path):
    good = tmp_path / "style.jpg"
    yy, xx = np.mgrid[0:64, 0:64]
    cv2.imwrite(str(good), np.dstack([(xx * 4) % 256, (yy * 4) % 256, (xx + yy) % 256]).astype(np.uint8))
    cut = tmp_path / "cut.jpg"
    cut.write_bytes(good.read_bytes()[:-200])
    code, _, err = run(capsys, content_path, cut, "-o", tmp_path / "o.png", *STILL)
    assert code == 3 and "truncated JPEG" in one_line(err) and "cut.jpg" in err
    assert run(capsys, content_path, good, "-o", tmp_path / "o.png", *STILL)[0] == 0


def test_sequence_mixing_8_and_16_bit_frames_is_refused_naming_them(capsys, style, tmp_path):
    pattern = sequence(tmp_path / "in", moving_square(4))
    cv2.imwrite(str(tmp_path / "in" / "shot.1003.png"), moving_square(4)[2].astype(np.uint16) * 257)
    code, _, err = run(capsys, pattern, style, "-o", tmp_path / "o.####.png", *FAST)
    line = one_line(err)
    assert code == 3 and "1003" in line and "bit depth" in line
    assert not glob.glob(str(tmp_path / "o.*"))


# -- 3. resume never reuses stale frames ------------------------------------------------------------

def test_a_plate_replaced_between_ctrl_c_and_rerun_is_rendered_from_the_new_plate(style, tmp_path):
    old, new = moving_square(5), moving_square(5, background=40)   # same size, other pictures
    plate = sequence(tmp_path / "plate", old)
    out = str(tmp_path / "st.####.png")
    with pytest.raises(KeyboardInterrupt):
        vidstyle.stylize_video(plate, style, out, OPTS, VOPTS, callback=interrupt_after(3))
    sequence(tmp_path / "plate", old[:1] + new[1:])   # frames 1002-1005 replaced, 1001 kept
    resumed = vidstyle.stylize_video(plate, style, out, OPTS, VOPTS)
    assert [r.resumed for r in resumed.frames] == [True, False, False, False, False]
    fresh = sequence(tmp_path / "fresh", old[:1] + new[1:])
    vidstyle.stylize_video(fresh, style, str(tmp_path / "ref.####.png"), OPTS, VOPTS)
    for n in range(1001, 1006):
        assert digest(tmp_path / f"st.{n}.png") == digest(tmp_path / f"ref.{n}.png"), n


def test_a_replaced_video_at_the_same_path_is_not_finished_with_the_old_frames(style, tmp_path):
    clip = tmp_path / "plate.mp4"
    write_clip(clip, moving_square(5), audio=False)
    out = str(tmp_path / "st.####.png")
    with pytest.raises(KeyboardInterrupt):
        vidstyle.stylize_video(str(clip), style, out, OPTS, VOPTS, callback=interrupt_after(2))
    write_clip(clip, moving_square(5, background=40), audio=False)
    summary = vidstyle.stylize_video(str(clip), style, out, OPTS, VOPTS)
    assert not any(r.resumed for r in summary.frames)
    write_clip(tmp_path / "ref.mp4", moving_square(5, background=40), audio=False)
    vidstyle.stylize_video(str(tmp_path / "ref.mp4"), style, str(tmp_path / "ref.####.png"), OPTS, VOPTS)
    for n in range(5):
        assert digest(tmp_path / f"st.{n:04d}.png") == digest(tmp_path / f"ref.{n:04d}.png")


def test_a_finished_chunk_renders_again_when_a_new_plate_arrives(style, tmp_path):
    plate = sequence(tmp_path / "plate", moving_square(4))
    out = str(tmp_path / "st.####.png")
    video = VOPTS.replace(frames=(1003, 1004), warmup=1)
    vidstyle.stylize_video(plate, style, out, OPTS, video)
    before = digest(tmp_path / "st.1004.png")
    assert all(r.resumed for r in vidstyle.stylize_video(plate, style, out, OPTS, video).frames)   # no-op
    sequence(tmp_path / "plate", moving_square(4, background=40))
    for frame in (tmp_path / "plate").iterdir():   # a new mtime even on coarse file systems, without waiting
        stat = frame.stat()
        os.utime(frame, ns=(stat.st_atime_ns, stat.st_mtime_ns + 2_000_000_000))
    again = vidstyle.stylize_video(plate, style, out, OPTS, video)
    assert not any(r.resumed for r in again.frames) and digest(tmp_path / "st.1004.png") != before


# -- 4. outputs never become inputs ---------------------------------------------------------------

def test_a_folder_input_never_takes_the_outputs_own_frames(capsys, style, tmp_path):
    folder = tmp_path / "frames"
    folder.mkdir()
    for i, f in enumerate(moving_square(3)):
        cv2.imwrite(str(folder / f"img{i}.png"), f)
    args = [folder, style, "-o", folder / "st.####.png", *FAST]
    assert run(capsys, *args)[0] == 0
    assert run(capsys, *args, "--overwrite")[0] == 0
    assert sorted(n for n in os.listdir(folder) if n.startswith("st.")) == ["st.0000.png", "st.0001.png",
                                                                          "st.0002.png"]


# -- 5. a single still is a still ------------------------------------------------------------------

def _write_exr(path, rgb_linear):
    OpenEXR = pytest.importorskip("OpenEXR")
    with OpenEXR.File({"compression": OpenEXR.ZIP_COMPRESSION, "type": OpenEXR.scanlineimage},
                      {"RGB": rgb_linear.astype(np.float16)}) as handle:
        handle.write(str(path))


def test_a_single_exr_is_a_still_with_the_sequences_colour_handling(capsys, style, tmp_path):
    from vidstyle.colorspaces import LINEAR, SRGB, convert
    from vidstyle.images import read_image
    display = make_content().astype(np.float32) / 255
    exr = tmp_path / "plate.exr"
    _write_exr(exr, convert(display, SRGB, LINEAR)[..., ::-1])
    # Read as a sequence frame is: linear -> sRGB, so it looks like the picture, not much darker.
    assert np.abs(read_image(exr).pixels - display).max() < 0.01
    for out in ("out.png", "out.exr", "out.tif"):
        code, _, err = run(capsys, exr, style, "-o", tmp_path / out, *STILL)
        assert code == 0, err
        assert (tmp_path / out).is_file()
    assert not glob.glob(str(tmp_path / "*.mp4"))
    assert read_image(tmp_path / "out.exr").pixels.shape == display.shape
    assert cv2.imread(str(tmp_path / "out.png"), cv2.IMREAD_UNCHANGED).dtype == np.uint16


def test_nan_in_an_exr_is_reported_not_turned_black(capsys, style, tmp_path):
    exr = tmp_path / "nan.exr"
    _write_exr(exr, np.full((32, 48, 3), np.nan, np.float32))
    code, _, err = run(capsys, exr, style, "-o", tmp_path / "o.png", "--device", "cpu", "-q")
    assert code == 3 and "NaN" in one_line(err)
    os.makedirs(tmp_path / "seq")
    _write_exr(tmp_path / "seq" / "plate.1001.exr", np.full((32, 48, 3), 0.2, np.float32))
    _write_exr(tmp_path / "seq" / "plate.1002.exr", np.full((32, 48, 3), np.inf, np.float32))
    code, _, err = run(capsys, tmp_path / "seq" / "plate.####.exr", style, "-o", tmp_path / "o.####.exr", *FAST)
    assert code == 3 and "plate.1002.exr" in one_line(err)


# -- 6. no traceback for small sizes ----------------------------------------------------------------

def _image(tmp_path, h, w):
    path = tmp_path / f"tiny{h}x{w}.png"
    cv2.imwrite(str(path), np.full((h, w, 3), 128, np.uint8))
    return path


SMALL = [
    ("1x1 content", lambda t, s: [_image(t, 1, 1), s], 3, "16 px"),
    ("5x5 content", lambda t, s: [_image(t, 5, 5), s], 3, "16 px"),
    ("16x8 video", lambda t, s: [write_clip(t / "v.mp4", [np.zeros((8, 16, 3), np.uint8)] * 2, audio=False,
                                            codec_args=("-c:v", "libx264", "-pix_fmt", "yuv444p")), s,
                                 "-o", t / "o.mp4"], 3, "16 px"),
    ("--size 16", lambda t, s: [_image(t, 36, 48), s, "--size", "16"], 2, "at least 22"),
    ("--style-scale 0.01", lambda t, s: [_image(t, 36, 48), s, "--style-scale", "0.01"], 2, "style scale"),
]


@pytest.mark.parametrize("case,build,code,text", SMALL, ids=[c[0] for c in SMALL])
def test_sizes_too_small_for_vgg_are_one_line_before_any_work(capsys, style, tmp_path, case, build, code, text):
    args = build(tmp_path, style)
    if "-o" not in args:
        args += ["-o", tmp_path / "o.png"]
    got, _, err = run(capsys, *args, "--device", "cpu", "--iterations", "2")
    assert got == code, err
    assert text in one_line(err) and "Traceback" not in err
    assert not glob.glob(str(tmp_path / "o.*")) and not hidden(tmp_path)


# -- 7. a refused run leaves nothing behind ------------------------------------------------------------

def _garbage_weights(t):
    path = t / "w.pth"
    path.write_bytes(os.urandom(500))
    return path


REFUSED = [
    ("cuda without cuda", lambda t: ["--device", "cuda"], 2),
    ("blend count", lambda t: ["--blend", "1,2,3"], 2),
    ("missing init", lambda t: ["--init", t / "nope.png"], 3),
    ("garbage weights", lambda t: ["--weights", _garbage_weights(t)], 3),
]


@pytest.mark.parametrize("case,extra,code", REFUSED, ids=[c[0] for c in REFUSED])
def test_a_refused_run_leaves_no_state_and_the_corrected_command_runs(capsys, style, tmp_path, case, extra, code):
    if case == "cuda without cuda" and torch.cuda.is_available():
        pytest.skip("this machine has CUDA")
    clip = write_clip(tmp_path / "clip.mp4", moving_square(3))
    out = tmp_path / "out.mp4"
    got, _, err = run(capsys, clip, style, "-o", out, *FAST, *extra(tmp_path))
    assert got == code, err
    one_line(err)
    assert not hidden(tmp_path) and not out.exists()
    got, _, err = run(capsys, clip, style, "-o", out, *FAST)   # no --overwrite needed
    assert got == 0, err


# -- 8. kills leave no litter; SIGTERM speaks -----------------------------------------------------------

def test_the_next_run_removes_what_a_killed_encode_left(capsys, style, tmp_path):
    clip = write_clip(tmp_path / "clip.mp4", moving_square(3))
    litter = [tmp_path / ".out.mp4.0123456789ab.partial.mp4", tmp_path / ".out.0123456789.partial.mp4"]
    for path in litter:
        path.write_bytes(b"half a video")
    assert run(capsys, clip, style, "-o", tmp_path / "out.mp4", *FAST)[0] == 0
    assert not any(p.exists() for p in litter) and not hidden(tmp_path)


def _gone(pid: int, within: float = 10.0) -> bool:
    """Whether process ``pid`` has ended (it may take a moment to be reaped once its parent is gone)."""
    deadline = time.time() + within
    while time.time() < deadline:
        try:
            os.kill(pid, 0)
        except ProcessLookupError:
            return True
        time.sleep(0.1)
    return False


def test_sigterm_during_the_audio_mux_exits_in_one_line_and_resumes(style, tmp_path):
    clip = write_clip(tmp_path / "clip.mp4", moving_square(4))
    marker = tmp_path / "muxing"
    # The mux step becomes a long sleep (the same process: exec keeps the shell's id, written to the marker).
    fake = _stand_in_ffmpeg(tmp_path, f'if [[ " $* " == *" 1:a:0? "* ]]; then echo $$ > {marker}; exec sleep 60; fi')
    out = tmp_path / "out.mp4"
    command = [sys.executable, "-m", "vidstyle", str(clip), style, "-o", str(out), *FAST]
    victim = subprocess.Popen(command, cwd=ROOT, stderr=subprocess.PIPE, text=True,
                              env={**os.environ, "IMAGEIO_FFMPEG_EXE": fake})
    deadline = time.time() + 240
    while not (marker.exists() and marker.read_text().strip()) and victim.poll() is None and time.time() < deadline:
        time.sleep(0.05)
    assert marker.exists(), victim.stderr.read()
    victim.send_signal(signal.SIGTERM)
    err = victim.communicate(timeout=60)[1]
    assert victim.returncode == 143 and "terminated" in one_line(err)
    assert not glob.glob(str(tmp_path / ".*partial*")) and not out.exists()
    assert _gone(int(marker.read_text()))   # the ffmpeg it started is not left behind
    done = subprocess.run(command, cwd=ROOT, capture_output=True, text=True, timeout=300)
    assert done.returncode == 0, done.stderr
    assert frame_count(out) == 4 and not hidden(tmp_path)


# -- 9. two runs on one output do not race --------------------------------------------------------------

def test_a_second_run_on_the_same_output_refuses_naming_the_first(capsys, style, tmp_path):
    clip = write_clip(tmp_path / "clip.mp4", moving_square(3))
    out = tmp_path / "out.mp4"
    with WorkFolder(Output(str(out)), None, []):   # the first run, holding the work folder
        code, _, err = run(capsys, clip, style, "-o", out, *FAST)
        assert code == 4 and f"pid {os.getpid()}" in one_line(err)
        with pytest.raises(BusyError):
            vidstyle.stylize_video(str(clip), style, str(out), OPTS, VOPTS)
    assert run(capsys, clip, style, "-o", out, *FAST)[0] == 0   # once it is done, the command runs


def test_farm_chunks_of_one_output_still_run_side_by_side(style, tmp_path):
    plate = sequence(tmp_path / "in", moving_square(4))
    out = str(tmp_path / "st.####.png")
    with WorkFolder(Output(out), [1001, 1002], []):   # chunk 1001-1002 is running
        vidstyle.stylize_video(plate, style, out, OPTS, VOPTS.replace(frames=(1003, 1004), warmup=0))
    assert (tmp_path / "st.1004.png").is_file()


# -- 10. small ones --------------------------------------------------------------------------------------

def test_a_hash_in_a_video_name_is_just_a_character(capsys, style, tmp_path):
    clip = write_clip(tmp_path / "clip.mp4", moving_square(2))
    out = tmp_path / "take #1.mp4"
    code, _, err = run(capsys, clip, style, "-o", out, *FAST)
    assert code == 0, err
    assert frame_count(out) == 2


def test_video_options_given_for_a_still_are_refused(capsys, content_path, style_path, tmp_path):
    code, _, err = run(capsys, content_path, style_path, "-o", tmp_path / "o.png", "--crf", "99", "--fps", "abc",
                       "--temporal-weight", "nan", "--device", "cpu")
    line = one_line(err)
    assert code == 2 and "--temporal-weight" in line and "--fps" in line and "--crf" in line
    assert not (tmp_path / "o.png").exists()


def test_fps_zero_says_zero(capsys, style, tmp_path):
    clip = write_clip(tmp_path / "clip.mp4", moving_square(2))
    code, _, err = run(capsys, clip, style, "-o", tmp_path / "o.mp4", "--fps", "0", *FAST)
    line = one_line(err)
    assert code == 2 and "not 0" in line and "Fraction" not in line


def test_a_bad_input_speaks_before_anything_else(style, tmp_path):
    garbage = tmp_path / "garbage.mp4"
    garbage.write_bytes(os.urandom(3000))
    done = subprocess.run([sys.executable, "-m", "vidstyle", str(garbage), style, "-o",
                           str(tmp_path / "o.mp4"), *FAST], capture_output=True, text=True, timeout=300, cwd=ROOT)
    assert done.returncode == 3 and "garbage.mp4" in one_line(done.stderr)


def test_an_input_error_inside_the_library_is_typed(style, tmp_path):
    with pytest.raises(InputError, match="single image"):
        vidstyle.stylize_video(style, style, str(tmp_path / "o.mp4"), OPTS, VOPTS)
    with pytest.raises(OutputError):
        vidstyle.stylize_video(str(write_clip(tmp_path / "c.mp4", moving_square(2))), style,
                               str(tmp_path / "o.gif"), OPTS, VOPTS)
    assert VideoOptions().accept_damaged is False and StyleOptions().size == 512


# == Round two (issue #17) =================================================================================

# -- no path the run writes may be one of its inputs or its output ---------------------------------------

@pytest.mark.parametrize("target", ["input", "style", "output"])
def test_a_report_never_overwrites_an_input_or_the_output(capsys, style, tmp_path, target):
    clip = write_clip(tmp_path / "clip.mp4", moving_square(3))
    out = tmp_path / "out.mp4"
    assert run(capsys, clip, style, "-o", out, *FAST)[0] == 0
    path = {"input": clip, "style": style, "output": out}[target]
    before = digest(path)
    output = out if target == "output" else tmp_path / "again.mp4"   # the report is this run's own output
    code, _, err = run(capsys, clip, style, "-o", output, "--overwrite", "--report", path, *FAST)
    assert code == 4 and "report" in one_line(err)
    assert digest(path) == before and not (tmp_path / "again.mp4").exists() and not hidden(tmp_path)


@pytest.mark.parametrize("target", ["input", "frame"])
def test_a_plan_never_overwrites_its_input(capsys, style, tmp_path, target):
    clip = write_clip(tmp_path / "clip.mp4", moving_square(3))
    pattern = sequence(tmp_path / "in", moving_square(3))
    source, path = (clip, clip) if target == "input" else (pattern, tmp_path / "in" / "shot.1002.png")
    before = digest(path)
    code, _, err = run(capsys, "plan", source, "--json", path, "-q")
    assert code == 4 and "plan" in one_line(err) and digest(path) == before


def test_an_output_that_is_a_folder_is_refused_before_any_work(capsys, style, tmp_path, content_path):
    clip = write_clip(tmp_path / "clip.mp4", moving_square(3))
    (tmp_path / "dir.mp4").mkdir()
    code, _, err = run(capsys, clip, style, "-o", tmp_path / "dir.mp4", "--overwrite", *FAST)
    assert code == 4 and "is a folder" in one_line(err) and not hidden(tmp_path)
    (tmp_path / "dir.png").mkdir()
    code, _, err = run(capsys, content_path, style, "-o", tmp_path / "dir.png", "--overwrite", *STILL)
    assert code == 4 and "is a folder" in one_line(err)
    sequence(tmp_path / "st", moving_square(2), start=0, pattern="st.{:04d}.png")
    code, _, err = run(capsys, "assemble", tmp_path / "st" / "st.####.png", "-o", tmp_path / "dir.mp4", "--fps",
                       "24", "--overwrite")
    assert code == 4 and "is a folder" in one_line(err)


def test_a_report_folder_or_a_name_too_long_for_its_temporary_name_is_refused_before_any_work(capsys, style,
                                                                                              tmp_path):
    clip = write_clip(tmp_path / "clip.mp4", moving_square(3))
    (tmp_path / "reports").mkdir()
    started = time.perf_counter()
    code, _, err = run(capsys, clip, style, "-o", tmp_path / "o.mp4", "--report", tmp_path / "reports", *FAST)
    assert code == 4 and "is a folder" in one_line(err) and time.perf_counter() - started < 20
    long_name = tmp_path / ("x" * 240 + ".mp4")   # fits 255, but not under ".NAME.<hex>.partial.mp4"
    code, _, err = run(capsys, clip, style, "-o", long_name, *FAST)
    assert code == 4 and "too long" in one_line(err) and not hidden(tmp_path)


# -- tracebacks turned into one line --------------------------------------------------------------------

def test_assemble_given_a_video_says_it_takes_frames(capsys, tmp_path):
    clip = write_clip(tmp_path / "clip.mp4", moving_square(3))
    code, _, err = run(capsys, "assemble", clip, "-o", tmp_path / "film.mp4", "--fps", "24")
    assert code == 2 and "sequence pattern" in one_line(err)


def test_absurd_style_scales_are_one_line_and_leave_nothing_that_blocks_the_corrected_command(capsys, style,
                                                                                             tmp_path):
    clip = write_clip(tmp_path / "clip.mp4", moving_square(3))
    out = tmp_path / "o.mp4"
    code, _, err = run(capsys, clip, style, "-o", out, "--style-scale", "1e6", *FAST)
    assert code == 2 and "at most" in one_line(err) and not hidden(tmp_path)
    assert run(capsys, clip, style, "-o", out, *FAST)[0] == 0


def test_a_very_wide_style_is_told_a_scale_that_works(capsys, tmp_path, content_path):
    wide = tmp_path / "wide.png"
    cv2.imwrite(str(wide), np.random.default_rng(0).integers(0, 255, (20, 2000, 3), dtype=np.uint8))
    code, _, err = run(capsys, content_path, wide, "-o", tmp_path / "o.png", *STILL)
    line = one_line(err)
    assert code == 2 and "use a style scale of at least" in line
    advised = line.rsplit(" ", 1)[1]
    assert run(capsys, content_path, wide, "-o", tmp_path / "o.png", "--style-scale", advised, *STILL)[0] == 0


def test_a_full_disk_while_the_optimisers_memory_is_saved_is_one_line(style, tmp_path):
    """A real file-size limit (RLIMIT_FSIZE): frames fit, the memory checkpoint does not; torch.save fails."""
    plate = sequence(tmp_path / "in", moving_square(3))
    limit = ("import resource, signal, sys, runpy; signal.signal(signal.SIGXFSZ, signal.SIG_IGN); "
             "resource.setrlimit(resource.RLIMIT_FSIZE, (60000, 60000)); sys.argv = ['vidstyle'] + sys.argv[1:]; "
             "runpy.run_module('vidstyle', run_name='__main__')")
    done = subprocess.run([sys.executable, "-c", limit, plate, style, "-o", str(tmp_path / "st.####.png"),
                           "--size", "64", "--iterations", "3", "--warm-iterations", "2", "--device", "cpu", "-q"],
                          capture_output=True, text=True, timeout=300, cwd=ROOT)
    line = one_line(done.stderr)
    assert done.returncode == 4 and "work folder" in line and "full disk" in line


def _read_only(folder) -> list[str]:
    """A command prefix that runs under ``folder`` made read-only: a read-only bind mount (as root, where
    permissions do not bind) or a mode without write permission (anyone else)."""
    if os.geteuid() != 0:
        for root, dirs, _ in os.walk(folder):
            os.chmod(root, 0o555)
        return []
    script = f"mount --bind {folder} {folder} && mount -o remount,ro,bind {folder} && exec \"$@\""
    return ["unshare", "--mount", "sh", "-c", script, "sh"]


def test_a_read_only_work_folder_is_one_line(style, tmp_path):
    plate = sequence(tmp_path / "in", moving_square(4))
    out = str(tmp_path / "st.####.png")
    with pytest.raises(KeyboardInterrupt):
        vidstyle.stylize_video(plate, style, out, OPTS, VOPTS, callback=interrupt_after(2))
    work = tmp_path / ".st.____.png.vidstyle"
    prefix = _read_only(work)
    done = subprocess.run([*prefix, sys.executable, "-m", "vidstyle", plate, style, "-o", out, "--size", "64",
                           "--iterations", "8", "--warm-iterations", "4", "--tolerance", "0", "--device", "cpu",
                           "-q"], capture_output=True, text=True, timeout=300, cwd=ROOT)
    line = one_line(done.stderr)
    assert done.returncode == 4 and "work folder" in line and "writable" in line


def test_stray_files_in_the_work_folder_are_left_alone(style, tmp_path):
    plate = sequence(tmp_path / "in", moving_square(4))
    out = str(tmp_path / "st.####.png")
    with pytest.raises(KeyboardInterrupt):
        vidstyle.stylize_video(plate, style, out, OPTS, VOPTS, callback=interrupt_after(2))
    work = tmp_path / ".st.____.png.vidstyle" / "all"
    (work / "frames" / "notes.txt").write_text("mine")
    (work / "memory" / "backup.pt").write_text("mine")
    resumed = vidstyle.stylize_video(plate, style, out, OPTS, VOPTS)
    assert [r.resumed for r in resumed.frames] == [True, True, False, False]


def test_a_damaged_stored_frame_is_rendered_again_and_a_garbage_manifest_starts_afresh(style, tmp_path):
    plate = sequence(tmp_path / "in", moving_square(4))
    out = str(tmp_path / "st.####.png")
    reference = vidstyle.stylize_video(plate, style, str(tmp_path / "ref.####.png"), OPTS, VOPTS)
    with pytest.raises(KeyboardInterrupt):
        vidstyle.stylize_video(plate, style, out, OPTS, VOPTS, callback=interrupt_after(3))
    work = tmp_path / ".st.____.png.vidstyle" / "all"
    stored = sorted((work / "frames").glob("*.png"))
    stored[1].write_bytes(stored[1].read_bytes()[:100])      # frame 1002 damaged on disk
    resumed = vidstyle.stylize_video(plate, style, out, OPTS, VOPTS)
    assert [r.resumed for r in resumed.frames] == [True, False, False, False]
    for n in range(1001, 1005):
        assert digest(tmp_path / f"st.{n}.png") == digest(tmp_path / f"ref.{n}.png")
    assert len(reference.frames) == 4
    (work / "manifest.json").write_text("{ garbage")
    for n in range(1001, 1005):
        os.unlink(tmp_path / f"st.{n}.png")
    again = vidstyle.stylize_video(plate, style, out, OPTS, VOPTS)   # rebuilt: no advice that cannot work
    assert [r.resumed for r in again.frames] == [False] * 4


def test_a_frame_of_another_size_is_refused_and_the_processor_goes_on(style):
    stylizer = vidstyle.FrameStylizer(style, OPTS, VOPTS)
    frames = moving_square(3)
    stylizer.process(frames[0])
    with pytest.raises(InputError, match="one size"):
        stylizer.process(np.zeros((60, 40, 3), np.uint8))
    out = stylizer.process(frames[1])
    assert out.shape == (48, 64, 3) and not stylizer.record.shot_start   # still the same clip, warm
    stylizer.reset()
    assert stylizer.process(np.zeros((60, 40, 3), np.uint8)).shape == (60, 40, 3)   # announced: a new clip


def test_pipe_refuses_absurd_sizes_and_speaks_of_a_full_device_or_a_closed_stdout(style, tmp_path):
    raw = b"".join(f[..., ::-1].tobytes() for f in moving_square(2))
    args = [sys.executable, "-m", "vidstyle", "pipe", style, "--size", "48", "--iterations", "2",
            "--warm-iterations", "1", "--device", "cpu"]
    done = subprocess.run([*args, "--frame-size", "100000x100000"], input=raw, capture_output=True, timeout=120,
                          cwd=ROOT)
    assert done.returncode == 2 and "--frame-size" in one_line(done.stderr.decode())
    with open("/dev/full", "wb") as full:
        done = subprocess.run([*args, "--frame-size", "64x48"], input=raw, stdout=full, stderr=subprocess.PIPE,
                              timeout=300, cwd=ROOT)
    assert done.returncode == 4 and "No space left" in one_line(done.stderr.decode())
    done = subprocess.run(["sh", "-c", '"$@" >&-', "sh", *args, "--frame-size", "64x48"], input=raw,
                          stderr=subprocess.PIPE, timeout=300, cwd=ROOT)
    assert done.returncode in (2, 4) and one_line(done.stderr.decode())


def has_taken_over(pid: int) -> bool:
    """Whether vidstyle's own signal handling (cli/stop.py) is in place in process ``pid``.

    Read from its SigCgt mask in /proc: Python catches SIGINT from its first
    milliseconds but never SIGTERM; vidstyle's ``main`` catches both. Before
    that (the interpreter's own start-up: site, the first imports) a Ctrl-C
    gives Python's traceback, as in any Python program; no code of ours runs
    yet. A busy machine can stretch that window past the test's first wait, so
    the waits count from the moment ``main`` has taken over.
    """
    with open(f"/proc/{pid}/status") as handle:
        mask = int(next(line.split()[1] for line in handle if line.startswith("SigCgt:")), 16)
    return bool(mask >> (signal.SIGTERM - 1) & 1 and mask >> (signal.SIGINT - 1) & 1)


def test_a_double_ctrl_c_ends_in_one_line_every_time(style, tmp_path):
    clip = write_clip(tmp_path / "clip.mp4", moving_square(6))
    for attempt, first in enumerate((0.0, 0.5, 4.0, 8.0)):   # while loading the library, and during frames
        proc = subprocess.Popen([sys.executable, "-m", "vidstyle", str(clip), style, "-o", str(tmp_path / "o.mp4"),
                                 "--size", "48", "--iterations", "200", "--tolerance", "0", "--device", "cpu", "-q"],
                                stderr=subprocess.PIPE, text=True, cwd=ROOT)
        deadline = time.monotonic() + 60
        while not has_taken_over(proc.pid) and time.monotonic() < deadline:
            time.sleep(0.01)
        time.sleep(first)
        proc.send_signal(signal.SIGINT)
        time.sleep(0.05)
        proc.send_signal(signal.SIGINT)
        err = proc.communicate(timeout=120)[1]
        assert proc.returncode == 130 and "interrupted" in one_line(err), (attempt, err)


# -- found only after the work, or messages that mislead ------------------------------------------------

@pytest.mark.parametrize("damage", ["empty", "truncated", "folder"])
def test_a_damaged_frame_in_a_sequence_is_named_before_any_work(capsys, style, tmp_path, damage):
    plate = sequence(tmp_path / "in", moving_square(5))
    frame = tmp_path / "in" / "shot.1004.png"
    if damage == "empty":
        frame.write_bytes(b"")
    elif damage == "truncated":
        frame.write_bytes(frame.read_bytes()[:-30])
    else:
        frame.unlink()
        frame.mkdir()
    started = time.perf_counter()
    code, _, err = run(capsys, plate, style, "-o", tmp_path / "st.####.png", "--iterations", "50", *FAST)
    line = one_line(err)
    assert code == 3 and "1004" in line and time.perf_counter() - started < 20
    assert not glob.glob(str(tmp_path / "st.*"))


def test_frames_of_another_padding_beside_a_sequence_are_left_out(capsys, style, tmp_path):
    plate = sequence(tmp_path / "in", moving_square(3))
    cv2.imwrite(str(tmp_path / "in" / "shot.1.png"), moving_square(1)[0])
    code, _, err = run(capsys, plate, style, "-o", tmp_path / "st.####.png", *FAST)
    assert code == 0, err
    assert sorted(p.name for p in tmp_path.glob("st.*.png")) == ["st.1001.png", "st.1002.png", "st.1003.png"]
    assert "shot.1.png" in err and "warning" in err


@pytest.mark.parametrize("command", ["plan", "check"])
def test_check_and_plan_on_a_still_say_what_they_are_for(capsys, content_path, command):
    args = [command, content_path] if command == "plan" else [command, content_path, content_path]
    code, _, err = run(capsys, *args)
    line = one_line(err)
    assert code == 3 and "single image" in line and "vidstyle IMAGE STYLE" not in line and command in line


@pytest.mark.parametrize("option", [["--chunk-size", "0"], ["--retries", "-5"]])
def test_cluster_options_are_refused_without_ray_and_checked_with_it(capsys, style, tmp_path, option):
    clip = write_clip(tmp_path / "clip.mp4", moving_square(2))
    code, _, err = run(capsys, clip, style, "-o", tmp_path / "o.mp4", *option, *FAST)
    assert code == 2 and "--ray" in one_line(err)
    code, _, err = run(capsys, clip, style, "-o", tmp_path / "o.mp4", *option, "--ray", *FAST)
    assert code == 2 and "whole number" in one_line(err)


# -- nothing hangs ---------------------------------------------------------------------------------------

def test_a_flat_objective_ends(style, tmp_path):
    """Style and TV weights 0: the first frame starts at its optimum (gradient 0). It used to loop forever."""
    clip = write_clip(tmp_path / "clip.mp4", moving_square(4))
    done = subprocess.run([sys.executable, "-m", "vidstyle", str(clip), style, "-o", str(tmp_path / "o.mp4"),
                           "--style-weight", "0", "--tv-weight", "0", *FAST], capture_output=True, text=True,
                          timeout=240, cwd=ROOT)   # generous: it proves termination, not speed
    assert done.returncode == 0, done.stderr
    assert frame_count(tmp_path / "o.mp4") == 4
