"""Pseudo-videos from package stills: a camera that really moves, through the real sender."""

from __future__ import annotations

import numpy as np
import pytest

from benchmark.core.errors import UlvrError
from methods.causal_diffusion.pseudo import CameraPath, load_still, pseudo_sequences, render


def test_still_camera_gives_identical_frames_and_pan_shifts_content():
    image = load_still("astronaut.png")
    still = render(image, CameraPath(), 3, 96, 64)
    assert still.shape == (3, 64, 96, 3) and np.array_equal(still[0], still[2])
    panned = render(image, CameraPath(pan=(4.0, 0.0)), 2, 96, 64)
    # the view moved 4 px right: frame 1's columns are frame 0's shifted left by 4
    np.testing.assert_allclose(panned[1][:, :-4].astype(float), panned[0][:, 4:].astype(float),
                               atol=2)
    assert not np.array_equal(panned[0], panned[1])


def test_pseudo_sequences_are_training_clips_through_the_sender(tmp_path, monkeypatch):
    from methods.causal_diffusion.sender import SenderParams, cached_clip_data

    monkeypatch.setenv("ULVR_CACHE", str(tmp_path / "cache"))
    seqs = pseudo_sequences(2, frames=8, width=64, height=48, root=tmp_path)
    assert [s.segment for s in seqs] == ["train", "train"] and seqs[0].dataset == "pseudo"
    frames = np.concatenate([c.rgb() for c in seqs[0].frames()])
    assert frames.shape == (8, 48, 64, 3) and frames.std() > 10
    again = pseudo_sequences(2, frames=8, width=64, height=48, root=tmp_path)
    assert again == seqs                                  # cached, deterministic
    data = cached_clip_data(seqs[1], SenderParams(downscale=8, qp=51, key=4, label_scale=8))
    assert data["restoration"].shape == (8, 48, 64, 3) and data["labels"].shape[0] == 8
    with pytest.raises(UlvrError, match="pseudo-videos"):
        pseudo_sequences(-1, root=tmp_path)
