"""The data a method exchanges with the harness: rate points, what its encoder sends, what its
decoder rebuilds, and a job's reconstruction. Plain data, importable by anything above `data`."""

from __future__ import annotations

import hashlib
import json
import os
from collections.abc import Iterator
from dataclasses import dataclass, field
from enum import StrEnum
from pathlib import Path

from benchmark.data.video_io import FrameChunk


class MethodKind(StrEnum):
    """The baseline classes the paper compares, plus the proposed method and external results."""

    CLASSICAL = "classical"
    NEURAL = "neural"
    GENERATIVE = "generative"
    SEMANTIC = "semantic"
    PROPOSED = "proposed"
    EXTERNAL = "external"


@dataclass(frozen=True)
class RatePoint:
    """One operating point of a method: a label and the parameters that set it."""

    label: str
    params: dict = field(default_factory=dict)

    def to_dict(self) -> dict:
        return {"label": self.label, "params": dict(self.params)}


@dataclass(frozen=True)
class Availability:
    """Whether a method can run here, and if not, why and what to do."""

    ok: bool
    reason: str = ""


@dataclass
class Reconstruction:
    """What a method produced for one job. `frames` is a one-shot iterator over decoded chunks;
    `timings` may gain entries (e.g. decode time) while the frames are consumed."""

    streams: dict[str, Path]
    frames: Iterator[FrameChunk]
    timings: dict[str, float] = field(default_factory=dict)
    commands: list[str] = field(default_factory=list)
    info: dict = field(default_factory=dict)
    # bits of streams reported but not written here (results published elsewhere: external:*)
    declared_bits: dict[str, int] = field(default_factory=dict)
    # the method's versions as its encoder saw them (weights loaded there), when it ran apart
    versions: dict = field(default_factory=dict)

    def stream_bits(self) -> dict[str, int]:
        """Bits of every stream, from the size of the bytes actually written, plus any
        declared ones."""
        bits = {name: 8 * os.path.getsize(path) for name, path in self.streams.items()}
        return {**bits, **self.declared_bits}


@dataclass
class Encoded:
    """What a method's encoder sends for one job: the stream files (every bit the decoder may
    use) and what it measured. The decoder gets these files and the harness's session only."""

    streams: dict[str, Path]
    # keys it relies on; checked (benchmark.protocol.session)
    session: dict = field(default_factory=dict)
    timings: dict[str, float] = field(default_factory=dict)
    commands: list[str] = field(default_factory=list)
    info: dict = field(default_factory=dict)


@dataclass
class Decoded:
    """What a method's decoder rebuilt from the streams: frames streamed in chunks (a one-shot
    iterator) and timings, which may gain entries while the frames are consumed."""

    frames: Iterator[FrameChunk]
    timings: dict[str, float] = field(default_factory=dict)
    commands: list[str] = field(default_factory=list)
    info: dict = field(default_factory=dict)


def combine(encoded: Encoded, decoded: Decoded) -> Reconstruction:
    """One job's Reconstruction from its encoder's and decoder's outputs. Its timings, info and
    commands are the decoder's own objects, the encoder's entries added, so what the decoder
    adds while its frames stream (an isolated decoder reports at the end) still arrives."""
    for key, value in encoded.timings.items():
        decoded.timings.setdefault(key, value)
    for key, value in encoded.info.items():
        decoded.info.setdefault(key, value)
    decoded.commands[:0] = encoded.commands
    return Reconstruction(streams=encoded.streams, frames=decoded.frames,
                          timings=decoded.timings, commands=decoded.commands,
                          info=decoded.info)


def config_digest(config: dict) -> str:
    """Short stable hash of a method configuration (what `config_hash` returns)."""
    blob = json.dumps(config, sort_keys=True, default=str).encode()
    return hashlib.sha256(blob).hexdigest()[:12]
