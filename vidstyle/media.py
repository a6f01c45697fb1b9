"""ffmpeg (through imageio-ffmpeg): scanning videos, encoding video, muxing sound, counting frames.

Pitfalls this module exists for: a container's frame count is an estimate
(edit lists, streams copied into MKV, variable frame rate make it wrong), so
frames are counted and timed by decoding (``scan``); imageio-ffmpeg's
``audio_path`` hard-codes ``-map 1:a:0`` and breaks on silent sources, so
audio is muxed in a second step with an optional map (``1:a:0?``);
``-shortest`` would cut the PICTURE when the sound is shorter, so the sound
is trimmed to the picture's length instead and never the other way round;
odd frame sizes would be silently rescaled, so we pad to even sizes
ourselves; fps is passed as a Fraction so 30000/1001 stays exact; a variable
frame rate or a stream that starts after the other is kept (``Timing``), not
re-timed at the average rate; a failed encode leaves a 0-byte file, so every
output is written to a temporary name, its frames counted, and renamed only
when the count is right. Every subprocess is closed in try/finally and
ffmpeg's stderr is carried in the error raised.
"""

from __future__ import annotations

import os
import re
import shutil
import subprocess
import tempfile
from dataclasses import dataclass
from fractions import Fraction
from typing import Iterable, Sequence

import numpy as np

from .errors import InputError, OutputError
from .images import partial_path, quantise, write_image
from .options import DEFAULT_CODEC, DEFAULT_CRF, check_codec

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
# Sound codecs copied as they are into each container; any other is re-encoded to AAC. Most
# players (browsers, QuickTime, phones) cannot play PCM or FLAC inside .mp4, though ffmpeg writes it.
COPY_AUDIO = {
    ".mp4": ("aac", "mp3", "ac3", "eac3", "alac"),
    ".m4v": ("aac", "mp3", "ac3", "eac3", "alac"),
    ".mov": ("aac", "mp3", "ac3", "eac3", "alac", "pcm_s16le", "pcm_s16be", "pcm_s24le", "pcm_s24be",
             "pcm_s32le", "pcm_f32le"),
}
AAC = ["-c:a", "aac", "-b:a", "192k"]
# Timescale of a timed (variable frame rate) video track: 90 kHz, as MPEG uses, is exact for
# every common rate and for a GIF's 1/100 s delays.
TIMED_TIMESCALE = 90000


# The codec that keeps an alpha channel, and the pixel format it then encodes (ProRes 4444 + alpha).
ALPHA_CODEC, ALPHA_PIX_FMT = "prores4444", "yuva444p10le"


def encoder_args(codec: str, crf: int = DEFAULT_CRF, alpha: bool = False) -> list[str]:
    """ffmpeg's output arguments for ``codec`` (one of CODECS) at quality ``crf`` (H.264 only).

    ``alpha``: keep an alpha channel (ALPHA_CODEC only).
    """
    args = list(CODEC_ARGS[codec])
    if alpha:
        args[args.index("-pix_fmt") + 1] = ALPHA_PIX_FMT
    return [*CHROMA_FILTER, *args, *(["-crf", str(crf)] if codec.startswith("h264") else [])]


def alpha_samples(alpha: np.ndarray) -> np.ndarray:
    """(H, W) alpha [0, 1] -> the 16-bit samples to give ProRes 4444's 10-bit alpha, so it comes back as it was.

    ffmpeg decodes a ProRes alpha as 12 bits (read here as 16: ``VideoSource``)
    and ``prores_ks`` encodes 10; its conversion keeps the top 10 bits of a
    16-bit sample. Handing it the decoded sample with its low 6 bits cleared
    gives, decoded again, exactly the input's alpha (tests/test_plate.py);
    rounded instead, one value in four moved by a 10-bit step.
    """
    return (np.round(np.clip(alpha, 0.0, 1.0) * 65535.0).astype(np.uint16) >> 6) << 6


def ffmpeg_exe() -> str:
    import imageio_ffmpeg

    return imageio_ffmpeg.get_ffmpeg_exe()


