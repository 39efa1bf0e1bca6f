"""Temporal-only distillation of the bidirectional teacher into a causal few-step student.

The student starts as a copy of the teacher; only its Temporal Adapter is trainable (everything
else frozen) and its mask is block-causal. Two objectives:

- `ode` (CausVid's ODE initialisation): for the same noise and conditions, the student's k-step
  streaming rollout (the inference procedure, KV cache included) regresses onto the endpoint of
  the teacher's multi-step DDIM trajectory over the same clip. Mean-seeking: it blurs.
- `self-forcing` (default): the student rolls out on its own outputs through a detached KV
  cache, and the gradient runs through one random denoising step per block (Self-Forcing's
  stochastic exit). The loss adds, with weights: L1 to the ground truth, a perceptual term on
  LPIPS-vgg or DISTS features (`perceptual`; never LPIPS-alex, an evaluation metric), a
  temporal-difference L1 (frame-to-frame changes match the ground truth's), optionally the ODE
  term, and distribution matching (DMD):
  the gradient (fake x0 - real x0) at a random noise level, with the teacher as the real score
  and an online fake score (a copy of the teacher trained by denoising the student's outputs).
"""

from __future__ import annotations

import copy
import time
from dataclasses import asdict, dataclass
from pathlib import Path

import numpy as np
import torch
from tqdm import tqdm

from benchmark.core.errors import UlvrError
from methods.causal_diffusion.checkpoint import load_checkpoint, save_checkpoint
from methods.causal_diffusion.data import Batch, ClipBank, MixedBank, build_bank
from methods.causal_diffusion.diffusion import add_noise, ddim_sample, full_context
from methods.causal_diffusion.model import component_parameters
from methods.causal_diffusion.pseudo import pseudo_sequences
from methods.causal_diffusion.runstate import RunState, run_identity
from methods.causal_diffusion.sender import SenderParams
from methods.causal_diffusion.stream import StreamingDecoder
from methods.causal_diffusion.train import trainable_parameters


@dataclass
class DistillSettings:
    """Everything that determines a distillation run (stored in the checkpoint)."""

    teacher: str = ""
    steps: int = 300
    student_steps: int = 2          # k
    teacher_steps: int = 16         # the teacher's DDIM steps for the targets
    block: int = 1
    cache_from: str = "clean"       # the KV cache from a clean pass, or from the last step
    window: int | None = 16
    sinks: int = 0
    batch: int = 1
    frames: int = 8
    crop: int = 64
    lr: float = 5e-4
    seed: int = 0
    sequences: list[str] | None = None
    max_frames: int | None = None
    objective: str = "self-forcing"  # or "ode" (the shipped small-causal was trained so)
    w_l1: float = 1.0               # self-forcing loss weights
    w_perceptual: float = 0.5
    perceptual: str = "lpips-vgg"   # the perceptual loss's network (PERCEPTUAL_LOSSES)
    w_temporal: float = 0.5
    w_ode: float = 0.0
    w_dmd: float = 0.25
    fake_lr: float = 1e-4           # the online fake score's learning rate
    trainable: str = "temporal"     # or "all": the full-parameter baseline of the time ratio
    pseudo_videos: int = 0          # pseudo-videos from package stills added to the clips
    init: str = ""                  # continue from this student (default: the teacher's copy)
    noise: str = "frame"            # a noise field per frame, or one per clip ("sequence", as
    #                                 the student decodes)
    recurrent: bool = False         # stale blocks start from the last fresh block's output
    mix: str = ""                   # the training mix (mixes.MIXES); empty: the teacher's


OBJECTIVES = ("self-forcing", "ode")


def _lpips_vgg_loss(device: str):
    """LPIPS-vgg distance per frame of model-range (n, 3, H, W) pairs."""
    from benchmark.metrics.lpips import load_lpips

    net = load_lpips("vgg", device).eval().requires_grad_(False)
    return lambda x, gt: net(x, gt).reshape(-1)


