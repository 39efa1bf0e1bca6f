"""Session parameters in elementary streams: find the parameter sets (H.264 SPS/PPS, HEVC
VPS/SPS/PPS, VVC OPI/DCI/VPS/SPS/PPS, the AV1 sequence header) so that they can travel out of
band, as RTP sessions signal them (RFC 6184/7798 `sprop-*`), and be counted as their own
`bits` entry.

A stream is cut into units (Annex-B NAL units with their start codes; AV1 OBUs), and every
parameter-set unit is taken out. The receiver rebuilds a decodable stream by putting the
regenerated parameter sets back where the first one stood.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass

from benchmark.core import varint
from benchmark.core.errors import UlvrError

_START = re.compile(b"\x00\x00\x01")


def _annexb_units(data: bytes) -> list[tuple[int, int]]:
    """(start, end) of every NAL unit, each including its start code (3 or 4 bytes)."""
    starts = [m.start() for m in _START.finditer(data)]
    if not starts or data[:starts[0]].strip(b"\x00"):
        raise UlvrError("not an Annex-B stream: it does not begin with a start code")
    begins = [s - 1 if s > 0 and data[s - 1] == 0 else s for s in starts]
    begins[0] = 0
    return list(zip(begins, [*begins[1:], len(data)], strict=True))


def _obu_units(data: bytes) -> list[tuple[int, int]]:
    """(start, end) of every AV1 OBU of a low-overhead (Section 5) stream."""
    units, pos = [], 0
    while pos < len(data):
        header = data[pos]
        extension, has_size = (header >> 2) & 1, (header >> 1) & 1
        if not has_size:
            raise UlvrError("AV1 OBU without a size field: not a low-overhead OBU stream")
        size, body = varint.decode(data, pos + 1 + extension, "AV1 OBU size field")
        units.append((pos, body + size))
        pos = body + size
    return units


def _h264_type(data: bytes, start: int) -> int:
    return data[_payload(data, start)] & 0x1F


def _hevc_type(data: bytes, start: int) -> int:
    return (data[_payload(data, start)] >> 1) & 0x3F


def _vvc_type(data: bytes, start: int) -> int:
    return (data[_payload(data, start) + 1] >> 3) & 0x1F


def _av1_type(data: bytes, start: int) -> int:
    return (data[start] >> 3) & 0x0F


def _payload(data: bytes, start: int) -> int:
    """Position of the NAL header after the start code at `start`."""
    return data.index(b"\x00\x00\x01", start) + 3


@dataclass(frozen=True)
class UnitSyntax:
    """How one stream format is cut into units and which unit types are session parameters."""

    units: Callable[[bytes], list[tuple[int, int]]]
    unit_type: Callable[[bytes, int], int]
    parameter_types: frozenset[int]


SYNTAX: dict[str, UnitSyntax] = {
    "h264": UnitSyntax(_annexb_units, _h264_type, frozenset({7, 8, 13, 15})),
    "hevc": UnitSyntax(_annexb_units, _hevc_type, frozenset({32, 33, 34})),
    "vvc": UnitSyntax(_annexb_units, _vvc_type, frozenset({12, 13, 14, 15, 16})),
    "obu": UnitSyntax(_obu_units, _av1_type, frozenset({1})),
}


@dataclass(frozen=True)
class SplitStream:
    """A stream without its parameter sets, the first copy of them, and where they stood."""

    payload: bytes
    parameter_sets: bytes
    position: int           # offset in `payload` where the parameter sets are put back

    def rebuild(self, parameter_sets: bytes | None = None) -> bytes:
        """A decodable stream from the payload and (regenerated) parameter sets."""
        sets = self.parameter_sets if parameter_sets is None else parameter_sets
        return self.payload[:self.position] + sets + self.payload[self.position:]


def split_parameter_sets(data: bytes, fmt: str) -> SplitStream:
    """Take every parameter-set unit out of a stream (format: a key of SYNTAX); the first
    contiguous run of them is kept as `parameter_sets`, later repeats are dropped."""
    if fmt not in SYNTAX:
        raise UlvrError(f"no parameter-set syntax for stream format '{fmt}': "
                        f"known are {', '.join(SYNTAX)}")
    syntax = SYNTAX[fmt]
    payload, sets = bytearray(), bytearray()
    position, first_run_open = -1, True
    for start, end in syntax.units(data):
        unit = data[start:end]
        if syntax.unit_type(data, start) in syntax.parameter_types:
            if position < 0:
                position = len(payload)
            if first_run_open:
                sets += unit
            continue
        if position >= 0:
            first_run_open = False
        payload += unit
    if position < 0:
        raise UlvrError(f"the {fmt} stream holds no parameter sets")
    return SplitStream(bytes(payload), bytes(sets), position)


def units_before_sets(split: SplitStream, fmt: str) -> int:
    """How many payload units stand before the parameter sets (an AV1 temporal delimiter, an
    access unit delimiter): a receiver rebuilds a stream by putting regenerated sets after as
    many units as the same encoder profile puts there."""
    return sum(1 for start, _ in SYNTAX[fmt].units(split.payload) if start < split.position)


def insert_parameter_sets(payload: bytes, parameter_sets: bytes, fmt: str,
                          units_before: int) -> bytes:
    """A decodable stream: `parameter_sets` put back into a payload after its first
    `units_before` units (see units_before_sets)."""
    position = 0
    for count, (_, end) in enumerate(SYNTAX[fmt].units(payload)):
        if count == units_before:
            break
        position = end
    return payload[:position] + parameter_sets + payload[position:]
