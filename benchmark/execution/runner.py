"""Runner: jobs = dataset x sequence x method x rate point, resumable and parallel.

A job's key hashes the method's configuration (weights by name and SHA-256, never by path), the rate
point, the sequence's identity and the harness version, so the same job has the same key in every
clone. A job whose record exists with status ok, all requested metrics and the current fingerprint
(method and metric software, see `benchmark.execution.fingerprint`) is skipped unless forced; one
whose fingerprint changed runs again, and the run says what changed. A failing job records its error
and the run goes on. Ctrl-C stops the run; the store stays consistent because records are only ever
written whole. One job's execution and its record are `benchmark.execution.jobs`; where jobs run is
an executor's (`benchmark.execution.executor`), which the CLI passes in.

Bad input fails before any job runs: an unknown method option, an unavailable metric or a
device this torch cannot use.
"""

from __future__ import annotations

import sys
from collections import Counter
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

from tqdm import tqdm

from benchmark.core.errors import UlvrError
from benchmark.core.names import check_name
from benchmark.data.manifest import Sequence
from benchmark.data.store import STATUS_OK, ResultStore
from benchmark.execution.fingerprint import fingerprint_changes, job_fingerprint
from benchmark.execution.isolation import check_weights_visible, sandbox_hidden_folders
from benchmark.execution.jobs import Job
from benchmark.execution.sandbox import DEFAULT_MEMORY_GB
from benchmark.execution.workdirs import clean_stale_workdirs
from benchmark.metrics.base import create_metric, metric_class, metric_spec
from benchmark.protocol import Method, create_method

if TYPE_CHECKING:
    from benchmark.execution.executor import Executor


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
              dataset_sequences: list[Sequence] | None = None,
              isolation: str = "process", memory_gb: float = DEFAULT_MEMORY_GB) -> list[Job]:
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
    sources = tuple(dict.fromkeys(seq.local_path() for seq in sequences))
    hidden = sandbox_hidden_folders(sources) if isolation != "none" else []
    jobs = []
    for name in methods:
        check_name("method", name)
        options = (method_options or {}).get(name, {})
        method = create_method(name, **options)
        check_weights_visible(name, method.weights_files(), hidden)
        points = [method.find_rate_point(p) for p in rate_points] if rate_points \
            else method.rate_points()
        config = method.config()
        fingerprint = job_fingerprint(method.versions(), tuple(metrics))
        resources = job_resources(method, tuple(metrics), device)
        # each rate point over the sequences in turn: parallel workers start on different
        # clips, so a clip's reference-side features (benchmark.core.featcache) are computed once
        for rp in points:
            check_name("rate point", rp.label, f"method '{name}'")
            for seq, seq_options in zip(sequences, per_sequence, strict=True):
                jobs.append(Job(seq, name, rp, tuple(metrics), options, config, device,
                                {**fingerprint, "metric_options": seq_options}, seq_options,
                                resources, isolation, tuple(sequences), memory_gb))
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
    from benchmark.execution.executor import LocalExecutor

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
        bar.set_postfix_str(f"done {result['label']}, running {running}, "
                            f"failed {len(summary.failed)}")   # tqdm shows the time left
        bar.update(1)

    try:
        if todo:
            executor.run(todo, store, finished)
    except KeyboardInterrupt:
        summary.interrupted = True
    finally:
        bar.close()
    return summary
