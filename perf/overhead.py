"""Harness overhead: wall time of `ulvr run` (x265, PSNR only, embedded set) against the summed
wall time of the ffmpeg processes it ran (encode, the receiver's regeneration of the parameter
sets sent out of band, decode) plus the PSNR computation itself.

    python -m perf.overhead
"""

from __future__ import annotations

import tempfile
import time

from benchmark.cli import main
from benchmark.data.store import ResultStore


def measure() -> dict:
    with tempfile.TemporaryDirectory() as out:
        start = time.perf_counter()
        code = main(["run", "--methods", "x265", "--metrics", "psnr", "--out", out, "--quiet",
                     "--no-report", "--force"])
        wall = time.perf_counter() - start
        frame = ResultStore(out).dataframe()
    codec = [c for c in ("time_encode_s", "time_parameter_sets_s", "time_decode_s") if c in frame]
    work = float(frame[[*codec, "time_metrics_s"]].sum().sum())
    return {"exit": code, "jobs": len(frame), "wall_s": wall, "ffmpeg_and_psnr_s": work,
            "overhead": wall / work - 1.0}


if __name__ == "__main__":
    r = measure()
    print(f"{r['jobs']} jobs: ulvr run {r['wall_s']:.2f} s; "
          f"ffmpeg + PSNR {r['ffmpeg_and_psnr_s']:.2f} s; "
          f"harness overhead {100 * r['overhead']:.1f}% (target < 5%)")
