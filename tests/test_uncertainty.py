"""Uncertainty over sequences: the bootstrap interval against a direct computation (every
resample enumerated), the win count, and where the BD tables carry them."""

from __future__ import annotations

import itertools

import numpy as np
import pytest

from benchmark.analysis.comparisons import Options
from benchmark.analysis.uncertainty import bootstrap_ci, wins
from benchmark.core.pandas_setup import pd
from benchmark.reporting.report import write_report
from tests.synthetic_store import record, write_store


def _exact_ci(values, weights):
    """The bootstrap distribution computed directly: every one of the n^n resamples, each
    equally likely; its 2.5th and 97.5th percentiles."""
    n = len(values)
    means = []
    for picks in itertools.product(range(n), repeat=n):
        w = np.asarray([weights[i] for i in picks])
        means.append(float(np.dot([values[i] for i in picks], w) / w.sum()))
    return np.percentile(means, [2.5, 97.5])


def test_three_sequences_bound_the_mean_by_their_extremes():
    """With 3 sequences, the resample of one sequence thrice has probability 1/27 > 2.5%:
    the interval is exactly [min, max]."""
    assert bootstrap_ci(np.array([-30.0, -10.0, 5.0])) == (-30.0, 5.0)


@pytest.mark.parametrize("weights", [None, [32, 16, 16, 48, 8]])
def test_the_bootstrap_matches_the_enumerated_distribution(weights):
    values = np.array([-31.0, -22.0, -18.5, -4.0, 7.5])
    w = np.ones(5) if weights is None else np.asarray(weights, float)
    low, high = bootstrap_ci(values, None if weights is None else w, resamples=20000)
    exact_low, exact_high = _exact_ci(values, w)
    assert low == pytest.approx(exact_low, abs=1.0)
    assert high == pytest.approx(exact_high, abs=1.0)
    assert low < np.average(values, weights=w) < high


def test_undefined_without_two_finite_values_and_wins_count_strictly_better():
    assert all(np.isnan(bootstrap_ci(np.array([1.0]))))
    assert all(np.isnan(bootstrap_ci(np.array([1.0, np.nan]))))
    assert wins({"a": 0.2, "b": 0.5, "c": 0.3}, {"a": 0.3, "b": 0.4, "c": 0.3}, True) == (1, 3)
    assert wins({"a": 30.0}, {"a": 29.0, "b": 1.0}, False) == (1, 1)


def test_bd_tables_carry_the_interval_and_the_wins(tmp_path):
    recs = []
    for seq, shift in (("a", 1.2), ("b", 1.5)):
        for i, bpp in enumerate((0.001, 0.002, 0.004, 0.008)):
            recs.append(record("anchor", seq, f"p{i}", bpp, {"psnr-rgb": 30.0 + 3 * i}))
            recs.append(record("better", seq, f"p{i}", bpp / shift, {"psnr-rgb": 30.0 + 3 * i}))
    write_report(write_store(tmp_path / "s", recs), tmp_path / "rep",
                 options=Options(anchors=("anchor",)), rates=("total",))
    bd = pd.read_csv(tmp_path / "rep" / "bd_table_toy.csv").set_index("method")
    cells = pd.read_csv(tmp_path / "rep" / "bd_table_toy_per_sequence.csv")
    per_seq = cells[(cells["method"] == "better") & (cells["metric"] == "psnr-rgb")]["bd_rate"]
    row = bd.loc["better"]
    assert row["BD-rate psnr-rgb CI95 low"] == pytest.approx(per_seq.min())
    assert row["BD-rate psnr-rgb CI95 high"] == pytest.approx(per_seq.max())
    assert row["BD-rate psnr-rgb wins"] == "2/2"
    md = (tmp_path / "rep" / "bd_table_toy.md").read_text()
    assert "BD-rate psnr-rgb CI95" in md and "fewer than 5" in md
