"""Acceptance figures of the proposed method (issues 6 and 7), each measured in one run.

    python -m benchmark.perf.cdm_acceptance semantic   # semantic stream bytes vs lzma
    python -m benchmark.perf.cdm_acceptance speed      # NFE and wall time/frame, student vs teacher
    python -m benchmark.perf.cdm_acceptance streaming  # time and cache memory/frame, 300 frames
    python -m benchmark.perf.cdm_acceptance quality --results DIR   # table from a results store

The quality table reads records written by `ulvr run` (e.g. `make demo`), so the numbers are the
harness's own; it prints causal-diffusion and cdm-teacher next to lowres-bicubic at equal bits.
"""

from __future__ import annotations

import argparse
import tempfile
import time
from pathlib import Path

import numpy as np

import benchmark.torch_setup  # noqa: F401


def cmd_semantic(args: argparse.Namespace) -> None:
    from benchmark.manifest import load_dataset
    from methods.causal_diffusion.adapter import DEFAULT_POINTS
    from methods.causal_diffusion.segment import KMeansSegmenter
    from methods.causal_diffusion.semantic_codec import encode_labels, lzma_size

    print("| sequence | rate point | label maps | ours (B) | xz (B) | raw LZMA2 (B) | ratio |")
    print("|---|---|---|---|---|---|---|")
    for seq in load_dataset("embedded").sequences:
        for p in DEFAULT_POINTS:
            seg, maps = KMeansSegmenter(p.classes), []
            size = p.label_size(seq.width, seq.height)
            index = 0
            for chunk in seq.frames():
                for frame in chunk.rgb():
                    labels = seg.label(frame, size)
                    if index % p.label_interval == 0:
                        maps.append(labels)
                    index += 1
            ours = len(encode_labels(maps, p.classes, seg.palette()))
            ref = lzma_size(maps, seg.palette())
            print(f"| {seq.name} | {p.label} | {len(maps)} x {size[0]}x{size[1]} | {ours} | "
                  f"{ref['xz']} | {ref['lzma2-raw']} | {ref['lzma2-raw'] / ours:.2f}x |")


def _transmission(point: int):
    from benchmark.manifest import load_dataset
    from methods.causal_diffusion.adapter import DEFAULT_POINTS
    from methods.causal_diffusion.sender import transmit

    seq = next(s for s in load_dataset("embedded").sequences if s.name == "bigbuckbunny")
    return seq, lambda: transmit(seq, DEFAULT_POINTS[point], Path(tempfile.mkdtemp()))


def cmd_speed(args: argparse.Namespace) -> None:
    import torch

    from benchmark.registry import create_method

    torch.set_num_threads(args.threads)
    seq, tx = _transmission(1)
    rows = []
    runs = [("causal-diffusion", {})] + [("cdm-teacher", {"steps": n}) for n in args.teacher_steps]
    for name, options in runs:
        method = create_method(name, **options)
        method.device = args.device
        name = f"{name} ({method.steps} steps)"
        timings: dict = {}
        start = time.perf_counter()
        frames = sum(chunk.n for chunk in method.receive(tx(), timings))
        rows.append((name, timings["network_evals_per_frame"],
                     timings["decode_s"] / frames, time.perf_counter() - start))
    print(f"bigbuckbunny {seq.width}x{seq.height}, {seq.num_frames} frames, device "
          f"{args.device}, {args.threads} threads")
    print("| decoder | network evals / frame | decode s / frame |")
    print("|---|---|---|")
    for name, nfe, per_frame, _ in rows:
        print(f"| {name} | {nfe:.2f} | {per_frame:.3f} |")
    for teacher in rows[1:]:
        print(f"student vs {teacher[0]}: {teacher[1] / rows[0][1]:.1f}x fewer evaluations, "
              f"{teacher[2] / rows[0][2]:.1f}x less time per frame")


