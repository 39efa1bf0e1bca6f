"""The `ray` executor: each job is a Ray task on a local or remote Ray cluster.

- Resources: a task asks for its job's `num_cpus` / `num_gpus` (`runner.job_resources`); Ray
  sets CUDA_VISIBLE_DEVICES so a GPU job sees only its GPU, and the job's torch uses as many
  threads as it was given CPUs.
- Results: by default a task returns its record and preview frames (set-metric features are
  inside the record) and the driver writes them atomically into its store, so workers need no
  shared file system. With `store_on_workers` the task writes them itself into the store's
  path, which must then be on storage every node sees.
- Faults: a task whose worker process dies is retried `retries` times; a job that fails by
  itself (a codec error, --timeout) is recorded as failed once and not retried. Ctrl-C cancels
  every outstanding task. A task whose worker runs a different harness (version, sources, key
  libraries) stops the run: mixing them would make records incomparable.

`ray` is imported only when this executor runs.
"""

from __future__ import annotations

import os
import socket
from pathlib import Path

from benchmark.core.errors import UlvrError
from benchmark.core.procs import set_threads
from benchmark.data.store import STATUS_FAILED, ResultStore
from benchmark.execution.executor import Executor, Finished, register_executor
from benchmark.execution.jobs import Job, JobOutput, execute_job, run_job, store_output

# Environment a worker needs to see what the driver sees (plugin methods, caches, data root).
FORWARDED_ENV = ("ULVR_PLUGINS", "ULVR_CACHE", "ULVR_DATA", "ULVR_WEIGHTS", "ULVR_FEATURE_CACHE",
                 "ULVR_FEATURE_CACHE_GB")
INSTALL_HINT = "see docs/cluster.md"


def import_ray():
    """The ray module, or a one-line error saying how to get it."""
    try:
        import ray
    except ImportError:
        raise UlvrError("--executor ray needs the 'ray' package: run 'make install' (it is a "
                        "pinned dependency) or pip install -c constraints.txt ray") from None
    return ray


def check_address(address: str | None, timeout: float = 5.0) -> None:
    """Refuse, in seconds rather than after Ray's minutes of retries, an address nothing
    listens on ('auto' and no address are left to Ray, which fails fast for them)."""
    if not address or address == "auto":
        return
    host, _, port = address.split("://", 1)[-1].rpartition(":")
    if not port.isdigit():
        raise UlvrError(f"--address '{address}': write auto, HOST:PORT or ray://HOST:10001")
    try:
        socket.create_connection((host or "127.0.0.1", int(port)), timeout).close()
    except OSError as exc:
        raise UlvrError(f"cannot reach the Ray cluster at '{address}': "
                        f"{exc.strerror or exc} (start one with 'ray start --head', "
                        "or leave out --address)") from None


def ray_job(job: Job, harness: dict, timeout: float | None,
            store_root: str | None) -> JobOutput | dict:
    """The body of one Ray task: refuse a different harness, then run the job with the
    threads its CPUs allow; write the output here (store_root) or return it to the driver."""
    from benchmark.core.alloc import reuse_freed_memory
    from benchmark.core.versions import harness_identity

    here = harness_identity()
    if here != harness:
        return {"harness_mismatch": here, "node": socket.gethostname()}
    reuse_freed_memory()
    set_threads(max(1, int(job.resources.get("num_cpus", 1))))
    if store_root is not None:
        return run_job(job, store_root, timeout)
    return execute_job(job, timeout)


def mismatch_error(driver: dict, worker: dict, node: str) -> UlvrError:
    """Say which harness facts differ between the driver and a worker."""
    diffs = [f"{k} {worker.get(k)} (driver: {driver.get(k)})"
             for k in sorted(set(driver) | set(worker)) if driver.get(k) != worker.get(k)]
    return UlvrError(f"a Ray worker on node '{node}' runs a different harness: "
                     f"{'; '.join(diffs)}. Install the same ulvr-bench and libraries on every "
                     f"node ({INSTALL_HINT}); the run stopped and recorded nothing from it")


