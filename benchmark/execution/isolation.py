"""Method isolation: a method's encode() and decode() each run in a sandboxed worker process,
apart from the job's process (which computes the metrics) and from the store (which only the
runner writes).

Each worker is spawned (a fresh interpreter: it never held anything the other did), confined
before it runs any method code (benchmark.execution.sandbox: namespaces, memory cap, Landlock)
and lives as long as the process that runs jobs, so torch is imported once. Every job gets a
fresh, empty scratch folder: the worker's folder is emptied before each request. The worker's
environment is fixed (HARNESS_ENV plus the names a method declares), and plugin modules are
passed as checked names, not as free text.

- the encoder worker reads the source, code, packages and weights, writes only its scratch;
- the decoder worker gets copies of the stream files (benchmark.execution.streams) and the
  session, and may not read the sources' folders, the stores or the caches derived from them.

Modes, recorded in every job record as `isolation`:
- `process+<layers>` (e.g. `process+netns+ipcns+memcap+landlock7+landlock-net+landlock-scope`):
  encoder and decoder ran in workers with these layers in force;
- `none`: `--isolation none`, encode and decode in the job's process (debugging only);
- `none (no decoder)`: a method with no decoder of its own (external results).
"""

from __future__ import annotations

import contextlib
import json
import multiprocessing
import os
import re
import shutil
import sys
import tempfile
from collections.abc import Iterator
from pathlib import Path

from benchmark.core.errors import UlvrError
from benchmark.core.identity import portable_text
from benchmark.core.paths import REPO_ROOT, RESULTS_DIR
from benchmark.core.plugins import plugin_modules
from benchmark.data.manifest import Sequence
from benchmark.execution.sandbox import Confinement, isolation_name
from benchmark.execution.workdirs import JOB_DIR_PREFIX
from benchmark.protocol import Decoded, Encoded, RatePoint

ISOLATION_MODES = ("process", "none")
NO_DECODER = "none (no decoder)"
# what a worker's environment holds besides the names a method declares (Method.environment)
HARNESS_ENV = ("PATH", "HOME", "LANG", "LC_ALL", "TZ", "ULVR_CACHE", "ULVR_WEIGHTS",
               "TORCH_HOME", "XDG_CACHE_HOME", "ULVR_EXTERNAL_ROOT", "ULVR_DATA",
               "ULVR_DATASETS", "CUDA_VISIBLE_DEVICES")
_MODULE = re.compile(r"[A-Za-z_][A-Za-z0-9_]*(\.[A-Za-z_][A-Za-z0-9_]*)*")
_warned: set[str] = set()


class WorkerFailed(UlvrError):
    """A sandboxed encoder or decoder raised, crashed or was stopped."""




def worker_environment(declared: tuple[str, ...], scratch: str, threads: int) -> dict:
    """The fixed environment of a request: the harness's names and the method's declared
    ones, nothing else of the runner's (an encoder's changes stay in its own worker)."""
    env = {k: os.environ[k] for k in (*HARNESS_ENV, *declared) if k in os.environ}
    env.update(TMPDIR=scratch, OMP_NUM_THREADS=str(threads), MKL_NUM_THREADS=str(threads))
    return env


def _empty(folder: Path) -> None:
    for child in folder.iterdir():
        if child.is_dir() and not child.is_symlink():
            shutil.rmtree(child, ignore_errors=True)
        else:
            child.unlink(missing_ok=True)


