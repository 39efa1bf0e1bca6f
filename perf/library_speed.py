"""Our metrics against the libraries people would use instead, side by side in one run: the same
frames, device and threads, each pair in its own process, values compared.

    python -m perf.library_speed [--cases lpips-alex,dists] [--sizes 256x256,1920x1080]
    python -m perf.library_speed --cases dists,dists-pyiqa,dists-piq,dists-floor \
        --sizes 1280x720,1920x1080

| ours (streaming, `create_metric`)  | theirs                                               |
|------------------------------------|------------------------------------------------------|
| lpips-alex                         | the `lpips` package's LPIPS forward, batched         |
| dists                              | `DISTS_pytorch`'s DISTS forward, batched             |
| dists (case dists-pyiqa)           | pyiqa's DISTS arch (random weights: speed only)      |
| dists (case dists-piq)             | piq's DISTS (random weights; resizes above 256 px)   |
| dists (case dists-floor)           | VGG16 `forward_once` of both frames alone: the floor |
| ms-ssim                            | `piq.multi_scale_ssim`                               |
| psnr (RGB, Y, U, V, YUV)           | `piq.psnr` (RGB only)                                |
| vmaf                               | one ffmpeg libvmaf call on Y4M files already written |
| fvd (I3D logits of both clips)     | a plain batched forward of the same I3D              |

Both sides get the same networks with the same weights (the harness's loaders), so values must be
equal, except where a library cannot load weights offline (pyiqa's and piq's DISTS download
theirs): those run with random weights, for speed only, and their value column says so. The
reference-side feature cache is off (`ULVR_FEATURE_CACHE_GB=0`), so both do the same work. Each
side runs twice after a warm-up, alternating, and the faster run counts. Prints frames per
second and seconds per frame of each, and the ratio ours / theirs (>= 1.0: ours is no slower),
on the CPU it names.
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys

from benchmark.core.machine import cpu_line

WORKER = r"""
import json, sys, tempfile, time
from pathlib import Path
import numpy as np
import benchmark.core.torch_setup  # noqa
import torch
from benchmark.core.ffmpeg import ffmpeg_exe
from benchmark.data.manifest import load_dataset
from benchmark.metrics.base import create_metric, evaluate
from benchmark.core.colour import rgb_to_yuv420
from benchmark.data.video_io import FrameChunk
import subprocess

torch.set_num_threads(int(sys.argv[5]))
case, w, h, n = sys.argv[1], int(sys.argv[2]), int(sys.argv[3]), int(sys.argv[4])
src = load_dataset("embedded").sequences[2].path
raw = subprocess.run([ffmpeg_exe(), "-v", "error", "-i", src, "-vf", f"scale={w}:{h}",
                      "-frames:v", str(n), "-f", "rawvideo", "-pix_fmt", "rgb24", "-"],
                     capture_output=True, check=True).stdout
