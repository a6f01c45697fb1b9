"""ffmpeg (through imageio-ffmpeg): probing, checking decodes, encoding video, muxing sound, counting frames.

Pitfalls this module exists for: imageio-ffmpeg's ``audio_path`` hard-codes
``-map 1:a:0`` and breaks on silent sources, so audio is muxed in a second
step with an optional map (``1:a:0?``); ``-shortest`` would cut the PICTURE
when the sound is shorter, so the sound is trimmed to the picture's length
instead and never the other way round; odd frame sizes would be silently
rescaled, so we pad to even sizes ourselves; fps is passed as a Fraction so
30000/1001 stays exact; a failed encode leaves a 0-byte file, so every output
is written to a temporary name, its frames counted, and renamed only when
the count is right. Every subprocess is closed in try/finally and ffmpeg's
stderr is carried in the error raised.
"""

from __future__ import annotations

import os
import re
import subprocess
import tempfile
from fractions import Fraction
from typing import Iterable

import numpy as np

from .errors import InputError, OutputError
from .images import partial_path
from .options import CODECS, DEFAULT_CODEC, DEFAULT_CRF

# How each codec is written. Brush strokes are fine, saturated colour texture: x264's default
# tuning smooths it away and 4:2:0's chroma, halved by ffmpeg's default scaler, smears it (the
# decoded frames' style loss rose 1.43x at CRF 18). "-tune grain" keeps the texture and a lanczos
# chroma filter keeps the colour edges; with no B-frames (below) and CRF 15 every frame stays
# within 1.07x (benchmarks/encoder.py, ENCODER.md).
CHROMA_FILTER = ["-sws_flags", "lanczos+accurate_rnd+full_chroma_int+full_chroma_inp"]
# No B-frames: x264 quantises them harder, and on stylised frames they lost the most strokes (style
# loss 1.10-1.14x against 1.00-1.09x for P-frames at 512 px; benchmarks/encoder.py).
CODEC_ARGS = {
    "h264": ["-c:v", "libx264", "-pix_fmt", "yuv420p", "-profile:v", "high", "-preset", "medium", "-tune", "grain",
             "-bf", "0"],
    "h264-444": ["-c:v", "libx264", "-pix_fmt", "yuv444p", "-preset", "medium", "-tune", "grain", "-bf", "0"],
    "prores": ["-c:v", "prores_ks", "-profile:v", "3", "-pix_fmt", "yuv422p10le"],
    "prores4444": ["-c:v", "prores_ks", "-profile:v", "4", "-pix_fmt", "yuv444p10le"],
}


def encoder_args(codec: str, crf: int = DEFAULT_CRF) -> list[str]:
    """ffmpeg's output arguments for ``codec`` (one of CODECS) at quality ``crf`` (H.264 only)."""
    return [*CHROMA_FILTER, *CODEC_ARGS[codec], *(["-crf", str(crf)] if codec.startswith("h264") else [])]


def ffmpeg_exe() -> str:
    import imageio_ffmpeg

    return imageio_ffmpeg.get_ffmpeg_exe()


def probe_has_audio(path: str) -> bool:
    """True when ffmpeg sees an audio stream in ``path``."""
    done = subprocess.run([ffmpeg_exe(), "-hide_banner", "-nostdin", "-i", path],
                          capture_output=True, text=True, errors="replace")
    return bool(re.search(r"Stream #\d+:\d+.*: Audio:", done.stderr))


def count_frames(path: str) -> int:
    """Video frames (packets of the first video stream) in ``path``; 0 when it has no video stream.

    Copies the stream to the null muxer: it reads the file without decoding
    a picture, so it is quick even for long high-resolution files.
    """
    done = subprocess.run([ffmpeg_exe(), "-hide_banner", "-nostdin", "-v", "error", "-i", path, "-map", "0:v:0?",
                           "-c", "copy", "-f", "null", "-", "-progress", "pipe:1", "-nostats"],
                          capture_output=True, text=True, errors="replace")
    if done.returncode != 0:
        raise OutputError(f"ffmpeg cannot read back {path}: {_tail(done.stderr)}")
    counts = re.findall(r"^frame=(\d+)", done.stdout, re.MULTILINE)
    return int(counts[-1]) if counts else 0


