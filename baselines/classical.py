"""Classical codecs through the ffmpeg shipped by imageio-ffmpeg: x264, x265, vvenc, SVT-AV1, aom.

Each codec subclass only says how to build its encoder arguments; the base class pipes the
sequence into ffmpeg, writes a raw elementary stream (so bits are bitstream bytes with no
container), decodes that bitstream with ffmpeg's decoder and streams the decoded frames.
Low-delay (no frame reordering, one intra frame) is the default; `config="ra"` gives a
random-access structure. A rate point may downscale by 2 to 16 before encoding (area filter)
and upscale after decoding (bicubic), and may code only every t-th frame and hold each decoded
picture until the next (`qp51-d16-t8`; `baselines.resample`), to reach the rates the
ultra-low-bitrate work compares at. Bits are those of the coded frames' bitstream.
"""

from __future__ import annotations

import functools
import re
import subprocess
import tempfile
import time
from pathlib import Path

from baselines.resample import EveryNth, hold_chunks
from benchmark.errors import UlvrError
from benchmark.ffmpeg import ffmpeg_exe, ffmpeg_version, last_error_line, run_ffmpeg
from benchmark.manifest import Sequence
from benchmark.registry import Availability, Method, MethodKind, RatePoint, Reconstruction, register
from benchmark.video_io import RawYuvVideo, frame_bytes

STRUCTURES = ("ld", "ra")
UPSCALE_FILTER = "bicubic"
DOWNSCALE_FILTER = "area"


Point = tuple[int, int] | tuple[int, int, int]   # (qp, downscale) or (qp, downscale, temporal)


def make_rate_point(qp: int, downscale: int = 1, temporal: int = 1) -> RatePoint:
    """One rate point, labelled qpNN, qpNN-dK or qpNN-dK-tT (every T-th frame coded, held)."""
    label = f"qp{qp}" + (f"-d{downscale}" if downscale > 1 or temporal > 1 else "") \
        + (f"-t{temporal}" if temporal > 1 else "")
    params = {"qp": qp, "downscale": downscale, **({"temporal": temporal} if temporal > 1 else {})}
    return RatePoint(label, params)


# (downscale, temporal interval) of the points every codec adds at its coarsest quantiser, so
# that each codec reaches below 0.001 bpp on the embedded clips (32 frames, 176x144 to 320x176).
TEMPORAL_POINTS = ((8, 4), (16, 8), (16, 32))


def temporal_points(qp_max: int) -> list[Point]:
    """The spatio-temporally resampled default points at a codec's coarsest quantiser."""
    return [(qp_max, d, t) for d, t in TEMPORAL_POINTS]


def rate_points(points: list[Point]) -> list[RatePoint]:
    """Rate points from (qp, downscale[, temporal]) tuples."""
    return [make_rate_point(*point) for point in points]


