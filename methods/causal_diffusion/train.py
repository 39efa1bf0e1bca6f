"""Training of the proposed method's denoiser: stage 1 (spatial model with both conditions, on
frames) and stage 2 (the bidirectional teacher: Temporal Adapter added, trained on clips).

Seeded and reproducible on CPU; EMA weights are what the checkpoint holds; bf16 autocast on
CUDA; tqdm shows the loss; `resume` continues from the training state saved beside the
checkpoint (`<out>.state.pt`: model, EMA, optimiser, step; written every 5 minutes and at
the end, methods/causal_diffusion/runstate.py).
"""

from __future__ import annotations

import copy
import time
from dataclasses import asdict, dataclass, field, replace
from pathlib import Path

import numpy as np
import torch
from tqdm import tqdm

from benchmark.core.errors import UlvrError
from methods.causal_diffusion.checkpoint import load_checkpoint, save_checkpoint
from methods.causal_diffusion.data import ClipBank, MixedBank, build_bank
from methods.causal_diffusion.diffusion import add_noise, full_context
from methods.causal_diffusion.mixes import mix_sources, source_points
from methods.causal_diffusion.model import CONFIGS, VideoDenoiser, component_parameters
from methods.causal_diffusion.pseudo import pseudo_sequences
from methods.causal_diffusion.runstate import RunState, run_identity
from methods.causal_diffusion.sender import SenderParams

STAGES = ("spatial", "teacher")
# What each stage trains by default: the teacher's temporal stage adds the Temporal Adapter to a
# trained spatial model and trains only it (backbone and both condition branches frozen).
TRAINABLE = {"spatial": "all", "teacher": "temporal"}
TRAINABLE_SETS = ("all", "temporal")   # every parameter, or the Temporal Adapter only


@dataclass
class TrainSettings:
    """Everything that determines a training run (stored in the checkpoint's metadata)."""

    stage: str = "spatial"
    config: str = "small"
    steps: int = 1000
    batch: int = 8
    frames: int = 1
    crop: int = 64
    lr: float = 2e-4
    ema: float = 0.999
    seed: int = 0
    init: str | None = None            # checkpoint to start from (teacher: the spatial model)
    sequences: list[str] | None = None
    max_frames: int | None = None
    rate_points: list[dict] = field(default_factory=list)
    points: str = "default"            # which rate points when rate_points is empty
    pseudo_videos: int = 0             # pseudo-videos from package stills (methods/.../pseudo.py)
    trainable: str = ""                # "all" or "temporal"; empty: the stage's (TRAINABLE)
    mix: str = "embedded"              # which datasets' training segments (mixes.MIXES)


TEMPORAL_FIELDS = ("temporal_heads", "temporal_ratio", "temporal_levels")


def build_model(settings: TrainSettings, device: str) -> VideoDenoiser:
    """The model a stage starts from. The teacher stage adds a new Temporal Adapter, sized as
    the named config of the same widths says, to the spatial model it is initialised from
    (whose own, never trained, temporal layers are dropped)."""
    if settings.init:
        model, meta = load_checkpoint(settings.init, device)
        if settings.stage != "teacher" or meta.get("stage") != "spatial":
            return model.train()
        sized = next((c for c in CONFIGS.values() if c.channels == model.config.channels),
                     model.config)
        config = replace(model.config, **{k: getattr(sized, k) for k in TEMPORAL_FIELDS})
        fresh = VideoDenoiser(config).to(device)
        spatial = {k: v for k, v in model.state_dict().items() if not k.startswith("temporal.")}
        missing, unexpected = fresh.load_state_dict(spatial, strict=False)
        if unexpected or any(not k.startswith("temporal.") for k in missing):
            raise UlvrError(f"spatial checkpoint {settings.init} does not fit its own "
                            "config: re-train it with 'ulvr cdm train --stage spatial'")
        return fresh.train()
    if settings.config not in CONFIGS:
        raise UlvrError(f"unknown model config '{settings.config}': choose from "
                        f"{', '.join(CONFIGS)}")
    return VideoDenoiser(CONFIGS[settings.config]).to(device)


