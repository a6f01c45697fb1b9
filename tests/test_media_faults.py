"""Containers (issue #17): frame counts, positions and times come from decoding, for every container.

Each clip is made here by the real ffmpeg (imageio-ffmpeg's): MP4, MOV, MKV
(a stream copy), WebM, MPEG-TS, MPEG-2 program stream, AVI (a stream copy
with B-frames), GIF with uneven delays, an MP4 trimmed with an edit list,
and MP4/MKV with a variable frame rate. What vidstyle decodes is compared
with ffmpeg's own decode of the same file; renders use a flat objective
(``--style-weight 0 --tv-weight 0``: the output IS the frame), so a wrong
frame shows as a wrong picture.
"""

from __future__ import annotations

import subprocess

import cv2
import imageio_ffmpeg
import numpy as np
import pytest

from vidstyle import cli
from vidstyle.media import probe, scan
from vidstyle.sources import VideoSource

FFMPEG = imageio_ffmpeg.get_ffmpeg_exe()
W, H, N, FPS = 64, 48, 40, 25
# A render whose output is its input: content loss alone, started at the content (flat: it stops at once).
SAME = ["--style-weight", "0", "--tv-weight", "0", "--warm-start", "none", "--iterations", "1", "--size", "full",
        "--device", "cpu", "-q"]


def frames(n: int = N) -> list[np.ndarray]:
    """Frames that differ from each other everywhere: a moving bar, a colour ramp and the index in bits."""
    out = []
    for i in range(n):
        img = np.zeros((H, W, 3), np.uint8)
        img[..., 0] = (i * 6) % 256
        img[..., 1] = np.linspace(0, 255, W)[None, :]
        img[8:24, (2 * i) % 48:(2 * i) % 48 + 12] = 255
        for bit in range(6):
            if (i >> bit) & 1:
                img[36:44, bit * 10:bit * 10 + 8, 2] = 255
        out.append(img)
    return out


def ffmpeg(*args: str, data: bytes | None = None) -> None:
    subprocess.run([FFMPEG, "-hide_banner", "-loglevel", "error", "-y", *args], input=data, check=True)


def encode(path, args, *, pre=(), audio=True):
    """The test frames (and a tone as long as they last) through ffmpeg with ``args``."""
    raw = b"".join(f.tobytes() for f in frames())
    tone = ["-f", "lavfi", "-i", f"sine=frequency=440:duration={N / FPS}"] if audio else []
    ffmpeg("-f", "rawvideo", "-pix_fmt", "bgr24", "-s", f"{W}x{H}", "-r", str(FPS), *pre, "-i", "-", *tone,
           *args, str(path), data=raw)
    return path


@pytest.fixture(scope="module")
def clips(tmp_path_factory):
    """name -> path of each container case (made once for the module)."""
    d = tmp_path_factory.mktemp("containers")
    h264 = ["-c:v", "libx264", "-pix_fmt", "yuv420p", "-g", "10", "-crf", "10", "-c:a", "aac"]
    made = {
        "mp4": encode(d / "a.mp4", h264),
        "mov": encode(d / "a.mov", h264),
        "webm": encode(d / "a.webm", ["-c:v", "libvpx-vp9", "-g", "10", "-c:a", "libopus"]),
        "ts": encode(d / "a.ts", [*h264, "-bf", "2"]),
        "mpeg-ps": encode(d / "a.mpg", ["-c:v", "mpeg2video", "-g", "10", "-bf", "2", "-c:a", "mp2", "-f", "mpeg"]),
        "gif": encode(d / "a.gif", ["-vf", "setpts='N/25/TB+if(gte(N,10),0.3/TB,0)'", "-fps_mode", "vfr"],
                      audio=False),
        "vfr-mp4": encode(d / "vfr.mp4", ["-vf", "setpts='N/25/TB+if(gte(N,10),0.5/TB,0)+if(gte(N,20),0.4/TB,0)'",
                                          "-fps_mode", "vfr", *h264]),
        "vfr-mkv": encode(d / "vfr.mkv", ["-vf", "setpts='N/25/TB+if(gte(N,10),0.5/TB,0)'", "-fps_mode", "vfr",
                                          *h264]),
    }
    for name, ext in (("mkv-copy", "mkv"), ("avi-copy", "avi")):   # streams copied as they are (B-frames)
        ffmpeg("-i", str(made["mp4"]), "-c", "copy", str(d / f"copy.{ext}"))
        made[name] = d / f"copy.{ext}"
    ffmpeg("-ss", "0.2", "-i", str(made["mp4"]), "-c", "copy", str(d / "cut.mp4"))   # an edit list drops 5 frames
    made["edit-list"] = d / "cut.mp4"
    return made


def ffmpeg_frames(path) -> list[np.ndarray]:
    """ffmpeg's own decode of every frame, as they come (no rate conversion), BGR."""
    done = subprocess.run([FFMPEG, "-v", "error", "-i", str(path), "-map", "0:v:0", "-fps_mode", "passthrough",
                           "-f", "rawvideo", "-pix_fmt", "bgr24", "-"], capture_output=True, check=True)
    return list(np.frombuffer(done.stdout, np.uint8).reshape(-1, H, W, 3))


CONTAINERS = ["mp4", "mov", "mkv-copy", "webm", "ts", "mpeg-ps", "avi-copy", "gif", "edit-list", "vfr-mp4", "vfr-mkv"]


@pytest.mark.parametrize("name", CONTAINERS)
def test_every_frame_of_every_container_and_ranges_give_exactly_those_frames(clips, name):
    truth = ffmpeg_frames(clips[name])
    whole = VideoSource(str(clips[name]))
    whole.check()                              # refuses nothing: none of these files is damaged
    assert whole.numbers == list(range(len(truth)))
    assert len(truth) == (35 if name == "edit-list" else N)
    part = VideoSource(str(clips[name]))
    part.restrict([10, 11, 12])
    part.check()
    got = list(part.frames())
    assert [f.number for f in got] == [10, 11, 12]
    for f in got:
        assert np.array_equal(np.round(f.pixels * 255).astype(np.uint8), truth[f.number])


