"""The command line, in-process through cli.main and once as a real subprocess."""

import io
import json
import os
import shutil
import subprocess
import sys

import cv2
import numpy as np
import pytest
import torch

from vidstyle import ConfigError, StyleOptions, VideoOptions, cli
from vidstyle.cli.app import ray_address_optional

from .conftest import digest, make_content, moving_square, sequence

FAST_ARGS = ["--size", "40", "--iterations", "4", "--device", "cpu", "-q"]


def run_cli(capsys, *args):
    code = cli.main([str(a) for a in args])
    captured = capsys.readouterr()
    return code, captured.out, captured.err


def test_stylises_an_image(capsys, content_path, style_path, tmp_path):
    out = tmp_path / "out.png"
    code, stdout, stderr = run_cli(capsys, content_path, style_path, "-o", out, "--size", "40",
                                   "--iterations", "15", "--device", "cpu")
    assert code == 0, stderr
    assert stdout.strip() == str(out)
    img = cv2.imread(str(out))
    assert img.shape == (30, 40, 3)
    # Not a copy of the (resized) content: the style did something.
    content = cv2.resize(make_content(), (40, 30), interpolation=cv2.INTER_AREA)
    assert np.abs(img.astype(int) - content).mean() > 2


def test_explicit_stylize_command_and_default_output_name(capsys, content_path, style_path):
    code, stdout, stderr = run_cli(capsys, "stylize", content_path, style_path, *FAST_ARGS)
    assert code == 0, stderr
    assert (content_path.parent / "content_stylized.png").is_file()


def test_help_reads_well(capsys):
    code, stdout, _ = run_cli(capsys, "--help")
    assert code == 0
    for command in ("stylize", "plan", "assemble", "check"):
        assert command in stdout
    code, stdout, _ = run_cli(capsys, "stylize", "--help")
    assert code == 0
    for option in ("--output", "--preset", "--size", "--iterations", "--seed", "--device", "--content-weight",
                   "--style-weight", "--init", "--optimizer", "--keep-colors", "--overwrite", "--blend",
                   "--ray", "--chunk-size"):
        assert option in stdout


def test_seed_gives_identical_bytes(capsys, content_path, style_path, tmp_path):
    outs = []
    for name, seed in (("a.png", 3), ("b.png", 3)):
        out = tmp_path / name
        assert run_cli(capsys, content_path, style_path, "-o", out, "--init", "noise", "--seed", seed,
                       *FAST_ARGS)[0] == 0
        outs.append(digest(out))
    assert outs[0] == outs[1]


def test_several_styles_with_blend_and_options(capsys, content_path, style_path, tmp_path):
    other = tmp_path / "other.png"
    cv2.imwrite(str(other), np.full((20, 20, 3), (200, 30, 90), np.uint8))
    out = tmp_path / "out.jpg"
    code, _, stderr = run_cli(capsys, content_path, style_path, other, "--blend", "0.7,0.3", "-o", out,
                              "--keep-colors", "--optimizer", "adam", "--style-layers", "relu1_1,relu2_1",
                              "--content-layers", "relu2_2", "--pooling", "avg", "--scales", "2", *FAST_ARGS)
    assert code == 0, stderr
    assert cv2.imread(str(out)) is not None


def test_coarsest_reaches_the_options_and_a_negative_one_is_one_line(capsys, content_path, style_path, tmp_path):
    code, _, stderr = run_cli(capsys, content_path, style_path, "-o", tmp_path / "o.png", "--coarsest", "-1",
                              *FAST_ARGS)
    assert code == 2 and stderr.strip().splitlines() == [stderr.strip()] and "coarsest" in stderr
    assert not (tmp_path / "o.png").exists()


def test_sixteen_bit_input_gives_sixteen_bit_output(capsys, style_path, tmp_path):
    src = tmp_path / "deep.png"
    cv2.imwrite(str(src), make_content().astype(np.uint16) * 257)
    out = tmp_path / "deep_out.png"
    assert run_cli(capsys, src, style_path, "-o", out, *FAST_ARGS)[0] == 0
    assert cv2.imread(str(out), cv2.IMREAD_UNCHANGED).dtype == np.uint16


def test_progress_bar_only_on_a_terminal(capsys, monkeypatch, content_path, style_path, tmp_path):
    class Terminal(io.StringIO):
        def isatty(self):
            return True

    fake = Terminal()
    monkeypatch.setattr(sys, "stderr", fake)
    args = [content_path, style_path, "-o", tmp_path / "p.png", "--size", "40", "--iterations", "3",
            "--device", "cpu"]
    assert cli.main([str(a) for a in args]) == 0
    assert "stylising" in fake.getvalue()


def _weights_that_do_not_fit(tmp_path):
    path = tmp_path / "bad.pth"
    torch.save({"features.0.weight": torch.zeros(3, 3)}, path)
    return path


def _text_file(tmp_path):
    path = tmp_path / "notes.png"
    path.write_text("this is not an image")
    return path


