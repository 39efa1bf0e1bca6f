"""Train a small CompressAI image codec on the embedded dataset's training segments.

    ulvr train-codec --arch mbt2018-mean --quality 1 --lmbda 0.0002 --steps 2000 \
                     --out baselines/checkpoints/mbt2018-mean-local-q1.safetensors

Only the manifest's `train` segments are read (for the embedded clips: every frame after the
first 32, which form the held-out evaluation segment). Each step takes random crops (and random
horizontal flips) of random training frames and minimises CompressAI's rate-distortion loss,
lambda * 255^2 * MSE + bpp, with bpp from the model's likelihoods; a second optimiser fits the
entropy bottleneck's quantiles to its auxiliary loss. Everything is seeded. The learning rate
drops tenfold for the last fifth of the steps. `--init` starts from another checkpoint (e.g. a
lower-rate model fine-tuned from a higher-rate one).

The output is a safetensors state dict (after `update(force=True)`, so the entropy coder's
tables are inside) with the configuration in its metadata, and a JSON sidecar (same name,
.json) with the full configuration, the data used, timings and the loss on a fixed probe batch
of training crops before and after training.
"""

from __future__ import annotations

import argparse
import json
import math
import sys
import time
from dataclasses import asdict, dataclass, field
from pathlib import Path

import numpy as np

from benchmark.core.errors import UlvrError

# Default lambdas of the locally trained quality levels (ultra-low rates; CompressAI's
# published quality 1 uses 0.0018).
LOCAL_LAMBDAS = {1: 0.0002, 2: 0.0006, 3: 0.0018}
TRAINABLE = {"bmshj2018-factorized": 16, "bmshj2018-hyperprior": 64, "mbt2018-mean": 64,
             "mbt2018": 64, "cheng2020-anchor": 64, "cheng2020-attn": 64}


@dataclass
class TrainConfig:
    """Everything that defines a training run (stored beside the checkpoint)."""

    out: str
    arch: str = "mbt2018-mean"
    quality: int = 1
    lmbda: float | None = None
    steps: int = 2000
    channels: list[int] = field(default_factory=lambda: [64, 64])
    batch_size: int = 8
    crop: int = 128
    lr: float = 3e-4
    aux_lr: float = 1e-2
    clip_grad: float = 1.0
    seed: int = 0
    threads: int = 1
    device: str = "cpu"
    dataset: str = "embedded"
    max_frames: int | None = None      # per training segment (tests use a few)
    init: str | None = None
    probe_size: int = 8

    def resolved_lambda(self) -> float:
        if self.lmbda is not None:
            return float(self.lmbda)
        if self.quality not in LOCAL_LAMBDAS:
            raise UlvrError(f"no default lambda for quality {self.quality}: give --lmbda")
        return LOCAL_LAMBDAS[self.quality]


def load_training_frames(dataset: str, max_frames: int | None = None) -> tuple[list, list[dict]]:
    """RGB frames (uint8, one (n, H, W, 3) array per clip) of the dataset's training segments,
    and a description of each segment."""
    from benchmark.data.manifest import load_dataset

    data = load_dataset(dataset, segment="train", max_frames=max_frames)
    clips, described = [], []
    for seq in data.sequences:
        if seq.segment != "train":
            raise UlvrError(f"'{seq.name}' has no training segment")
        frames = np.concatenate([chunk.rgb() for chunk in seq.frames()])
        clips.append(frames)
        described.append({"sequence": seq.name, "segment": seq.segment, "start": seq.start,
                          "frames": int(len(frames)), "width": seq.width, "height": seq.height})
    return clips, described


def random_batch(clips: list, rng: np.random.Generator, size: int, crop: int) -> np.ndarray:
    """(size, 3, crop, crop) float32 in [0, 1]: random frames, crops and horizontal flips."""
    weights = np.array([len(c) for c in clips], dtype=float)
    out = np.empty((size, 3, crop, crop), dtype=np.float32)
    for i in range(size):
        clip = clips[rng.choice(len(clips), p=weights / weights.sum())]
        frame = clip[rng.integers(len(clip))]
        top = rng.integers(frame.shape[0] - crop + 1)
        left = rng.integers(frame.shape[1] - crop + 1)
        patch = frame[top:top + crop, left:left + crop]
        if rng.random() < 0.5:
            patch = patch[:, ::-1]
        out[i] = patch.transpose(2, 0, 1) / 255.0
    return out


def rd_loss(out: dict, x, lmbda: float) -> tuple:
    """CompressAI's rate-distortion loss: lambda * 255^2 * MSE + bpp; returns (loss, bpp, mse)."""
    import torch

    pixels = x.shape[0] * x.shape[2] * x.shape[3]
    bpp = sum(torch.log(lk).sum() for lk in out["likelihoods"].values()) / (-math.log(2) * pixels)
    mse = torch.nn.functional.mse_loss(out["x_hat"], x)
    return lmbda * 255 ** 2 * mse + bpp, bpp, mse


