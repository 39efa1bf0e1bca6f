"""Two-tower image metrics (LPIPS, DISTS) split into per-image features and a distance head, so
that the reference side is computed once per sequence and protocol, not once per job, and a
held picture (a reconstructed frame equal to the one before it) once per run of repeats.

Both networks compare the features of two images that each tower computes alone. The reference
frames are the same in every job of a sequence: their features are kept in the feature cache
(`benchmark.core.featcache`), keyed by the network's protocol and the exact frame bytes, and only
the reconstruction's are computed. Values are the same bits with or without the cache: the head sees
the same float32 features either way.

At ultra-low rates many reconstructions repeat frames: temporally resampled codecs hold each
coded picture (`-tT` points), and the proposed sender's texture changes once per key interval.
A reconstructed frame byte-identical to the previous one reuses that frame's features (they are
a deterministic function of the bytes), so it costs the head only; the features of the last
frame are kept for the next call when they take at most HELD_FEATURE_BYTES.

Frames go through a network a few at a time, at most its `pixels_per_batch` pixels per batch
(MAX_BATCH_PIXELS for a network whose first stage keeps full resolution): the largest activation (64
channels) then stays under glibc's mmap threshold (benchmark.core.alloc), so its memory is reused,
not faulted in afresh by the kernel for every batch. Larger batches are faster on CPU.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Protocol

import numpy as np
import torch

from benchmark.core.featcache import FeatureCache, feature_key

# 64 float32 channels of a batch of this many pixels take 16 MiB (under core.alloc's 32 MiB)
MAX_BATCH_PIXELS = 1 << 16
STRIDE_4_BATCH_PIXELS = 1 << 20   # the same bound for a first stage at stride 4 (AlexNet)
# the last frame's features are kept for a held frame in the next call up to this size: one
# frame's, so memory stays flat while streaming (VGG's of a 1280x720 frame take 0.43 GiB, of a
# 1920x1080 one 0.97 GiB; at 256 MiB a 720p held picture went through the network every frame)
HELD_FEATURE_BYTES = 1 << 30
REUSE_HELD = True   # False: every frame through the network (perf.held_frames)

Convert = Callable[[np.ndarray, torch.device], torch.Tensor]


class FeatureNet(Protocol):
    """A two-tower distance: features of one image batch, and the head on two feature lists."""

    pixels_per_batch: int   # input pixels one batch may hold (see the module's docstring)

    def features(self, x: torch.Tensor) -> list[torch.Tensor]:
        """Per-layer activations of a batch of network inputs."""

    def head(self, ref: list[torch.Tensor], rec: list[torch.Tensor]) -> torch.Tensor:
        """Per-pair distances (n,) of two feature lists of the same batch size."""


def frames_per_batch(height: int, width: int, pixels: int = MAX_BATCH_PIXELS) -> int:
    """How many frames go through a network at once (at least one)."""
    return max(1, pixels // (height * width))


def _pairs_of(a: np.ndarray, b: np.ndarray, what: str) -> tuple[np.ndarray, np.ndarray]:
    a, b = np.asarray(a), np.asarray(b)
    if a.ndim == 3:
        a, b = a[None], b[None]
    if a.shape != b.shape:
        raise ValueError(f"{what} of frames of different shapes {a.shape} and {b.shape}")
    return a, b


class PairScorer:
    """Scores pairs of uint8 RGB frames with a FeatureNet; the first frame of each pair is the
    reference, whose features come from the cache when `protocol` is given."""

    def __init__(self, net: FeatureNet, convert: Convert, device: torch.device, what: str,
                 protocol: dict | None = None, cache: FeatureCache | None = None) -> None:
        self.net, self.convert, self.device, self.what = net, convert, device, what
        # features differ in the last bits across torch builds and devices: neither may share
        self.protocol = None if protocol is None else {**protocol, "torch": torch.__version__,
                                                       "device": device.type,
                                                       "layout": "channels-last"}
        self.cache = cache if cache is not None or protocol is None else FeatureCache(what.lower())
        self._held: tuple[np.ndarray, list[torch.Tensor]] | None = None   # last frame, features
        self.network_frames = 0   # frames the network has seen (reconstructions; for tests)

    def _features(self, frames: np.ndarray) -> list[torch.Tensor]:
        return self.net.features(self.convert(frames, self.device))

    def _reconstruction_features(self, frames: np.ndarray) -> list[torch.Tensor]:
        """Features of consecutive reconstructed frames; a frame equal to the one before it
        (also the previous call's last frame) reuses that frame's features."""
        if not REUSE_HELD:
            self.network_frames += len(frames)
            return self._features(frames)
        held = self._held
        if held is not None and not np.array_equal(frames[0], held[0]):
            held = None       # not this call's first frame (another picture, job or size)
        before = held[0] if held is not None else None
        rows, fresh = np.empty(len(frames), dtype=np.int64), []
        offset = 0 if held is None else 1          # row 0 of the pool: the held features
        for j, frame in enumerate(frames):
            if before is not None and np.array_equal(frame, before):
                rows[j] = rows[j - 1] if j else 0
            else:
                rows[j] = offset + len(fresh)
                fresh.append(j)
            before = frame
        self.network_frames += len(fresh)
        if len(fresh) == len(frames):
            feats = self._features(frames)
        else:
            parts = ([held[1]] if held is not None else []) + \
                ([self._features(frames[fresh])] if fresh else [])
            pool = [torch.cat(layer) for layer in zip(*parts, strict=True)]
            index = torch.from_numpy(rows).to(pool[0].device)
            feats = [layer.index_select(0, index) for layer in pool]
        last = [f[-1:].clone() for f in feats]
        size = sum(f.numel() * f.element_size() for f in last)
        self._held = (frames[-1].copy(), last) if size <= HELD_FEATURE_BYTES else None
        return feats

    def _reference_features(self, frames: np.ndarray) -> list[torch.Tensor]:
        if self.cache is None or self.protocol is None:
            return self._features(frames)
        key = feature_key(self.protocol, frames)
        stored = self.cache.get_arrays(key)
        if stored is not None:
            return [torch.from_numpy(a).to(self.device) for a in stored]
        feats = self._features(frames)
        self.cache.put_arrays(key, [f.float().cpu().numpy() for f in feats])
        return feats

    def __call__(self, a: np.ndarray, b: np.ndarray) -> np.ndarray:
        """Per-pair scores (n,) float64 of (n, H, W, 3) or (H, W, 3) uint8 frames a and b."""
        a, b = _pairs_of(a, b, self.what)
        step = frames_per_batch(a.shape[1], a.shape[2], self.net.pixels_per_batch)
        out = []
        with torch.inference_mode():
            for i in range(0, len(a), step):
                ref = self._reference_features(a[i:i + step])
                rec = self._reconstruction_features(b[i:i + step])
                out.append(self.net.head(ref, rec).reshape(-1).double().cpu().numpy())
        return np.concatenate(out) if out else np.zeros(0)

    def consecutive(self, frames: np.ndarray) -> np.ndarray:
        """Scores (n-1,) of the pairs (frames[i-1], frames[i]): each frame's features are
        computed once, not once per pair (tLP)."""
        frames = np.asarray(frames)
        step = frames_per_batch(frames.shape[1], frames.shape[2], self.net.pixels_per_batch)
        out: list[np.ndarray] = []
        carry: list[torch.Tensor] | None = None
        with torch.inference_mode():
            for i in range(0, len(frames), step):
                feats = self._reconstruction_features(frames[i:i + step])
                if carry is not None:
                    feats = [torch.cat([c, f]) for c, f in zip(carry, feats, strict=True)]
                if len(feats[0]) > 1:
                    prev, cur = [f[:-1] for f in feats], [f[1:] for f in feats]
                    out.append(self.net.head(prev, cur).reshape(-1).double().cpu().numpy())
                carry = [f[-1:] for f in feats]
        return np.concatenate(out) if out else np.zeros(0)
