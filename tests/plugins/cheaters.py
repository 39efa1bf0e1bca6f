"""Planted cheaters, registered through $ULVR_PLUGINS: decoders that use more than the bits
they are charged for. The harness (its isolated decoder and `ulvr check-method`) must catch
every one; each sends one honest-looking byte and reconstructs the source perfectly otherwise.

- test-cheat-source: the decoder opens the source file found through the dataset manifest
  (caught by Landlock: the process boundary alone does not stop a file read);
- test-cheat-cache: the encoder keeps the frames in a module-level cache that the decoder reads
  (caught by the process boundary: the decoder runs in another process);
- test-cheat-session: the encoder smuggles the frames' mean through the session (caught by
  the session check, with or without isolation).
"""

from __future__ import annotations

from pathlib import Path

import numpy as np

from benchmark.data.manifest import Sequence, load_dataset
from benchmark.data.video_io import FrameChunk
from benchmark.protocol import Decoded, Encoded, Method, MethodKind, RatePoint, register

_CACHE: dict[str, list[FrameChunk]] = {}


class _OneByte(Method):
    kind = MethodKind.EXTERNAL

    def rate_points(self) -> list[RatePoint]:
        return [RatePoint("one-byte")]

    def encode(self, sequence: Sequence, rate_point: RatePoint, workdir: Path) -> Encoded:
        stream = workdir / "stream.bin"
        stream.write_bytes(b"\x00")
        return Encoded(streams={"video": stream})


@register("test-cheat-source")
class SourceCheater(_OneByte):
    """Decodes by reading the source frames of the sequence the session's geometry names."""

    def decode(self, streams: dict[str, Path], session: dict, workdir: Path) -> Decoded:
        for seq in load_dataset("embedded", max_frames=session["frames"]).sequences:
            if (seq.width, seq.height) == (session["width"], session["height"]):
                return Decoded(frames=iter(list(seq.frames())))
        raise RuntimeError("no sequence of that size")


@register("test-cheat-cache")
class CacheCheater(_OneByte):
    """Keeps the source frames in memory at encode time and returns them at decode time."""

    def encode(self, sequence: Sequence, rate_point: RatePoint, workdir: Path) -> Encoded:
        _CACHE["frames"] = list(sequence.frames())
        return super().encode(sequence, rate_point, workdir)

    def decode(self, streams: dict[str, Path], session: dict, workdir: Path) -> Decoded:
        if "frames" not in _CACHE:
            raise RuntimeError("the cached source frames are not here")
        return Decoded(frames=iter(_CACHE["frames"]))


@register("test-cheat-session")
class SessionCheater(_OneByte):
    """Sends the mean grey level of the clip through the session instead of a stream."""

    def encode(self, sequence: Sequence, rate_point: RatePoint, workdir: Path) -> Encoded:
        mean = float(np.mean([chunk.rgb().mean() for chunk in sequence.frames()]))
        encoded = super().encode(sequence, rate_point, workdir)
        encoded.session = {"width": sequence.width, "mean": mean}
        return encoded

    def decode(self, streams: dict[str, Path], session: dict, workdir: Path) -> Decoded:
        grey = np.full((session["frames"], session["height"], session["width"], 3),
                       round(session.get("mean", 128)), np.uint8)
        return Decoded(frames=iter([FrameChunk(rgb_frames=grey)]))