def _empty_file(tmp_path):
    path = tmp_path / "empty.png"
    path.write_bytes(b"")
    return path


# (case name, builder of the argument list, expected exit code, text the message must contain)
BAD = [
    ("missing content", lambda c, s, t: [t / "nope.png", s, "-o", t / "o.png"], 3, "not found"),
    ("content not an image", lambda c, s, t: [_text_file(t), s, "-o", t / "o.png"], 3, "not an image"),
    ("empty content", lambda c, s, t: [_empty_file(t), s, "-o", t / "o.png"], 3, "empty"),
    ("missing style", lambda c, s, t: [c, t / "nostyle.jpg", "-o", t / "o.png"], 3, "not found"),
    ("output folder missing", lambda c, s, t: [c, s, "-o", t / "no" / "dir" / "o.png"], 4, "does not exist"),
    ("output is the content", lambda c, s, t: [c, s, "-o", c, "--overwrite"], 4, "also an input"),
    ("output is the style", lambda c, s, t: [c, s, "-o", s, "--overwrite"], 4, "also an input"),
    ("output extension", lambda c, s, t: [c, s, "-o", t / "o.xyz"], 4, ".png"),
    ("negative size", lambda c, s, t: [c, s, "-o", t / "o.png", "--size", "-5"], 2, "size"),
    ("zero iterations", lambda c, s, t: [c, s, "-o", t / "o.png", "--iterations", "0"], 2, "iterations"),
    ("NaN weight", lambda c, s, t: [c, s, "-o", t / "o.png", "--style-weight", "nan"], 2, "style_weight"),
    ("unknown layer", lambda c, s, t: [c, s, "-o", t / "o.png", "--style-layers", "relu1_1,relu9_1"], 2,
     "relu9_1"),
    ("bad blend", lambda c, s, t: [c, s, "-o", t / "o.png", "--blend", "a,b"], 2, "--blend"),
    ("weights do not fit", lambda c, s, t: [c, s, "-o", t / "o.png", "--weights", _weights_that_do_not_fit(t)],
     3, "does not fit"),
    ("missing init image", lambda c, s, t: [c, s, "-o", t / "o.png", "--init", t / "init.png"], 3, "init image"),
    ("no cuda here", lambda c, s, t: [c, s, "-o", t / "o.png", "--device", "cuda"], 2, "cuda")
    if not torch.cuda.is_available() else ("bad device", lambda c, s, t: [c, s, "-o", t / "o.png", "--device", "tpu"],
                                           2, "device"),
]


@pytest.mark.parametrize("case,build,code,text", BAD, ids=[b[0] for b in BAD])
def test_bad_input_one_line_no_output_inputs_untouched(capsys, content_path, style_path, tmp_path,
                                                        case, build, code, text):
    before = {p: digest(p) for p in (content_path, style_path)}
    listing = set(os.listdir(tmp_path))
    args = build(content_path, style_path, tmp_path)
    # Defaults first: where a case repeats an option, its own (last) value wins.
    got, stdout, stderr = run_cli(capsys, "--size", "40", "--iterations", "2", "--device", "cpu", *args)
    assert got == code, stderr
    lines = stderr.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("vidstyle: error:"), stderr
    assert text in lines[0]
    assert "Traceback" not in stderr
    # Nothing written (the builders may add their own input files), inputs untouched.
    new = set(os.listdir(tmp_path)) - listing
    assert not any(n.startswith("o.") or n.endswith(".partial") for n in new), new
    assert before == {p: digest(p) for p in before}


def test_existing_output_is_kept_without_overwrite(capsys, content_path, style_path, tmp_path):
    out = tmp_path / "out.png"
    out.write_bytes(b"precious")
    code, _, stderr = run_cli(capsys, content_path, style_path, "-o", out, *FAST_ARGS)
    assert code == 4 and "--overwrite" in stderr
    assert out.read_bytes() == b"precious"
    assert run_cli(capsys, content_path, style_path, "-o", out, "--overwrite", *FAST_ARGS)[0] == 0
    assert cv2.imread(str(out)) is not None


@pytest.mark.skipif(not os.path.isdir("/proc/self"), reason="needs Linux /proc")
def test_unwritable_output_folder(capsys, content_path, style_path):
    # /proc/self exists but no file can be created in it, even by root
    # (chmod cannot make a folder unwritable for root).
    code, _, stderr = run_cli(capsys, content_path, style_path, "-o", "/proc/self/out.png", *FAST_ARGS)
    assert code == 4 and "not writable" in stderr


def test_real_subprocess(content_path, style_path, tmp_path):
    exe = shutil.which("vidstyle")
    command = [exe] if exe else [sys.executable, "-m", "vidstyle"]
    out = tmp_path / "sub.png"
    done = subprocess.run(command + [str(content_path), str(style_path), "-o", str(out), "--size", "40",
                                     "--iterations", "3", "--device", "cpu"],
                          capture_output=True, text=True, timeout=300)
    assert done.returncode == 0, done.stderr
    assert done.stdout.strip() == str(out)
    assert done.stderr == ""  # piped: no progress bar, no escape codes
    assert cv2.imread(str(out)).shape == (30, 40, 3)
    bad = subprocess.run(command + [str(tmp_path / "missing.png"), str(style_path)],
                         capture_output=True, text=True, timeout=300)
    assert bad.returncode == 3
    assert bad.stderr.strip().splitlines() == [f"vidstyle: error: content image not found: {tmp_path / 'missing.png'}"]


