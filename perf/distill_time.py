"""Training-time ratio of temporal-only against full-parameter distillation (issue 13).

The paper's claim (~2x less training time) compares the same distillation, same schedule and
same steps, training only the Temporal Adapter against training every parameter. This runs both
from one teacher, in one process, with the same seed, data and settings, and prints seconds per
step, the ratio, and the trainable-parameter counts.

    python -m perf.distill_time --steps 20 --threads 2
"""

from __future__ import annotations

import argparse
import tempfile
from pathlib import Path

import benchmark.core.torch_setup  # noqa: F401


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--teacher", default=None,
                        help="teacher checkpoint (default: the shipped teacher's)")
    parser.add_argument("--steps", type=int, default=20)
    parser.add_argument("--student-steps", type=int, default=1)
    parser.add_argument("--frames", type=int, default=8)
    parser.add_argument("--crop", type=int, default=128)
    parser.add_argument("--objective", default="self-forcing", choices=("self-forcing", "ode"))
    parser.add_argument("--threads", type=int, default=2)
    parser.add_argument("--device", default="cpu")
    args = parser.parse_args()

    import torch

    from methods.causal_diffusion.adapter import CdmTeacher
    from methods.causal_diffusion.checkpoint import CHECKPOINT_DIR
    from methods.causal_diffusion.distill import DistillSettings, distill

    torch.set_num_threads(args.threads)
    teacher = args.teacher or str(CHECKPOINT_DIR / CdmTeacher.default_checkpoint)
    rows = {}
    with tempfile.TemporaryDirectory(prefix="ulvr-distill-time-") as tmp:
        # a short run first, not counted: loading, first allocations and caches
        distill(DistillSettings(teacher=teacher, steps=2, student_steps=args.student_steps,
                                frames=args.frames, crop=args.crop, objective=args.objective),
                Path(tmp) / "warmup.safetensors", device=args.device, progress=False)
        for which in ("temporal", "all"):
            settings = DistillSettings(teacher=teacher, steps=args.steps,
                                       student_steps=args.student_steps, frames=args.frames,
                                       crop=args.crop, objective=args.objective,
                                       trainable=which)
            rows[which] = distill(settings, Path(tmp) / f"{which}.safetensors",
                                  device=args.device, progress=False)
    print(f"distillation, {args.objective}, k={args.student_steps}, {args.frames} frames of "
          f"{args.crop}x{args.crop}, {args.steps} steps, {args.threads} threads, {args.device}")
    print("| trainable | parameters | s / step |")
    print("|---|---|---|")
    for which, fig in rows.items():
        print(f"| {which} | {fig['trainable']:,} of {fig['total']:,} | "
              f"{fig['distill_seconds'] / fig['steps']:.3f} |")
    full, temporal = rows["all"], rows["temporal"]
    print(f"trainable-parameter ratio: {full['trainable'] / temporal['trainable']:.1f}x; "
          f"training-time ratio (full / temporal-only): "
          f"{full['distill_seconds'] / temporal['distill_seconds']:.2f}x")


if __name__ == "__main__":
    main()
