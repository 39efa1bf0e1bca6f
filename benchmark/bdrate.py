"""Bjontegaard deltas (BD-rate and BD-metric) against a named anchor, for every metric.

As JVET CTC and DCVC compute them, BD values are computed **per sequence** and then averaged
over the sequences (`mode="per-sequence"`, the default); the older variant on dataset-averaged
RD points stays available as `mode="averaged"` and is labelled so in every table.

Uses the FAU `bjontegaard` package (pchip by default, as the standardisation spreadsheets;
akima and cubic selectable). Lower-is-better metrics (LPIPS, DISTS, FVD, tOF, ...) are negated
before interpolation so the curves rise with rate; BD-rate is unchanged by that, and BD-metric
is reported in the metric's own units (negative = better for lower-is-better metrics). Curves
that overlap less than `min_overlap`, or are not monotonic, give NaN and a note in their row.
"""

from __future__ import annotations

import warnings
from typing import NamedTuple

import bjontegaard as bd
import numpy as np
import pandas as pd

from benchmark.errors import UlvrError
from benchmark.metrics.table import lower_is_better

METHODS = ("pchip", "akima", "cubic")
MODES = ("per-sequence", "averaged")
MIN_POINTS = 3


class BdValue(NamedTuple):
    """BD-rate (%) and BD-metric (metric units) of one test curve; `note` says why NaN."""

    rate: float
    metric: float
    note: str = ""


NAN = float("nan")


def overlap(a: np.ndarray, b: np.ndarray) -> float:
    """Fraction of the joint range of two value sets that both cover."""
    total = max(a.max(), b.max()) - min(a.min(), b.min())
    common = min(a.max(), b.max()) - max(a.min(), b.min())
    return max(common, 0.0) / total if total > 0 else 0.0


def bd_pair(rate_anchor: np.ndarray, metric_anchor: np.ndarray, rate_test: np.ndarray,
            metric_test: np.ndarray, lower_is_better: bool = False, method: str = "pchip",
            min_overlap: float = 0.5) -> BdValue:
    """BD values of test vs anchor on one pair of curves; NaN with the reason where undefined."""
    if method not in METHODS:
        raise UlvrError(f"unknown BD interpolation '{method}': use one of {', '.join(METHODS)}")
    sign = -1.0 if lower_is_better else 1.0
    ra, ma, rt, mt = (np.asarray(x, dtype=float) for x in (rate_anchor, metric_anchor,
                                                            rate_test, metric_test))
    if min(len(ra), len(rt)) < MIN_POINTS:
        return BdValue(NAN, NAN, f"fewer than {MIN_POINTS} rate points")
    if not all(np.isfinite(x).all() for x in (ra, ma, rt, mt)):
        return BdValue(NAN, NAN, "missing values")
    for rates, values, who in ((ra, sign * ma, "anchor"), (rt, sign * mt, "test")):
        ordered = values[np.argsort(rates)]
        if not (np.diff(ordered) > 0).all():
            return BdValue(NAN, NAN, f"{who} curve not monotonic in rate")
    metric_overlap, rate_overlap = overlap(ma, mt), overlap(np.log10(ra), np.log10(rt))
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # the package's own overlap warning: checked here
        rate = float(bd.bd_rate(ra, sign * ma, rt, sign * mt, method,
                                require_matching_points=False, min_overlap=0)) \
            if metric_overlap >= min_overlap else NAN
        metric = float(sign * bd.bd_psnr(ra, sign * ma, rt, sign * mt, method,
                                         require_matching_points=False, min_overlap=0)) \
            if rate_overlap >= min_overlap else NAN
    notes = [f"{axis} overlap < {100 * min_overlap:.0f}%"
             for axis, frac in (("metric", metric_overlap), ("rate", rate_overlap))
             if frac < min_overlap]
    return BdValue(rate, metric, "; ".join(notes))


Curves = dict[str, np.ndarray]   # column -> values, rows sorted by rate


