"""`ulvr dataset init DIR`: write a manifest for a folder of videos, from their own headers."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from benchmark.cli.common import add_command
from benchmark.core.errors import UlvrError


def cmd_dataset(args: argparse.Namespace) -> int:
    """Write a manifest for a folder of videos (y4m, mp4, mkv, named raw .yuv ...)."""
    import yaml

    from benchmark.data.manifest import load_dataset
    from benchmark.data.sources import folder_manifest

    path = Path(args.output or Path(args.folder) / "manifest.yaml")
    if path.exists() and not args.force:
        raise UlvrError(f"'{path}' exists: pass --force to replace it, or --output FILE")
    skipped: list[str] = []
    manifest = folder_manifest(args.folder, skipped)
    for reason in skipped:
        print(f"ulvr: warning: left out: {reason}", file=sys.stderr)
    if path.resolve().parent != Path(args.folder).resolve():   # files beside it: absolute
        for entry in manifest["sequences"]:
            entry["file"] = str(Path(args.folder).resolve() / entry["file"])
    path.write_text(f"# written by ulvr dataset init {args.folder}; keys: docs/datasets.md\n"
                    + yaml.safe_dump(manifest, sort_keys=False))
    dataset = load_dataset(str(path))   # what a run will read, checked now
    for seq in dataset.sequences:
        print(f"  {seq.name:24s} {seq.width}x{seq.height} {seq.fps:g} fps "
              f"{seq.num_frames} frames {seq.bit_depth}-bit")
    print(f"wrote {path}: {len(dataset.sequences)} sequences; evaluate them with\n"
          f"  ulvr run --dataset {path} --methods x265,svtav1 --out results/{dataset.name}")
    return 0


def add_commands(sub: argparse._SubParsersAction) -> None:
    """Add `dataset init` to the ulvr parser."""
    dataset = add_command(sub, "dataset", cmd_dataset)
    dataset.add_argument("action", choices=("init",), help="init: write a manifest")
    dataset.add_argument("folder", help="the folder that holds the videos")
    dataset.add_argument("--output", metavar="FILE",
                         help="where to write it (default FOLDER/manifest.yaml)")
    dataset.add_argument("--force", action="store_true", help="replace an existing manifest")
