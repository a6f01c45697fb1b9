"""Render-farm chunks: planning, a chunk as an ordinary command (warm-up, idempotent), assembly."""

from __future__ import annotations

import json
import os

import cv2
import pytest

import vidstyle
from vidstyle import OutputError, cli
from vidstyle.chunks import split
from vidstyle.media import probe

from .conftest import OPTS, VOPTS, digest, moving_square, sequence, two_shots, write_clip


def kept(folder, prefix):
    return sorted(n for n in os.listdir(folder) if n.startswith(prefix))


def test_split_starts_chunks_at_cuts_and_warms_up_inside_long_shots():
    numbers = list(range(1001, 1031))
    # Shots of 4, 4 and 22 frames; chunks of at most 10.
    chunks = split(numbers, [1001, 1005, 1009], chunk_size=10, warmup=3)
    assert [(c.first, c.last, c.warmup) for c in chunks] == [
        (1001, 1008, 0),                     # two short shots share a chunk
        (1009, 1015, 0), (1016, 1023, 3), (1024, 1030, 3),   # 22 frames in three near-equal pieces
    ]
    assert [c.starts_at_cut for c in chunks] == [True, True, False, False]
    covered = [n for c in chunks for n in range(c.first, c.last + 1)]
    assert covered == numbers                # every frame in exactly one chunk
    # Warm-up never reaches back over the shot's start.
    assert split(numbers, [1001], chunk_size=20, warmup=50)[1].warmup == 15


def test_plan_command_prints_chunks_and_writes_json(tmp_path, capsys):
    pattern = two_shots(tmp_path / "in", length=4)
    plan_file = tmp_path / "plan.json"
    assert cli.main(["plan", pattern, "--chunk-size", "3", "--warmup", "2", "--json", str(plan_file), "-q"]) == 0
    printed = capsys.readouterr().out
    assert "8 frames (1001-1008), 2 shot(s), 4 chunk(s)" in printed
    data = json.loads(plan_file.read_text())
    assert data["shots"] == [1001, 1005]
    assert [(c["frames"], c["warmup"]) for c in data["chunks"]] == [
        ("1001-1002", 0), ("1003-1004", 2), ("1005-1006", 0), ("1007-1008", 2)]
    assert cli.main(["plan", pattern, "--chunk-size", "0"]) == 2
    # A range that starts inside a shot: its first chunk warms up, as its render will.
    assert cli.main(["plan", pattern, "--frames", "1003-1008", "--chunk-size", "3", "--json", "-"]) == 0
    data = json.loads(capsys.readouterr().out)
    assert [(c["frames"], c["warmup"], c["starts_at_cut"]) for c in data["chunks"]] == [
        ("1003-1004", 2, False), ("1005-1006", 0, True), ("1007-1008", 2, False)]
    assert data["shots"] == [1005]


def test_chunk_inside_a_shot_renders_its_warm_up_and_keeps_only_its_frames(style, tmp_path):
    pattern = sequence(tmp_path / "in", moving_square(6))
    serial = vidstyle.stylize_video(pattern, style, str(tmp_path / "serial.####.png"), OPTS, VOPTS)
    out = str(tmp_path / "chunk.####.png")
    chunk = vidstyle.stylize_video(pattern, style, out, OPTS, VOPTS.replace(frames=(1004, 1005, 1006), warmup=5))
    assert [r.number for r in chunk.warmup] == [1001, 1002, 1003]   # back to the shot's start, not further
    assert [r.number for r in chunk.frames] == [1004, 1005, 1006] and chunk.shots == []
    assert kept(tmp_path, "chunk.") == ["chunk.1004.png", "chunk.1005.png", "chunk.1006.png"]
    # The warm-up reached the shot's start, so the chunk equals the serial run there.
    assert serial.shots == [1001]
    for n in (1004, 1005, 1006):
        assert digest(tmp_path / f"chunk.{n}.png") == digest(tmp_path / f"serial.{n}.png")
    # A chunk that starts at a cut needs no warm-up.
    cut = two_shots(tmp_path / "cut")
    at_cut = vidstyle.stylize_video(cut, style, str(tmp_path / "b.####.png"), OPTS, VOPTS.replace(frames=(1004, 1005)))
    assert at_cut.warmup == [] and at_cut.shots == [1004]


def test_rerunning_a_chunk_is_idempotent(style, tmp_path):
    pattern = sequence(tmp_path / "in", moving_square(5))
    out = str(tmp_path / "st.####.png")
    video = VOPTS.replace(frames=(1003, 1004, 1005), warmup=1)
    vidstyle.stylize_video(pattern, style, out, OPTS, video)
    before = {n: (digest(tmp_path / f"st.{n}.png"), os.stat(tmp_path / f"st.{n}.png").st_mtime_ns)
              for n in (1003, 1004, 1005)}
    again = vidstyle.stylize_video(pattern, style, out, OPTS, video)   # e.g. a farm requeued the task
    assert all(r.resumed for r in again.frames)
    assert {n: (digest(tmp_path / f"st.{n}.png"), os.stat(tmp_path / f"st.{n}.png").st_mtime_ns)
            for n in (1003, 1004, 1005)} == before
    os.unlink(tmp_path / "st.1005.png")          # lost on the farm's storage: the rerun brings it back
    vidstyle.stylize_video(pattern, style, out, OPTS, video)
    assert digest(tmp_path / "st.1005.png") == before[1005][0]
    with pytest.raises(OutputError, match="finished run with other parameters"):
        vidstyle.stylize_video(pattern, style, out, OPTS.replace(style_weight=2.0), video)
    # Other chunks of the same output do not collide with this one's state.
    vidstyle.stylize_video(pattern, style, out, OPTS, VOPTS.replace(frames=(1001, 1002)))
    assert kept(tmp_path, "st.") == [f"st.{n}.png" for n in range(1001, 1006)]


def test_assemble_builds_the_film_with_sound_and_names_missing_frames(tmp_path, capsys):
    source = write_clip(tmp_path / "src.mp4", moving_square(6), fps="12")
    frames = tmp_path / "frames"
    frames.mkdir()
    for i, f in enumerate(moving_square(6)):
        cv2.imwrite(str(frames / f"st.{i:04d}.png"), 255 - f)
    pattern = str(frames / "st.####.png")
    film = tmp_path / "film.mp4"
    assert cli.main(["assemble", pattern, "-o", str(film), "--audio-from", str(source), "-q"]) == 0
    cap = cv2.VideoCapture(str(film))
    assert cap.get(cv2.CAP_PROP_FPS) == 12 and int(cap.get(cv2.CAP_PROP_FRAME_COUNT)) == 6
    cap.release()
    assert probe(str(film)).has_audio
    os.unlink(frames / "st.0002.png")
    os.unlink(frames / "st.0005.png")   # the last frame: only the source knows it is missing
    code = cli.main(["assemble", pattern, "-o", str(tmp_path / "f2.mp4"), "--audio-from", str(source)])
    err = capsys.readouterr().err
    assert code == 3 and "2 frame(s) missing" in err and ": 2,5;" in err, err
    assert not (tmp_path / "f2.mp4").exists()
    # Without a source the fps must be given.
    assert cli.main(["assemble", pattern, "-o", str(tmp_path / "f3.mp4"), "--frames", "0-1"]) == 2
    assert cli.main(["assemble", pattern, "-o", str(tmp_path / "f3.mp4"), "--frames", "0-1", "--fps", "24",
                     "-q"]) == 0
