"""Semantic fidelity: agreement between segmentations of the reference and the reconstruction,
as mIoU and pixel accuracy per frame and their means (higher is better).

- `label-miou` (weight-free, runs everywhere): per frame, k-means in CIELAB on the reference
  frame fixes a palette of K colours; both frames are labelled with that palette (nearest
  colour). It measures whether colour regions stay where they were: a segmentation agreement,
  NOT a semantic network's mIoU, hence its name. The palette of a reference frame is fitted
  once and kept in the reference-feature cache (`benchmark.core.featcache`), not once per job.
- `seg-miou`: a pretrained SegFormer (ADE20K) from the local Hugging Face cache labels both
  frames (`benchmark.metrics.segment`, the sender's segmenter interface).

Both work at a fixed protocol resolution (area-downscaled so the longer side is at most
`size`). mIoU averages the IoU of every class present in either map. Label ids agree by
construction in both metrics (one palette; one class set). For maps whose ids need not agree
(two independent segmentations), `label_agreement(..., match=True)` first matches classes one
to one by the assignment that maximises the total overlap (the Hungarian method on the
confusion matrix); a class left unmatched counts with IoU 0.
"""

from __future__ import annotations

import cv2
import numpy as np
from scipy.optimize import linear_sum_assignment

from benchmark.core.featcache import FeatureCache, feature_key
from benchmark.data.video_io import FrameChunk
from benchmark.metrics.base import Metric, MetricResult, register_metric
from benchmark.protocol import Availability

SEGFORMER = "nvidia/segformer-b0-finetuned-ade-512-512"


def confusion(reference: np.ndarray, reconstruction: np.ndarray, classes: int) -> np.ndarray:
    """classes x classes pixel counts: row = reference label, column = reconstruction label."""
    index = reference.astype(np.int64).ravel() * classes + reconstruction.astype(np.int64).ravel()
    return np.bincount(index, minlength=classes * classes).reshape(classes, classes)


def match_labels(counts: np.ndarray) -> np.ndarray:
    """The confusion matrix with columns permuted so that reconstruction class j is renamed
    to the reference class it overlaps most under a one-to-one assignment."""
    rows, cols = linear_sum_assignment(counts, maximize=True)
    order = np.empty(counts.shape[1], dtype=np.int64)
    order[rows] = cols
    return counts[:, order]


def label_agreement(reference: np.ndarray, reconstruction: np.ndarray, classes: int,
                    match: bool = False) -> tuple[float, float]:
    """(mIoU, pixel accuracy) of two label maps with ids in [0, classes)."""
    counts = confusion(reference, reconstruction, classes)
    if match:
        counts = match_labels(counts)
    hits = np.diag(counts).astype(np.float64)
    union = counts.sum(0) + counts.sum(1) - hits
    present = union > 0
    miou = float((hits[present] / union[present]).mean()) if present.any() else 1.0
    return miou, float(hits.sum() / counts.sum())


def protocol_size(height: int, width: int, longest: int) -> tuple[int, int]:
    """(h, w) of the label maps: the frame area-downscaled so its longer side is <= longest."""
    scale = min(1.0, longest / max(height, width))
    return max(1, round(height * scale)), max(1, round(width * scale))


class _SegmentationAgreement(Metric):
    """Shared streaming part: label each frame pair, keep per-frame mIoU and accuracy."""

    def __init__(self, device: str = "cpu", size: int = 256) -> None:
        self.size = int(size)
        super().__init__(device)

    def reset(self) -> None:
        self._miou: list[float] = []
        self._accuracy: list[float] = []

    def labels(self, reference: np.ndarray, reconstruction: np.ndarray,
               size: tuple[int, int]) -> tuple[np.ndarray, np.ndarray, int]:
        """Label maps of one frame pair at `size` and their number of classes."""
        raise NotImplementedError

    def update(self, reference: FrameChunk, reconstruction: FrameChunk) -> None:
        ref, rec = reference.rgb(), reconstruction.rgb()
        size = protocol_size(*ref.shape[1:3], self.size)
        for a, b in zip(ref, rec, strict=True):
            la, lb, classes = self.labels(a, b, size)
            miou, accuracy = label_agreement(la, lb, classes)
            self._miou.append(miou)
            self._accuracy.append(accuracy)

    def protocol(self) -> dict:
        return {"size": self.size, "miou": "mean over classes present in either map"}

    def compute(self) -> MetricResult:
        first, second = self.outputs
        return MetricResult(values={first: float(np.mean(self._miou)),
                                    second: float(np.mean(self._accuracy))},
                            per_frame={first: list(self._miou), second: list(self._accuracy)},
                            protocol=self.protocol())


