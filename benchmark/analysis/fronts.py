"""RD fronts: the rate points of an entry that define its curve for one metric.

A method with several configurations per rate (quantiser x downscale x temporal interval) is
compared on its best configuration at each rate, as the AV2 common test conditions and Netflix's
dynamic optimizer do (the hull over resolutions). Per dataset, sequence, entry and metric:
- `pareto` (the default): a point stays unless another point has no more bits and a value no
  worse, one of the two strictly; of identical points the first (by rate point label) stays;
- `hull`: the Pareto points on the upper convex hull in (log10 rate, quality);
- `none`: every point (the raw curve; BD then needs it to be monotonic by itself).
Dominated points stay in the RD table, marked; they just do not define the curve. On a front,
quality rises strictly with rate, which is what pchip (BD, matched rates) needs.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

import numpy as np

from benchmark.core.errors import UlvrError
from benchmark.metrics.table import lower_is_better

if TYPE_CHECKING:   # pandas loads with the first table, not on `ulvr run`'s path
    from collections.abc import Mapping

    from benchmark.core.pandas_setup import pd

FRONTS = ("pareto", "hull", "none")
DEFAULT_FRONT = "pareto"
FOOTER = {
    "pareto": "Curves are per-metric Pareto fronts: per sequence, entry and metric, a rate "
              "point counts unless another point of the entry has no more bits and a value no "
              "worse (one strictly).",
    "hull": "Curves are per-metric upper convex hulls in (log rate, quality) of each entry's "
            "Pareto front, per sequence and metric.",
    "none": "Curves are every rate point of an entry (no front taken).",
}


def check_front(how: str) -> str:
    """`how` if it names a front, else a one-line error naming the valid ones."""
    if how not in FRONTS:
        raise UlvrError(f"unknown front '{how}': use one of {', '.join(FRONTS)}")
    return how


def _pareto(x: np.ndarray, y: np.ndarray) -> np.ndarray:
    """Mask of the non-dominated points of (rate x, higher-is-better y); finite inputs."""
    order = np.lexsort((np.arange(len(x)), -y, x))   # by rate, then best value, then input order
    keep = np.zeros(len(x), bool)
    best = -np.inf
    for i in order:
        if y[i] > best:
            keep[i], best = True, y[i]
    return keep


def _upper_hull(x: np.ndarray, y: np.ndarray, keep: np.ndarray) -> np.ndarray:
    """The kept points that lie on the upper convex hull of (log10 x, y)."""
    idx = [i for i in np.argsort(x) if keep[i]]
    lx = np.log10(x)
    hull: list[int] = []
    for i in idx:
        while len(hull) >= 2:
            a, b = hull[-2], hull[-1]
            cross = (lx[b] - lx[a]) * (y[i] - y[a]) - (y[b] - y[a]) * (lx[i] - lx[a])
            if cross >= 0:      # b lies on or below the chord a-i: not on the upper hull
                hull.pop()
            else:
                break
        hull.append(i)
    out = np.zeros(len(x), bool)
    out[hull] = True
    return out


def front_mask(rates: np.ndarray, values: np.ndarray, lower_better: bool = False,
               how: str = DEFAULT_FRONT) -> np.ndarray:
    """Which points define the curve; points with a missing value or rate never do."""
    rates, values = np.asarray(rates, float), np.asarray(values, float)
    ok = np.isfinite(rates) & np.isfinite(values) & (rates > 0)
    out = np.zeros(len(rates), bool)
    if not ok.any():
        return out
    if check_front(how) == "none":
        return ok
    x, y = rates[ok], -values[ok] if lower_better else values[ok]
    keep = _pareto(x, y)
    if how == "hull":
        keep = _upper_hull(x, y, keep)
    out[np.flatnonzero(ok)] = keep
    return out


def on_front(frame: pd.DataFrame, metric: str, how: str = DEFAULT_FRONT,
             rate_col: str = "bpp", by: tuple[str, ...] = ("dataset", "sequence", "entry"),
             ) -> pd.Series:
    """Boolean Series over `frame`'s rows: the row is on its group's front for `metric`
    (groups: `by`; rows without the metric are not)."""
    from benchmark.core.pandas_setup import pd

    mask = pd.Series(False, index=frame.index)
    if metric not in frame.columns or frame.empty:
        return mask
    lower = lower_is_better(metric)
    for _, part in frame.groupby(list(by), sort=False):
        mask[part.index] = front_mask(part[rate_col].to_numpy(float),
                                      part[metric].to_numpy(float), lower, how)
    return mask


def front_points(frame: pd.DataFrame | Mapping[str, np.ndarray], metric: str,
                 how: str = DEFAULT_FRONT, rate_col: str = "bpp") -> tuple[np.ndarray, np.ndarray]:
    """(rates, values) of one curve's front for `metric`, sorted by rate; `frame` is a
    DataFrame or its columns as arrays (callers that read many curves extract them once)."""
    rates = np.asarray(frame[rate_col], float)
    values = np.asarray(frame[metric], float) if metric in frame else np.full(len(rates), np.nan)
    keep = front_mask(rates, values, lower_is_better(metric), how)
    order = np.argsort(rates[keep], kind="stable")
    return rates[keep][order], values[keep][order]


def dominated_label(frame: pd.DataFrame, metrics: list[str], how: str = DEFAULT_FRONT,
                    rate_col: str = "bpp", by: tuple[str, ...] = ("dataset", "method"),
                    ) -> list[str]:
    """Per row of an RD table: the metrics for which the point is off its entry's front
    ("all" when off every front with a value, "" when on all of them)."""
    masks = {m: on_front(frame, m, how, rate_col, by) for m in metrics if m in frame.columns}
    from benchmark.core.pandas_setup import pd

    values = {m: pd.to_numeric(frame[m], errors="coerce") for m in masks}
    out = []
    for i in frame.index:
        with_value = [m for m in masks if np.isfinite(values[m][i])]
        off = [m for m in with_value if not masks[m][i]]
        out.append("all" if off and len(off) == len(with_value) else ",".join(off))
    return out
