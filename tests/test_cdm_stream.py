"""Causal few-step streaming decoder and temporal-only distillation (the proposed method)."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from benchmark.data.manifest import load_dataset
from benchmark.data.store import ResultStore
from benchmark.execution.runner import plan_jobs, run_jobs
from methods.causal_diffusion.data import ClipBank
from methods.causal_diffusion.distill import DistillSettings, distill, freeze_all_but_temporal
from methods.causal_diffusion.sender import SenderParams
from methods.causal_diffusion.stream import StreamingDecoder, uncached_causal
from tests.cdm_fixtures import random_inputs, random_tiny


def _stream(model, x, sem, res, steps=1, block=1, window=None, sinks=0, cache_from="clean"):
    decoder = StreamingDecoder(model, steps, block, window, sinks, cache_from)
    with torch.no_grad():
        return torch.cat([decoder.decode_block(x[:, i:i + block], sem[:, i:i + block],
                                               res[:, i:i + block])
                          for i in range(0, x.shape[1], block)], 1)


@pytest.mark.parametrize("block,window,sinks", [(1, None, 0), (1, 3, 0), (2, 4, 1)])
def test_kv_cached_streaming_equals_uncached_block_causal_pass(block, window, sinks):
    """With one step, block j's output is the model at t=1 on its noise, attending to the
    clean outputs of earlier frames at t=0: one uncached block-causal pass over
    [clean past frames, noisy block] must give the same output."""
    model = random_tiny()
    frames = 6
    x, _, sem, res = random_inputs(frames)
    streamed = _stream(model, x, sem, res, 1, block, window, sinks)
    last = slice(frames - block, frames)
    inputs = torch.cat([streamed[:, :frames - block], x[:, last]], 1)
    t = torch.cat([torch.zeros(1, frames - block), torch.ones(1, block)], 1)
    with torch.no_grad():
        reference = uncached_causal(model, inputs, t, sem, res, block, window, sinks)
    torch.testing.assert_close(streamed[:, last], reference[:, last], atol=1e-5, rtol=1e-4)


@pytest.mark.parametrize("block,window", [(1, None), (2, 4)])
def test_last_step_cache_equals_one_block_causal_pass_over_the_noise(block, window):
    """With one step and the cache written by that step (no clean pass), every block is the
    model at t=1 on its noise attending to earlier blocks' keys/values at the same step: one
    uncached block-causal pass over all the noise, at one network evaluation per frame."""
    model = random_tiny()
    frames = 6
    x, _, sem, res = random_inputs(frames)
    decoder = StreamingDecoder(model, 1, block, window, 0, cache_from="last-step")
    with torch.no_grad():
        streamed = torch.cat([decoder.decode_block(x[:, i:i + block], sem[:, i:i + block],
                                                   res[:, i:i + block])
                              for i in range(0, frames, block)], 1)
        reference = uncached_causal(model, x, torch.ones(1, frames), sem, res, block, window)
    torch.testing.assert_close(streamed, reference, atol=1e-5, rtol=1e-4)
    assert decoder.evaluations == frames


def test_future_frame_change_leaves_past_output_bit_identical():
    model = random_tiny()
    x, _, sem, res = random_inputs(5)
    a = _stream(model, x, sem, res, steps=2, window=4)
    sem2, res2, x2 = sem.clone(), res.clone(), x.clone()
    sem2[:, 3:] += 1
    res2[:, 3:] -= 1
    x2[:, 3:] *= -1
    b = _stream(model, x2, sem2, res2, steps=2, window=4)
    assert torch.equal(a[:, :3], b[:, :3])
    assert not torch.equal(a[:, 3:], b[:, 3:])


@pytest.mark.parametrize("cache_from", ["clean", "last-step"])
def test_recurrent_start_is_the_sampler_from_a_given_first_prediction(cache_from):
    """A block started from `previous` runs the later steps only: handed the first step's own
    prediction it decodes exactly as the full sampler does, with one evaluation fewer."""
    from methods.causal_diffusion.diffusion import sample_times

    model = random_tiny()
    x, _, sem, res = random_inputs(3)
    full = StreamingDecoder(model, 2, 1, 4, 0, cache_from)
    recurrent = StreamingDecoder(model, 2, 1, 4, 0, cache_from)
    with torch.no_grad():
        for i in range(3):
            block = (x[:, i:i + 1], sem[:, i:i + 1], res[:, i:i + 1])
            ctx = recurrent._ctx(1, write=False)          # the first step reads, never writes
            t = torch.full((1, 1), sample_times(2)[0])
            first = model(block[0], t, block[1], block[2], ctx)
            evals = recurrent.evaluations
            torch.testing.assert_close(recurrent.decode_block(*block, previous=first),
                                       full.decode_block(*block), atol=1e-6, rtol=1e-5)
            assert recurrent.evaluations - evals == (1 if cache_from == "last-step" else 2)
    with pytest.raises(ValueError, match="recurrent start"):
        StreamingDecoder(model, 1).decode_block(*block, previous=first)


def test_a_block_with_its_own_step_count_is_that_k_step_sampler():
    """decode_block(steps=K) decodes as a K-step decoder would (the key frames of key_steps),
    and the next block reads the cache it wrote."""
    model = random_tiny()
    x, _, sem, res = random_inputs(3)
    mixed = StreamingDecoder(model, 2, 1, 4, 0, "last-step")
    four = StreamingDecoder(model, 4, 1, 4, 0, "last-step")
    with torch.no_grad():
        torch.testing.assert_close(mixed.decode_block(x[:, :1], sem[:, :1], res[:, :1], steps=4),
                                   four.decode_block(x[:, :1], sem[:, :1], res[:, :1]))
        assert mixed.evaluations == 4
        two = StreamingDecoder(model, 2, 1, 4, 0, "last-step")
        two.cache, two.next_index = four.cache, 1
        torch.testing.assert_close(mixed.decode_block(x[:, 1:2], sem[:, 1:2], res[:, 1:2]),
                                   two.decode_block(x[:, 1:2], sem[:, 1:2], res[:, 1:2]))
    with pytest.raises(ValueError, match="own step count"):
        mixed.decode_block(x[:, 2:], sem[:, 2:], res[:, 2:], steps=4, previous=x[:, 2:])


def test_distillation_rollout_starts_held_blocks_from_the_last_new_one():
    """settings.recurrent: a block of held texture (age > 0) is the recurrent start from the
    last new-texture block's output, as causal-diffusion decodes; sequence noise is one field."""
    from methods.causal_diffusion.data import Batch
    from methods.causal_diffusion.distill import rollout, rollout_noise

    model = random_tiny()
    x, _, sem, res = random_inputs(4)
    res[:, :, 3] = torch.tensor([0.0, 0.1, 0.2, 0.0]).view(1, 4, 1, 1)   # new, held, held, new
    batch = Batch(torch.zeros_like(x), sem, res)
    settings = DistillSettings(student_steps=2, frames=4, window=4, cache_from="last-step",
                               recurrent=True)
    with torch.no_grad():
        got = rollout(model, x, batch, settings)
        ref = StreamingDecoder(model, 2, 1, 4, 0, "last-step")
        want = [ref.decode_block(x[:, :1], sem[:, :1], res[:, :1])]
        for i in (1, 2):
            want.append(ref.decode_block(x[:, i:i + 1], sem[:, i:i + 1], res[:, i:i + 1],
                                         previous=want[0]))
        want.append(ref.decode_block(x[:, 3:], sem[:, 3:], res[:, 3:]))
    torch.testing.assert_close(got, torch.cat(want, 1))
    plain = rollout(model, x, batch, DistillSettings(student_steps=2, frames=4, window=4,
                                                     cache_from="last-step"))
    assert torch.equal(plain[:, :1], got[:, :1]) and not torch.allclose(plain[:, 1:3], got[:, 1:3])
    noise = rollout_noise(batch, "sequence")
    assert noise.shape == x.shape and torch.equal(noise[:, 0], noise[:, 3])
    assert not torch.equal(rollout_noise(batch, "frame")[:, 0], rollout_noise(batch, "frame")[:, 1])


