"""Styles over time: the style track (--style-at, --style-track), fades inside a shot, and every host that runs frames."""

import json
import os

import cv2
import numpy as np
import pytest
import torch

from vidstyle import ConfigError, FrameStylizer, InputError, VideoOptions, cli
from vidstyle.losses import blend_grams
from vidstyle.preflight import prepare
from vidstyle.styletrack import StyleKey, StyleTrack, fade_weight, parse_key, read_track
from vidstyle.terms import GuidedStyle

from .conftest import OPTS, digest, interrupt_after, make_style, moving_square, sequence, two_shot_frames

RUN = ["--size", "64", "--iterations", "8", "--warm-iterations", "4", "--device", "cpu", "-q"]


def other_style() -> np.ndarray:
    return np.ascontiguousarray(make_style()[:, ::-1, ::-1])   # stripes the other way, colours swapped


def third_style() -> np.ndarray:
    return np.ascontiguousarray(255 - make_style())


@pytest.fixture
def styles(tmp_path):
    """Three style images' paths (a, b, c)."""
    paths = []
    for name, image in (("a", make_style()), ("b", other_style()), ("c", third_style())):
        paths.append(str(tmp_path / f"{name}.png"))
        cv2.imwrite(paths[-1], image)
    return paths


def run_cli(capsys, *args):
    code = cli.main([str(a) for a in args])
    captured = capsys.readouterr()
    return code, captured.out, captured.err


def track_of(keys, fade, base=(make_style(),), **kw) -> StyleTrack:
    return StyleTrack(list(base), keys, fade, **kw)


# -- the track: which styles each frame gets ---------------------------------------------------------

def test_a_key_inside_a_shot_fades_over_n_frames_and_a_key_at_a_shot_start_is_at_once():
    track = track_of([StyleKey(3, (other_style(),)), StyleKey(10, (third_style(),))], fade=4)
    track.decide(3, False)   # inside the shot
    track.decide(10, True)   # a cut
    weights = {n: track.slots_at(n)[0] for n in range(12)}
    assert weights[0] == weights[2] == (1.0, 0.0, 0.0)                 # the positional style
    assert [round(weights[n][1], 4) for n in range(3, 8)] == [0.4375, 0.75, 0.9375, 1.0, 1.0]   # ease-out
    assert all(abs(sum(w) - 1) < 1e-9 for w in weights.values())       # a blend throughout
    assert weights[10] == (0.0, 0.0, 1.0)                              # at the cut: at once
    assert track.fading(4) and not track.fading(6) and not track.fading(10)
    assert [track.changing(n) for n in (2, 3, 6, 7, 10, 11)] == [False, True, True, False, True, False]


def test_a_key_during_a_fade_fades_from_the_mixed_blend_and_fade_0_is_at_once():
    track = track_of([StyleKey(2, (other_style(),)), StyleKey(4, (third_style(),))], fade=4)
    track.decide(2, False)
    track.decide(4, False)
    at3 = track.slots_at(3)[0]                                          # 2 of 4 frames: 3/4 of the way to b
    assert np.allclose(at3, (0.25, 0.75, 0.0))
    a = fade_weight(1, 4)
    assert np.allclose(track.slots_at(4)[0], (1 - a) * np.array(at3) + a * np.array((0, 0, 1)))
    assert np.allclose(track.slots_at(7)[0], (0, 0, 1))
    now = track_of([StyleKey(2, (other_style(),))], fade=0)
    now.decide(2, False)
    assert now.slots_at(2)[0] == (0.0, 1.0)


def test_keys_share_images_and_weights_blend_them():
    b = other_style()
    track = track_of([StyleKey(2, (b, make_style()), (3.0, 1.0)), StyleKey(5, (b,))], fade=0)
    assert len(track.images) == 2                                       # a, b: each once, whatever names them
    assert np.allclose(track.slots_at(2)[0], (0.25, 0.75))
    loads = []
    counted = StyleTrack([], [StyleKey(0, ("x.png",)), StyleKey(4, ("x.png", "y.png"))], 0,
                         load=lambda p: loads.append(p) or (make_style() if p == "x.png" else other_style()))
    assert len(counted.images) == 2 and sorted(loads) == ["x.png", "x.png", "y.png"]   # read per key, kept once


def test_the_keys_a_late_start_must_decide_are_the_fades_that_reach_it():
    track = track_of([StyleKey(10, (other_style(),)), StyleKey(20, (third_style(),)),
                      StyleKey(26, (make_style(),))], fade=8)
    assert track.reaching(30) == [26, 20]     # 26 fades until 33 from 20's fade (until 27)
    assert track.reaching(26) == [26, 20]
    assert track.reaching(40) == []           # every fade over
    assert track.reaching(15) == [10]


