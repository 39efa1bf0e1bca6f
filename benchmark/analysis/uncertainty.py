"""Uncertainty over sequences: a percentile bootstrap 95% interval for a mean over sequences
(BD values, the proposed-rates means), and how many sequences a comparison wins.

With a handful of clips the mean of a benchmark hides how much it rests on one of them. The
interval resamples the sequences with replacement (B = 2000 resamples, a fixed seed, so reports
are reproducible) and recomputes the mean, weighted as the table's mean is (frames for the
proposed-rates table, equally for BD); the 2.5th and 97.5th percentiles bound it. With fewer
than MIN_SEQUENCES sequences the interval is too coarse to mean much, and the tables say so
where it is shown.
"""

from __future__ import annotations

import numpy as np

RESAMPLES = 2000
SEED = 20261207
MIN_SEQUENCES = 5    # fewer sequences: the tables carry a visible caveat
MIN_FVD_CLIPS = 64   # fewer clips behind an FVD: the same


def bootstrap_ci(values: np.ndarray, weights: np.ndarray | None = None,
                 resamples: int = RESAMPLES, seed: int = SEED) -> tuple[float, float]:
    """(low, high): the percentile bootstrap 95% interval of the (weighted) mean of `values`
    over sequences; NaN when a value is missing or there is only one sequence."""
    values = np.asarray(values, float)
    weights = np.ones_like(values) if weights is None else np.asarray(weights, float)
    if len(values) < 2 or not np.isfinite(values).all():
        return float("nan"), float("nan")
    rng = np.random.default_rng(seed)
    picks = rng.integers(0, len(values), size=(resamples, len(values)))
    means = (values[picks] * weights[picks]).sum(1) / weights[picks].sum(1)
    low, high = np.percentile(means, [2.5, 97.5])
    return float(low), float(high)


def wins(mine: dict[str, float], rival: dict[str, float], lower_is_better: bool
         ) -> tuple[int, int]:
    """(k, n): on how many of the n sequences both have a value for `mine` is strictly better
    than `rival`."""
    shared = [s for s in mine if s in rival and np.isfinite(mine[s]) and np.isfinite(rival[s])]
    better = sum((mine[s] < rival[s]) if lower_is_better else (mine[s] > rival[s])
                 for s in shared)
    return int(better), len(shared)


def ci_text(low: float, high: float) -> str:
    """An interval for a table cell ('' when undefined)."""
    if not (np.isfinite(low) and np.isfinite(high)):
        return ""
    return f"[{low:.3g}, {high:.3g}]"
