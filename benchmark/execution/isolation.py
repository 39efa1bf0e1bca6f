"""Decoder isolation: a method's decode() runs in a separate worker process on copies of its
stream files and the harness's session, nothing else.

The worker is spawned (a fresh interpreter: it never held the source frames, nor anything the
encoder cached in memory) and lives as long as the process that runs jobs, so torch is imported
once. Where the kernel offers Landlock, the worker may also read only code, installed packages
and weights, never the sequences' sources, the stores or the caches derived from them
(benchmark.execution.sandbox). Frames come back over a pipe chunk by chunk, so memory stays bounded.

Modes, recorded in every job record as `isolation`:
- `process+landlock`, `process`: the decoder ran in the worker (with or without Landlock);
- `none`: `--isolation none`, encode and decode in the job's process (debugging only);
- `none (no decoder)`: a method with no decoder of its own (external results).
"""

from __future__ import annotations

import contextlib
import json
import multiprocessing
import os
import shutil
import tempfile
from collections.abc import Iterator
from pathlib import Path

from benchmark.core.errors import UlvrError
from benchmark.core.identity import portable_text
from benchmark.core.paths import RESULTS_DIR
from benchmark.execution.workdirs import JOB_DIR_PREFIX
from benchmark.protocol import Decoded

ISOLATION_MODES = ("process", "none")
NO_DECODER = "none (no decoder)"


class DecoderFailed(UlvrError):
    """The isolated decoder raised, crashed or was stopped."""


def _serve(conn, scratch: str, denied: list[str], extra_read: list[str], threads: int,
           parent: int) -> None:
    """The worker: apply Landlock if it can, say which mode is in force, then decode requests
    until told to stop (None)."""
    from benchmark.core.procs import exit_with_parent, set_threads
    from benchmark.execution.sandbox import apply_landlock, landlock_reason

    exit_with_parent(parent)
    os.environ["TMPDIR"] = tempfile.tempdir = scratch   # temporary files stay in the sandbox
    reason = landlock_reason()
    mode = "process"
    if not reason:
        try:
            apply_landlock(Path(scratch), denied, extra_read)
            mode = "process+landlock"
        except Exception as exc:  # noqa: BLE001 - the probe's failure is reported, not fatal
            reason = f"applying Landlock failed: {type(exc).__name__}: {exc}"
    set_threads(threads)
    conn.send(("ready", mode, reason))
    from benchmark.protocol import create_method

    methods: dict[str, object] = {}
    while True:
        request = conn.recv()
        if request is None:
            return
        try:
            os.environ["ULVR_PLUGINS"] = request["plugins"]   # as the job's process has them
            key = repr((request["method"], sorted(request["options"].items())))
            if key not in methods:
                methods[key] = create_method(request["method"], **request["options"])
            method = methods[key]
            method.device = request["device"]
            streams = {name: Path(path) for name, path in request["streams"].items()}
            decoded = method.decode(streams, request["session"], Path(request["workdir"]))
            for chunk in decoded.frames:
                conn.send(("chunk", chunk))
            conn.send(("done", decoded.timings, decoded.commands, decoded.info))
        except Exception as exc:  # noqa: BLE001 - the job process records it
            conn.send(("error", f"{type(exc).__name__}: {exc}"))


