"""Tiny trained checkpoints of the proposed method for tests (seconds of CPU training)."""

from __future__ import annotations

from pathlib import Path

import torch

from methods.causal_diffusion.distill import DistillSettings, distill
from methods.causal_diffusion.model import CONFIGS, VideoDenoiser
from methods.causal_diffusion.train import TrainSettings, train

TINY_DATA = {"sequences": ["carphone"], "max_frames": 12}


def train_tiny(folder: Path) -> dict[str, Path]:
    """Spatial (30 steps), teacher (20) and one-step student (6) tiny checkpoints."""
    torch.set_num_threads(1)
    paths = {k: folder / f"tiny-{k}.safetensors" for k in ("spatial", "teacher", "student")}
    train(TrainSettings(stage="spatial", config="tiny", steps=30, batch=4, crop=32,
                        **TINY_DATA), paths["spatial"], progress=False)
    train(TrainSettings(stage="teacher", steps=20, batch=1, frames=4, crop=32,
                        init=str(paths["spatial"]), **TINY_DATA), paths["teacher"],
          progress=False)
    distill(DistillSettings(teacher=str(paths["teacher"]), steps=6, frames=4, crop=32,
                            student_steps=1, teacher_steps=2, objective="ode", **TINY_DATA),
            paths["student"],
            progress=False)
    return paths


def random_tiny(seed: int = 0) -> VideoDenoiser:
    """A tiny denoiser whose zero-initialised layers are randomised too (a 'trained' stand-in),
    so every module influences the output."""
    torch.manual_seed(seed)
    model = VideoDenoiser(CONFIGS["tiny"]).eval()
    with torch.no_grad():
        for p in model.parameters():
            if p.abs().sum() == 0:
                p.normal_(0, 0.05)
    return model


def random_inputs(frames: int, h: int = 32, w: int = 48, seed: int = 1):
    gen = torch.Generator().manual_seed(seed)
    x = torch.randn(1, frames, 3, h, w, generator=gen)
    sem = torch.randn(1, frames, CONFIGS["tiny"].semantic_classes + 3, h, w, generator=gen)
    res = torch.randn(1, frames, 4, h, w, generator=gen)
    t = torch.rand(1, frames, generator=gen)
    return x, t, sem, res