def test_recurrent_option_of_the_student(tiny_cdm):
    """recurrent is part of the job key and off by default; "auto" starts stale frames from
    the texture's first decoded frame at d4 only; "on" needs k >= 2; anything else is refused."""
    from benchmark.core.errors import UlvrError
    from benchmark.protocol import create_method
    from methods.causal_diffusion.adapter import DEFAULT_POINTS, RECURRENT_MAX_DOWNSCALE

    off = create_method("causal-diffusion")
    assert off.recurrent == "off" and "recurrent" not in off.options
    assert not any(off.recurrent_at(p) for p in DEFAULT_POINTS)
    assert create_method("causal-diffusion", recurrent=False).config() == off.config()
    auto = create_method("causal-diffusion", recurrent="auto")
    assert auto.options["recurrent"] == "auto" and off.config() != auto.config()
    assert [auto.recurrent_at(p) for p in DEFAULT_POINTS] == \
        [p.downscale <= RECURRENT_MAX_DOWNSCALE for p in DEFAULT_POINTS] == [False, False, True]
    on = create_method("causal-diffusion", recurrent="true")
    assert on.options["recurrent"] == "on" and all(on.recurrent_at(p) for p in DEFAULT_POINTS)
    assert not create_method("causal-diffusion", steps=1).recurrent_at(DEFAULT_POINTS[2])
    with pytest.raises(UlvrError, match="recurrent=on needs steps >= 2"):
        create_method("causal-diffusion", recurrent=True, steps=1)
    with pytest.raises(UlvrError, match="recurrent 'sometimes' is not one of off, on, auto"):
        create_method("causal-diffusion", recurrent="sometimes")
    keyed = create_method("causal-diffusion", key_steps=8)
    assert keyed.key_steps == 8 and keyed.config() != off.config()
    assert off.key_steps == off.steps and "key_steps" not in off.options
    with pytest.raises(UlvrError, match="key_steps -1 must be >= 1"):
        create_method("causal-diffusion", key_steps=-1)


