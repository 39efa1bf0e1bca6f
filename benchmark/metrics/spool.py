"""Spooling a reference/reconstruction pair to disk for whole-video tools (libvmaf, cvvdp):
frames go to two Y4M files as they stream past, so the video is never held in memory."""

from __future__ import annotations

import shutil
import tempfile
from pathlib import Path

from benchmark.core.errors import UlvrError
from benchmark.data.video_io import FrameChunk
from benchmark.data.video_write import Y4MWriter


class PairSpool:
    """Two Y4M files (`ref.y4m`, `dist.y4m`) in a private temp folder, removed by cleanup()."""

    def __init__(self, prefix: str, fps: float = 25.0) -> None:
        self.prefix, self.fps = prefix, fps
        self.dir: Path | None = None
        self._writers: tuple[Y4MWriter, Y4MWriter] | None = None

    @property
    def reference(self) -> Path:
        return self.dir / "ref.y4m"

    @property
    def distorted(self) -> Path:
        return self.dir / "dist.y4m"

    def write(self, reference: FrameChunk, reconstruction: FrameChunk) -> None:
        """Append one aligned chunk to both files (opened on the first chunk)."""
        if self._writers is None:
            self.dir = Path(tempfile.mkdtemp(prefix=f"ulvr-{self.prefix}-"))
            self._writers = tuple(Y4MWriter(path, reference.width, reference.height, self.fps,
                                            reference.bit_depth)
                                  for path in (self.reference, self.distorted))
        self._writers[0].write(reference)
        self._writers[1].write(reconstruction)

    def close(self, what: str) -> None:
        """Finish both files; refuse an empty video naming the metric."""
        if self._writers is None:
            raise UlvrError(f"{what} of an empty video")
        for writer in self._writers:
            writer.close()

    def cleanup(self) -> None:
        """Remove the files (also on error or reset)."""
        if self._writers is not None:
            for writer in self._writers:
                writer.close()
        if self.dir is not None:
            shutil.rmtree(self.dir, ignore_errors=True)
        self.dir, self._writers = None, None

    def __del__(self) -> None:
        self.cleanup()
