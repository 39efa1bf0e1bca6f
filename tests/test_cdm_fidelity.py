"""The proposed receiver keeps what it is given (low-frequency consistency with the texture
frame) and its training keeps the paper's structure (a frozen backbone under a small Temporal
Adapter, at least 100x fewer trainable parameters)."""

from __future__ import annotations

import math

import pytest
import torch

from benchmark.core.errors import UlvrError
from benchmark.protocol import create_method
from methods.causal_diffusion.checkpoint import load_checkpoint, read_metadata
from methods.causal_diffusion.consistency import keep_low_frequencies, low_band
from methods.causal_diffusion.distill import freeze_all_but_temporal
from methods.causal_diffusion.model import CONFIGS, VideoDenoiser, component_parameters


def test_projection_removes_the_low_band_and_keeps_fine_detail():
    """A residual made of a smooth drift plus a 2-pixel stripe pattern: the drift (below the
    thumbnail's resolution) goes, the stripes (above it) stay."""
    h, w, factor = 64, 96, 8
    y, x = torch.meshgrid(torch.arange(h).float(), torch.arange(w).float(), indexing="ij")
    drift = 0.3 * torch.sin(2 * math.pi * x / w) * torch.cos(2 * math.pi * y / h)
    drift = drift.expand(1, 3, h, w)
    stripes = (0.2 * torch.cos(math.pi * x)).expand(1, 3, h, w)   # period 2 px: pure detail
    rest = low_band(torch.rand(1, 3, h, w, generator=torch.Generator().manual_seed(0)), factor)
    out = keep_low_frequencies(rest + drift + stripes, rest, factor)
    kept = out - rest
    assert low_band(kept, factor).abs().mean() < 0.02 * low_band(drift, factor).abs().mean()
    assert (kept - stripes).abs().mean() < 0.05 * stripes.abs().mean()


def test_projection_is_the_identity_on_the_texture_frame_itself():
    rest = low_band(torch.rand(2, 3, 32, 48, generator=torch.Generator().manual_seed(1)), 4)
    assert torch.allclose(keep_low_frequencies(rest.clone(), rest, 4), rest, atol=1e-6)


def test_consistency_option_of_the_receivers():
    assert create_method("causal-diffusion").consistency == "lowpass"
    assert create_method("cdm-teacher").consistency == "lowpass"
    assert create_method("frame-diffusion").consistency == "lowpass"   # an ablation: same receiver
    assert create_method("semantic-only").consistency == "none"        # no texture frame
    assert "consistency" not in create_method("semantic-only").options
    assert create_method("cdm-teacher", consistency="none").options.get("consistency") is None
    with pytest.raises(UlvrError, match="unknown consistency 'sharp'"):
        create_method("causal-diffusion", consistency="sharp")


@pytest.mark.parametrize("name", ["small", "paper"])
def test_temporal_adapter_is_under_one_percent_of_the_model(name):
    counts = component_parameters(VideoDenoiser(CONFIGS[name]))
    assert counts["total"] / counts["temporal_adapter"] >= 100


def test_full_parameter_baseline_trains_everything():
    model = VideoDenoiser(CONFIGS["tiny"])
    counts = freeze_all_but_temporal(model, "all")
    assert counts["trainable"] == counts["total"]
    counts = freeze_all_but_temporal(model)
    assert counts["trainable"] == component_parameters(model)["temporal_adapter"]
    with pytest.raises(UlvrError, match="unknown trainable set"):
        freeze_all_but_temporal(model, "lora")


def test_teacher_stage_freezes_the_spatial_model(tiny_cdm):
    """The teacher's temporal stage adds a new Temporal Adapter (sized by the named config)
    and leaves every spatial weight exactly as the spatial stage trained it."""
    spatial, _ = load_checkpoint(tiny_cdm["spatial"])
    teacher, meta = load_checkpoint(tiny_cdm["teacher"])
    before = spatial.state_dict()
    for key, value in teacher.state_dict().items():
        if not key.startswith("temporal."):
            assert torch.equal(value, before[key]), key
    moved = [k for k, v in teacher.state_dict().items()
             if k.startswith("temporal.") and ".out." in k and v.abs().sum() > 0]
    assert moved, "the zero-initialised adapter outputs were never trained"
    assert teacher.config.temporal_levels == CONFIGS["tiny"].temporal_levels
    assert meta["train"]["trainable"] == "temporal"
    assert meta["figures"]["trainable_parameters"] == \
        component_parameters(teacher)["temporal_adapter"]


