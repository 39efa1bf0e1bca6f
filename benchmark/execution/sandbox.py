"""Landlock file-access restriction of a decoder worker (Linux 5.13+, the `landlock` package).

Once applied, the process may read only its code, the installed packages, the system's
libraries and the method's weights, minus every path it is denied (the sources of the
sequences, caches derived from them), and may write only beneath its scratch folder. Landlock
restricts by allow-list, so a denied file inside an allowed folder is carved out: that folder is
allowed child by child, except along the path to the denied file.
"""

from __future__ import annotations

import os
import sys
from collections.abc import Iterable
from pathlib import Path

from benchmark.core.paths import REPO_ROOT

SYSTEM_READ = ("/usr", "/lib", "/lib64", "/lib32", "/bin", "/sbin", "/etc", "/opt", "/proc",
               "/sys", "/run")
DEVICES = "/dev"


def landlock_reason() -> str:
    """Why Landlock cannot be used here ('' when it can)."""
    try:
        import landlock
    except ImportError:
        return "the landlock package is not installed"
    try:
        version = landlock.landlock_abi_version()
    except Exception as exc:  # noqa: BLE001 - any failure of the probe means "not here"
        return f"this kernel does not offer Landlock ({type(exc).__name__}: {exc})"
    return "" if version >= 1 else "this kernel does not offer Landlock"


def _inside(path: Path, folder: Path) -> bool:
    return path == folder or folder in path.parents


def allowed_beneath(root: Path, denied: list[Path]) -> list[tuple[Path, bool]]:
    """(path, whole) pairs that cover `root` except every denied path (resolved paths): whole
    paths may be read; the folders on the way to a denied path may only be listed (finding
    installed distributions lists site-packages)."""
    if any(_inside(root, d) for d in denied):
        return []
    if not any(root in d.parents for d in denied):
        return [(root, True)]
    out: list[tuple[Path, bool]] = [(root, False)]
    try:
        children = sorted(root.iterdir())
    except OSError:
        return out
    for child in children:
        if child.is_symlink():
            target = child.resolve()
            if any(_inside(target, d) or target in d.parents for d in denied):
                continue
        out += allowed_beneath(child, denied)
    return out


def read_roots(extra: Iterable[str | os.PathLike] = ()) -> list[Path]:
    """What a decoder may read: system folders, Python's prefix and import path, the
    harness's code (with its method checkpoints) and `extra` (weights folders)."""
    roots = [*SYSTEM_READ, sys.prefix, sys.base_prefix, *sys.path, REPO_ROOT, *extra]
    seen, out = set(), []
    for root in roots:
        if not root:
            continue
        path = Path(root).resolve()
        if path.exists() and path not in seen:
            seen.add(path)
            out.append(path)
    return out


def apply_landlock(scratch: Path, denied: Iterable[str | os.PathLike],
                   extra_read: Iterable[str | os.PathLike] = ()) -> None:
    """Restrict this process (and the threads and processes it starts afterwards) to reading
    read_roots() minus `denied`, and writing beneath `scratch` and the device files."""
    import landlock
    from landlock import FSAccess

    denied_paths = [Path(d).resolve() for d in denied]
    read = FSAccess.EXECUTE | FSAccess.READ_FILE | FSAccess.READ_DIR
    rules = landlock.Ruleset()
    for root in read_roots(extra_read):
        for path, whole in allowed_beneath(root, denied_paths):
            if not whole:
                rules.allow(path, rules=FSAccess.READ_DIR)
            else:
                rules.allow(path, rules=read if path.is_dir() else read & FSAccess.all_file())
    rules.allow(scratch, rules=FSAccess.all())
    if os.path.isdir(DEVICES):
        rules.allow(DEVICES, rules=read | FSAccess.WRITE_FILE)
    rules.apply()
