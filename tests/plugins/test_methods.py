"""Test-only methods registered through $ULVR_PLUGINS: one slow, one that always fails,
one that returns the source untouched (0 bits of nothing would be a fake; it sends a real
lossless copy of the frames so its bits are real bytes), and probes for the executors' tests
(a worker that dies on its first try or on every try, a job that logs where and when it ran)."""

from __future__ import annotations

import json
import os
import time
from pathlib import Path

from benchmark.data.manifest import Sequence
from benchmark.data.video_io import RawYuvVideo
from benchmark.data.video_write import Y4MWriter
from benchmark.protocol import (
    Decoded,
    Encoded,
    Method,
    MethodKind,
    RatePoint,
    Reconstruction,
    register,
)


@register("test-copy")
class CopyMethod(Method):
    """Sends the raw frames: a lossless reference point with real bytes."""

    kind = MethodKind.EXTERNAL
    stream_names = ("raw",)

    def __init__(self, delay: float | None = None, **options: object) -> None:
        super().__init__(delay=delay, **options)
        self.delay = delay

    def rate_points(self) -> list[RatePoint]:
        return [RatePoint("raw")]

    def run(self, sequence: Sequence, rate_point: RatePoint, workdir: Path) -> Reconstruction:
        delay = self.delay if self.delay is not None \
            else float(os.environ.get("ULVR_TEST_DELAY", "0"))
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

    def __init__(self, log: str = "", **options: object) -> None:
        super().__init__(log=log, **options)
        self.log = log

    def rate_points(self) -> list[RatePoint]:
        return [RatePoint("any")]

    def run(self, sequence: Sequence, rate_point: RatePoint, workdir: Path) -> Reconstruction:
        if self.log:   # one line per attempt: a failing job must run once, not be retried
            with open(self.log, "a") as fh:
                fh.write(f"{sequence.name}\n")
        raise RuntimeError("planted failure")


@register("test-die-once")
class DieOnceMethod(CopyMethod):
    """Kills its own worker process the first time it runs a sequence (a marker file in
    `markers` remembers), then behaves like test-copy: a worker crash to be retried."""

    def __init__(self, markers: str = "", **options: object) -> None:
        super().__init__(markers=markers, **options)
        self.markers = Path(markers)

    def run(self, sequence: Sequence, rate_point: RatePoint, workdir: Path) -> Reconstruction:
        marker = self.markers / sequence.name
        if not marker.exists():
            marker.write_text(str(os.getpid()))
            os._exit(1)
        return super().run(sequence, rate_point, workdir)


@register("test-die")
class DieMethod(CopyMethod):
    """Kills its own worker process every time, as the kernel's OOM killer does a decoder
    that outgrows the machine: the executor must record the job as failed and go on."""

    def run(self, sequence: Sequence, rate_point: RatePoint, workdir: Path) -> Reconstruction:
        os._exit(137)


@register("test-decoder-dies")
class DecoderDiesMethod(CopyMethod):
    """Encodes like test-copy; its decoder kills its own process (a segfault in a codec)."""

    def encode(self, sequence: Sequence, rate_point: RatePoint, workdir: Path) -> Encoded:
        return Encoded(streams=self.run(sequence, rate_point, workdir).streams)

    def decode(self, streams: dict[str, Path], session: dict, workdir: Path) -> Decoded:
        os._exit(139)


@register("test-decoder-hangs")
class DecoderHangsMethod(CopyMethod):
    """Encodes like test-copy; its decoder never returns (a deadlock in a codec)."""

    def encode(self, sequence: Sequence, rate_point: RatePoint, workdir: Path) -> Encoded:
        return Encoded(streams=self.run(sequence, rate_point, workdir).streams)

    def decode(self, streams: dict[str, Path], session: dict, workdir: Path) -> Decoded:
        time.sleep(3600)
        raise AssertionError("unreachable")


@register("test-probe")
class ProbeMethod(CopyMethod):
    """test-copy that appends one JSON line per run to `log`: pid, CUDA_VISIBLE_DEVICES and
    start/end times, after holding for `hold` seconds (to see what runs concurrently). With
    `meet` = N it first waits (up to 120 s) until N probes are running at once, and logs
    whether they met: a way to show concurrency that does not depend on timing."""

    def __init__(self, log: str = "", hold: float = 0.0, meet: int = 0,
                 **options: object) -> None:
        super().__init__(log=log, hold=hold, meet=meet, **options)
        self.log, self.hold, self.meet = log, hold, meet

    def run(self, sequence: Sequence, rate_point: RatePoint, workdir: Path) -> Reconstruction:
        start = time.time()
        met = None
        if self.meet:
            room = Path(self.log + ".meet")
            room.mkdir(exist_ok=True)
            (room / f"{sequence.name}-{os.getpid()}").touch()
            while len(list(room.iterdir())) < self.meet and time.time() - start < 120:
                time.sleep(0.05)
            met = len(list(room.iterdir())) >= self.meet
        time.sleep(self.hold)
        line = {"sequence": sequence.name, "pid": os.getpid(), "start": start,
                "end": time.time(), "cuda": os.environ.get("CUDA_VISIBLE_DEVICES"), "met": met}
        with open(self.log, "a") as fh:
            fh.write(json.dumps(line) + "\n")
        return super().run(sequence, rate_point, workdir)


__all__ = ["CopyMethod", "DieOnceMethod", "FailMethod", "ProbeMethod", "Y4MWriter"]
