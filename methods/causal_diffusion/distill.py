"""Temporal-only distillation of the bidirectional teacher into a causal few-step student.

The student starts as a copy of the teacher; only its Temporal Adapter is trainable (everything
else frozen) and its mask is block-causal. Objective (CausVid's ODE initialisation): for the
same noise and conditions, the student's k-step streaming rollout (exactly the inference
procedure, KV cache included) regresses onto the endpoint of the teacher's multi-step DDIM
trajectory over the same clip.
"""

from __future__ import annotations

import copy
import time
from dataclasses import asdict, dataclass
from pathlib import Path

import numpy as np
import torch
from tqdm import tqdm

from methods.causal_diffusion.checkpoint import load_checkpoint, save_checkpoint
from methods.causal_diffusion.data import ClipBank
from methods.causal_diffusion.diffusion import ddim_sample, full_context
from methods.causal_diffusion.model import component_parameters
from methods.causal_diffusion.sender import SenderParams
from methods.causal_diffusion.stream import StreamingDecoder


@dataclass
class DistillSettings:
    """Everything that determines a distillation run (stored in the checkpoint)."""

    teacher: str = ""
    steps: int = 300
    student_steps: int = 2          # k
    teacher_steps: int = 16         # the teacher's DDIM steps for the targets
    block: int = 1
    window: int | None = 16
    sinks: int = 0
    batch: int = 1
    frames: int = 8
    crop: int = 64
    lr: float = 5e-4
    seed: int = 0
    sequences: list[str] | None = None
    max_frames: int | None = None


def freeze_all_but_temporal(model) -> dict[str, int]:
    """requires_grad only on the Temporal Adapter; returns trainable and total counts."""
    model.requires_grad_(False)
    for p in model.temporal_parameters():
        p.requires_grad_(True)
    trainable = sum(p.numel() for p in model.parameters() if p.requires_grad)
    total = sum(p.numel() for p in model.parameters())
    return {"trainable": trainable, "total": total, "ratio_full_to_trainable": total / trainable}


def distill(settings: DistillSettings, out: str | Path, device: str = "cpu",
            progress: bool = True, bank: ClipBank | None = None) -> dict:
    """Train the student's temporal layers; write its checkpoint; return the run's figures."""
    torch.manual_seed(settings.seed)
    rng = np.random.default_rng(settings.seed)
    teacher, meta = load_checkpoint(settings.teacher, device)
    teacher.requires_grad_(False)
    student = copy.deepcopy(teacher).train()
    counts = freeze_all_but_temporal(student)
    params = [SenderParams(**p) for p in meta["train"]["rate_points"]]
    bank = bank or ClipBank(params, teacher.config.semantic_classes,
                            sequences=settings.sequences, max_frames=settings.max_frames)
    opt = torch.optim.AdamW(student.temporal_parameters(), lr=settings.lr, weight_decay=0.0)
    losses, start = [], time.perf_counter()
    bar = tqdm(total=settings.steps, disable=not progress, desc="cdm distill")
    for _ in range(settings.steps):
        batch = bank.sample(rng, settings.batch, settings.frames, settings.crop).to(device)
        noise = torch.randn_like(batch.target)
        with torch.no_grad():
            target = ddim_sample(teacher, noise, batch.semantic, batch.restoration,
                                 settings.teacher_steps,
                                 lambda: full_context(settings.frames, device))
        decoder = StreamingDecoder(student, settings.student_steps, settings.block,
                                   settings.window, settings.sinks)
        outputs = []
        for first in range(0, settings.frames, settings.block):
            sl = slice(first, first + settings.block)
            outputs.append(decoder.decode_block(noise[:, sl], batch.semantic[:, sl],
                                                batch.restoration[:, sl], detach_cache=False))
        loss = torch.mean((torch.cat(outputs, 1) - target) ** 2)
        opt.zero_grad(set_to_none=True)
        loss.backward()
        torch.nn.utils.clip_grad_norm_(student.temporal_parameters(), 1.0)
        opt.step()
        losses.append(loss.item())
        bar.update(1)
        bar.set_postfix(loss=f"{np.mean(losses[-20:]):.5f}")
    bar.close()
    seconds = time.perf_counter() - start
    figures = {"steps": settings.steps, "distill_seconds": round(seconds, 1),
               "loss_first20": float(np.mean(losses[:20])),
               "loss_last20": float(np.mean(losses[-20:])), **counts,
               "parameters": component_parameters(student), "device": device,
               "teacher_figures": meta.get("figures", {})}
    student.eval()
    save_checkpoint(student, out, {"stage": "student", "train": meta["train"],
                                   "distill": asdict(settings), "data": bank.description,
                                   "figures": figures})
    return figures