def train(settings: TrainSettings, out: str | Path, device: str = "cpu", resume: bool = False,
          progress: bool = True, bank: ClipBank | MixedBank | None = None) -> dict:
    """Train one stage and write the EMA checkpoint to `out`; returns the run's figures."""
    if settings.stage not in STAGES:
        raise UlvrError(f"unknown stage '{settings.stage}': choose from {STAGES}")
    if settings.rate_points and len(mix_sources(settings.mix)) > 1:
        raise UlvrError(f"--rate-points applies to a single-dataset mix, not '{settings.mix}' "
                        "(its points per dataset are mixes.POINT_SETS)")
    torch.manual_seed(settings.seed)
    rng = np.random.default_rng(settings.seed)
    model = build_model(settings, device)
    bank = bank or training_bank(settings, model.config.semantic_classes)
    temporal = settings.stage == "teacher"
    model.use_temporal = temporal
    settings.trainable = settings.trainable or TRAINABLE[settings.stage]
    trained = trainable_parameters(model, settings.trainable)
    ema = copy.deepcopy(model).eval().requires_grad_(False)
    opt = torch.optim.AdamW(trained, lr=settings.lr, weight_decay=0.0)
    run = RunState(out, run_identity(settings))
    step, seconds, losses = 0, 0.0, []
    if resume:
        state = run.load(device, rng)
        model.load_state_dict(state["model"])
        ema.load_state_dict(state["ema"])
        opt.load_state_dict(state["opt"])
        step, seconds, losses = int(state["step"]), float(state["seconds"]), \
            state["losses"].tolist()
    autocast = torch.autocast("cuda", dtype=torch.bfloat16) if device.startswith("cuda") \
        else torch.autocast("cpu", enabled=False)
    bar = tqdm(total=settings.steps, initial=step, disable=not progress,
               desc=f"cdm {settings.stage}")
    start = time.perf_counter()
    while step < settings.steps:
        batch = bank.sample(rng, settings.batch, settings.frames, settings.crop).to(device)
        b, frames = batch.target.shape[:2]
        t = torch.rand(b, 1, device=device).expand(b, frames)
        noise = torch.randn_like(batch.target)
        x_t = add_noise(batch.target, t, noise)
        ctx = full_context(frames, device) if temporal else None
        with autocast:
            pred = model(x_t, t, batch.semantic, batch.restoration, ctx)
        loss = torch.mean((pred.float() - batch.target) ** 2)
        opt.zero_grad(set_to_none=True)
        loss.backward()
        torch.nn.utils.clip_grad_norm_(trained, 1.0)
        opt.step()
        decay = min(settings.ema, (1 + step) / (10 + step))
        with torch.no_grad():
            for pe, pm in zip(ema.parameters(), model.parameters(), strict=True):
                pe.lerp_(pm, 1 - decay)
        losses.append(loss.item())
        step += 1
        bar.update(1)
        bar.set_postfix(loss=f"{np.mean(losses[-50:]):.4f}")
        if run.due() or step == settings.steps:
            run.save({"model": model.state_dict(), "ema": ema.state_dict(),
                      "opt": opt.state_dict(), "step": step,
                      "seconds": seconds + time.perf_counter() - start,
                      "losses": torch.tensor(losses)}, rng)
    bar.close()
    seconds += time.perf_counter() - start
    figures = {"steps": step, "train_seconds": round(seconds, 1),
               "images_seen": step * settings.batch * settings.frames,
               "loss_first50": float(np.mean(losses[:50])),
               "loss_last50": float(np.mean(losses[-50:])),
               "parameters": component_parameters(model),
               "trainable_parameters": sum(p.numel() for p in trained), "device": device,
               "torch": torch.__version__}
    save_checkpoint(ema, out, {"stage": settings.stage, "train": asdict(settings),
                               "data": bank.description, "figures": figures})
    return figures


def training_bank(settings: TrainSettings, classes: int) -> ClipBank | MixedBank:
    """The clips a run trains on: explicit rate points on the mix's one dataset, or the mix at
    the settings' point set (the points are written back into the settings, as recorded)."""
    extra = pseudo_sequences(settings.pseudo_videos)
    if settings.rate_points:
        params = [SenderParams(**p) for p in settings.rate_points]
        return ClipBank(params, classes, mix_sources(settings.mix)[0].dataset,
                        settings.sequences, settings.max_frames, extra)
    sources = mix_sources(settings.mix)
    if len(sources) == 1:
        points = source_points(settings.points, sources[0].dataset)
        settings.rate_points = [asdict(p) for p in points]
    return build_bank(settings.mix, settings.points, classes, settings.crop, settings.sequences,
                      settings.max_frames, extra)


def trainable_parameters(model: VideoDenoiser, which: str) -> list[torch.nn.Parameter]:
    """Set requires_grad for `which` ("all" or "temporal": the Temporal Adapter only) and
    return the parameters the optimiser steps."""
    if which not in TRAINABLE_SETS:
        raise UlvrError(f"unknown trainable set '{which}': use 'all' or 'temporal'")
    model.requires_grad_(which == "all")
    if which == "temporal":
        for p in model.temporal_parameters():
            p.requires_grad_(True)
    return [p for p in model.parameters() if p.requires_grad]
