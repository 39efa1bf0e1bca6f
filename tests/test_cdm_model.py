"""The conditional video denoiser: zero-initialised adapters, masks, training, checkpoints."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from benchmark.core.errors import UlvrError
from methods.causal_diffusion.checkpoint import load_checkpoint, save_checkpoint
from methods.causal_diffusion.model import (
    CONFIGS,
    TemporalContext,
    VideoDenoiser,
    component_parameters,
)
from methods.causal_diffusion.train import TrainSettings, train
from tests.cdm_fixtures import TINY_DATA, random_inputs, random_tiny


def test_zero_initialised_adapters_leave_the_backbone_unchanged():
    torch.manual_seed(0)
    model = VideoDenoiser(CONFIGS["tiny"]).eval()
    with torch.no_grad():       # a 'trained' backbone: randomise its zero-initialised output
        model.out[-1].weight.normal_(0, 0.05)
    x, t, sem, res = random_inputs(3)
    with torch.no_grad():
        base = model(x, t, sem, res, None)
        with_temporal = model(x, t, sem, res, TemporalContext(torch.arange(3)))
        other_semantic = model(x, t, torch.randn_like(sem), res, None)
        aged = res.clone()
        aged[:, :, 3] += 1.0     # the age channel reaches the output only via the adapter
        other_restoration_input = model(x, t, sem, aged, None)
    assert torch.equal(base, with_temporal)
    assert torch.equal(base, other_semantic)
    assert torch.equal(base, other_restoration_input)


def test_bidirectional_mask_sees_the_future_causal_mask_does_not():
    model = random_tiny()
    x, t, sem, res = random_inputs(4)
    x2 = x.clone()
    x2[:, -1] += 1.0                                          # change the last frame only
    with torch.no_grad():
        for mode, future_visible in (("full", True), ("causal", False)):
            a = model(x, t, sem, res, TemporalContext(torch.arange(4), mode=mode))
            b = model(x2, t, sem, res, TemporalContext(torch.arange(4), mode=mode))
            assert torch.equal(a[:, 0], b[:, 0]) is not future_visible
            assert not torch.equal(a[:, -1], b[:, -1])


def test_parameter_counts_per_component():
    counts = component_parameters(VideoDenoiser(CONFIGS["small"]))
    parts = sum(v for k, v in counts.items() if k != "total")
    assert parts == counts["total"] and counts["temporal_adapter"] > 0


def test_tiny_model_overfits_one_clip(tmp_path):
    torch.set_num_threads(1)
    # fixed, texture-poor points: how much there is to learn must not follow the defaults
    points = [{"downscale": 16, "qp": 51, "key": k, "label_scale": s, "label_interval": n}
              for k, s, n in ((32, 32, 8), (8, 16, 1))] + \
        [{"downscale": 8, "qp": 51, "key": 1, "label_scale": 8}]
    settings = TrainSettings(stage="spatial", config="tiny", steps=250, batch=4, crop=32,
                             lr=2e-3, sequences=["carphone"], max_frames=4, rate_points=points)
    figures = train(settings, tmp_path / "overfit.safetensors", progress=False)
    assert figures["loss_last50"] < 0.6 * figures["loss_first50"]


def test_checkpoint_round_trip_and_refusals(tmp_path):
    model = random_tiny()
    path = save_checkpoint(model, tmp_path / "m.safetensors", {"stage": "test"})
    loaded, meta = load_checkpoint(path)
    assert meta["stage"] == "test" and meta["config"]["channels"] == [16, 32, 32]
    x, t, sem, res = random_inputs(2)
    with torch.no_grad():
        assert torch.equal(model(x, t, sem, res, None), loaded(x, t, sem, res, None))
    corrupt = tmp_path / "corrupt.safetensors"
    corrupt.write_bytes(path.read_bytes()[:-500])
    with pytest.raises(UlvrError, match="corrupt"):
        load_checkpoint(corrupt)
    garbage = tmp_path / "garbage.safetensors"
    garbage.write_bytes(b"\x00" * 64)
    with pytest.raises(UlvrError, match="corrupt|not a safetensors"):
        load_checkpoint(garbage)
    with pytest.raises(UlvrError, match="does not exist"):
        load_checkpoint(tmp_path / "missing.safetensors")


def test_checkpoint_of_another_architecture_is_refused(tmp_path):
    from safetensors.torch import save_file

    model = random_tiny()
    state = {k: v.contiguous() for k, v in model.state_dict().items()}
    state.pop("stem.weight")
    import json

    meta = {"ulvr": json.dumps({"config": model.config.to_dict()})}
    save_file(state, str(tmp_path / "wrong.safetensors"), metadata=meta)
    with pytest.raises(UlvrError, match="does not fit"):
        load_checkpoint(tmp_path / "wrong.safetensors")


def test_training_resumes_from_its_state_as_if_never_stopped(tmp_path):
    """4 steps, then --resume to 6, give the weights of 6 steps in one go: the state holds
    the optimiser, the EMA and both random streams."""
    torch.set_num_threads(1)
    base = dict(stage="spatial", config="tiny", batch=2, crop=32, **TINY_DATA)
    train(TrainSettings(steps=6, **base), tmp_path / "straight.safetensors", progress=False)
    out = tmp_path / "s.safetensors"
    train(TrainSettings(steps=4, **base), out, progress=False)
    figures = train(TrainSettings(steps=6, **base), out, resume=True, progress=False)
    assert figures["steps"] == 6
    assert np.isfinite(figures["loss_last50"])
    straight, _ = load_checkpoint(tmp_path / "straight.safetensors")
    resumed, _ = load_checkpoint(out)
    for (name, a), b in zip(straight.state_dict().items(), resumed.state_dict().values(),
                            strict=True):
        assert torch.equal(a, b), name
    with pytest.raises(UlvrError, match="no training state at .*nowhere"):
        train(TrainSettings(steps=2, **base), tmp_path / "nowhere.safetensors", resume=True,
              progress=False)
    # a resume with other settings would mix two runs: refused, naming what changed
    with pytest.raises(UlvrError, match=r"other settings \(lr: 0.0002 then, 0.001 now\)"):
        train(TrainSettings(steps=8, lr=1e-3, **base), out, resume=True, progress=False)


def test_samplers_reuse_the_condition_features_with_identical_output():
    """The samplers encode the conditions once per block and pass them to every step: the
    output equals running the whole denoiser at every step, bit for bit."""
    from methods.causal_diffusion.diffusion import ddim_sample, renoise, sample_times

    model = random_tiny()
    x, _, sem, res = random_inputs(3)
    with torch.no_grad():
        ours = ddim_sample(model, x, sem, res, 3, lambda: TemporalContext(torch.arange(3)))
        y, times = x, sample_times(3) + [0.0]
        for now, nxt in zip(times[:-1], times[1:], strict=True):
            plain = model(y, torch.full(y.shape[:2], now), sem, res,
                          TemporalContext(torch.arange(3)))
            y = renoise(y, plain, now, nxt)
    assert torch.equal(ours, plain)
