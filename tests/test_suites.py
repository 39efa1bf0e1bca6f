"""Named suites (benchmark/suites.py): every label exists, the demo is a subset of the full
suite job by job, the full suite is what the reference results hold, and the CLI refuses a
suite mixed with --methods."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from benchmark.cli import main
from benchmark.errors import UlvrError
from benchmark.manifest import load_dataset
from benchmark.runner import plan_jobs
from benchmark.suites import SUITES, get_suite

REFERENCE = Path(__file__).resolve().parents[1] / "results" / "reference" / "embedded"


def _keys(name: str) -> set[tuple[str, str, str, str]]:
    """(method, sequence, rate point, job key) of every job of a suite on the embedded set."""
    suite = get_suite(name)
    sequences = list(load_dataset("embedded").sequences)
    return {(job.method, job.sequence.name, job.rate_point.label, job.key)
            for method in suite.methods
            for job in plan_jobs(sequences, [method], ("psnr",),
                                 rate_points=suite.rate_points(method))}


def test_every_suite_plans_and_demo_is_a_subset_of_full() -> None:
    """plan_jobs checks every label against the method's points; the demo's jobs (their keys)
    are the full suite's, so a demo store is comparable with the reference job by job."""
    demo, full = _keys("demo"), _keys("full")
    assert demo < full
    assert {m for m, *_ in demo} == {m for m, *_ in full} == set(SUITES["full"].methods)
    assert len(demo) == 117   # 102 + the five codecs' downscale-by-2 points on 3 clips


def test_full_suite_is_what_the_reference_holds() -> None:
    """The committed reference results are exactly the full suite's jobs."""
    records = [json.loads(p.read_text()) for p in REFERENCE.glob("records/**/*.json")]
    held = {(r["method"], r["sequence"], r["rate_point"]["label"]) for r in records}
    assert held == {(m, s, rp) for m, s, rp, _ in _keys("full")}


def test_unknown_suite_and_suite_with_methods_are_refused(tmp_path: Path,
                                                          capsys: pytest.CaptureFixture) -> None:
    with pytest.raises(UlvrError, match="unknown suite 'nope'"):
        get_suite("nope")
    assert main(["run", "--suite", "demo", "--methods", "x264", "--out", str(tmp_path)]) == 2
    assert "drop --methods" in capsys.readouterr().err
    assert not (tmp_path / "records").exists()
