"""Runner: jobs = dataset x sequence x method x rate point, resumable and parallel.

A job's key hashes the method's configuration (weights by name and SHA-256, never by path), the
rate point, the sequence's identity and the harness version, so the same job has the same key
in every clone. A job whose record exists with status ok, all requested metrics and the current
fingerprint (method and metric software, see `benchmark.fingerprint`) is skipped unless forced;
one whose fingerprint changed runs again, and the run says what changed. A failing job records
its error and the run goes on. Ctrl-C stops the run; the store stays consistent because records
are only ever written whole. Records hold placeholders, not this machine's paths
(`benchmark.identity`). Each job works in a temp folder named after its process; folders of
processes that died (SIGKILL) are removed when the next run starts.

Bad input fails before any job runs: an unknown method option, an unavailable metric or a
device this torch cannot use.
"""

from __future__ import annotations

import hashlib
import json
import os
import shutil
import sys
import tempfile
import time
import traceback
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING

from tqdm import tqdm

import benchmark
from benchmark.colour import COLOUR_PROTOCOL
from benchmark.deadline import deadline
from benchmark.errors import UlvrError
from benchmark.fingerprint import fingerprint_changes, job_fingerprint
from benchmark.identity import portable_text
from benchmark.manifest import Sequence
from benchmark.metrics.base import create_metric, evaluate, metric_class
from benchmark.metrics.table import metric_spec
from benchmark.provenance import versions
from benchmark.registry import Method, RatePoint, config_digest, create_method
from benchmark.store import (
    STATUS_FAILED,
    STATUS_OK,
    ResultStore,
    png_bytes,
    write_bytes_atomic,
)

if TYPE_CHECKING:
    from benchmark.executor import Executor

DEFAULT_METRICS = ("psnr", "ms-ssim")
JOB_DIR_PREFIX = "ulvr-job-"     # job work folders: ulvr-job-<pid>-<random>


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
    fingerprint: dict = field(default_factory=dict)   # see benchmark.fingerprint
    metric_options: dict = field(default_factory=dict)  # {metric: {option: value}}, resolved
    resources: dict = field(default_factory=lambda: {"num_cpus": 1, "num_gpus": 0})

    @property
    def key(self) -> str:
        blob = json.dumps({"method": self.method_config, "rate_point": self.rate_point.to_dict(),
                           "sequence": self.sequence.identity(),
                           "harness": benchmark.__version__}, sort_keys=True, default=str)
        return hashlib.sha256(blob.encode()).hexdigest()[:16]

    def record_path(self, store: ResultStore) -> Path:
        return store.path_for(self.sequence.dataset, self.method, self.sequence.name,
                              self.rate_point.label, self.key)

    @property
    def label(self) -> str:
        """method/sequence/rate point, as progress and failure lines name a job."""
        return f"{self.method}/{self.sequence.name}/{self.rate_point.label}"

    def failed_record(self, error: str) -> dict:
        """The record of a job that produced nothing (its worker died, or it never started)."""
        seq = self.sequence
        return {"key": self.key, "dataset": seq.dataset, "sequence": seq.name,
                "segment": seq.segment, "method": self.method,
                "method_config": self.method_config, "rate_point": self.rate_point.to_dict(),
                "metric_names": list(self.metrics), "status": STATUS_FAILED, "error": error,
                "versions": versions(), "created": time.strftime("%Y-%m-%dT%H:%M:%S%z")}


def job_resources(method: Method, metrics: tuple[str, ...], device: str) -> dict:
    """What one job needs (`num_cpus`, `num_gpus`): a GPU when it runs on cuda and its method
    or one of its metrics computes with torch there; the CPUs its method declares."""
    on_gpu = method.gpu or any(metric_spec(m).gpu for m in metrics)
    gpus = 1 if on_gpu and device.startswith("cuda") else 0
    return {"num_cpus": method.cpus, "num_gpus": gpus}


def _cuda_problem(device: str) -> str:
    """Why torch cannot run on a CUDA device here ('' when it can)."""
    import torch

    if not torch.cuda.is_available():
        return f"this torch ({torch.__version__}) sees no usable CUDA device"
    index = torch.device(device).index
    if index is not None and index >= torch.cuda.device_count():
        return f"there are only {torch.cuda.device_count()} CUDA devices here"
    return ""