# -- parsing -------------------------------------------------------------------------------------------

def test_style_at_parses_frames_blends_and_weights():
    key = parse_key("48=b.png+c.png@0.7,0.3")
    assert key == StyleKey(48, ("b.png", "c.png"), (0.7, 0.3))
    assert parse_key("0=a.png").weights is None
    for bad, says in [("a.png", "FRAME=PATH"), ("x=a.png", "whole number"), ("3=a.png@x", "weights"),
                      ("3=a.png+", "a path on each side"), ("3=a.png+b.png@1", r"1 weight\(s\) for 2"),
                      ("-2=a.png", "style key frame")]:
        with pytest.raises(ConfigError, match=says):
            parse_key(bad)
    with pytest.raises(ConfigError, match="two style keys on frame 4"):
        VideoOptions(style_keys=(parse_key("4=a.png"), parse_key("4=b.png")))


def test_a_track_file_is_read_against_its_schema(tmp_path):
    good = tmp_path / "track.json"
    good.write_text(json.dumps({"keys": [{"frame": 48, "styles": ["b.png", "c.png"], "weights": [0.7, 0.3]},
                                         {"frame": 0, "styles": ["a.png"]}]}))
    keys = read_track(good)
    assert [k.frame for k in keys] == [0, 48] and keys[0].styles == (str(tmp_path / "a.png"),)
    for data, says in [({"keys": []}, "non-empty list"), ([1], "an object"), ({"keys": [{"frame": 1}]}, "\"styles\""),
                       ({"keys": [{"frame": "1", "styles": ["a"]}]}, "whole number"),
                       ({"keys": [{"frame": 1, "styles": "a"}]}, "list of paths"),
                       ({"keys": [{"frame": 1, "styles": ["a"], "weights": [1, 2]}]}, r"2 weight\(s\)"),
                       ({"keys": [{"frame": 1, "styles": ["a"], "fade": 3}]}, "may have"),
                       ({"keys": [{"frame": 1, "styles": ["a"]}, {"frame": 1, "styles": ["b"]}]}, "two style keys")]:
        bad = tmp_path / "bad.json"
        bad.write_text(json.dumps(data))
        with pytest.raises(InputError, match=says):
            read_track(bad)
    (tmp_path / "broken.json").write_text("{")
    with pytest.raises(InputError, match="not readable JSON"):
        read_track(tmp_path / "broken.json")


# -- the engine: a frame's targets ----------------------------------------------------------------------

def test_a_fading_frames_gram_targets_are_the_blend_of_the_two_styles():
    processor = FrameStylizer([make_style(), other_style()], OPTS)
    engine = processor.engine
    each = engine.style_targets_each(40, 48)
    mixed = engine.slot_targets(40, 48, (0.25, 0.75))
    expected = blend_grams(each, [0.25, 0.75])
    assert all(torch.allclose(mixed[n], expected[n]) for n in expected)
    guides = torch.ones(2, 1, 40, 48)
    terms = engine.terms(torch.rand(1, 3, 40, 48), guides=guides, styles=((0.0, 1.0), (1.0, 0.0)))
    guided = [t for t in terms if isinstance(t, GuidedStyle)][0]   # the k-th slot paints the k-th matte
    assert all(torch.allclose(guided.targets[0][n], each[1][n]) for n in each[1])
    with pytest.raises(ConfigError, match="1 matte"):
        engine.terms(torch.rand(1, 3, 40, 48), guides=torch.ones(1, 1, 40, 48), styles=((0.0, 1.0), (1.0, 0.0)))


# -- the processor ------------------------------------------------------------------------------------------

def test_the_processor_changes_styles_between_frames_as_a_track_does():
    frames = moving_square(6)
    video = VideoOptions(warm_iterations=4, cuts="none", style_fade=3)
    tracked = FrameStylizer([make_style()], OPTS, video.replace(style_keys=(StyleKey(2, (other_style(),)),)))
    by_track = [tracked.process(f) for f in frames]
    hosted = FrameStylizer([make_style()], OPTS, video)
    by_host = []
    for i, f in enumerate(frames):
        if i == 2:
            hosted.set_styles(other_style())
        by_host.append(hosted.process(f))
    assert all(np.array_equal(a, b) for a, b in zip(by_track, by_host))
    plain = FrameStylizer([make_style()], OPTS, video)
    unchanged = [plain.process(f) for f in frames]
    assert np.array_equal(unchanged[1], by_track[1]) and not np.array_equal(unchanged[3], by_track[3])
    loaded = len(hosted.engine.styles)
    hosted.set_styles(make_style())   # back to a loaded image: nothing more to load or measure
    assert len(hosted.engine.styles) == loaded == 2


