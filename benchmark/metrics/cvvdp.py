"""ColorVideoVDP (Mantiuk et al. 2024) through `cvvdp`, an optional full-reference video metric
in JOD units (10 = identical, higher is better). It ships its calibration; no download.

Frames stream to two Y4M files on disk; cvvdp then pulls them one at a time by index through a
`video_source`, so the video is never held in memory. Display model: `standard_4k` (cvvdp's
default); the video is assumed BT.709 SDR, decoded to RGB by the harness.
"""

from __future__ import annotations

from pathlib import Path

import torch

import benchmark.core.torch_setup  # noqa: F401  (cvvdp imports torchvision)
from benchmark.data.manifest import Sequence
from benchmark.data.video_io import FrameChunk, Y4MVideo
from benchmark.metrics.base import Metric, MetricResult, register_metric
from benchmark.metrics.spool import PairSpool
from benchmark.protocol import Availability

DISPLAY = "standard_4k"


def _source(reference: Path, distorted: Path, fps: float) -> object:
    """A cvvdp video_source reading frames by index from two Y4M files."""
    from pycvvdp.video_source import video_source_dm

    class Y4MPair(video_source_dm):
        def __init__(self) -> None:
            super().__init__(display_photometry=DISPLAY)
            self.ref, self.dist = Y4MVideo.open(str(reference)), Y4MVideo.open(str(distorted))

        def get_frames_per_second(self) -> float:
            return fps

        def get_video_size(self) -> tuple[int, int, int]:
            return self.ref.height, self.ref.width, self.ref.num_frames

        def get_batch_size(self) -> int:
            return 1

        def _frame(self, video: Y4MVideo, index: int, device, colorspace) -> torch.Tensor:
            rgb = torch.from_numpy(video.frame(index).rgb()[0]).to(device)
            x = rgb.permute(2, 0, 1)[None, :, None].float() / 255.0   # B C F H W
            return self.apply_dm_and_color_transform(x, colorspace)

        def get_test_frame(self, frame, device, colorspace) -> torch.Tensor:
            return self._frame(self.dist, frame, device, colorspace)

        def get_reference_frame(self, frame, device, colorspace) -> torch.Tensor:
            return self._frame(self.ref, frame, device, colorspace)

    return Y4MPair()


@register_metric
class ColorVideoVdp(Metric):
    """ColorVideoVDP JOD over the whole video (a single value; no per-frame curve)."""

    name = "cvvdp"

    def __init__(self, device: str = "cpu", fps: float = 30.0) -> None:
        self.fps = fps
        super().__init__(device)

    @classmethod
    def derived_options(cls, sequence: Sequence, dataset: list[Sequence]) -> dict:
        """The sequence's own frame rate (ColorVideoVDP's temporal model depends on it)."""
        return {"fps": float(sequence.fps)}

    @classmethod
    def availability(cls) -> Availability:
        try:
            import pycvvdp  # noqa: F401
        except ImportError as exc:
            return Availability(False, f"cvvdp is not importable ({exc}); run "
                                       "'pip install --no-deps cvvdp ffmpeg-python imageio einops'")
        return Availability(True)

    def reset(self) -> None:
        if getattr(self, "_spool", None):
            self._spool.cleanup()
        self._spool = PairSpool("cvvdp", self.fps)

    def update(self, reference: FrameChunk, reconstruction: FrameChunk) -> None:
        self._spool.write(reference, reconstruction)

    def compute(self) -> MetricResult:
        import pycvvdp

        self._spool.close("cvvdp")
        try:
            metric = pycvvdp.cvvdp(display_name=DISPLAY, device=torch.device(self.device),
                                   quiet=True)
            with torch.inference_mode():
                jod, _ = metric.predict_video_source(
                    _source(self._spool.reference, self._spool.distorted, self.fps))
        finally:
            self._spool.cleanup()
        return MetricResult({"cvvdp": float(jod)}, {},
                            {"display": DISPLAY, "fps": self.fps,
                             "version": getattr(pycvvdp, "__version__", "unknown")})
