"""Encode and decode frames per second of the neural codecs on CPU, through the adapter.

Each published architecture runs with RANDOMLY INITIALISED weights at the channel counts of
its published quality-1 model (written under the expected file name into a temporary torch hub
cache): speed does not depend on the weights' values, and the published files cannot be
downloaded here. The locally trained method runs with its shipped checkpoints. Times are the
adapter's own (`encode_s`, `decode_s`): source reading, colour conversion and resampling,
padding, network and entropy coding, container I/O (model loading excluded), on the first
frames of an embedded evaluation sequence.

    python -m perf.neural_speed [--frames 8] [--threads 1] [--methods a,b]
"""

from __future__ import annotations

import argparse
import os
import tempfile
import time
from pathlib import Path


def _fake_published(method, quality: int) -> None:
    """Random weights of the published quality's size under the published file name."""
    import torch
    from compressai.zoo import image

    from baselines.compressai_weights import architecture, published_weights

    _, path = published_weights(method.zoo_name, "mse", quality)
    if path.is_file():
        return
    path.parent.mkdir(parents=True, exist_ok=True)
    cls = architecture(method.zoo_name)
    sizes = image.cfgs.get(method.zoo_name, {}).get(quality, ())
    torch.manual_seed(0)
    model = cls(*sizes)
    model.update(force=True)
    torch.save(model.state_dict(), path)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--frames", type=int, default=8)
    parser.add_argument("--threads", type=int, default=1)
    parser.add_argument("--sequence", default="bigbuckbunny")
    parser.add_argument("--methods", default="bmshj2018-factorized,bmshj2018-hyperprior,"
                        "mbt2018-mean,mbt2018,cheng2020-anchor,cheng2020-attn,ssf2020,"
                        "mbt2018-mean-local")
    args = parser.parse_args()
    os.environ["TORCH_HOME"] = tempfile.mkdtemp(prefix="ulvr-speed-")

    import torch

    import benchmark.core.torch_setup  # noqa: F401  (before anything imports torchvision)
    from benchmark.data.manifest import load_dataset
    from benchmark.protocol import create_method

    torch.set_num_threads(args.threads)
    seq = load_dataset("embedded", max_frames=args.frames,
                       sequences=[args.sequence]).sequences[0]
    print(f"{args.sequence} {seq.width}x{seq.height}, {args.frames} frames, "
          f"{args.threads} CPU thread(s), torch {torch.__version__}")
    print(f"{'method':22s} {'weights':28s} {'params':>7s} {'enc fps':>8s} {'dec fps':>8s}")
    for name in args.methods.split(","):
        local = name.endswith("-local")
        method = create_method(name, rate_points=[[1, 1]])
        if not local:
            _fake_published(method, 1)
        rp = method.rate_points()[0]
        model, weights = method.model(rp.params.get("quality"))
        params = sum(p.numel() for p in model.parameters()) / 1e6
        with tempfile.TemporaryDirectory() as tmp:
            start = time.perf_counter()
            recon = method.run(seq, rp, Path(tmp))
            frames = sum(c.n for c in recon.frames)
            total = time.perf_counter() - start
        enc = recon.timings["encode_s"]
        dec = recon.timings["decode_s"]
        label = "shipped " + weights["file"].split("-local-")[1].split(".")[0] if local \
            else "random init (q1 size)"
        print(f"{name:22s} {label:28s} {params:6.2f}M {frames / enc:8.2f} {frames / dec:8.2f}"
              f"   ({total:.1f} s)")


if __name__ == "__main__":
    main()
