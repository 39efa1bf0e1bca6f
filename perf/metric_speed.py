"""Frames per second and peak memory of each available metric on CPU, at 256x256 and 1080p.

Each metric runs in its own process (so peak RSS is its own) on frames of the bigbuckbunny clip
scaled to the size, with a lightly distorted copy as the reconstruction. Set metrics (FVD) get
16 frames, the others 8 at 256x256 and 4 at 1080p; the first chunk warms up (weights load).

    python -m perf.metric_speed [--metrics psnr,lpips-alex] [--sizes 256x256,1920x1080]
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys

WORKER = r"""
import json, resource, sys, time
import numpy as np
import benchmark.core.torch_setup  # noqa
import torch
from benchmark.core.ffmpeg import ffmpeg_exe
from benchmark.data.manifest import load_dataset
from benchmark.metrics.base import create_metric, metric_class
from benchmark.data.video_io import FrameChunk
import subprocess
torch.set_num_threads(2)
name, w, h = sys.argv[1], int(sys.argv[2]), int(sys.argv[3])
n = 16 if getattr(metric_class(name), "is_set_metric", False) else (8 if w * h < 1e6 else 4)
src = load_dataset("embedded").sequences[2].path
raw = subprocess.run([ffmpeg_exe(), "-v", "error", "-i", src, "-vf", f"scale={w}:{h}",
                      "-frames:v", str(n + 2), "-f", "rawvideo", "-pix_fmt", "rgb24", "-"],
                     capture_output=True, check=True).stdout
frames = np.frombuffer(raw, np.uint8).reshape(-1, h, w, 3)
rng = np.random.default_rng(0)
dist = np.clip(frames.astype(np.int16) + rng.integers(-8, 9, frames.shape), 0, 255).astype(np.uint8)
metric = create_metric(name)
metric.update(FrameChunk(rgb_frames=frames[:2]), FrameChunk(rgb_frames=dist[:2]))  # warm-up
metric.reset()
t = time.perf_counter()
metric.update(FrameChunk(rgb_frames=frames[2:]), FrameChunk(rgb_frames=dist[2:]))
metric.compute()
dt = time.perf_counter() - t
print(json.dumps({"fps": n / dt, "frames": n,
                  "peak_mb": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024}))
"""


def main() -> None:
    from benchmark.metrics.base import metric_classes

    parser = argparse.ArgumentParser()
    parser.add_argument("--metrics", help="comma-separated (default: all available)")
    parser.add_argument("--sizes", default="256x256,1920x1080")
    args = parser.parse_args()
    names = args.metrics.split(",") if args.metrics else [
        n for n, c in metric_classes().items() if c.availability().ok]
    print(f"{'metric':12s} {'size':10s} {'frames/s':>9s} {'peak MB':>8s}")
    for size in args.sizes.split(","):
        w, h = size.split("x")
        for name in names:
            out = subprocess.run([sys.executable, "-c", WORKER, name, w, h], capture_output=True,
                                 text=True)
            if out.returncode:
                print(f"{name:12s} {size:10s} failed: {out.stderr.strip().splitlines()[-1]}")
                continue
            r = json.loads(out.stdout.strip().splitlines()[-1])
            print(f"{name:12s} {size:10s} {r['fps']:9.2f} {r['peak_mb']:8.0f}")


if __name__ == "__main__":
    main()
