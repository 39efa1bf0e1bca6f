"""Runner: jobs = dataset x sequence x method x rate point, resumable and parallel.

A job's key hashes the method's configuration, the rate point, the sequence's identity and the
harness version; a job whose record exists with status ok and all requested metrics is skipped
unless forced. A failing job records its error and the run goes on. Ctrl-C stops the run; the
store stays consistent because records are only ever written whole.
"""

from __future__ import annotations

import concurrent.futures as cf
import hashlib
import json
import multiprocessing
import os
import shutil
import sys
import tempfile
import time
import traceback
from dataclasses import dataclass, field
from pathlib import Path

from tqdm import tqdm

import benchmark
from benchmark.colour import COLOUR_PROTOCOL
from benchmark.manifest import Sequence
from benchmark.metrics.base import create_metric, evaluate
from benchmark.provenance import versions
from benchmark.registry import RatePoint, create_method
from benchmark.store import STATUS_FAILED, STATUS_OK, ResultStore, write_png_atomic

DEFAULT_METRICS = ("psnr", "ms-ssim")


@dataclass(frozen=True)
class Job:
    """One unit of work; picklable so it can go to a worker process."""

    sequence: Sequence
    method: str
    rate_point: RatePoint
    metrics: tuple[str, ...] = DEFAULT_METRICS
    method_options: dict = field(default_factory=dict)
    method_config: dict = field(default_factory=dict)
    device: str = "cpu"

    @property
    def key(self) -> str:
        blob = json.dumps({"method": self.method_config, "rate_point": self.rate_point.to_dict(),
                           "sequence": self.sequence.identity(),
                           "harness": benchmark.__version__}, sort_keys=True, default=str)
        return hashlib.sha256(blob.encode()).hexdigest()[:16]

    def record_path(self, store: ResultStore) -> Path:
        return store.path_for(self.sequence.dataset, self.method, self.sequence.name,
                              self.rate_point.label, self.key)


def plan_jobs(sequences: list[Sequence], methods: list[str], metrics: tuple[str, ...],
              method_options: dict | None = None, rate_points: list[str] | None = None,
              device: str = "cpu") -> list[Job]:
    """All jobs of a run, in a stable order; unknown methods or rate points fail here, early."""
    jobs = []
    for name in methods:
        method = create_method(name, **(method_options or {}).get(name, {}))
        points = [method.find_rate_point(p) for p in rate_points] if rate_points \
            else method.rate_points()
        for seq in sequences:
            for rp in points:
                jobs.append(Job(seq, name, rp, tuple(metrics),
                                (method_options or {}).get(name, {}), method.config(), device))
    return jobs


def is_done(job: Job, store: ResultStore) -> bool:
    """True when the job's record exists, succeeded and holds every requested metric."""
    record = store.read(job.record_path(store))
    if not record or record.get("status") != STATUS_OK:
        return False
    return set(job.metrics) <= set(record.get("metric_names", []))


def tap_frame(chunks, index: int, path: Path):
    """Pass chunks through, saving frame `index` as a PNG (atomically) on the way: the
    qualitative figures need one decoded frame per job, not the whole video."""
    seen = 0
    for chunk in chunks:
        if seen <= index < seen + chunk.n:
            write_png_atomic(chunk.rgb()[index - seen], path)
        seen += chunk.n
        yield chunk


