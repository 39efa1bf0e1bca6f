"""Portable identity: files named by content, records free of this machine's paths.

A job's key and record must not depend on where the checkout, the temp folder or the ffmpeg
binary happen to live, or the same job gets a different key (and a different record) in every
clone. Files are therefore identified by name and SHA-256, and machine paths in command lines
and error texts are replaced by placeholders (`ffmpeg`, `$WORKDIR`, `$REPO`, `$TMPDIR`, `~`).
"""

from __future__ import annotations

import functools
import hashlib
import os
import tempfile
from pathlib import Path

from benchmark.core.paths import REPO_ROOT as REPO


@functools.cache
def _sha256_of(path: str, size: int, mtime_ns: int) -> str:
    """SHA-256 of a file's bytes; cached on (path, size, mtime) so a run hashes a file once."""
    digest = hashlib.sha256()
    with open(path, "rb") as fh:
        for block in iter(lambda: fh.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


def sha256_file(path: str | os.PathLike) -> str:
    """Full hex SHA-256 of a file (cached while the file is unchanged)."""
    stat = os.stat(path)
    return _sha256_of(str(Path(path).resolve()), stat.st_size, stat.st_mtime_ns)


def file_identity(path: str | os.PathLike) -> dict:
    """A file as name + SHA-256 (sha256 None when it is missing): what job keys hash instead of
    its path, so the same weights give the same key wherever the checkout lives."""
    path = Path(path)
    return {"file": path.name, "sha256": sha256_file(path) if path.is_file() else None}


def _ffmpeg_path() -> str | None:
    """The ffmpeg binary's path, or None when imageio-ffmpeg is not installed."""
    try:
        from benchmark.core.ffmpeg import ffmpeg_exe

        return ffmpeg_exe()
    except Exception:  # noqa: BLE001 - no ffmpeg simply means nothing to replace
        return None


def placeholders(workdir: str | os.PathLike | None = None) -> list[tuple[str, str]]:
    """(machine path, placeholder) pairs, the longest path first so that a job folder inside
    the temp folder becomes $WORKDIR, not $TMPDIR/ulvr-job-..."""
    pairs = {str(REPO): "$REPO", tempfile.gettempdir(): "$TMPDIR",
             str(Path.home()): "~"}
    ffmpeg = _ffmpeg_path()
    if ffmpeg:
        pairs[ffmpeg] = "ffmpeg"
    if workdir is not None:
        pairs[str(workdir)] = "$WORKDIR"
        pairs[str(Path(workdir).resolve())] = "$WORKDIR"
    usable = [(path, name) for path, name in pairs.items() if len(path) > 1]
    return sorted(usable, key=lambda pair: len(pair[0]), reverse=True)


def portable_text(text: str, workdir: str | os.PathLike | None = None) -> str:
    """`text` with this machine's paths replaced by placeholders (see `placeholders`)."""
    for path, name in placeholders(workdir):
        text = text.replace(path, name)
    return text
