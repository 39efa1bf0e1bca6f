"""Rate-allocation sweep for the proposed method's texture stream: for each thumbnail setting
(downscale d, QP, keyframe interval t), the payload bytes of the x265 stream with its parameter
sets out of band, and the PSNR-YUV of the trivial receiver (bicubic upsampling, each picture
held until the next) against the source. The Pareto front (fewest bytes for the quality) is
where the rate points belong; choose them from it, not by hand.

Measured on the **training** segments (the first `--frames` frames of each clip's training
segment), so the choice of rate points never looks at the evaluation frames.

    python -m perf.texture_sweep [--frames 32] [--downscales 16,8,4,2] \
        [--qps 51,45,39] [--intervals 32,8,1]
"""

from __future__ import annotations

import argparse
import tempfile
from pathlib import Path

import numpy as np

from benchmark.data.manifest import load_dataset
from benchmark.metrics.base import create_metric, evaluate
from benchmark.protocol import RatePoint, create_method
from benchmark.reporting.writers import to_markdown


def measure(sequence, downscale: int, qp: int, interval: int, workdir: Path) -> dict:
    """Payload and parameter-set bytes and bicubic PSNR-YUV of one thumbnail setting."""
    codec = create_method("x265", parameter_sets="out-of-band")
    point = RatePoint(f"qp{qp}-d{downscale}-t{interval}",
                      {"qp": qp, "downscale": downscale, "temporal": interval})
    recon = codec.run(sequence, point, workdir)
    sizes = {k: v // 8 for k, v in recon.stream_bits().items()}
    psnr = evaluate(sequence.frames(), recon.frames, [create_metric("psnr")])["psnr"].values
    pixels = sequence.num_frames * sequence.width * sequence.height
    return {"payload_bytes": sizes["video"], "parameter_set_bytes": sizes["parameter_sets"],
            "bpp_payload": 8 * sizes["video"] / pixels, "psnr_yuv": psnr["psnr-yuv"]}


def pareto(rows: list[dict]) -> list[bool]:
    """Whether each setting is on the front: no other setting has fewer (or equal) bits and
    higher PSNR."""
    return [not any(o["bpp_payload"] <= r["bpp_payload"] and o["psnr_yuv"] > r["psnr_yuv"]
                    for o in rows if o is not r) for r in rows]


def _ints(text: str) -> list[int]:
    return [int(v) for v in text.split(",") if v.strip()]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--frames", type=int, default=32)
    parser.add_argument("--downscales", type=_ints, default=[16, 8, 4, 2])
    parser.add_argument("--qps", type=_ints, default=[51, 45, 39])
    parser.add_argument("--intervals", type=_ints, default=[32, 8, 1])
    args = parser.parse_args()
    sequences = list(load_dataset("embedded", segment="train", max_frames=args.frames).sequences)
    rows = []
    with tempfile.TemporaryDirectory() as tmp:
        for d in args.downscales:
            for qp in args.qps:
                for t in args.intervals:
                    per_clip = []
                    for seq in sequences:
                        work = Path(tmp) / f"{seq.name}-{d}-{qp}-{t}"
                        work.mkdir()
                        per_clip.append(measure(seq, d, qp, t, work))
                    rows.append({"setting": f"d{d}-q{qp}-t{t}",
                                 **{k: float(np.mean([c[k] for c in per_clip]))
                                    for k in per_clip[0]},
                                 "max_clip_bpp": max(c["bpp_payload"] for c in per_clip)})
    from benchmark.core.pandas_setup import pd

    table = pd.DataFrame(rows)
    table["pareto"] = pareto(rows)
    table = table.sort_values("bpp_payload").reset_index(drop=True)
    print(f"Texture sweep on the training segments ({args.frames} frames of "
          f"{', '.join(s.name for s in sequences)}); means over clips:\n")
    print(to_markdown(table))


if __name__ == "__main__":
    main()
