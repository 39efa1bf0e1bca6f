"""Low-frequency consistency of a reconstruction with the decoded texture stream.

The decoder's output is the upsampled texture frame plus a generated residual. Whatever the
residual adds below the texture's own resolution is not new detail but drift from what was
sent (colour shifts, moved edges) and costs fidelity for nothing. The projection removes that
band from the residual, so the output's low frequencies are the texture frame's and only detail
above the thumbnail's resolution is generated (ILVR's low-pass conditioning, applied once to
the decoded frames at the receiver; Choi et al., 2021).
"""

from __future__ import annotations

import torch
import torch.nn.functional as F

MODES = ("lowpass", "none")


def low_band(x: torch.Tensor, factor: int) -> torch.Tensor:
    """What of x (..., C, H, W) survives an area downscale by `factor`, upsampled back
    (bicubic, as the restoration frame itself is made)."""
    shape = x.shape
    flat = x.reshape(-1, *shape[-3:]).float()
    h, w = shape[-2:]
    small = F.interpolate(flat, size=(max(1, round(h / factor)), max(1, round(w / factor))),
                          mode="area")
    return F.interpolate(small, size=(h, w), mode="bicubic", align_corners=False) \
        .reshape(shape).to(x.dtype)


def keep_low_frequencies(x0: torch.Tensor, restoration: torch.Tensor, factor: int,
                         iterations: int = 5) -> torch.Tensor:
    """x0 with its residual over `restoration` (both (..., 3, H, W), model range) stripped of
    the band below 1/`factor` of the frame size. Each iteration shrinks the remaining low band
    (down-then-up is close to, not exactly, a projection); five leave about 1% of it."""
    residual = x0 - restoration
    for _ in range(iterations):
        residual = residual - low_band(residual, factor)
    return restoration + residual