def run_job(job: Job, store_root: str) -> dict:
    """Run one job in this process and write its record; never raises for a job failure."""
    store = ResultStore(store_root)
    seq = job.sequence
    record = {"key": job.key, "dataset": seq.dataset, "sequence": seq.name,
              "segment": seq.segment, "start_frame": seq.start, "frames": seq.num_frames,
              "width": seq.width, "height": seq.height, "fps": seq.fps,
              "bit_depth": seq.bit_depth, "group": seq.group, "method": job.method,
              "method_config": job.method_config, "rate_point": job.rate_point.to_dict(),
              "metric_names": list(job.metrics), "colour": COLOUR_PROTOCOL,
              "created": time.strftime("%Y-%m-%dT%H:%M:%S%z")}
    workdir = Path(tempfile.mkdtemp(prefix="ulvr-job-"))
    started = time.perf_counter()
    try:
        method = create_method(job.method, **job.method_options)
        method.device = job.device
        record.update(kind=method.kind.value, causal=method.causal,
                      config_hash=method.config_hash())
        recon = method.run(seq, job.rate_point, workdir)
        bits = recon.stream_bits()
        metrics = [create_metric(name, device=job.device) for name in job.metrics]
        t0 = time.perf_counter()
        preview = job.record_path(store).with_suffix(".png")
        ref_preview = store.reference_preview(seq.dataset, seq.name, seq.start)
        results = evaluate(tap_frame(seq.frames(), seq.num_frames // 2, ref_preview),
                           tap_frame(recon.frames, seq.num_frames // 2, preview), metrics)
        recon.timings["metrics_s"] = time.perf_counter() - t0
        total = sum(bits.values())
        record.update(
            bits=bits, total_bits=total,
            bpp=total / (seq.num_frames * seq.width * seq.height),
            kbps=total * seq.fps / seq.num_frames / 1000.0,
            metrics={k: v for r in results.values() for k, v in r.values.items()},
            per_frame={k: v for r in results.values() for k, v in r.per_frame.items()},
            metric_protocols={name: r.protocol for name, r in results.items()},
            features={name: r.features for name, r in results.items() if r.features},
            timings=recon.timings, commands=recon.commands, method_info=recon.info,
            versions={**versions(), **method.versions()}, status=STATUS_OK, error="")
    except Exception as exc:  # noqa: BLE001 - a failing job is recorded, the run goes on
        record.update(status=STATUS_FAILED, error=f"{type(exc).__name__}: {exc}",
                      traceback=traceback.format_exc(limit=8), versions=versions())
    finally:
        shutil.rmtree(workdir, ignore_errors=True)
    record.setdefault("timings", {})["job_s"] = time.perf_counter() - started
    store.write(job.record_path(store), record)
    return {"status": record["status"], "error": record.get("error", ""),
            "label": f"{job.method}/{seq.name}/{job.rate_point.label}"}


def _init_worker(threads: int) -> None:
    """Share the cores between workers: oversubscribed torch threads are many times slower."""
    from benchmark.alloc import bound_heap_growth

    bound_heap_growth()
    os.environ["OMP_NUM_THREADS"] = str(threads)
    import torch

    torch.set_num_threads(threads)


@dataclass
class RunSummary:
    """What a run did."""

    total: int
    skipped: int
    ok: int
    failed: list[str]
    interrupted: bool = False

    @property
    def exit_code(self) -> int:
        return 130 if self.interrupted else (1 if self.failed else 0)


def run_jobs(jobs: list[Job], store: ResultStore, workers: int = 1, force: bool = False,
             progress: bool = True) -> RunSummary:
    """Run the jobs not yet done, sequentially or in `workers` processes."""
    todo = [j for j in jobs if force or not is_done(j, store)]
    summary = RunSummary(len(jobs), len(jobs) - len(todo), 0, [])
    bar = tqdm(total=len(todo), desc="jobs", unit="job", disable=not progress,
               file=sys.stderr, dynamic_ncols=True)

    def finished(result: dict, running: int) -> None:
        if result["status"] == STATUS_OK:
            summary.ok += 1
        else:
            summary.failed.append(f"{result['label']}: {result['error']}")
        bar.set_postfix(running=running, failed=len(summary.failed))
        bar.update(1)

    try:
        if workers <= 1:
            for job in todo:
                bar.set_postfix(running=1, failed=len(summary.failed))
                finished(run_job(job, str(store.root)), 0)
        else:
            ctx = multiprocessing.get_context("spawn")
            threads = max(1, (os.cpu_count() or 1) // workers)
            with cf.ProcessPoolExecutor(max_workers=workers, mp_context=ctx,
                                        initializer=_init_worker, initargs=(threads,)) as pool:
                pending = {pool.submit(run_job, job, str(store.root)) for job in todo}
                try:
                    while pending:
                        done, pending = cf.wait(pending, return_when=cf.FIRST_COMPLETED)
                        for fut in done:
                            finished(fut.result(), min(workers, len(pending)))
                except BaseException:
                    pool.shutdown(wait=False, cancel_futures=True)
                    raise
    except KeyboardInterrupt:
        summary.interrupted = True
    finally:
        bar.close()
    return summary
