"""`ulvr check-method NAME`: does a method's adapter follow the protocol? Each check runs on a
tiny clip (the first frames of one sequence) and prints a verdict:

- availability: it can run here, or says why not and what to do;
- options: every option in its configuration is one its constructor declares;
- split: it has encode() and decode(), so its decoder can run isolated;
- bits: the encoder, in its sandboxed worker, returns only stream names it declares, each a
  regular, non-empty file under its job folder; the bits are the size of the harness's copy;
- parameter sets: the streams declared as parameter sets are the same bytes for other frames;
- session: what the encoder puts in the session is allowed (benchmark.protocol.session);
- isolated decode: the decoder rebuilds every frame from the stream files alone, in the
  sandboxed worker (no source folder, store, network, IPC, other processes or runner
  environment), equal to an in-process decode: a decoder that needs any of those fails here;
- deterministic: decoding the same files twice gives the same frames;
- truncated / corrupt stream: the decoder fails with a clear error (or conceals the damage),
  and never crashes or hangs the harness.
"""

from __future__ import annotations

import dataclasses
import os
import shutil
import tempfile
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from benchmark.core.deadline import DECODE_TIMEOUT_S, JobTimeout, deadline
from benchmark.core.errors import UlvrError
from benchmark.data.manifest import Sequence
from benchmark.execution.isolation import (
    WorkerFailed,
    decoder_confinement,
    encoder_confinement,
    sandbox_worker,
    weights_folders,
)
from benchmark.execution.sandbox import DEFAULT_MEMORY_GB
from benchmark.execution.streams import own_streams
from benchmark.protocol import Method, checked_session, create_method


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


def _parameter_sets_check(method: Method, encoder, options: dict, device: str,
                          sequence: Sequence, point, streams: dict[str, Path], root: Path
                          ) -> Check:
    """The declared parameter-set streams must depend on the rate point alone: encoding other
    content of the same geometry (the frames' negative) gives the same bytes (else they carry
    content, and belong in the payload rate)."""
    declared = [k for k in method.parameter_set_streams if k in streams]
    if not declared:
        return Check("parameter sets", True, "none declared: every stream counts as payload")
    other = dataclasses.replace(sequence, filters=",".join(f for f in (sequence.filters,
                                                                         "negate") if f))
    try:
        encoded, encode_dir = encoder.encode(method.name, options, device, method.environment,
                                             other, point)
        again, _ = own_streams(method, encoded.streams, encode_dir, root / "other-streams")
    except (WorkerFailed, UlvrError) as exc:
        return Check("parameter sets", False, f"could not encode other frames: {exc}"[:300])
    differ = [k for k in declared if k not in again
              or again[k].read_bytes() != streams[k].read_bytes()]
    return Check("parameter sets", not differ,
                 f"{', '.join(declared)}: the same bytes for other content (the rate "
                 "point's fixed profile)" if not differ else
                 f"{', '.join(differ)} change with the content: not parameter sets (they are "
                 "payload); remove them from parameter_set_streams")


def check_method(name: str, sequence: Sequence, options: dict | None = None,
                 rate_point: str | None = None, device: str = "cpu",
                 memory_gb: float = DEFAULT_MEMORY_GB,
                 timeout: float = DECODE_TIMEOUT_S) -> list[Check]:
    """Run every conformance check of method `name` on `sequence`; returns the verdicts. An
    encode or decode that takes longer than `timeout` seconds fails its check."""
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
        readable = (*weights_folders(),
                    *(str(f) for f in method.weights_files() if f.exists()))
        source = sequence.local_path()
        encoder = sandbox_worker(encoder_confinement((source,), None, readable, memory_gb))
        try:
            with deadline(timeout):
                encoded, encode_dir = encoder.encode(name, options, device, method.environment,
                                                     sequence, point)
            streams, bits = own_streams(method, encoded.streams, encode_dir, root / "streams")
        except (WorkerFailed, JobTimeout, UlvrError) as exc:
            checks.append(Check("bits", False, f"{str(exc)[:300]} ({encoder.mode})"))
            return checks
        empty = sorted(k for k, v in bits.items() if not v)
        checks.append(Check("bits", not empty,
                            f"{sum(bits.values())} bits in {len(bits)} declared stream files "
                            f"({', '.join(f'{k} {v // 8} B' for k, v in bits.items())}), "
                            f"encoded {encoder.mode}"
                            + (f"; zero-byte streams {empty}: a stream's existence is not "
                               "data" if empty else "")))
        checks.append(_parameter_sets_check(method, encoder, options, device, sequence, point,
                                            streams, root))
        try:
            session = checked_session(encoded.session, sequence, point, name)
            checks.append(Check("session", True, f"keys: {', '.join(sorted(session))}"))
        except UlvrError as exc:
            checks.append(Check("session", False, str(exc)))
            return checks
        worker = sandbox_worker(decoder_confinement(source, None, (), readable, memory_gb))

        def isolated(streams: dict[str, Path]) -> np.ndarray:
            with deadline(timeout):
                return _frames(worker.decode(name, options, device, method.environment,
                                             streams, session))

        try:
            first = isolated(streams)
            shape = (session["frames"], session["height"], session["width"], 3)
            local_dir = root / "local"
            local_dir.mkdir()
            local = _frames(method.decode(dict(streams), session, local_dir))
            same = first.shape == shape and np.array_equal(first, local)
            checks.append(Check("isolated decode", same,
                                f"{first.shape[0]} frames from the files alone, {worker.mode}"
                                + ("" if same else f"; expected {shape} equal to an in-process "
                                   "decode")))
            again = isolated(streams)
            checks.append(Check("deterministic", np.array_equal(first, again),
                                "two decodes give identical frames"
                                if np.array_equal(first, again) else "two decodes differ"))
        except (WorkerFailed, JobTimeout, UlvrError) as exc:
            checks.append(Check("isolated decode", False, str(exc)))
            return checks
        for label, damage in (("truncated stream", _truncate), ("corrupt stream", _corrupt)):
            damaged = _damaged(streams, root / label.split()[0], damage)
            worker = sandbox_worker(decoder_confinement(source, None, (), readable, memory_gb))
            try:
                frames = isolated(damaged)
                n = frames.shape[0]
                checks.append(Check(label, True, f"concealed: {n} frames" if n == shape[0] else
                                    f"{n} of {shape[0]} frames, a frame-count error for the "
                                    "runner"))
            except WorkerFailed as exc:
                crashed = "died" in str(exc)
                checks.append(Check(label, not crashed, ("the decoder process crashed: "
                                                         if crashed else "clean error: ")
                                    + str(exc)[:160]))
            except JobTimeout:
                checks.append(Check(label, False, f"the decoder hung past {timeout:g} s "
                                    "(check-method --timeout)"))
    finally:
        shutil.rmtree(root, ignore_errors=True)
    return checks