def command(*args: str, loglevel: str = "error") -> list[str]:
    """An ffmpeg command line: the bundled binary, no banner, no stdin, only ``loglevel`` and worse on stderr.

    Every ffmpeg vidstyle runs starts here (probing asks for "info": the streams are listed at that level).
    """
    return [ffmpeg_exe(), "-hide_banner", "-nostdin", "-loglevel", loglevel, *args]


def _tail(text: str, lines: int = 6) -> str:
    kept = [line.strip() for line in text.strip().splitlines() if line.strip()][-lines:]
    return " | ".join(kept)


@dataclass(frozen=True)
class Probe:
    """What ``ffmpeg -i`` says of a file: its first audio stream (whether, which codec), and whether its
    first video stream has an alpha channel."""

    has_audio: bool
    audio_codec: str | None = None
    video_alpha: bool = False


# Pixel formats with alpha, as ffmpeg names them in a stream's line (yuva444p12le, rgba, gbrap16le, ya8...).
_ALPHA_PIX_FMT = re.compile(r"\b(yuva\w*|rgba\w*|bgra\w*|argb|abgr|gbrap\w*|ya8|ya16\w*)\b")


def probe(path: str) -> Probe:
    """The audio stream of ``path`` as ffmpeg sees it, and its video's alpha (``Probe``)."""
    done = subprocess.run(command("-i", path, loglevel="info"), capture_output=True, text=True, errors="replace")
    found = re.search(r"Stream #\d+:\d+.*?: Audio: ([A-Za-z0-9_]+)", done.stderr)
    video = re.search(r"Stream #\d+:\d+.*?: Video: (.*)", done.stderr)
    return Probe(found is not None, found.group(1) if found else None,
                 video is not None and _ALPHA_PIX_FMT.search(video.group(1)) is not None)


class AlphaReader:
    """A video's alpha, frame after frame in decode order (the order OpenCV gives the colour in).

    ffmpeg decodes the first video stream's alpha plane alone (``alphaextract``)
    as 16-bit grey; ``next()`` gives each frame's (H, W) float32 [0, 1].
    """

    def __init__(self, path: str, width: int, height: int):
        self.size, self.path = (height, width), path
        self._proc = subprocess.Popen(command("-i", path, "-map", "0:v:0", "-vf", "alphaextract", "-f", "rawvideo",
                                              "-pix_fmt", "gray16le", "-"),
                                      stdout=subprocess.PIPE, stderr=subprocess.DEVNULL)

    def next(self) -> np.ndarray:
        want = self.size[0] * self.size[1] * 2
        data = self._proc.stdout.read(want)
        if len(data) != want:
            raise InputError(f"{self.path}: its alpha channel ends before its picture does")
        return np.frombuffer(data, "<u2").reshape(self.size).astype(np.float32) / 65535.0

    def close(self) -> None:
        if self._proc.poll() is None:
            self._proc.kill()
        self._proc.wait()
        self._proc.stdout.close()


def count_frames(path: str) -> int:
    """Video frames (packets of the first video stream) in ``path``; 0 when it has no video stream.

    Copies the stream to the null muxer: it reads the file without decoding
    a picture, so it is quick even for long high-resolution files. For our
    own outputs only (they carry no edit list that drops packets).
    """
    done = subprocess.run(command("-i", path, "-map", "0:v:0?", "-c", "copy", "-f", "null", "-",
                                  "-progress", "pipe:1", "-nostats"),
                          capture_output=True, text=True, errors="replace")
    if done.returncode != 0:
        raise OutputError(f"ffmpeg cannot read back {path}: {_tail(done.stderr)}")
    counts = re.findall(r"^frame=(\d+)", done.stdout, re.MULTILINE)
    return int(counts[-1]) if counts else 0


# The ffmpeg lines of a decode that speak of the output side of our own scan (its muxer, encoder and
# filters), not of the file: e.g. "non monotonically increasing dts to muxer" when a file's
# timestamps are uneven. Only what the demuxer and the decoder say counts as damage.
_OUTPUT_SIDE = re.compile(r"^\[(?:out#|vost#|enc:|mux|framecrc @|null @|rawvideo @|pcm_s16le @|Parsed_|fc#|"
                          r"AVFilterGraph|graph |sws)")