def _curves(part: pd.DataFrame, columns: list[str], rate_col: str) -> Curves:
    """One curve's columns as arrays sorted by rate (sorted once, not once per metric)."""
    part = part.sort_values(rate_col, kind="stable")
    return {c: part[c].to_numpy(float) for c in columns if c in part.columns}


def _bd_over(units: list[tuple[Curves, Curves]], metric: str, rate_col: str,
             method: str, min_overlap: float) -> BdValue:
    """Mean of BD values over units (sequences, or one averaged curve); NaN unless all have one,
    with a note counting the units that had none and why."""
    values = [bd_pair(a[rate_col], a[metric], t[rate_col], t[metric],
                      lower_is_better(metric), method, min_overlap) for a, t in units]
    failed = [v.note for v in values if np.isnan(v.rate) or np.isnan(v.metric)]
    rate = float(np.mean([v.rate for v in values])) if values else NAN
    delta = float(np.mean([v.metric for v in values])) if values else NAN
    if not failed:
        return BdValue(rate, delta)
    reasons = sorted({part for note in failed for part in note.split("; ")})
    return BdValue(rate, delta, f"{metric}: no BD on {len(failed)}/{len(values)} "
                                f"{'sequences' if len(values) > 1 else 'curve'} "
                                f"({'; '.join(reasons)})")


def rate_overlap(units: list[tuple[Curves, Curves]], rate_col: str) -> float:
    """Mean share (%) of the joint log-rate range that anchor and test curves both cover: how
    far a BD value rests on interpolation inside both curves."""
    shares = [overlap(np.log10(a[rate_col]), np.log10(t[rate_col])) for a, t in units
              if len(a[rate_col]) and len(t[rate_col])]
    return 100.0 * float(np.mean(shares)) if shares else NAN


def bd_table(frame: pd.DataFrame, anchor: str, metrics: list[str], rate_col: str = "bpp",
             method: str = "pchip", min_overlap: float = 0.5, mode: str = "per-sequence",
             entry_col: str = "entry") -> pd.DataFrame:
    """BD-rate and BD-metric of every entry vs `anchor` per dataset.

    `frame` holds per-sequence rows (dataset, sequence, entry, rate point, rate, metrics) for
    mode "per-sequence", or rows of an RD table (dataset-averaged points) for "averaged".
    """
    if mode not in MODES:
        raise UlvrError(f"unknown BD mode '{mode}': use one of {', '.join(MODES)}")
    rows = []
    columns = [rate_col, *metrics]
    for dataset, part in frame.groupby("dataset"):
        base = part[part[entry_col] == anchor]
        if base.empty:
            raise UlvrError(f"anchor '{anchor}' has no results on '{dataset}': run it or name "
                            "another anchor with --anchor")
        points = base.groupby("sequence")["rate_point"].nunique().min() \
            if mode == "per-sequence" else len(base)
        if points < MIN_POINTS:
            raise UlvrError(f"anchor '{anchor}' has {points} rate points on '{dataset}'; "
                            f"BD needs at least {MIN_POINTS}")
        for name, test in part.groupby(entry_col):
            if name == anchor:
                continue
            if mode == "per-sequence":
                units = [(_curves(base[base["sequence"] == seq], columns, rate_col),
                          _curves(test[test["sequence"] == seq], columns, rate_col))
                         for seq in sorted(set(base["sequence"]))]
            else:
                units = [(_curves(base, columns, rate_col), _curves(test, columns, rate_col))]
            row = {"dataset": dataset, "method": name, "anchor": anchor, "bd_mode": mode,
                   "rate overlap (%)": rate_overlap(units, rate_col)}
            notes = []
            for metric in metrics:
                if metric not in part.columns:
                    continue
                value = _bd_over(units, metric, rate_col, method, min_overlap)
                row[f"BD-rate {metric} (%)"] = value.rate
                row[f"BD-{metric}"] = value.metric
                notes += [value.note] if value.note else []
            row["note"] = "; ".join(notes)
            rows.append(row)
    return pd.DataFrame(rows)