def _dists_loss(device: str):
    """DISTS per frame of model-range (n, 3, H, W) pairs (DISTS reads [0, 1] RGB); the
    gradient flows through both towers (DISTS_pytorch's require_grad)."""
    from benchmark.metrics.dists import load_dists

    net = load_dists(device)
    return lambda x, gt: net((gt + 1) / 2, (x + 1) / 2, require_grad=True).reshape(-1)


# The perceptual terms a distillation may use: feature distances that are not the evaluation's
# LPIPS-alex. Each entry builds a (student frames, ground truth) -> per-frame loss function.
PERCEPTUAL_LOSSES = {"lpips-vgg": _lpips_vgg_loss, "dists": _dists_loss}


def check_perceptual(name: str) -> None:
    """Refuse a perceptual loss that PERCEPTUAL_LOSSES does not hold (before any work)."""
    if name not in PERCEPTUAL_LOSSES:
        raise UlvrError(f"unknown perceptual loss '{name}': use one of "
                        f"{', '.join(PERCEPTUAL_LOSSES)}")


def freeze_all_but_temporal(model, which: str = "temporal") -> dict[str, int]:
    """requires_grad only on the Temporal Adapter ("all": on everything, the full-parameter
    baseline); returns trainable and total counts."""
    trainable = sum(p.numel() for p in trainable_parameters(model, which))
    total = sum(p.numel() for p in model.parameters())
    return {"trainable": trainable, "total": total, "ratio_full_to_trainable": total / trainable}


def distill_bank(settings: DistillSettings, meta: dict, classes: int) -> ClipBank | MixedBank:
    """The student's clips: the mix the teacher was trained on unless another is asked for
    (written back into the settings); on the embedded mix the teacher's own rate points."""
    extra = pseudo_sequences(settings.pseudo_videos)
    settings.mix = settings.mix or meta["train"].get("mix", "embedded")
    if settings.mix == "embedded" and meta["train"].get("rate_points"):
        params = [SenderParams(**p) for p in meta["train"]["rate_points"]]
        return ClipBank(params, classes, sequences=settings.sequences,
                        max_frames=settings.max_frames, extra=extra)
    return build_bank(settings.mix, meta["train"].get("points", "default"), classes,
                      settings.crop, settings.sequences, settings.max_frames, extra)


def distill(settings: DistillSettings, out: str | Path, device: str = "cpu",
            progress: bool = True, bank: ClipBank | MixedBank | None = None,
            resume: bool = False) -> dict:
    """Train the student's temporal layers; write its checkpoint; return the run's figures.
    `resume`: continue from the state saved beside `out` (runstate.py)."""
    torch.manual_seed(settings.seed)
    rng = np.random.default_rng(settings.seed)
    teacher, meta = load_checkpoint(settings.teacher, device)
    teacher.requires_grad_(False)
    student = copy.deepcopy(teacher).train()
    if settings.init:
        earlier, _ = load_checkpoint(settings.init, device)
        student.load_state_dict(earlier.state_dict())
    counts = freeze_all_but_temporal(student, settings.trainable)
    trained = [p for p in student.parameters() if p.requires_grad]
    bank = bank or distill_bank(settings, meta, teacher.config.semantic_classes)
    opt = torch.optim.AdamW(trained, lr=settings.lr, weight_decay=0.0)
    if settings.objective not in OBJECTIVES:
        raise UlvrError(f"unknown objective '{settings.objective}': use one of "
                        f"{', '.join(OBJECTIVES)}")
    step_loss = ode_step if settings.objective == "ode" else SelfForcing(teacher, settings, device)
    run = RunState(out, run_identity(settings, settings.teacher))
    step, seconds, losses = 0, 0.0, []
    if resume:
        state = run.load(device, rng)
        student.load_state_dict(state["student"])
        opt.load_state_dict(state["opt"])
        if isinstance(step_loss, SelfForcing):
            step_loss.load_state_dict(state["objective"])
        step, seconds, losses = int(state["step"]), float(state["seconds"]), \
            state["losses"].tolist()
    start = time.perf_counter()
    bar = tqdm(total=settings.steps, initial=step, disable=not progress, desc="cdm distill")
    while step < settings.steps:
        batch = bank.sample(rng, settings.batch, settings.frames, settings.crop).to(device)
        loss, parts = step_loss(student, teacher, batch, settings, rng)
        opt.zero_grad(set_to_none=True)
        loss.backward()
        torch.nn.utils.clip_grad_norm_(trained, 1.0)
        opt.step()
        losses.append(loss.item())
        step += 1
        bar.update(1)
        bar.set_postfix(loss=f"{np.mean(losses[-20:]):.5f}", **{k: f"{v:.4f}"
                                                                 for k, v in parts.items()})
        if run.due() or step == settings.steps:
            run.save({"student": student.state_dict(), "opt": opt.state_dict(),
                      "objective": step_loss.state_dict()
                      if isinstance(step_loss, SelfForcing) else {},
                      "step": step, "seconds": seconds + time.perf_counter() - start,
                      "losses": torch.tensor(losses)}, rng)
    bar.close()
    seconds += time.perf_counter() - start
    figures = {"steps": step, "distill_seconds": round(seconds, 1),
               "loss_first20": float(np.mean(losses[:20])),
               "loss_last20": float(np.mean(losses[-20:])), **counts,
               "parameters": component_parameters(student), "device": device,
               "teacher_figures": meta.get("figures", {})}
    student.eval()
    save_checkpoint(student, out, {"stage": "student", "train": meta["train"],
                                   "distill": asdict(settings), "data": bank.description,
                                   "figures": figures})
    return figures