def decode_scan(path: str, frames: int) -> tuple[int, list[str]]:
    """Decode the first ``frames`` frames of ``path``'s video; returns (frames decoded, decoder errors).

    ffmpeg decodes to the null muxer, every frame passed through as it comes
    (no rate conversion), and its error lines are kept: a truncated file
    decodes fewer frames than its container promises, a damaged one makes the
    decoder complain while it conceals the damage.
    """
    done = subprocess.run([ffmpeg_exe(), "-hide_banner", "-nostdin", "-v", "error", "-i", path, "-map", "0:v:0",
                           "-frames:v", str(frames), "-fps_mode", "passthrough", "-f", "null", "-",
                           "-progress", "pipe:1", "-nostats"],
                          capture_output=True, text=True, errors="replace")
    counts = re.findall(r"^frame=(\d+)", done.stdout, re.MULTILINE)
    if done.returncode != 0 and not counts:
        # Not one frame, where OpenCV (the same libav) has read the file: ffmpeg itself failed.
        raise OutputError(f"ffmpeg failed reading {path}: {_tail(done.stderr) or f'exit code {done.returncode}'}")
    errors = [re.sub(r"^\[[^]]*\]\s*", "", line.strip()) for line in done.stderr.splitlines() if line.strip()]
    errors = [re.sub(r"^\[[^]]*\]\s*", "", e) for e in errors]   # nested "[vist#0:0/h264] [dec:h264]" prefixes
    return (int(counts[-1]) if counts else 0), errors


def _tail(text: str, lines: int = 6) -> str:
    kept = [line.strip() for line in text.strip().splitlines() if line.strip()][-lines:]
    return " | ".join(kept)


class VideoWriter:
    """Encode frames to a video file at an exact fps; ``close()`` finishes, ``abort()`` kills.

    ``codec``: "h264" (libx264 4:2:0 High profile, ``crf`` quality, tuned to
    keep grain, no B-frames), "h264-444" (the same in 4:4:4), "prores" (prores_ks 422 HQ,
    10 bit) or "prores4444"; every one with a lanczos chroma filter
    (``encoder_args``). Frames are (H, W, 3) float BGR [0, 1]; odd sizes are padded
    by one edge-replicated row/column (4:2:0 needs even sizes). ffmpeg runs
    as our own subprocess (imageio-ffmpeg provides the binary) so that its
    stderr can be carried in the error.
    """

    def __init__(self, path: str, width: int, height: int, fps: Fraction, codec: str = DEFAULT_CODEC,
                 crf: int = DEFAULT_CRF):
        if codec not in CODECS:
            raise OutputError(f"unknown codec {codec!r}: use one of {', '.join(CODECS)}")
        self.path, self.width, self.height = path, width, height
        self.padded = (width + width % 2, height + height % 2)
        encode = encoder_args(codec, crf)
        faststart = ["-movflags", "+faststart"] if path.lower().endswith((".mp4", ".mov", ".m4v")) else []
        cmd = [ffmpeg_exe(), "-hide_banner", "-nostdin", "-loglevel", "error", "-y", "-f", "rawvideo",
               "-pix_fmt", "bgr24", "-s", f"{self.padded[0]}x{self.padded[1]}", "-r", str(Fraction(fps)),
               "-i", "-", "-an", *encode, *faststart, path]
        self._log = tempfile.TemporaryFile()
        try:
            self._proc = subprocess.Popen(cmd, stdin=subprocess.PIPE, stdout=subprocess.DEVNULL, stderr=self._log)
        except OSError as exc:
            self._log.close()
            raise OutputError(f"cannot run ffmpeg ({cmd[0]}): {exc.strerror}") from None

    def _error(self, what: str) -> OutputError:
        self.abort()
        self._log.seek(0)
        said = _tail(self._log.read().decode(errors="replace")) or f"exit code {self._proc.returncode}"
        self._log.close()
        return OutputError(f"ffmpeg failed {what} {self.path}: {said}")

    def write(self, pixels: np.ndarray) -> None:
        bgr = np.round(np.clip(pixels, 0, 1) * 255).astype(np.uint8)
        pad_w, pad_h = self.padded[0] - self.width, self.padded[1] - self.height
        if pad_w or pad_h:
            bgr = np.pad(bgr, ((0, pad_h), (0, pad_w), (0, 0)), mode="edge")
        try:
            self._proc.stdin.write(np.ascontiguousarray(bgr).tobytes())
        except OSError:  # broken pipe: ffmpeg has died
            raise self._error("while encoding") from None

    def close(self) -> None:
        try:
            self._proc.stdin.close()
        except OSError:
            pass
        if self._proc.wait() != 0:
            raise self._error("to finish")
        self._log.close()

    def abort(self) -> None:
        """Stop ffmpeg now (on an error or Ctrl-C); the caller removes the partial file."""
        if self._proc.poll() is None:
            self._proc.kill()
        self._proc.wait()