def _area(rgb: np.ndarray, size: tuple[int, int]) -> np.ndarray:
    h, w = size
    return cv2.resize(rgb, (w, h), interpolation=cv2.INTER_AREA)


@register_metric
class LabelMiou(_SegmentationAgreement):
    """Colour-segmentation agreement with a K-colour palette fitted on each reference frame."""

    name = "label-miou"

    def __init__(self, device: str = "cpu", size: int = 256, classes: int = 8,
                 seed: int = 0) -> None:
        self.classes, self.seed = int(classes), int(seed)
        super().__init__(device, size)

    def labels(self, reference: np.ndarray, reconstruction: np.ndarray,
               size: tuple[int, int]) -> tuple[np.ndarray, np.ndarray, int]:
        from benchmark.metrics.segment import kmeans

        lab = [cv2.cvtColor(_area(f, size), cv2.COLOR_RGB2LAB).reshape(-1, 3).astype(np.float32)
               for f in (reference, reconstruction)]
        key = feature_key(self.protocol(), lab[0])   # the palette depends on the reference only
        centres = FeatureCache("label-palette").cached(
            key, lambda: kmeans(lab[0].astype(np.float64), self.classes, self.seed)
        ).astype(np.float32)
        maps = [((x[:, None] - centres[None]) ** 2).sum(-1).argmin(1).reshape(size)
                for x in lab]
        return maps[0], maps[1], self.classes

    def protocol(self) -> dict:
        return {**super().protocol(), "segmenter": "k-means in CIELAB on the reference frame",
                "classes": self.classes, "seed": self.seed}


@register_metric
class SegformerMiou(_SegmentationAgreement):
    """Semantic agreement of a pretrained SegFormer's ADE20K labels (150 classes)."""

    name = "seg-miou"

    def __init__(self, device: str = "cpu", size: int = 512, model: str = SEGFORMER) -> None:
        self.model = model
        self._net = None
        super().__init__(device, size)

    @classmethod
    def availability(cls) -> Availability:
        try:
            import transformers  # noqa: F401
        except ImportError:
            return Availability(False, "needs the 'transformers' package (pip install "
                                       f"transformers) and the weights of '{SEGFORMER}' in the "
                                       "Hugging Face cache")
        from huggingface_hub import try_to_load_from_cache

        found = try_to_load_from_cache(SEGFORMER, "config.json")
        if not isinstance(found, str):
            return Availability(False, f"the weights of '{SEGFORMER}' are not in the Hugging "
                                       "Face cache ($HF_HOME/hub): run 'huggingface-cli download "
                                       f"{SEGFORMER}' on a machine with internet and copy the "
                                       "cache folder here")
        return Availability(True)

    def labels(self, reference: np.ndarray, reconstruction: np.ndarray,
               size: tuple[int, int]) -> tuple[np.ndarray, np.ndarray, int]:
        from benchmark.metrics.segment import SegformerSegmenter

        if self._net is None:
            self._net = SegformerSegmenter(self.model, self.device)
        maps = [self._net.label(_area(f, size), size) for f in (reference, reconstruction)]
        return maps[0], maps[1], self._net.classes

    def protocol(self) -> dict:
        return {**super().protocol(), "segmenter": self.model}