@pytest.mark.parametrize("name", ["ts", "mpeg-ps"])
def test_frames_from_a_range_are_the_right_pictures(clips, name, style, tmp_path):
    out = tmp_path / "o.####.png"
    assert cli.main([str(clips[name]), style, "-o", str(out), "--frames", "10-12", *SAME]) == 0
    truth = ffmpeg_frames(clips[name])
    written = sorted(p.name for p in tmp_path.glob("o.*.png"))
    assert written == ["o.0010.png", "o.0011.png", "o.0012.png"]
    for n in (10, 11, 12):
        assert np.array_equal(cv2.imread(str(tmp_path / f"o.{n:04d}.png")), truth[n])


def test_a_range_past_the_end_names_the_frames_the_video_has(clips, style, tmp_path, capsys):
    code = cli.main([str(clips["edit-list"]), style, "-o", str(tmp_path / "o.mp4"), "--frames", "30-39", *SAME])
    err = capsys.readouterr().err.strip()
    assert code == 2 and "35-39" in err and "has 35 frames" in err and len(err.splitlines()) == 1
    assert [p.name for p in tmp_path.iterdir()] == ["style.png"]   # nothing written


@pytest.mark.parametrize("name", ["vfr-mp4", "vfr-mkv", "gif"])
def test_a_variable_frame_rate_keeps_each_frames_time(clips, name, style, tmp_path):
    out = tmp_path / "o.mp4"
    assert cli.main([str(clips[name]), style, "-o", str(out), *SAME]) == 0
    source, made = scan(str(clips[name])), scan(str(out))
    assert made.frames == source.frames == N
    start_s, start_m = source.times[0], made.times[0]
    for a, b in zip(source.times, made.times):
        assert abs((b - start_m) - (a - start_s)) < 0.002   # each frame where it was (1 ms track ticks)
    assert abs(made.times[-1] - made.times[0] - (source.times[-1] - source.times[0])) < 0.002


def test_a_rate_given_for_a_variable_rate_source_is_said_in_a_warning(clips, style, tmp_path, capsys):
    out = tmp_path / "o.mp4"
    assert cli.main([str(clips["vfr-mp4"]), style, "-o", str(out), "--fps", "25", *SAME]) == 0
    warnings = [line for line in capsys.readouterr().err.splitlines() if line.startswith("vidstyle: warning:")]
    assert len(warnings) == 1 and "variable frame rate" in warnings[0]
    assert scan(str(out)).times[-1] == pytest.approx((N - 1) / 25, abs=0.002)


def test_a_video_that_starts_after_its_sound_keeps_the_offset(tmp_path, style):
    picture = encode(tmp_path / "picture.mp4", ["-c:v", "libx264", "-pix_fmt", "yuv420p"], audio=False)
    late = tmp_path / "late.mp4"   # the picture's stream starts 0.6 s after the sound (an edit list)
    ffmpeg("-f", "lavfi", "-i", "sine=frequency=440:duration=2.2", "-itsoffset", "0.6", "-i", str(picture),
           "-map", "1:v", "-map", "0:a", "-c:v", "copy", "-c:a", "aac", str(late))
    source = scan(str(late))
    assert source.times[0] - source.audio_start == pytest.approx(0.6, abs=0.03)
    out = tmp_path / "o.mp4"
    assert cli.main([str(late), style, "-o", str(out), *SAME]) == 0
    made = scan(str(out))
    assert made.times[0] - made.audio_start == pytest.approx(0.6, abs=0.03)   # the picture still starts later


def test_a_range_takes_its_sound_from_its_first_frame(clips, style, tmp_path):
    out = tmp_path / "o.mp4"
    assert cli.main([str(clips["vfr-mp4"]), style, "-o", str(out), "--frames", "5-14", *SAME]) == 0
    made = scan(str(out))
    assert made.frames == 10 and abs(made.times[0] - made.audio_start) < 0.03


def test_pcm_sound_from_a_mov_becomes_aac_in_an_mp4(tmp_path, style):
    mov = encode(tmp_path / "pcm.mov", ["-c:v", "libx264", "-pix_fmt", "yuv420p", "-c:a", "pcm_s16le"])
    assert probe(str(mov)).audio_codec == "pcm_s16le"
    assert cli.main([str(mov), style, "-o", str(tmp_path / "o.mp4"), "--frames", "0-3", *SAME]) == 0
    assert probe(str(tmp_path / "o.mp4")).audio_codec == "aac"        # players cannot play PCM in .mp4
    assert cli.main([str(mov), style, "-o", str(tmp_path / "o.mov"), "--frames", "0-3", *SAME]) == 0
    assert probe(str(tmp_path / "o.mov")).audio_codec == "pcm_s16le"   # a .mov keeps it as it is


def test_assemble_keeps_a_variable_rate_sources_times(clips, tmp_path, style):
    assert cli.main([str(clips["vfr-mp4"]), style, "-o", str(tmp_path / "st.####.png"), *SAME]) == 0
    film = tmp_path / "film.mp4"
    assert cli.main(["assemble", str(tmp_path / "st.####.png"), "-o", str(film), "--audio-from",
                     str(clips["vfr-mp4"]), "-q"]) == 0
    source, made = scan(str(clips["vfr-mp4"])), scan(str(film))
    assert made.frames == N
    assert all(abs((b - made.times[0]) - (a - source.times[0])) < 0.002 for a, b in zip(source.times, made.times))
