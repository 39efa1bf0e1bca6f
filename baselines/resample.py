"""The resampling the baselines use to reach ultra-low rates: area filter down, bicubic up.

The classical codecs (`baselines.classical`, which owns the filter names) put ffmpeg `scale`
filters in front of the encoder and behind the decoder; learned codecs, which see frames as
arrays, send chunks of frames through the same ffmpeg filters here (one short ffmpeg process
per chunk: both filters are purely spatial, so chunking changes nothing). The scaled size is
the classical codecs' too: the source size divided by the factor, rounded down to even
numbers (4:2:0), never below 2.
"""

from __future__ import annotations

import subprocess

import numpy as np

from benchmark.errors import UlvrError
from benchmark.ffmpeg import ffmpeg_exe, last_error_line
from benchmark.video_io import FrameChunk, _planes_from_bytes, frame_bytes


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
