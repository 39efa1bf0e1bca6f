"""Streams the harness owns: what an encoder returns is checked and copied before anyone counts
or decodes it.

- every stream name is one the method declares (`Method.stream_names`): a name is not a place
  to hide data;
- every stream is a regular file (not a link, a device or a /proc file) inside the encoder's
  own work folder;
- the copy is made by the harness into a folder no method can write, and the bits are the size
  of that copy, the bytes the decoder then reads (a file changed after the copy changes
  nothing);
- the parameter-set streams are the ones the method declares (`Method.parameter_set_streams`),
  never inferred from a name.
"""

from __future__ import annotations

import os
import stat
from pathlib import Path

from benchmark.core.errors import UlvrError
from benchmark.protocol import Method

COPY_CHUNK = 1 << 20


class StreamRefused(UlvrError):
    """An encoder returned a stream the harness does not accept."""


def _copy_regular(source: Path, target: Path) -> int:
    """Copy a regular file without following a link; returns the bytes copied."""
    fd = os.open(source, os.O_RDONLY | os.O_NOFOLLOW)
    try:
        if not stat.S_ISREG(os.fstat(fd).st_mode):
            raise StreamRefused(f"stream file '{source.name}' is not a regular file")
        copied = 0
        with open(target, "xb") as out:
            while chunk := os.read(fd, COPY_CHUNK):
                out.write(chunk)
                copied += len(chunk)
        return copied
    finally:
        os.close(fd)


def _declared(method: Method) -> tuple[str, ...]:
    return tuple(method.stream_names)


def own_streams(method: Method, streams: dict[str, Path], workdir: Path, into: Path
                ) -> tuple[dict[str, Path], dict[str, int]]:
    """Check an encoder's streams and copy them into `into`; returns the copies and their
    bits (8 x the bytes copied)."""
    declared = _declared(method)
    undeclared = sorted(name for name in streams if name not in declared)
    if undeclared:
        shown = ", ".join(repr(n[:40]) for n in undeclared[:3])
        raise StreamRefused(f"{method.name}: stream name(s) {shown}"
                            + (f" (+{len(undeclared) - 3} more)" if len(undeclared) > 3 else "")
                            + f" not declared; declare them in stream_names (now "
                            f"{', '.join(declared) or 'none'})")
    root = workdir.resolve()
    into.mkdir(parents=True, exist_ok=True)
    copies, bits = {}, {}
    for name, path in streams.items():
        path = Path(path)
        if path.is_symlink():
            raise StreamRefused(f"{method.name}: stream '{name}' is a symbolic link; write the "
                                "stream file itself inside the job folder")
        if root not in path.resolve().parents:
            raise StreamRefused(f"{method.name}: stream '{name}' lies outside the job folder; "
                                "write every stream file under the workdir encode() is given")
        copies[name] = into / f"{name}{path.suffix}"
        bits[name] = 8 * _copy_regular(path, copies[name])
    return copies, bits


def parameter_set_streams(method: Method, streams: dict[str, Path]) -> list[str]:
    """The streams of this job that the method declares as parameter sets."""
    return [name for name in method.parameter_set_streams if name in streams]
