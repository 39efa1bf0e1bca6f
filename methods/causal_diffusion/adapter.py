"""Harness adapters of the proposed system: `lowres-bicubic` (the trivial receiver) and
`cdm-teacher` (the bidirectional conditional video diffusion decoder). Both decode the same two
streams the sender writes, so they sit at exactly the same bits."""

from __future__ import annotations

import functools
import time
from collections.abc import Iterator
from pathlib import Path

import numpy as np
import torch
import torch.nn.functional as F

from benchmark.core.errors import UlvrError
from benchmark.core.ffmpeg import ffmpeg_version
from benchmark.core.identity import file_identity
from benchmark.data.manifest import Sequence
from benchmark.data.video_io import FrameChunk
from benchmark.protocol import (
    Availability,
    Decoded,
    Encoded,
    Method,
    MethodKind,
    RatePoint,
    register,
)
from methods.causal_diffusion.checkpoint import CHECKPOINT_DIR, load_checkpoint, read_metadata
from methods.causal_diffusion.consistency import MODES as CONSISTENCY_MODES
from methods.causal_diffusion.consistency import keep_low_frequencies
from methods.causal_diffusion.diffusion import (
    condition_tensors,
    ddim_sample,
    full_context,
    to_uint8,
)
from methods.causal_diffusion.sender import SenderParams, Transmission, open_transmission, send
from methods.causal_diffusion.stream import CACHE_SOURCES

NOISE_MODES = ("frame", "sequence")   # a noise field per frame, or one per sequence

# Chosen from the measured texture sweep (python -m perf.texture_sweep, training
# segments): each point's thumbnail is on the sweep's Pareto front of PSNR against bytes.
DEFAULT_POINTS = (
    SenderParams(downscale=16, qp=51, key=32, label_scale=32, classes=4, label_interval=8),
    SenderParams(downscale=8, qp=45, key=32, label_scale=16, classes=4, label_interval=8),
    SenderParams(downscale=4, qp=45, key=8, label_scale=16, classes=4, label_interval=8),
)

SEMANTIC_POINTS = (
    SenderParams(label_scale=16, classes=4, label_interval=1, texture=False),
    SenderParams(label_scale=8, classes=4, label_interval=1, texture=False),
    SenderParams(label_scale=8, classes=8, label_interval=1, texture=False),
)


def _blocks(items: Iterator, size: int) -> Iterator[list]:
    """Consecutive lists of `size` items (the last may be shorter), read lazily."""
    block = []
    for item in items:
        block.append(item)
        if len(block) == size:
            yield block
            block = []
    if block:
        yield block


class SenderMethod(Method):
    """A receiver of the proposed sender's two streams; subclasses turn them into frames."""

    kind = MethodKind.PROPOSED
    points = DEFAULT_POINTS
    # the texture (and its codec's parameter sets, out of band) and the label maps (and their
    # header: the coder's fixed configuration, out of band)
    stream_names = ("texture", "texture_parameter_sets", "semantic", "semantic_parameter_sets")
    parameter_set_streams = ("texture_parameter_sets", "semantic_parameter_sets")

    def rate_points(self) -> list[RatePoint]:
        return [p.rate_point() for p in self.points]

    def parse_rate_point(self, label: str) -> RatePoint | None:
        """Any sender point by its label, of the same kind (texture or not) as the defaults."""
        try:
            params = SenderParams.from_label(label)
        except UlvrError:
            return None
        return params.rate_point() if params.texture == self.points[0].texture else None

    def encode(self, sequence: Sequence, rate_point: RatePoint, workdir: Path) -> Encoded:
        """The sender: both streams, written under workdir."""
        start = time.perf_counter()
        encoded = send(sequence, SenderParams.from_rate_point(rate_point), workdir)
        encoded.timings["encode_s"] = time.perf_counter() - start
        return encoded

    def decode(self, streams: dict[str, Path], session: dict, workdir: Path) -> Decoded:
        """This receiver, from the stream files and the session alone."""
        tx = open_transmission(streams, session, workdir)
        timings = dict(tx.timings)
        return Decoded(frames=self.receive(tx, timings), timings=timings,
                       commands=tx.commands, info=self.info())

    def receive(self, tx: Transmission, timings: dict) -> Iterator[FrameChunk]:
        raise NotImplementedError

    def info(self) -> dict:
        return {}

    def versions(self) -> dict:
        """The sender codes its texture stream with ffmpeg's encoders; receivers run torch."""
        return {"ffmpeg": ffmpeg_version(), "torch": torch.__version__}


