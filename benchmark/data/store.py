"""Results store: one JSON record per job, written atomically (temp file + rename).

Layout: ROOT/records/<dataset>/<method>/<sequence>/<rate point>__<job key>.json. A record is
never half-written: readers ignore temp files, and a killed writer leaves at most a temp file.
Every path is checked to stay inside the store (names are checked where they enter,
benchmark.core.names). One run writes a store at a time (`lock`). Each record carries a digest
of its content (`digest`): a record changed after it was written, by hand or by anything else,
is listed in `tampered` and flagged by the report and by `ulvr regress`.
A record that cannot be read (corrupt JSON, not a JSON object) is skipped, never silently: the
store keeps the list, and tables built from it say on stderr how many were skipped and which.
"""

from __future__ import annotations

import contextlib
import fcntl
import hashlib
import json
import os
import sys
import tempfile
from collections.abc import Iterator
from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np

if TYPE_CHECKING:   # pandas loads with the first table, not on `ulvr run`'s path
    from benchmark.core.pandas_setup import pd

from benchmark.core.errors import UlvrError

STATUS_OK, STATUS_FAILED = "ok", "failed"
NAMES_SHOWN = 5   # unreadable records named in the warning; the rest are counted
DIGEST_KEY = "digest"
LOCK_FILE = ".ulvr-run.lock"


class StoreBusy(UlvrError):
    """Another run is writing this store."""


def record_digest(record: dict) -> str:
    """SHA-256 of a record's content (without its digest and the reader's `_path`)."""
    body = {k: v for k, v in record.items() if k not in (DIGEST_KEY, "_path")}
    blob = json.dumps(body, sort_keys=True, default=str, allow_nan=True)
    return "sha256:" + hashlib.sha256(blob.encode()).hexdigest()