def test_student_decodes_with_the_steps_it_was_distilled_for(tiny_cdm):
    k = read_metadata(tiny_cdm["student"])["distill"]["student_steps"]
    method = create_method("causal-diffusion", checkpoint=str(tiny_cdm["student"]))
    assert method.steps == k
    assert create_method("causal-diffusion", checkpoint=str(tiny_cdm["student"]),
                         steps=3).steps == 3


def test_cli_trainable_choices_are_the_training_code_s():
    from methods.causal_diffusion import cli, train

    assert cli.TRAINABLE_SETS == train.TRAINABLE_SETS


def test_student_decodes_with_the_cache_source_it_was_distilled_for(tiny_cdm, tmp_path):
    """Continuing a student with the last-step cache records both in its checkpoint, and the
    adapter then decodes that way (k evaluations per frame); the clean pass stays implied."""
    from methods.causal_diffusion.data import ClipBank
    from methods.causal_diffusion.distill import DistillSettings, distill
    from methods.causal_diffusion.sender import SenderParams

    bank = ClipBank([SenderParams(downscale=8, key=1, label_scale=8)], 8,
                    sequences=["carphone"], max_frames=4)
    out = tmp_path / "last-step.safetensors"
    distill(DistillSettings(teacher=str(tiny_cdm["teacher"]), init=str(tiny_cdm["student"]),
                            steps=2, frames=2, crop=32, student_steps=2, teacher_steps=2,
                            cache_from="last-step", w_perceptual=0.0, w_dmd=0.0),
            out, progress=False, bank=bank)
    distilled = read_metadata(out)["distill"]
    assert distilled["cache_from"] == "last-step"
    assert distilled["init"]["file"] == tiny_cdm["student"].name   # lineage: name and SHA-256
    method = create_method("causal-diffusion", checkpoint=str(out))
    assert (method.cache_from, method.steps, method.options["cache_from"]) == ("last-step", 2,
                                                                              "last-step")
    clean = create_method("causal-diffusion", checkpoint=str(tiny_cdm["student"]))
    assert clean.cache_from == "clean" and "cache_from" not in clean.options
    with pytest.raises(UlvrError, match="cache_from 'both'"):
        create_method("causal-diffusion", checkpoint=str(out), cache_from="both")


def test_detail_scales_the_generated_residual_only():
    """detail=g returns texture + g * (output - texture) before the projection, leaves a
    semantic-only decode (no texture frame) alone, is off (1) by default and outside the job
    key then, and refuses values outside 0..4."""
    from types import SimpleNamespace

    gen = torch.Generator().manual_seed(3)
    rest = torch.rand(1, 2, 4, 8, 8, generator=gen) * 2 - 1          # (1, T, 3 + age, H, W)
    x0 = (rest[:, :, :3] + 0.1 * torch.randn(1, 2, 3, 8, 8, generator=gen)).clamp(-1, 1)
    textured = SimpleNamespace(params=SimpleNamespace(texture=True, downscale=4))
    plain = create_method("causal-diffusion", consistency="none")
    sharp = create_method("causal-diffusion", consistency="none", detail=2.0)
    assert plain.detail == 1.0 and "detail" not in plain.options
    assert sharp.options["detail"] == 2.0 and sharp.config() != plain.config()
    expected = rest[:, :, :3] + 2.0 * (x0 - rest[:, :, :3])
    out = sharp.finish(x0, rest, textured, (8, 8))
    want = plain.finish(expected, rest, textured, (8, 8))
    assert (out.astype(int) - want.astype(int)).__abs__().max() <= 1
    semantic = SimpleNamespace(params=SimpleNamespace(texture=False, downscale=1))
    assert (sharp.finish(x0, rest, semantic, (8, 8)) == plain.finish(x0, rest, semantic,
                                                                     (8, 8))).all()
    with pytest.raises(UlvrError, match="detail 5"):
        create_method("causal-diffusion", detail=5)
