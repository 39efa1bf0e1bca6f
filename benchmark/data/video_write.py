"""Writing frames: a Y4M writer that streams chunks (8 or 16 bit, 4:2:0 planes as read), and
PNG folders."""

from __future__ import annotations

import os
from collections.abc import Iterator
from pathlib import Path

from benchmark.data.video_io import FrameChunk, check_420_geometry


class Y4MWriter:
    """Writes chunks to a Y4M file (C420 or C420p10) as they come."""

    def __init__(self, path: str | os.PathLike, width: int, height: int, fps: float,
                 bit_depth: int = 8) -> None:
        check_420_geometry(width, height, f"'{path}'")
        self.bit_depth = bit_depth
        self._fh = open(path, "wb")
        num, den = _fps_fraction(fps)
        colour = "420jpeg" if bit_depth == 8 else "420p10"
        self._fh.write(f"YUV4MPEG2 W{width} H{height} F{num}:{den} Ip A1:1 C{colour}\n".encode())

    def write(self, chunk: FrameChunk) -> None:
        y, u, v = chunk.yuv(self.bit_depth)
        dtype = "<u2" if self.bit_depth > 8 else "u1"
        for i in range(len(y)):
            self._fh.write(b"FRAME\n")
            for plane in (y[i], u[i], v[i]):
                self._fh.write(plane.astype(dtype).tobytes())

    def close(self) -> None:
        self._fh.close()

    def __enter__(self) -> Y4MWriter:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


def write_png_frames(chunks: Iterator[FrameChunk], folder: str | os.PathLike) -> int:
    """Write frames as folder/00000.png, ...; returns the number written."""
    from PIL import Image

    folder = Path(folder)
    folder.mkdir(parents=True, exist_ok=True)
    index = 0
    for chunk in chunks:
        for frame in chunk.rgb():
            Image.fromarray(frame).save(folder / f"{index:05d}.png")
            index += 1
    return index


def _fps_fraction(fps: float) -> tuple[int, int]:
    for num, den in ((30000, 1001), (24000, 1001), (60000, 1001)):
        if abs(fps - num / den) < 1e-3:
            return num, den
    return (int(round(fps)), 1) if abs(fps - round(fps)) < 1e-6 else (int(fps * 1000), 1000)