def build(cfg: TrainConfig):
    """A fresh model of cfg.arch with cfg.channels, or the weights of cfg.init."""
    from baselines.compressai_weights import architecture, load_checkpoint

    if cfg.arch not in TRAINABLE:
        raise UlvrError(f"train-codec trains image codecs: choose --arch from "
                        f"{', '.join(TRAINABLE)}")
    if cfg.init:
        return load_checkpoint(cfg.arch, cfg.init)
    cls = architecture(cfg.arch)
    return cls(*cfg.channels[:1]) if cfg.arch.startswith("cheng") else cls(*cfg.channels[:2])


def train(cfg: TrainConfig, progress: bool = True) -> dict:
    """Train, write the checkpoint and its JSON sidecar; returns the sidecar's content."""
    import torch
    from safetensors.torch import save_file
    from tqdm import tqdm

    from baselines.compressai_weights import compressai_module
    from benchmark.core.identity import sha256_file

    lmbda = cfg.resolved_lambda()
    stride = TRAINABLE.get(cfg.arch, 64)
    if cfg.crop % stride:
        raise UlvrError(f"--crop must be a multiple of {stride} for {cfg.arch}")
    out = Path(cfg.out)
    if out.suffix != ".safetensors":
        raise UlvrError(f"--out must name a .safetensors file, not '{out}'")
    torch.set_num_threads(cfg.threads)
    torch.manual_seed(cfg.seed)
    rng = np.random.default_rng(cfg.seed)
    started = time.time()
    clips, described = load_training_frames(cfg.dataset, cfg.max_frames)
    smallest = min(min(c.shape[1:3]) for c in clips)
    if cfg.crop > smallest:
        raise UlvrError(f"--crop {cfg.crop} is larger than the smallest training frame side "
                        f"({smallest})")
    model = build(cfg).to(cfg.device).train()
    aux_names = {n for n, _ in model.named_parameters() if n.endswith(".quantiles")}
    params = dict(model.named_parameters())
    net_opt = torch.optim.Adam([p for n, p in params.items() if n not in aux_names], lr=cfg.lr)
    aux_opt = torch.optim.Adam([p for n, p in params.items() if n in aux_names], lr=cfg.aux_lr)
    probe = torch.from_numpy(random_batch(clips, np.random.default_rng(cfg.seed + 1),
                                          cfg.probe_size, cfg.crop)).to(cfg.device)

    def probe_loss() -> dict:
        model.eval()
        with torch.no_grad():
            loss, bpp, mse = rd_loss(model(probe), probe, lmbda)
        model.train()
        return {"loss": float(loss), "bpp": float(bpp),
                "psnr": float(10 * torch.log10(1 / mse))}

    before = probe_loss()
    history = []
    bar = tqdm(range(cfg.steps), desc=f"train {cfg.arch} q{cfg.quality}", unit="step",
               disable=not progress, file=sys.stderr, dynamic_ncols=True)
    train_start = time.time()
    for step in bar:
        if step == int(cfg.steps * 0.8):
            for group in net_opt.param_groups:
                group["lr"] = cfg.lr * 0.1
        x = torch.from_numpy(random_batch(clips, rng, cfg.batch_size, cfg.crop)).to(cfg.device)
        loss, bpp, mse = rd_loss(model(x), x, lmbda)
        net_opt.zero_grad()
        loss.backward()
        if cfg.clip_grad > 0:
            torch.nn.utils.clip_grad_norm_(model.parameters(), cfg.clip_grad)
        net_opt.step()
        aux = model.aux_loss()
        aux_opt.zero_grad()
        aux.backward()
        aux_opt.step()
        if step % 10 == 0 or step == cfg.steps - 1:
            psnr = float(10 * torch.log10(1 / mse.detach()))
            history.append([step, round(loss.item(), 5), round(bpp.item(), 5), round(psnr, 3)])
            bar.set_postfix(loss=f"{loss.item():.4f}", bpp=f"{bpp.item():.4f}",
                            psnr=f"{psnr:.2f}", aux=f"{aux.item():.1f}")
    bar.close()
    train_s = time.time() - train_start
    after = probe_loss()

    model = model.cpu().eval()
    model.update(force=True)
    compressai = compressai_module()
    meta = {"format": "ulvr-compressai-v1", "arch": cfg.arch, "quality": str(cfg.quality),
            "lambda": repr(lmbda), "channels": ",".join(map(str, cfg.channels)),
            "steps": str(cfg.steps), "locally_trained": "true",
            "data": f"{cfg.dataset} train segments"}
    out.parent.mkdir(parents=True, exist_ok=True)
    tmp = out.with_suffix(".tmp")
    save_file({k: v.detach().contiguous() for k, v in model.state_dict().items()}, str(tmp),
              metadata=meta)
    tmp.replace(out)
    summary = {
        "config": {**asdict(cfg), "lmbda": lmbda},
        "locally_trained": True,
        "data": {"dataset": cfg.dataset, "segment": "train", "clips": described,
                 "note": "training segments only; the evaluation segments are held out"},
        "parameters": int(sum(p.numel() for p in model.parameters())),
        "probe_before": before, "probe_after": after,
        "final_train": dict(zip(("step", "loss", "bpp", "psnr"), history[-1], strict=True))
        if history else {},
        "history": history,
        "train_seconds": round(train_s, 1), "total_seconds": round(time.time() - started, 1),
        "finished": time.strftime("%Y-%m-%dT%H:%M:%S%z"),
        "versions": {"torch": torch.__version__, "compressai": compressai.__version__},
        "checkpoint": out.name, "sha256": sha256_file(out), "bytes": out.stat().st_size,
    }
    out.with_suffix(".json").write_text(json.dumps(summary, indent=1) + "\n")
    return summary


