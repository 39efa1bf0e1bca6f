"""A bounded, content-addressed on-disk cache of reference-side features (e.g. the I3D logits
of a reference clip), so that the reference side is computed once per sequence and protocol,
not once per job.

Keys hash the protocol and the exact input bytes, so a changed frame, network or protocol can
never hit a stale entry. Entries are written atomically (temp file + rename), so parallel
workers can share the folder; an unreadable entry counts as a miss and is rewritten. The folder
keeps at most `max_entries` files, dropping the least recently written ones.
"""

from __future__ import annotations

import hashlib
import json
import os
import tempfile
from pathlib import Path

import numpy as np

MAX_ENTRIES = 50_000


def cache_root() -> Path:
    """$ULVR_CACHE/features if set, else ~/.cache/ulvr-bench/features."""
    root = os.environ.get("ULVR_CACHE")
    base = Path(root).expanduser() if root else Path.home() / ".cache" / "ulvr-bench"
    return base / "features"


def feature_key(protocol: dict, data: np.ndarray) -> str:
    """SHA-256 of the protocol (JSON) and the array's shape, dtype and bytes."""
    digest = hashlib.sha256(json.dumps(protocol, sort_keys=True).encode())
    digest.update(f"{data.shape}{data.dtype}".encode())
    digest.update(np.ascontiguousarray(data).tobytes())
    return digest.hexdigest()


class FeatureCache:
    """Arrays by key in a folder (`name/<key[:2]>/<key>.npy`)."""

    def __init__(self, name: str, root: Path | None = None,
                 max_entries: int = MAX_ENTRIES) -> None:
        self.folder = (root or cache_root()) / name
        self.max_entries = max_entries

    def _path(self, key: str) -> Path:
        return self.folder / key[:2] / f"{key}.npy"

    def get(self, key: str) -> np.ndarray | None:
        """The stored array, or None when absent or unreadable."""
        try:
            return np.load(self._path(key), allow_pickle=False)
        except (OSError, ValueError, EOFError):
            return None

    def put(self, key: str, value: np.ndarray) -> None:
        """Store atomically; a failure to write (read-only disk) only costs a recomputation."""
        path = self._path(key)
        try:
            path.parent.mkdir(parents=True, exist_ok=True)
            fd, tmp = tempfile.mkstemp(prefix=".tmp-", suffix=".npy", dir=path.parent)
            with os.fdopen(fd, "wb") as fh:
                np.save(fh, np.asarray(value), allow_pickle=False)
            os.replace(tmp, path)
        except OSError:
            return
        self._bound()

    def _bound(self) -> None:
        files = list(self.folder.glob("*/*.npy"))
        if len(files) <= self.max_entries:
            return
        files.sort(key=lambda p: p.stat().st_mtime if p.exists() else 0)
        for old in files[:len(files) - self.max_entries]:
            old.unlink(missing_ok=True)
