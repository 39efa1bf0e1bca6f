"""Every frame coded on its own as a baseline JPEG with ffmpeg's mjpeg encoder: a real
bitstream (the concatenated JPEG files), decoded by ffmpeg from that file alone, nothing
else sent. Registered with
ULVR-Bench through the `ulvr.methods` entry point of this package's pyproject.toml."""

from __future__ import annotations

import time
from pathlib import Path

from benchmark.core.ffmpeg import run_ffmpeg
from benchmark.data.manifest import Sequence
from benchmark.data.video_io import RawYuvVideo
from benchmark.data.video_write import Y4MWriter
from benchmark.protocol import Decoded, Encoded, Method, MethodKind, RatePoint


class JpegFrames(Method):
    """Intra-only JPEG per frame (mjpeg), quality set by ffmpeg's -q:v (2 best .. 31 worst)."""

    kind = MethodKind.CLASSICAL
    causal = True
    description = "every frame a JPEG (ffmpeg mjpeg), example plugin"

    def rate_points(self) -> list[RatePoint]:
        return [RatePoint(f"q{q}", {"q": q}) for q in (31, 15, 5)]

    def encode(self, sequence: Sequence, rate_point: RatePoint, workdir: Path) -> Encoded:
        source, stream = workdir / "source.y4m", workdir / "stream.mjpeg"
        with Y4MWriter(source, sequence.width, sequence.height, sequence.fps) as writer:
            for chunk in sequence.frames():
                writer.write(chunk)
        start = time.perf_counter()
        run_ffmpeg(["-i", str(source), "-c:v", "mjpeg", "-q:v", str(rate_point.params["q"]),
                    "-pix_fmt", "yuvj420p", "-f", "mjpeg", str(stream)], "encoding JPEG frames")
        source.unlink()
        return Encoded(streams={"video": stream},
                       timings={"encode_s": time.perf_counter() - start})

    def decode(self, streams: dict[str, Path], session: dict, workdir: Path) -> Decoded:
        """Runs in the harness's isolated decoder worker: the stream file and session only."""
        decoded = workdir / "decoded.yuv"
        start = time.perf_counter()
        run_ffmpeg(["-i", str(streams["video"]), "-f", "rawvideo", "-pix_fmt", "yuv420p",
                    str(decoded)], "decoding JPEG frames")
        video = RawYuvVideo(str(decoded), session["width"], session["height"], session["fps"],
                            8, session["frames"])
        return Decoded(frames=video.chunks(), timings={"decode_s": time.perf_counter() - start})