def _serve(conn, scratch: str, confinement: Confinement, threads: int, parent: int,
           modules: list[str]) -> None:
    """The worker: confine itself, say which layers are in force, then serve encode or decode
    requests until told to stop (None)."""
    import signal

    from benchmark.execution.sandbox import confine

    # Ctrl-C reaches the whole process group: the job process decides, and this worker goes
    # with it (exit_with_parent), never with a traceback of its own
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    layers, warnings = confine(Path(scratch), confinement)   # before any thread starts
    from benchmark.core.alloc import reuse_freed_memory
    from benchmark.core.procs import exit_with_parent

    reuse_freed_memory()   # as every job process: networks' large blocks reused, not faulted in
    exit_with_parent(parent)
    os.chdir(scratch)
    tempfile.tempdir = scratch
    # the thread budget through the environment: torch is imported by the methods that use it
    # (a codec's worker never pays for it), and reads it then
    os.environ["OMP_NUM_THREADS"] = os.environ["MKL_NUM_THREADS"] = str(threads)
    conn.send(("ready", layers, warnings))
    from benchmark.core import plugins
    from benchmark.protocol import create_method

    plugins.set_plugin_modules(modules)
    methods: dict[str, object] = {}
    while True:
        try:
            request = conn.recv()
        except (EOFError, OSError):   # the job process is gone: exit quietly
            return
        if request is None:
            return
        try:
            os.environ.clear()
            os.environ.update(request["env"])
            key = repr((request["method"], sorted(request["options"].items())))
            if key not in methods:
                methods[key] = create_method(request["method"], **request["options"])
                if "torch" in sys.modules:   # imported by the method: its thread budget
                    sys.modules["torch"].set_num_threads(threads)
            method = methods[key]
            method.device = request["device"]
            workdir = Path(request["workdir"])
            if request["op"] == "encode":
                encoded = method.encode(request["sequence"], request["rate_point"], workdir)
                conn.send(("encoded", {k: str(v) for k, v in encoded.streams.items()},
                           encoded.session, encoded.timings, encoded.commands, encoded.info,
                           method.versions()))
                continue
            streams = {name: Path(path) for name, path in request["streams"].items()}
            decoded = method.decode(streams, request["session"], workdir)
            for chunk in decoded.frames:
                conn.send(("chunk", chunk))
            conn.send(("done", decoded.timings, decoded.commands, decoded.info))
        except Exception as exc:  # noqa: BLE001 - the job process records it
            conn.send(("error", f"{type(exc).__name__}: {exc}"))