@register_executor("ray")
class RayExecutor(Executor):
    """Jobs as Ray tasks. `address`: None starts a local Ray cluster for this run (and shuts
    it down after); 'auto', 'HOST:PORT' or 'ray://HOST:10001' join an existing one. An
    already initialised Ray (a test's cluster, a `ray job submit` driver) is used as it is.
    `jobs` caps the tasks in flight (default: as many as the cluster's resources admit)."""

    def __init__(self, address: str | None = None, retries: int = 2,
                 timeout: float | None = None, store_on_workers: bool = False,
                 jobs: int | None = None, harness: dict | None = None) -> None:
        if retries < 0:
            raise UlvrError(f"--retries must be 0 or more, not {retries}")
        import_ray()   # a missing package is said before any job is planned
        check_address(address)
        self.address, self.retries, self.timeout = address, retries, timeout
        self.store_on_workers, self.jobs = store_on_workers, jobs
        self.harness = harness   # what workers must match (default: this process's)

    def run(self, jobs: list[Job], store: ResultStore, finished: Finished) -> None:
        ray = import_ray()
        started = self._connect(ray)
        try:
            self._check_resources(ray, jobs)
            self._run(ray, jobs, store, finished)
        finally:
            if started:
                ray.shutdown()

    def _connect(self, ray) -> bool:
        """Join or start a cluster; True when this run started (and must stop) Ray."""
        if ray.is_initialized():
            return False
        env = {name: os.environ[name] for name in FORWARDED_ENV if os.environ.get(name)}
        try:
            ray.init(address=self.address, include_dashboard=False, log_to_driver=False,
                     logging_level="WARNING", runtime_env={"env_vars": env} if env else None)
        except (OSError, RuntimeError, ValueError) as exc:   # ConnectionError, TimeoutError
            where = f"the Ray cluster at '{self.address}'" if self.address else "a local Ray"
            raise UlvrError(f"cannot start or join {where}: {exc} (start one with "
                            "'ray start --head', or leave out --address)") from None
        return True

    @staticmethod
    def _check_resources(ray, jobs: list[Job]) -> None:
        """Refuse up front a job no node of the cluster can ever run (it would wait forever)."""
        have = ray.cluster_resources()
        for key, resource in (("num_cpus", "CPU"), ("num_gpus", "GPU")):
            need = max(job.resources.get(key, 0) for job in jobs)
            if need > have.get(resource, 0):
                job = next(j for j in jobs if j.resources.get(key, 0) == need)
                hint = " (--device cuda on a cluster without GPUs; use --device cpu)" \
                    if resource == "GPU" else ""
                raise UlvrError(f"job {job.method}/{job.sequence.name} needs {need:g} {resource} "
                                f"but the Ray cluster has {have.get(resource, 0):g}{hint}")

    def _run(self, ray, jobs: list[Job], store: ResultStore, finished: Finished) -> None:
        from benchmark.core.versions import harness_identity

        harness = self.harness or harness_identity()
        task = ray.remote(max_retries=self.retries, retry_exceptions=False)(ray_job)
        store_root = str(Path(store.root).resolve()) if self.store_on_workers else None
        slots = max(1, int(ray.cluster_resources().get("CPU", 1)))
        limit = self.jobs or len(jobs)
        queue, inflight = list(reversed(jobs)), {}

        def submit() -> None:
            while queue and len(inflight) < limit:
                job = queue.pop()
                options = {"num_cpus": job.resources.get("num_cpus", 1),
                           "num_gpus": job.resources.get("num_gpus", 0)}
                ref = task.options(**options).remote(job, harness, self.timeout, store_root)
                inflight[ref] = job

        try:
            submit()
            while inflight:
                done, _ = ray.wait(list(inflight), num_returns=1)
                for ref in done:
                    job = inflight.pop(ref)
                    result = self._collect(ray, ref, job, store, harness)
                    submit()
                    finished(result, min(len(inflight), slots))
        except BaseException:
            for ref in inflight:
                ray.cancel(ref, force=True)
            raise

    def _collect(self, ray, ref, job: Job, store: ResultStore, harness: dict) -> dict:
        """The finished task's summary, its output written into the store; a task that never
        returned (its worker died on every try) is recorded as failed by the driver."""
        try:
            out = ray.get(ref)
        except ray.exceptions.RayError as exc:
            reason = str(exc).strip().splitlines()[0] if str(exc).strip() else ""
            error = (f"{type(exc).__name__}: the Ray task did not return after "
                     f"{self.retries + 1} tries ({reason})")
            store.write(job.record_path(store), job.failed_record(error))
            return {"status": STATUS_FAILED, "error": error, "label": job.label}
        if isinstance(out, JobOutput):
            return store_output(out, store)
        if "harness_mismatch" in out:
            raise mismatch_error(harness, out["harness_mismatch"], out["node"])
        return out
