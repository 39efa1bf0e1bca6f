"""An example metric plugin: the mean absolute error of 8-bit RGB frames (lower is better),
registered with ULVR-Bench through the `ulvr.metrics` entry point of this package's
pyproject.toml, with its own row of the metric table."""

from __future__ import annotations

import numpy as np

from benchmark.data.video_io import FrameChunk
from benchmark.metrics.base import Metric, MetricResult, register_metric
from benchmark.metrics.table import MetricSpec


class MaeRgb(Metric):
    """Mean absolute error over the pixels and channels of each RGB frame; mean over frames."""

    name = "mae-rgb"

    def reset(self) -> None:
        self._frames: list[np.ndarray] = []

    def update(self, reference: FrameChunk, reconstruction: FrameChunk) -> None:
        diff = np.abs(reference.rgb().astype(np.int16) - reconstruction.rgb().astype(np.int16))
        self._frames.append(diff.reshape(len(diff), -1).mean(axis=1))

    def compute(self) -> MetricResult:
        frames = np.concatenate(self._frames)
        return MetricResult({self.name: float(frames.mean())}, {self.name: frames.tolist()},
                            {"colour": "rgb", "aggregate": "mean of per-frame values"})


register_metric(MaeRgb, MetricSpec("mae-rgb", __name__, ("mae-rgb",), True,
                                   "mean absolute error of 8-bit RGB (example plugin)"))