def test_presets_bundle_options_and_explicit_flags_win(capsys, style, tmp_path):
    draft = StyleOptions.from_preset("draft")
    assert (draft.size, draft.iterations) == (256, 150) and StyleOptions.from_preset().size == StyleOptions().size
    assert StyleOptions.from_preset("high", size=300).size == 300
    with pytest.raises(ConfigError, match="preset must be one of draft, standard, high"):
        StyleOptions.from_preset("ultra")
    pattern = sequence(tmp_path / "in", moving_square(3))
    report = tmp_path / "report.json"
    code, _, err = run_cli(capsys, pattern, style, "-o", tmp_path / "out.####.png", "--preset", "draft",
                           "--iterations", "3", "--tolerance", "0", "--device", "cpu", "-q", "--report", report)
    assert code == 0, err
    iterations = [f["iterations"] for f in json.loads(report.read_text())["frames"]]
    # The first frame takes the flag, warm frames the draft preset's budget.
    warm = VideoOptions.from_preset("draft").warm_iterations
    assert warm != VideoOptions().warm_iterations and iterations == [3, warm, warm]
    assert run_cli(capsys, pattern, style, "-o", tmp_path / "x.####.png", "--preset", "fast")[0] == 2


def test_size_never_enlarges_the_content(capsys, content_path, style_path, tmp_path):
    out = tmp_path / "big.png"
    code, _, err = run_cli(capsys, content_path, style_path, "-o", out, "--size", "512", "--iterations", "2",
                           "--device", "cpu", "-q")
    assert code == 0, err
    assert cv2.imread(str(out)).shape[:2] == (36, 48)   # the content's own size


def test_ray_flag_takes_an_address_only_when_one_follows():
    assert ray_address_optional(["in.mp4", "s.jpg", "--ray"]) == ["in.mp4", "s.jpg", "--ray=local"]
    assert ray_address_optional(["--ray", "in.mp4", "s.jpg"]) == ["--ray=local", "in.mp4", "s.jpg"]
    assert ray_address_optional(["--ray", "auto", "in.mp4"]) == ["--ray", "auto", "in.mp4"]
    assert ray_address_optional(["--ray", "10.0.0.5:6379"]) == ["--ray", "10.0.0.5:6379"]
    assert ray_address_optional(["--ray", "ray://head:10001"]) == ["--ray", "ray://head:10001"]


def test_the_command_line_is_installed_from_the_package_and_the_checkout_shim_runs(tmp_path):
    """Issue #18: nothing named ``cli`` is installed; ``python cli.py`` still works from a checkout."""
    import tomllib
    root = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
    with open(os.path.join(root, "pyproject.toml"), "rb") as handle:
        project = tomllib.load(handle)
    assert project["project"]["scripts"] == {"vidstyle": "vidstyle.cli:run"}
    setuptools = project["tool"]["setuptools"]
    assert "py-modules" not in setuptools and all(p.split(".")[0] == "vidstyle" for p in setuptools["packages"])
    done = subprocess.run([sys.executable, os.path.join(root, "cli.py"), "--help"], cwd=tmp_path,
                          capture_output=True, text=True, timeout=120)
    assert done.returncode == 0 and "stylize" in done.stdout


def test_forced_bf16_on_a_cpu_that_only_emulates_it_is_warned_of_before_the_run(capsys, monkeypatch, content_path,
                                                                                  style_path, tmp_path):
    # The CPU probe is the stand-in: whether this machine has AVX512-BF16 is not the test's to choose.
    from vidstyle import engine
    monkeypatch.setattr(engine, "native_bf16", lambda device: False)
    taken = tmp_path / "o.png"
    taken.write_bytes(b"not ours")   # the run stops at its first check: the warning must already be out
    code, _, stderr = run_cli(capsys, content_path, style_path, "-o", taken, "--precision", "bf16", *FAST_ARGS)
    lines = stderr.strip().splitlines()
    assert code != 0 and len(lines) == 2, stderr
    assert lines[0].startswith("vidstyle: warning: --precision bf16 is emulated on this CPU")
    assert "--precision auto picks fp32" in lines[0] and lines[1].startswith("vidstyle: error:")
    for precision in ("auto", "fp32"):
        code, _, stderr = run_cli(capsys, content_path, style_path, "-o", taken, "--precision", precision, *FAST_ARGS)
        assert "warning" not in stderr
    monkeypatch.setattr(engine, "native_bf16", lambda device: True)
    assert engine.precision_note("bf16", "cpu") is None and engine.use_bf16("auto", torch.device("cpu"))
