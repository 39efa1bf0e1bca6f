"""Bjontegaard deltas (BD-rate and BD-metric) against a named anchor, on RD fronts.

As JVET CTC and DCVC compute them, BD values are computed **per sequence** and then averaged
over the sequences (`mode="per-sequence"`, the default); the older variant on dataset-averaged
RD points stays available as `mode="averaged"` and is labelled so in every table. Each curve is
the entry's front for the metric (`benchmark.analysis.fronts`: Pareto by default), so a method with
several configurations per rate is compared on its best one at each rate.

Uses the FAU `bjontegaard` package (pchip by default, as the standardisation spreadsheets;
akima and cubic selectable), which integrates over the interval both curves cover: quality for
BD-rate, log rate for BD-metric. That shared interval must cover at least `min_overlap` of the
**shorter** curve's range; every value carries its interval and share, and every NaN its
reason. Nothing is extrapolated. Lower-is-better metrics (LPIPS, DISTS, FVD, tOF, ...) are
negated before interpolation so the curves rise with rate; BD-rate is unchanged by that, and
BD-metric is in the metric's own units (negative = better for lower-is-better metrics).
"""

from __future__ import annotations

import math
import warnings
from typing import NamedTuple

import numpy as np

from benchmark.analysis import pchip
from benchmark.analysis.fronts import DEFAULT_FRONT, check_front, front_points
from benchmark.analysis.uncertainty import bootstrap_ci
from benchmark.core.errors import UlvrError
from benchmark.core.pandas_setup import pd
from benchmark.metrics.table import lower_is_better

METHODS = ("pchip", "akima", "cubic")
MODES = ("per-sequence", "averaged")
MIN_POINTS = 3
NAN = float("nan")


class BdValue(NamedTuple):
    """BD-rate (%) and BD-metric (metric units) of one test curve against one anchor curve,
    with the shared interval each was computed over and its share of the shorter curve's
    range; `note` says why a value is NaN."""

    rate: float
    metric: float
    note: str = ""
    quality_interval: tuple[float, float] = (NAN, NAN)   # metric units (BD-rate)
    quality_share: float = NAN                           # of the shorter curve's range
    rate_interval: tuple[float, float] = (NAN, NAN)      # rate units (BD-metric)
    rate_share: float = NAN


def shared_interval(a: np.ndarray, b: np.ndarray) -> tuple[float, float, float]:
    """(low, high, share): the interval both value sets cover and its share of the shorter
    set's range (0 when they do not meet, or when the shorter range is a single value)."""
    low, high = max(a.min(), b.min()), min(a.max(), b.max())
    shorter = min(np.ptp(a), np.ptp(b))
    share = max(high - low, 0.0) / shorter if shorter > 0 else 0.0
    return float(low), float(high), float(min(share, 1.0))