def test_cache_stays_within_the_window():
    model = random_tiny()
    x, _, sem, res = random_inputs(8)
    decoder = StreamingDecoder(model, 1, 1, window=3, sinks=1)
    with torch.no_grad():
        for i in range(8):
            decoder.decode_block(x[:, i:i + 1], sem[:, i:i + 1], res[:, i:i + 1])
    kept = decoder.cache[0][2].tolist()
    assert kept == [0, 6, 7]                 # the sink plus the last W-1 frames
    assert decoder.evaluations == 8 * 2      # k = 1 step + 1 clean pass per frame


def test_only_temporal_parameters_receive_gradients():
    model = random_tiny().train()
    counts = freeze_all_but_temporal(model)
    assert counts["trainable"] == sum(p.numel() for p in model.temporal_parameters())
    x, _, sem, res = random_inputs(3)
    decoder = StreamingDecoder(model, 2, 1, None)
    out = torch.cat([decoder.decode_block(x[:, i:i + 1], sem[:, i:i + 1], res[:, i:i + 1],
                                          detach_cache=False) for i in range(3)], 1)
    out.square().mean().backward()
    temporal = {id(p) for p in model.temporal_parameters()}
    for p in model.parameters():
        if id(p) in temporal:
            assert p.grad is not None
        else:
            assert p.grad is None


def test_tiny_student_distillation_loss_falls(tiny_cdm, tmp_path):
    torch.set_num_threads(1)
    bank = ClipBank([SenderParams(downscale=8, key=1, label_scale=8)], 8,
                    sequences=["carphone"], max_frames=4)
    figures = distill(DistillSettings(teacher=str(tiny_cdm["teacher"]), steps=40, frames=4,
                                      crop=32, teacher_steps=2, lr=3e-3, objective="ode"),
                      tmp_path / "s.st",
                      progress=False, bank=_fixed(bank))
    assert figures["loss_last20"] < figures["loss_first20"]
    assert figures["trainable"] < figures["total"] / 10


def _fixed(bank: ClipBank) -> ClipBank:
    """The same clip and crop every step, so the loss curve shows learning, not sampling."""
    batch = bank.sample(np.random.default_rng(0), 1, 4, 32)
    bank.sample = lambda *args, **kw: batch
    return bank


def test_registered_methods_run_end_to_end(tiny_cdm, tmp_path):
    seqs = list(load_dataset("embedded", max_frames=3, sequences=["carphone"]).sequences)
    options = {"cdm-teacher": {"checkpoint": str(tiny_cdm["teacher"]), "steps": 2},
               "causal-diffusion": {"checkpoint": str(tiny_cdm["student"])}}
    jobs = plan_jobs(seqs, ["lowres-bicubic", "cdm-teacher", "causal-diffusion"], ("psnr",),
                     options, rate_points=["d4-q45-t8-s16-k4-l8"])
    store = ResultStore(tmp_path)
    summary = run_jobs(jobs, store, workers=1, progress=False)
    assert summary.ok == 3, [r.get("error") for r in store.records()]
    records = {r["method"]: r for r in store.records()}
    bits = {m: r["total_bits"] for m, r in records.items()}
    assert len(set(bits.values())) == 1                      # same streams, same bits
    assert records["causal-diffusion"]["causal"] and not records["cdm-teacher"]["causal"]
    assert records["causal-diffusion"]["kind"] == "proposed"
    assert records["causal-diffusion"]["timings"]["network_evals_per_frame"] == 2   # k=1 + cache
    assert records["cdm-teacher"]["timings"]["network_evals_per_frame"] == 2
    assert set(records["cdm-teacher"]["bits"]) == {"texture", "texture_parameter_sets", "semantic",
                                                  "semantic_parameter_sets"}


