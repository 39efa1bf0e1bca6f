"""Executors: where a run's jobs execute. The runner plans the jobs, skips the finished ones and
keeps the progress bar and the summary; an executor only runs the jobs it is given and reports
each result as it finishes, so planning, resume, --force and exit codes are the same on every
executor.

- `local` (default): this machine, sequentially or in a pool of worker processes.
- `ray`: Ray tasks on a local or remote Ray cluster (`benchmark.execution.ray_executor`).

An executor is a class registered by name; its constructor's keyword arguments are the options
`ulvr run` may pass it (an option it does not take is refused before any job runs).
"""

from __future__ import annotations

import concurrent.futures as cf
import multiprocessing
import os
from abc import ABC, abstractmethod
from collections.abc import Callable

from benchmark.core.alloc import reuse_freed_memory
from benchmark.core.errors import UlvrError
from benchmark.core.plugins import Registry, check_options, constructor_options
from benchmark.core.procs import exit_with_parent, set_threads
from benchmark.data.store import STATUS_FAILED, ResultStore
from benchmark.execution.jobs import Job, execute_job, store_output

Finished = Callable[[dict, int], None]   # finished(result summary, jobs still running)

class Executor(ABC):
    """Runs jobs and calls `finished` once per job, in the driver, as each one ends."""

    name = ""

    @abstractmethod
    def run(self, jobs: list[Job], store: ResultStore, finished: Finished) -> None:
        """Run every job, writing its output into `store` (or having it written). On Ctrl-C,
        cancel what is outstanding and let KeyboardInterrupt propagate."""


EXECUTOR_GROUP = "ulvr.executors"   # entry points: name = "module:Class" (imported when named)
EXECUTORS = Registry("executor", EXECUTOR_GROUP, base=Executor,
                     adopt=lambda name, cls: register_executor(name)(cls))


def register_executor(name: str) -> Callable[[type[Executor]], type[Executor]]:
    """Class decorator: make an executor available to `ulvr run --executor NAME`."""

    def wrap(cls: type[Executor]) -> type[Executor]:
        cls.name = name
        return EXECUTORS.register(name)(cls)

    return wrap


def executor_names() -> list[str]:
    """Names of the executors declared under the `ulvr.executors` entry points and of those
    registered by modules already imported."""
    return EXECUTORS.declared_names()


def executor_class(name: str) -> type[Executor]:
    """An executor's class by name, importing only its module."""
    cls, _ = EXECUTORS.find(name)
    if cls is None:
        raise UlvrError(f"unknown executor '{name}': choose from {', '.join(executor_names())}")
    return cls


def create_executor(name: str, **options: object) -> Executor:
    """An executor by name; options it does not take are a user error naming the flag."""
    cls = executor_class(name)
    check_options(f"--executor {name}", options, constructor_options(cls, stop=Executor),
                  spell=lambda option: "--" + option.replace("_", "-"))
    return cls(**options)


def _init_worker(threads: int, parent: int) -> None:
    """A local pool worker: share the cores, reuse freed memory, die with the driver."""
    exit_with_parent(parent)
    reuse_freed_memory()
    set_threads(threads)


@register_executor("local")
class LocalExecutor(Executor):
    """This machine: the jobs one after another in this process (jobs=1), or in a pool of
    `jobs` spawned worker processes that share the cores. Only this (the runner's) process
    writes records: workers return what a job produced."""

    def __init__(self, jobs: int = 1, timeout: float | None = None) -> None:
        self.jobs, self.timeout = jobs, timeout

    def run(self, jobs: list[Job], store: ResultStore, finished: Finished) -> None:
        root = str(store.root)
        if self.jobs <= 1:
            for job in jobs:
                finished(store_output(execute_job(job, self.timeout, root), store), 0)
            return
        while jobs:
            broken = self._pool(jobs, store, finished, self.jobs)
            # a worker died (killed for memory, a crash in native code): the jobs the pool had
            # handed out (the first workers + 1 unfinished) are suspects; each runs again alone
            # in a worker of its own, and the one whose worker dies again is recorded as failed
            suspects, jobs = broken[:self.jobs + 1], broken[self.jobs + 1:]
            for job in suspects:
                if self._pool([job], store, finished, 1):
                    finished(record_dead_worker(job, store), 0)

    def _pool(self, jobs: list[Job], store: ResultStore, finished: Finished,
              workers: int) -> list[Job]:
        """Run jobs in a pool of spawned workers; return, in submission order, those whose
        results were lost because a worker process died (the pool is then broken)."""
        threads = max(1, (os.cpu_count() or 1) // workers)
        broken: list[Job] = []
        with cf.ProcessPoolExecutor(max_workers=workers,
                                    mp_context=multiprocessing.get_context("spawn"),
                                    initializer=_init_worker,
                                    initargs=(threads, os.getpid())) as pool:
            root = str(store.root)
            order = [(pool.submit(execute_job, job, self.timeout, root), job) for job in jobs]
            of = dict(order)
            pending = set(of)
            try:
                while pending:
                    done, pending = cf.wait(pending, return_when=cf.FIRST_COMPLETED)
                    for future in done:
                        try:
                            output = future.result()
                        except cf.process.BrokenProcessPool:
                            broken.append(of[future])
                            continue
                        finished(store_output(output, store), min(workers, len(pending)))
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
