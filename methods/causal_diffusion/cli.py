"""`ulvr cdm ...`: parameter counts, training and distillation of the proposed method."""

from __future__ import annotations

import argparse
import json

# train.TRAINABLE_SETS; written out here because this module is imported by every `ulvr` command
# and must not import torch
TRAINABLE_SETS = ("all", "temporal")
MIX_NAMES = ("embedded", "native")    # mixes.MIXES, for the same reason


def add_commands(sub: argparse._SubParsersAction) -> None:
    """Add the `cdm` command group to the ulvr parser."""
    cdm = sub.add_parser("cdm", help="the proposed conditional video diffusion decoder")
    inner = cdm.add_subparsers(dest="cdm_command", required=True)

    params = inner.add_parser("params", help="parameter counts per component")
    params.add_argument("--config", default="small", help="tiny, small or paper")
    params.add_argument("--checkpoint", help="count a checkpoint's model instead")
    params.set_defaults(func=cmd_params)

    train = inner.add_parser("train", help="stage 1 (spatial) or stage 2 (teacher) training")
    train.add_argument("--stage", choices=("spatial", "teacher"), required=True)
    train.add_argument("--config", default="small")
    train.add_argument("--init", help="checkpoint to start from (teacher: the spatial model)")
    train.add_argument("--out", required=True, help="checkpoint path (.safetensors)")
    train.add_argument("--steps", type=int, default=1000)
    train.add_argument("--batch", type=int, default=8)
    train.add_argument("--frames", type=int, default=1, help="frames per clip (teacher: 8)")
    train.add_argument("--crop", type=int, default=64)
    train.add_argument("--lr", type=float, default=2e-4)
    train.add_argument("--seed", type=int, default=0)
    train.add_argument("--sequences", help="comma-separated training sequences (default all)")
    train.add_argument("--max-frames", type=int, help="use at most this many training frames")
    train.add_argument("--points", default="default", choices=("default", "semantic"),
                       help="train on the proposed method's rate points or the semantic-only "
                       "baseline's")
    train.add_argument("--pseudo-videos", type=int, default=0, metavar="N",
                       help="add N pseudo-videos (package stills filmed by a moving camera)")
    train.add_argument("--rate-points", metavar="LABEL,...",
                       help="train on these points instead of a --points set")
    train.add_argument("--trainable", choices=TRAINABLE_SETS,
                       help="parameters to train (default: spatial all, teacher temporal)")
    train.add_argument("--mix", default="embedded", choices=MIX_NAMES,
                       help="training data: the embedded clips, or those and the native clips "
                       "(methods/causal_diffusion/mixes.py)")
    train.add_argument("--device", default="cpu")
    train.add_argument("--threads", type=int, help="CPU threads for torch")
    train.add_argument("--resume", action="store_true", help="continue from OUT.state.pt")
    train.set_defaults(func=cmd_train)

    dist = inner.add_parser("distill", help="temporal-only distillation into the causal student")
    dist.add_argument("--teacher", required=True, help="the bidirectional teacher checkpoint")
    dist.add_argument("--out", required=True, help="student checkpoint path (.safetensors)")
    dist.add_argument("--init", default="",
                      help="continue from this student checkpoint (default: a teacher copy)")
    dist.add_argument("--steps", type=int, default=300, help="optimisation steps")
    dist.add_argument("--student-steps", type=int, default=2, help="k denoising steps (1..4)")
    dist.add_argument("--teacher-steps", type=int, default=16)
    dist.add_argument("--block", type=int, default=1)
    dist.add_argument("--cache-from", default="clean", choices=("clean", "last-step"),
                      help="the KV cache from a clean pass (k+1 network evaluations per frame) "
                      "or from the last denoising step (k)")
    dist.add_argument("--window", type=int, default=16)
    dist.add_argument("--frames", type=int, default=8)
    dist.add_argument("--crop", type=int, default=64)
    dist.add_argument("--batch", type=int, default=1)
    dist.add_argument("--lr", type=float, default=5e-4)
    dist.add_argument("--seed", type=int, default=0)
    dist.add_argument("--sequences")
    dist.add_argument("--max-frames", type=int)
    dist.add_argument("--objective", default="self-forcing", choices=("self-forcing", "ode"),
                      help="Self-Forcing rollouts with GT, perceptual (LPIPS-vgg), temporal and "
                      "DMD terms; or CausVid's ODE regression onto the teacher")
    for term, default in (("l1", 1.0), ("perceptual", 0.5), ("temporal", 0.5), ("ode", 0.0),
                          ("dmd", 0.25)):
        dist.add_argument(f"--w-{term}", type=float, default=default,
                          help=f"self-forcing weight of the {term} term")
    dist.add_argument("--perceptual", default="lpips-vgg",
                      help="network of the perceptual term: lpips-vgg or dists (never "
                      "LPIPS-alex, an evaluation metric)")
    dist.add_argument("--trainable", default="temporal", choices=TRAINABLE_SETS,
                      help="temporal: the paper's temporal-only distillation; all: the "
                           "full-parameter baseline it is compared with")
    dist.add_argument("--pseudo-videos", type=int, default=0, metavar="N",
                      help="add N pseudo-videos from package stills to the training clips")
    dist.add_argument("--noise", default="frame", choices=("frame", "sequence"),
                      help="the rollouts' noise: a field per frame, or one per clip (as "
                      "causal-diffusion decodes)")
    dist.add_argument("--recurrent", action="store_true",
                      help="held-texture blocks start from the last new-texture block's output "
                      "(causal-diffusion's recurrent=on)")
    dist.add_argument("--mix", choices=MIX_NAMES,
                      help="training data: the embedded clips, or those and the native clips "
                      "(methods/causal_diffusion/mixes.py); default: the teacher's")
    dist.add_argument("--device", default="cpu")
    dist.add_argument("--threads", type=int)
    dist.add_argument("--resume", action="store_true", help="continue from OUT.state.pt")
    dist.set_defaults(func=cmd_distill)

    recipe = inner.add_parser("recipe", help="run a training recipe's commands in order: "
                              "finished stages skipped, stopped ones resumed")
    recipe.add_argument("name", help="the recipe (methods/causal_diffusion/recipes.py): native")
    recipe.add_argument("--dir", help="where its checkpoints go (default results/training/NAME)")
    recipe.add_argument("--steps", type=int, help="steps per stage (default: the recipe's)")
    recipe.add_argument("--threads", type=int)
    recipe.add_argument("--dry-run", action="store_true", help="print the commands only")
    recipe.set_defaults(func=cmd_recipe)

    prep = inner.add_parser("prepare", help="build the training inputs (sender caches) here, to "
                                            "carry them to a GPU machine")
    prep.add_argument("--points", default="default", choices=("default", "semantic"))
    prep.add_argument("--pseudo-videos", type=int, default=0, metavar="N")
    prep.add_argument("--mix", default="embedded", choices=MIX_NAMES,
                      help="training data: the embedded clips, or those and the native clips "
                      "(methods/causal_diffusion/mixes.py)")
    prep.set_defaults(func=cmd_prepare)