class SandboxWorker:
    """One long-lived confined worker process (encoder or decoder) and its scratch folder."""

    def __init__(self, confinement: Confinement, threads: int | None = None) -> None:
        self.confinement = confinement
        self.scratch = Path(tempfile.mkdtemp(
            prefix=f"{JOB_DIR_PREFIX}{os.getpid()}-{confinement.role}-"))
        ctx = multiprocessing.get_context("spawn")
        self.conn, child = ctx.Pipe()
        self.threads = threads or job_threads()
        self.process = ctx.Process(target=_serve, name=f"ulvr-{confinement.role}", daemon=True,
                                   args=(child, str(self.scratch), confinement, self.threads,
                                         os.getpid(), check_module_names(plugin_modules())))
        self.process.start()
        child.close()
        message = self._receive("starting")
        self.layers, self.warnings = message[1], message[2]
        self.versions: dict = {}
        self.mode = isolation_name(self.layers)
        for warning in self.warnings:
            if warning not in _warned:
                _warned.add(warning)
                print(f"ulvr: warning: {warning}", file=sys.stderr)
        self.busy = False

    def _receive(self, doing: str) -> tuple:
        try:
            return self.conn.recv()
        except (EOFError, OSError):
            self.process.join(timeout=5)
            raise WorkerFailed(f"the {self.confinement.role} process died while {doing} (exit "
                               f"code {self.process.exitcode}: killed, out of memory, or a "
                               "crash in native code)") from None

    def _job_folder(self) -> Path:
        """A fresh job folder in an emptied scratch folder: nothing of an earlier job is left."""
        _empty(self.scratch)
        job = self.scratch / "job"
        job.mkdir()
        return job

    def _request(self, op: str, method: str, options: dict, device: str,
                 environment: tuple[str, ...], **payload) -> None:
        self.busy = True
        self.conn.send({"op": op, "method": method, "options": options, "device": device,
                        "env": worker_environment(environment, str(self.scratch), self.threads),
                        **payload})

    def encode(self, method: str, options: dict, device: str, environment: tuple[str, ...],
               sequence: Sequence, rate_point: RatePoint) -> tuple[Encoded, Path]:
        """Encode in the worker; returns what it sent and its work folder (which holds the
        stream files until the next request). The method's versions as the worker saw them
        (the weights it loaded) are kept in `self.versions`."""
        job = self._job_folder()
        self._request("encode", method, options, device, environment, sequence=sequence,
                      rate_point=rate_point, workdir=str(job))
        message = self._receive("encoding")
        self.busy = False
        if message[0] == "error":
            raise WorkerFailed(f"the isolated encoder failed: {message[1]}")
        _, streams, session, timings, commands, info, self.versions = message
        commands = [portable_text(c, job) for c in commands]
        info = json.loads(portable_text(json.dumps(info, default=str), job))
        return Encoded(streams={k: Path(v) for k, v in streams.items()}, session=session,
                       timings=timings, commands=commands, info=info), job

    def decode(self, method: str, options: dict, device: str, environment: tuple[str, ...],
               streams: dict[str, Path], session: dict) -> Decoded:
        """Copy the (harness-owned) stream files into a fresh folder and decode them in the
        worker; the frames stream back as they are decoded."""
        job = self._job_folder()
        (job / "streams").mkdir()
        (job / "work").mkdir()
        copies = {}
        for name, path in streams.items():
            copies[name] = str(job / "streams" / f"{name}{Path(path).suffix}")
            shutil.copyfile(path, copies[name])
        self._request("decode", method, options, device, environment, streams=copies,
                      session=session, workdir=str(job / "work"))
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
                    raise WorkerFailed(f"the isolated decoder failed: {message[1]}")
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


_WORKERS: dict[str, SandboxWorker] = {}


def sandbox_worker(confinement: Confinement) -> SandboxWorker:
    """This process's worker for a role, started (or restarted) so that it is idle and
    confined at least as `confinement` asks: a worker interrupted mid-stream is not reused."""
    worker = _WORKERS.get(confinement.role)
    if worker is not None and (not worker.alive() or not worker.confinement.covers(confinement)):
        if worker.confinement.memory_gb == confinement.memory_gb:
            confinement = Confinement(
                confinement.role, confinement.denied | worker.confinement.denied,
                tuple(sorted({*confinement.readable, *worker.confinement.readable})),
                confinement.memory_gb)
        worker.close()
        worker = None
    if worker is None:
        import atexit

        atexit.unregister(close_workers)
        atexit.register(close_workers)
        worker = _WORKERS[confinement.role] = SandboxWorker(
            confinement, decoder_threads(job_threads()) if confinement.role == "decoder" else None)
    return worker


def job_threads() -> int:
    """The threads this job process was given (its executor sets OMP_NUM_THREADS)."""
    return int(os.environ.get("OMP_NUM_THREADS", "0") or 0) or (os.cpu_count() or 1)


