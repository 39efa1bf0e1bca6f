"""External results: a published method's decoded frames, evaluated at its published bits.

`external:<name>` does not encode anything. It reads frames that another method (GLC, DiffVC,
Promptus, DCVC, ...) decoded elsewhere, and the sizes of the bitstreams it reported, and lets
the runner evaluate them with the harness's metrics, so they sit in the same tables.

Layout, under the root (option `root=PATH`, else $ULVR_EXTERNAL_ROOT, else `external/` in the
working directory); every sub-folder of the root is one method, `external:<folder name>`:

    <root>/<name>/method.json        optional: {"causal": true, "description": "..."}
    <root>/<name>/rates.csv          optional: columns dataset,sequence,rate_point,bits (or bytes)
    <root>/<name>/<dataset>/<sequence>/<rate_point>/
        exactly one of:  frames/                      PNG frames, in file name order
                         decoded.y4m | decoded.mp4 | decoded.mkv
                         decoded_<W>x<H>.yuv          raw yuv420p (decoded_<W>x<H>_10bit.yuv:
                                                      yuv420p10le)
        rate.json        optional: {"bits": N} or {"bytes": N}

The rate points are the names of the `<rate_point>` folders, over all datasets and sequences.
`<dataset>` and `<sequence>` are the harness's names (`ulvr list datasets`, the manifest), and
frame i of the decoded frames is frame i of the sequence's evaluation segment.

Each job's bits are the published number: `rate.json` in the rate point's folder, or the
`rates.csv` row for (dataset, sequence, rate_point); when both exist they must agree. The
record keeps them as the declared stream `external` and names their source in
`method_info.bits_source`. Refused, with the folder and the reason: a missing folder, no or
ambiguous decoded frames, a resolution other than the sequence's, a frame count other than the
sequence's, and a missing, unreadable or non-positive rate. With `truncate=true`, decoded frames
beyond the ones evaluated (e.g. `ulvr run --frames 8` on 32 published frames) are allowed: the
first frames are evaluated and the bits are prorated by frame count (recorded as
`method_info.bits_prorated`; it is an approximation, intra frames cost more). Frames stream in
chunks, never the whole video. A job's key covers the relative names and SHA-256 of all files
under the method's folder (not where the folder lives, nor when the files were copied), so
replacing the outputs re-runs its jobs and a copy elsewhere gives the same keys.
"""

from __future__ import annotations

import csv
import hashlib
import json
import math
import os
import re
import subprocess
from collections.abc import Iterator
from pathlib import Path

from benchmark.core.errors import UlvrError
from benchmark.core.ffmpeg import ffmpeg_exe, last_error_line
from benchmark.core.identity import sha256_file
from benchmark.data.manifest import Sequence
from benchmark.data.video_io import FfmpegVideo, FrameChunk, Video, open_video
from benchmark.protocol import (
    Availability,
    Method,
    MethodKind,
    RatePoint,
    Reconstruction,
    register_prefix,
)

PREFIX = "external:"
DEFAULT_ROOT = "external"
METHOD_JSON = "method.json"
RATES_CSV = "rates.csv"
RATE_JSON = "rate.json"
FRAMES_DIR = "frames"
VIDEO_FILES = ("decoded.y4m", "decoded.mp4", "decoded.mkv")
YUV_FILE = re.compile(r"decoded_\d+x\d+(_10bit)?\.yuv")
STREAM = "external"
FRAMES_WANTED = "frames/ (PNGs), decoded.y4m, decoded.mp4, decoded.mkv or decoded_<W>x<H>.yuv"


def external_root(root: str | os.PathLike | None = None) -> Path:
    """The folder holding one sub-folder per external method."""
    return Path(root or os.environ.get("ULVR_EXTERNAL_ROOT") or DEFAULT_ROOT)


def external_names(root: str | os.PathLike | None = None) -> list[str]:
    """`external:<name>` for every method folder under the root (none if there is no root)."""
    folder = external_root(root)
    if not folder.is_dir():
        return []
    return [PREFIX + p.name for p in sorted(folder.iterdir())
            if p.is_dir() and not p.name.startswith(".")]