def _threads(args: argparse.Namespace) -> None:
    if getattr(args, "threads", None):
        import torch

        torch.set_num_threads(args.threads)


def cmd_params(args: argparse.Namespace) -> int:
    from methods.causal_diffusion.checkpoint import load_checkpoint
    from methods.causal_diffusion.model import CONFIGS, VideoDenoiser, component_parameters

    if args.checkpoint:
        model, _ = load_checkpoint(args.checkpoint)
    else:
        if args.config not in CONFIGS:
            from benchmark.core.errors import UlvrError

            raise UlvrError(f"unknown model config '{args.config}': choose from "
                            f"{', '.join(CONFIGS)}")
        model = VideoDenoiser(CONFIGS[args.config])
    counts = component_parameters(model)
    for name, value in counts.items():
        print(f"{name:22s} {value:>12,d}  {100 * value / counts['total']:5.1f}%")
    return 0


def cmd_train(args: argparse.Namespace) -> int:
    from dataclasses import asdict

    from methods.causal_diffusion.sender import SenderParams
    from methods.causal_diffusion.train import TrainSettings, train

    _threads(args)
    settings = TrainSettings(
        stage=args.stage, config=args.config, steps=args.steps, batch=args.batch,
        frames=args.frames, crop=args.crop, lr=args.lr, seed=args.seed, init=args.init,
        sequences=args.sequences.split(",") if args.sequences else None,
        max_frames=args.max_frames, points=args.points, pseudo_videos=args.pseudo_videos,
        trainable=args.trainable or "", mix=args.mix,
        rate_points=[asdict(SenderParams.from_label(v)) for v in args.rate_points.split(",")]
        if args.rate_points else [])
    figures = train(settings, args.out, device=args.device, resume=args.resume)
    print(json.dumps(figures, indent=1))
    return 0