def cmd_train_codec(args: argparse.Namespace) -> int:
    """Train a small CompressAI codec on the training segments (safetensors + JSON sidecar)."""
    run_from_args(args)
    return 0


def add_commands(sub: argparse._SubParsersAction) -> None:
    """Add `ulvr train-codec` (declared under the `ulvr.commands` entry points)."""
    parser = sub.add_parser("train-codec", help=cmd_train_codec.__doc__)
    parser.set_defaults(func=cmd_train_codec)
    add_arguments(parser)


def add_arguments(parser: argparse.ArgumentParser) -> None:
    """The train-codec options (shared by `ulvr train-codec` and `python -m`)."""
    parser.add_argument("--arch", default="mbt2018-mean", choices=sorted(TRAINABLE))
    parser.add_argument("--quality", type=int, default=1,
                        help="quality label of the result (local-qN); picks a default lambda "
                        f"{LOCAL_LAMBDAS}")
    parser.add_argument("--lmbda", type=float, help="rate-distortion trade-off (overrides the "
                        "quality's default)")
    parser.add_argument("--steps", type=int, default=2000)
    parser.add_argument("--out", required=True, help="output .safetensors (a .json sidecar is "
                        "written beside it)")
    parser.add_argument("--channels", default="64,64", help="N,M channel counts (N for cheng)")
    parser.add_argument("--batch-size", type=int, default=8)
    parser.add_argument("--crop", type=int, default=128, help="square crop side (multiple of "
                        "64; 16 for the factorized model)")
    parser.add_argument("--lr", type=float, default=3e-4)
    parser.add_argument("--aux-lr", type=float, default=1e-2, help="learning rate of the entropy "
                        "bottleneck's quantiles (auxiliary loss)")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--threads", type=int, default=1, help="torch CPU threads")
    parser.add_argument("--device", default="cpu")
    parser.add_argument("--dataset", default="embedded")
    parser.add_argument("--max-frames", type=int, help="at most this many frames per training "
                        "segment")
    parser.add_argument("--init", help="start from this checkpoint (same architecture)")
    parser.add_argument("--quiet", action="store_true", help="no progress bar")


def run_from_args(args: argparse.Namespace) -> dict:
    """Train with parsed command-line options; prints a one-line summary."""
    cfg = TrainConfig(out=args.out, arch=args.arch, quality=args.quality, lmbda=args.lmbda,
                      steps=args.steps, channels=[int(c) for c in args.channels.split(",")],
                      batch_size=args.batch_size, crop=args.crop, lr=args.lr,
                      aux_lr=args.aux_lr, seed=args.seed,
                      threads=args.threads, device=args.device, dataset=args.dataset,
                      max_frames=args.max_frames, init=args.init)
    summary = train(cfg, progress=not args.quiet)
    before, after = summary["probe_before"], summary["probe_after"]
    print(f"{cfg.out}: {summary['bytes'] / 1e6:.1f} MB, {summary['train_seconds']:.0f} s; probe "
          f"loss {before['loss']:.4f} -> {after['loss']:.4f} (bpp {after['bpp']:.4f}, "
          f"PSNR {after['psnr']:.2f} dB on training crops)")
    return summary


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m baselines.train_codec",
                                     description=__doc__.splitlines()[0])
    add_arguments(parser)
    try:
        run_from_args(parser.parse_args(argv))
    except UlvrError as exc:
        print(f"train-codec: error: {exc}", file=sys.stderr)
        return 2
    return 0


if __name__ == "__main__":
    sys.exit(main())