def _mps_problem(device: str) -> str:
    """Why torch cannot run on Apple's MPS here ('' when it can)."""
    import torch

    return "" if torch.backends.mps.is_available() else "this torch sees no MPS device"


DEVICE_CHECKS = {"cpu": lambda device: "", "cuda": _cuda_problem, "mps": _mps_problem}


def check_device(device: str) -> None:
    """Refuse, once and up front, a device the learned methods and metrics cannot use (rather
    than failing every job with torch's error)."""
    kind = device.split(":", 1)[0]
    if kind not in DEVICE_CHECKS:
        raise UlvrError(f"unknown device '{device}': use one of {', '.join(DEVICE_CHECKS)} "
                        "(cuda:N picks a GPU)")
    try:
        problem = DEVICE_CHECKS[kind](device)
    except (RuntimeError, ValueError) as exc:   # torch refuses the name, e.g. 'cuda:x'
        raise UlvrError(f"bad device '{device}': {exc}") from None
    if problem:
        raise UlvrError(f"device '{device}' is unusable: {problem}; run with --device cpu")


def check_metrics(metrics: tuple[str, ...]) -> None:
    """Refuse unknown or unavailable metrics before any job encodes anything."""
    for name in metrics:
        available = metric_class(name).availability()
        if not available.ok:
            raise UlvrError(f"metric '{name}' is unavailable here: {available.reason}")


def job_metric_options(metrics: tuple[str, ...], sequence: Sequence,
                       sequences: list[Sequence], user: dict[str, dict]) -> dict[str, dict]:
    """Each metric's options for one job: what it derives from the sequence and its dataset
    (e.g. MS-SSIM's scales, fixed per dataset; ColorVideoVDP's frame rate), then the user's."""
    same_dataset = [s for s in sequences if s.dataset == sequence.dataset]
    out = {}
    for name in metrics:
        options = {**metric_class(name).derived_options(sequence, same_dataset),
                   **user.get(name, {})}
        if options:
            out[name] = options
    return out


def plan_jobs(sequences: list[Sequence], methods: list[str], metrics: tuple[str, ...],
              method_options: dict | None = None, rate_points: list[str] | None = None,
              device: str = "cpu", metric_options: dict | None = None,
              dataset_sequences: list[Sequence] | None = None) -> list[Job]:
    """All jobs of a run, in a stable order. Unknown methods, method options or rate points,
    unknown metric options, unavailable metrics and unusable devices fail here, before any job
    runs. `dataset_sequences` (default: `sequences`) are all sequences of the datasets, for
    metric settings that must be equal across a dataset even when a run covers part of it."""
    check_device(device)
    check_metrics(tuple(metrics))
    user_metric_options = metric_options or {}
    for name, options in user_metric_options.items():
        if name not in metrics:
            raise UlvrError(f"--metric-option for '{name}', which this run does not compute: "
                            f"add it to --metrics ({', '.join(metrics)})")
        create_metric(name, device="cpu", **options)   # unknown options fail here
    per_sequence = [job_metric_options(tuple(metrics), seq, dataset_sequences or sequences,
                                       user_metric_options) for seq in sequences]
    jobs = []
    for name in methods:
        options = (method_options or {}).get(name, {})
        method = create_method(name, **options)
        points = [method.find_rate_point(p) for p in rate_points] if rate_points \
            else method.rate_points()
        config = method.config()
        fingerprint = job_fingerprint(method.versions(), tuple(metrics))
        resources = job_resources(method, tuple(metrics), device)
        for seq, seq_options in zip(sequences, per_sequence, strict=True):
            for rp in points:
                jobs.append(Job(seq, name, rp, tuple(metrics), options, config, device,
                                {**fingerprint, "metric_options": seq_options}, seq_options,
                                resources))
    return jobs


def finished_record(job: Job, store: ResultStore) -> dict | None:
    """The job's record when it exists, succeeded and holds every requested metric."""
    record = store.read(job.record_path(store))
    if not record or record.get("status") != STATUS_OK:
        return None
    return record if set(job.metrics) <= set(record.get("metric_names", [])) else None


