"""The neural codecs' bitstream file: what the decoder reads, and whose bytes are the bits.

    header   : version byte, then varints: source width, source height, downscale factor
    per frame: varint number of strings, then per string a varint length and its bytes
"""

from __future__ import annotations

import io
from collections.abc import Iterator
from pathlib import Path

from benchmark.core import varint
from benchmark.core.errors import UlvrError

FORMAT_VERSION = 1


def write_header(fh: io.BufferedWriter, width: int, height: int, downscale: int) -> bytes:
    """Write the header (version, source size, downscale); returns its bytes."""
    head = bytes([FORMAT_VERSION]) + b"".join(varint.encode(v) for v in (width, height, downscale))
    fh.write(head)
    return head


def write_frame(fh: io.BufferedWriter, strings: list[bytes]) -> int:
    """Write one frame's strings; returns the container bytes spent on it (counts, lengths)."""
    head = varint.encode(len(strings)) + b"".join(varint.encode(len(s)) for s in strings)
    fh.write(varint.encode(len(strings)))
    for s in strings:
        fh.write(varint.encode(len(s)))
        fh.write(s)
    return len(head)


def read_stream(path: Path) -> tuple[dict, Iterator[list[bytes]]]:
    """Header fields of a bitstream file and an iterator over its frames' strings."""
    fh = open(path, "rb")
    version = fh.read(1)
    if version != bytes([FORMAT_VERSION]):
        fh.close()
        raise UlvrError(f"'{path}' is not a version-{FORMAT_VERSION} neural-codec bitstream")
    fields = [varint.read(fh) for _ in range(3)]
    if None in fields:
        fh.close()
        raise UlvrError(f"truncated bitstream '{path}': incomplete header")
    header = dict(zip(("width", "height", "downscale"), fields, strict=True))

    def frames() -> Iterator[list[bytes]]:
        with fh:
            while (count := varint.read(fh)) is not None:
                strings = []
                for _ in range(count):
                    size = varint.read(fh)
                    data = fh.read(size or 0)
                    if size is None or len(data) != size:
                        raise UlvrError(f"truncated bitstream '{path}'")
                    strings.append(data)
                yield strings

    return header, frames()