class ResultStore:
    """A folder of job records."""

    def __init__(self, root: str | os.PathLike) -> None:
        self.root = Path(root)
        self.records_dir = self.root / "records"
        self.feature_cache_dir = self.root / "cache" / "features"   # benchmark.core.featcache
        self.unreadable: list[Path] = []   # records the last records() pass could not read
        self.tampered: list[Path] = []     # records whose digest no longer matches
        self._warned: set[Path] = set()

    def path_for(self, dataset: str, method: str, sequence: str, rate_point: str,
                 key: str) -> Path:
        safe = method.replace(":", "_").replace("/", "_")
        path = self.records_dir / dataset / safe / sequence / f"{rate_point}__{key}.json"
        self.check_inside(path)
        return path

    def check_inside(self, path: Path) -> None:
        """Refuse a path that would leave the store (a name with '..' or '/' in it)."""
        root = self.records_dir.resolve()
        if root not in path.resolve().parents:
            raise UlvrError(f"'{path}' would lie outside the store's records folder '{root}': "
                            "a dataset, sequence, method or rate-point name is not a plain name")

    @contextlib.contextmanager
    def lock(self):
        """Hold the store for one run: a second run on it exits with a message instead of
        running every job twice."""
        self.root.mkdir(parents=True, exist_ok=True)
        path = self.root / LOCK_FILE
        fh = open(path, "a+")
        try:
            try:
                fcntl.flock(fh, fcntl.LOCK_EX | fcntl.LOCK_NB)
            except BlockingIOError:
                fh.seek(0)
                holder = fh.read().strip() or "another process"
                raise StoreBusy(f"results store '{self.root}' is being written by another "
                                f"'ulvr run' ({holder}); wait for it to finish or give "
                                "another --out") from None
            fh.seek(0)
            fh.truncate()
            fh.write(f"pid {os.getpid()}")
            fh.flush()
            yield
        finally:
            fh.close()

    def reference_preview(self, dataset: str, sequence: str, start: int) -> Path:
        """Where the reference frame matching the jobs' preview frames is kept."""
        return self.records_dir / dataset / "_reference" / f"{sequence}__{start}.png"

    def read(self, path: Path) -> dict | None:
        """A record, or None when absent or unreadable (treated as not done: it runs again)."""
        try:
            with open(path, encoding="utf-8") as fh:
                record = json.load(fh)
        except (OSError, ValueError):   # ValueError: bad JSON, and bytes that are not UTF-8
            return None
        return record if well_formed(record) else None

    def write(self, path: Path, record: dict) -> None:
        """Write a record atomically, with its digest: a reader sees the old file or the new
        one, never a mix."""
        self.check_inside(path)
        record = {**{k: v for k, v in record.items() if k != "_path"}}
        record[DIGEST_KEY] = record_digest(record)
        path.parent.mkdir(parents=True, exist_ok=True)
        fd, tmp = tempfile.mkstemp(prefix=".tmp-", suffix=".json", dir=path.parent)
        try:
            with os.fdopen(fd, "w") as fh:
                json.dump(record, fh, indent=1, sort_keys=True, default=str)
                fh.flush()
                os.fsync(fh.fileno())
            os.replace(tmp, path)
        except BaseException:
            if os.path.exists(tmp):
                os.unlink(tmp)
            raise

    def records(self) -> Iterator[dict]:
        """Every readable record in the store; unreadable ones are listed in self.unreadable,
        those changed since they were written in self.tampered (and marked `tampered`)."""
        self.unreadable, self.tampered = [], []
        if not self.records_dir.is_dir():
            return
        for path in sorted(self.records_dir.rglob("*.json")):
            if path.name.startswith(".tmp-"):
                continue
            record = self.read(path)
            if record is None:
                self.unreadable.append(path)
                continue
            if DIGEST_KEY in record and record[DIGEST_KEY] != record_digest(record):
                self.tampered.append(path)
                record["tampered"] = True
            record["_path"] = str(path)  # where it lives (for its preview frame)
            yield record

    def _named(self, paths: list[Path], what: str, advice: str) -> str:
        """One line naming up to NAMES_SHOWN of `paths` (the rest counted) ('' if none)."""
        if not paths:
            return ""
        names = [str(p.relative_to(self.records_dir)) for p in paths[:NAMES_SHOWN]]
        more = len(paths) - len(names)
        return (f"{what}: {', '.join(names)}" + (f" (+{more} more)" if more else "")
                + f" ({advice})")

    def unreadable_note(self) -> str:
        """One line naming the unreadable records of the last records() pass ('' if none)."""
        n = len(self.unreadable)
        return self._named(self.unreadable, f"skipped {n} unreadable record{'s' if n != 1 else ''}"
                           f" in '{self.records_dir}'",
                           "fix or delete them; 'ulvr run' re-runs their jobs")

    def tampered_note(self) -> str:
        """One line naming the records of the last records() pass whose digest does not
        match their content ('' if none)."""
        return self._named(self.tampered, f"{len(self.tampered)} record(s) in "
                           f"'{self.records_dir}' changed after they were written (digest "
                           "mismatch)", "their numbers are not the harness's; 'ulvr run "
                           "--force' re-runs them")

    def warn_unreadable(self) -> None:
        """Print unreadable_note() and tampered_note() to stderr, once per set of files."""
        for paths, note in ((self.unreadable, self.unreadable_note),
                            (self.tampered, self.tampered_note)):
            if paths and set(paths) - self._warned:
                print(f"ulvr: warning: {note()}", file=sys.stderr)
                self._warned.update(paths)

    def dataframe(self, include_failed: bool = True,
                  records: list[dict] | None = None) -> pd.DataFrame:
        """One row per record: identity columns, rate, timings and every metric value.
        `records`: the list a caller already read with records(), so the files are read once."""
        rows = [flatten(r) for r in (self.records() if records is None else records)]
        if not rows:
            if self.unreadable:
                raise UlvrError(f"no readable result records under '{self.root}': "
                                f"{self.unreadable_note()}")
            raise UlvrError(f"no result records under '{self.root}': run 'ulvr run' first "
                            "or point to the folder that holds them")
        self.warn_unreadable()
        from benchmark.core.pandas_setup import pd

        frame = pd.DataFrame(rows)   # text as Python objects (pandas_setup)
        if not include_failed:
            frame = frame[frame["status"] == STATUS_OK]
        return frame.reset_index(drop=True)


class CombinedStore(ResultStore):
    """Several stores read as one, for a report over datasets kept in stores of their own (the
    embedded and native references): the records of all, each dataset's reference preview from
    the store that holds it. Reading only: runs write into one store."""

    def __init__(self, roots: list[str | os.PathLike]) -> None:
        super().__init__(roots[0])
        self.stores = [ResultStore(root) for root in roots]

    def records(self) -> Iterator[dict]:
        self.unreadable, self.tampered = [], []
        for store in self.stores:
            yield from store.records()
            self.unreadable += store.unreadable
            self.tampered += store.tampered

    def reference_preview(self, dataset: str, sequence: str, start: int) -> Path:
        for store in self.stores:
            path = store.reference_preview(dataset, sequence, start)
            if path.exists():
                return path
        return super().reference_preview(dataset, sequence, start)


def open_store(roots: list[str] | str) -> ResultStore:
    """The store at one root, or several read as one (CombinedStore); a root without records
    is a one-line error naming it."""
    roots = [roots] if isinstance(roots, str) else list(roots)
    if len(roots) == 1:
        return ResultStore(roots[0])
    for root in roots:
        if not (Path(root) / "records").is_dir():
            raise UlvrError(f"'{root}' is not a results store (no records/ folder in it): "
                            "give folders written by 'ulvr run --out'")
    return CombinedStore(roots)


