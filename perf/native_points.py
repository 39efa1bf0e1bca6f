"""The proposed sender's rate on the native-resolution clips, measured on the **validation**
segments of `embedded-native` (never the evaluation frames): for each candidate rate point, the
real bytes of both streams (texture payload, texture parameter sets, semantic payload and its
session header) and the total and payload bpp. The native suite's sender points were chosen
from this table: the lowest under 0.0003 bpp in total on both clips, one at or under 0.0001.

    python -m perf.native_points [--points LABEL,LABEL,...] [--frames 32]
"""

from __future__ import annotations

import argparse
import tempfile
from pathlib import Path

from benchmark.data.manifest import load_dataset
from benchmark.reporting.writers import to_markdown
from methods.causal_diffusion.sender import SenderParams, transmit

CANDIDATES = ("d16-q51-t32-s32-k4-l8", "d16-q51-t32-s64-k4-l16", "d32-q51-t32-s64-k4-l16",
              "d32-q51-t32-s64-k4-l32", "d64-q51-t32-s128-k4-l32", "d8-q51-t32-s32-k4-l8",
              "d8-q45-t32-s32-k4-l8", "d4-q51-t32-s16-k4-l8")
PARAMETER_SETS = ("texture_parameter_sets", "semantic_parameter_sets")


def measure(sequence, label: str, workdir: Path) -> dict:
    """Bits per stream and bpp (total, payload) of one sender point on one sequence."""
    tx = transmit(sequence, SenderParams.from_label(label), workdir)
    bits = {name: 8 * path.stat().st_size for name, path in tx.streams.items()}
    pixels = sequence.num_frames * sequence.width * sequence.height
    total = sum(bits.values())
    payload = total - sum(bits.get(k, 0) for k in PARAMETER_SETS)
    return {"sequence": sequence.name, "point": label, **{f"bits {k}": v for k, v in
                                                           sorted(bits.items())},
            "bits": total, "bpp total": total / pixels, "bpp payload": payload / pixels}


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--points", default=",".join(CANDIDATES))
    parser.add_argument("--frames", type=int, default=32)
    args = parser.parse_args(argv)
    from benchmark.core.pandas_setup import pd

    dataset = load_dataset("embedded-native", segment="val", max_frames=args.frames)
    rows = []
    with tempfile.TemporaryDirectory(prefix="ulvr-native-") as tmp:
        for seq in dataset.sequences:
            for i, label in enumerate(args.points.split(",")):
                rows.append(measure(seq, label, Path(tmp) / f"{seq.name}-{i}"))
    table = pd.DataFrame(rows).fillna(0)
    print(f"sender rate on the validation segments of embedded-native ({args.frames} frames)")
    print(to_markdown(table))
    worst = table.groupby("point")["bpp total"].max().sort_values()
    print("highest total bpp over the clips, per point (0.0003 bpp budget):")
    for point, bpp in worst.items():
        print(f"  {point}: {bpp:.6f}" + ("  < 0.0003" if bpp < 0.0003 else "")
              + ("  <= 0.0001" if bpp <= 0.0001 else ""))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
