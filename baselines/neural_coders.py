"""Frame coders: how a CompressAI model turns one frame into strings and back (an image model
frame by frame, or ScaleSpaceFlow's low-delay intra + P-frames)."""

from __future__ import annotations

from typing import Any

from benchmark.core.errors import UlvrError


class ImageCoder:
    """Codes every frame on its own with an image model's compress()/decompress()."""

    def __init__(self, model: Any, intra_period: int = 0) -> None:
        self.model = model

    def encode(self, x: Any) -> tuple[list[bytes], tuple[int, int]]:
        out = self.model.compress(x)
        return [s[0] for s in out["strings"]], tuple(out["shape"])

    def decode(self, strings: list[bytes], shape: tuple[int, int]) -> Any:
        return self.model.decompress([[s] for s in strings], list(shape))["x_hat"]


class ScaleSpaceFlowCoder:
    """Low-delay video coding with ScaleSpaceFlow: an intra frame (2 strings: latent and
    hyper-latent), then P-frames (4 strings: motion and residual, each latent and hyper-latent)
    predicted from the previous decoded frame; a new intra frame every `intra_period` frames
    when that is > 0. The number of strings tells the decoder each frame's type."""

    def __init__(self, model: Any, intra_period: int = 0) -> None:
        self.model = model
        self.intra_period = intra_period
        self.index = 0
        self.ref = None

    def _intra(self) -> bool:
        return self.ref is None or (self.intra_period > 0 and self.index % self.intra_period == 0)

    def encode(self, x: Any) -> tuple[list[bytes], tuple[int, int]]:
        if self._intra():
            self.ref, out = self.model.encode_keyframe(x)
            strings, shape = [s[0] for s in out["strings"]], tuple(out["shape"])
        else:
            self.ref, out = self.model.encode_inter(x, self.ref)
            strings = [s[0] for part in ("motion", "residual") for s in out["strings"][part]]
            shape = tuple(out["shape"]["motion"])
        self.index += 1
        return strings, shape

    def decode(self, strings: list[bytes], shape: tuple[int, int]) -> Any:
        if len(strings) == 2:
            self.ref = self.model.decode_keyframe([[s] for s in strings], list(shape))
        elif len(strings) == 4 and self.ref is not None:
            parts = {"motion": [[strings[0]], [strings[1]]],
                     "residual": [[strings[2]], [strings[3]]]}
            shapes = {"motion": list(shape), "residual": list(shape)}
            self.ref = self.model.decode_inter(self.ref, parts, shapes)
        else:
            raise UlvrError(f"corrupt ssf2020 bitstream: a frame of {len(strings)} strings")
        return self.ref.clamp(0, 1)