class DecoderWorker:
    """One long-lived isolated decoder process and its scratch folder."""

    def __init__(self, denied: frozenset[str], extra_read: tuple[str, ...] = (),
                 threads: int | None = None) -> None:
        self.denied, self.extra_read = denied, extra_read
        self.scratch = Path(tempfile.mkdtemp(prefix=f"{JOB_DIR_PREFIX}{os.getpid()}-decoder-"))
        ctx = multiprocessing.get_context("spawn")
        self.conn, child = ctx.Pipe()
        threads = threads or int(os.environ.get("OMP_NUM_THREADS", "0") or 0) \
            or (os.cpu_count() or 1)
        self.process = ctx.Process(target=_serve, name="ulvr-decoder", daemon=True,
                                   args=(child, str(self.scratch), sorted(denied),
                                         list(extra_read), threads, os.getpid()))
        self.process.start()
        child.close()
        message = self._receive("starting")
        self.mode, self.landlock_reason = message[1], message[2]
        self.busy = False

    def _receive(self, doing: str) -> tuple:
        try:
            return self.conn.recv()
        except (EOFError, OSError):
            self.process.join(timeout=5)
            raise DecoderFailed(f"the decoder process died while {doing} (exit code "
                                f"{self.process.exitcode}: killed, out of memory, or a crash "
                                "in native code)") from None

    def decode(self, method: str, options: dict, device: str, streams: dict[str, Path],
               session: dict) -> Decoded:
        """Copy the streams into a fresh folder and decode them in the worker; the frames
        stream back as they are decoded."""
        job = Path(tempfile.mkdtemp(prefix="job-", dir=self.scratch))
        (job / "streams").mkdir()
        (job / "work").mkdir()
        copies = {}
        for name, path in streams.items():
            copies[name] = str(job / "streams" / f"{name}{Path(path).suffix}")
            shutil.copyfile(path, copies[name])
        self.busy = True
        self.conn.send({"method": method, "options": options, "device": device,
                        "plugins": os.environ.get("ULVR_PLUGINS", ""),
                        "streams": copies, "session": session, "workdir": str(job / "work")})
        timings: dict = {}
        commands: list[str] = []
        info: dict = {}
        return Decoded(frames=self._frames(job, timings, commands, info), timings=timings,
                       commands=commands, info=info)

    def _frames(self, job: Path, timings: dict, commands: list, info: dict) -> Iterator:
        try:
            while True:
                message = self._receive("decoding")
                if message[0] == "chunk":
                    yield message[1]
                elif message[0] == "done":
                    timings.update(message[1])
                    # The worker's folder is the job's work folder: recorded as $WORKDIR,
                    # as an in-process decode's, so records do not depend on isolation.
                    commands.extend(portable_text(c, job / "work") for c in message[2])
                    info.update(json.loads(portable_text(json.dumps(message[3], default=str),
                                                         job / "work")))
                    self.busy = False
                    return
                else:
                    self.busy = False
                    raise DecoderFailed(f"the isolated decoder failed: {message[1]}")
        finally:
            shutil.rmtree(job, ignore_errors=True)

    def alive(self) -> bool:
        return self.process.is_alive() and not self.busy

    def close(self) -> None:
        """Stop the worker (politely if idle, else killed) and remove its scratch folder."""
        if self.process.is_alive():
            if not self.busy:
                with contextlib.suppress(OSError):
                    self.conn.send(None)
                self.process.join(timeout=5)
            if self.process.is_alive():
                self.process.kill()
                self.process.join(timeout=5)
        self.conn.close()
        shutil.rmtree(self.scratch, ignore_errors=True)


_WORKER: DecoderWorker | None = None


def decoder_worker(denied: frozenset[str], extra_read: tuple[str, ...] = ()) -> DecoderWorker:
    """This process's decoder worker, started (or restarted) so that it is idle and denies at
    least `denied`: a worker that was interrupted mid-stream is not reused."""
    global _WORKER
    worker = _WORKER
    if worker is not None and (not worker.alive() or not denied <= worker.denied
                               or not set(extra_read) <= set(worker.extra_read)):
        denied = denied | worker.denied
        extra_read = tuple(sorted({*extra_read, *worker.extra_read}))
        worker.close()
        worker = None
    if worker is None:
        import atexit

        atexit.unregister(close_decoder_worker)
        atexit.register(close_decoder_worker)
        worker = _WORKER = DecoderWorker(denied, extra_read)
    return worker


def close_decoder_worker() -> None:
    """Stop this process's decoder worker, if any."""
    global _WORKER
    if _WORKER is not None:
        _WORKER.close()
        _WORKER = None


def private_paths(source: str, store_root: str | None = None,
                  other_sources: tuple[str, ...] = ()) -> frozenset[str]:
    """What a decoder must never read: the sequence's source file (and `other_sources`, the
    run's other sequences, denied up front so that one worker serves the whole run instead of
    restarting for each new clip), the result stores (their preview frames), and the caches of
    features and training inputs derived from sources."""
    from benchmark.core.featcache import cache_root
    from benchmark.core.weights import default_cache_dir

    paths = {source, *other_sources, str(cache_root()), str(default_cache_dir() / "sender"),
             str(RESULTS_DIR)}
    if store_root:
        paths.add(store_root)
    return frozenset(str(Path(p).resolve()) for p in paths)


def weights_folders() -> tuple[str, ...]:
    """Folders of network weights a decoder may read besides the installed packages."""
    from benchmark.core.weights import default_cache_dir

    torch_home = Path(os.environ.get("TORCH_HOME") or Path.home() / ".cache" / "torch")
    folders = (default_cache_dir(), torch_home / "hub" / "checkpoints")
    return tuple(str(f) for f in folders if f.exists())
