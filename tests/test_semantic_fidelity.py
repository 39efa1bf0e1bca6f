"""Semantic fidelity metrics: hand-computed cases, a per-class set computation as the
independent reference, identity, and the label-matching rule for independent segmentations."""

from __future__ import annotations

import numpy as np
import pytest

from benchmark.data.video_io import FrameChunk
from benchmark.metrics.base import create_metric, evaluate, metric_class
from benchmark.metrics.semantic import label_agreement

REF = np.array([[0, 0, 1, 1], [0, 0, 1, 1], [2, 2, 2, 2], [2, 2, 2, 2]])
REC = np.array([[0, 1, 1, 1], [0, 0, 1, 1], [2, 2, 2, 0], [2, 2, 2, 2]])


def _by_sets(a: np.ndarray, b: np.ndarray) -> tuple[float, float]:
    """mIoU and accuracy from pixel coordinate sets, class by class (no confusion matrix)."""
    ious = []
    for c in sorted(set(a.ravel()) | set(b.ravel())):
        sa = {tuple(p) for p in np.argwhere(a == c)}
        sb = {tuple(p) for p in np.argwhere(b == c)}
        ious.append(len(sa & sb) / len(sa | sb))
    return sum(ious) / len(ious), float((a == b).mean())


def test_hand_computed_case():
    # class 0: 3 shared of 4 + 4 - 3 = 5; class 1: 4 of 5; class 2: 7 of 8; 14 of 16 pixels
    miou, accuracy = label_agreement(REF, REC, 3)
    assert miou == pytest.approx((3 / 5 + 4 / 5 + 7 / 8) / 3)
    assert accuracy == pytest.approx(14 / 16)


def test_matches_a_per_class_set_computation():
    rng = np.random.default_rng(0)
    a = rng.integers(0, 6, size=(24, 20))
    b = np.where(rng.random((24, 20)) < 0.3, rng.integers(0, 6, size=(24, 20)), a)
    b[b == 5] = 4        # a class present in one map only counts (IoU 0)
    assert label_agreement(a, b, 6) == pytest.approx(_by_sets(a, b))


def test_a_shuffled_label_permutation_is_recovered_by_matching():
    rng = np.random.default_rng(1)
    a = rng.integers(0, 5, size=(32, 32))
    noisy = np.where(rng.random((32, 32)) < 0.1, rng.integers(0, 5, size=(32, 32)), a)
    permutation = np.array([3, 0, 4, 1, 2])
    assert label_agreement(a, permutation[a], 5, match=True) == (1.0, 1.0)
    assert label_agreement(a, permutation[a], 5)[0] < 0.5
    assert label_agreement(a, permutation[noisy], 5, match=True) == \
        pytest.approx(label_agreement(a, noisy, 5))


def test_label_miou_of_a_shifted_boundary():
    """Two flat colours, the boundary moved by 2 of 16 columns: IoU 128/160 and 96/128."""
    ref = np.zeros((1, 16, 16, 3), np.uint8)
    ref[..., :8, 0] = 220
    ref[..., 8:, 2] = 220
    rec = np.zeros_like(ref)
    rec[..., :10, 0] = 220
    rec[..., 10:, 2] = 220
    metric = create_metric("label-miou", classes=2)
    result = evaluate([FrameChunk(rgb_frames=ref)], [FrameChunk(rgb_frames=rec)],
                      [metric])["label-miou"]
    assert result.values["label-miou"] == pytest.approx((128 / 160 + 96 / 128) / 2)
    assert result.values["label-pixel-acc"] == pytest.approx(224 / 256)
    assert result.protocol["classes"] == 2


def test_identical_video_scores_one(carphone):
    metric = create_metric("label-miou")
    result = evaluate(carphone.frames(), carphone.frames(), [metric])["label-miou"]
    assert result.values == {"label-miou": 1.0, "label-pixel-acc": 1.0}
    assert len(result.per_frame["label-miou"]) == carphone.num_frames


def test_seg_miou_says_what_to_provide_when_its_weights_are_missing(monkeypatch):
    import huggingface_hub

    monkeypatch.setattr(huggingface_hub, "try_to_load_from_cache", lambda *a, **k: None)
    available = metric_class("seg-miou").availability()
    assert not available.ok
    assert "nvidia/segformer-b0-finetuned-ade-512-512" in available.reason


def test_label_palette_is_fitted_once_per_reference_frame(monkeypatch, tmp_path, carphone):
    """A second reconstruction of the same reference reuses the cached palettes (no k-means)
    and scores exactly as a fresh fit does."""
    import benchmark.metrics.segment as segment

    monkeypatch.setenv("ULVR_FEATURE_CACHE", str(tmp_path / "cache"))
    fits = []
    real = segment.kmeans
    monkeypatch.setattr(segment, "kmeans", lambda *a, **k: fits.append(1) or real(*a, **k))
    noisy = [FrameChunk(rgb_frames=np.clip(c.rgb().astype(int) + 9, 0, 255).astype(np.uint8))
             for c in carphone.frames()]
    first = evaluate(carphone.frames(), iter(noisy), [create_metric("label-miou")])
    assert len(fits) == carphone.num_frames
    second = evaluate(carphone.frames(), iter(noisy), [create_metric("label-miou")])
    assert len(fits) == carphone.num_frames                      # all from the cache
    assert second["label-miou"].values == first["label-miou"].values
    assert first["label-miou"].values["label-miou"] < 1.0