@register("lowres-bicubic")
class LowresBicubic(SenderMethod):
    """The decoded low-resolution texture frames upsampled with bicubic (semantics unused):
    the trivial reconstruction every learned decoder must beat at the same bits."""

    description = "decoded low-res texture stream, bicubic upsampling (same bits as cdm)"
    causal = True
    receiver_of = "causal-diffusion"

    def receive(self, tx: Transmission, timings: dict) -> Iterator[FrameChunk]:
        for block in _blocks(tx.conditions(), 8):
            yield FrameChunk(rgb_frames=np.stack([restoration for restoration, *_ in block]))


class DiffusionReceiver(SenderMethod):
    """Shared part of the diffusion decoders: checkpoint, device, padding, noise."""

    default_checkpoint = ""
    default_steps = 8
    gpu = True

    default_noise = "frame"
    default_consistency = "none"

    def __init__(self, checkpoint: str | None = None, steps: int | None = None,
                 seed: int = 0, noise: str | None = None, consistency: str | None = None,
                 detail: float = 1.0, **options: object) -> None:
        self.checkpoint = str(checkpoint or CHECKPOINT_DIR / self.default_checkpoint)
        self.steps = int(steps or self.checkpoint_steps() or self.default_steps)
        self.seed = int(seed)
        self.noise_mode = noise or self.default_noise
        if self.noise_mode not in NOISE_MODES:
            raise UlvrError(f"unknown noise '{self.noise_mode}': use one of "
                            f"{', '.join(NOISE_MODES)}")
        if self.noise_mode != NOISE_MODES[0]:   # per-frame noise (the first) is implied
            options["noise"] = self.noise_mode
        self.consistency = consistency or self.default_consistency
        if self.consistency not in CONSISTENCY_MODES:
            raise UlvrError(f"unknown consistency '{self.consistency}': use one of "
                            f"{', '.join(CONSISTENCY_MODES)}")
        if self.consistency != "none":          # no projection is implied (older records)
            options["consistency"] = self.consistency
        self.detail = float(detail)
        if not 0.0 <= self.detail <= 4.0:
            raise UlvrError(f"detail {detail} is outside 0..4: it scales the generated residual")
        if self.detail != 1.0:                  # the model's own residual is implied
            options["detail"] = self.detail
        super().__init__(checkpoint=self.checkpoint, steps=self.steps, seed=self.seed, **options)
        self._model = None

    def checkpoint_steps(self) -> int | None:
        """The sampling steps the checkpoint says it was made for (None: it does not say)."""
        return None

    def weights_files(self) -> list[Path]:
        return [Path(self.checkpoint)]

    def availability(self) -> Availability:
        if not Path(self.checkpoint).exists():
            return Availability(False, f"checkpoint {self.checkpoint} is missing: train it "
                                       "with 'ulvr cdm train' (see the README beside it)")
        return Availability(True)

    def config(self) -> dict:
        """What changes the output: the checkpoint by file name and SHA-256 (never its path, so
        every clone gives the same job keys), its model config and the other options."""
        meta = read_metadata(self.checkpoint)
        options = {k: v for k, v in self.options.items() if k != "checkpoint"}
        return {"name": self.name, "checkpoint": file_identity(self.checkpoint),
                "model": meta.get("config"), "options": options}

    def versions(self) -> dict:
        identity = file_identity(self.checkpoint)
        return {**super().versions(), "checkpoint": identity["file"],
                "checkpoint_sha256": identity["sha256"]}

    def model(self):
        if self._model is None:
            self._model, _ = load_checkpoint(self.checkpoint, self.device)
        return self._model

    def noise(self, index: int, shape: tuple[int, ...]) -> torch.Tensor:
        """Initial noise of frame `index`, reproducible and independent of how frames are
        grouped: "frame" draws a new field per frame (every frame hallucinates other detail);
        "sequence" uses one field for the whole sequence, so static content gets the same
        detail in every frame (less flicker)."""
        offset = index if self.noise_mode == "frame" else 0
        gen = torch.Generator().manual_seed(self.seed * 1_000_003 + offset)
        return torch.randn(shape, generator=gen)

    def finish(self, x0: torch.Tensor, restoration: torch.Tensor, tx: Transmission,
               size: tuple[int, int]) -> np.ndarray:
        """uint8 frames from a decoded block (1, T, 3, H', W'): the low-frequency projection
        onto the texture frame when asked (methods/causal_diffusion/consistency.py), unpadded;
        `detail` scales the generated residual over the texture frame first (1: as generated)."""
        if self.detail != 1.0 and tx.params.texture:
            base = restoration[:, :, :3].float()
            x0 = base + self.detail * (x0.float() - base)
        if self.consistency == "lowpass" and tx.params.texture:
            x0 = keep_low_frequencies(x0.float(), restoration[:, :, :3].float(),
                                      tx.params.downscale)
        h, w = size
        return to_uint8(x0[0, :, :, :h, :w])

    def autocast(self):
        if str(self.device).startswith("cuda"):
            return torch.autocast("cuda", dtype=torch.bfloat16)
        return torch.autocast("cpu", enabled=False)

    def prepare(self, items: list, first: int):
        """Padded model inputs (1, T, C, H', W') for a list of condition tuples."""
        model = self.model()
        rest = np.stack([c[0] for c in items])
        sem, res = condition_tensors(rest, np.stack([c[1] for c in items]), items[0][2],
                                     np.array([c[3] for c in items]),
                                     model.config.semantic_classes)
        h, w = rest.shape[1:3]
        m = model.multiple
        pad = (0, (-w) % m, 0, (-h) % m)
        sem, res = (F.pad(v, pad, mode="replicate") for v in (sem, res))
        noise = torch.stack([self.noise(first + i, (3, *sem.shape[-2:]))
                             for i in range(len(items))])
        dev = self.device
        return noise[None].to(dev), sem[None].to(dev), res[None].to(dev), (h, w)