@register_prefix(PREFIX, external_names)
class ExternalMethod(Method):
    """Decoded frames and published bits of a method run elsewhere."""

    kind = MethodKind.EXTERNAL
    causal = False

    def __init__(self, external_name: str, root: str | None = None,
                 truncate: bool = False) -> None:
        super().__init__(root=root, truncate=truncate)
        self.root = external_root(root)
        self.truncate = bool(truncate)
        self.name = PREFIX + external_name
        if not external_name or external_name.startswith(".") or re.search(r"[/\\]",
                                                                         external_name):
            raise UlvrError(f"bad external method name '{self.name}': write external:<name>, "
                            f"<name> being a folder under '{self.root}'")
        self.folder = self.root / external_name
        if not self.folder.is_dir():
            found = ", ".join(external_names(self.root)) or "none"
            raise UlvrError(f"unknown method '{self.name}': no folder '{self.folder}' (external "
                            f"results root '{self.root}', set by root= or ULVR_EXTERNAL_ROOT; "
                            f"found there: {found})")
        self.meta: dict = {}
        self._files_digest = ""
        self._rates: dict | None = None
        self.problem = ""   # a broken method.json: reported by availability(), raised by run()
        path = self.folder / METHOD_JSON
        if path.is_file():
            try:
                self.meta = json.loads(path.read_text())
                if not isinstance(self.meta, dict):
                    raise ValueError("not a JSON object")
                self.causal = self.meta.get("causal", False)
                self.description = self.meta.get("description", "")
                if not isinstance(self.causal, bool) or not isinstance(self.description, str):
                    raise ValueError('"causal" must be true or false, "description" a string')
            except ValueError as exc:
                self.problem = f"'{path}' is unusable: {exc}"
                self.causal, self.meta = False, {}

    @classmethod
    def option_names(cls) -> tuple[str, ...]:
        """The options of `external:<name>` (its name comes from the method name, not one)."""
        return ("root", "truncate")

    def rate_points(self) -> list[RatePoint]:
        labels = {p.name for p in self.folder.glob("*/*/*")
                  if p.is_dir() and not p.name.startswith(".")}
        return [RatePoint(label) for label in sorted(labels)]

    def availability(self) -> Availability:
        if self.problem:
            return Availability(False, self.problem)
        if not self.rate_points():
            return Availability(False, f"no results under '{self.folder}': expected "
                                       "<dataset>/<sequence>/<rate_point>/ folders")
        return Availability(True)

    def config(self) -> dict:
        return {"name": self.name, "truncate": self.truncate, "files": self._fingerprint()}

    def _fingerprint(self) -> str:
        if self._files_digest:
            return self._files_digest
        digest = hashlib.sha256()
        for top, dirs, files in os.walk(self.folder):
            dirs.sort()
            for name in sorted(files):
                path = os.path.join(top, name)
                relative = Path(os.path.relpath(path, self.folder)).as_posix()
                digest.update(f"{relative}\0{sha256_file(path)}\n".encode())
        self._files_digest = digest.hexdigest()[:16]
        return self._files_digest

    def run(self, sequence: Sequence, rate_point: RatePoint, workdir: Path) -> Reconstruction:
        if self.problem:
            raise UlvrError(self.problem)
        folder = self.folder / sequence.dataset / sequence.name / rate_point.label
        if not folder.is_dir():
            raise UlvrError(f"'{folder}': no such folder, so {self.name} has no results for "
                            f"{sequence.dataset}/{sequence.name} at '{rate_point.label}'")
        path = _decoded_path(folder)
        video = open_video(path)
        if (video.width, video.height) != (sequence.width, sequence.height):
            raise UlvrError(f"'{path}': decoded frames are {video.width}x{video.height}, "
                            f"sequence {sequence.dataset}/{sequence.name} is "
                            f"{sequence.width}x{sequence.height}: refused, resolutions must match")
        published = video.num_frames if video.num_frames is not None else _count_frames(path)
        wanted = sequence.num_frames
        if published < wanted or (published > wanted and not self.truncate):
            extra = " (option truncate=true evaluates the first ones)" \
                if published > wanted else ""
            raise UlvrError(f"'{path}': {published} decoded frames, sequence "
                            f"{sequence.dataset}/{sequence.name} has {wanted}: refused, frame "
                            f"counts must match{extra}")
        bits, source = self._declared_bits(sequence, rate_point.label, folder)
        info = {"bits_source": source, "published_bits": bits, "decoded": _rel(path, self.root),
                "published_frames": published, "method_json": self.meta}
        if published > wanted:
            bits = max(1, round(bits * wanted / published))
            info["bits_prorated"] = f"{wanted}/{published} frames"
        return Reconstruction({}, _take(video, wanted, path), info=info,
                              declared_bits={STREAM: bits})

    def _declared_bits(self, sequence: Sequence, label: str, folder: Path) -> tuple[int, str]:
        """The published bits of one job and where they were read."""
        found: dict[str, int] = {}
        rate_json = folder / RATE_JSON
        if rate_json.is_file():
            where = f"'{rate_json}'"
            try:
                entry = json.loads(rate_json.read_text())
            except ValueError as exc:
                raise UlvrError(f"{where} is not valid JSON: {exc}") from exc
            keys = [k for k in ("bits", "bytes") if isinstance(entry, dict) and k in entry]
            if len(keys) != 1:
                raise UlvrError(f'{where} must hold {{"bits": N}} or {{"bytes": N}}')
            found[_rel(rate_json, self.root)] = _bits(entry[keys[0]], keys[0], where)
        row = self._rates_csv().get((sequence.dataset, sequence.name, label))
        if row is not None:
            found[f"{_rel(self.folder / RATES_CSV, self.root)} line {row[1]}"] = row[0]
        if not found:
            raise UlvrError(f"no rate for {self.name} {sequence.dataset}/{sequence.name}/{label}:"
                            f" write '{rate_json}' ({{\"bits\": N}}) or a row in "
                            f"'{self.folder / RATES_CSV}'")
        if len(set(found.values())) > 1:
            values = ", ".join(f"{where}: {bits} bits" for where, bits in found.items())
            raise UlvrError(f"{self.name} {sequence.dataset}/{sequence.name}/{label}: the rate "
                            f"files disagree ({values})")
        return next(iter(found.values())), " and ".join(found)

    def _rates_csv(self) -> dict[tuple[str, str, str], tuple[int, int]]:
        """(dataset, sequence, rate_point) -> (bits, line number) from the method's rates.csv."""
        path = self.folder / RATES_CSV
        if self._rates is not None or not path.is_file():
            return self._rates or {}
        rows: dict[tuple[str, str, str], tuple[int, int]] = {}
        with open(path, newline="") as fh:
            reader = csv.DictReader(fh)
            fields = set(reader.fieldnames or ())
            units = [u for u in ("bits", "bytes") if u in fields]
            if not {"dataset", "sequence", "rate_point"} <= fields or len(units) != 1:
                raise UlvrError(f"'{path}' needs the columns dataset,sequence,rate_point and one "
                                f"of bits or bytes; it has {','.join(reader.fieldnames or ())}")
            for row in reader:
                key = (row["dataset"], row["sequence"], row["rate_point"])
                where = f"'{path}' line {reader.line_num}"
                if key in rows:
                    raise UlvrError(f"{where} repeats {'/'.join(key)}")
                rows[key] = (_bits(row[units[0]], units[0], where), reader.line_num)
        self._rates = rows
        return rows