def teacher_endpoint(teacher, noise: torch.Tensor, batch: Batch, settings: DistillSettings,
                     device: str) -> torch.Tensor:
    """The teacher's multi-step DDIM endpoint over the whole clip (bidirectional)."""
    with torch.no_grad():
        return ddim_sample(teacher, noise, batch.semantic, batch.restoration,
                           settings.teacher_steps, lambda: full_context(settings.frames, device))


def rollout(student, noise: torch.Tensor, batch: Batch, settings: DistillSettings,
            exits: list[int] | None = None) -> torch.Tensor:
    """The student's streaming rollout over the clip, block by block (inference's procedure);
    with `exits`, Self-Forcing's: detached cache, gradient through one step per block.
    `settings.recurrent`: a block whose texture is held (age > 0) starts from the output of the
    last block whose texture was new, detached (causal-diffusion's recurrent start; a clip that
    begins on held texture takes its first block as that anchor)."""
    decoder = StreamingDecoder(student, settings.student_steps, settings.block,
                               settings.window, settings.sinks, settings.cache_from)
    outputs, anchor = [], None
    for n, first in enumerate(range(0, settings.frames, settings.block)):
        sl = slice(first, first + settings.block)
        stale = settings.recurrent and bool((batch.restoration[:, sl, 3] > 0).all())
        previous = anchor.expand(-1, noise[:, sl].shape[1], -1, -1, -1) \
            if stale and anchor is not None else None
        out = decoder.decode_block(
            noise[:, sl], batch.semantic[:, sl], batch.restoration[:, sl],
            detach_cache=exits is not None, exit_step=None if exits is None else exits[n],
            previous=previous)
        if previous is None and (not stale or anchor is None):
            anchor = out[:, -1:].detach()
        outputs.append(out)
    return torch.cat(outputs, 1)


def rollout_noise(batch: Batch, mode: str) -> torch.Tensor:
    """The rollout's initial noise: a field per frame, or one per clip ("sequence")."""
    if mode == "sequence":
        return torch.randn_like(batch.target[:, :1]).expand_as(batch.target).contiguous()
    return torch.randn_like(batch.target)


def ode_step(student, teacher, batch: Batch, settings: DistillSettings,
             rng: np.random.Generator) -> tuple[torch.Tensor, dict]:
    """CausVid's ODE regression: the rollout onto the teacher's endpoint from the same noise."""
    noise = torch.randn_like(batch.target)
    target = teacher_endpoint(teacher, noise, batch, settings, str(noise.device))
    loss = torch.mean((rollout(student, noise, batch, settings) - target) ** 2)
    return loss, {}


