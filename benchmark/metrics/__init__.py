"""Metrics: registry, streaming protocol and implementations (see `base`)."""

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
