"""Streaming video I/O: frames come in chunks, never the whole sequence in memory.

Readers: any ffmpeg-decodable file (through an ffmpeg pipe), Y4M, raw .yuv (yuv420p and
yuv420p10le), PNG folders. Writers: Y4M and PNG. Frames travel as `FrameChunk`s that hold
YUV 4:2:0 planes and/or RGB, converting lazily (BT.709 limited range, see `colour`).
"""

from __future__ import annotations

import os
import re
import subprocess
import tempfile
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from benchmark.core.colour import rgb_to_yuv420, yuv420_to_rgb
from benchmark.core.errors import UlvrError
from benchmark.core.ffmpeg import ffmpeg_exe, last_error_line, probe

DEFAULT_CHUNK = 8


IMAGE_SUFFIXES = (".png",)


@dataclass
class FrameChunk:
    """Consecutive frames as YUV 4:2:0 planes and/or RGB; the missing form is derived on demand."""

    planes: tuple[np.ndarray, np.ndarray, np.ndarray] | None = None
    rgb_frames: np.ndarray | None = None
    bit_depth: int = 8
    _cache: dict = field(default_factory=dict, repr=False)

    def __post_init__(self) -> None:
        if self.planes is None and self.rgb_frames is None:
            raise ValueError("a FrameChunk needs YUV planes or RGB frames")

    @property
    def n(self) -> int:
        return len(self.planes[0]) if self.planes is not None else len(self.rgb_frames)

    @property
    def height(self) -> int:
        return (self.planes[0] if self.planes is not None else self.rgb_frames).shape[1]

    @property
    def width(self) -> int:
        return (self.planes[0] if self.planes is not None else self.rgb_frames).shape[2]

    def rgb(self) -> np.ndarray:
        """(n, H, W, 3) uint8 RGB."""
        if self.rgb_frames is not None:
            return self.rgb_frames
        if "rgb" not in self._cache:
            self._cache["rgb"] = yuv420_to_rgb(*self.planes, bit_depth=self.bit_depth)
        return self._cache["rgb"]

    def yuv(self, bit_depth: int | None = None) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """Y, U, V planes at `bit_depth` (default: the chunk's own)."""
        depth = bit_depth or self.bit_depth
        if self.planes is not None and depth == self.bit_depth:
            return self.planes
        key = f"yuv{depth}"
        if key not in self._cache:
            if self.planes is not None:
                self._cache[key] = tuple(_rescale_depth(p, self.bit_depth, depth)
                                         for p in self.planes)
            else:
                self._cache[key] = rgb_to_yuv420(self.rgb_frames, bit_depth=depth)
        return self._cache[key]

    def yuv_bytes(self, bit_depth: int | None = None) -> bytes:
        """Raw yuv420p (8-bit) or yuv420p10le (10-bit) bytes of all frames, for ffmpeg pipes."""
        y, u, v = self.yuv(bit_depth)
        dtype = "<u2" if (bit_depth or self.bit_depth) > 8 else "u1"
        parts = []
        for i in range(len(y)):
            parts += [y[i].astype(dtype).tobytes(), u[i].astype(dtype).tobytes(),
                      v[i].astype(dtype).tobytes()]
        return b"".join(parts)


def _rescale_depth(plane: np.ndarray, src: int, dst: int) -> np.ndarray:
    if dst > src:
        return (plane.astype(np.uint16) << (dst - src)).astype(np.uint16)
    shifted = (plane.astype(np.uint32) + (1 << (src - dst - 1))) >> (src - dst)
    return np.clip(shifted, 0, (1 << dst) - 1).astype(np.uint8 if dst == 8 else np.uint16)


def check_420_geometry(width: int, height: int, what: str) -> None:
    """4:2:0 needs even dimensions: refuse odd ones with a message naming the source."""
    if width <= 0 or height <= 0 or width % 2 or height % 2:
        raise UlvrError(f"{what}: {width}x{height} cannot be stored as 4:2:0 (odd or empty "
                        "dimensions); crop or pad it to even width and height")


def frame_bytes(width: int, height: int, bit_depth: int) -> int:
    """Bytes of one yuv420p / yuv420p10le frame."""
    return width * height * 3 // 2 * (2 if bit_depth > 8 else 1)


