"""BD-rate against the bjontegaard package's own numbers and hand-computed cases."""

from __future__ import annotations

import bjontegaard as bd
import numpy as np
import pytest

from benchmark.analysis.bdrate import bd_pair, bd_table
from benchmark.core.pandas_setup import pd

RATE = np.array([100.0, 200.0, 400.0, 800.0])
PSNR = np.array([30.0, 33.0, 35.5, 37.5])


def test_matches_package_numbers():
    rate_t, psnr_t = RATE * 0.9, PSNR + 0.1
    for method in ("pchip", "akima", "cubic"):
        ours, delta = bd_pair(RATE, PSNR, rate_t, psnr_t, method=method)[:2]
        assert ours == pytest.approx(bd.bd_rate(RATE, PSNR, rate_t, psnr_t, method))
        assert delta == pytest.approx(bd.bd_psnr(RATE, PSNR, rate_t, psnr_t, method))


def test_constant_rate_factor_gives_that_factor():
    rate, delta = bd_pair(RATE, PSNR, RATE * 0.8, PSNR)[:2]
    assert rate == pytest.approx(-20.0, abs=1e-9)
    assert delta > 0


def test_lower_is_better_sign():
    lpips = np.array([0.40, 0.30, 0.22, 0.16])
    # test reaches the same LPIPS with 30% fewer bits: BD-rate -30%, BD-LPIPS negative (better)
    rate, delta = bd_pair(RATE, lpips, RATE * 0.7, lpips, lower_is_better=True)[:2]
    assert rate == pytest.approx(-30.0, abs=1e-9)
    assert delta < 0
    worse_rate, worse_delta = bd_pair(RATE, lpips, RATE * 1.5, lpips,
                                      lower_is_better=True)[:2]
    assert worse_rate == pytest.approx(50.0, abs=1e-9) and worse_delta > 0


def test_no_overlap_gives_nan_and_warning():
    value = bd_pair(RATE, PSNR, RATE, PSNR + 20)
    assert np.isnan(value.rate) and "shared quality range 0%" in value.note
    assert value.quality_share == 0.0 and value.rate_share == 1.0


def test_bd_table_and_short_anchor():
    rows = [{"dataset": "d", "sequence": "s", "entry": m, "rate_point": f"p{i}", "bpp": r * f,
             "psnr-rgb": p}
            for m, f in (("anchor", 1.0), ("new", 0.5))
            for i, (r, p) in enumerate(zip(RATE, PSNR, strict=True))]
    table = bd_table(pd.DataFrame(rows), "anchor", ["psnr-rgb"])
    assert table.iloc[0]["BD-rate psnr-rgb (%)"] == pytest.approx(-50.0)
    short = bd_table(pd.DataFrame(rows[:2] + rows[4:]), "anchor", ["psnr-rgb"]).iloc[0]
    assert np.isnan(short["BD-rate psnr-rgb (%)"])
    assert "anchor has 2 front point(s), BD needs 3" in short["BD-rate psnr-rgb why --"]


def test_non_monotonic_curve_gives_nan():
    rate, delta, note = bd_pair(RATE, PSNR, RATE, np.array([30.0, 29.0, 35.0, 36.0]))[:3]
    assert np.isnan(rate) and np.isnan(delta) and "not monotonic" in note


def test_pchip_integral_matches_scipy_and_the_package_on_random_curves():
    """benchmark.analysis.pchip (BD's integral and the matched tables' interpolation) against
    SciPy's PchipInterpolator and
    the bjontegaard package, on random monotone curves of 3-8 points with partial overlap."""
    import warnings

    from scipy.interpolate import PchipInterpolator

    from benchmark.analysis import pchip

    rng = np.random.default_rng(7)
    for _ in range(300):
        n, k = rng.integers(3, 9, size=2)   # BD needs 3 points a curve
        x = np.sort(rng.uniform(0, 10, n)) + np.arange(n) * 1e-3
        y = rng.normal(size=n).cumsum() * rng.choice([-1, 1])
        lo, hi = np.sort(rng.uniform(x[0], x[-1], 2))
        assert pchip.integral(x, y, lo, hi) == pytest.approx(
            PchipInterpolator(x, y).integrate(lo, hi), rel=1e-9, abs=1e-12)
        at = np.concatenate([x, rng.uniform(x[0], x[-1], 5)])   # knots and between them
        np.testing.assert_allclose(pchip.evaluate(x, y, at), PchipInterpolator(x, y)(at),
                                   rtol=1e-9, atol=1e-12)
        ra = np.sort(rng.uniform(1, 100, n)) * 1e-3
        rt = np.sort(rng.uniform(1, 100, k)) * 1e-3
        ma, mt = np.sort(rng.uniform(20, 40, n)), np.sort(rng.uniform(20, 40, k))
        if len(set(ma)) < n or len(set(mt)) < k:
            continue
        ours, delta = bd_pair(ra, ma, rt, mt, method="pchip", min_overlap=0)[:2]
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")   # the package warns on curves that do not meet
            want_rate = bd.bd_rate(ra, ma, rt, mt, "pchip", require_matching_points=False,
                                   min_overlap=0)
            want_delta = bd.bd_psnr(ra, ma, rt, mt, "pchip", require_matching_points=False,
                                    min_overlap=0)
        assert ours == pytest.approx(want_rate, rel=1e-9, abs=1e-9, nan_ok=True)
        assert delta == pytest.approx(want_delta, rel=1e-9, abs=1e-9, nan_ok=True)