@register("cdm-teacher")
class CdmTeacher(DiffusionReceiver):
    """The bidirectional teacher: windows of `window` frames denoised jointly (every frame sees
    the whole window, future included) with a deterministic DDIM sampler."""

    description = "conditional video diffusion, bidirectional teacher (DDIM)"
    causal = False
    receiver_of = "causal-diffusion"
    default_checkpoint = "native-teacher.safetensors"
    default_steps = 8
    default_consistency = "lowpass"   # the proposed system's receiver, as its student's
    joint = True      # frames of a window attend to each other (False: frame-wise baseline)

    def __init__(self, window: int = 8, **options: object) -> None:
        super().__init__(window=int(window), **options)
        self.window = int(window)

    def receive(self, tx: Transmission, timings: dict) -> Iterator[FrameChunk]:
        first, spent, evals = 0, 0.0, 0
        for items in _blocks(tx.conditions(), self.window):
            t0 = time.perf_counter()
            noise, sem, res, (h, w) = self.prepare(items, first)
            frames_now = len(items)
            ctx = functools.partial(full_context, frames_now, self.device) if self.joint else None
            with self.autocast():
                out = ddim_sample(self.model(), noise, sem, res, self.steps, ctx)
            frames = self.finish(out, res, tx, (h, w))
            spent += time.perf_counter() - t0
            evals += self.steps * len(items)
            timings.update(decode_s=spent, network_evals_per_frame=evals / (first + len(items)))
            yield FrameChunk(rgb_frames=frames)
            first += len(items)

    def info(self) -> dict:
        return {"steps": self.steps, "window": self.window, "sampler": "ddim",
                "temporal": self.joint, "consistency": self.consistency}


@register("frame-diffusion")
class FrameDiffusion(CdmTeacher):
    """Generative baseline: the same conditional diffusion decoder without temporal modelling
    (its own checkpoint, the stage-1 spatial model): every frame is generated independently
    from the same two streams, so it shows what the Temporal Adapter buys in consistency."""

    kind = MethodKind.GENERATIVE
    receiver_of = ""
    description = "frame-wise conditional diffusion from the same streams (no temporal model)"
    causal = True
    default_checkpoint = "native-frame.safetensors"
    joint = False


# recurrent="auto": stale frames start from the texture's first decoded frame only where the
# texture is downscaled by at most this factor: the points where, on the validation clips
# (checkpoints/README.md, "Recurrent start"), it stays within the 1 dB fidelity floor. It is
# not the default: there it gains LPIPS and DISTS but doubles tLP and raises FVD by 11%.
RECURRENT_MAX_DOWNSCALE = 4
RECURRENT_MODES = ("off", "on", "auto")


def recurrent_mode(value: bool | str) -> str:
    """'off', 'on' or 'auto' from an option value (true/false are on/off)."""
    text = str(value).lower()
    text = {"true": "on", "false": "off"}.get(text, text)
    if text not in RECURRENT_MODES:
        raise UlvrError(f"causal-diffusion: recurrent '{value}' is not one of "
                        f"{', '.join(RECURRENT_MODES)} (true/false mean on/off)")
    return text