def mux_audio(video: str, audio_source: str, output: str, offset: float = 0.0,
              duration: float | None = None) -> None:
    """Copy the video stream of ``video`` and the first audio stream of ``audio_source`` into ``output``.

    The picture is never shortened: no ``-shortest`` (with it, sound shorter
    than the picture cut the picture). The sound is read from ``offset``
    seconds for at most ``duration`` seconds (the picture's length), so a
    longer track is trimmed and a shorter one simply ends early (players
    play silence). It is copied when the container takes its codec, and
    re-encoded to AAC only when copying fails (e.g. PCM into .mp4). A source
    without audio gives a silent output (the map is optional), never an error.
    """
    seek = ["-ss", f"{offset:.6f}"] if offset > 0 else []
    limit = ["-t", f"{duration:.6f}"] if duration is not None else []
    base = [ffmpeg_exe(), "-hide_banner", "-nostdin", "-loglevel", "error", "-y", "-i", video,
            *seek, *limit, "-i", audio_source, "-map", "0:v:0", "-map", "1:a:0?", "-c:v", "copy"]
    tail = ["-movflags", "+faststart", output] if output.lower().endswith((".mp4", ".mov", ".m4v")) else [output]
    last = ""
    for audio in (["-c:a", "copy"], ["-c:a", "aac", "-b:a", "192k"]):
        done = subprocess.run(base + audio + tail, capture_output=True, text=True, errors="replace")
        if done.returncode == 0 and os.path.getsize(output) > 0:
            return
        last = done.stderr
    if os.path.exists(output):
        os.unlink(output)
    raise OutputError(f"ffmpeg could not add the audio of {audio_source}: {_tail(last)}")


class Encoder:
    """A video file written frame by frame, finished (sound, frame count, rename) in one call.

    ``write`` may run in another thread than ``finish``: the runner feeds
    frames from its writer thread and finishes on the thread that receives
    Ctrl-C and SIGTERM, so a stop during the audio mux still kills ffmpeg
    and leaves nothing. Until ``finish`` returns, nothing is at ``path``;
    ``abort`` removes every temporary file.
    """

    def __init__(self, path: str, fps: Fraction, *, codec: str = DEFAULT_CODEC, crf: int = DEFAULT_CRF):
        self.path, self.fps, self.codec, self.crf = path, Fraction(fps), codec, crf
        self.count = 0
        self._writer: VideoWriter | None = None
        self._temporaries = [partial_path(path), partial_path(path)]   # the silent picture, then with sound

    def write(self, pixels: np.ndarray) -> None:
        """Add a frame ((H, W, 3) float BGR [0, 1]; every frame the size of the first)."""
        if self._writer is None:
            h, w = pixels.shape[:2]
            self._writer = VideoWriter(self._temporaries[0], w, h, self.fps, codec=self.codec, crf=self.crf)
        self._writer.write(pixels)
        self.count += 1

    def finish(self, audio_from: str | None = None, offset: float = 0.0) -> int:
        """Close the picture, add the sound, count the frames written, take the name ``path``; returns the count.

        ``audio_from``: a file whose first audio stream is added, from
        ``offset`` seconds, trimmed to the picture's length (None: silent). A
        count other than the frames given raises OutputError and keeps nothing.
        """
        try:
            if self._writer is None:
                raise OutputError(f"no frames to encode into {self.path}")
            self._writer.close()
            silent, final = self._temporaries
            result = silent
            if audio_from is not None:
                mux_audio(silent, audio_from, final, offset=offset, duration=float(self.count / self.fps))
                result = final
            written = count_frames(result)
            if written != self.count:
                raise OutputError(f"ffmpeg wrote {written} frame(s) of {self.count} into {self.path}: the output "
                                  f"is wrong and was not kept (finished frames are; run the same command again)")
            os.replace(result, self.path)
            return self.count
        finally:
            self.abort()

    def abort(self) -> None:
        """Stop ffmpeg if it runs and remove the temporary files (nothing at ``path`` is touched)."""
        if self._writer is not None:
            self._writer.abort()
        for p in self._temporaries:
            if os.path.exists(p):
                os.unlink(p)


def encode_video(path: str, frames: Iterable[np.ndarray], fps: Fraction, *, codec: str = DEFAULT_CODEC,
                 crf: int = DEFAULT_CRF, audio_from: str | None = None, offset: float = 0.0) -> int:
    """Encode ``frames`` ((H, W, 3) float BGR [0, 1], one size) into ``path``, atomically; returns the count.

    See ``Encoder``: the sound is trimmed to the picture, the frames written
    are counted before the file takes its name, and nothing is left at
    ``path`` or beside it when this fails or is interrupted.
    """
    encoder = Encoder(path, fps, codec=codec, crf=crf)
    try:
        for pixels in frames:
            encoder.write(pixels)
    except BaseException:
        encoder.abort()
        raise
    return encoder.finish(audio_from, offset)


def check_decodable(path: str) -> None:
    """Raise InputError with ffmpeg's words when ``path`` is not a readable media file."""
    done = subprocess.run([ffmpeg_exe(), "-hide_banner", "-nostdin", "-v", "error", "-i", path, "-frames:v", "1",
                           "-f", "null", "-"], capture_output=True, text=True, errors="replace")
    if done.returncode != 0:
        raise InputError(f"ffmpeg cannot read {path}: {_tail(done.stderr)}")