def _bits(value: object, unit: str, where: str) -> int:
    """A published size as a positive whole number of bits (rounded)."""
    try:
        number = float(value) if not isinstance(value, bool) else math.nan
    except (TypeError, ValueError):
        number = math.nan
    if not math.isfinite(number) or number <= 0:
        raise UlvrError(f"{where}: {unit} must be a positive number, got {value!r}")
    return max(1, round(number * (8 if unit == "bytes" else 1)))


def _decoded_path(folder: Path) -> Path:
    """The one set of decoded frames in a rate point's folder."""
    found = [folder / FRAMES_DIR] if (folder / FRAMES_DIR).is_dir() else []
    found += [p for p in sorted(folder.iterdir())
              if p.is_file() and (p.name in VIDEO_FILES or YUV_FILE.fullmatch(p.name))]
    if len(found) != 1:
        held = "nothing of the kind" if not found else ", ".join(p.name for p in found)
        raise UlvrError(f"'{folder}' must hold exactly one of {FRAMES_WANTED}; it holds {held}")
    return found[0]


def _count_frames(path: Path) -> int:
    """Frames of a container file, counted from its packets (no decoding)."""
    proc = subprocess.run([ffmpeg_exe(), "-hide_banner", "-nostdin", "-i", str(path), "-map",
                           "0:v:0", "-c", "copy", "-f", "null", "-"], capture_output=True,
                          text=True, stdin=subprocess.DEVNULL)
    counts = re.findall(r"frame=\s*(\d+)", proc.stderr)
    if proc.returncode or not counts:
        raise UlvrError(f"cannot count the frames of '{path}': {last_error_line(proc.stderr)}")
    return int(counts[-1])


def _take(video: Video, wanted: int, path: Path) -> Iterator[FrameChunk]:
    """The first `wanted` frames, streamed; a stream that ends short is refused by name."""
    if isinstance(video, FfmpegVideo):
        video.num_frames = wanted   # decode no further than needed (the count was checked)
    chunks = video.chunks()
    seen = 0
    try:
        for chunk in chunks:
            if seen + chunk.n > wanted:
                chunk = _head(chunk, wanted - seen)
            if chunk.n:
                yield chunk
            seen += chunk.n
            if seen >= wanted:
                break
    finally:
        chunks.close()
    if seen < wanted:
        raise UlvrError(f"'{path}' gave {seen} frames, {wanted} expected: it is short or corrupt")


def _head(chunk: FrameChunk, n: int) -> FrameChunk:
    """The first n frames of a chunk."""
    if chunk.planes is not None:
        return FrameChunk(tuple(p[:n] for p in chunk.planes), bit_depth=chunk.bit_depth)
    return FrameChunk(rgb_frames=chunk.rgb_frames[:n])


def _rel(path: Path, root: Path) -> str:
    """A path relative to the external root, for records that do not depend on where it is."""
    try:
        return str(path.relative_to(root))
    except ValueError:
        return str(path)
