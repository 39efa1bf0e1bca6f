"""Metrics: the metric table (`table`), the streaming protocol and registry (`base`), the
per-frame mean every frame-wise metric shares (`frame_mean`), the implementations, and the
segmenters that label-based metrics and the proposed method's sender share (`segment`).

May import: `benchmark.protocol`, `benchmark.data`, `benchmark.core`.
"""

from benchmark.metrics.base import (
                                    Metric,
                                    MetricResult,
                                    create_metric,
                                    evaluate,
                                    metric_classes,
                                    register_metric,
)

__all__ = ["Metric", "MetricResult", "create_metric", "evaluate", "metric_classes",
           "register_metric"]
