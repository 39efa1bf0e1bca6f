"""Lossless coding of a label-map video with temporal prediction and adaptive context models.

Stream layout: a varint header (frames, height, width, classes, palette flag), the palette
(K x 3 bytes) when the segmenter sends one, then one arithmetic-coded payload. The header holds
session parameters only (they follow from the sequence geometry and the rate point): the sender
sends it out of band, and the receiver regenerates it (`session_header`). Frame 0 codes each
label in the context of its left and upper neighbours. Later frames code, per pixel, whether it
changed from the previous frame (context: did the left, upper and same pixel of the previous
frame change), and only for changed pixels the new label (context: previous and left labels).
The lossy part of the semantic stream (resolution, K, hysteresis) happens in the segmenter.
"""

from __future__ import annotations

import lzma

import numpy as np

from benchmark.core import varint
from benchmark.core.errors import UlvrError
from methods.causal_diffusion.arith import AdaptiveModel, Decoder, Encoder


class _Contexts:
    """The adaptive models shared (identically built) by encoder and decoder."""

    def __init__(self, classes: int) -> None:
        k = classes
        self.intra = [AdaptiveModel(k) for _ in range((k + 1) * (k + 1))]
        self.changed = [AdaptiveModel(2) for _ in range(8)]
        self.label = [AdaptiveModel(k) for _ in range(k * (k + 1))]
        self.k = k


def _code_frames(coder, frames: list[np.ndarray] | None, n: int, h: int, w: int,
                 k: int) -> list[np.ndarray]:
    """Encode (coder is an Encoder and frames given) or decode (a Decoder); same traversal."""
    ctx = _Contexts(k)
    encoding = isinstance(coder, Encoder)

    def code(symbol: int, model: AdaptiveModel) -> int:
        """Encode `symbol` (encoder) or decode one (decoder, `symbol` unused); return it."""
        if encoding:
            coder.encode(symbol, model)
            return symbol
        return coder.decode(model)
    out: list[np.ndarray] = []
    prev = prev_changed = None
    for f in range(n):
        cur = [[0] * w for _ in range(h)]
        changed = [[0] * w for _ in range(h)]
        src = frames[f].tolist() if encoding else None
        for y in range(h):
            for x in range(w):
                left = cur[y][x - 1] if x else k
                if prev is None:
                    up = cur[y - 1][x] if y else k
                    cur[y][x] = code(src[y][x] if encoding else 0, ctx.intra[left * (k + 1) + up])
                    continue
                c = ((changed[y][x - 1] if x else 0) + 2 * (changed[y - 1][x] if y else 0)
                     + 4 * prev_changed[y][x])
                before = prev[y][x]
                flag = code(int(encoding and src[y][x] != before), ctx.changed[c])
                changed[y][x] = flag
                if not flag:
                    cur[y][x] = before
                    continue
                cur[y][x] = code(src[y][x] if encoding else 0, ctx.label[before * (k + 1) + left])
        out.append(np.array(cur, dtype=np.uint8))
        prev, prev_changed = cur, changed
    return out


HEADER_FIELDS = 5   # frames, height, width, classes, palette flag


def session_header(frames: int, height: int, width: int, classes: int,
                   has_palette: bool) -> bytes:
    """The stream's header: all of it is known to a receiver that knows the session."""
    return b"".join(varint.encode(v) for v in (frames, height, width, classes, int(has_palette)))


def split_session_header(data: bytes) -> tuple[bytes, bytes]:
    """(header, rest) of a semantic stream: what travels out of band and what is sent."""
    pos = 0
    for _ in range(HEADER_FIELDS):
        _, pos = varint.decode(data, pos, "semantic stream header")
    return data[:pos], data[pos:]


def encode_labels(frames: list[np.ndarray], classes: int,
                  palette: np.ndarray | None = None) -> bytes:
    """Bytes of the semantic stream for a list of uint8 h x w label maps (values < classes)."""
    if not frames:
        raise UlvrError("no label maps to encode")
    h, w = frames[0].shape
    if any(f.shape != (h, w) for f in frames) or any(int(f.max()) >= classes for f in frames):
        raise UlvrError("label maps must share one shape and hold labels below the class count")
    header = session_header(len(frames), h, w, classes, palette is not None)
    if palette is not None:
        header += np.asarray(palette, dtype=np.uint8).reshape(classes, 3).tobytes()
    coder = Encoder()
    _code_frames(coder, frames, len(frames), h, w, classes)
    return header + coder.finish()


def decode_labels(data: bytes) -> tuple[list[np.ndarray], np.ndarray | None]:
    """Label maps and palette (or None) from a semantic stream."""
    pos = 0
    fields = []
    for _ in range(HEADER_FIELDS):
        value, pos = varint.decode(data, pos, "semantic stream header")
        fields.append(value)
    n, h, w, k, has_palette = fields
    palette = None
    if has_palette:
        if pos + 3 * k > len(data):
            raise UlvrError("semantic stream is truncated (palette)")
        palette = np.frombuffer(data[pos:pos + 3 * k], dtype=np.uint8).reshape(k, 3).copy()
        pos += 3 * k
    return _code_frames(Decoder(data[pos:]), None, n, h, w, k), palette


def lzma_size(frames: list[np.ndarray], palette: np.ndarray | None = None) -> dict[str, int]:
    """Bytes of the same label maps (and palette) with LZMA: .xz container and raw LZMA2."""
    blob = b"".join(f.astype(np.uint8).tobytes() for f in frames)
    if palette is not None:
        blob += np.asarray(palette, dtype=np.uint8).tobytes()
    raw_filters = [{"id": lzma.FILTER_LZMA2, "preset": 9 | lzma.PRESET_EXTREME}]
    return {"xz": len(lzma.compress(blob, preset=9 | lzma.PRESET_EXTREME)),
            "lzma2-raw": len(lzma.compress(blob, format=lzma.FORMAT_RAW, filters=raw_filters))}
