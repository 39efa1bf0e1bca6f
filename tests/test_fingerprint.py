"""Resume re-runs what changed (issue 12, item 3): a finished job runs again, with a note,
when its method's software (ffmpeg, an encoder, weights) or a metric's implementation or
weights changed since its record was made."""

from __future__ import annotations

import json

import pytest

import baselines.classical as classical
from benchmark.data.store import ResultStore
from benchmark.execution import fingerprint
from benchmark.execution.runner import plan_jobs, run_jobs
from benchmark.metrics.base import metric_class


def _plan(carphone, metrics=("psnr",)):
    return plan_jobs([carphone], ["x264"], metrics, rate_points=["qp42"])


def _record_path(tmp_path):
    return next(p for p in (tmp_path / "records").rglob("*.json") if not p.name.startswith("."))


def test_finished_job_reruns_when_ffmpeg_changes(carphone, tmp_path, monkeypatch, capsys):
    store = ResultStore(tmp_path)
    assert run_jobs(_plan(carphone), store, progress=False).ok == 1
    assert run_jobs(_plan(carphone), store, progress=False).skipped == 1
    capsys.readouterr()
    monkeypatch.setattr(classical, "ffmpeg_version", lambda: "ffmpeg version 99.0-planted")
    summary = run_jobs(_plan(carphone), store, progress=False)
    assert (summary.ok, summary.skipped) == (1, 0)
    assert summary.rerun == {"ffmpeg changed": 1}
    err = capsys.readouterr().err
    assert "re-running 1 finished job: ffmpeg changed (1)" in err
    record = json.loads(_record_path(tmp_path).read_text())
    assert record["fingerprint"]["method"]["ffmpeg"] == "ffmpeg version 99.0-planted"
    assert run_jobs(_plan(carphone), store, progress=False).skipped == 1


def test_finished_job_reruns_when_a_metric_implementation_changes(carphone, tmp_path, capsys):
    store = ResultStore(tmp_path)
    run_jobs(_plan(carphone, ("psnr", "ms-ssim")), store, progress=False)
    path = _record_path(tmp_path)
    record = json.loads(path.read_text())
    assert set(record["fingerprint"]["metrics"]) == {"psnr", "ms-ssim"}
    record["fingerprint"]["metrics"]["ms-ssim"] = "made-by-old-code"
    path.write_text(json.dumps(record))
    capsys.readouterr()
    # a run asking only for psnr does not care about ms-ssim's implementation
    assert run_jobs(_plan(carphone), store, progress=False).skipped == 1
    summary = run_jobs(_plan(carphone, ("psnr", "ms-ssim")), store, progress=False)
    assert summary.ok == 1 and summary.rerun == {"metric ms-ssim implementation changed": 1}
    assert "metric ms-ssim implementation changed" in capsys.readouterr().err
    # a record from before fingerprints existed is re-run too
    record = json.loads(path.read_text())
    del record["fingerprint"]
    path.write_text(json.dumps(record))
    assert run_jobs(_plan(carphone), store, progress=False).rerun == {
        "the record predates fingerprints": 1}


def test_metric_fingerprint_covers_sources_and_weights(tmp_path, monkeypatch):
    assert [p.name for p in fingerprint.implementation_files("benchmark.metrics.fvd")] == \
        ["fvd.py", "i3d.py"]   # FVD's I3D is imported lazily, inside functions
    assert [p.name for p in fingerprint.implementation_files("benchmark.metrics.dists")] == \
        ["dists.py", "frame_mean.py", "lpips.py", "siamese.py"]
    # the per-frame mean is shared plumbing that changes values, so it is fingerprinted
    assert "frame_mean.py" in [p.name for p in
                               fingerprint.implementation_files("benchmark.metrics.lpips")]
    assert fingerprint.metric_module("psnr") == "benchmark.metrics.psnr"
    source = tmp_path / "psnr.py"
    monkeypatch.setattr(fingerprint, "implementation_files", lambda module: [source])
    values = []
    try:
        for text in ("old = 1\n", "new = 22\n"):
            source.write_text(text)
            fingerprint.metric_fingerprint.cache_clear()
            values.append(fingerprint.metric_fingerprint("psnr"))
    finally:
        fingerprint.metric_fingerprint.cache_clear()   # forget the planted sources
    assert values[0] != values[1]


def test_metric_fingerprint_includes_its_weights_files():
    if not metric_class("lpips-alex").availability().ok:
        pytest.skip("lpips-alex weights are not installed here")
    files = fingerprint._weights_files(metric_class("lpips-alex"))
    assert [p.name for p in files] == ["alexnet.ckpt"]
    assert fingerprint._weights_files(metric_class("psnr")) == []


def test_editing_a_segmenter_changes_label_miou_fingerprint(tmp_path, monkeypatch):
    """The k-means that label-miou shares with the sender lives in benchmark.metrics.segment
    and is part of the metric's fingerprint: an edit there re-runs label-miou."""
    real = fingerprint.implementation_files
    files = real("benchmark.metrics.semantic")
    assert "segment.py" in [p.name for p in files]
    edited = tmp_path / "segment.py"
    edited.write_text(next(p for p in files if p.name == "segment.py").read_text()
                      + "\nKMEANS_ITERATIONS_EDITED = 1\n")
    fingerprint.metric_fingerprint.cache_clear()
    try:
        before = fingerprint.metric_fingerprint("label-miou")
        monkeypatch.setattr(fingerprint, "implementation_files", lambda module: [
            edited if p.name == "segment.py" else p for p in real(module)])
        fingerprint.metric_fingerprint.cache_clear()
        after = fingerprint.metric_fingerprint("label-miou")
    finally:
        fingerprint.metric_fingerprint.cache_clear()
    assert before != after
