"""FVD: Frechet distance against closed forms, clip extraction, and the set-level table."""

from __future__ import annotations

import numpy as np
import pytest

from benchmark.analysis.entries import resolve
from benchmark.analysis.setmetrics import fvd_table
from benchmark.data.manifest import load_dataset
from benchmark.data.store import ResultStore
from benchmark.execution.runner import plan_jobs, run_jobs
from benchmark.metrics import fvd as fvd_mod
from benchmark.metrics.base import evaluate
from benchmark.metrics.distances import frechet_distance, frechet_from_moments


def test_frechet_closed_form_diagonal_gaussians():
    mu_a, mu_b = np.array([0.0, 1.0, 2.0]), np.array([1.0, 1.0, 0.0])
    var_a, var_b = np.array([1.0, 4.0, 9.0]), np.array([4.0, 1.0, 1.0])
    expected = ((mu_a - mu_b) ** 2).sum() + ((np.sqrt(var_a) - np.sqrt(var_b)) ** 2).sum()
    value = frechet_from_moments(mu_a, np.diag(var_a), mu_b, np.diag(var_b))
    assert value == pytest.approx(expected, rel=1e-9)


def test_frechet_of_samples_matches_moments_and_is_zero_for_same_set():
    rng = np.random.default_rng(0)
    a = rng.normal(size=(500, 8))
    b = rng.normal(loc=0.5, scale=2.0, size=(500, 8))
    expected = frechet_from_moments(a.mean(0), np.cov(a, rowvar=False), b.mean(0),
                                    np.cov(b, rowvar=False))
    assert frechet_distance(a, b) == pytest.approx(expected)
    assert abs(frechet_distance(a, a)) < 1e-6
    # shift by c in every one of d dims adds d * c^2
    assert frechet_distance(a, a + 0.5) == pytest.approx(8 * 0.25, rel=1e-6)


def test_few_clips_use_the_exact_low_rank_form():
    """Fewer clips than dimensions (the demo: 6 clips of 400-d logits): the nuclear-norm form
    equals scipy's matrix square root on the same covariances, and a set against itself is 0."""
    rng = np.random.default_rng(2)
    a = rng.normal(size=(12, 40))
    b = rng.normal(loc=0.3, scale=1.5, size=(9, 40))
    expected = frechet_from_moments(a.mean(0), np.cov(a, rowvar=False), b.mean(0),
                                    np.cov(b, rowvar=False))
    assert frechet_distance(a, b) == pytest.approx(expected, rel=1e-6)
    assert abs(frechet_distance(a, a)) < 1e-9


def test_rank_deficient_covariances_are_guarded():
    rng = np.random.default_rng(1)
    a, b = rng.normal(size=(3, 50)), rng.normal(size=(3, 50))
    assert np.isfinite(frechet_distance(a, b))


class _Fake:
    """Stands in for I3D in the clip-extraction test: returns the mean of each clip."""

    weights_sha256 = "fake"
    clips_seen = 0

    def __call__(self, batch):
        import torch

        _Fake.clips_seen += batch.shape[0]
        return batch.mean(dim=(1, 3, 4), keepdim=False)[:, :1].expand(-1, 400).clone() \
            + torch.zeros(batch.shape[0], 400)


def test_clip_extraction_with_stride(monkeypatch, tmp_path):
    monkeypatch.setenv("ULVR_CACHE", str(tmp_path))
    monkeypatch.setattr(fvd_mod, "_network", lambda device: _Fake())
    seq = next(s for s in load_dataset("embedded", max_frames=32).sequences
               if s.name == "carphone")
    for stride, clips in ((16, 2), (8, 3), (1, 17)):
        metric = fvd_mod.Fvd(stride=stride)
        result = evaluate(seq.frames(5), seq.frames(7), [metric])["fvd"]
        assert result.protocol["clips"] == clips and result.protocol["stride"] == stride
        np.testing.assert_array_equal(result.features["reference"],
                                      result.features["reconstruction"])


def test_fvd_set_table_end_to_end(tmp_path):
    """Real I3D: one 16-frame clip per sequence, pooled over the 3 embedded sequences."""
    sequences = list(load_dataset("embedded", max_frames=16).sequences)
    store = ResultStore(tmp_path)
    jobs = plan_jobs(sequences, ["x265"], ("fvd",), rate_points=["qp37", "qp51-d8"])
    assert run_jobs(jobs, store, progress=False).ok == 6
    records = list(store.records())
    table = fvd_table(records, resolve(store.dataframe(), records).frame).set_index("rate_point")
    assert list(table["fvd_clips"]) == [3, 3]
    assert table.loc["qp37", "fvd_note"].startswith("unreliable: 3 clips < 64")
    assert 0 < table.loc["qp37", "fvd"] < table.loc["qp51-d8", "fvd"]
    record = next(store.records())
    assert record["metric_protocols"]["fvd"]["clip_len"] == 16
    assert np.shape(record["features"]["fvd"]["reference"]) == (1, 400)


def test_stride_out_of_range_is_refused():
    from benchmark.core.errors import UlvrError

    for stride in (0, 17):
        with pytest.raises(UlvrError, match="stride"):
            fvd_mod.Fvd(stride=stride)


def test_reference_clip_features_are_cached_and_corrupt_entries_recomputed(monkeypatch, tmp_path):
    """The second job on a sequence runs the network on its reconstruction only; a corrupt
    cache entry is recomputed, never trusted."""
    monkeypatch.setenv("ULVR_CACHE", str(tmp_path))
    monkeypatch.setattr(fvd_mod, "_network", lambda device: _Fake())
    seq = next(s for s in load_dataset("embedded", max_frames=16).sequences
               if s.name == "carphone")
    _Fake.clips_seen = 0
    first = evaluate(seq.frames(), seq.frames(5), [fvd_mod.Fvd()])["fvd"]
    assert _Fake.clips_seen == 2
    second = evaluate(seq.frames(), seq.frames(5), [fvd_mod.Fvd()])["fvd"]
    assert _Fake.clips_seen == 3                       # reference from the cache
    np.testing.assert_allclose(first.features["reference"], second.features["reference"])
    entry = next((tmp_path / "features" / "i3d").rglob("*.npy"))
    entry.write_bytes(b"not an array")
    third = evaluate(seq.frames(), seq.frames(5), [fvd_mod.Fvd()])["fvd"]
    assert _Fake.clips_seen == 5                       # recomputed
    np.testing.assert_allclose(third.features["reference"], first.features["reference"])
