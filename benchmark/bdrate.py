"""Bjontegaard deltas (BD-rate and BD-metric) against a named anchor, for every metric.

Uses the FAU `bjontegaard` package (pchip by default, as the standardisation spreadsheets;
akima and cubic selectable). Lower-is-better metrics (LPIPS, DISTS, FVD, tOF, ...) are negated
before interpolation so the curves rise with rate; BD-rate is unchanged by that, and BD-metric
is reported in the metric's own units (negative = better for lower-is-better metrics). Curves
whose metric ranges overlap less than `min_overlap` give a warning and NaN, never a number.
"""

from __future__ import annotations

import warnings

import bjontegaard as bd
import numpy as np
import pandas as pd

from benchmark.errors import UlvrError

METHODS = ("pchip", "akima", "cubic")
MIN_POINTS = 3


def overlap(a: np.ndarray, b: np.ndarray) -> float:
    """Fraction of the joint range of two value sets that both cover."""
    total = max(a.max(), b.max()) - min(a.min(), b.min())
    common = min(a.max(), b.max()) - max(a.min(), b.min())
    return max(common, 0.0) / total if total > 0 else 0.0


def bd_pair(rate_anchor: np.ndarray, metric_anchor: np.ndarray, rate_test: np.ndarray,
            metric_test: np.ndarray, lower_is_better: bool = False, method: str = "pchip",
            min_overlap: float = 0.5) -> tuple[float, float]:
    """(BD-rate in %, BD-metric in metric units) of test vs anchor; NaN where undefined."""
    if method not in METHODS:
        raise UlvrError(f"unknown BD interpolation '{method}': use one of {', '.join(METHODS)}")
    sign = -1.0 if lower_is_better else 1.0
    ra, ma, rt, mt = (np.asarray(x, dtype=float) for x in (rate_anchor, metric_anchor,
                                                            rate_test, metric_test))
    if min(len(ra), len(rt)) < MIN_POINTS or not all(np.isfinite(x).all() for x in
                                                      (ra, ma, rt, mt)):
        return float("nan"), float("nan")
    for rates, values, who in ((ra, sign * ma, "anchor"), (rt, sign * mt, "test")):
        ordered = values[np.argsort(rates)]
        if not (np.diff(ordered) > 0).all():
            warnings.warn(f"the {who} curve is not monotonic in rate for this metric: BD value "
                          "set to NaN", stacklevel=2)
            return float("nan"), float("nan")
    rate = _checked(overlap(ma, mt), min_overlap, "metric",
                    lambda: bd.bd_rate(ra, sign * ma, rt, sign * mt, method,
                                       require_matching_points=False, min_overlap=0))
    metric = _checked(overlap(np.log10(ra), np.log10(rt)), min_overlap, "rate",
                      lambda: sign * bd.bd_psnr(ra, sign * ma, rt, sign * mt, method,
                                                require_matching_points=False, min_overlap=0))
    return rate, metric


def _checked(fraction: float, minimum: float, axis: str, compute) -> float:
    if fraction < minimum:
        warnings.warn(f"RD curves overlap {100 * fraction:.0f}% along the {axis} axis "
                      f"(< {100 * minimum:.0f}%): BD value set to NaN", stacklevel=3)
        return float("nan")
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # the package's own overlap warning: checked above
        return float(compute())


def bd_table(table: pd.DataFrame, anchor: str, metrics: list[str], lower_is_better: dict,
             rate_col: str = "bpp", method: str = "pchip", min_overlap: float = 0.5
             ) -> pd.DataFrame:
    """BD-rate and BD-metric of every method vs `anchor` per dataset, from an RD table."""
    rows = []
    for dataset, part in table.groupby("dataset"):
        base = part[part["method"] == anchor].sort_values(rate_col)
        if base.empty:
            raise UlvrError(f"anchor '{anchor}' has no results on '{dataset}': run it or name "
                            "another anchor with --anchor")
        if len(base) < MIN_POINTS:
            raise UlvrError(f"anchor '{anchor}' has {len(base)} rate points on '{dataset}'; "
                            f"BD needs at least {MIN_POINTS}")
        for method_name, test in part.groupby("method"):
            if method_name == anchor:
                continue
            test = test.sort_values(rate_col)
            row = {"dataset": dataset, "method": method_name, "anchor": anchor}
            for metric in metrics:
                if metric not in part.columns:
                    continue
                rate, delta = bd_pair(base[rate_col].values, base[metric].values,
                                      test[rate_col].values, test[metric].values,
                                      lower_is_better.get(metric, False), method, min_overlap)
                row[f"BD-rate {metric} (%)"] = rate
                row[f"BD-{metric}"] = delta
            rows.append(row)
    return pd.DataFrame(rows)
