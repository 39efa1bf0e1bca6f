"""`ulvr check-method NAME`: does a method's adapter follow the protocol? Each check runs on a
tiny clip (the first frames of one sequence) and prints a verdict:

- availability: it can run here, or says why not and what to do;
- options: every option in its configuration is one its constructor declares;
- split: it has encode() and decode(), so its decoder can run isolated;
- bits: the bits charged are the sizes of the stream files, all written under the job folder;
- session: what the encoder puts in the session is allowed (benchmark.protocol.session);
- isolated decode: the decoder rebuilds every frame from the stream files alone, in the
  isolated worker, equal to an in-process decode;
- deterministic: decoding the same files twice gives the same frames;
- truncated / corrupt stream: the decoder fails with a clear error (or conceals the damage),
  and never crashes or hangs the harness.
"""

from __future__ import annotations

import os
import shutil
import tempfile
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from benchmark.core.deadline import JobTimeout, deadline
from benchmark.core.errors import UlvrError
from benchmark.data.manifest import Sequence
from benchmark.execution.isolation import (
    DecoderFailed,
    decoder_worker,
    private_paths,
    weights_folders,
)
from benchmark.protocol import Method, checked_session, create_method

DECODE_TIMEOUT_S = 600.0


@dataclass
class Check:
    name: str
    ok: bool
    detail: str


def _frames(decoded) -> np.ndarray:
    return np.concatenate([chunk.rgb() for chunk in decoded.frames])


def _damaged(streams: dict[str, Path], folder: Path, damage: Callable[[bytes], bytes]
             ) -> dict[str, Path]:
    """Copies of the streams with the largest one damaged."""
    folder.mkdir(parents=True, exist_ok=True)
    largest = max(streams, key=lambda name: os.path.getsize(streams[name]))
    out = {}
    for name, path in streams.items():
        out[name] = folder / Path(path).name
        data = Path(path).read_bytes()
        out[name].write_bytes(damage(data) if name == largest else data)
    return out


def _truncate(data: bytes) -> bytes:
    return data[:len(data) // 2]


def _corrupt(data: bytes) -> bytes:
    """Every byte of the second half inverted (headers at the start stay readable)."""
    half = len(data) // 2
    return data[:half] + bytes(b ^ 0xFF for b in data[half:])


def check_method(name: str, sequence: Sequence, options: dict | None = None,
                 rate_point: str | None = None, device: str = "cpu") -> list[Check]:
    """Run every conformance check of method `name` on `sequence`; returns the verdicts."""
    options = options or {}
    method: Method = create_method(name, **options)
    method.device = device
    checks: list[Check] = []
    available = method.availability()
    checks.append(Check("availability", available.ok,
                        "available" if available.ok else available.reason))
    declared = set(method.option_names())
    undeclared = sorted(set(method.options) - declared)
    checks.append(Check("options", not undeclared, "declared: " + (", ".join(sorted(declared))
                                                                    or "none")
                        if not undeclared else f"not declared: {', '.join(undeclared)}"))
    if not available.ok:
        return checks
    if not method.splits():
        checks.append(Check("split", False, "no encode()/decode(): its decoder cannot run "
                                            "isolated (external results have none)"))
        return checks
    checks.append(Check("split", True, "encode() and decode()"))
    point = method.find_rate_point(rate_point) if rate_point else method.rate_points()[0]
    root = Path(tempfile.mkdtemp(prefix=f"ulvr-job-{os.getpid()}-check-"))
    try:
        workdir = root / "encode"
        workdir.mkdir()
        encoded = method.encode(sequence, point, workdir)
        sizes = {k: os.path.getsize(p) for k, p in encoded.streams.items()}
        outside = [k for k, p in encoded.streams.items()
                   if workdir.resolve() not in Path(p).resolve().parents]
        checks.append(Check("bits", not outside and all(sizes.values()),
                            f"{sum(sizes.values()) * 8} bits in {len(sizes)} stream files "
                            f"({', '.join(f'{k} {v} B' for k, v in sizes.items())})"
                            + (f"; written outside the job folder: {outside}" if outside else "")))
        try:
            session = checked_session(encoded.session, sequence, point, name)
            checks.append(Check("session", True, f"keys: {', '.join(sorted(session))}"))
        except UlvrError as exc:
            checks.append(Check("session", False, str(exc)))
            return checks
        readable = (*weights_folders(),
                    *(str(f) for f in method.weights_files() if f.exists()))
        worker = decoder_worker(private_paths(sequence.local_path()), readable)

        def isolated(streams: dict[str, Path]) -> np.ndarray:
            with deadline(DECODE_TIMEOUT_S):
                return _frames(worker.decode(name, options, device, streams, session))

        try:
            first = isolated(encoded.streams)
            shape = (session["frames"], session["height"], session["width"], 3)
            local_dir = root / "local"
            local_dir.mkdir()
            local = _frames(method.decode(dict(encoded.streams), session, local_dir))
            same = first.shape == shape and np.array_equal(first, local)
            checks.append(Check("isolated decode", same,
                                f"{first.shape[0]} frames from the files alone, {worker.mode}"
                                + ("" if same else f"; expected {shape} equal to an in-process "
                                   "decode")))
            again = isolated(encoded.streams)
            checks.append(Check("deterministic", np.array_equal(first, again),
                                "two decodes give identical frames"
                                if np.array_equal(first, again) else "two decodes differ"))
        except (DecoderFailed, JobTimeout, UlvrError) as exc:
            checks.append(Check("isolated decode", False, str(exc)))
            return checks
        for label, damage in (("truncated stream", _truncate), ("corrupt stream", _corrupt)):
            damaged = _damaged(encoded.streams, root / label.split()[0], damage)
            worker = decoder_worker(private_paths(sequence.local_path()), readable)
            try:
                frames = isolated(damaged)
                n = frames.shape[0]
                checks.append(Check(label, True, f"concealed: {n} frames" if n == shape[0] else
                                    f"{n} of {shape[0]} frames, a frame-count error for the "
                                    "runner"))
            except DecoderFailed as exc:
                crashed = "died" in str(exc)
                checks.append(Check(label, not crashed, ("the decoder process crashed: "
                                                         if crashed else "clean error: ")
                                    + str(exc)[:160]))
            except JobTimeout:
                checks.append(Check(label, False, f"the decoder hung past {DECODE_TIMEOUT_S:g} s"))
    finally:
        shutil.rmtree(root, ignore_errors=True)
    return checks
