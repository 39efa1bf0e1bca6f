"""Test-only methods registered through $ULVR_PLUGINS: one slow, one that always fails,
one that returns the source untouched (0 bits of nothing would be a fake; it sends a real
lossless copy of the frames so its bits are real bytes)."""

from __future__ import annotations

import os
import time
from pathlib import Path

from benchmark.manifest import Sequence
from benchmark.registry import Method, MethodKind, RatePoint, Reconstruction, register
from benchmark.video_io import RawYuvVideo, Y4MWriter


@register("test-copy")
class CopyMethod(Method):
    """Sends the raw frames: a lossless reference point with real bytes."""

    kind = MethodKind.EXTERNAL

    def rate_points(self) -> list[RatePoint]:
        return [RatePoint("raw")]

    def run(self, sequence: Sequence, rate_point: RatePoint, workdir: Path) -> Reconstruction:
        delay = float(os.environ.get("ULVR_TEST_DELAY", "0"))
        path = workdir / "frames.yuv"
        with open(path, "wb") as fh:
            for chunk in sequence.frames():
                fh.write(chunk.yuv_bytes())
                time.sleep(delay)
        video = RawYuvVideo(str(path), sequence.width, sequence.height, sequence.fps,
                            sequence.bit_depth, sequence.num_frames)
        return Reconstruction({"raw": path}, video.chunks())


@register("test-fail")
class FailMethod(Method):
    """Always raises, to test that failures are recorded and the run goes on."""

    kind = MethodKind.EXTERNAL

    def rate_points(self) -> list[RatePoint]:
        return [RatePoint("any")]

    def run(self, sequence: Sequence, rate_point: RatePoint, workdir: Path) -> Reconstruction:
        raise RuntimeError("planted failure")


__all__ = ["CopyMethod", "FailMethod", "Y4MWriter"]