@dataclass(frozen=True)
class Scan:
    """A video as its decoder sees it: the frames that decode, their times, and the complaints.

    ``times``: each decoded frame's presentation time in seconds and
    ``durations`` its duration, both on the file's own timeline (ffmpeg's
    ``-copyts``), in the order frames are shown (the order OpenCV gives
    them). ``errors``: the demuxer's and the decoder's error lines.
    ``audio_start``: when the first audio sample plays, on the same timeline
    (None: no sound).
    """

    frames: int
    times: tuple[float, ...]
    durations: tuple[float, ...]
    errors: tuple[str, ...]
    audio_start: float | None = None


def _framecrc(text: str) -> tuple[list[float], list[float]]:
    """(times, durations) in seconds of stream 0 in ffmpeg's framecrc output."""
    base = re.search(r"^#tb 0: (\d+)/(\d+)", text, re.MULTILINE)
    tb = Fraction(int(base.group(1)), int(base.group(2))) if base else Fraction(1)
    times, durations = [], []
    for line in text.splitlines():
        fields = [f.strip() for f in line.split(",")]
        if line.startswith("#") or len(fields) < 4 or fields[0] != "0":
            continue
        times.append(float(int(fields[2]) * tb))
        durations.append(float(int(fields[3]) * tb))
    return times, durations


def scan(path: str, last: int | None = None) -> Scan:
    """Decode ``path``'s video (up to frame ``last``, or all of it) and say what came out (``Scan``).

    The frame count to trust is what the decoder gives. Every frame is
    passed through as it comes (no rate conversion, timestamps as the file
    has them) and cropped to 2x2 px before its checksum, so the scan costs a
    decode and little more.
    """
    limit = ["-frames:v", str(last + 1)] if last is not None else []
    video = subprocess.run(command("-copyts", "-i", path, "-map", "0:v:0", *limit, "-fps_mode:v", "passthrough",
                                   "-enc_time_base:v", "demux", "-vf", "crop=2:2:0:0", "-c:v", "rawvideo",
                                   "-f", "framecrc", "-"),
                           capture_output=True, text=True, errors="replace")
    times, durations = _framecrc(video.stdout)
    if video.returncode != 0 and not times:
        # Not one frame, where OpenCV (the same libav) has read the file: ffmpeg itself failed.
        raise OutputError(f"ffmpeg failed reading {path}: {_tail(video.stderr) or f'exit code {video.returncode}'}")
    errors = []
    for line in video.stderr.splitlines():
        line = line.strip()
        if line and not _OUTPUT_SIDE.match(line) and "Last message repeated" not in line:
            # "[vist#0:0/h264 @ 0x..] [dec:h264 @ 0x..] Decoding error: ..." -> "Decoding error: ..."
            errors.append(re.sub(r"^(?:\[[^]]*\]\s*)+", "", line))
    # A separate run for the sound: with -frames:a, ffmpeg would end the video's output early.
    audio = subprocess.run(command("-copyts", "-i", path, "-map", "0:a:0?", "-c:a", "pcm_s16le", "-frames:a", "1",
                                   "-f", "framecrc", "-"),
                           capture_output=True, text=True, errors="replace")
    audio_times, _ = _framecrc(audio.stdout)
    return Scan(len(times), tuple(times), tuple(durations), tuple(errors), audio_times[0] if audio_times else None)


def is_variable_rate(times: Sequence[float], fps: Fraction | None) -> bool:
    """Whether frames at ``times`` (seconds) stray from the grid of ``fps`` by more than a tenth of a frame."""
    if len(times) < 2:
        return False
    if fps is None:
        return True
    step = 1 / float(fps)
    return any(abs(t - times[0] - i * step) > 0.1 * step for i, t in enumerate(times))


