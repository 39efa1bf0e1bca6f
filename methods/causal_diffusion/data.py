"""Training clips for the proposed method: the embedded clips' training segments (the
evaluation segments are held out), passed once through the sender at each training rate point
and cached, then sampled as random crops of T consecutive frames."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import torch

from benchmark.core.errors import UlvrError
from benchmark.data.manifest import Sequence, load_dataset
from methods.causal_diffusion.diffusion import condition_tensors, to_model_range
from methods.causal_diffusion.sender import SenderParams, cached_clip_data


@dataclass
class Batch:
    """Targets and conditions of B clips of T frames: tensors (B, T, C, H, W)."""

    target: torch.Tensor
    semantic: torch.Tensor
    restoration: torch.Tensor

    def to(self, device: str | torch.device) -> Batch:
        return Batch(self.target.to(device), self.semantic.to(device),
                     self.restoration.to(device))


class ClipBank:
    """All (sequence, rate point) training clips, held in memory as uint8 arrays."""

    def __init__(self, params: list[SenderParams], classes: int, dataset: str = "embedded",
                 sequences: list[str] | None = None, max_frames: int | None = None,
                 extra: list[Sequence] | None = None) -> None:
        data = load_dataset(dataset, segment="train", sequences=sequences, max_frames=max_frames)
        if any(s.segment != "train" for s in extra or []):
            raise UlvrError("extra training sequences must be training segments")
        chosen = [*data.sequences, *(extra or [])]
        self.clips = [cached_clip_data(seq, p) for seq in chosen for p in params]
        self.classes = classes
        self.description = {"dataset": dataset, "segment": "train",
                            "sequences": [s.name for s in chosen],
                            "frames": [s.num_frames for s in chosen],
                            "extra_datasets": sorted({s.dataset for s in extra or []}),
                            "rate_points": [p.label for p in params]}

    def sample(self, rng: np.random.Generator, batch: int, frames: int, crop: int) -> Batch:
        """Random clips: a (sequence, rate point), a start frame, a crop, a horizontal flip."""
        items = [self._one(rng, frames, crop) for _ in range(batch)]
        return Batch(*(torch.stack(parts) for parts in zip(*items, strict=True)))

    def _one(self, rng: np.random.Generator, frames: int, crop: int):
        clip = self.clips[rng.integers(len(self.clips))]
        n, h, w = clip["source"].shape[:3]
        start = int(rng.integers(0, n - frames + 1))
        sl = slice(start, start + frames)
        sem, rest = condition_tensors(clip["restoration"][sl], clip["labels"][sl],
                                      clip["palette"], clip["age"][sl], self.classes)
        target = to_model_range(clip["source"][sl])
        y, x = int(rng.integers(0, h - crop + 1)), int(rng.integers(0, w - crop + 1))
        win = (..., slice(y, y + crop), slice(x, x + crop))
        parts = [target[win], sem[win], rest[win]]
        if rng.random() < 0.5:
            parts = [p.flip(-1) for p in parts]
        # contiguous: a frozen conv's input-only backward on channels-last-strided tensors
        # crashes torch 2.13's CPU kernels (a teacher stage with a frozen backbone segfaulted)
        return [p.contiguous() for p in parts]
