"""The resampling the baselines use to reach ultra-low rates: area filter down, bicubic up;
in time, code every t-th frame and hold it at the decoder.

The classical codecs (`baselines.classical`, which owns the filter names) put ffmpeg `scale`
filters in front of the encoder and behind the decoder; learned codecs, which see frames as
arrays, send chunks of frames through the same ffmpeg filters here (one short ffmpeg process
per chunk: both filters are purely spatial, so chunking changes nothing). The scaled size is
the classical codecs' too: the source size divided by the factor, rounded down to even
numbers (4:2:0), never below 2.

Temporal resampling is causal: `EveryNth` is what an encoder is fed (frames 0, t, 2t, ...) and
`hold` repeats each decoded picture until the next one arrives, never showing a future frame.
The classical codecs (rate points such as `qp51-d16-t8`) and the proposed method's texture
stream both go through these two.
"""

from __future__ import annotations

import math
import subprocess
from collections.abc import Iterable, Iterator
from typing import TypeVar

import numpy as np

from benchmark.core.errors import UlvrError
from benchmark.core.ffmpeg import ffmpeg_exe, last_error_line
from benchmark.data.manifest import Sequence
from benchmark.data.video_io import DEFAULT_CHUNK, FrameChunk, _planes_from_bytes, frame_bytes

T = TypeVar("T")


def scaled_size(width: int, height: int, factor: int) -> tuple[int, int]:
    """Width and height after downscaling by `factor` (even, at least 2)."""
    return max(2, width // factor // 2 * 2), max(2, height // factor // 2 * 2)


def scale_filter(width: int, height: int, flags: str) -> str:
    """The ffmpeg filter that scales to width x height with the named swscale algorithm."""
    return f"scale={width}:{height}:flags={flags}"


def resample_chunk(chunk: FrameChunk, width: int, height: int, flags: str,
                   rgb: bool = False) -> FrameChunk:
    """The chunk's frames scaled to width x height by ffmpeg's `flags` filter.

    With rgb=False the YUV 4:2:0 planes are scaled (as the classical codecs do before
    encoding); with rgb=True the RGB frames are (for decoders that output RGB).
    """
    if rgb:
        pix_fmt, data = "rgb24", np.ascontiguousarray(chunk.rgb()).tobytes()
        depth = 8
    else:
        depth = chunk.bit_depth
        pix_fmt, data = ("yuv420p" if depth == 8 else "yuv420p10le"), chunk.yuv_bytes()
    cmd = [ffmpeg_exe(), "-hide_banner", "-nostdin", "-loglevel", "error",
           "-f", "rawvideo", "-pix_fmt", pix_fmt, "-s", f"{chunk.width}x{chunk.height}",
           "-i", "pipe:0", "-vf", scale_filter(width, height, flags),
           "-f", "rawvideo", "-pix_fmt", pix_fmt, "pipe:1"]
    proc = subprocess.run(cmd, input=data, capture_output=True)
    if proc.returncode != 0:
        log = proc.stderr.decode("utf-8", "replace")
        raise UlvrError(f"ffmpeg failed to scale {chunk.width}x{chunk.height} frames to "
                        f"{width}x{height}: {last_error_line(log)}")
    n = chunk.n
    if rgb:
        want = n * width * height * 3
        if len(proc.stdout) != want:
            raise UlvrError(f"ffmpeg gave {len(proc.stdout)} bytes scaling to {width}x{height}, "
                            f"{want} expected")
        return FrameChunk(rgb_frames=np.frombuffer(proc.stdout, np.uint8)
                          .reshape(n, height, width, 3).copy())
    want = n * frame_bytes(width, height, depth)
    if len(proc.stdout) != want:
        raise UlvrError(f"ffmpeg gave {len(proc.stdout)} bytes scaling to {width}x{height}, "
                        f"{want} expected")
    return FrameChunk(_planes_from_bytes(proc.stdout, n, width, height, depth), bit_depth=depth)


class EveryNth:
    """A view of a sequence holding frames 0, n, 2n, ...: what a temporally resampled encoder is
    fed. It has the attributes an encoder reads (name, geometry, fps / n, frame count)."""

    def __init__(self, sequence: Sequence, n: int) -> None:
        if n < 1:
            raise UlvrError(f"temporal resampling interval {n} is not a positive integer: "
                            "use t >= 1 in the rate point")
        self.seq, self.n = sequence, n
        self.name, self.width, self.height = sequence.name, sequence.width, sequence.height
        self.fps, self.bit_depth = sequence.fps / n, sequence.bit_depth
        self.num_frames = math.ceil(sequence.num_frames / n)

    def frames(self, chunk_size: int = DEFAULT_CHUNK) -> Iterator[FrameChunk]:
        """The kept frames, in chunks of whatever the source chunk keeps (never empty)."""
        index = 0
        for chunk in self.seq.frames(chunk_size):
            keep = [i for i in range(chunk.n) if (index + i) % self.n == 0]
            index += chunk.n
            if keep:
                y, u, v = chunk.yuv()
                yield FrameChunk(planes=(y[keep], u[keep], v[keep]), bit_depth=chunk.bit_depth)


def hold(decoded: Iterable[T], n: int, num_frames: int) -> Iterator[tuple[T, int]]:
    """Per output frame i < num_frames: (the picture decoded for frame i - i % n, its age i % n).

    Causal: frame i shows the latest coded picture at or before i, never a later one."""
    pictures = iter(decoded)
    held: T | None = None
    for i in range(num_frames):
        if i % n == 0:
            held = next(pictures, None)
            if held is None:
                raise UlvrError(f"the decoder gave {i // n} pictures, {math.ceil(num_frames / n)}"
                                f" are needed to hold every {n}-th of {num_frames} frames")
        yield held, i % n


def hold_chunks(decoded: Iterable[FrameChunk], n: int, num_frames: int,
                chunk_size: int = DEFAULT_CHUNK) -> Iterator[FrameChunk]:
    """`hold` on chunks of decoded pictures: num_frames frames in chunks of chunk_size."""
    pictures = (_frame(chunk, i) for chunk in decoded for i in range(chunk.n))
    batch: list[FrameChunk] = []
    for picture, _ in hold(pictures, n, num_frames):
        batch.append(picture)
        if len(batch) == chunk_size:
            yield _stack(batch)
            batch = []
    if batch:
        yield _stack(batch)


def _frame(chunk: FrameChunk, i: int) -> FrameChunk:
    """Frame i of a chunk as a one-frame chunk of the same kind."""
    if chunk.planes is not None:
        return FrameChunk(planes=tuple(p[i:i + 1] for p in chunk.planes),
                          bit_depth=chunk.bit_depth)
    return FrameChunk(rgb_frames=chunk.rgb_frames[i:i + 1])


def _stack(frames: list[FrameChunk]) -> FrameChunk:
    """One-frame chunks of the same kind joined into one chunk."""
    if frames[0].planes is not None:
        return FrameChunk(planes=tuple(np.concatenate([f.planes[k] for f in frames])
                                       for k in range(3)), bit_depth=frames[0].bit_depth)
    return FrameChunk(rgb_frames=np.concatenate([f.rgb_frames for f in frames]))
