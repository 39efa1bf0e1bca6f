"""Segmenters that turn a frame into a K-class label map at the semantic stream's resolution.

`kmeans` (default, weight-free): frame-0 k-means in CIELAB fixes a palette of K colours sorted
by lightness (so label 0 is always the darkest region, a stable meaning across clips); every
frame is then assigned to the nearest palette colour, smoothed with a 3x3 majority filter, and a
pixel keeps its previous label unless the new colour is clearly closer (hysteresis), which
removes flicker that would cost bits and carry no meaning. Causal: only past frames are used.
`segformer`: a pretrained SegFormer from the local Hugging Face cache, when one is there.
"""

from __future__ import annotations

from abc import ABC, abstractmethod

import cv2
import numpy as np

from benchmark.core.errors import UlvrError

HYSTERESIS = 6.0   # CIELAB distance by which a new colour must win to change a pixel's label


class Segmenter(ABC):
    """Stateful per sequence: reset() before the first frame, then label() frame by frame."""

    classes: int
    has_palette: bool = False

    def reset(self) -> None:  # noqa: B027 - stateless segmenters need no reset
        """Forget the previous sequence."""

    @abstractmethod
    def label(self, rgb: np.ndarray, size: tuple[int, int]) -> np.ndarray:
        """uint8 label map of shape size=(h, w) for one uint8 HxWx3 frame."""

    def palette(self) -> np.ndarray | None:
        """K x 3 uint8 RGB colours of the classes, when the segmenter sends them."""
        return None


def _lab(rgb: np.ndarray) -> np.ndarray:
    return cv2.cvtColor(rgb, cv2.COLOR_RGB2LAB).astype(np.float32).reshape(-1, 3)


def kmeans(points: np.ndarray, k: int, seed: int = 0, iters: int = 25) -> np.ndarray:
    """Lloyd's k-means with k-means++ seeding (deterministic for a seed); returns k centres."""
    rng = np.random.default_rng(seed)
    centres = [points[rng.integers(len(points))]]
    for _ in range(1, k):
        d2 = np.min(((points[:, None] - np.array(centres)[None]) ** 2).sum(-1), axis=1)
        probs = d2 / d2.sum() if d2.sum() > 0 else np.full(len(points), 1 / len(points))
        centres.append(points[rng.choice(len(points), p=probs)])
    centres = np.array(centres, dtype=np.float64)
    for _ in range(iters):
        assign = ((points[:, None] - centres[None]) ** 2).sum(-1).argmin(1)
        for j in range(k):
            if np.any(assign == j):
                centres[j] = points[assign == j].mean(0)
    return centres


def majority_filter(labels: np.ndarray, classes: int) -> np.ndarray:
    """3x3 mode filter (ties keep the centre label): spatial regularisation of a label map."""
    votes = np.stack([cv2.boxFilter((labels == c).astype(np.float32), -1, (3, 3),
                                    normalize=False, borderType=cv2.BORDER_REPLICATE)
                      for c in range(classes)])
    centre = np.take_along_axis(votes, labels[None].astype(np.int64), 0)[0]
    best = votes.argmax(0)
    return np.where(votes.max(0) > centre, best, labels).astype(np.uint8)


class KMeansSegmenter(Segmenter):
    """Weight-free colour segmentation with a causal, lightness-ordered palette."""

    has_palette = True

    def __init__(self, classes: int = 4, seed: int = 0) -> None:
        self.classes, self.seed = classes, seed
        self.reset()

    def reset(self) -> None:
        self._centres: np.ndarray | None = None
        self._prev: np.ndarray | None = None

    def label(self, rgb: np.ndarray, size: tuple[int, int]) -> np.ndarray:
        h, w = size
        small = cv2.resize(rgb, (w, h), interpolation=cv2.INTER_AREA)
        lab = _lab(small)
        if self._centres is None:
            # palette from frame 0 at twice the label resolution (more samples, still causal)
            fine = _lab(cv2.resize(rgb, (2 * w, 2 * h), interpolation=cv2.INTER_AREA))
            centres = kmeans(fine.astype(np.float64), self.classes, self.seed)
            self._centres = centres[np.argsort(centres[:, 0])].astype(np.float32)
        dist = np.sqrt(((lab[:, None] - self._centres[None]) ** 2).sum(-1)).reshape(h, w, -1)
        labels = majority_filter(dist.argmin(-1).astype(np.uint8), self.classes)
        if self._prev is not None:
            prev_d = np.take_along_axis(dist, self._prev[..., None].astype(np.int64), -1)[..., 0]
            new_d = np.take_along_axis(dist, labels[..., None].astype(np.int64), -1)[..., 0]
            labels = np.where(new_d + HYSTERESIS < prev_d, labels, self._prev).astype(np.uint8)
        self._prev = labels
        return labels

    def palette(self) -> np.ndarray:
        lab = np.clip(self._centres, 0, 255).astype(np.uint8)[None]
        return cv2.cvtColor(lab, cv2.COLOR_LAB2RGB)[0]


class SegformerSegmenter(Segmenter):
    """A pretrained SegFormer (ADE20K, 150 classes) loaded from the local Hugging Face cache."""

    def __init__(self, model_id: str = "nvidia/segformer-b0-finetuned-ade-512-512",
                 device: str = "cpu") -> None:
        try:
            from transformers import SegformerForSemanticSegmentation
        except ImportError as exc:
            raise UlvrError("the segformer segmenter needs the 'transformers' package: "
                            "pip install transformers (then put the weights in the HF cache)"
                            ) from exc
        try:
            self.net = SegformerForSemanticSegmentation.from_pretrained(
                model_id, local_files_only=True).to(device).eval()
        except OSError as exc:
            raise UlvrError(f"SegFormer weights '{model_id}' are not in the Hugging Face cache "
                            "($HF_HOME/hub): download them on a machine with internet "
                            "(huggingface-cli download " + model_id + ") and copy the cache "
                            "here") from exc
        self.classes = int(self.net.config.num_labels)
        self.device = device

    def label(self, rgb: np.ndarray, size: tuple[int, int]) -> np.ndarray:
        import torch

        mean, std = np.array([0.485, 0.456, 0.406]), np.array([0.229, 0.224, 0.225])
        x = torch.from_numpy(((rgb / 255.0 - mean) / std).astype(np.float32))
        with torch.no_grad():
            logits = self.net(pixel_values=x.permute(2, 0, 1)[None].to(self.device)).logits
            logits = torch.nn.functional.interpolate(logits, size=size, mode="bilinear")
        return logits.argmax(1)[0].cpu().numpy().astype(np.uint8)


SEGMENTERS = {"kmeans": KMeansSegmenter, "segformer": SegformerSegmenter}


def create_segmenter(name: str, **options: object) -> Segmenter:
    """A segmenter by name (see SEGMENTERS)."""
    if name not in SEGMENTERS:
        raise UlvrError(f"unknown segmenter '{name}': choose from {', '.join(SEGMENTERS)}")
    return SEGMENTERS[name](**options)
