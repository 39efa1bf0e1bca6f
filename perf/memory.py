"""Peak memory evaluating a 1080p video: a 1920x1080 Y4M made from the bigbuckbunny clip
(looped), at 100 and 300 frames, through `ulvr compare` (PSNR + MS-SSIM) and through
`ulvr run` (x265 at its lowest rate point + PSNR + MS-SSIM). Peak RSS should not grow with the
frame count (frames are streamed).

    python -m perf.memory [--frames 100,300]
"""

from __future__ import annotations

import argparse
import os
import subprocess
import sys
import tempfile
from pathlib import Path

from benchmark.core.ffmpeg import ffmpeg_exe
from benchmark.data.manifest import load_dataset


def make_1080p(path: Path, frames: int, fmt: str) -> None:
    """Write `frames` 1080p frames of bigbuckbunny (looped) as .y4m or raw .yuv."""
    src = load_dataset("embedded").sequences[2].path
    subprocess.run([ffmpeg_exe(), "-v", "error", "-y", "-stream_loop", "-1", "-i", src,
                    "-vf", "scale=1920:1080:flags=bicubic", "-frames:v", str(frames),
                    "-pix_fmt", "yuv420p", *(["-f", "rawvideo"] if fmt == "yuv" else []),
                    str(path)], check=True)


def peak_rss_mb(cmd: list[str]) -> float:
    """Peak resident memory (MB) of a command and its children (largest single process)."""
    code = ("import resource, subprocess, sys; subprocess.run(sys.argv[1:], check=True); "
            "print(resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss)")
    out = subprocess.run([sys.executable, "-c", code, *cmd], capture_output=True, text=True,
                         check=True)
    return int(out.stdout.strip().splitlines()[-1]) / 1024


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--frames", default="100,300")
    args = parser.parse_args()
    ulvr = [sys.executable, "-m", "benchmark"]
    with tempfile.TemporaryDirectory() as tmp:
        tmp = Path(tmp)
        for n in (int(x) for x in args.frames.split(",")):
            y4m = tmp / "bbb.y4m"
            make_1080p(y4m, n, "y4m")
            compare = peak_rss_mb([*ulvr, "compare", str(y4m), str(y4m), "--metric", "psnr",
                                   "--metric", "ms-ssim"])
            y4m.unlink()
            data = tmp / "data"
            data.mkdir(exist_ok=True)
            make_1080p(data / "bbb_1920x1080_25.yuv", n, "yuv")
            manifest = tmp / "bbb1080.yaml"
            manifest.write_text(
                "name: bbb1080\nsequences:\n  - {name: bbb, file: bbb_1920x1080_25.yuv, "
                f"width: 1920, height: 1080, fps: 25, frames: {n}}}\n")
            run = peak_rss_mb([*ulvr, "run", "--dataset", str(manifest), "--data-root",
                               str(data), "--methods", "x265", "--rate-points", "qp51-d8",
                               "--metrics", "psnr,ms-ssim", "--out", str(tmp / f"r{n}"),
                               "--quiet", "--no-report"])
            os.unlink(data / "bbb_1920x1080_25.yuv")
            print(f"1080p x {n} frames: peak RSS compare {compare:.0f} MB, "
                  f"run (x265 + PSNR + MS-SSIM) {run:.0f} MB (goal < 1500 MB)")


if __name__ == "__main__":
    main()
