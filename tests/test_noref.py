"""No-reference metrics: PIQE equals pyiqa's own number frame by frame; NIQE says what it needs."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from benchmark.core.errors import UlvrError
from benchmark.metrics.base import create_metric, evaluate, metric_class


def test_piqe_matches_pyiqa(carphone):
    import pyiqa

    result = evaluate(carphone.frames(), carphone.frames(), [create_metric("piqe")])["piqe"]
    frames = np.concatenate([c.rgb() for c in carphone.frames()])
    x = torch.from_numpy(frames).permute(0, 3, 1, 2).float() / 255.0
    theirs = pyiqa.create_metric("piqe", device="cpu")(x).numpy()
    np.testing.assert_allclose(result.per_frame["piqe"], theirs, rtol=1e-5)
    assert metric_class("piqe").lower_is_better


def test_niqe_without_parameters_is_unavailable(monkeypatch, tmp_path):
    monkeypatch.setattr(torch.hub, "get_dir", lambda: str(tmp_path))
    available = metric_class("niqe").availability()
    assert not available.ok and "niqe_modelparameters.mat" in available.reason
    with pytest.raises(UlvrError, match="niqe_modelparameters.mat"):
        create_metric("niqe")