@dataclass(frozen=True)
class Timing:
    """When an output's frames play and where its sound sits (seconds).

    ``fps``: the rate frames are written at when ``times`` is None (a steady
    source, or ``--fps``). ``times``/``durations``: each frame's own start
    (from 0 at the first frame) and length, for a source whose frame rate
    varies. ``picture_start``, ``audio_start``: the delay of the first frame
    and of the first sample in the output (a source whose video starts 0.6 s
    after its sound stays so); ``audio_seek``: where in the source's sound
    the output's begins (a range that starts later in the source).
    """

    fps: Fraction
    times: tuple[float, ...] | None = None
    durations: tuple[float, ...] | None = None
    picture_start: float = 0.0
    audio_start: float = 0.0
    audio_seek: float = 0.0

    def length(self, count: int) -> float:
        """Seconds the picture of ``count`` frames lasts."""
        if self.times is not None:
            return self.times[-1] + self.durations[-1]
        return float(count / self.fps)

    @classmethod
    def of(cls, fps: Fraction, times: Sequence[float] | None = None, durations: Sequence[float] | None = None,
           audio_start: float | None = None, *, from_start: bool = True, steady: bool = True) -> "Timing":
        """The timing of an output made of the source frames at ``times`` (source seconds).

        ``from_start``: the output's first frame is the source's, so a lead
        of either stream over the other is kept; otherwise (a range that
        starts later) the output starts at its first frame and takes the
        sound from there. ``steady``: frames are written at ``fps`` (a
        steady source, or a rate the user asked for), not at ``times``.
        """
        if not times:
            return cls(Fraction(fps))
        first = times[0]
        own = {} if steady else dict(times=tuple(t - first for t in times), durations=tuple(durations))
        if audio_start is None:
            return cls(Fraction(fps), **own)
        origin = min(first, audio_start) if from_start else first
        return cls(Fraction(fps), **own, picture_start=first - origin, audio_start=max(0.0, audio_start - origin),
                   audio_seek=max(0.0, origin - audio_start))


def _even(pixels: np.ndarray) -> np.ndarray:
    """Pad (H, W, C) to even sides by repeating the last row/column (4:2:0 needs even sizes)."""
    pad_h, pad_w = pixels.shape[0] % 2, pixels.shape[1] % 2
    if pad_h or pad_w:
        pixels = np.pad(pixels, ((0, pad_h), (0, pad_w), (0, 0)), mode="edge")
    return pixels


class VideoWriter:
    """Encode frames to a video file at an exact fps; ``close()`` finishes, ``abort()`` kills.

    ``codec``: "h264" (libx264 4:2:0 High profile, ``crf`` quality, tuned to
    keep grain, no B-frames), "h264-444" (the same in 4:4:4), "prores" (prores_ks 422 HQ,
    10 bit) or "prores4444"; every one with a lanczos chroma filter
    (``encoder_args``). Frames are (H, W, 3) float BGR [0, 1]; odd sizes are padded
    by one edge-replicated row/column. ffmpeg runs as our own subprocess
    (imageio-ffmpeg provides the binary) so that its stderr can be carried
    in the error.
    """

    def __init__(self, path: str, width: int, height: int, fps: Fraction, codec: str = DEFAULT_CODEC,
                 crf: int = DEFAULT_CRF, alpha: bool = False):
        check_codec(codec)
        self.path, self.width, self.height = path, width, height
        self.alpha = alpha   # frames come with an alpha, given at 16 bit (ALPHA_CODEC)
        padded = (width + width % 2, height + height % 2)
        self._start(command("-y", "-f", "rawvideo", "-pix_fmt", "bgra64le" if alpha else "bgr24",
                            "-s", f"{padded[0]}x{padded[1]}", "-r", str(Fraction(fps)), "-i", "-", "-an",
                            *encoder_args(codec, crf, alpha), *_faststart(path), path), stdin=subprocess.PIPE)

    def _start(self, cmd: list[str], stdin=None) -> None:
        self._log = tempfile.TemporaryFile()
        try:
            self._proc = subprocess.Popen(cmd, stdin=stdin, stdout=subprocess.DEVNULL, stderr=self._log)
        except OSError as exc:
            self._log.close()
            raise OutputError(f"cannot run ffmpeg ({cmd[0]}): {exc.strerror}") from None

    def _error(self, what: str) -> OutputError:
        self.abort()
        self._log.seek(0)
        said = _tail(self._log.read().decode(errors="replace")) or f"exit code {self._proc.returncode}"
        self._log.close()
        return OutputError(f"ffmpeg failed {what} {self.path}: {said}")

    def write(self, pixels: np.ndarray, alpha: np.ndarray | None = None) -> None:
        if self.alpha:
            bgr = _even(np.dstack([quantise(pixels, 16), alpha_samples(alpha)]).astype("<u2"))
        else:
            bgr = _even(quantise(pixels, 8))
        try:
            self._proc.stdin.write(np.ascontiguousarray(bgr).tobytes())
        except OSError:  # broken pipe: ffmpeg has died
            raise self._error("while encoding") from None

    def close(self) -> None:
        if self._proc.stdin is not None:
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


