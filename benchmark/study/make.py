"""`ulvr study make`: choose the pairs, re-decode their reconstructions, encode every video
losslessly for the browser (VP9 lossless in WebM of the 8-bit 4:2:0 planes: a YUV source's own,
an RGB reconstruction's by the harness's BT.709 conversion), add attention checks and write the
manifest and the page.

A reconstruction is re-made by running its job again (methods are deterministic) and is
refused if its bitstreams differ from the record's: the study must show what was scored.
"""

from __future__ import annotations

import json
import shutil
import subprocess
import tempfile
import time
from collections.abc import Iterable, Iterator
from pathlib import Path

import cv2
import numpy as np

from benchmark.core.errors import UlvrError
from benchmark.core.ffmpeg import ffmpeg_exe, last_error_line
from benchmark.data.manifest import Sequence, load_dataset
from benchmark.data.store import ResultStore
from benchmark.data.video_io import FrameChunk
from benchmark.protocol import create_method
from benchmark.study.design import DESIGNS, Condition, Pair, active_pairs, all_pairs, matched_groups

PAGE = Path(__file__).with_name("page.html")
DEGRADE = 8   # attention checks: the reference area-downscaled by this and upscaled back


def encode_webm(chunks: Iterable[FrameChunk], width: int, height: int, fps: float,
                path: Path) -> Path:
    """Lossless VP9 in WebM of the frames' 8-bit 4:2:0 planes (BT.709, limited range)."""
    colour = ["-colorspace", "bt709", "-color_primaries", "bt709", "-color_trc", "bt709",
              "-color_range", "tv"]   # on input and output alike: no conversion is inserted
    cmd = [ffmpeg_exe(), "-hide_banner", "-loglevel", "error", "-y", "-f", "rawvideo",
           "-pix_fmt", "yuv420p", "-s", f"{width}x{height}", "-r", f"{fps:g}", *colour,
           "-i", "-", "-c:v", "libvpx-vp9", "-lossless", "1", *colour, str(path)]
    proc = subprocess.Popen(cmd, stdin=subprocess.PIPE, stderr=subprocess.PIPE)
    try:
        for chunk in chunks:
            proc.stdin.write(chunk.yuv_bytes(8))
        proc.stdin.close()
    except BrokenPipeError:
        pass
    err = proc.stderr.read().decode(errors="replace")
    if proc.wait() != 0:
        raise UlvrError(f"encoding {path.name} for the study failed: {last_error_line(err)}")
    return path


def degraded(chunks: Iterable[FrameChunk]) -> Iterator[FrameChunk]:
    """The frames area-downscaled by DEGRADE and upscaled back: an obvious loss of detail."""
    for chunk in chunks:
        frames = chunk.rgb()
        h, w = frames.shape[1:3]
        small = [cv2.resize(f, (max(1, w // DEGRADE), max(1, h // DEGRADE)),
                            interpolation=cv2.INTER_AREA) for f in frames]
        yield FrameChunk(rgb_frames=np.stack([cv2.resize(s, (w, h),
                                                         interpolation=cv2.INTER_NEAREST)
                                              for s in small]))


def job_sequence(record: dict, data_root: str | None) -> Sequence:
    """The sequence a record was made on (its dataset manifest, start and frame count)."""
    dataset = load_dataset(record["dataset"], data_root, max_frames=record["frames"],
                           sequences=[record["sequence"]])
    (seq,) = dataset.sequences
    if (seq.start, seq.num_frames) != (record["start_frame"], record["frames"]):
        raise UlvrError(f"sequence {record['sequence']} of '{record['dataset']}' is not the "
                        "segment the record was made on: use the manifest it was run with")
    return seq


def redecode(record: dict, seq: Sequence, workdir: Path) -> Iterator[FrameChunk]:
    """Run the record's job again; refuse if its bitstreams differ from the record's."""
    method = create_method(record["method"], **record["method_config"].get("options", {}))
    workdir.mkdir(parents=True, exist_ok=True)
    recon = method.run(seq, method.find_rate_point(record["rate_point"]["label"]), workdir)
    bits = recon.stream_bits()
    if bits != record["bits"]:
        raise UlvrError(f"re-decoding {record['method']}/{record['sequence']}/"
                        f"{record['rate_point']['label']} gives {bits}, its record says "
                        f"{record['bits']}: the study would not show what was scored")
    return recon.frames


def make_study(store_root: str, out: str, targets: list[float], design: str = "all",
               budget: int | None = None, data_root: str | None = None) -> dict:
    """Build the study folder (media/, manifest.json, index.html); returns the manifest."""
    if design not in DESIGNS:
        raise UlvrError(f"unknown design '{design}': choose from {', '.join(DESIGNS)}")
    store = ResultStore(store_root)
    groups = matched_groups(store.dataframe(include_failed=False), targets)
    if not groups:
        raise UlvrError(f"no two methods of '{store_root}' are within a factor "
                        f"{2 ** 0.5:.2f} of any target bpp ({', '.join(map(str, targets))})")
    pairs = all_pairs(groups) if design == "all" else active_pairs(groups, budget or 20)
    records = {r["key"]: r for r in store.records()}
    folder = Path(out)
    media = folder / "media"
    media.mkdir(parents=True, exist_ok=True)
    references, attention = {}, []
    work = Path(tempfile.mkdtemp(prefix="ulvr-study-"))
    try:
        for pair in pairs:
            for cond in (pair.a, pair.b):
                target = media / f"{cond.key}.webm"
                record = records[cond.key]
                seq = job_sequence(record, data_root)
                if not target.exists():
                    encode_webm(redecode(record, seq, work / cond.key), seq.width, seq.height,
                                seq.fps, target)
                name = f"{seq.dataset}/{seq.name}"
                if name not in references:
                    ref = media / f"ref-{seq.dataset}-{seq.name}.webm"
                    low = media / f"degraded-{seq.dataset}-{seq.name}.webm"
                    encode_webm(seq.frames(), seq.width, seq.height, seq.fps, ref)
                    encode_webm(degraded(seq.frames()), seq.width, seq.height, seq.fps, low)
                    references[name] = ref.name
                    attention.append(Pair(seq.dataset, seq.name, 0.0,
                                          Condition("reference", "", ref.stem, 0.0),
                                          Condition("degraded", "", low.stem, 0.0), True))
    finally:
        shutil.rmtree(work, ignore_errors=True)
    manifest = {"created": time.strftime("%Y-%m-%dT%H:%M:%S%z"), "store": str(store_root),
                "design": design, "targets": targets, "references": references,
                "pairs": [p.to_dict() for p in pairs + attention]}
    (folder / "manifest.json").write_text(json.dumps(manifest, indent=1))
    shutil.copyfile(PAGE, folder / "index.html")
    return manifest
