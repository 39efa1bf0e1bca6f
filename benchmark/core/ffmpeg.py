"""The ffmpeg binary shipped by imageio-ffmpeg, its version, and small helpers to run it."""

from __future__ import annotations

import functools
import os
import re
import subprocess
from dataclasses import dataclass

from benchmark.core.errors import UlvrError


@functools.cache
def ffmpeg_exe() -> str:
    """Path of the ffmpeg binary (from imageio-ffmpeg, so no system package is needed)."""
    try:
        import imageio_ffmpeg
    except ImportError as exc:  # pragma: no cover - a broken install
        raise UlvrError("imageio-ffmpeg is not installed: run 'make install'") from exc
    return imageio_ffmpeg.get_ffmpeg_exe()


@functools.cache
def ffmpeg_version() -> str:
    """First line of `ffmpeg -version`, recorded with every result."""
    out = subprocess.run([ffmpeg_exe(), "-hide_banner", "-version"], capture_output=True, text=True)
    return out.stdout.splitlines()[0] if out.stdout else "unknown"


def run_ffmpeg(args: list[str], what: str) -> subprocess.CompletedProcess:
    """Run ffmpeg to completion; raise UlvrError with ffmpeg's last error line on failure."""
    cmd = [ffmpeg_exe(), "-hide_banner", "-nostdin", "-y", *args]
    proc = subprocess.run(cmd, capture_output=True, text=True)
    if proc.returncode != 0:
        raise UlvrError(f"ffmpeg failed while {what}: {last_error_line(proc.stderr)}")
    return proc


def last_error_line(stderr: str) -> str:
    """The most informative line of an ffmpeg error log (for one-line error messages)."""
    lines = [ln.strip() for ln in stderr.splitlines() if ln.strip()]
    for ln in reversed(lines):
        if re.search(r"error|invalid|no such|not found|failed", ln, re.IGNORECASE):
            return ln
    return lines[-1] if lines else "no output"


@dataclass(frozen=True)
class StreamInfo:
    """Geometry and format of the first video stream of a file, as ffmpeg reports it."""

    width: int
    height: int
    fps: float
    pix_fmt: str
    codec: str

    @property
    def bit_depth(self) -> int:
        """Bits per sample implied by the pixel format (8 unless it names 9-16 bits)."""
        match = re.search(r"p(9|10|12|14|16)(le|be)?$", self.pix_fmt)
        return int(match.group(1)) if match else 8


_STREAM_RE = re.compile(r"Stream #\S+.*?Video: (?P<codec>\w+).*?, (?P<pix>[a-z0-9_]+)(?:\(.*?\))?,"
                        r" (?P<w>\d+)x(?P<h>\d+)")
_FPS_RE = re.compile(r"(?P<fps>[\d.]+) (?:fps|tbr)")


def probe(path: str) -> StreamInfo:
    """Probe a video file with `ffmpeg -i` (imageio-ffmpeg ships no ffprobe); a file probed
    before and unchanged since (same size and modification time) is not probed again: a
    sequence's source is read by every job."""
    try:
        stat = os.stat(path)
    except OSError:   # not a local file (or gone): probe it, remember nothing
        return _probe.__wrapped__(str(path), 0, 0)
    return _probe(str(path), stat.st_size, stat.st_mtime_ns)


@functools.lru_cache(maxsize=256)
def _probe(path: str, size: int, mtime_ns: int) -> StreamInfo:
    proc = subprocess.run([ffmpeg_exe(), "-hide_banner", "-i", str(path)],
                          capture_output=True, text=True)
    for line in proc.stderr.splitlines():
        match = _STREAM_RE.search(line)
        if match:
            fps_match = _FPS_RE.search(line)
            fps = float(fps_match.group("fps")) if fps_match else 25.0
            return StreamInfo(int(match.group("w")), int(match.group("h")), fps,
                              match.group("pix"), match.group("codec"))
    raise UlvrError(f"cannot read video '{path}': {last_error_line(proc.stderr)};"
                    " check that the file exists and is a video ffmpeg can decode")