def bd_pair(rate_anchor: np.ndarray, metric_anchor: np.ndarray, rate_test: np.ndarray,
            metric_test: np.ndarray, lower_is_better: bool = False, method: str = "pchip",
            min_overlap: float = 0.5) -> BdValue:
    """BD values of test vs anchor on one pair of curves (fronts: quality rising strictly with
    rate); NaN with the reason where undefined."""
    if method not in METHODS:
        raise UlvrError(f"unknown BD interpolation '{method}': use one of {', '.join(METHODS)}")
    sign = -1.0 if lower_is_better else 1.0
    ra, ma, rt, mt = (np.asarray(x, dtype=float) for x in (rate_anchor, metric_anchor,
                                                            rate_test, metric_test))
    for rates, who in ((ra, "anchor"), (rt, "test")):
        if len(rates) < MIN_POINTS:
            return BdValue(NAN, NAN, f"{who} has {len(rates)} front point(s), BD needs "
                                     f"{MIN_POINTS}")
    if not all(np.isfinite(x).all() for x in (ra, ma, rt, mt)):
        return BdValue(NAN, NAN, "missing values")
    for rates, values, who in ((ra, sign * ma, "anchor"), (rt, sign * mt, "test")):
        ordered = values[np.argsort(rates)]
        if not (np.diff(ordered) > 0).all():
            return BdValue(NAN, NAN, f"{who} curve not monotonic in rate")
    q_lo, q_hi, q_share = shared_interval(ma, mt)
    r_lo, r_hi, r_share = shared_interval(np.log10(ra), np.log10(rt))
    rate = _bd_rate(ra, sign * ma, rt, sign * mt, method) if q_share >= min_overlap else NAN
    metric = sign * _bd_metric(ra, sign * ma, rt, sign * mt, method) \
        if r_share >= min_overlap else NAN
    notes = [f"shared {axis} range {100 * share:.0f}% of the shorter curve's "
             f"(< {100 * min_overlap:.0f}%)"
             for axis, share in (("quality", q_share), ("rate", r_share)) if share < min_overlap]
    return BdValue(rate, metric, "; ".join(notes), (q_lo, q_hi), q_share,
                   (10 ** r_lo, 10 ** r_hi), r_share)


def _bd_rate(ra: np.ndarray, ma: np.ndarray, rt: np.ndarray, mt: np.ndarray,
             method: str) -> float:
    """BD-rate (%): the mean log-rate difference over the shared quality interval. PCHIP is
    integrated here (benchmark.analysis.pchip, the package's numbers to 1e-9); the others by
    the bjontegaard package."""
    if method == "pchip":
        return float((10 ** pchip.bd_linear(ma, np.log10(ra), mt, np.log10(rt)) - 1) * 100)
    import bjontegaard as bd  # imports matplotlib: only for the other interpolations

    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # the package's own overlap warning: checked here
        return float(bd.bd_rate(ra, ma, rt, mt, method, require_matching_points=False,
                                min_overlap=0))


def _bd_metric(ra: np.ndarray, ma: np.ndarray, rt: np.ndarray, mt: np.ndarray,
               method: str) -> float:
    """BD-metric: the mean quality difference over the shared log-rate interval."""
    if method == "pchip":
        return pchip.bd_linear(np.log10(ra), ma, np.log10(rt), mt)
    import bjontegaard as bd

    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        return float(bd.bd_psnr(ra, ma, rt, mt, method, require_matching_points=False,
                                min_overlap=0))


def parse_range(text: str | None) -> tuple[float, float] | None:
    """`LO:HI` (rates, either side may be empty) as a pair, or None for no restriction."""
    if not text:
        return None
    try:
        lo, hi = text.split(":")
        low, high = float(lo) if lo else 0.0, float(hi) if hi else math.inf
    except ValueError:
        raise UlvrError(f"--bd-range '{text}': give LO:HI in the rate's units, e.g. "
                        "0.0001:0.003") from None
    if not 0 <= low < high:
        raise UlvrError(f"--bd-range '{text}': LO must be below HI and not negative")
    return low, high


def _curve(part: pd.DataFrame | dict[str, np.ndarray], metric: str, rate_col: str, front: str,
           bd_range: tuple[float, float] | None) -> tuple[np.ndarray, np.ndarray]:
    """One curve's front for `metric`, restricted to the rate regime `bd_range`."""
    rates, values = front_points(part, metric, front, rate_col)
    if bd_range is not None:
        keep = (rates >= bd_range[0]) & (rates <= bd_range[1])
        rates, values = rates[keep], values[keep]
    return rates, values


def _by_sequence(frame: pd.DataFrame, columns: list[str]) -> dict[str, dict[str, np.ndarray]]:
    """A curve's rows per sequence as float arrays of `columns` (extracted once, not per
    metric)."""
    return {seq: {c: g[c].to_numpy(float) for c in columns}
            for seq, g in frame.groupby("sequence")}


