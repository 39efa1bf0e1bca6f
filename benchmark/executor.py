"""Executors: where a run's jobs execute. The runner plans the jobs, skips the finished ones and
keeps the progress bar and the summary; an executor only runs the jobs it is given and reports
each result as it finishes, so planning, resume, --force and exit codes are the same on every
executor.

- `local` (default): this machine, sequentially or in a pool of worker processes.
- `ray`: Ray tasks on a local or remote Ray cluster (`benchmark.ray_executor`).

An executor is a class registered by name; its constructor's keyword arguments are the options
`ulvr run` may pass it (an option it does not take is refused before any job runs).
"""

from __future__ import annotations

import concurrent.futures as cf
import inspect
import multiprocessing
import os
import threading
import time
from abc import ABC, abstractmethod
from collections.abc import Callable

from benchmark.errors import UlvrError
from benchmark.jobs import Job, run_job
from benchmark.store import STATUS_FAILED, ResultStore

Finished = Callable[[dict, int], None]   # finished(result summary, jobs still running)

EXECUTORS: dict[str, type[Executor]] = {}
EXECUTOR_GROUP = "ulvr.executors"   # entry points: name = "module:Class" (imported when named)


class Executor(ABC):
    """Runs jobs and calls `finished` once per job, in the driver, as each one ends."""

    name = ""

    @abstractmethod
    def run(self, jobs: list[Job], store: ResultStore, finished: Finished) -> None:
        """Run every job, writing its output into `store` (or having it written). On Ctrl-C,
        cancel what is outstanding and let KeyboardInterrupt propagate."""


def register_executor(name: str) -> Callable[[type[Executor]], type[Executor]]:
    """Class decorator: make an executor available to `ulvr run --executor NAME`."""

    def wrap(cls: type[Executor]) -> type[Executor]:
        if name in EXECUTORS:
            raise ValueError(f"executor '{name}' is registered twice")
        cls.name = name
        EXECUTORS[name] = cls
        return cls

    return wrap


def executor_names() -> list[str]:
    """Names of the executors declared under the `ulvr.executors` entry points and of those
    registered by modules already imported."""
    from benchmark.registry import entry_points

    return sorted({*EXECUTORS, *entry_points(EXECUTOR_GROUP)})


def executor_class(name: str) -> type[Executor]:
    """An executor's class by name, importing only its module."""
    from benchmark.registry import entry_points, load_entry_point

    if name not in EXECUTORS:
        ep = entry_points(EXECUTOR_GROUP).get(name)
        if ep is None:
            raise UlvrError(f"unknown executor '{name}': choose from "
                            f"{', '.join(executor_names())}")
        loaded = load_entry_point(ep, "executor")
        if name not in EXECUTORS:
            if not (isinstance(loaded, type) and issubclass(loaded, Executor)):
                raise UlvrError(f"executor plugin '{name}' ({ep.value}) is not an Executor")
            register_executor(name)(loaded)
    return EXECUTORS[name]


def create_executor(name: str, **options: object) -> Executor:
    """An executor by name; options it does not take are a user error naming the flag."""
    cls = executor_class(name)
    accepted = set(inspect.signature(cls.__init__).parameters) - {"self"}
    for option in options:
        if option not in accepted:
            flag = "--" + option.replace("_", "-")
            raise UlvrError(f"{flag} does not apply to --executor {name}; it takes "
                            + ", ".join("--" + a.replace("_", "-") for a in sorted(accepted)))
    return cls(**options)


def set_threads(threads: int) -> None:
    """Give a job's torch and OpenMP the cores it was given, no more (oversubscribed torch
    threads are many times slower)."""
    os.environ["OMP_NUM_THREADS"] = str(threads)
    import torch

    torch.set_num_threads(threads)


def exit_with_parent(parent: int, interval: float = 1.0) -> threading.Thread:
    """Watch the driver from a worker: when it dies (SIGKILL, SIGTERM), the worker exits too,
    instead of living on as an orphan that keeps running jobs and writing records."""

    def watch() -> None:
        while True:
            time.sleep(interval)
            if os.getppid() != parent:
                os._exit(1)

    thread = threading.Thread(target=watch, name="ulvr-parent-watch", daemon=True)
    thread.start()
    return thread


def _init_worker(threads: int, parent: int) -> None:
    """A local pool worker: share the cores, reuse freed memory, die with the driver."""
    from benchmark.alloc import reuse_freed_memory

    exit_with_parent(parent)
    reuse_freed_memory()
    set_threads(threads)


@register_executor("local")
class LocalExecutor(Executor):
    """This machine: the jobs one after another in this process (jobs=1), or in a pool of
    `jobs` spawned worker processes that share the cores; each worker writes its records."""

    def __init__(self, jobs: int = 1, timeout: float | None = None) -> None:
        self.jobs, self.timeout = jobs, timeout

    def run(self, jobs: list[Job], store: ResultStore, finished: Finished) -> None:
        root = str(store.root)
        if self.jobs <= 1:
            for job in jobs:
                finished(run_job(job, root, self.timeout), 0)
            return
        while jobs:
            broken = self._pool(jobs, root, finished, self.jobs)
            # a worker died (killed for memory, a crash in native code): the jobs the pool had
            # handed out (the first workers + 1 unfinished) are suspects; each runs again alone
            # in a worker of its own, and the one whose worker dies again is recorded as failed
            suspects, jobs = broken[:self.jobs + 1], broken[self.jobs + 1:]
            for job in suspects:
                if self._pool([job], root, finished, 1):
                    finished(record_dead_worker(job, store), 0)

    def _pool(self, jobs: list[Job], root: str, finished: Finished, workers: int) -> list[Job]:
        """Run jobs in a pool of spawned workers; return, in submission order, those whose
        results were lost because a worker process died (the pool is then broken)."""
        threads = max(1, (os.cpu_count() or 1) // workers)
        broken: list[Job] = []
        with cf.ProcessPoolExecutor(max_workers=workers,
                                    mp_context=multiprocessing.get_context("spawn"),
                                    initializer=_init_worker,
                                    initargs=(threads, os.getpid())) as pool:
            order = [(pool.submit(run_job, job, root, self.timeout), job) for job in jobs]
            of = dict(order)
            pending = set(of)
            try:
                while pending:
                    done, pending = cf.wait(pending, return_when=cf.FIRST_COMPLETED)
                    for future in done:
                        try:
                            result = future.result()
                        except cf.process.BrokenProcessPool:
                            broken.append(of[future])
                            continue
                        finished(result, min(workers, len(pending)))
            except BaseException:
                pool.shutdown(wait=False, cancel_futures=True)
                raise
        position = {id(job): i for i, (_, job) in enumerate(order)}
        return sorted(broken, key=lambda job: position[id(job)])


def record_dead_worker(job: Job, store: ResultStore) -> dict:
    """Record a job whose worker process died even when it ran alone, and return its summary."""
    error = ("WorkerDied: the job's worker process was killed (out of memory, or a crash in "
             "native code); run it alone with --jobs 1 to see, or give it more memory")
    store.write(job.record_path(store), job.failed_record(error))
    return {"status": STATUS_FAILED, "error": error, "label": job.label}
