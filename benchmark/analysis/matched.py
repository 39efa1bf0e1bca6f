"""Matched-rate tables: each entry's metrics at fixed target rates, and at the proposed
method's own rates, so that methods whose RD curves do not overlap enough for BD-rate can still
be compared where they meet.

Values are interpolated with pchip in log10(bpp) over an entry's front (`benchmark.analysis.fronts`)
for the metric and never extrapolated: a target outside the curve's range is NaN (`--`).
Per-sequence metrics are interpolated on each sequence's front and then averaged with frame
weights, only when every sequence of the dataset covers the target (the coverage is kept);
set-level metrics (FVD, KVD) are interpolated on the dataset-level front (mean bpp, pooled
value).
"""

from __future__ import annotations

from typing import TYPE_CHECKING

import numpy as np

from benchmark.analysis.uncertainty import bootstrap_ci

if TYPE_CHECKING:   # pandas and scipy load with the first table, not on `ulvr run`'s path
    from benchmark.core.pandas_setup import pd

DEFAULT_TARGETS = (0.0003, 0.001, 0.003, 0.01)


def _frame(rows: list[dict], columns: list[str]) -> pd.DataFrame:
    from benchmark.core.pandas_setup import pd

    return pd.DataFrame(rows, columns=columns)


def interpolate_at(rates: np.ndarray, values: np.ndarray, targets: np.ndarray) -> np.ndarray:
    """pchip of values over log10(rates) at the targets; NaN outside [min rate, max rate]."""
    from benchmark.analysis import pchip

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
        out[inside] = pchip.evaluate(x, y, np.log10(np.asarray(targets)[inside]))
    return out


def _front(part: pd.DataFrame | dict[str, np.ndarray], metric: str,
           front: str) -> tuple[np.ndarray, np.ndarray]:
    from benchmark.analysis.fronts import front_points

    return front_points(part, metric, front)


def _columns(part: pd.DataFrame, metrics: list[str]) -> dict[str, np.ndarray]:
    """bpp and the metrics `part` has, as float arrays: one curve's columns read once, not once
    per metric and front."""
    return {c: part[c].to_numpy(float) for c in ("bpp", *metrics) if c in part}


def per_sequence(frame: pd.DataFrame, metrics: list[str], targets: tuple[float, ...],
                 entry_col: str = "entry", front: str = "pareto") -> pd.DataFrame:
    """Long table: dataset, sequence, entry, metric, target_bpp, value (NaN if not covered),
    each interpolated on the entry's front for that metric on that sequence."""
    rows = []
    goal = np.asarray(targets, float)
    for (dataset, seq, entry), part in frame.groupby(["dataset", "sequence", entry_col]):
        curve = _columns(part, metrics)
        for metric in metrics:
            if metric not in part:
                continue
            values = interpolate_at(*_front(curve, metric, front), goal)
            rows += [{"dataset": dataset, "sequence": seq, "entry": entry, "metric": metric,
                      "target_bpp": t, "value": v, "frames": int(part["frames"].iloc[0])}
                     for t, v in zip(targets, values, strict=True)]
    return _frame(rows, ["dataset", "sequence", "entry", "metric", "target_bpp",
                         "value", "frames"])


def _weighted(values: np.ndarray, frames: np.ndarray, expected: int) -> tuple[float, int]:
    """(frame-weighted mean, sequences covered): NaN unless all `expected` have a value."""
    values, weights = np.asarray(values, float), np.asarray(frames, float)
    covered = int((~np.isnan(values)).sum())
    value = float((values * weights).sum() / weights.sum()) if covered == expected else np.nan
    return value, covered


def dataset_level(seq_values: pd.DataFrame, sequences: dict[str, int]) -> pd.DataFrame:
    """Frame-weighted mean over sequences per dataset, entry, metric and target, with the
    number of sequences that cover the target; NaN unless every one of the dataset's
    `sequences` has a value."""
    rows = []
    for (dataset, entry, metric, target), part in seq_values.groupby(
            ["dataset", "entry", "metric", "target_bpp"]):
        value, covered = _weighted(part["value"].to_numpy(float),
                                   part["frames"].to_numpy(float), sequences[dataset])
        rows.append({"dataset": dataset, "entry": entry, "metric": metric,
                     "target_bpp": target, "value": value, "covered": covered,
                     "sequences": sequences[dataset]})
    return _frame(rows, ["dataset", "entry", "metric", "target_bpp", "value", "covered",
                         "sequences"])


def set_level(rd: pd.DataFrame, metrics: list[str], targets: tuple[float, ...],
              front: str = "pareto") -> pd.DataFrame:
    """Set metrics (pooled over a dataset) interpolated on the dataset-level RD front."""
    rows = []
    goal = np.asarray(targets, float)
    for (dataset, entry), part in rd.groupby(["dataset", "method"]):
        for metric in metrics:
            if metric not in part:
                continue
            values = interpolate_at(*_front(part, metric, front), goal)
            rows += [{"dataset": dataset, "entry": entry, "metric": metric, "target_bpp": t,
                      "value": v, "covered": int(np.isfinite(v)), "sequences": 1}
                     for t, v in zip(targets, values, strict=True)]
    return _frame(rows, ["dataset", "entry", "metric", "target_bpp", "value", "covered",
                         "sequences"])


