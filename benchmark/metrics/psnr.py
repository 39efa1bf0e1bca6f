"""PSNR on RGB and on the native Y, U, V planes, streamed frame by frame.

Per-sequence values are the mean of per-frame PSNRs (the default, as DCVC and CompressAI
report) and, under `<name>@mse`, the PSNR of the mean MSE (as ffmpeg's psnr filter summary).
PSNR-YUV weights Y:U:V as 6:1:1 by default (DCVC); identical frames are clamped to 100 dB.

Which planes PSNR-Y/U/V compare depends on what the method output (recorded per record as
`yuv_reference` in the protocol):
- `native`: the reconstruction has YUV 4:2:0 planes (classical codecs, anything decoded to
  YUV): they are compared with the reference's native planes.
- `via-rgb`: the reconstruction is RGB only (neural, diffusion, PNG-external methods). It is
  converted to 4:2:0 with BT.709 limited range (`benchmark.core.colour`), and so is the reference
  after the same YUV->RGB conversion every RGB method's input went through. Comparing with the
  native planes instead would charge the method for the harness's own conversion (a perfect
  RGB reconstruction got only 45-62 dB on U/V): here the exact RGB of the reference reaches the
  cap on every component. The cost is that such a score says nothing about the conversion
  itself; `mixed` marks a sequence whose chunks came both ways.
"""

from __future__ import annotations

import numpy as np

from benchmark.core.colour import rgb_to_yuv420
from benchmark.core.errors import UlvrError
from benchmark.data.video_io import FrameChunk
from benchmark.metrics.base import Metric, MetricResult, register_metric

Planes = tuple[np.ndarray, np.ndarray, np.ndarray]

MAX_PSNR = 100.0


def psnr_from_mse(mse: np.ndarray | float, peak: float) -> np.ndarray:
    """10 log10(peak^2 / mse), clamped to MAX_PSNR for identical inputs."""
    mse = np.asarray(mse, dtype=np.float64)
    with np.errstate(divide="ignore"):
        value = 10.0 * np.log10(peak * peak / mse)
    return np.minimum(value, MAX_PSNR)


def frame_mse(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    """Per-frame mean squared error of two (n, ...) arrays (one frame at a time: bounded memory)."""
    out = np.empty(len(a))
    for i in range(len(a)):
        diff = a[i].astype(np.int32) - b[i].astype(np.int32)
        out[i] = np.dot(diff.ravel().astype(np.int64), diff.ravel()) / diff.size
    return out


def scored_planes(reference: FrameChunk, reconstruction: FrameChunk,
                  bit_depth: int) -> tuple[Planes, Planes, str]:
    """The (reference, reconstruction) planes PSNR-Y/U/V compare and how they were had:
    `native` planes, or both `via-rgb` when the reconstruction is RGB only (module docstring)."""
    if reconstruction.planes is not None:
        return reference.yuv(bit_depth), reconstruction.yuv(bit_depth), "native"
    return (rgb_to_yuv420(reference.rgb(), bit_depth=bit_depth),
            reconstruction.yuv(bit_depth), "via-rgb")


@register_metric
class Psnr(Metric):
    """PSNR-RGB (8-bit), PSNR-Y/U/V and weighted PSNR-YUV at the source bit depth."""

    name = "psnr"

    def __init__(self, device: str = "cpu", yuv_weights: tuple[int, int, int] = (6, 1, 1)) -> None:
        self.yuv_weights = yuv_weights
        super().__init__(device)

    def reset(self) -> None:
        self._mse: dict[str, list[np.ndarray]] = {"rgb": [], "y": [], "u": [], "v": []}
        self._bit_depth = 8
        self._yuv_reference: set[str] = set()

    def update(self, reference: FrameChunk, reconstruction: FrameChunk) -> None:
        depth = reference.bit_depth
        self._bit_depth = depth
        ref_planes, rec_planes, how = scored_planes(reference, reconstruction, depth)
        self._yuv_reference.add(how)
        for key, a, b in zip("yuv", ref_planes, rec_planes, strict=True):
            self._mse[key].append(frame_mse(a, b))
        self._mse["rgb"].append(frame_mse(reference.rgb(), reconstruction.rgb()))

    def compute(self) -> MetricResult:
        if not self._mse["y"]:
            raise UlvrError("PSNR of an empty video")
        mse = {k: np.concatenate(v) for k, v in self._mse.items()}
        peak_yuv = float((1 << self._bit_depth) - 1)
        frames = {"psnr-rgb": psnr_from_mse(mse["rgb"], 255.0)}
        for plane in "yuv":
            frames[f"psnr-{plane}"] = psnr_from_mse(mse[plane], peak_yuv)
        wy, wu, wv = self.yuv_weights
        frames["psnr-yuv"] = (wy * frames["psnr-y"] + wu * frames["psnr-u"]
                              + wv * frames["psnr-v"]) / (wy + wu + wv)
        values = {k: float(np.mean(v)) for k, v in frames.items()}
        for plane, peak in (("rgb", 255.0), ("y", peak_yuv), ("u", peak_yuv), ("v", peak_yuv)):
            values[f"psnr-{plane}@mse"] = float(psnr_from_mse(mse[plane].mean(), peak))
        return MetricResult(values, {k: v.tolist() for k, v in frames.items()},
                            {"aggregate": "mean of per-frame PSNR; @mse: PSNR of mean MSE",
                             "yuv_weights": ":".join(map(str, self.yuv_weights)),
                             "max_psnr": MAX_PSNR, "bit_depth": self._bit_depth,
                             "yuv_reference": (next(iter(self._yuv_reference))
                                               if len(self._yuv_reference) == 1 else "mixed")})