def rerun_reasons(job: Job, store: ResultStore) -> list[str] | None:
    """None when the job has no finished record (it simply runs); otherwise what changed
    since its record was made ([] when nothing did and it can be skipped)."""
    record = finished_record(job, store)
    if record is None:
        return None
    return fingerprint_changes(record.get("fingerprint"), job.fingerprint) \
        if job.fingerprint else []


def is_done(job: Job, store: ResultStore) -> bool:
    """True when the job's record is finished and made by the current software."""
    return rerun_reasons(job, store) == []


def select_todo(jobs: list[Job], store: ResultStore,
                force: bool = False) -> tuple[list[Job], int, Counter]:
    """The jobs to run; how many of them had a finished record but run again; and how many
    jobs each reason (a fingerprint change) applies to."""
    if force:
        return list(jobs), 0, Counter()
    todo, reruns, reasons = [], 0, Counter()
    for job in jobs:
        changes = rerun_reasons(job, store)
        if changes != []:
            todo.append(job)
        if changes:
            reruns += 1
            reasons.update(changes)
    return todo, reruns, reasons


def _pid_alive(pid: int) -> bool:
    """Whether a process with this id exists (one of another user's counts as alive)."""
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


def job_workdir() -> Path:
    """A fresh work folder for one job, named after this process so a later run can tell
    whether its owner is still alive."""
    return Path(tempfile.mkdtemp(prefix=f"{JOB_DIR_PREFIX}{os.getpid()}-"))


def clean_stale_workdirs(root: str | os.PathLike | None = None) -> list[Path]:
    """Remove job work folders whose process is dead (a SIGKILLed run leaves them behind)."""
    removed = []
    for path in Path(root or tempfile.gettempdir()).glob(f"{JOB_DIR_PREFIX}*-*"):
        pid = path.name[len(JOB_DIR_PREFIX):].split("-", 1)[0]
        if pid.isdigit() and path.is_dir() and not _pid_alive(int(pid)):
            shutil.rmtree(path, ignore_errors=True)
            removed.append(path)
    return removed


def portable_record(record: dict, workdir: Path) -> dict:
    """The record with this machine's paths (job folder, ffmpeg, checkout, temp folder, home)
    replaced by placeholders, so two clones write equal records for the same job."""
    return json.loads(portable_text(json.dumps(record, default=str), workdir))


def tap_frame(chunks, index: int, files: dict[str, bytes], name: str):
    """Pass chunks through, keeping frame `index` as PNG bytes in files[name] on the way: the
    qualitative figures need one decoded frame per job, not the whole video."""
    seen = 0
    for chunk in chunks:
        if seen <= index < seen + chunk.n:
            files[name] = png_bytes(chunk.rgb()[index - seen])
        seen += chunk.n
        yield chunk


@dataclass
class JobOutput:
    """Everything a job produced, by path relative to the store root: its record and the
    preview frames beside it. A job on another machine returns this to the driver, which
    writes it (store_output), so no shared file system is needed."""

    label: str                      # Job.label
    record_path: str
    record: dict
    files: dict[str, bytes] = field(default_factory=dict)

    def summary(self) -> dict:
        """What the driver's progress and exit code need."""
        return {"status": self.record["status"], "error": self.record.get("error", ""),
                "label": self.label}


def relative_path(path: Path) -> str:
    """A store path made by a ResultStore rooted at '' (records/...)."""
    return path.as_posix()