class TimedWriter(VideoWriter):
    """Encode image files, each shown for its own duration (``Timing.times``), into a video file.

    ffmpeg's concat demuxer takes a duration per file; frames pass through
    with their times (``-fps_mode passthrough``), on a 90 kHz track.
    """

    def __init__(self, path: str, files: Sequence[str], durations: Sequence[float], listing: str,
                 codec: str = DEFAULT_CODEC, crf: int = DEFAULT_CRF, alpha: bool = False):
        check_codec(codec)
        self.path, self.alpha = path, alpha
        with open(listing, "w") as handle:
            handle.write("ffconcat version 1.0\n")
            for file, seconds in zip(files, durations):
                quoted = os.path.abspath(file).replace("'", "'\\''")
                handle.write(f"file '{quoted}'\nduration {seconds:.6f}\n")
        timescale = ["-video_track_timescale", str(TIMED_TIMESCALE)] if path.lower().endswith(
            (".mp4", ".mov", ".m4v")) else []
        self._start(command("-y", "-f", "concat", "-safe", "0", "-i", listing, "-an", "-fps_mode", "passthrough",
                            *encoder_args(codec, crf, alpha), *timescale, *_faststart(path), path))


def _faststart(path: str) -> list[str]:
    return ["-movflags", "+faststart"] if path.lower().endswith((".mp4", ".mov", ".m4v")) else []


def _audio_codec_args(output: str, codec: str | None) -> list[str]:
    """Copy the sound when ``output``'s container plays its codec everywhere; else re-encode it to AAC."""
    ext = os.path.splitext(output)[1].lower()
    if codec is not None and (ext not in COPY_AUDIO or codec in COPY_AUDIO[ext]):
        return ["-c:a", "copy"]
    return AAC


def mux_audio(video: str, audio_source: str, output: str, timing: Timing, length: float) -> None:
    """Copy the video stream of ``video`` and the first audio stream of ``audio_source`` into ``output``.

    The picture is never shortened: no ``-shortest`` (with it, sound shorter
    than the picture cut the picture). The sound is read from
    ``timing.audio_seek`` seconds and ends with the picture (``length``
    seconds after the picture starts), so a longer track is trimmed and a
    shorter one simply ends early (players play silence); ``timing``'s
    delays keep a lead of either stream as the source has it. It is copied
    when the container plays its codec, else re-encoded to AAC (PCM from a
    .mov into .mp4); a failed copy is tried again as AAC. A source without
    audio gives a silent output (the map is optional), never an error.
    """
    delay_video = ["-itsoffset", f"{timing.picture_start:.6f}"] if timing.picture_start > 0 else []
    delay_audio = ["-itsoffset", f"{timing.audio_start:.6f}"] if timing.audio_start > 0 else []
    seek = ["-ss", f"{timing.audio_seek:.6f}"] if timing.audio_seek > 0 else []
    limit = ["-t", f"{max(0.001, timing.picture_start + length - timing.audio_start):.6f}"]
    base = command("-y", *delay_video, "-i", video, *delay_audio, *seek, *limit, "-i", audio_source,
                   "-map", "0:v:0", "-map", "1:a:0?", "-c:v", "copy")
    tail = [*_faststart(output), output]
    first = _audio_codec_args(output, probe(audio_source).audio_codec)
    last = ""
    for audio in ([first, AAC] if first != AAC else [AAC]):
        done = subprocess.run(base + audio + tail, capture_output=True, text=True, errors="replace")
        if done.returncode == 0 and os.path.getsize(output) > 0:
            return
        last = done.stderr
    if os.path.exists(output):
        os.unlink(output)
    raise OutputError(f"ffmpeg could not add the audio of {audio_source}: {_tail(last)}")