def cmd_distill(args: argparse.Namespace) -> int:
    from benchmark.core.errors import UlvrError
    from methods.causal_diffusion.distill import DistillSettings, check_perceptual, distill

    if not 1 <= args.student_steps <= 4:
        raise UlvrError("--student-steps must be between 1 and 4 (a few-step student)")
    check_perceptual(args.perceptual)
    _threads(args)
    settings = DistillSettings(
        teacher=args.teacher, steps=args.steps, student_steps=args.student_steps,
        teacher_steps=args.teacher_steps, block=args.block, window=args.window,
        cache_from=args.cache_from, init=args.init,
        frames=args.frames, crop=args.crop, batch=args.batch, lr=args.lr, seed=args.seed,
        sequences=args.sequences.split(",") if args.sequences else None,
        max_frames=args.max_frames, objective=args.objective, w_l1=args.w_l1,
        w_perceptual=args.w_perceptual, perceptual=args.perceptual,
        w_temporal=args.w_temporal, w_ode=args.w_ode,
        w_dmd=args.w_dmd, trainable=args.trainable, pseudo_videos=args.pseudo_videos,
        noise=args.noise, recurrent=args.recurrent, mix=args.mix or "")
    figures = distill(settings, args.out, device=args.device, resume=args.resume)
    print(json.dumps(figures, indent=1))
    return 0


def cmd_recipe(args: argparse.Namespace) -> int:
    from pathlib import Path

    from methods.causal_diffusion.recipes import run_recipe

    folder = Path(args.dir or f"results/training/{args.name}")
    return run_recipe(args.name, folder, run_cdm, args.steps, args.threads, args.dry_run)


def cdm_parser() -> argparse.ArgumentParser:
    """A parser of the `cdm` command group alone: how a recipe's stage becomes the same call
    that `ulvr cdm ...` makes."""
    parser = argparse.ArgumentParser(prog="ulvr")
    add_commands(parser.add_subparsers(dest="command", required=True))
    return parser


def run_cdm(argv: list[str]) -> int:
    """Run `ulvr cdm ARGV` in this process."""
    args = cdm_parser().parse_args(["cdm", *argv])
    return args.func(args)


def cmd_prepare(args: argparse.Namespace) -> int:
    """Run every training clip through the sender once (what `train` and `distill` read from
    $ULVR_CACHE/sender), so a GPU machine given that folder never runs a codec."""
    from methods.causal_diffusion.data import build_bank
    from methods.causal_diffusion.model import CONFIGS
    from methods.causal_diffusion.pseudo import pseudo_sequences
    from methods.causal_diffusion.sender import sender_cache_dir

    bank = build_bank(args.mix, args.points, CONFIGS["small"].semantic_classes, crop=8,
                      extra=pseudo_sequences(args.pseudo_videos))
    folder = sender_cache_dir()
    size = sum(f.stat().st_size for f in folder.glob("*.npz"))
    for b in bank.banks():
        print(f"{b.description['dataset']}: {len(b.clips)} clips "
              f"({', '.join(b.description['rate_points'])})")
    print(f"cached in {folder} ({size / 2**20:.1f} MiB): carry it with ULVR_CACHE set to its "
          "parent")
    return 0
