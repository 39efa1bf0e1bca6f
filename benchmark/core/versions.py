"""Versions recorded with every result: harness, git commit, key libraries."""

from __future__ import annotations

import functools
import hashlib
import importlib.metadata
import platform
import subprocess

import benchmark
from benchmark.core.paths import REPO_ROOT as REPO

LIBRARIES = ("numpy", "torch", "imageio-ffmpeg", "opencv-python-headless")


@functools.cache
def git_commit() -> str:
    """Commit of the harness checkout ('+dirty' when it has uncommitted changes)."""
    try:
        head = subprocess.run(["git", "-C", str(REPO), "rev-parse", "HEAD"], capture_output=True,
                              text=True, timeout=10)
        if head.returncode != 0:
            return "unknown"
        dirty = subprocess.run(["git", "-C", str(REPO), "status", "--porcelain", "-uno"],
                               capture_output=True, text=True, timeout=10).stdout.strip()
        return head.stdout.strip() + ("+dirty" if dirty else "")
    except (OSError, subprocess.TimeoutExpired):
        return "unknown"


@functools.cache
def versions() -> dict:
    """Harness version, commit, Python and library versions."""
    out = {"ulvr-bench": benchmark.__version__, "git_commit": git_commit(),
           "python": platform.python_version()}
    for lib in LIBRARIES:
        try:
            out[lib] = importlib.metadata.version(lib)
        except importlib.metadata.PackageNotFoundError:
            out[lib] = "not installed"
    return out


SOURCE_PACKAGES = ("benchmark", "methods", "baselines")


@functools.cache
def harness_identity() -> dict:
    """What must be equal on every node of a distributed run for its records to be
    comparable: the harness version, a SHA-256 of its Python sources, and the versions of
    Python and the key libraries (the git commit is left out: an installed copy has none)."""
    digest = hashlib.sha256()
    for package in SOURCE_PACKAGES:
        for path in sorted((REPO / package).rglob("*.py")):
            digest.update(str(path.relative_to(REPO)).encode())
            digest.update(path.read_bytes())
    return {**{k: v for k, v in versions().items() if k != "git_commit"},
            "source_sha256": digest.hexdigest()[:16]}
