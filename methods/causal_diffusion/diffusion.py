"""Noise schedule, condition tensors and the deterministic DDIM sampler of the proposed method.

Continuous time t in [0, 1] with a cosine schedule: x_t = a(t) x0 + s(t) eps, a = cos(pi t / 2),
s = sin(pi t / 2); t = 1 is pure noise. The denoiser predicts x0; eps follows from x_t.
"""

from __future__ import annotations

import math

import numpy as np
import torch
import torch.nn.functional as F

from methods.causal_diffusion.model import TemporalContext, VideoDenoiser

AGE_SCALE = 32.0   # the restoration frame's age channel is age / AGE_SCALE


def alpha_sigma(t: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
    """Signal and noise scales of the cosine schedule at times t."""
    angle = t.clamp(0, 1) * (math.pi / 2)
    return angle.cos(), angle.sin()


def add_noise(x0: torch.Tensor, t: torch.Tensor, noise: torch.Tensor) -> torch.Tensor:
    """x_t for x0 (B, T, C, H, W) at per-frame times t (B, T)."""
    a, s = alpha_sigma(t)
    return a[..., None, None, None] * x0 + s[..., None, None, None] * noise


def to_model_range(rgb: np.ndarray | torch.Tensor) -> torch.Tensor:
    """uint8 (..., H, W, 3) frames to float (..., 3, H, W) in [-1, 1]."""
    x = torch.as_tensor(np.asarray(rgb)).float() / 127.5 - 1.0
    return x.movedim(-1, -3)


def to_uint8(x: torch.Tensor) -> np.ndarray:
    """Model-range (..., 3, H, W) to uint8 (..., H, W, 3) with rounding."""
    return ((x.float().clamp(-1, 1) + 1) * 127.5).round().movedim(-3, -1).byte().cpu().numpy()


def condition_tensors(restoration: np.ndarray, labels: np.ndarray, palette: np.ndarray,
                      age: np.ndarray, classes: int) -> tuple[torch.Tensor, torch.Tensor]:
    """Model inputs of T frames: semantic (T, classes + 3, H, W) = one-hot label maps and their
    palette colours, upsampled (nearest) to the frame size; restoration (T, 4, H, W) = the held
    decoded frame in [-1, 1] and its age."""
    rest = to_model_range(restoration)
    frames, _, h, w = rest.shape
    lab = torch.as_tensor(np.asarray(labels)).long()
    lab = F.interpolate(lab[:, None].float(), size=(h, w), mode="nearest")[:, 0].long()
    onehot = F.one_hot(lab, classes).permute(0, 3, 1, 2).float()
    colours = (torch.as_tensor(np.asarray(palette)).float() / 127.5 - 1.0).T   # 3, K
    pal = colours[:, lab].permute(1, 0, 2, 3)                             # T, 3, H, W
    ages = torch.as_tensor(np.asarray(age)).float().reshape(frames, 1, 1, 1) / AGE_SCALE
    return torch.cat([onehot, pal], 1), torch.cat([rest, ages.expand(frames, 1, h, w)], 1)


def sample_times(steps: int) -> list[float]:
    """The times a k-step sampler visits, from pure noise down (excluding 0)."""
    return [1.0 - i / steps for i in range(steps)]


@torch.no_grad()
def ddim_sample(model: VideoDenoiser, noise: torch.Tensor, semantic: torch.Tensor,
                restoration: torch.Tensor, steps: int, ctx_factory=None) -> torch.Tensor:
    """Deterministic DDIM (eta = 0) from noise (B, T, 3, H, W) over `steps` uniform steps;
    ctx_factory() gives a fresh TemporalContext per evaluation (None: frames independent)."""
    x = noise
    times = sample_times(steps) + [0.0]
    x0 = x
    conditions = model.encode_conditions(semantic, restoration)   # the same at every step
    for t_now, t_next in zip(times[:-1], times[1:], strict=True):
        t = torch.full(x.shape[:2], t_now, device=x.device)
        x0 = model(x, t, semantic, restoration, ctx_factory() if ctx_factory else None,
                   conditions=conditions)
        x = renoise(x, x0, t_now, t_next)
    return x0


def renoise(x: torch.Tensor, x0: torch.Tensor, t_now: float, t_next: float) -> torch.Tensor:
    """One DDIM step: move x_t to x_{t_next} along the predicted x0 and implied noise."""
    a, s = alpha_sigma(torch.tensor(t_now))
    a2, s2 = alpha_sigma(torch.tensor(t_next))
    eps = (x - a * x0) / s.clamp_min(1e-4)
    return a2 * x0 + s2 * eps


def full_context(frames: int, device: str | torch.device = "cpu") -> TemporalContext:
    """Bidirectional attention over a window of frames (the teacher)."""
    return TemporalContext(torch.arange(frames, device=device), mode="full")