def test_generative_and_semantic_baselines_run_end_to_end(tiny_cdm, tmp_path):
    """frame-diffusion decodes the proposed streams frame by frame; semantic-only sends and
    counts the semantic stream alone."""
    seqs = list(load_dataset("embedded", max_frames=3, sequences=["carphone"]).sequences)
    options = {"frame-diffusion": {"checkpoint": str(tiny_cdm["spatial"]), "steps": 2},
               "semantic-only": {"checkpoint": str(tiny_cdm["teacher"]), "steps": 2}}
    jobs = plan_jobs(seqs, ["frame-diffusion"], ("psnr",), options,
                     rate_points=["d4-q45-t8-s16-k4-l8"])
    jobs += plan_jobs(seqs, ["semantic-only"], ("psnr",), options,
                      rate_points=["sem-s8-k4-l1"])
    store = ResultStore(tmp_path)
    summary = run_jobs(jobs, store, workers=1, progress=False)
    assert summary.ok == 2, [r.get("error") for r in store.records()]
    records = {r["method"]: r for r in store.records()}
    semantic = records["semantic-only"]
    assert set(semantic["bits"]) == {"semantic", "semantic_parameter_sets"}
    assert semantic["kind"] == "semantic"
    assert semantic["total_bits"] % 8 == 0 and semantic["total_bits"] > 0
    assert records["frame-diffusion"]["kind"] == "generative"
    assert records["frame-diffusion"]["method_info"]["temporal"] is False


def test_noise_modes_and_their_job_identity():
    """Per-frame noise differs between frames; sequence noise is one field; the proposed
    decoder defaults to sequence noise and says so in its configuration (job key)."""
    import torch

    from benchmark.core.errors import UlvrError
    from benchmark.protocol import create_method

    frame = create_method("cdm-teacher")
    seq = create_method("cdm-teacher", noise="sequence")
    assert not torch.equal(frame.noise(0, (3, 4, 4)), frame.noise(1, (3, 4, 4)))
    assert torch.equal(seq.noise(0, (3, 4, 4)), seq.noise(7, (3, 4, 4)))
    assert "noise" not in frame.options and seq.options["noise"] == "sequence"
    student = create_method("causal-diffusion")
    assert student.noise_mode == "sequence" and student.options["noise"] == "sequence"
    with pytest.raises(UlvrError, match="unknown noise"):
        create_method("causal-diffusion", noise="pink")


def test_self_forcing_distillation_trains_only_the_temporal_adapter(tiny_cdm, tmp_path):
    """Self-Forcing rollouts with every loss term: finite, the gradient reaches only the
    Temporal Adapter, the online fake score moves, and the GT + perceptual loss falls."""
    from methods.causal_diffusion.checkpoint import load_checkpoint
    from methods.causal_diffusion.distill import SelfForcing

    torch.set_num_threads(1)
    teacher, _ = load_checkpoint(tiny_cdm["teacher"])
    bank = _fixed(ClipBank([SenderParams(downscale=8, key=1, label_scale=8)], 8,
                           sequences=["carphone"], max_frames=4))
    settings = DistillSettings(teacher=str(tiny_cdm["teacher"]), steps=30, frames=4, crop=32,
                               teacher_steps=2, lr=3e-3, w_ode=0.5, w_dmd=0.25)
    objective = SelfForcing(teacher, settings, "cpu")
    fake_before = [p.detach().clone() for p in objective.fake.parameters()]
    student = __import__("copy").deepcopy(teacher)
    from methods.causal_diffusion.distill import freeze_all_but_temporal

    freeze_all_but_temporal(student)
    batch = bank.sample(np.random.default_rng(0), 1, 4, 32)
    loss, parts = objective(student, teacher, batch, settings, np.random.default_rng(0))
    assert set(parts) == {"l1", "perceptual", "temporal", "ode", "dmd"}
    assert all(np.isfinite(v) for v in parts.values())
    loss.backward()
    grads = {n: p.grad for n, p in student.named_parameters() if p.grad is not None}
    temporal = {id(p) for p in student.temporal_parameters()}
    assert grads and all(id(dict(student.named_parameters())[n]) in temporal for n in grads)
    assert any(not torch.equal(a, b) for a, b in zip(fake_before, objective.fake.parameters(),
                                                      strict=True))
    # without the moving DMD target, the loss on a fixed clip falls as the adapter learns
    plain = DistillSettings(teacher=str(tiny_cdm["teacher"]), steps=60, frames=4, crop=32,
                            lr=3e-3, w_dmd=0.0)
    figures = distill(plain, tmp_path / "sf.safetensors", progress=False, bank=bank)
    assert figures["loss_last20"] < figures["loss_first20"]