def _planes_from_bytes(buf: bytes, n: int, width: int, height: int,
                       bit_depth: int) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    dtype = np.dtype("<u2") if bit_depth > 8 else np.dtype("u1")
    arr = np.frombuffer(buf, dtype=dtype).reshape(n, -1)
    ys, cs = width * height, (width // 2) * (height // 2)
    y = arr[:, :ys].reshape(n, height, width)
    u = arr[:, ys:ys + cs].reshape(n, height // 2, width // 2)
    v = arr[:, ys + cs:ys + 2 * cs].reshape(n, height // 2, width // 2)
    if bit_depth > 8:
        y, u, v = (p.astype(np.uint16) for p in (y, u, v))
    return y, u, v


@dataclass
class Video:
    """A readable video: geometry plus a chunk iterator. Subclasses say where frames come from."""

    path: str
    width: int
    height: int
    fps: float
    bit_depth: int = 8
    num_frames: int | None = None

    def chunks(self, chunk_size: int = DEFAULT_CHUNK) -> Iterator[FrameChunk]:
        raise NotImplementedError

    def count_frames(self) -> int:
        """Number of frames (decodes the stream when the container does not say)."""
        if self.num_frames is None:
            self.num_frames = sum(c.n for c in self.chunks())
        return self.num_frames


@dataclass
class RawYuvVideo(Video):
    """Planar yuv420p / yuv420p10le file; geometry from the manifest or the file name."""

    start: int = 0

    def __post_init__(self) -> None:
        check_420_geometry(self.width, self.height, f"'{self.path}'")
        if not os.path.isfile(self.path):
            raise UlvrError(f"YUV file not found: '{self.path}'")
        size = os.path.getsize(self.path)
        fb = frame_bytes(self.width, self.height, self.bit_depth)
        if size % fb:
            raise UlvrError(f"'{self.path}' is {size} bytes, not a whole number of "
                            f"{self.width}x{self.height} {self.bit_depth}-bit 4:2:0 frames "
                            f"({fb} bytes each): check width, height and bit depth")
        available = size // fb - self.start
        if self.num_frames is None:
            self.num_frames = available
        elif self.num_frames > available:
            raise UlvrError(f"'{self.path}' holds {available} frames after frame {self.start},"
                            f" {self.num_frames} needed: the file is short")

    def chunks(self, chunk_size: int = DEFAULT_CHUNK) -> Iterator[FrameChunk]:
        fb = frame_bytes(self.width, self.height, self.bit_depth)
        with open(self.path, "rb") as fh:
            fh.seek(self.start * fb)
            left = self.num_frames
            while left > 0:
                n = min(chunk_size, left)
                buf = fh.read(n * fb)
                yield FrameChunk(_planes_from_bytes(buf, n, self.width, self.height,
                                                    self.bit_depth), bit_depth=self.bit_depth)
                left -= n


_Y4M_COLOURSPACES = {"420": 8, "420jpeg": 8, "420paldv": 8, "420mpeg2": 8, "420p10": 10}


@dataclass
class Y4MVideo(Video):
    """YUV4MPEG2 file (4:2:0, 8 or 10 bit), parsed in Python: no subprocess needed."""

    header_len: int = 0

    @classmethod
    def open(cls, path: str) -> Y4MVideo:
        with open(path, "rb") as fh:
            header = fh.readline()
        if not header.startswith(b"YUV4MPEG2"):
            raise UlvrError(f"'{path}' is not a Y4M file (no YUV4MPEG2 header)")
        fields = {t[:1]: t[1:] for t in header.decode("ascii", "replace").split()[1:]}
        colour = fields.get("C", "420")
        if colour not in _Y4M_COLOURSPACES:
            raise UlvrError(f"'{path}': Y4M colour space C{colour} is not supported; "
                            "convert it to 4:2:0 (C420 or C420p10)")
        num, _, den = fields.get("F", "25:1").partition(":")
        width, height = int(fields["W"]), int(fields["H"])
        check_420_geometry(width, height, f"'{path}'")
        video = cls(str(path), width, height, float(num) / float(den or 1),
                    _Y4M_COLOURSPACES[colour], header_len=len(header))
        fb = frame_bytes(width, height, video.bit_depth)
        payload = os.path.getsize(path) - len(header)
        frame_header = len(b"FRAME\n")
        if payload % (fb + frame_header):
            raise UlvrError(f"'{path}': {payload} bytes after the header is not a whole number"
                            f" of {width}x{height} frames; the file is truncated or corrupt")
        video.num_frames = payload // (fb + frame_header)
        return video

    def frame(self, index: int) -> FrameChunk:
        """One frame by index (random access: Y4M frames have a fixed size)."""
        fb = frame_bytes(self.width, self.height, self.bit_depth)
        with open(self.path, "rb") as fh:
            fh.seek(self.header_len + index * (fb + len(b"FRAME\n")))
            if not fh.readline().startswith(b"FRAME"):
                raise UlvrError(f"'{self.path}': no frame {index}")
            planes = _planes_from_bytes(fh.read(fb), 1, self.width, self.height, self.bit_depth)
        return FrameChunk(planes, bit_depth=self.bit_depth)

    def chunks(self, chunk_size: int = DEFAULT_CHUNK) -> Iterator[FrameChunk]:
        fb = frame_bytes(self.width, self.height, self.bit_depth)
        with open(self.path, "rb") as fh:
            fh.seek(self.header_len)
            left = self.num_frames
            while left > 0:
                n = min(chunk_size, left)
                bufs = []
                for _ in range(n):
                    marker = fh.readline()
                    if not marker.startswith(b"FRAME"):
                        raise UlvrError(f"'{self.path}': missing FRAME marker; file is corrupt")
                    bufs.append(fh.read(fb))
                yield FrameChunk(_planes_from_bytes(b"".join(bufs), n, self.width, self.height,
                                                    self.bit_depth), bit_depth=self.bit_depth)
                left -= n


@dataclass
class PngFolderVideo(Video):
    """A folder of PNG frames in name order (or a single PNG image), read as RGB."""

    files: list[str] = field(default_factory=list)

    @classmethod
    def open(cls, path: str, fps: float = 25.0) -> PngFolderVideo:
        from PIL import Image

        p = Path(path)
        files = sorted(str(f) for f in p.iterdir() if f.suffix.lower() in IMAGE_SUFFIXES) \
            if p.is_dir() else [str(p)]
        if not files:
            raise UlvrError(f"'{path}' holds no PNG frames")
        with Image.open(files[0]) as img:
            width, height = img.size
        return cls(str(path), width, height, fps, 8, len(files), files=files)

    def chunks(self, chunk_size: int = DEFAULT_CHUNK) -> Iterator[FrameChunk]:
        from PIL import Image

        for i in range(0, len(self.files), chunk_size):
            frames = []
            for f in self.files[i:i + chunk_size]:
                try:
                    with Image.open(f) as img:
                        frames.append(np.asarray(img.convert("RGB")))
                except OSError as exc:
                    raise UlvrError(f"cannot read PNG frame '{f}': {exc}") from exc
                if frames[-1].shape[:2] != (self.height, self.width):
                    raise UlvrError(f"'{f}' is {frames[-1].shape[1]}x{frames[-1].shape[0]}, "
                                    f"the folder's first frame is {self.width}x{self.height}")
            yield FrameChunk(rgb_frames=np.stack(frames))


def is_rgb_pix_fmt(pix_fmt: str) -> bool:
    """Whether an ffmpeg pixel format stores RGB (rgb24, bgr0, gbrp10le, x2rgb10le, pal8 ...)."""
    return "rgb" in pix_fmt or "bgr" in pix_fmt or pix_fmt.startswith("gbr") or pix_fmt == "pal8"


@dataclass
class FfmpegVideo(Video):
    """Any file ffmpeg decodes; `filters` (an ffmpeg -vf chain) may select, scale or crop
    frames, in which case width/height are the filtered size.

    YUV files are piped as raw yuv420p(10le): their planes are kept as coded. RGB files
    (`rgb` True, probed when not given) are piped as 8-bit rgb24 and converted to YUV, when
    asked, by `benchmark.core.colour` (BT.709 limited range, as PNG sources): left to itself,
    swscale would use BT.601 (saturated red: Y 81 instead of BT.709's 63)."""

    filters: str = ""
    rgb: bool | None = None

    @classmethod
    def open(cls, path: str) -> FfmpegVideo:
        info = probe(path)
        check_420_geometry(info.width, info.height, f"'{path}'")
        rgb = is_rgb_pix_fmt(info.pix_fmt)
        return cls(str(path), info.width, info.height, info.fps,
                   8 if info.bit_depth <= 8 or rgb else 10, rgb=rgb)

    def _frame_format(self) -> tuple[str, int]:
        """The pipe's pixel format and bytes per frame (probing the file if not known)."""
        if self.rgb is None:
            self.rgb = is_rgb_pix_fmt(probe(self.path).pix_fmt)
        if self.rgb:
            return "rgb24", self.width * self.height * 3
        return ("yuv420p" if self.bit_depth == 8 else "yuv420p10le",
                frame_bytes(self.width, self.height, self.bit_depth))

    def _chunk(self, buf: bytes, n: int) -> FrameChunk:
        """n frames of pipe bytes as a chunk (RGB frames or YUV planes)."""
        if self.rgb:
            return FrameChunk(rgb_frames=np.frombuffer(buf, np.uint8)
                              .reshape(n, self.height, self.width, 3).copy())
        return FrameChunk(_planes_from_bytes(buf, n, self.width, self.height, self.bit_depth),
                          bit_depth=self.bit_depth)

    def chunks(self, chunk_size: int = DEFAULT_CHUNK) -> Iterator[FrameChunk]:
        pix_fmt, fb = self._frame_format()
        cmd = [ffmpeg_exe(), "-hide_banner", "-nostdin", "-loglevel", "error", "-i", self.path]
        if self.filters:
            cmd += ["-vf", self.filters]
        if self.num_frames is not None:
            cmd += ["-frames:v", str(self.num_frames)]
        cmd += ["-f", "rawvideo", "-pix_fmt", pix_fmt, "-fps_mode", "passthrough", "pipe:1"]
        with tempfile.TemporaryFile() as err:
            proc = subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=err,
                                    stdin=subprocess.DEVNULL)
            got = 0
            try:
                while True:
                    buf = proc.stdout.read(fb * chunk_size)
                    n = len(buf) // fb
                    if n:
                        got += n
                        yield self._chunk(buf[:n * fb], n)
                    if len(buf) < fb * chunk_size:
                        break
            finally:
                proc.stdout.close()
                if proc.poll() is None:
                    proc.kill()
                proc.wait()
            err.seek(0)
            message = err.read().decode("utf-8", "replace")
        if proc.returncode not in (0, -9) or (got == 0 and self.num_frames != 0):
            raise UlvrError(f"cannot decode '{self.path}': {last_error_line(message)}")
        if self.num_frames is not None and got < self.num_frames:
            raise UlvrError(f"'{self.path}' gave {got} frames, {self.num_frames} expected: "
                            "the file is short or corrupt")


_YUV_NAME = re.compile(r"(?P<w>\d+)x(?P<h>\d+)(?:_(?P<fps>\d+(?:\.\d+)?)(?:fps|hz)?)?", re.I)


_BITS_NAME = re.compile(r"(?P<bits>8|10)[_-]?bit|p(?P<bits2>10)le", re.I)


def parse_yuv_name(name: str) -> dict:
    """Geometry from names like `Beauty_1920x1080_120fps_420_8bit_YUV.yuv`."""
    match = _YUV_NAME.search(Path(name).name)
    if not match:
        raise UlvrError(f"cannot tell the size of raw video '{name}': name it like "
                        "Name_1920x1080_50fps_8bit.yuv or give --width/--height")
    bits = _BITS_NAME.search(Path(name).name)
    bit_depth = int(bits.group("bits") or bits.group("bits2")) if bits else 8
    fps = float(match.group("fps")) if match.group("fps") else 25.0
    return {"width": int(match.group("w")), "height": int(match.group("h")),
            "fps": fps, "bit_depth": bit_depth}


def open_video(path: str | os.PathLike, width: int | None = None, height: int | None = None,
               fps: float | None = None, bit_depth: int | None = None) -> Video:
    """Open a video or image by its kind: .yuv, .y4m, PNG file/folder, else through ffmpeg."""
    path = str(path)
    if not os.path.exists(path):
        raise UlvrError(f"no such file or folder: '{path}'")
    suffix = Path(path).suffix.lower()
    if os.path.isdir(path) or suffix in IMAGE_SUFFIXES:
        return PngFolderVideo.open(path, fps or 25.0)
    if suffix == ".y4m":
        return Y4MVideo.open(path)
    if suffix == ".yuv":
        geo = parse_yuv_name(path) if width is None or height is None else {
            "width": width, "height": height, "fps": 25.0, "bit_depth": 8}
        return RawYuvVideo(path, geo["width"], geo["height"], fps or geo["fps"],
                           bit_depth or geo["bit_depth"])
    return FfmpegVideo.open(path)
