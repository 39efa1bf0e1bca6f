"""The per-frame mean: a metric whose value is the mean of one value per frame (or per pair of
frames), with those values kept as its per-frame curve.

LPIPS, DISTS, MS-SSIM, the no-reference metrics and the temporal pair metrics all subclass it,
so they aggregate one way. Each keeps its own number type (`dtype`): values are averaged in the
type the metric computed them in, so no recorded value moves. This module is a metric module
(its source is in every user's fingerprint): an edit here re-runs the metrics that use it.
"""

from __future__ import annotations

import numpy as np

from benchmark.core.errors import UlvrError
from benchmark.metrics.base import Metric, MetricResult

MEAN_OF_FRAMES = "mean of per-frame values"


class FrameMeanMetric(Metric):
    """Collects per-frame values with `add`; compute() returns their mean under the metric's
    name, the values themselves as the per-frame curve, and `protocol()`."""

    dtype: type | None = None         # cast the values to this type first (None: as computed)
    aggregate: str | None = MEAN_OF_FRAMES   # the protocol's "aggregate" entry (None: none)

    def reset(self) -> None:
        self._values: list[np.ndarray] = []

    def add(self, values: np.ndarray) -> None:
        """Keep the values of the frames of one chunk."""
        self._values.append(values)

    def frame_values(self) -> np.ndarray:
        """Every value added so far, in frame order (an error when there are none)."""
        if not self._values:
            raise UlvrError(f"{self.name} of an empty video")
        values = np.concatenate(self._values)
        return values if self.dtype is None else values.astype(self.dtype)

    def protocol(self) -> dict:
        """How the values were computed (recorded with the result)."""
        return {}

    def compute(self) -> MetricResult:
        frames = self.frame_values()
        protocol = self.protocol()
        if self.aggregate is not None:
            protocol["aggregate"] = self.aggregate
        return MetricResult({self.name: float(frames.mean())}, {self.name: frames.tolist()},
                            protocol)
