"""The area under a PCHIP curve (Fritsch-Carlson slopes, as SciPy's PchipInterpolator) in plain
NumPy: BD's integral without building an interpolator object, which was most of a report's
BD time. `tests/test_bdrate.py` checks it against the bjontegaard package and SciPy."""

from __future__ import annotations

import numpy as np


def _edge_slope(h0: float, h1: float, m0: float, m1: float) -> float:
    """The end slope of the one-sided three-point formula, shape-preserving (SciPy's rule)."""
    d = ((2 * h0 + h1) * m0 - h0 * m1) / (h0 + h1)
    if np.sign(d) != np.sign(m0):
        return 0.0
    if np.sign(m0) != np.sign(m1) and abs(d) > abs(3 * m0):
        return 3 * m0
    return d


def slopes(x: np.ndarray, y: np.ndarray) -> np.ndarray:
    """The PCHIP derivative at each knot (x strictly increasing, at least 2 points)."""
    h = np.diff(x)
    m = np.diff(y) / h
    if len(x) == 2:
        return np.array([m[0], m[0]])
    d = np.zeros_like(y, dtype=float)
    w1, w2 = 2 * h[1:] + h[:-1], h[1:] + 2 * h[:-1]
    flat = (np.sign(m[1:]) != np.sign(m[:-1])) | (m[1:] == 0) | (m[:-1] == 0)
    with np.errstate(divide="ignore", invalid="ignore"):
        harmonic = (w1 / m[:-1] + w2 / m[1:]) / (w1 + w2)
        d[1:-1] = np.where(flat, 0.0, 1.0 / harmonic)
    d[0] = _edge_slope(h[0], h[1], m[0], m[1])
    d[-1] = _edge_slope(h[-1], h[-2], m[-1], m[-2])
    return d


def _pieces(x: np.ndarray, y: np.ndarray) -> tuple[np.ndarray, ...]:
    """Knots sorted, and each piece as c0 + c1 s + c2 s^2 + c3 s^3 in s = t - x[k]."""
    order = np.argsort(x)
    x, y = np.asarray(x, float)[order], np.asarray(y, float)[order]
    d, h = slopes(x, y), np.diff(x)
    m = np.diff(y) / h
    return (x, y[:-1], d[:-1], (3 * m - 2 * d[:-1] - d[1:]) / h,
            (d[:-1] + d[1:] - 2 * m) / h ** 2)


def evaluate(x: np.ndarray, y: np.ndarray, targets: np.ndarray) -> np.ndarray:
    """The PCHIP through (x, y) at `targets` (inside [x[0], x[-1]]; at least 2 knots)."""
    x, c0, c1, c2, c3 = _pieces(x, y)
    t = np.asarray(targets, float)
    k = np.clip(np.searchsorted(x, t, side="right") - 1, 0, len(x) - 2)
    s = t - x[k]
    return c0[k] + s * (c1[k] + s * (c2[k] + s * c3[k]))


def integral(x: np.ndarray, y: np.ndarray, low: float, high: float) -> float:
    """The integral from `low` to `high` (inside [x[0], x[-1]]) of the PCHIP through (x, y)."""
    x, c0, c1, c2, c3 = _pieces(x, y)
    a = np.clip(low, x[:-1], x[1:]) - x[:-1]
    b = np.clip(high, x[:-1], x[1:]) - x[:-1]

    def antiderivative(s: np.ndarray) -> np.ndarray:
        return s * (c0 + s * (c1 / 2 + s * (c2 / 3 + s * c3 / 4)))

    return float(np.sum(antiderivative(b) - antiderivative(a)))


def bd_linear(base_anchor: np.ndarray, value_anchor: np.ndarray, base_test: np.ndarray,
              value_test: np.ndarray) -> float:
    """The mean difference test - anchor of the PCHIP curves over their shared base interval
    (the bjontegaard package's bd_linear with method 'pchip'); NaN when they do not meet."""
    low = max(np.min(base_anchor), np.min(base_test))
    high = min(np.max(base_anchor), np.max(base_test))
    if not high > low:
        return float("nan")
    area = integral(base_test, value_test, low, high) - integral(base_anchor, value_anchor,
                                                                 low, high)
    return area / (high - low)
