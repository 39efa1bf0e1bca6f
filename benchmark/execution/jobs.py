"""One job: what it is (`Job`: sequence x method x rate point x metrics, with its stable key)
and how it runs in one process (`execute_job`: encode, decode, metrics, the record) and is
written (`store_output`, atomically). Both executors import this module; the runner plans jobs
and drives an executor, and neither imports the other.

Each job works in a temp folder named after its process; folders of processes that died
(SIGKILL) are removed when the next run starts (`clean_stale_workdirs`). Records hold
placeholders, not this machine's paths (`benchmark.core.identity`).
"""

from __future__ import annotations

import hashlib
import json
import shutil
import time
import traceback
from dataclasses import dataclass, field
from pathlib import Path

import benchmark
from benchmark.core.colour import COLOUR_PROTOCOL
from benchmark.core.deadline import deadline
from benchmark.core.identity import portable_text
from benchmark.core.machine import cpu_line
from benchmark.core.versions import versions
from benchmark.data.manifest import Sequence
from benchmark.data.store import (
    STATUS_FAILED,
    STATUS_OK,
    ResultStore,
    png_bytes,
    write_bytes_atomic,
)
from benchmark.execution.isolation import (
    NO_DECODER,
    decoder_confinement,
    encoder_confinement,
    sandbox_worker,
    weights_folders,
)
from benchmark.execution.sandbox import DEFAULT_MEMORY_GB
from benchmark.execution.streams import own_streams, parameter_set_streams
from benchmark.execution.workdirs import job_workdir
from benchmark.metrics.base import create_metric, evaluate
from benchmark.protocol import (
    Method,
    RatePoint,
    Reconstruction,
    checked_session,
    combine,
    config_digest,
    create_method,
)

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
    fingerprint: dict = field(default_factory=dict)   # see benchmark.execution.fingerprint
    metric_options: dict = field(default_factory=dict)  # {metric: {option: value}}, resolved
    resources: dict = field(default_factory=lambda: {"num_cpus": 1, "num_gpus": 0})
    isolation: str = "process"   # where decode runs (benchmark.execution.isolation); not in the key
    # the run's sequences, whose sources the decoder is denied from the start (one decoder
    # worker per process for the whole run); not in the key
    run_sequences: tuple[Sequence, ...] = ()
    memory_gb: float = DEFAULT_MEMORY_GB   # each sandboxed worker's address space; not in the key

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


def worker_memory_gb(job: Job) -> float:
    """The address-space cap of a job's workers: none (0) on a GPU, whose driver reserves
    far more address space than memory (CUDA would not start under the cap)."""
    return job.memory_gb if job.device == "cpu" else 0.0


def reconstruct(job: Job, method: Method, workdir: Path, store_root: str | None = None
                ) -> tuple[Reconstruction, str, list[str]]:
    """Encode and decode where the job's isolation says (benchmark.execution.isolation): the
    streams are checked and copied by the harness (benchmark.execution.streams), and their
    bits counted on those copies. Returns the reconstruction, the isolation in force and the
    parameter-set streams."""
    seq = job.sequence
    if not method.splits():   # external results: frames published elsewhere, no decoder here
        recon = method.run(seq, job.rate_point, workdir)
        recon.declared_bits = recon.stream_bits()
        return recon, NO_DECODER, []
    if job.isolation == "none":
        encode_dir = workdir / "encode"
        encode_dir.mkdir()
        encoded = method.encode(seq, job.rate_point, encode_dir)
        encoder_mode, seen_versions = "none", {}
    else:
        sources = tuple(dict.fromkeys(other.local_path() for other in job.run_sequences))
        sources = sources or (seq.local_path(),)
        readable = (*weights_folders(), *(str(f) for f in method.weights_files() if f.exists()))
        encoder = sandbox_worker(encoder_confinement(sources, store_root, readable,
                                                     worker_memory_gb(job)))
        encoded, encode_dir = encoder.encode(job.method, job.method_options, job.device,
                                             method.environment, seq, job.rate_point)
        encoder_mode, seen_versions = encoder.mode, encoder.versions
    streams, bits = own_streams(method, encoded.streams, encode_dir, workdir / "streams")
    encoded.streams = streams
    session = checked_session(encoded.session, seq, job.rate_point, method.name)
    if job.isolation == "none":
        decode_dir = workdir / "decode"
        decode_dir.mkdir()
        decoded = method.decode(dict(streams), session, decode_dir)
        mode = "none"
    else:
        decoder = sandbox_worker(decoder_confinement(seq.local_path(), store_root, sources,
                                                     readable, worker_memory_gb(job)))
        decoded = decoder.decode(job.method, job.method_options, job.device,
                                 method.environment, streams, session)
        mode = decoder.mode if decoder.mode == encoder_mode else \
            f"encoder {encoder_mode}, decoder {decoder.mode}"
    recon = combine(encoded, decoded)
    recon.declared_bits, recon.versions = bits, seen_versions
    return recon, mode, parameter_set_streams(method, streams)


def execute_job(job: Job, timeout: float | None = None,
                store_root: str | None = None) -> JobOutput:
    """Run one job in this process and return what it produced, writing nothing to the
    store; never raises for a job failure (a codec error, --timeout): the record says it.
    `store_root`: the store, which an isolated decoder must not read."""
    layout = ResultStore("")
    seq = job.sequence
    record = {"key": job.key, "dataset": seq.dataset, "sequence": seq.name,
              "segment": seq.segment, "start_frame": seq.start, "frames": seq.num_frames,
              "width": seq.width, "height": seq.height, "fps": seq.fps,
              "bit_depth": seq.bit_depth, "group": seq.group, "method": job.method,
              "method_config": job.method_config, "rate_point": job.rate_point.to_dict(),
              "metric_names": list(job.metrics), "colour": COLOUR_PROTOCOL,
              "fingerprint": job.fingerprint, "created": time.strftime("%Y-%m-%dT%H:%M:%S%z"),
              "machine": cpu_line()}
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
            recon, isolation, parameter_sets = reconstruct(job, method, workdir, store_root)
            record.update(isolation=isolation, parameter_set_streams=parameter_sets,
                          job_memory_gb=worker_memory_gb(job) if job.isolation != "none"
                          else None)
            bits = recon.declared_bits
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
            versions={**versions(), **method.versions(), **recon.versions}, status=STATUS_OK,
            error="")
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
    return store_output(execute_job(job, timeout, store_root), ResultStore(store_root))
