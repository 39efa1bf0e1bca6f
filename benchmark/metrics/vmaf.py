"""VMAF through ffmpeg's libvmaf filter (the imageio-ffmpeg binary), default model, on YUV.

Frames stream to two Y4M files in a temporary folder (disk, not memory; see `spool`) at the
source bit depth; compute() runs libvmaf once over the pair and reads its per-frame JSON log.
libvmaf's first input is the distorted video, the second the reference.
"""

from __future__ import annotations

import functools
import json
import subprocess
from pathlib import Path

from benchmark.core.ffmpeg import ffmpeg_exe, run_ffmpeg
from benchmark.data.video_io import FrameChunk
from benchmark.metrics.base import Metric, MetricResult, register_metric
from benchmark.metrics.psnr import scored_planes
from benchmark.metrics.spool import PairSpool
from benchmark.protocol import Availability

MODEL = "version=vmaf_v0.6.1"


@functools.cache
def _has_libvmaf() -> bool:
    out = subprocess.run([ffmpeg_exe(), "-hide_banner", "-filters"], capture_output=True,
                         text=True).stdout
    return " libvmaf " in out


def vmaf_log(distorted: Path, reference: Path, log_path: Path, threads: int = 2) -> dict:
    """Run libvmaf on two files; returns its parsed JSON log."""
    graph = (f"[0:v][1:v]libvmaf=model='{MODEL}':log_fmt=json:log_path={log_path}"
             f":n_threads={threads}")
    run_ffmpeg(["-i", str(distorted), "-i", str(reference), "-lavfi", graph, "-f", "null", "-"],
               "computing VMAF")
    with open(log_path) as fh:
        return json.load(fh)


@register_metric
class Vmaf(Metric):
    """VMAF (model vmaf_v0.6.1); per-frame scores and their mean."""

    name = "vmaf"

    @classmethod
    def availability(cls) -> Availability:
        if not _has_libvmaf():
            return Availability(False, "this ffmpeg lacks the libvmaf filter; use the ffmpeg "
                                       "of imageio-ffmpeg >= 0.6")
        return Availability(True)

    def reset(self) -> None:
        if getattr(self, "_spool", None):
            self._spool.cleanup()
        self._spool = PairSpool("vmaf")
        self._yuv_reference: set[str] = set()

    def update(self, reference: FrameChunk, reconstruction: FrameChunk) -> None:
        """Spool the planes PSNR-Y/U/V compare: an RGB-only reconstruction is scored against
        the reference converted to RGB and back, as PSNR is (see `psnr.scored_planes`)."""
        depth = reference.bit_depth
        ref, rec, how = scored_planes(reference, reconstruction, depth)
        self._yuv_reference.add(how)
        self._spool.write(FrameChunk(planes=ref, bit_depth=depth),
                          FrameChunk(planes=rec, bit_depth=depth))

    def compute(self) -> MetricResult:
        self._spool.close("VMAF")
        try:
            log = vmaf_log(self._spool.distorted, self._spool.reference,
                           self._spool.dir / "vmaf.json")
        finally:
            self._spool.cleanup()
        frames = [f["metrics"]["vmaf"] for f in log["frames"]]
        return MetricResult({"vmaf": float(sum(frames) / len(frames))}, {"vmaf": frames},
                            {"model": MODEL, "libvmaf": log.get("version", "unknown"),
                             "pooling": "mean of per-frame scores",
                             "yuv_reference": "+".join(sorted(self._yuv_reference))})
