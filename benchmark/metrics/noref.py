"""No-reference image quality of the reconstruction through pyiqa, per frame then averaged.

Only what pyiqa computes offline is offered: PIQE needs no weights. NIQE needs pyiqa's
`niqe_modelparameters.mat` in its torch-hub cache; without it the metric is listed as
unavailable with the file to provide. These metrics ignore the reference frames.
"""

from __future__ import annotations

import os

import numpy as np
import torch

import benchmark.core.torch_setup  # noqa: F401  (before pyiqa imports torchvision)
from benchmark.data.video_io import FrameChunk
from benchmark.metrics.base import register_metric
from benchmark.metrics.frame_mean import FrameMeanMetric
from benchmark.protocol import Availability


def _pyiqa_cache() -> str:
    return os.path.join(torch.hub.get_dir(), "pyiqa")


class PyiqaNoReference(FrameMeanMetric):
    """A pyiqa no-reference metric on the reconstructed RGB frames in [0, 1]."""

    dtype = float            # values are averaged as float64
    aggregate = None         # its protocol names no aggregate (as recorded before)

    pyiqa_name = ""
    required_files: tuple[str, ...] = ()

    @classmethod
    def availability(cls) -> Availability:
        try:
            import pyiqa  # noqa: F401
        except ImportError as exc:
            return Availability(False, f"pyiqa is not installed ({exc}); run 'make install'")
        for name in cls.required_files:
            path = os.path.join(_pyiqa_cache(), name)
            if not os.path.isfile(path):
                return Availability(False, f"needs {path} (pyiqa downloads it when online; "
                                           "copy it there for offline use)")
        return Availability(True)

    def _net(self) -> torch.nn.Module:
        if not hasattr(self, "_model"):
            import pyiqa

            self._model = pyiqa.create_metric(self.pyiqa_name, device=self.device)
        return self._model

    def update(self, reference: FrameChunk, reconstruction: FrameChunk) -> None:
        x = torch.from_numpy(reconstruction.rgb()).permute(0, 3, 1, 2).float() / 255.0
        with torch.inference_mode():
            self.add(np.atleast_1d(self._net()(x.to(self.device)).cpu().numpy()))

    def protocol(self) -> dict:
        return {"implementation": f"pyiqa {self.pyiqa_name}",
                "input": "reconstruction only, RGB [0, 1]"}


@register_metric
class Piqe(PyiqaNoReference):
    """PIQE (Venkatanath et al. 2015), no reference, lower is better."""

    name = pyiqa_name = "piqe"


@register_metric
class Niqe(PyiqaNoReference):
    """NIQE (Mittal et al. 2013), no reference, lower is better; needs pyiqa's parameters."""

    name = pyiqa_name = "niqe"
    required_files = ("niqe_modelparameters.mat",)
