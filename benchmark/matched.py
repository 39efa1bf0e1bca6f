"""Matched-rate tables: each entry's metrics at fixed target rates, so that methods whose RD
curves do not overlap enough for BD-rate can still be compared where they meet.

Values are interpolated with pchip in log10(bpp) over an entry's own rate points and never
extrapolated: a target outside the curve's range is NaN (`--`). Per-sequence metrics are
interpolated on each sequence's curve and then averaged with frame weights, only when every
sequence of the dataset covers the target; set-level metrics (FVD, KVD) are interpolated on the
dataset-level curve (mean bpp, pooled value).
"""

from __future__ import annotations

from typing import TYPE_CHECKING

import numpy as np

if TYPE_CHECKING:   # pandas and scipy load with the first table, not on `ulvr run`'s path
    import pandas as pd

DEFAULT_TARGETS = (0.0003, 0.001, 0.003, 0.01)


def _frame(rows: list[dict], columns: list[str]) -> pd.DataFrame:
    import pandas as pd

    return pd.DataFrame(rows, columns=columns)


def interpolate_at(rates: np.ndarray, values: np.ndarray, targets: np.ndarray) -> np.ndarray:
    """pchip of values over log10(rates) at the targets; NaN outside [min rate, max rate]."""
    from scipy.interpolate import PchipInterpolator

    rates, values = np.asarray(rates, float), np.asarray(values, float)
    keep = np.isfinite(rates) & np.isfinite(values) & (rates > 0)
    rates, values = rates[keep], values[keep]
    out = np.full(len(targets), np.nan)
    if len(rates) == 0:
        return out
    order = np.argsort(rates)
    x, y = np.log10(rates[order]), values[order]
    x, first = np.unique(x, return_index=True)   # equal rates: keep one point
    y = y[first]
    inside = (targets >= 10 ** x[0] * (1 - 1e-12)) & (targets <= 10 ** x[-1] * (1 + 1e-12))
    if len(x) == 1:
        out[inside] = y[0]
    elif inside.any():
        out[inside] = PchipInterpolator(x, y)(np.log10(np.asarray(targets)[inside]))
    return out


def per_sequence(frame: pd.DataFrame, metrics: list[str], targets: tuple[float, ...],
                 entry_col: str = "entry") -> pd.DataFrame:
    """Long table: dataset, sequence, entry, metric, target_bpp, value (NaN if not covered)."""
    rows = []
    goal = np.asarray(targets, float)
    for (dataset, seq, entry), part in frame.groupby(["dataset", "sequence", entry_col]):
        for metric in metrics:
            if metric not in part:
                continue
            values = interpolate_at(part["bpp"].to_numpy(), part[metric].to_numpy(), goal)
            rows += [{"dataset": dataset, "sequence": seq, "entry": entry, "metric": metric,
                      "target_bpp": t, "value": v, "frames": int(part["frames"].iloc[0])}
                     for t, v in zip(targets, values, strict=True)]
    return _frame(rows, ["dataset", "sequence", "entry", "metric", "target_bpp",
                                       "value", "frames"])


def dataset_level(seq_values: pd.DataFrame, sequences: dict[str, int]) -> pd.DataFrame:
    """Frame-weighted mean over sequences per dataset, entry, metric and target; NaN unless
    every one of the dataset's `sequences` has a value."""
    rows = []
    for (dataset, entry, metric, target), part in seq_values.groupby(
            ["dataset", "entry", "metric", "target_bpp"]):
        complete = part["value"].notna().sum() == sequences[dataset]
        weights = part["frames"].astype(float)
        value = float((part["value"] * weights).sum() / weights.sum()) if complete else np.nan
        rows.append({"dataset": dataset, "entry": entry, "metric": metric,
                     "target_bpp": target, "value": value})
    return _frame(rows, ["dataset", "entry", "metric", "target_bpp", "value"])


def set_level(rd: pd.DataFrame, metrics: list[str], targets: tuple[float, ...]) -> pd.DataFrame:
    """Set metrics (pooled over a dataset) interpolated on the dataset-level RD curve."""
    rows = []
    goal = np.asarray(targets, float)
    for (dataset, entry), part in rd.groupby(["dataset", "method"]):
        for metric in metrics:
            if metric not in part:
                continue
            values = interpolate_at(part["bpp"].to_numpy(), part[metric].to_numpy(), goal)
            rows += [{"dataset": dataset, "entry": entry, "metric": metric, "target_bpp": t,
                      "value": v} for t, v in zip(targets, values, strict=True)]
    return _frame(rows, ["dataset", "entry", "metric", "target_bpp", "value"])


def wide(long: pd.DataFrame, metric: str) -> pd.DataFrame:
    """One metric as entries x target rates (columns named like 'bpp=0.0003')."""
    part = long[long["metric"] == metric]
    table = part.pivot(index="entry", columns="target_bpp", values="value")
    table.columns = [f"bpp={t:g}" for t in table.columns]
    return table.reset_index().rename(columns={"entry": "method"})