def cmd_streaming(args: argparse.Namespace) -> None:
    import torch

    from methods.causal_diffusion.checkpoint import CHECKPOINT_DIR, load_checkpoint
    from methods.causal_diffusion.stream import StreamingDecoder, uncached_causal

    torch.set_num_threads(args.threads)
    model, _ = load_checkpoint(CHECKPOINT_DIR / "small-causal.safetensors")
    h, w, n = args.height, args.width, args.frames
    gen = torch.Generator().manual_seed(0)
    classes = model.config.semantic_classes
    sem = torch.randn(1, 1, classes + 3, h, w, generator=gen)
    res = torch.randn(1, 1, 4, h, w, generator=gen)
    decoder = StreamingDecoder(model, steps=2, block=1, window=args.window)
    times, cache_mb = [], []
    with torch.no_grad():
        for _ in range(n):
            noise = torch.randn(1, 1, 3, h, w, generator=gen)
            t0 = time.perf_counter()
            decoder.decode_block(noise, sem, res)
            times.append(time.perf_counter() - t0)
            cache_mb.append(sum(t.numel() * t.element_size() for entry in decoder.cache.values()
                                for t in entry[:2]) / 2**20)
    early, late = np.mean(times[30:60]), np.mean(times[-30:])
    print(f"KV-cache streaming, {w}x{h}, k=2, window {args.window}, {n} frames:")
    print(f"  mean s/frame frames 30-60: {early:.4f}; last 30: {late:.4f} "
          f"({100 * (late / early - 1):+.1f}%)")
    print(f"  cache MB at frame 30: {cache_mb[29]:.2f}; at frame {n}: {cache_mb[-1]:.2f}")
    print("Recomputing full causal attention over all past frames for each new frame:")
    with torch.no_grad():
        for count in args.recompute:
            x = torch.randn(1, count, 3, h, w, generator=gen)
            t = torch.zeros(1, count)
            t0 = time.perf_counter()
            uncached_causal(model, x, t, sem.expand(1, count, -1, -1, -1),
                            res.expand(1, count, -1, -1, -1))
            print(f"  frame {count}: {time.perf_counter() - t0:.3f} s for one evaluation")


def cmd_quality(args: argparse.Namespace) -> None:
    from benchmark.report import load_entries, rd_table
    from benchmark.store import ResultStore
    from benchmark.tables import to_markdown

    table = rd_table(load_entries(ResultStore(args.results))[0].frame)
    methods = ["lowres-bicubic", "frame-diffusion", "cdm-teacher", "causal-diffusion"]
    table = table[table["method"].isin(methods)]
    cols = [c for c in ["method", "rate_point", "bpp", "psnr-rgb", "lpips-alex", "dists", "tlp",
                        "tof", "fvd"] if c in table.columns]
    print(to_markdown(table[cols].sort_values(["rate_point", "method"])))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    sub = parser.add_subparsers(dest="what", required=True)
    sub.add_parser("semantic").set_defaults(func=cmd_semantic)
    speed = sub.add_parser("speed")
    speed.add_argument("--device", default="cpu")
    speed.add_argument("--threads", type=int, default=2)
    speed.add_argument("--teacher-steps", type=lambda v: [int(x) for x in v.split(",")],
                       default=[8, 32], help="teacher DDIM steps to time (default 8,32)")
    speed.set_defaults(func=cmd_speed)
    stream = sub.add_parser("streaming")
    stream.add_argument("--frames", type=int, default=300)
    stream.add_argument("--window", type=int, default=16)
    stream.add_argument("--width", type=int, default=176)
    stream.add_argument("--height", type=int, default=144)
    stream.add_argument("--threads", type=int, default=2)
    stream.add_argument("--recompute", type=lambda s: [int(v) for v in s.split(",")],
                        default=[16, 32, 64])
    stream.set_defaults(func=cmd_streaming)
    quality = sub.add_parser("quality")
    quality.add_argument("--results", default="results/embedded")
    quality.set_defaults(func=cmd_quality)
    args = parser.parse_args()
    args.func(args)


if __name__ == "__main__":
    main()