_PNG_MEMO: dict[tuple, bytes] = {}   # recent frames' PNGs by shape and digest
_PNG_MEMO_SIZE = 8


def png_bytes(frame: np.ndarray) -> bytes:
    """An (H, W, 3) uint8 frame encoded as PNG, in memory (a remote job returns it); zlib level
    3 is 3x faster than PIL's default 6 for 14% more bytes (lossless either way). The last few
    frames' encodings are kept by content: every job of a sequence shows the same reference
    preview, which is encoded once per process."""
    import hashlib
    import io

    from PIL import Image

    frame = np.ascontiguousarray(frame)
    key = (frame.shape, frame.dtype.str, hashlib.blake2b(frame.data, digest_size=16).digest())
    if key in _PNG_MEMO:
        return _PNG_MEMO[key]
    buffer = io.BytesIO()
    Image.fromarray(frame).save(buffer, format="PNG", compress_level=3)
    if len(_PNG_MEMO) >= _PNG_MEMO_SIZE:
        _PNG_MEMO.pop(next(iter(_PNG_MEMO)))
    _PNG_MEMO[key] = buffer.getvalue()
    return _PNG_MEMO[key]


def write_bytes_atomic(data: bytes, path: Path) -> None:
    """Write a file via temp file + rename: a reader sees the old file or the new one."""
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=".tmp-", suffix=path.suffix, dir=path.parent)
    try:
        with os.fdopen(fd, "wb") as fh:
            fh.write(data)
        os.replace(tmp, path)
    finally:
        if os.path.exists(tmp):
            os.unlink(tmp)


PARAMETER_SET_SUFFIX = "parameter_sets"   # bits entries of session parameters sent out of band


def payload_rates(record: dict) -> dict:
    """Bits, bpp and kbps without the streams the method declares as parameter sets sent out
    of band; equal to the totals for in-band records."""
    bits = record.get("bits") or {}
    frames, width, height = (record.get(k) for k in ("frames", "width", "height"))
    if not bits or not frames or not width or not height:
        return {}
    if "parameter_set_streams" in record:   # declared by the method (benchmark.execution.streams)
        declared = set(record["parameter_set_streams"] or ())
    else:   # records written before methods declared them: the name convention of that time
        declared = {k for k in bits if k.endswith(PARAMETER_SET_SUFFIX)}
    payload = sum(v for k, v in bits.items() if k not in declared)
    return {"payload_bits": payload, "bpp_payload": payload / (frames * width * height),
            "kbps_payload": payload * (record.get("fps") or 0) / frames / 1000.0}


RECORD_SHAPE: dict[str, tuple[type, ...]] = {   # what a reader relies on, key by key
    "dataset": (str,), "sequence": (str,), "method": (str,), "status": (str,),
    "rate_point": (dict,), "metrics": (dict,), "bits": (dict,), "timings": (dict,),
    "versions": (dict,), "metric_protocols": (dict,), "features": (dict,),
}
NUMBER = (int, float, type(None))


def well_formed(record: object) -> bool:
    """Whether valid JSON is a record the report can read: the identity fields as text, the
    nested tables as mappings, metric values and bit counts as numbers (a record with wrong
    fields is skipped and named like an unreadable one, never a traceback)."""
    if not isinstance(record, dict):
        return False
    for key, types in RECORD_SHAPE.items():
        required = key in ("dataset", "sequence", "method", "status")
        if (key in record or required) and not isinstance(record.get(key), types):
            return False
    if not isinstance(record.get("rate_point", {}).get("label", ""), str):
        return False
    return all(isinstance(v, NUMBER) and not isinstance(v, bool) for part in ("metrics", "bits")
               for v in record.get(part, {}).values())


def flatten(record: dict) -> dict:
    """A record as one flat table row (per-frame curves left out)."""
    row = {k: record.get(k) for k in ("dataset", "sequence", "segment", "method", "kind",
                                      "causal", "config_hash", "frames", "width", "height",
                                      "fps", "bpp", "kbps", "total_bits", "status", "error",
                                      "created", "key")}
    row["rate_point"] = record.get("rate_point", {}).get("label")
    row["group"] = record.get("group", "")
    row["receiver_of"] = record.get("receiver_of", "")
    row["path"] = record.get("_path")
    for stream, bits in record.get("bits", {}).items():
        row[f"bits_{stream}"] = bits
    row.update(payload_rates(record))
    for name, value in record.get("timings", {}).items():
        row[f"time_{name}"] = value
    row.update(record.get("metrics", {}))
    row["ulvr_version"] = record.get("versions", {}).get("ulvr-bench")
    return row
