"""BT.709 limited-range conversion between YUV 4:2:0 planes and 8-bit RGB (the colour
protocol of docs/metrics.md).

Chroma is upsampled bilinearly (centre-sited) for YUV->RGB and averaged over 2x2 blocks for
RGB->YUV. Both the reference and the reconstruction pass through the same conversion.
"""

from __future__ import annotations

import cv2
import numpy as np

KR, KB = 0.2126, 0.0722
KG = 1.0 - KR - KB
COLOUR_PROTOCOL = {"matrix": "bt709", "range": "limited", "chroma_upsampling": "bilinear",
                   "chroma_downsampling": "2x2 mean"}


def yuv420_to_rgb(y: np.ndarray, u: np.ndarray, v: np.ndarray, bit_depth: int = 8) -> np.ndarray:
    """(n,H,W) luma and (n,H/2,W/2) chroma planes -> (n,H,W,3) uint8 RGB."""
    scale = float(1 << (bit_depth - 8))
    n, h, w = y.shape
    out = np.empty((n, h, w, 3), dtype=np.uint8)
    for i in range(n):
        luma = (y[i].astype(np.float32) - 16 * scale) / (219 * scale)
        cb = (_upsample(u[i], w, h) - 128 * scale) / (224 * scale)
        cr = (_upsample(v[i], w, h) - 128 * scale) / (224 * scale)
        r = luma + 2 * (1 - KR) * cr
        g = luma - (2 * KB * (1 - KB) / KG) * cb - (2 * KR * (1 - KR) / KG) * cr
        b = luma + 2 * (1 - KB) * cb
        rgb = np.stack([r, g, b], axis=-1) * 255.0
        out[i] = np.clip(np.rint(rgb), 0, 255).astype(np.uint8)
    return out


def rgb_to_yuv420(rgb: np.ndarray, bit_depth: int = 8) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """(n,H,W,3) uint8 RGB with even H, W -> BT.709 limited-range Y, U, V planes."""
    scale = float(1 << (bit_depth - 8))
    dtype = np.uint8 if bit_depth == 8 else np.uint16
    top = (1 << bit_depth) - 1
    x = rgb.astype(np.float32) / 255.0
    r, g, b = x[..., 0], x[..., 1], x[..., 2]
    luma = KR * r + KG * g + KB * b
    cb = (b - luma) / (2 * (1 - KB))
    cr = (r - luma) / (2 * (1 - KR))
    n, h, w = luma.shape
    cb = cb.reshape(n, h // 2, 2, w // 2, 2).mean(axis=(2, 4))
    cr = cr.reshape(n, h // 2, 2, w // 2, 2).mean(axis=(2, 4))

    def quant(plane: np.ndarray, offset: float, span: float) -> np.ndarray:
        return np.clip(np.rint((offset + span * plane) * scale), 0, top).astype(dtype)

    return quant(luma, 16, 219), quant(cb, 128, 224), quant(cr, 128, 224)


def _upsample(plane: np.ndarray, width: int, height: int) -> np.ndarray:
    return cv2.resize(plane.astype(np.float32), (width, height), interpolation=cv2.INTER_LINEAR)
