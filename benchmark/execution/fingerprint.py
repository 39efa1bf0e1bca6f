"""Fingerprints of what produced a record's numbers, so resume re-runs what changed.

A job's key covers its inputs (method configuration with its weights' SHA-256, rate point,
sequence, harness version). What else changes the numbers is fingerprinted here and stored in
each record: the method's software versions (ffmpeg and encoders, CompressAI, torch) and, per
metric, its implementation (the SHA-256 of its module's source and of the sources of the
sibling metric modules it uses) and the weights files it loads. `ulvr run` compares a finished
record's fingerprint with the current one and re-runs the job, saying what changed.

Fingerprints are computed once per method and once per metric in a run, never per job.
"""

from __future__ import annotations

import ast
import functools
import hashlib
import importlib.util
import json
from pathlib import Path

from benchmark.core.identity import sha256_file

METRICS_PACKAGE = "benchmark.metrics."
METRIC_BASE = "benchmark.metrics.base"   # shared plumbing: a change there re-runs nothing


def metric_module(name: str) -> str:
    """Name of the module that implements metric `name` (imported on the way)."""
    from benchmark.metrics.base import metric_class

    return metric_class(name).__module__


def _imported_metric_modules(path: Path) -> set[str]:
    """Names of the benchmark.metrics modules a source file imports, at any depth (lazy
    imports inside functions included), the shared base excepted."""
    names = set()
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.ImportFrom) and node.module:
            found = [node.module] + [f"{node.module}.{a.name}" for a in node.names]
        elif isinstance(node, ast.Import):
            found = [a.name for a in node.names]
        else:
            continue
        names.update(n for n in found if n.startswith(METRICS_PACKAGE) and n != METRIC_BASE
                     and n.count(".") == 2 and importlib.util.find_spec(n) is not None)
    return names


def implementation_files(module_name: str) -> list[Path]:
    """Source files of a metric module and of the metric modules it uses (LPIPS for DISTS,
    I3D for FVD), found from its import statements."""
    spec = importlib.util.find_spec(module_name)
    files = {Path(spec.origin)}
    for name in _imported_metric_modules(Path(spec.origin)):
        files.add(Path(importlib.util.find_spec(name).origin))
    return sorted(files)


def _weights_files(cls: type) -> list[Path]:
    """Weights files a metric class locates when it checks its availability."""
    from benchmark.core import weights

    start = len(weights.RESOLVED)
    cls.availability()
    return sorted(set(weights.RESOLVED[start:]))


@functools.cache
def metric_fingerprint(name: str) -> str:
    """Short hash of a metric's implementation: its sources and its weights' contents."""
    from benchmark.metrics.base import metric_class

    cls = metric_class(name)
    digest = hashlib.sha256(name.encode())
    for path in implementation_files(cls.__module__):
        digest.update(f"source {path.name} {sha256_file(path)}\n".encode())
    for path in _weights_files(cls):
        digest.update(f"weights {path.name} {sha256_file(path)}\n".encode())
    return digest.hexdigest()[:16]


def job_fingerprint(method_versions: dict, metrics: tuple[str, ...]) -> dict:
    """What a job's record stores about the software that produced its numbers."""
    return {"method": {k: str(v) for k, v in method_versions.items()},
            "metrics": {name: metric_fingerprint(name) for name in metrics}}


def fingerprint_changes(recorded: dict | None, current: dict) -> list[str]:
    """What differs between a record's fingerprint and the current one, in words (empty when
    nothing that matters changed). Only the current fingerprint's entries are compared: a
    record may hold more metrics than a run asks for."""
    if not isinstance(recorded, dict) or not recorded:
        return ["the record predates fingerprints"]
    old_method, old_metrics = recorded.get("method", {}), recorded.get("metrics", {})
    changes = [f"{key} changed" for key, value in sorted(current["method"].items())
               if old_method.get(key) != value]
    changes += [f"metric {name} implementation changed"
                for name, value in sorted(current["metrics"].items())
                if old_metrics.get(name) != value]
    old_options = recorded.get("metric_options", {})
    changes += [f"metric {name} options changed"
                for name in sorted(current["metrics"])
                if _jsonable(old_options.get(name)) != _jsonable(
                    current.get("metric_options", {}).get(name))]
    return changes


def _jsonable(value: object) -> str:
    """A canonical text of option values (tuples and lists compare equal, as in JSON)."""
    return json.dumps(value, sort_keys=True, default=str)
