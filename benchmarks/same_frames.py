"""Do two versions of vidstyle give the same frames? Renders with both and compares the bytes.

    python benchmarks/same_frames.py --base 753b222 [--frames 8] [--size 128]

Checks out ``--base`` (a commit) into a temporary git worktree, then runs its
``cli.py`` and this tree's on the same inputs and options, each as a fresh
process with the same torch thread count, and compares every output frame
byte for byte:

* the first ``--frames`` frames of samples/bunny.mp4 with each warm start
  (flow, previous, none);
* a synthetic 16-bit sequence with a hard cut, whole and as a farm chunk
  that starts inside a shot (warm-up frames rendered first).

Prints one line per case and exits 1 if any frame differs. Use it when a
change must not alter the pixels (a refactoring); a change of the method is
measured with benchmarks/suite.py instead.
"""

from __future__ import annotations

import argparse
import hashlib
import os
import subprocess
import sys
import tempfile

import cv2
import numpy as np

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(HERE)


def digests(folder: str, prefix: str) -> dict[str, str]:
    return {name: hashlib.sha256(open(os.path.join(folder, name), "rb").read()).hexdigest()
            for name in sorted(os.listdir(folder)) if name.startswith(prefix + ".")}


def synthetic_sequence(folder: str) -> str:
    """Two 4-frame shots of moving shapes, 16-bit PNG, frames 1001-1008."""
    os.makedirs(folder)
    yy, xx = np.mgrid[0:72, 0:96]
    for i in range(8):
        img = np.zeros((72, 96, 3), np.float32)
        img[..., 0] = 0.4 + 0.3 * np.sin(xx / 6.0 + (0.0 if i < 4 else 2.0))
        img[..., 1] = 0.5 + 0.3 * np.cos(yy / 5.0)
        img[..., 2] = 0.6 if i < 4 else 0.1
        x0 = 10 + 4 * (i % 4)
        img[20:44, x0:x0 + 24] = (0.1, 0.2, 0.9) if i < 4 else (0.9, 0.8, 0.1)
        cv2.imwrite(os.path.join(folder, f"seq.{1001 + i}.png"), np.round(img * 65535).astype(np.uint16))
    return os.path.join(folder, "seq.####.png")


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--base", required=True, help="the commit to compare with (e.g. where a refactoring started)")
    ap.add_argument("--frames", type=int, default=8)
    ap.add_argument("--size", type=int, default=128)
    ap.add_argument("--threads", type=int, default=2)
    args = ap.parse_args()
    common = ["--size", str(args.size), "--iterations", "40", "--warm-iterations", "10", "--device", "cpu", "-q"]
    env = {**os.environ, "OMP_NUM_THREADS": str(args.threads)}
    failed = False
    with tempfile.TemporaryDirectory() as tmp:
        base = os.path.join(tmp, "base")
        subprocess.run(["git", "-C", ROOT, "worktree", "add", "--detach", base, args.base], check=True,
                       capture_output=True)
        try:
            seq = synthetic_sequence(os.path.join(tmp, "in"))
            bunny = os.path.join(ROOT, "samples", "bunny.mp4")
            style = os.path.join(ROOT, "samples", "brushstrokes.jpg")
            cases = [(f"bunny {mode}", [bunny, style, "--frames", f"0-{args.frames - 1}", "--warm-start", mode])
                     for mode in ("flow", "previous", "none")]
            cases += [("sequence with a cut", [seq, style]),
                      ("chunk inside a shot", [seq, style, "--frames", "1003-1006", "--warmup", "2"])]
            for k, (name, cmd) in enumerate(cases):
                results = {}
                for label, tree in (("base", base), ("this", ROOT)):
                    out = os.path.join(tmp, f"{label}{k}")
                    os.makedirs(out)
                    subprocess.run([sys.executable, os.path.join(tree, "cli.py"), *cmd, "-o",
                                    os.path.join(out, "o.####.png"), *common], check=True, cwd=tree, env=env)
                    results[label] = digests(out, "o")
                same = results["base"] == results["this"] and results["this"]
                failed |= not same
                print(f"{name}: {len(results['this'])} frames, {'identical' if same else 'DIFFERENT'}", flush=True)
        finally:
            subprocess.run(["git", "-C", ROOT, "worktree", "remove", "--force", base], capture_output=True)
    sys.exit(1 if failed else 0)


if __name__ == "__main__":
    main()