def bd_cells(frame: pd.DataFrame, anchor: str, metrics: list[str], rate_col: str = "bpp",
             method: str = "pchip", min_overlap: float = 0.5, entry_col: str = "entry",
             front: str = DEFAULT_FRONT,
             bd_range: tuple[float, float] | None = None) -> pd.DataFrame:
    """Long table of BD values per dataset, sequence, entry and metric against `anchor`, each
    on the two fronts: the cells that `bd_table` averages."""
    if method not in METHODS:
        raise UlvrError(f"unknown BD interpolation '{method}': use one of {', '.join(METHODS)}")
    check_front(front)
    rows = []
    wanted = [rate_col, *(m for m in metrics if m in frame.columns)]
    empty = {c: np.array([], float) for c in wanted}
    for dataset, part in frame.groupby("dataset"):
        sequences = sorted(set(part["sequence"]))
        base = _by_sequence(part[part[entry_col] == anchor], wanted)
        anchor_curves: dict[tuple[str, str], tuple[np.ndarray, np.ndarray]] = {}
        for name, test in part.groupby(entry_col):
            if name == anchor:
                continue
            tests = _by_sequence(test, wanted)
            for seq in sequences:
                a, t = base.get(seq, empty), tests.get(seq, empty)
                for metric in metrics:
                    if metric not in part.columns:
                        continue
                    if (seq, metric) not in anchor_curves:   # the same for every entry
                        anchor_curves[seq, metric] = _curve(a, metric, rate_col, front, bd_range)
                    value = bd_pair(*anchor_curves[seq, metric],
                                    *_curve(t, metric, rate_col, front, bd_range),
                                    lower_is_better(metric), method, min_overlap)
                    rows.append({"dataset": dataset, "sequence": seq, "method": name,
                                 "anchor": anchor, "metric": metric, "bd_rate": value.rate,
                                 "bd_metric": value.metric,
                                 "quality_low": value.quality_interval[0],
                                 "quality_high": value.quality_interval[1],
                                 "quality_share": value.quality_share,
                                 "rate_low": value.rate_interval[0],
                                 "rate_high": value.rate_interval[1],
                                 "rate_share": value.rate_share, "note": value.note})
    columns = ["dataset", "sequence", "method", "anchor", "metric", "bd_rate", "bd_metric",
               "quality_low", "quality_high", "quality_share", "rate_low", "rate_high",
               "rate_share", "note"]
    return pd.DataFrame(rows, columns=columns)


Cells = dict[str, np.ndarray]   # one (dataset, entry, metric) group of bd_cells, by column


def _interval(cells: Cells, low: str, high: str) -> str:
    """Each sequence's interval, as text for a CSV cell."""
    return "; ".join(f"{name}: {a:.4g}-{b:.4g}" if np.isfinite(a) else f"{name}: none"
                     for name, a, b in zip(cells["sequence"].tolist(), cells[low].tolist(),
                                           cells[high].tolist(), strict=True))


def _mean(cells: Cells, column: str, reason_of: str) -> tuple[float, str]:
    """Mean of a BD column over sequences: NaN unless every sequence has a value, with a
    note counting those without one and why."""
    values = cells[column].astype(float)
    if len(values) and np.isfinite(values).all():
        return float(values.mean()), ""
    failed = ~np.isfinite(values)
    reasons = sorted({p for note in cells["note"][failed] for p in str(note).split("; ") if p})
    unit = "sequences" if len(values) > 1 else "curve"
    return NAN, (f"{reason_of}: no value on {int(failed.sum())}/{len(values)} {unit} "
                 f"({'; '.join(reasons) or 'no shared interval'})")


def _least(values: np.ndarray) -> float:
    """The smallest value that is not NaN (NaN when none is), as pandas' min."""
    values = values.astype(float)
    values = values[~np.isnan(values)]
    return float(values.min()) if len(values) else NAN