def test_distillation_resumes_as_if_never_stopped(tiny_cdm, tmp_path):
    """2 steps, then --resume to 4, give the student of 4 steps in one go (the state holds the
    student, its optimiser, the online fake score and the random streams)."""
    from methods.causal_diffusion.checkpoint import load_checkpoint

    torch.set_num_threads(1)
    bank = _fixed(ClipBank([SenderParams(downscale=8, key=1, label_scale=8)], 8,
                           sequences=["carphone"], max_frames=4))
    settings = {"teacher": str(tiny_cdm["teacher"]), "frames": 4, "crop": 32,
                "teacher_steps": 2, "w_dmd": 0.25, "w_perceptual": 0.0}
    distill(DistillSettings(steps=4, **settings), tmp_path / "a.st", progress=False, bank=bank)
    distill(DistillSettings(steps=2, **settings), tmp_path / "b.st", progress=False, bank=bank)
    figures = distill(DistillSettings(steps=4, **settings), tmp_path / "b.st", progress=False,
                      bank=bank, resume=True)
    assert figures["steps"] == 4
    straight, resumed = (load_checkpoint(tmp_path / n)[0] for n in ("a.st", "b.st"))
    for (name, a), b in zip(straight.state_dict().items(), resumed.state_dict().values(),
                            strict=True):
        assert torch.equal(a, b), name


def test_dists_perceptual_term_is_the_dists_metric_and_has_a_gradient():
    """`--perceptual dists` scores model-range frames exactly as the DISTS metric scores their
    uint8 originals (reference first), and passes a gradient to the student's frames."""
    from benchmark.core.errors import UlvrError
    from benchmark.metrics.dists import shared_score
    from methods.causal_diffusion.distill import PERCEPTUAL_LOSSES, SelfForcing

    rng = np.random.default_rng(0)
    gt8 = rng.integers(0, 256, (2, 48, 64, 3), dtype=np.uint8)
    x8 = np.clip(gt8.astype(int) + rng.integers(-40, 41, gt8.shape), 0, 255).astype(np.uint8)
    to_model = lambda a: torch.from_numpy(a).permute(0, 3, 1, 2).float() / 127.5 - 1  # noqa: E731
    x = to_model(x8).requires_grad_(True)
    loss = PERCEPTUAL_LOSSES["dists"]("cpu")(x, to_model(gt8))
    np.testing.assert_allclose(loss.detach().numpy(), shared_score()(gt8, x8), atol=1e-5)
    loss.sum().backward()
    assert torch.isfinite(x.grad).all() and x.grad.abs().sum() > 0
    with pytest.raises(UlvrError, match="perceptual loss"):
        SelfForcing(None, DistillSettings(perceptual="lpips-alex"), "cpu")


def test_chunked_spatial_attention_equals_one_call(monkeypatch):
    """Query-chunked attention (bounded memory at 1280x720) gives the single call's values."""
    import torch

    from methods.causal_diffusion import model

    torch.manual_seed(0)
    q, k, v = (torch.randn(2, 4, 300, 8) for _ in range(3))
    whole = model.attention(q, k, v)
    monkeypatch.setattr(model, "ATTENTION_BYTES", 2 * 4 * 300 * 4 * 37)   # 37 rows a chunk
    chunked = model.attention(q, k, v)
    assert torch.allclose(chunked, whole, atol=1e-6)
    assert torch.equal(whole, torch.nn.functional.scaled_dot_product_attention(q, k, v))