def decoder_threads(threads: int) -> int:
    """The decoder's frames stream into the metrics, which the job process computes at the
    same time: the two share the job's cores instead of each taking all of them
    (oversubscribed torch threads made a 720p decode and its metrics up to 2.6x slower)."""
    return max(1, threads // 2)


def close_workers() -> None:
    """Stop this process's workers, if any."""
    for role in list(_WORKERS):
        _WORKERS.pop(role).close()


def source_folders(sources: tuple[str, ...]) -> set[str]:
    """The folders that hold the sources: a file beside a source (carphone_distorted.mp4
    beside carphone.mp4) may hold it too, so the decoder is denied the whole folder."""
    return {str(Path(s).resolve().parent) for s in sources if s}


def private_paths(source: str, store_root: str | None = None,
                  other_sources: tuple[str, ...] = ()) -> frozenset[str]:
    """What a decoder must never read: the folders of the sequence's source and of the run's
    other sequences (denied up front, so one worker serves the whole run), the result stores
    (their preview frames), and the caches of features and training inputs derived from
    sources. The temporary folder (the encoder's scratch) is outside what it may read."""
    from benchmark.core.featcache import cache_root
    from benchmark.core.weights import default_cache_dir

    paths = {*source_folders((source, *other_sources)), str(cache_root()),
             str(default_cache_dir() / "sender"), str(RESULTS_DIR)}
    if store_root:
        paths.add(store_root)
    return frozenset(str(Path(p).resolve()) for p in paths)


def sandbox_hidden_folders(sources: tuple[str, ...]) -> list[Path]:
    """The folders the sandbox hides from methods for a run on `sources` (results/, caches, the
    sources' folders), checked once per run: a source beside the harness's own code is a
    one-line error before any job, instead of workers that die at start."""
    for folder in source_folders(sources):
        if Path(folder) == REPO_ROOT or Path(folder) in REPO_ROOT.parents:
            raise UlvrError(f"the source video's folder '{folder}' holds the harness itself: "
                            "the sandbox hides everything beside a source from decoders, so "
                            "move the video to a folder of its own (or run with --isolation "
                            "none)")
    return [Path(p) for p in private_paths(sources[0], None, sources[1:])] if sources else []


def check_weights_visible(method_name: str, weights: list[Path], hidden: list[Path]) -> None:
    """A weights file inside a folder the sandbox hides is a one-line error before any job,
    instead of 'does not exist' from every worker."""
    for weights_file in weights:
        path = Path(weights_file).resolve()
        for folder in hidden:
            if path == folder or folder in path.parents:
                raise UlvrError(
                    f"{method_name}: weights file '{weights_file}' lies inside '{folder}', "
                    "which the sandbox hides from methods (it holds results, caches derived "
                    "from sources, or source videos): copy the file to another folder (e.g. "
                    "methods/causal_diffusion/checkpoints/) or run with --isolation none")


def encoder_confinement(sources: tuple[str, ...], store_root: str | None, readable: tuple,
                        memory_gb: float) -> Confinement:
    """The encoder reads the run's sources, code, packages and weights; never the stores or
    the feature caches; it writes only its scratch folder."""
    from benchmark.core.featcache import cache_root

    denied = {str(RESULTS_DIR), str(cache_root()), *([store_root] if store_root else [])}
    return Confinement("encoder", frozenset(str(Path(p).resolve()) for p in denied),
                       tuple(sorted({*readable, *sources})), memory_gb)


def decoder_confinement(source: str, store_root: str | None, others: tuple[str, ...],
                        readable: tuple, memory_gb: float) -> Confinement:
    """The decoder reads code, packages and weights; never a source's folder, a store or a
    cache derived from sources; it writes only its scratch folder."""
    return Confinement("decoder", private_paths(source, store_root, others),
                       tuple(sorted(set(readable))), memory_gb)


def weights_folders() -> tuple[str, ...]:
    """Folders of network weights a worker may read besides the installed packages."""
    from benchmark.core.weights import default_cache_dir

    torch_home = Path(os.environ.get("TORCH_HOME") or Path.home() / ".cache" / "torch")
    folders = (default_cache_dir(), torch_home / "hub" / "checkpoints")
    return tuple(str(f) for f in folders if f.exists())


def check_module_names(modules: list[str]) -> list[str]:
    """Plugin module names, each a dotted Python name (they reach workers as names, not text)."""
    for module in modules:
        if not _MODULE.fullmatch(module):
            raise UlvrError(f"$ULVR_PLUGINS names '{module[:40]}', which is not a module name: "
                            "give comma-separated dotted names (e.g. mypkg.methods)")
    return modules