class SelfForcing:
    """The self-forcing objective; holds the perceptual network and the online fake score."""

    def __init__(self, teacher, settings: DistillSettings, device: str) -> None:
        self.settings, self.device = settings, device
        self.perceptual = None
        if settings.w_perceptual:
            check_perceptual(settings.perceptual)
            self.perceptual = PERCEPTUAL_LOSSES[settings.perceptual](device)
        self.fake = None
        if settings.w_dmd:
            self.fake = copy.deepcopy(teacher).train().requires_grad_(True)
            self.fake_opt = torch.optim.AdamW(self.fake.parameters(), lr=settings.fake_lr,
                                              weight_decay=0.0)

    def state_dict(self) -> dict:
        """The online fake score and its optimiser (what a resumed run needs)."""
        if self.fake is None:
            return {}
        return {"fake": self.fake.state_dict(), "fake_opt": self.fake_opt.state_dict()}

    def load_state_dict(self, state: dict) -> None:
        if self.fake is not None and state:
            self.fake.load_state_dict(state["fake"])
            self.fake_opt.load_state_dict(state["fake_opt"])

    def __call__(self, student, teacher, batch: Batch, settings: DistillSettings,
                 rng: np.random.Generator) -> tuple[torch.Tensor, dict]:
        noise = rollout_noise(batch, settings.noise)
        blocks = -(-settings.frames // settings.block)
        exits = [int(e) for e in rng.integers(0, settings.student_steps, size=blocks)]
        if settings.cache_from == "last-step" or settings.recurrent:
            # the cache comes from the last step, or a recurrent start runs only the last ones
            exits = [settings.student_steps - 1] * blocks
        x = rollout(student, noise, batch, settings, exits)
        gt = batch.target
        parts = {"l1": (x - gt).abs().mean()}
        if self.perceptual is not None:
            parts["perceptual"] = self.perceptual(x.flatten(0, 1), gt.flatten(0, 1)).mean()
        if settings.frames > 1:
            parts["temporal"] = ((x[:, 1:] - x[:, :-1]) - (gt[:, 1:] - gt[:, :-1])).abs().mean()
        if settings.w_ode:
            target = teacher_endpoint(teacher, noise, batch, settings, self.device)
            parts["ode"] = torch.mean((x - target) ** 2)
        if self.fake is not None:
            parts["dmd"] = self._dmd(teacher, x, batch, rng)
        weights = {"l1": settings.w_l1, "perceptual": settings.w_perceptual,
                   "temporal": settings.w_temporal, "ode": settings.w_ode, "dmd": settings.w_dmd}
        loss = sum(weights[k] * v for k, v in parts.items())
        return loss, {k: float(v.detach()) for k, v in parts.items()}

    def _dmd(self, teacher, x: torch.Tensor, batch: Batch,
             rng: np.random.Generator) -> torch.Tensor:
        """Distribution matching (DMD2's form): push the student's frames along
        (fake x0 - real x0) at a random noise level, normalised; then one denoising step of the
        fake score on the student's (detached) frames."""
        frames = x.shape[1]
        ctx = lambda: full_context(frames, self.device)   # noqa: E731
        t = torch.full(x.shape[:2], float(rng.uniform(0.02, 0.98)), device=x.device)
        xt = add_noise(x.detach(), t, torch.randn_like(x))
        with torch.no_grad():
            real = teacher(xt, t, batch.semantic, batch.restoration, ctx())
            fake = self.fake(xt, t, batch.semantic, batch.restoration, ctx())
            scale = (x.detach() - real).abs().mean().clamp_min(1e-4)
            grad = (fake - real) / scale
        loss = 0.5 * torch.mean((x - (x - grad).detach()) ** 2)
        # the fake score learns the student's current distribution
        t2 = torch.full(x.shape[:2], float(rng.uniform(0.02, 0.98)), device=x.device)
        noisy = add_noise(x.detach(), t2, torch.randn_like(x))
        fake_loss = torch.mean((self.fake(noisy, t2, batch.semantic, batch.restoration, ctx())
                                - x.detach()) ** 2)
        self.fake_opt.zero_grad(set_to_none=True)
        fake_loss.backward()
        self.fake_opt.step()
        return loss