def execute_job(job: Job, timeout: float | None = None) -> JobOutput:
    """Run one job in this process and return what it produced, writing nothing to the
    store; never raises for a job failure (a codec error, --timeout): the record says it."""
    layout = ResultStore("")
    seq = job.sequence
    record = {"key": job.key, "dataset": seq.dataset, "sequence": seq.name,
              "segment": seq.segment, "start_frame": seq.start, "frames": seq.num_frames,
              "width": seq.width, "height": seq.height, "fps": seq.fps,
              "bit_depth": seq.bit_depth, "group": seq.group, "method": job.method,
              "method_config": job.method_config, "rate_point": job.rate_point.to_dict(),
              "metric_names": list(job.metrics), "colour": COLOUR_PROTOCOL,
              "fingerprint": job.fingerprint, "created": time.strftime("%Y-%m-%dT%H:%M:%S%z")}
    record_path = job.record_path(layout)
    files: dict[str, bytes] = {}
    workdir = job_workdir()
    started = time.perf_counter()
    try:
        with deadline(timeout):
            method = create_method(job.method, **job.method_options)
            method.device = job.device
            record.update(kind=method.kind.value, causal=method.causal,
                          receiver_of=method.receiver_of,
                          config_hash=config_digest(job.method_config))
            recon = method.run(seq, job.rate_point, workdir)
            bits = recon.stream_bits()
            metrics = [create_metric(name, device=job.device,
                                     **job.metric_options.get(name, {}))
                       for name in job.metrics]
            t0 = time.perf_counter()
            middle = seq.num_frames // 2
            ref_preview = relative_path(layout.reference_preview(seq.dataset, seq.name,
                                                                 seq.start))
            preview = relative_path(record_path.with_suffix(".png"))
            results = evaluate(tap_frame(seq.frames(), middle, files, ref_preview),
                               tap_frame(recon.frames, middle, files, preview), metrics)
            recon.timings["metrics_s"] = time.perf_counter() - t0
            # per metric; metrics_s minus their sum is the streamed decode (and frame reading)
            recon.timings.update({f"metric_{name}_s": r.seconds for name, r in results.items()})
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
        files.clear()
    finally:
        shutil.rmtree(workdir, ignore_errors=True)
    record.setdefault("timings", {})["job_s"] = time.perf_counter() - started
    return JobOutput(job.label, relative_path(record_path), portable_record(record, workdir),
                     files)


def store_output(output: JobOutput, store: ResultStore) -> dict:
    """Write a job's output into the store, preview frames first and the record last, each
    atomically: a record on disk means the whole job's output is there."""
    for name, data in output.files.items():
        write_bytes_atomic(data, store.root / name)
    store.write(store.root / output.record_path, output.record)
    return output.summary()


def run_job(job: Job, store_root: str, timeout: float | None = None) -> dict:
    """Run one job in this process and write its output into the store at `store_root`."""
    return store_output(execute_job(job, timeout), ResultStore(store_root))


def rerun_note(reruns: int, reasons: Counter) -> str:
    """One line: how many finished jobs re-run and why, e.g.
    're-running 12 finished jobs: ffmpeg changed (12); metric psnr implementation changed (3)'."""
    parts = [f"{reason} ({count})" for reason, count in reasons.most_common()]
    return f"re-running {reruns} finished job{'s' if reruns != 1 else ''}: " + "; ".join(parts)


@dataclass
class RunSummary:
    """What a run did."""

    total: int
    skipped: int
    ok: int
    failed: list[str]
    interrupted: bool = False
    rerun: dict[str, int] = field(default_factory=dict)   # reason -> finished jobs re-run

    @property
    def exit_code(self) -> int:
        return 130 if self.interrupted else (1 if self.failed else 0)


def run_jobs(jobs: list[Job], store: ResultStore, workers: int = 1, force: bool = False,
             progress: bool = True, executor: Executor | None = None) -> RunSummary:
    """Run the jobs not yet done on `executor` (default: the local pool of `workers`
    processes), with a progress bar of done, running and failed jobs and an ETA. Says once
    (stderr) how many finished jobs re-run because what produced their numbers changed.
    Ctrl-C stops the run (the summary says so); records are only ever written whole."""
    from benchmark.executor import LocalExecutor

    executor = executor or LocalExecutor(workers)
    clean_stale_workdirs()
    todo, reruns, reasons = select_todo(jobs, store, force)
    summary = RunSummary(len(jobs), len(jobs) - len(todo), 0, [], rerun=dict(reasons))
    if reruns:
        print(rerun_note(reruns, reasons), file=sys.stderr)
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
        if todo:
            executor.run(todo, store, finished)
    except KeyboardInterrupt:
        summary.interrupted = True
    finally:
        bar.close()
    return summary