def test_set_styles_at_a_shot_start_is_at_once():
    processor = FrameStylizer([make_style()], OPTS, VideoOptions(warm_iterations=4, cuts="none", style_fade=6))
    frames = two_shot_frames(2)
    processor.process(frames[0])
    processor.process(frames[1])
    processor.reset()
    processor.set_styles(other_style())
    src = processor.analyse(frames[2])
    assert src.shot_start and src.styles == ((0.0, 1.0),)
    inside = FrameStylizer([make_style()], OPTS, VideoOptions(warm_iterations=4, cuts="none", style_fade=6))
    inside.process(frames[0])
    inside.set_styles(other_style())
    assert inside.analyse(frames[1]).styles[0][1] == pytest.approx(fade_weight(1, 6)) == pytest.approx(11 / 36)


# -- a file run: CLI, resume, chunks ---------------------------------------------------------------------

def test_a_clip_with_a_style_key_and_no_positional_style(capsys, styles, tmp_path):
    pattern = sequence(tmp_path / "in", moving_square(5))
    code, out, err = run_cli(capsys, pattern, "-o", tmp_path / "o.####.png", "--style-at", f"1001={styles[1]}",
                             "--style-at", f"1003={styles[0]}+{styles[2]}@1,1", "--report", tmp_path / "r.json",
                             *RUN)
    assert code == 0, err
    report = json.loads((tmp_path / "r.json").read_text())
    assert [f["number"] for f in report["frames"]] == list(range(1001, 1006))
    assert not err
    code, _, err = run_cli(capsys, pattern, "-o", tmp_path / "p.####.png", *RUN)
    assert code == 2 and "give a style image" in err


def test_bad_keys_get_one_line_before_any_work(capsys, styles, tmp_path):
    pattern = sequence(tmp_path / "in", moving_square(4))
    out = tmp_path / "o.####.png"
    cases = [(["--style-at", f"1009={styles[1]}"], "after the last frame"),
             (["--style-at", f"5={styles[1]}", "--style-at", f"7={styles[2]}"], "nothing would use the first"),
             (["--style-at", f"1002={tmp_path / 'missing.png'}"], "missing.png"),
             (["--style-at", f"1002={styles[1]}", "--style-at", f"1002={styles[2]}"], "two style keys on frame 1002"),
             (["--style-track", tmp_path / "none.json"], "does not exist")]
    for args, says in cases:
        code, _, err = run_cli(capsys, pattern, styles[0], "-o", out, *args, *RUN)
        assert code != 0 and says in err and len(err.strip().splitlines()) == 1, (args, err)
        assert not [p for p in os.listdir(tmp_path) if p.startswith("o.") or p.startswith(".o")], args
    code, _, err = run_cli(capsys, pattern, "-o", out, "--style-at", f"1002={styles[1]}", *RUN)
    assert code != 0 and "frames 1001-1001 come before the first style key" in err
    code, _, err = run_cli(capsys, pattern, "-o", out, "--style-at", f"12={styles[1]}", *RUN)   # before 1001: used
    assert code == 0 and "applies from there" in err
    content = tmp_path / "still.png"
    cv2.imwrite(str(content), moving_square(1)[0])
    code, _, err = run_cli(capsys, content, styles[0], "--style-at", f"0={styles[1]}", "--size", "40", "-q")
    assert code != 0 and "--style-at applies to videos and sequences" in err


def test_a_changed_track_renders_again_from_the_first_frame_it_changes(capsys, styles, tmp_path):
    # Two shots (the cut at 1004): the second track changes the style from 1004 on, so the first
    # shot's stored frames are still right; inside a shot the run would go back to the last memory
    # checkpoint before the change (video.py), as for a replaced plate.
    pattern = sequence(tmp_path / "in", two_shot_frames(3))
    first = ["--style-at", f"1005={styles[1]}", "--style-fade", "2"]
    second = ["--style-at", f"1004={styles[2]}", "--style-fade", "2"]
    fresh = tmp_path / "fresh.####.png"
    assert run_cli(capsys, pattern, styles[0], "-o", fresh, *second, *RUN)[0] == 0
    out = tmp_path / "o.####.png"
    with pytest.raises(KeyboardInterrupt):   # an interrupted run with the first track ...
        from vidstyle import StyleOptions, stylize_video
        stylize_video(pattern, [styles[0]], out, StyleOptions(size=64, iterations=8, device="cpu"),
                      VideoOptions(warm_iterations=4, style_fade=2, style_keys=(parse_key(first[1]),)),
                      callback=interrupt_after(5))
    code, _, err = run_cli(capsys, pattern, styles[0], "-o", out, *second, "--report", tmp_path / "r.json", *RUN)
    assert code == 0, err                     # ... goes on with the second: frames before 1004 reused
    frames = json.loads((tmp_path / "r.json").read_text())["frames"]
    assert [f["resumed"] for f in frames] == [True, True, True, False, False, False]
    for n in range(1001, 1007):
        assert digest(str(out).replace("####", str(n))) == digest(str(fresh).replace("####", str(n)))
    # A finished run with another track is not done: rendered again, as a fresh run of that track.
    code, _, err = run_cli(capsys, pattern, styles[0], "-o", out, *first, "--report", tmp_path / "r2.json", *RUN)
    assert code == 0 and not any(f["resumed"] for f in json.loads((tmp_path / "r2.json").read_text())["frames"])


