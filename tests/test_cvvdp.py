"""ColorVideoVDP: the streamed Y4M video source gives cvvdp's own number on in-memory arrays."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from benchmark.data.video_io import FrameChunk
from benchmark.metrics.base import create_metric, evaluate, metric_class


def test_cvvdp_matches_direct_array_call(carphone):
    pycvvdp = pytest.importorskip("pycvvdp", reason="cvvdp not installed (make install adds it)")
    frames = np.concatenate([c.rgb() for c in carphone.frames()])
    rng = np.random.default_rng(0)
    noisy = np.clip(frames.astype(int) + rng.integers(-15, 16, frames.shape), 0, 255)
    noisy_chunk = FrameChunk(rgb_frames=noisy.astype(np.uint8))
    ours = evaluate(carphone.frames(), iter([noisy_chunk]), [create_metric("cvvdp")])["cvvdp"]
    # the harness stores both videos as YUV 4:2:0, so compare with the same RGB it sees
    seen = FrameChunk(planes=noisy_chunk.yuv()).rgb()
    metric = pycvvdp.cvvdp(display_name="standard_4k", device=torch.device("cpu"), quiet=True)
    direct, _ = metric.predict(seen, frames, dim_order="FHWC", frames_per_second=30)
    assert ours.values["cvvdp"] == pytest.approx(float(direct), abs=1e-4)
    assert ours.values["cvvdp"] < 10.0
    same = evaluate(carphone.frames(), carphone.frames(), [create_metric("cvvdp")])["cvvdp"]
    assert same.values["cvvdp"] == pytest.approx(10.0, abs=1e-3)


def test_cvvdp_uses_the_sequence_frame_rate(embedded):
    """On a 25 fps clip the metric built with the sequence's fps gives cvvdp's own number at
    25 fps, which differs from the number at the 30 fps cvvdp would otherwise assume."""
    pycvvdp = pytest.importorskip("pycvvdp", reason="cvvdp not installed (make install adds it)")
    bikes = next(s for s in embedded if s.name == "bikes")
    assert bikes.fps == 25
    frames = np.concatenate([c.rgb() for c in bikes.frames()])
    noisy = np.clip(frames.astype(int) + np.random.default_rng(1).integers(-20, 21, frames.shape),
                    0, 255).astype(np.uint8)
    noisy_chunk = FrameChunk(rgb_frames=noisy)
    ours = evaluate(bikes.frames(), iter([noisy_chunk]),
                    [metric_class("cvvdp")(fps=bikes.fps)])["cvvdp"]
    seen = FrameChunk(planes=noisy_chunk.yuv()).rgb()   # as the harness stores it (4:2:0)
    metric = pycvvdp.cvvdp(display_name="standard_4k", device=torch.device("cpu"), quiet=True)
    direct = {fps: float(metric.predict(seen, frames, dim_order="FHWC",
                                        frames_per_second=fps)[0]) for fps in (25, 30)}
    assert ours.values["cvvdp"] == pytest.approx(direct[25], abs=1e-4)
    assert abs(direct[25] - direct[30]) > 1e-3
    assert ours.protocol["fps"] == 25
