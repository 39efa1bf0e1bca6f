"""Make torchvision importable next to the CPU build of torch.

The registry's torchvision 0.28.0 is a CUDA build: with the CPU torch its C++ ops are missing
and `import torchvision` fails on `torchvision::nms`. Defining the op schemas first fixes the
import (a no-op where torchvision's own ops load); the ops themselves stay unavailable.
"""

from __future__ import annotations

import torch

_SCHEMAS = {
    "nms": "nms(Tensor dets, Tensor scores, float iou_threshold) -> Tensor",
    "qnms": "qnms(Tensor dets, Tensor scores, float iou_threshold, float scale, "
            "int zero_point) -> Tensor",
}
_LIBRARY: torch.library.Library | None = None


def prepare_torchvision() -> None:
    """Define missing torchvision op schemas; call before anything imports torchvision."""
    global _LIBRARY
    for op, schema in _SCHEMAS.items():
        try:
            getattr(torch.ops.torchvision, op)
        except (AttributeError, RuntimeError):
            if _LIBRARY is None:
                _LIBRARY = torch.library.Library("torchvision", "DEF")
            _LIBRARY.define(schema)


prepare_torchvision()