def test_a_chunk_starting_inside_a_fade_gets_its_warmup_frames_fade_right(capsys, styles, tmp_path):
    pattern = sequence(tmp_path / "in", moving_square(10))
    video = VideoOptions(warm_iterations=4, cuts="auto", style_fade=4, warmup=2,
                         style_keys=(parse_key(f"1004={styles[1]}"),))
    whole = prepare(pattern, [styles[0]], tmp_path / "w.####.png", OPTS, video)
    chunk = prepare(pattern, [styles[0]], tmp_path / "c.####.png", OPTS, video.replace(frames=tuple(range(1006, 1011))))
    assert chunk.warmup == [1004, 1005]
    assert chunk.processor.track.starts == {1004: False}   # decided from the clip, not from the chunk's first frame
    whole.processor.track.decide(1004, False)             # as the whole run's analysis decides it
    for n in range(1004, 1011):
        assert chunk.processor.track.slots_at(n) == whole.processor.track.slots_at(n)
    code, out, err = run_cli(capsys, "plan", pattern, "--chunk-size", "5", "--warmup", "2", "--style-at",
                             f"1004={styles[1]}", "--style-fade", "4")
    assert code == 0, err
    assert "positional; 1004: fade to b.png" in out and "b.png" in out.splitlines()[-1]


def test_the_pipe_takes_keys_by_frame_index(styles):
    import io

    from vidstyle.pipe import StreamFormat, stylize_stream
    frames = moving_square(4)
    rgb = b"".join(np.ascontiguousarray(f[..., ::-1]).tobytes() for f in frames)

    def piped(video):
        out = io.BytesIO()
        stylize_stream(io.BytesIO(rgb), out, StreamFormat(64, 48), [styles[0]], OPTS, video)
        return np.frombuffer(out.getvalue(), np.uint8).reshape(4, -1)

    plain = piped(VideoOptions(warm_iterations=4))
    keyed = piped(VideoOptions(warm_iterations=4, style_fade=0, style_keys=(parse_key(f"2={styles[1]}"),)))
    assert [np.array_equal(a, b) for a, b in zip(plain, keyed)] == [True, True, False, False]


def test_mattes_and_a_track_keep_the_kth_matte_with_the_kth_style(styles, tmp_path):
    frames = moving_square(3)
    left = np.zeros((48, 64), np.float32)
    left[:, :32] = 1
    masks = [left, 1 - left]
    video = VideoOptions(warm_iterations=4, cuts="none", style_fade=0, masks=("l.png", "r.png"),
                         style_keys=(StyleKey(1, (styles[1], styles[2])),))
    processor = FrameStylizer([make_style(), other_style()], OPTS, video)
    outs = [processor.process(f, masks=masks) for f in frames]
    assert processor.track.slots_at(2) == ((0.0, 1.0, 0.0), (0.0, 0.0, 1.0))   # b left, c right (b loaded once)
    assert all(o.shape == (48, 64, 3) for o in outs)
    with pytest.raises(ConfigError, match="1 style image\\(s\\) for 2 mattes"):
        FrameStylizer([make_style(), other_style()], OPTS, video.replace(style_keys=(StyleKey(1, (styles[1],)),)))


def test_a_frame_whose_style_changes_runs_its_whole_warm_budget():
    from types import SimpleNamespace

    from vidstyle import StyleOptions
    from vidstyle.warmstart import Carry, Flow
    video, carry, options = VideoOptions(warm_iterations=9), Carry(np.zeros((4, 4, 3), np.float32), None), \
        StyleOptions(tolerance=0.005)
    assert Flow().budget(options, video, carry, SimpleNamespace(restyled=True))["min_iterations"] == 9
    assert Flow().budget(options, video, carry, SimpleNamespace(restyled=False))["min_iterations"] == \
        Flow().min_iterations < 9
