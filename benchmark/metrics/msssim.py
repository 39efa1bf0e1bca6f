"""MS-SSIM (Wang et al. 2003) on 8-bit RGB, per channel then averaged, streamed per frame.

Gaussian window 11, sigma 1.5, K1 0.01, K2 0.03, 5 scales with the paper's weights, 2x2 average
pooling between scales (odd sizes padded by one replicated row/column first). Frames too small
for 5 scales (under 161 pixels on a side, e.g. QCIF) use fewer, with the weights renormalised.

Values with different numbers of scales are not comparable, so a dataset should use one count
for all its sequences: `dataset_scales` gives the largest count valid for its smallest
sequence, and `MsSsim(scales=...)` uses it (the runner passes it per dataset). Without it the
metric uses the most scales that fit each sequence. The count and where it came from are
recorded in the protocol.
"""

from __future__ import annotations

import torch
import torch.nn.functional as F

from benchmark.core.errors import UlvrError
from benchmark.data.manifest import Sequence
from benchmark.data.video_io import FrameChunk
from benchmark.metrics.base import register_metric
from benchmark.metrics.frame_mean import FrameMeanMetric

WEIGHTS = (0.0448, 0.2856, 0.3001, 0.2363, 0.1333)
WINDOW, SIGMA, K1, K2 = 11, 1.5, 0.01, 0.03
BATCH_PIXELS = 1 << 20  # frames per network call: about this many pixels


def _gaussian(device: torch.device) -> torch.Tensor:
    x = torch.arange(WINDOW, dtype=torch.float64, device=device) - (WINDOW - 1) / 2
    g = torch.exp(-(x * x) / (2 * SIGMA * SIGMA))
    return (g / g.sum()).float()


def _blur(maps: torch.Tensor, g: torch.Tensor) -> torch.Tensor:
    """Separable 'valid' Gaussian filtering of (N, C, H, W) as weighted sums of shifted views:
    same result as a depthwise conv2d, without its unfolded copy (GBs at 1080p)."""
    k = len(g)
    h, w = maps.shape[-2] - k + 1, maps.shape[-1] - k + 1
    rows = maps[..., 0:h, :] * g[0]
    for i in range(1, k):
        rows.add_(maps[..., i:i + h, :], alpha=float(g[i]))
    out = rows[..., 0:w] * g[0]
    for i in range(1, k):
        out.add_(rows[..., i:i + w], alpha=float(g[i]))
    return out


def scales_for(height: int, width: int) -> int:
    """How many scales fit: the coarsest scale must still hold one window."""
    levels = len(WEIGHTS)
    while levels > 1 and min(height, width) < (WINDOW - 1) * 2 ** (levels - 1) + 1:
        levels -= 1
    if min(height, width) < WINDOW:
        raise UlvrError(f"MS-SSIM needs frames of at least {WINDOW}x{WINDOW}, got {width}x{height}")
    return levels


def dataset_scales(sizes: list[tuple[int, int]]) -> int:
    """The number of scales for every sequence of a dataset, from their (width, height): the
    largest count valid for the smallest sequence."""
    if not sizes:
        raise UlvrError("MS-SSIM scales of a dataset without sequences: give at least one size")
    return min(scales_for(height, width) for width, height in sizes)


def ms_ssim(x: torch.Tensor, y: torch.Tensor, data_range: float = 255.0,
            levels: int | None = None) -> torch.Tensor:
    """MS-SSIM per image of (N, C, H, W) tensors; channels averaged."""
    levels = levels or scales_for(x.shape[-2], x.shape[-1])
    weights = torch.tensor(WEIGHTS[:levels], dtype=torch.float32, device=x.device)
    weights = weights / weights.sum()
    x, y = x.float() / data_range, y.float() / data_range
    g = _gaussian(x.device)
    c1, c2 = K1 ** 2, K2 ** 2
    factors = []
    for level in range(levels):
        if level:
            pad = max(x.shape[-2] % 2, x.shape[-1] % 2)
            if pad:
                x = F.pad(x, [pad, 0, pad, 0], mode="replicate")
                y = F.pad(y, [pad, 0, pad, 0], mode="replicate")
            x, y = F.avg_pool2d(x, 2), F.avg_pool2d(y, 2)
        mu_x, mu_y = _blur(x, g), _blur(y, g)
        var_x = _blur(x * x, g) - mu_x ** 2
        var_y = _blur(y * y, g) - mu_y ** 2
        cov = _blur(x * y, g) - mu_x * mu_y
        cs = (2 * cov + c2) / (var_x + var_y + c2)
        if level == levels - 1:
            ssim = (2 * mu_x * mu_y + c1) / (mu_x ** 2 + mu_y ** 2 + c1) * cs
            factors.append(ssim.mean(dim=(-1, -2)))
        else:
            factors.append(cs.mean(dim=(-1, -2)))
    stacked = torch.relu(torch.stack(factors))                     # (levels, N, C)
    return torch.prod(stacked ** weights.view(-1, 1, 1), dim=0).mean(dim=1)


@register_metric
class MsSsim(FrameMeanMetric):
    """MS-SSIM on RGB; mean of per-frame values."""

    name = "ms-ssim"

    def __init__(self, device: str = "cpu", scales: int | None = None) -> None:
        if scales is not None and not 1 <= scales <= len(WEIGHTS):
            raise UlvrError(f"MS-SSIM scales={scales} is out of range: use 1 to {len(WEIGHTS)}")
        self.scales = scales
        super().__init__(device)

    @classmethod
    def derived_options(cls, sequence: Sequence, dataset: list[Sequence]) -> dict:
        """One scale count for the whole dataset: values with different counts don't compare."""
        return {"scales": dataset_scales([(s.width, s.height) for s in dataset or [sequence]])}

    def reset(self) -> None:
        super().reset()
        self._levels = 0

    def _levels_for(self, height: int, width: int) -> int:
        """The fixed count when one was given (refused if the frames are too small for it),
        else the most that fit."""
        fits = scales_for(height, width)
        if self.scales is not None and self.scales > fits:
            raise UlvrError(f"MS-SSIM with {self.scales} scales needs frames of at least "
                            f"{(WINDOW - 1) * 2 ** (self.scales - 1) + 1} pixels on a side, got "
                            f"{width}x{height}: give dataset_scales() of the dataset's sizes")
        return self.scales or fits

    def update(self, reference: FrameChunk, reconstruction: FrameChunk) -> None:
        ref, rec = reference.rgb(), reconstruction.rgb()
        self._levels = self._levels_for(ref.shape[1], ref.shape[2])
        step = max(1, BATCH_PIXELS // (ref.shape[1] * ref.shape[2]))  # bounded memory at 1080p
        for i in range(0, len(ref), step):
            a = torch.from_numpy(ref[i:i + step]).permute(0, 3, 1, 2).to(self.device)
            b = torch.from_numpy(rec[i:i + step]).permute(0, 3, 1, 2).to(self.device)
            with torch.inference_mode():
                self.add(ms_ssim(a, b, levels=self._levels).cpu().numpy())

    def protocol(self) -> dict:
        return {"window": WINDOW, "sigma": SIGMA, "scales": self._levels,
                "scales_from": "fixed" if self.scales else "frame size", "colour": "rgb"}