def _groups(cells: pd.DataFrame) -> dict[tuple[str, str, str], Cells]:
    """bd_cells' rows grouped by (dataset, entry, metric), each group as NumPy columns in row
    order: the summary reads a few thousand small groups, which pandas indexing made slow."""
    columns = {c: cells[c].to_numpy() for c in cells.columns}
    index: dict[tuple[str, str, str], list[int]] = {}
    for i, key in enumerate(zip(columns["dataset"].tolist(), columns["method"].tolist(),
                                columns["metric"].tolist(), strict=True)):
        index.setdefault(key, []).append(i)
    return {key: {c: v[rows] for c, v in columns.items()} for key, rows in index.items()}


def bd_table(frame: pd.DataFrame, anchor: str, metrics: list[str], rate_col: str = "bpp",
             method: str = "pchip", min_overlap: float = 0.5, mode: str = "per-sequence",
             entry_col: str = "entry", front: str = DEFAULT_FRONT,
             bd_range: tuple[float, float] | None = None) -> pd.DataFrame:
    """BD-rate and BD-metric of every entry vs `anchor` per dataset: the mean over sequences
    of the per-sequence values on fronts, each with its per-sequence intervals and the
    smallest share of the shorter curve's range.

    `frame` holds per-sequence rows (dataset, sequence, entry, rate point, rate, metrics) for
    mode "per-sequence", or rows of an RD table (dataset-averaged points) for "averaged".
    """
    if mode not in MODES:
        raise UlvrError(f"unknown BD mode '{mode}': use one of {', '.join(MODES)}")
    if mode == "averaged":
        frame = frame.assign(sequence="(all)")
    cells = bd_cells(frame, anchor, metrics, rate_col, method, min_overlap, entry_col, front,
                     bd_range)
    return summarise_cells(cells, anchor, metrics, mode, front, rate_col)


def summarise_cells(cells: pd.DataFrame, anchor: str, metrics: list[str],
                    mode: str = "per-sequence", front: str = DEFAULT_FRONT,
                    rate_col: str = "bpp") -> pd.DataFrame:
    """`bd_table` from `bd_cells`' cells, for a caller that also keeps the cells (the report
    writes both), so they are computed once."""
    rows = []
    groups = _groups(cells)
    for dataset, name in sorted({key[:2] for key in groups}):
        row = {"dataset": dataset, "method": name, "anchor": anchor, "bd_mode": mode,
               "front": front}
        notes = []
        for metric in metrics:
            own = groups.get((dataset, name, metric))
            if own is None:
                continue
            row[f"BD-rate {metric} (%)"], note_r = _mean(own, "bd_rate", f"BD-rate {metric}")
            row[f"BD-{metric}"], note_m = _mean(own, "bd_metric", f"BD-{metric}")
            # the spread over sequences: a bootstrap 95% interval of the mean, and the count
            # of sequences on which the entry beats the anchor
            for column, value in ((f"BD-rate {metric}", "bd_rate"), (f"BD-{metric}", "bd_metric")):
                values = own[value].astype(float)
                row[f"{column} CI95 low"], row[f"{column} CI95 high"] = bootstrap_ci(values)
            better = own["bd_rate"].astype(float)
            row[f"BD-rate {metric} wins"] = (f"{int((better < 0).sum())}/{len(better)}"
                                             if np.isfinite(better).all() else "")
            row[f"BD-rate {metric} interval"] = _interval(own, "quality_low", "quality_high")
            row[f"BD-rate {metric} share (%)"] = 100 * _least(own["quality_share"])
            row[f"BD-{metric} interval ({rate_col})"] = _interval(own, "rate_low", "rate_high")
            row[f"BD-{metric} share (%)"] = 100 * _least(own["rate_share"])
            row[f"BD-rate {metric} why --"], row[f"BD-{metric} why --"] = note_r, note_m
            notes += [n for n in (note_r, note_m) if n]
        row["note"] = "; ".join(notes)
        rows.append(row)
    return pd.DataFrame(rows)