def wide(long: pd.DataFrame, metric: str) -> pd.DataFrame:
    """One metric as entries x target rates (columns named like 'bpp=0.0003')."""
    part = long[long["metric"] == metric]
    table = part.pivot(index="entry", columns="target_bpp", values="value")
    table.columns = [f"bpp={t:g}" for t in table.columns]
    return table.reset_index().rename(columns={"entry": "method"})


PROPOSED_COLUMNS = ["dataset", "sequence", "proposed_rate_point", "bpp", "entry", "metric",
                    "value", "covered", "sequences", "run", "ci_low", "ci_high"]


def not_run(part: pd.DataFrame, proposed: str) -> set[tuple[str, str]]:
    """(entry, proposed rate point) pairs where an entry that runs on the proposed method's
    rate points (its receivers: the same labels) has no record: `not run` there, as opposed
    to a rival whose front does not reach the rate (no overlap)."""
    labels = {entry: set(g["rate_point"]) for entry, g in part.groupby("entry")}
    own = labels.get(proposed, set())
    return {(entry, rp) for entry, have in labels.items() if entry != proposed and have & own
            for rp in own - have}


def at_proposed(frame: pd.DataFrame, rd: pd.DataFrame, proposed: str, seq_metrics: list[str],
                set_metrics: list[str], front: str = "pareto") -> pd.DataFrame:
    """Every entry's quality at the proposed entry's own rates (long, PROPOSED_COLUMNS).

    Per sequence and rate point of `proposed`: its own values, and every other entry's front
    interpolated (pchip in log bpp, never extrapolated) at the proposed bpp on that sequence;
    then rows with sequence "mean": the frame-weighted mean where every sequence is covered
    (else NaN), with the coverage. Set metrics (FVD, KVD) are read on the dataset-level
    fronts (`rd`: the RD table) at the proposed rate point's mean bpp.
    """
    rows = []
    for dataset, part in frame.groupby("dataset"):
        own = part[part["entry"] == proposed]
        n = part["sequence"].nunique()
        missing = not_run(part, proposed)
        seq_rows = []
        for sequence, mine in own.groupby("sequence"):   # each front once, at all its points
            points = mine.to_dict("records")
            at = np.array([r["bpp"] for r in points], dtype=float)
            for entry, other in part[part["sequence"] == sequence].groupby("entry"):
                curve = _columns(other, seq_metrics)
                for metric in seq_metrics:
                    if metric not in part:
                        continue
                    values = [float(r.get(metric, np.nan)) for r in points] \
                        if entry == proposed else \
                        interpolate_at(*_front(curve, metric, front), at).tolist()
                    seq_rows += [{"dataset": dataset, "sequence": sequence,
                                  "proposed_rate_point": r["rate_point"], "bpp": r["bpp"],
                                  "entry": entry, "metric": metric, "value": float(value),
                                  "frames": int(r["frames"])}
                                 for r, value in zip(points, values, strict=True)]
        seq_long = _frame(seq_rows, [*PROPOSED_COLUMNS[:7], "frames"])
        rows += [{**s, "covered": int(np.isfinite(s["value"])), "sequences": 1,
                  "run": (s["entry"], s["proposed_rate_point"]) not in missing,
                  "ci_low": np.nan, "ci_high": np.nan}
                 for s in seq_long.drop(columns="frames").to_dict("records")]
        mean_bpp = {rp: float((g["bpp"] * g["frames"]).sum() / g["frames"].sum())
                    for rp, g in own.groupby("rate_point")}
        for (rp, entry, metric), g in seq_long.groupby(["proposed_rate_point", "entry",
                                                        "metric"]):
            values, frames = g["value"].to_numpy(float), g["frames"].to_numpy(float)
            value, covered = _weighted(values, frames, n)
            low, high = bootstrap_ci(values, frames) if covered == n else (np.nan, np.nan)
            rows.append({"dataset": dataset, "sequence": "mean", "proposed_rate_point": rp,
                         "bpp": mean_bpp[rp], "entry": entry, "metric": metric,
                         "value": value, "covered": covered, "sequences": n,
                         "run": (entry, rp) not in missing, "ci_low": low, "ci_high": high})
        set_rd = rd[rd["dataset"] == dataset] if "dataset" in rd else rd
        mine = set_rd[set_rd["method"] == proposed]
        for r in mine.to_dict("records"):
            for entry, other in set_rd.groupby("method"):
                for metric in set_metrics:
                    if metric not in set_rd:
                        continue
                    value = float(r.get(metric, np.nan)) if entry == proposed else float(
                        interpolate_at(*_front(other, metric, front), np.array([r["bpp"]]))[0])
                    rows.append({"dataset": dataset, "sequence": "mean",
                                 "proposed_rate_point": r["rate_point"], "bpp": r["bpp"],
                                 "entry": entry, "metric": metric, "value": value,
                                 "covered": int(np.isfinite(value)), "sequences": 1,
                                 "run": (entry, r["rate_point"]) not in missing,
                                 "ci_low": np.nan, "ci_high": np.nan})
    return _frame(rows, PROPOSED_COLUMNS)