class Encoder:
    """A video file written frame by frame, finished (sound, frame count, rename) in one call.

    A steady output (``timing.times`` None) is encoded while frames arrive;
    a timed one (a source with a variable frame rate) keeps each frame as a
    16-bit PNG in a hidden folder beside the output and encodes them with
    their durations at the end. ``write`` may run in another thread than
    ``finish``: the runner feeds frames from its writer thread and finishes
    on the thread that receives Ctrl-C and SIGTERM, so a stop during the
    audio mux still kills ffmpeg and leaves nothing. Until ``finish``
    returns, nothing is at ``path``; ``abort`` removes every temporary file.
    """

    def __init__(self, path: str, timing: Timing | Fraction, *, codec: str = DEFAULT_CODEC, crf: int = DEFAULT_CRF):
        self.timing = timing if isinstance(timing, Timing) else Timing(Fraction(timing))
        self.path, self.codec, self.crf = path, codec, crf
        self.count = 0
        self._writer: VideoWriter | None = None
        self._temporaries = [partial_path(path), partial_path(path)]   # the silent picture, then with sound
        self._frames: str | None = None                                # a timed output's frame files
        self.alpha = False                                             # frames carry alpha (set by the first)

    def write(self, pixels: np.ndarray, alpha: np.ndarray | None = None) -> None:
        """Add a frame ((H, W, 3) float BGR [0, 1]; every frame the size of the first).

        ``alpha`` (H, W) [0, 1] is kept when the codec holds one (ALPHA_CODEC),
        decided by the first frame.
        """
        if self.count == 0:
            self.alpha = alpha is not None and self.codec == ALPHA_CODEC
        if self.timing.times is not None:
            if self._frames is None:
                self._frames = partial_path(self.path) + ".frames"
                os.makedirs(self._frames)
            kept = None
            if self.alpha:   # the PNG's 16-bit alpha, as alpha_samples gives it to the encoder
                kept = _even(alpha_samples(alpha)[..., None])[..., 0].astype(np.float32) / 65535.0
            write_image(os.path.join(self._frames, f"{self.count:08d}.png"), _even(pixels), 16, kept)
        else:
            if self._writer is None:
                h, w = pixels.shape[:2]
                self._writer = VideoWriter(self._temporaries[0], w, h, self.timing.fps, codec=self.codec,
                                           crf=self.crf, alpha=self.alpha)
            self._writer.write(pixels, alpha if self.alpha else None)
        self.count += 1

    def finish(self, audio_from: str | None = None) -> int:
        """Close the picture, add the sound, count the frames written, take the name ``path``; returns the count.

        ``audio_from``: a file whose first audio stream is added where
        ``timing`` puts it, trimmed to the picture's length (None: silent). A
        count other than the frames given raises OutputError and keeps nothing.
        """
        try:
            if self.count == 0:
                raise OutputError(f"no frames to encode into {self.path}")
            silent, final = self._temporaries
            if self.timing.times is not None:
                if len(self.timing.times) != self.count:
                    raise OutputError(f"{self.count} frame(s) for {len(self.timing.times)} frame times: "
                                      f"cannot time {self.path}")
                files = [os.path.join(self._frames, f"{i:08d}.png") for i in range(self.count)]
                self._writer = TimedWriter(silent, files, self.timing.durations,
                                           os.path.join(self._frames, "list.ffconcat"), self.codec, self.crf,
                                           self.alpha)
            self._writer.close()
            result = silent
            if audio_from is not None:
                mux_audio(silent, audio_from, final, self.timing, self.timing.length(self.count))
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
        if self._frames is not None:
            shutil.rmtree(self._frames, ignore_errors=True)


def encode_video(path: str, frames: Iterable[np.ndarray], timing: Timing | Fraction, *,
                 codec: str = DEFAULT_CODEC, crf: int = DEFAULT_CRF, audio_from: str | None = None) -> int:
    """Encode ``frames`` ((H, W, 3) float BGR [0, 1], one size) into ``path``, atomically; returns the count.

    See ``Encoder``: the sound is placed and trimmed as ``timing`` says, the
    frames written are counted before the file takes its name, and nothing
    is left at ``path`` or beside it when this fails or is interrupted.
    """
    encoder = Encoder(path, timing, codec=codec, crf=crf)
    try:
        for pixels in frames:
            encoder.write(pixels)
    except BaseException:
        encoder.abort()
        raise
    return encoder.finish(audio_from)