ref = np.frombuffer(raw, np.uint8).reshape(-1, h, w, 3)
ref = np.concatenate([ref] * -(-n // len(ref)))[:n]
rng = np.random.default_rng(0)
rec = np.clip(ref.astype(np.int16) + rng.integers(-8, 9, ref.shape), 0, 255).astype(np.uint8)

def unit(x): return torch.from_numpy(x).permute(0, 3, 1, 2).float() / 255.0

def ours(name, output, chunks):
    metric = create_metric(name)
    def run():
        result = evaluate(iter(chunks[0]), iter(chunks[1]), [metric])[name]
        return np.asarray(result.per_frame[output]) if output else \
            np.asarray(result.features["reconstruction"])
    return run

rgb_chunks = ([FrameChunk(rgb_frames=ref)], [FrameChunk(rgb_frames=rec)])
if case in ("dists-pyiqa", "dists-piq", "dists-floor"):
    import torchvision
    if case == "dists-pyiqa":
        from pyiqa.archs import dists_arch
        untrained = torchvision.models.vgg16   # dists_arch.models is torchvision.models
        dists_arch.models.vgg16 = lambda *a, **k: untrained(weights=None)
        net = dists_arch.DISTS(pretrained=False).eval()
        theirs_fn = lambda: net(unit(rec), unit(ref)).reshape(-1)
    elif case == "dists-piq":
        import piq.perceptual
        piq.perceptual.vgg16 = lambda *a, **k: torchvision.models.vgg16(weights=None)
        torch.hub.load_state_dict_from_url = lambda *a, **k: {
            "alpha": torch.rand(1, 1475, 1, 1), "beta": torch.rand(1, 1475, 1, 1)}
        net = piq.DISTS(reduction="none").eval()
        theirs_fn = lambda: net(unit(rec), unit(ref)).reshape(-1)
    else:
        from benchmark.metrics.dists import load_dists
        net = load_dists()
        def theirs_fn():   # VGG16 of every frame of both videos, one frame a batch, no head
            for frames in (ref, rec):
                for i in range(len(frames)):
                    net.forward_once(unit(frames[i:i + 1]))
            return torch.full((len(ref),), float("nan"))
    def theirs():
        with torch.no_grad():
            return theirs_fn().numpy()
    mine = ours("dists", "dists", rgb_chunks)
elif case in ("lpips-alex", "dists"):
    if case == "lpips-alex":
        from benchmark.metrics.lpips import load_lpips
        net = load_lpips("alex")
        theirs_fn = lambda: net(unit(ref) * 2 - 1, unit(rec) * 2 - 1).reshape(-1)
    else:
        from benchmark.metrics.dists import load_dists
        net = load_dists()
        theirs_fn = lambda: net(unit(ref), unit(rec)).reshape(-1)
    def theirs():
        with torch.no_grad():
            return theirs_fn().numpy()
    mine = ours(case, case, rgb_chunks)
elif case == "ms-ssim":
    import piq
    theirs = lambda: piq.multi_scale_ssim(unit(ref) * 255, unit(rec) * 255, data_range=255.0,
                                          reduction="none").numpy()
    mine = ours("ms-ssim", "ms-ssim", rgb_chunks)
elif case == "psnr":
    import piq
    theirs = lambda: piq.psnr(unit(ref) * 255, unit(rec) * 255, data_range=255.0,
                              reduction="none").numpy()
    mine = ours("psnr", "psnr-rgb", rgb_chunks)
elif case == "vmaf":
    from benchmark.metrics.vmaf import vmaf_log
    from benchmark.data.video_write import Y4MWriter
    planes = [FrameChunk(planes=rgb_to_yuv420(x), bit_depth=8) for x in (ref, rec)]
    tmp = Path(tempfile.mkdtemp())
    for name, chunk in zip(("ref", "rec"), planes):
        with Y4MWriter(tmp / f"{name}.y4m", w, h, 25) as out:
            out.write(chunk)
    theirs = lambda: np.array([f["metrics"]["vmaf"] for f in vmaf_log(
        tmp / "rec.y4m", tmp / "ref.y4m", tmp / "log.json")["frames"]])
    mine = ours("vmaf", "vmaf", ([planes[0]], [planes[1]]))
elif case == "fvd":
    from benchmark.metrics.fvd import _network
    from benchmark.metrics.i3d import preprocess_clip
    net = _network("cpu")
    def theirs():
        batch = torch.stack([preprocess_clip(ref), preprocess_clip(rec)])
        with torch.inference_mode():
            return net(batch).float().numpy()[1:]
    mine = ours("fvd", None, rgb_chunks)
else:
    raise SystemExit(f"unknown case {case}")

mine(); theirs()                                   # warm-up: weights, allocator, threads
times = {"ours": [], "theirs": []}
values = {}
for _ in range(2):
    for side, fn in (("ours", mine), ("theirs", theirs)):
        t = time.perf_counter()
        values[side] = np.asarray(fn(), dtype=np.float64).reshape(-1)
        times[side].append(time.perf_counter() - t)
diff = float(np.max(np.abs(values["ours"] - values["theirs"])))   # nan: not comparable
print(json.dumps({"ours_fps": n / min(times["ours"]), "theirs_fps": n / min(times["theirs"]),
                  "max_abs_diff": diff, "frames": n}))
"""

# case -> frames at (below 720p, 720p and up); FVD needs one 16-frame clip
FRAMES = {"lpips-alex": (8, 2), "dists": (8, 2), "dists-pyiqa": (8, 2), "dists-piq": (8, 2),
          "dists-floor": (8, 2), "ms-ssim": (8, 4), "psnr": (8, 4), "vmaf": (8, 4),
          "fvd": (16, 16)}
THEIRS = {"lpips-alex": "lpips package", "dists": "DISTS_pytorch",
          "dists-pyiqa": "pyiqa DISTS (random weights)",
          "dists-piq": "piq DISTS (random weights, resizes to 256)",
          "dists-floor": "VGG16 forward_once alone", "ms-ssim": "piq", "psnr": "piq (RGB)",
          "vmaf": "ffmpeg libvmaf", "fvd": "batched I3D"}
COMPARABLE = {"dists-pyiqa": False, "dists-piq": False, "dists-floor": False}


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--cases", default=",".join(FRAMES))
    parser.add_argument("--sizes", default="256x256,1920x1080")
    parser.add_argument("--threads", type=int, default=2)
    args = parser.parse_args()
    env = {**os.environ, "ULVR_FEATURE_CACHE_GB": "0"}
    print(f"CPU: {cpu_line()}, {args.threads} threads")
    print("| metric | theirs | size | frames | ours fps | theirs fps | ours/theirs "
          "| ours s/frame | theirs s/frame | max abs diff |")
    print("|---|---|---|---|---|---|---|---|---|---|")
    for size in args.sizes.split(","):
        w, h = (int(v) for v in size.split("x"))
        for case in args.cases.split(","):
            n = FRAMES[case][0 if w * h < 9e5 else 1]   # 720p and up: the HD count
            out = subprocess.run([sys.executable, "-c", WORKER, case, str(w), str(h), str(n),
                                  str(args.threads)], capture_output=True, text=True, env=env)
            if out.returncode:
                print(f"| {case} | {THEIRS[case]} | {size} | {n} | failed: "
                      f"{out.stderr.strip().splitlines()[-1]} |||||")
                continue
            r = json.loads(out.stdout.strip().splitlines()[-1])
            diff = f"{r['max_abs_diff']:.2e}" if COMPARABLE.get(case, True) else "n/a"
            print(f"| {case} | {THEIRS[case]} | {size} | {n} | {r['ours_fps']:.2f} | "
                  f"{r['theirs_fps']:.2f} | {r['ours_fps'] / r['theirs_fps']:.2f} | "
                  f"{1 / r['ours_fps']:.2f} | {1 / r['theirs_fps']:.2f} | {diff} |", flush=True)


if __name__ == "__main__":
    main()
