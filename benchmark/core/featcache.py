"""A bounded, content-addressed on-disk cache of reference-side features (I3D logits of a
reference clip, LPIPS/DISTS activations of a reference frame, optical flow between reference
frames), so that the reference side is computed once per sequence and protocol, not once per job.

Keys hash the protocol and the exact input bytes, so a changed frame, network or protocol can
never hit a stale entry. Entries are written atomically (temp file + rename), so parallel
workers (local or Ray) can share the folder; an unreadable entry counts as a miss and is
rewritten. The folder holds at most `max_bytes` (default 4 GiB, `ULVR_FEATURE_CACHE_GB`),
dropping the least recently used entries; an entry over an eighth of that is not stored.

Where: `ULVR_FEATURE_CACHE` (`ulvr run` points it at `<out>/cache/features`, beside the store),
else `$ULVR_CACHE/features`, else `~/.cache/ulvr-bench/features`.
"""

from __future__ import annotations

import hashlib
import json
import os
import tempfile
import zipfile
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from pathlib import Path

import numpy as np

DEFAULT_MAX_GB = 4.0
SUFFIXES = (".npy", ".npz")


def cache_root() -> Path:
    """The features folder: $ULVR_FEATURE_CACHE, $ULVR_CACHE/features or ~/.cache/..."""
    explicit = os.environ.get("ULVR_FEATURE_CACHE")
    if explicit:
        return Path(explicit).expanduser()
    root = os.environ.get("ULVR_CACHE")
    base = Path(root).expanduser() if root else Path.home() / ".cache" / "ulvr-bench"
    return base / "features"


@contextmanager
def cache_beside(folder: Path) -> Iterator[None]:
    """Point ULVR_FEATURE_CACHE at `folder` for the duration of a run (worker processes inherit
    it) unless the user set it; restored afterwards, so a second run in the same process (a
    test, a notebook) gets its own store's cache, not the first one's."""
    before = os.environ.get("ULVR_FEATURE_CACHE")
    if before is None:
        os.environ["ULVR_FEATURE_CACHE"] = str(Path(folder).resolve())
    try:
        yield
    finally:
        if before is None:
            os.environ.pop("ULVR_FEATURE_CACHE", None)


def max_cache_bytes() -> int:
    """The size bound: ULVR_FEATURE_CACHE_GB (GiB, 0 disables the cache) or 4 GiB."""
    text = os.environ.get("ULVR_FEATURE_CACHE_GB", "")
    try:
        gib = float(text) if text else DEFAULT_MAX_GB
    except ValueError:
        gib = DEFAULT_MAX_GB
    return int(max(gib, 0.0) * 2**30)


def feature_key(protocol: dict, data: np.ndarray) -> str:
    """SHA-256 of the protocol (JSON) and the array's shape, dtype and bytes."""
    digest = hashlib.sha256(json.dumps(protocol, sort_keys=True).encode())
    digest.update(f"{data.shape}{data.dtype}".encode())
    digest.update(np.ascontiguousarray(data).tobytes())
    return digest.hexdigest()


class FeatureCache:
    """Arrays by key in a folder (`<root>/<name>/<key[:2]>/<key>.npy|.npz`); the size bound
    covers the whole root, every name together."""

    def __init__(self, name: str, root: Path | None = None,
                 max_bytes: int | None = None) -> None:
        self.root = root or cache_root()
        self.folder = self.root / name
        self.max_bytes = max_cache_bytes() if max_bytes is None else max_bytes

    def _path(self, key: str, suffix: str) -> Path:
        return self.folder / key[:2] / f"{key}{suffix}"

    def get(self, key: str) -> np.ndarray | None:
        """The stored array, or None when absent or unreadable."""
        arrays = self._load(key, ".npy")
        return None if arrays is None else arrays[0]

    def get_arrays(self, key: str) -> list[np.ndarray] | None:
        """The stored list of arrays (see put_arrays), or None when absent or unreadable."""
        return self._load(key, ".npz")

    def put(self, key: str, value: np.ndarray) -> None:
        """Store one array atomically; a failure to write (read-only disk) only costs a
        recomputation."""
        self._store(key, ".npy", lambda fh: np.save(fh, np.asarray(value), allow_pickle=False),
                    np.asarray(value).nbytes)

    def put_arrays(self, key: str, values: Sequence[np.ndarray]) -> None:
        """Store a list of arrays (e.g. a network's activations, one per layer) atomically."""
        arrays = {f"a{i}": np.asarray(v) for i, v in enumerate(values)}
        self._store(key, ".npz", lambda fh: np.savez(fh, **arrays),
                    sum(a.nbytes for a in arrays.values()))

    def cached(self, key: str, compute: Callable[[], np.ndarray]) -> np.ndarray:
        """The stored array under `key`, else compute() stored under it."""
        value = self.get(key)
        if value is None:
            value = compute()
            self.put(key, value)
        return value

    def _load(self, key: str, suffix: str) -> list[np.ndarray] | None:
        if self.max_bytes <= 0:
            return None
        path = self._path(key, suffix)
        try:
            if suffix == ".npy":
                arrays = [np.load(path, allow_pickle=False)]
            else:
                with np.load(path, allow_pickle=False) as data:
                    arrays = [data[f"a{i}"] for i in range(len(data.files))]
            os.utime(path)            # recently used: the last to be dropped
            return arrays
        except (OSError, ValueError, EOFError, KeyError, zipfile.BadZipFile):
            return None

    def _store(self, key: str, suffix: str, write: Callable, nbytes: int) -> None:
        if nbytes > self.max_bytes // 8:
            return
        path = self._path(key, suffix)
        try:
            path.parent.mkdir(parents=True, exist_ok=True)
            fd, tmp = tempfile.mkstemp(prefix=".tmp-", suffix=suffix, dir=path.parent)
            try:
                with os.fdopen(fd, "wb") as fh:
                    write(fh)
                os.replace(tmp, path)
            finally:
                Path(tmp).unlink(missing_ok=True)
        except OSError:
            return
        self._bound()

    def _bound(self) -> None:
        """Drop least recently used entries until the root is within max_bytes."""
        entries = []
        for path in self.root.glob("*/*/*"):
            if path.suffix in SUFFIXES and not path.name.startswith(".tmp-"):
                try:
                    stat = path.stat()
                except OSError:
                    continue
                entries.append((stat.st_mtime, stat.st_size, path))
        total = sum(size for _, size, _ in entries)
        for _, size, path in sorted(entries, key=lambda e: e[0]):
            if total <= self.max_bytes:
                break
            path.unlink(missing_ok=True)
            total -= size
