"""Unsigned LEB128 varints (7 bits a byte, high bit = more follow): the integers of the
harness's own stream headers (neural codec container, semantic stream) and AV1's OBU sizes."""

from __future__ import annotations

from typing import BinaryIO

from benchmark.core.errors import UlvrError


def encode(value: int) -> bytes:
    """The varint bytes of a non-negative integer."""
    out = bytearray()
    while True:
        byte, value = value & 0x7F, value >> 7
        out.append(byte | (0x80 if value else 0))
        if not value:
            return bytes(out)


def decode(data: bytes, pos: int, what: str = "stream") -> tuple[int, int]:
    """The varint at `pos` and the position after it; a truncated one names `what`."""
    value = shift = 0
    while True:
        if pos >= len(data):
            raise UlvrError(f"{what} is truncated: it ends inside a number")
        byte = data[pos]
        pos += 1
        value |= (byte & 0x7F) << shift
        shift += 7
        if not byte & 0x80:
            return value, pos


def read(fh: BinaryIO) -> int | None:
    """The next varint of a file, or None at its end; a file that ends inside one is an
    error."""
    value = shift = 0
    while True:
        byte = fh.read(1)
        if not byte:
            if shift:
                raise UlvrError("truncated bitstream: it ends inside a number")
            return None
        value |= (byte[0] & 0x7F) << shift
        if not byte[0] & 0x80:
            return value
        shift += 7