@register("causal-diffusion")
class CausalDiffusion(DiffusionReceiver):
    """The proposed decoder: the distilled causal student, k denoising steps per block of b
    frames with a KV cache of the last W frames; a frame is out once its own block is decoded."""

    description = "proposed: causal few-step video diffusion decoder (KV-cache streaming)"
    causal = True
    default_checkpoint = "native-causal.safetensors"
    default_steps = 2            # when the checkpoint does not say for how many it was distilled
    default_noise = "sequence"   # one noise field per sequence: tLP 0.17 -> 0.01-0.07
    default_consistency = "lowpass"

    def __init__(self, block: int = 1, window: int = 16, sinks: int = 0,
                 cache_from: str | None = None, recurrent: bool | str = "off",
                 key_steps: int | None = None, **options: object) -> None:
        self.recurrent = recurrent_mode(recurrent)
        if self.recurrent != "off":            # off (the first design) is implied
            options["recurrent"] = self.recurrent
        if key_steps is not None:              # k, as every other frame, is implied
            options["key_steps"] = int(key_steps)
        super().__init__(block=int(block), window=int(window), sinks=int(sinks), **options)
        self.block, self.window, self.sinks = int(block), int(window), int(sinks)
        if self.recurrent == "on" and self.steps < 2:
            raise UlvrError("causal-diffusion: recurrent=on needs steps >= 2 (a stale frame "
                            "skips the first step)")
        self.key_steps = self.steps if key_steps is None else int(key_steps)
        if self.key_steps < 1:
            raise UlvrError(f"causal-diffusion: key_steps {key_steps} must be >= 1")
        self.cache_from = cache_from or self.distilled().get("cache_from", CACHE_SOURCES[0])
        if self.cache_from not in CACHE_SOURCES:
            raise UlvrError(f"causal-diffusion: cache_from '{self.cache_from}' is not one of "
                            f"{', '.join(CACHE_SOURCES)}")
        if self.cache_from != CACHE_SOURCES[0]:   # the clean pass (the first) is implied
            self.options["cache_from"] = self.cache_from

    def distilled(self) -> dict:
        """The distillation settings stored in the checkpoint ({} when it has none)."""
        if not Path(self.checkpoint).exists():
            return {}
        return read_metadata(self.checkpoint).get("distill", {})

    def checkpoint_steps(self) -> int | None:
        """The k the student was distilled for."""
        return self.distilled().get("student_steps")

    def receive(self, tx: Transmission, timings: dict) -> Iterator[FrameChunk]:
        from methods.causal_diffusion.stream import StreamingDecoder

        decoder = StreamingDecoder(self.model(), self.steps, self.block, self.window, self.sinks,
                                   self.cache_from)
        first, spent, per_frame, last = 0, 0.0, [], None
        recurrent = self.recurrent_at(tx.params)
        for items in _blocks(tx.conditions(), self.block):
            t0 = time.perf_counter()
            noise, sem, res, (h, w) = self.prepare(items, first)
            # recurrent: a block whose texture is stale (held, age > 0) starts from the frame
            # decoded when that texture arrived instead of from the first step's prediction
            # (one hop from it, not a chain: a chain compounds the generated detail)
            stale = recurrent and last is not None and all(c[3] > 0 for c in items)
            previous = last.expand(-1, len(items), -1, -1, -1) if stale else None
            # key_steps: a frame that others will start from gets its own step count
            steps = self.key_steps if recurrent and not stale else None
            with torch.no_grad(), self.autocast():
                out = decoder.decode_block(noise, sem, res, previous=previous, steps=steps)
            if not stale:
                last = out[:, -1:]
            frames = self.finish(out, res, tx, (h, w))
            elapsed = time.perf_counter() - t0
            spent += elapsed
            per_frame += [elapsed / len(items)] * len(items)
            first += len(items)
            timings.update(decode_s=spent, decode_s_per_frame=per_frame,
                           network_evals_per_frame=decoder.evaluations / first)
            yield FrameChunk(rgb_frames=frames)

    def recurrent_at(self, params: SenderParams) -> bool:
        """Whether stale frames start from the texture's first decoded frame at this point:
        always ("on"), never ("off"), or "auto": where the texture is downscaled by at most
        RECURRENT_MAX_DOWNSCALE and the student has a second step to run."""
        if self.recurrent == "auto":
            return (self.steps >= 2 and params.texture
                    and params.downscale <= RECURRENT_MAX_DOWNSCALE)
        return self.recurrent == "on"

    def info(self) -> dict:
        return {"steps": self.steps, "block": self.block, "window": self.window,
                "sinks": self.sinks, "cache_from": self.cache_from, "sampler": "causal-streaming",
                "consistency": self.consistency, "recurrent": self.recurrent}


@register("semantic-only")
class SemanticOnly(CdmTeacher):
    """Semantic baseline: a conditional video diffusion model trained to reconstruct from the
    semantic stream alone (no texture stream is sent; its bits are the semantic bytes only)."""

    kind = MethodKind.SEMANTIC
    receiver_of = ""
    description = "video diffusion from the semantic stream alone (no texture)"
    default_consistency = "none"      # no texture frame to be consistent with
    default_checkpoint = "native-semantic.safetensors"
    points = SEMANTIC_POINTS
