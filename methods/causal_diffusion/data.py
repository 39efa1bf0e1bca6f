"""Training clips for the proposed method and its receiver baselines: the training segments of a
mix's datasets (the evaluation segments are held out; methods/causal_diffusion/mixes.py), passed
once through the sender at each training rate point and cached, then sampled as random crops of
T consecutive frames."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import torch

from benchmark.core.errors import UlvrError
from benchmark.data.manifest import Sequence, load_dataset
from methods.causal_diffusion.diffusion import condition_tensors, to_model_range
from methods.causal_diffusion.mixes import TrainSource, mix_sources, source_points
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

    def banks(self) -> list[ClipBank]:
        """The single-dataset banks it samples: itself."""
        return [self]

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


class MixedBank:
    """The clips of a training mix: each batch comes from one source, drawn by its weight, at
    its crop (the run's crop times the source's `crop_scale`)."""

    def __init__(self, mix: str, parts: list[tuple[TrainSource, ClipBank]]) -> None:
        self.parts = parts
        total = sum(src.weight for src, _ in parts)
        self.weights = np.array([src.weight / total for src, _ in parts])
        self.classes = parts[0][1].classes
        self.description = {"mix": mix, "sources": [
            {**bank.description, "weight": src.weight, "crop_scale": src.crop_scale}
            for src, bank in parts]}

    def banks(self) -> list[ClipBank]:
        """The single-dataset banks it samples, one per source."""
        return [bank for _, bank in self.parts]

    def sample(self, rng: np.random.Generator, batch: int, frames: int, crop: int) -> Batch:
        src, bank = self.parts[int(rng.choice(len(self.parts), p=self.weights))]
        return bank.sample(rng, batch, frames, source_crop(src, crop))


def source_crop(source: TrainSource, crop: int) -> int:
    """The crop a source is sampled at: the run's crop, or scaled by the source's crop_scale
    to a multiple of 8."""
    if source.crop_scale == 1.0:
        return crop
    return max(8, int(round(crop * source.crop_scale / 8)) * 8)


def build_bank(mix: str, point_set: str, classes: int, crop: int,
               sequences: list[str] | None = None, max_frames: int | None = None,
               extra: list[Sequence] | None = None) -> ClipBank | MixedBank:
    """The training clips of a mix at a point set's points; pseudo-videos (`extra`) join the
    mix's first source. Unknown sequence names, a source left without a sequence and crops
    larger than a source's frames are refused before any clip is built."""
    sources = mix_sources(mix)
    available = {src.dataset: load_dataset(src.dataset, segment="train").sequences
                 for src in sources}
    known = {s.name for seqs in available.values() for s in seqs}
    unknown = sorted(set(sequences or ()) - known)
    if unknown:
        raise UlvrError(f"training mix '{mix}' has no sequence {', '.join(unknown)}: choose "
                        f"from {', '.join(sorted(known))}")
    names = []
    for i, src in enumerate(sources):
        seqs = [s for s in available[src.dataset] if not sequences or s.name in sequences]
        if not seqs:
            raise UlvrError(f"training mix '{mix}' draws from {src.dataset}, which has none of "
                            f"{', '.join(sequences or ())}: add one of "
                            f"{', '.join(s.name for s in available[src.dataset])}, or use "
                            "another --mix")
        size = source_crop(src, crop)
        small = [s for s in [*seqs, *(extra or [] if i == 0 else [])]
                 if min(s.width, s.height) < size]
        if small:
            raise UlvrError(f"crop {size} (--crop {crop} x {src.crop_scale:g} in mix '{mix}') "
                            f"is larger than {small[0].name} of {small[0].dataset} "
                            f"({small[0].width}x{small[0].height}): use a smaller --crop")
        names.append([s.name for s in seqs] if sequences else None)
    parts = [(src, ClipBank(source_points(point_set, src.dataset), classes, src.dataset, chosen,
                            max_frames, extra if i == 0 else None))
             for i, (src, chosen) in enumerate(zip(sources, names, strict=True))]
    if len(parts) == 1 and parts[0][0].crop_scale == 1.0:
        return parts[0][1]
    return MixedBank(mix, parts)