class FfmpegCodec(Method):
    """A classical codec run through ffmpeg; subclasses define encoder_args()."""

    kind = MethodKind.CLASSICAL
    encoder = ""            # ffmpeg encoder name
    muxer = ""              # raw elementary-stream muxer
    suffix = ""             # bitstream file suffix
    pix_fmt = "yuv420p"     # what the encoder is fed
    size_multiple = 2       # coded width and height are padded up to a multiple of this
    min_size = 2            # ... and up to at least this (x265 refuses pictures under 16x16)
    default_points: list[Point] = []
    version_pattern = ""    # regex on the encoder's log that captures its version

    def __init__(self, structure: str = "ld", preset: str | None = None,
                 rate_points: list[Point] | None = None) -> None:
        if structure not in STRUCTURES:
            raise UlvrError(f"unknown coding structure '{structure}': use one of {STRUCTURES}")
        super().__init__(structure=structure, preset=preset or self.default_preset)
        self.structure = structure
        self.preset = preset or self.default_preset
        self.causal = structure == "ld"
        self._points = rate_points or self.default_points
        self._encoder_version = ""

    default_preset = "medium"

    def rate_points(self) -> list[RatePoint]:
        return rate_points(self._points)

    def encoder_args(self, qp: int, fps: float) -> list[str]:
        """Encoder options for one quantiser in this structure and preset, for pictures coded
        at `fps` (below the source's rate at temporally resampled points)."""
        raise NotImplementedError

    def availability(self) -> Availability:
        if f" {self.encoder} " not in _ffmpeg_encoders():
            return Availability(False, f"this ffmpeg has no {self.encoder} encoder; install "
                                       "imageio-ffmpeg >= 0.6 (its static build has it)")
        return Availability(True)

    def config(self) -> dict:
        return {"name": self.name, "encoder": self.encoder, "structure": self.structure,
                "preset": self.preset, "upscale": UPSCALE_FILTER, "downscale": DOWNSCALE_FILTER}

    def versions(self) -> dict:
        return {"ffmpeg": ffmpeg_version(), self.encoder: self._encoder_version or "unknown"}

    def run(self, sequence: Sequence, rate_point: RatePoint, workdir: Path) -> Reconstruction:
        qp, factor = int(rate_point.params["qp"]), int(rate_point.params.get("downscale", 1))
        interval = int(rate_point.params.get("temporal", 1))
        output = sequence
        if interval > 1:
            sequence = EveryNth(sequence, interval)   # what is coded; `output` is what is shown
        scaled_w = max(2, sequence.width // factor // 2 * 2)
        scaled_h = max(2, sequence.height // factor // 2 * 2)
        coded_w, coded_h = (max(self.min_size, _round_up(v, self.size_multiple))
                            for v in (scaled_w, scaled_h))
        pre = []
        if factor > 1:
            pre.append(f"scale={scaled_w}:{scaled_h}:flags={DOWNSCALE_FILTER}")
        if (coded_w, coded_h) != (scaled_w, scaled_h):
            pre.append(f"pad={coded_w}:{coded_h}:0:0:color=gray")
        bitstream = workdir / f"stream{self.suffix}"
        in_fmt = "yuv420p" if sequence.bit_depth == 8 else "yuv420p10le"
        enc_cmd = [ffmpeg_exe(), "-hide_banner", "-nostdin", "-y", "-loglevel", "info",
                   "-f", "rawvideo", "-pix_fmt", in_fmt,
                   "-s", f"{sequence.width}x{sequence.height}", "-r", f"{sequence.fps:g}",
                   "-i", "pipe:0"]
        if pre:
            enc_cmd += ["-vf", ",".join(pre)]
        enc_cmd += ["-pix_fmt", self.pix_fmt, "-c:v", self.encoder,
                    *self.encoder_args(qp, sequence.fps), "-f", self.muxer, str(bitstream)]
        encode_s = self._encode(enc_cmd, sequence)

        post = []
        if (coded_w, coded_h) != (scaled_w, scaled_h):
            post.append(f"crop={scaled_w}:{scaled_h}:0:0")
        if factor > 1:
            post.append(f"scale={sequence.width}:{sequence.height}:flags={UPSCALE_FILTER}")
        decoded = workdir / "decoded.yuv"
        out_fmt = "yuv420p" if sequence.bit_depth == 8 else "yuv420p10le"
        dec_args = ["-i", str(bitstream), *(["-vf", ",".join(post)] if post else []),
                    "-fps_mode", "passthrough", "-f", "rawvideo", "-pix_fmt", out_fmt, str(decoded)]
        start = time.perf_counter()
        run_ffmpeg(dec_args, f"decoding {bitstream.name} of {sequence.name}")
        decode_s = time.perf_counter() - start
        got = decoded.stat().st_size // frame_bytes(sequence.width, sequence.height,
                                                    sequence.bit_depth)
        if got != sequence.num_frames:
            raise UlvrError(f"{self.name} decoded {got} frames of {sequence.name}, "
                            f"{sequence.num_frames} were encoded")
        video = RawYuvVideo(str(decoded), sequence.width, sequence.height, sequence.fps,
                            sequence.bit_depth, sequence.num_frames)
        frames = video.chunks() if interval == 1 else \
            hold_chunks(video.chunks(), interval, output.num_frames)
        return Reconstruction(
            streams={"video": bitstream}, frames=frames,
            timings={"encode_s": encode_s, "decode_s": decode_s},
            commands=[_shell(enc_cmd), _shell([ffmpeg_exe(), *dec_args])],
            info={"coded_width": coded_w, "coded_height": coded_h, "downscale": factor,
                  "padding": [coded_w - scaled_w, coded_h - scaled_h],
                  "structure": self.structure, "qp": qp, "temporal": interval,
                  "coded_frames": sequence.num_frames})

    def _encode(self, cmd: list[str], sequence: Sequence) -> float:
        start = time.perf_counter()
        with tempfile.TemporaryFile() as err:
            proc = subprocess.Popen(cmd, stdin=subprocess.PIPE, stdout=subprocess.DEVNULL,
                                    stderr=err)
            try:
                for chunk in sequence.frames():
                    proc.stdin.write(chunk.yuv_bytes())
                proc.stdin.close()
            except BrokenPipeError:
                pass
            finally:
                if proc.poll() is None and not proc.stdin.closed:
                    proc.stdin.close()
                proc.wait()
            err.seek(0)
            log = err.read().decode("utf-8", "replace")
        if proc.returncode != 0:
            raise UlvrError(f"{self.name} failed to encode {sequence.name}: "
                            f"{last_error_line(log)}")
        match = re.search(self.version_pattern, log) if self.version_pattern else None
        if match:
            self._encoder_version = match.group(1)
        return time.perf_counter() - start


@functools.cache
def _ffmpeg_encoders() -> str:
    return subprocess.run([ffmpeg_exe(), "-hide_banner", "-encoders"], capture_output=True,
                          text=True).stdout


def _round_up(value: int, multiple: int) -> int:
    return (value + multiple - 1) // multiple * multiple


def _shell(cmd: list[str]) -> str:
    return " ".join(c if re.fullmatch(r"[\w./:=,+-]+", c) else repr(c) for c in cmd)


@register("x264")
class X264(FfmpegCodec):
    """H.264/AVC with x264. SEI NAL units (x264 writes its settings there) are stripped."""

    description = "H.264/AVC (x264), low-delay P"
    encoder, muxer, suffix = "libx264", "h264", ".264"
    default_points = [(36, 1), (42, 1), (48, 2), (51, 4), (51, 8), *temporal_points(51)]
    version_pattern = r""

    def encoder_args(self, qp: int, fps: float) -> list[str]:
        gop = ["-bf", "0", "-x264-params", "keyint=infinite:scenecut=0"] if self.structure == "ld" \
            else ["-bf", "3", "-g", "32"]
        return ["-preset", self.preset, "-qp", str(qp), *gop,
                "-bsf:v", "filter_units=remove_types=6"]

    def versions(self) -> dict:
        return {"ffmpeg": ffmpeg_version(), "libx264": _x264_version()}


@functools.cache
def _x264_version() -> str:
    """x264 writes its version only into an SEI (which the adapter strips): encode one tiny
    frame with the SEI kept and read it there."""
    out = subprocess.run([ffmpeg_exe(), "-v", "error", "-f", "lavfi", "-i",
                          "color=c=gray:s=64x64:d=0.04", "-frames:v", "1", "-c:v", "libx264",
                          "-f", "h264", "-"], capture_output=True)
    match = re.search(rb"x264 - core (\d+)(?: (r\d+ [0-9a-f]+))?", out.stdout)
    return match.group(0).decode() if match else "unknown"


@register("x265")
class X265(FfmpegCodec):
    """H.265/HEVC with x265 (info SEI disabled)."""

    description = "H.265/HEVC (x265), low-delay P"
    encoder, muxer, suffix = "libx265", "hevc", ".265"
    min_size = 16
    default_points = [(37, 1), (42, 1), (47, 2), (51, 4), (51, 8), *temporal_points(51)]
    version_pattern = r"HEVC encoder version (\S+)"

    def encoder_args(self, qp: int, fps: float) -> list[str]:
        gop = "bframes=0:keyint=-1:scenecut=0" if self.structure == "ld" \
            else "bframes=4:keyint=32:open-gop=0"
        return ["-preset", self.preset, "-x265-params", f"qp={qp}:{gop}:info=0:log-level=info"]


@register("vvenc")
class VVenC(FfmpegCodec):
    """H.266/VVC with Fraunhofer VVenC; decoded by ffmpeg's native VVC decoder."""

    description = "H.266/VVC (VVenC), low-delay B"
    encoder, muxer, suffix = "libvvenc", "vvc", ".266"
    pix_fmt = "yuv420p10le"
    size_multiple = 8
    min_size = 16     # libvvenc fails on a lone 16x8 picture (a d16-t32 point of QCIF)
    default_preset = "faster"
    default_points = [(37, 1), (42, 1), (47, 2), (51, 4), (57, 8), *temporal_points(63)]
    version_pattern = r"libvvenc version: (\S+)"

    def encoder_args(self, qp: int, fps: float) -> list[str]:
        gop_size = 8 if self.structure == "ld" else 32
        gop = f"PicReordering=0:DecodingRefreshType=none:GOPSize={gop_size}" \
            if self.structure == "ld" else f"DecodingRefreshType=idr:GOPSize={gop_size}"
        if fps < 1:   # vvenc derives its intra period (1 s) from fps: 0 below 1 fps is refused
            gop += f":IntraPeriod={gop_size}"
        return ["-preset", self.preset, "-qp", str(qp), "-vvenc-params", gop]


@register("svtav1")
class SvtAv1(FfmpegCodec):
    """AV1 with SVT-AV1 (raw OBU stream)."""

    description = "AV1 (SVT-AV1), low-delay"
    encoder, muxer, suffix = "libsvtav1", "obu", ".obu"
    default_preset = "8"
    default_points = [(45, 1), (55, 1), (63, 2), (63, 4), (63, 8), *temporal_points(63)]
    version_pattern = r"SVT-AV1 Encoder Lib (\S+)"

    def encoder_args(self, qp: int, fps: float) -> list[str]:
        structure = "pred-struct=1" if self.structure == "ld" else "pred-struct=2"
        return ["-preset", self.preset, "-crf", str(qp), "-g", "100000",
                "-svtav1-params", f"{structure}:scd=0"]


@register("aom")
class Aom(FfmpegCodec):
    """AV1 with libaom (raw OBU stream); low-delay means no lookahead and no alt-ref frames."""

    description = "AV1 (libaom), low-delay"
    encoder, muxer, suffix = "libaom-av1", "obu", ".obu"
    default_preset = "6"
    default_points = [(45, 1), (55, 1), (63, 2), (63, 4), (63, 8), *temporal_points(63)]
    version_pattern = r"libaom-av1 @ \S+\] (v\S+)"

    def encoder_args(self, qp: int, fps: float) -> list[str]:
        lag = ["-lag-in-frames", "0", "-auto-alt-ref", "0"] if self.structure == "ld" \
            else ["-lag-in-frames", "35"]
        return ["-cpu-used", self.preset, "-crf", str(qp), "-b:v", "0", "-g", "100000", *lag]
