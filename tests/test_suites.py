"""Named suites (benchmark/execution/suites.py): every label exists, the demo is a subset of the
full suite job by job, the full suite is what the reference results hold, and the CLI refuses a
suite mixed with --methods."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from baselines.classical import make_rate_point
from benchmark.cli import main
from benchmark.core.errors import UlvrError
from benchmark.data.manifest import load_dataset
from benchmark.execution.runner import plan_jobs
from benchmark.execution.suites import SUITES, get_suite

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
    assert {m for m, *_ in demo} <= {m for m, *_ in full} == set(SUITES["full"].methods)
    # every method kind, with HEVC, VVC and AV1 as its classical codecs (x264, aom: full only)
    assert {m for m, *_ in full} - {m for m, *_ in demo} == {"x264", "aom"}
    assert len(demo) == 69    # 3 clips x (3 codecs x 4 + 1 + 3 + 3 + 1 + 1 + 2)


def test_full_suite_is_what_the_reference_holds() -> None:
    """The committed reference results are exactly the full suite's jobs."""
    records = [json.loads(p.read_text()) for p in REFERENCE.glob("records/**/*.json")]
    held = {(r["method"], r["sequence"], r["rate_point"]["label"]) for r in records}
    assert held == {(m, s, rp) for m, s, rp, _ in _keys("full")}


def test_unknown_suite_and_suite_with_rate_points_or_foreign_methods_are_refused(
        tmp_path: Path, capsys: pytest.CaptureFixture) -> None:
    with pytest.raises(UlvrError, match="unknown suite 'nope'"):
        get_suite("nope")
    assert main(["run", "--suite", "demo", "--rate-points", "qp42", "--out", str(tmp_path)]) == 2
    assert "drop --rate-points" in capsys.readouterr().err
    # x264 is in `full`, not in `demo`: one line naming the suite's methods
    assert main(["run", "--suite", "demo", "--methods", "x264", "--out", str(tmp_path)]) == 2
    err = capsys.readouterr().err
    assert "x264: not in suite 'demo'" in err and "causal-diffusion" in err
    assert not (tmp_path / "records").exists()


def test_suite_with_methods_runs_only_those_at_the_suite_points() -> None:
    """`--suite native --methods A,B` regenerates those methods' jobs of the suite (e.g. after
    a checkpoint changed) at the suite's own points, and nothing else."""
    from argparse import Namespace

    from benchmark.cli.common import methods_and_points

    args = Namespace(suite="native", methods="causal-diffusion,frame-diffusion",
                     rate_points=None)
    methods, points = methods_and_points(args)
    assert methods == ["causal-diffusion", "frame-diffusion"]
    assert points == {"causal-diffusion": list(SUITES["native"].methods["causal-diffusion"]),
                      "frame-diffusion": ["d16-q51-t32-s32-k4-l8"]}


def test_native_suite_plans_on_the_native_set_with_points_beyond_the_defaults() -> None:
    """The native suite names points outside the defaults (standard quantisers, native sender
    points): each label's scheme resolves them, and a label outside it is refused."""
    from benchmark.protocol import create_method

    suite = get_suite("native")
    sequences = list(load_dataset("embedded-native").sequences)
    assert {(s.name, s.width, s.height, s.start, s.num_frames) for s in sequences} == {
        ("bigbuckbunny", 1280, 720, 0, 32), ("bikes", 640, 272, 0, 32)}
    jobs = [job for method in suite.methods
            for job in plan_jobs(sequences, [method], ("psnr",),
                                 rate_points=suite.rate_points(method))]
    assert len(jobs) == 2 * sum(len(points) for points in suite.methods.values())
    x265 = create_method("x265")
    assert x265.find_rate_point("qp22").params == {"qp": 22, "downscale": 1}
    assert x265.find_rate_point("qp51-d16-t32") == make_rate_point(51, 16, 32)
    for bad in ("qp22-d1", "q22"):
        with pytest.raises(UlvrError, match="has no rate point"):
            x265.find_rate_point(bad)
    student = create_method("causal-diffusion")
    assert student.find_rate_point("d32-q51-t32-s64-k4-l16").params["downscale"] == 32
    with pytest.raises(UlvrError, match="has no rate point"):
        student.find_rate_point("sem-s16-k4-l8")           # a semantic-only point
    assert create_method("semantic-only").find_rate_point("sem-s16-k4-l8").params[
        "texture"] is False


def test_committed_native_reference_holds_the_whole_suite() -> None:
    """results/reference/embedded-native is one `make native`: every job of the native suite on
    both clips succeeded with every output of the default metric set, and the lowest
    causal-diffusion point is under 0.0003 bpp in total on each clip (the paper's regime)."""
    from benchmark.data.store import ResultStore
    from benchmark.metrics.table import METRICS, default_metrics

    root = Path(__file__).resolve().parents[1] / "results" / "reference" / "embedded-native"
    frame = ResultStore(root).dataframe()
    suite = get_suite("native")
    planned = {(method, seq, point) for method, points in suite.methods.items()
               for point in points for seq in ("bigbuckbunny", "bikes")}
    assert set(zip(frame["method"], frame["sequence"], frame["rate_point"], strict=True)) \
        == planned and len(frame) == len(planned) and (frame["status"] == "ok").all()
    per_job = [o for m in default_metrics() if not METRICS[m].set_level
               for o in METRICS[m].outputs]
    assert frame[per_job].notna().all().all()
    student = frame[frame["method"] == "causal-diffusion"]
    assert (student.groupby("sequence")["bpp"].min() < 0.0003).all()


def test_suite_time_counts_a_resumed_run_without_its_pause():
    """`make native` may be interrupted and resumed: its wall time is the time during which
    a job ran, not the span across the pause."""
    from perf.suite_time import busy_seconds, summarise

    assert busy_seconds([(0, 10), (5, 15), (100, 130)]) == 45
    assert busy_seconds([(0, 10), (2, 3)]) == 10
    records = [{"status": "ok", "method": "m", "created": created, "timings": {"job_s": 600.0}}
               for created in ("2026-01-01T00:00:00+0000", "2026-01-01T00:05:00+0000",
                               "2026-01-02T00:00:00+0000")]
    records[0]["machine"] = "AMD EPYC (AVX-512), 2 cores"
    summary = summarise(records)
    assert summary["wall_s"] == 1500 and summary["span_s"] == 86400 + 600
    assert summary["machines"] == {"AMD EPYC (AVX-512), 2 cores": 1, "machine not recorded": 2}


@pytest.mark.parametrize("name", ["embedded", "embedded-native"])
def test_committed_references_ran_the_codecs_default_configurations(name: str) -> None:
    """Every classical codec record of a committed reference was made with that codec's current
    default configuration (preset, QPA, structure): a changed default without a regenerated
    reference would leave tables that no `ulvr run` reproduces."""
    from benchmark.data.store import ResultStore
    from benchmark.protocol import create_method

    records = list(ResultStore(REFERENCE.parent / name).records())
    codecs = {r["method"] for r in records if r["method"] in ("x265", "vvenc", "svtav1")}
    assert codecs == {"x265", "vvenc", "svtav1"}
    for codec in codecs:
        want = create_method(codec).config()
        stale = {r["rate_point"] for r in records
                 if r["method"] == codec and r["method_config"] != want}
        assert not stale, f"{name}: {codec} records not of its default {want}: {sorted(stale)}"
