"""Neural codecs from CompressAI, with real entropy-coded bitstreams.

Frame-wise image codecs (Ballé 2018 factorized and hyperprior, Minnen 2018 mean-scale and
joint autoregressive, Cheng 2020 anchor and attention) and the scale-space-flow video codec
(Agustsson 2020: one intra frame, then P-frames, each predicted from the previous decoded
frame). One base class runs them; the registered subclasses only name the CompressAI
architecture and their defaults. Weights and checkpoints: `baselines.compressai_weights`;
frame coders: `baselines.neural_coders`.

Encoding: after `model.update(force=True)`, each frame (RGB in [0, 1], padded on the right and
bottom by edge replication to the model's multiple) goes through the model's `compress()` (the
video codec's `encode_keyframe()` / `encode_inter()`), and its strings are written into one
bitstream file per sequence. Decoding reads that file back and calls `decompress()`
(`decode_keyframe()` / `decode_inter()`); the decoded frames are cropped and streamed chunk by
chunk. Bits are the bytes of that file, container included (`baselines.neural_stream`).

Frames are coded one at a time (batch of one) in both directions, so the encoder's and the
decoder's networks see identically shaped inputs (learned entropy models need bit-identical
scale predictions on both sides). A rate point's `downscale` resamples like the classical
codecs: area filter on the YUV frames before coding, bicubic on the decoded RGB frames after
(ffmpeg's filters, see `baselines.resample`).

Weights, by where they come from:
- published (rate points `qN`): CompressAI's model zoo files, read from the torch hub cache
  ($TORCH_HOME/hub/checkpoints, file names as in CompressAI's zoo); never downloaded here.
  They are read with `torch.load(weights_only=True)`, keys converted with the zoo's converter
  and the model built with the zoo's architecture class.
- locally trained (method `*-local`, rate points `local-qN`): small models trained by
  `ulvr train-codec` on the embedded training segments and shipped in `baselines/checkpoints/`.
- a user's checkpoint (`checkpoint=PATH`, rate points `ckpt`, `ckpt-d2`, `ckpt-d4`):
  safetensors, or a PyTorch file read with `weights_only=True`.
"""

from __future__ import annotations

import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import numpy as np

from baselines.classical import DOWNSCALE_FILTER, UPSCALE_FILTER
from baselines.compressai_weights import (
    build_model,
    compressai_installed,
    compressai_module,
    load_checkpoint,
    published_weights,
    read_state_dict,
)
from baselines.neural_coders import ImageCoder, ScaleSpaceFlowCoder
from baselines.neural_stream import FORMAT_VERSION, read_stream, write_frame, write_header
from baselines.resample import resample_chunk, scaled_size
from benchmark.core.errors import UlvrError
from benchmark.core.identity import file_identity, sha256_file
from benchmark.data.manifest import Sequence
from benchmark.data.video_io import DEFAULT_CHUNK, FrameChunk
from benchmark.protocol import (
    Availability,
    Decoded,
    Encoded,
    Method,
    MethodKind,
    RatePoint,
    register,
)

CHECKPOINT_DIR = Path(__file__).resolve().parent / "checkpoints"
PAD_MODE = "replicate"
CKPT_DOWNSCALES = (1, 2, 4)


class CompressAICodec(Method):
    """A CompressAI model run as a codec. Subclasses set the class attributes below."""

    kind = MethodKind.NEURAL
    gpu = True
    zoo_name = ""                    # architecture name in compressai.zoo
    qualities: tuple[int, ...] = tuple(range(1, 9))   # published quality levels
    default_points: list[tuple[int, int]] = [(6, 1), (3, 1), (1, 1), (1, 2), (1, 4)]
    latent_stride = 64               # frames are padded to a multiple of this
    coder: type = ImageCoder
    shipped: dict[int, str] = {}     # locally trained: quality -> file in baselines/checkpoints

    def __init__(self, checkpoint: str | None = None, metric: str = "mse",
                 rate_points: list[tuple[int, int]] | None = None,
                 intra_period: int = 0) -> None:
        if metric not in ("mse", "ms-ssim"):
            raise UlvrError(f"{self.zoo_name}: metric must be 'mse' or 'ms-ssim', not '{metric}'")
        options: dict[str, Any] = {"metric": metric}
        if checkpoint:
            options["checkpoint"] = str(checkpoint)
        if self.coder is ScaleSpaceFlowCoder:
            options["intra_period"] = int(intra_period)
        super().__init__(**options)
        self.checkpoint = Path(checkpoint).expanduser() if checkpoint else None
        self.metric = metric
        self.intra_period = int(intra_period)
        self._points = [tuple(p) for p in rate_points] if rate_points else self.default_points
        self._models: dict[Any, tuple[Any, dict]] = {}
        self._weights: dict = {}

    def weights_files(self) -> list[Path]:
        return [self.checkpoint] if self.checkpoint else []

    # which weights a rate point uses
    @property
    def source(self) -> str:
        return "checkpoint" if self.checkpoint else ("local" if self.shipped else "published")

    def rate_points(self) -> list[RatePoint]:
        if self.source == "checkpoint":
            return [RatePoint("ckpt" + (f"-d{d}" if d > 1 else ""), {"downscale": d})
                    for d in CKPT_DOWNSCALES]
        prefix = "local-q" if self.source == "local" else "q"
        return [RatePoint(f"{prefix}{q}" + (f"-d{d}" if d > 1 else ""),
                          {"quality": q, "downscale": d}) for q, d in self._points]

    def _quality_levels(self) -> tuple[int, ...]:
        return tuple(sorted(self.shipped)) if self.source == "local" else self.qualities

    def _weights_file(self, quality: int | None) -> Path:
        if self.source == "checkpoint":
            return self.checkpoint
        if quality not in self._quality_levels():
            raise UlvrError(f"{self.name or self.zoo_name} has no quality {quality}: choose from "
                            f"{', '.join(map(str, self._quality_levels()))}")
        if self.source == "local":
            return CHECKPOINT_DIR / self.shipped[quality]
        return published_weights(self.zoo_name, self.metric, quality)[1]

    def _missing_weights(self) -> list[str]:
        qualities = sorted({int(rp.params["quality"]) for rp in self.rate_points()}) \
            if self.source != "checkpoint" else [None]
        return [str(f) for f in (self._weights_file(q) for q in qualities) if not f.is_file()]

    def availability(self) -> Availability:
        try:
            if not compressai_installed():
                compressai_module()   # raises, saying how to install it
            missing = self._missing_weights()
        except UlvrError as exc:
            return Availability(False, str(exc))
        if not missing:
            return Availability(True)
        if self.source == "published":
            more = f" and {len(missing) - 1} more" if len(missing) > 1 else ""
            return Availability(False, f"published weights not in the torch hub cache: "
                                       f"{Path(missing[0]).name}{more} expected in "
                                       f"{Path(missing[0]).parent}/ (set TORCH_HOME to use "
                                       "another cache), or give weights: --option "
                                       f"{self.name or self.zoo_name}.checkpoint=PATH")
        return Availability(False, f"weights file {missing[0]} not found")

    def model(self, quality: int | None) -> tuple[Any, dict]:
        """The model of a quality level (or of the checkpoint), ready for entropy coding on
        self.device, and a description of its weights (file, SHA-256, source)."""
        import torch

        key = (quality, self.device)
        if key in self._models:
            return self._models[key]
        path = self._weights_file(quality)
        if not path.is_file():
            if self.source == "published":
                url, _ = published_weights(self.zoo_name, self.metric, quality)
                raise UlvrError(f"{self.zoo_name} quality {quality}: published weights "
                                f"'{path.name}' not found in {path.parent}/ (the torch hub "
                                f"cache; TORCH_HOME moves it): download {url} there")
            raise UlvrError(f"{self.name or self.zoo_name}: weights file '{path}' not found")
        if self.source == "published":
            state, _ = read_state_dict(path)
            model = build_model(self.zoo_name, state, path)
        else:
            model = load_checkpoint(self.zoo_name, path)
        model.update(force=True)
        if self.device.startswith("cuda"):
            torch.backends.cudnn.deterministic = True
            torch.backends.cudnn.benchmark = False
        model = model.to(self.device).eval()
        weights = {"file": path.name, "sha256": sha256_file(path), "source": self.source}
        self._models[key] = (model, weights)
        return model, weights

    def config(self) -> dict:
        """What changes this codec's output; weights by file name and SHA-256, never by path."""
        cfg = {"name": self.name, "zoo": self.zoo_name, "source": self.source,
               "metric": self.metric, "pad": PAD_MODE, "format": FORMAT_VERSION,
               "downscale": DOWNSCALE_FILTER, "upscale": UPSCALE_FILTER}
        if self.coder is ScaleSpaceFlowCoder:
            cfg["intra_period"] = self.intra_period
        if self.source == "checkpoint":
            cfg["checkpoint"] = file_identity(self.checkpoint)
        elif self.source == "local":
            cfg["shipped"] = {q: sha256_file(CHECKPOINT_DIR / f) if (CHECKPOINT_DIR / f).is_file()
                              else None for q, f in sorted(self.shipped.items())}
        return cfg

    def versions(self) -> dict:
        """CompressAI and torch (the entropy coder's scales come from torch's arithmetic), and
        once a job ran, its weights; part of the resume fingerprint."""
        import torch

        try:
            version = compressai_module().__version__
        except UlvrError:
            version = "missing"
        out = {"compressai": version, "torch": torch.__version__}
        if self._weights:
            out["weights"] = f"{self._weights['file']} sha256:{self._weights['sha256']}"
        return out

    # encoding and decoding
    def encode(self, sequence: Sequence, rate_point: RatePoint, workdir: Path) -> Encoded:
        import torch

        quality = rate_point.params.get("quality")
        factor = int(rate_point.params.get("downscale", 1))
        start = time.perf_counter()
        model, weights = self.model(None if quality is None else int(quality))
        self._weights = weights
        load_s = time.perf_counter() - start
        width, height = scaled_size(sequence.width, sequence.height, factor) if factor > 1 \
            else (sequence.width, sequence.height)
        multiple = self.latent_stride
        coded_w, coded_h = -(-width // multiple) * multiple, -(-height // multiple) * multiple
        latent = (coded_h // multiple, coded_w // multiple)
        bitstream = workdir / "stream.bin"
        overhead, frames, strings_per_frame = 0, 0, set()

        start = time.perf_counter()
        coder = self.coder(model, self.intra_period)
        with open(bitstream, "wb") as fh, torch.inference_mode():
            head = write_header(fh, sequence.width, sequence.height, factor)
            for chunk in sequence.frames():
                if factor > 1:
                    chunk = resample_chunk(chunk, width, height, DOWNSCALE_FILTER)
                for frame in chunk.rgb():
                    x = torch.from_numpy(np.ascontiguousarray(frame)).to(self.device)
                    x = x.permute(2, 0, 1).unsqueeze(0).float().div_(255.0)
                    x = torch.nn.functional.pad(x, (0, coded_w - width, 0, coded_h - height),
                                                mode=PAD_MODE)
                    strings, shape = coder.encode(x)
                    if shape != latent:
                        raise UlvrError(f"{self.zoo_name} coded a {coded_w}x{coded_h} frame into "
                                        f"a {shape} latent, {latent} expected")
                    overhead += write_frame(fh, strings)
                    strings_per_frame.add(len(strings))
                    frames += 1
        encode_s = time.perf_counter() - start
        if frames != sequence.num_frames:
            raise UlvrError(f"{self.name} read {frames} frames of {sequence.name}, "
                            f"{sequence.num_frames} expected")
        return Encoded(
            streams={"video": bitstream},
            timings={"model_load_s": load_s, "encode_s": encode_s},
            info={"zoo": self.zoo_name, "quality": quality, "weights": weights,
                  "downscale": factor, "scaled_width": width, "scaled_height": height,
                  "coded_width": coded_w, "coded_height": coded_h,
                  "padding": [coded_w - width, coded_h - height], "pad_mode": PAD_MODE,
                  "header_bytes": len(head), "frame_overhead_bytes": overhead,
                  "strings_per_frame": sorted(strings_per_frame), "device": self.device})

    def decode(self, streams: dict[str, Path], session: dict, workdir: Path) -> Decoded:
        """The frames from the stream file, with the weights the rate point's quality names."""
        quality = session["rate_point"]["params"].get("quality")
        start = time.perf_counter()
        model, _ = self.model(None if quality is None else int(quality))
        timings = {"decoder_model_load_s": time.perf_counter() - start, "decode_s": 0.0}
        return Decoded(frames=self.decode_stream(streams["video"], model, timings),
                       timings=timings)

    def decode_stream(self, bitstream: Path, model: Any, timings: dict | None = None,
                      chunk_size: int = DEFAULT_CHUNK) -> Iterator[FrameChunk]:
        """Decode a bitstream file written by encode(): frames at the source size, in chunks.
        Adds the decoding time (resampling included) to timings['decode_s']."""
        import torch

        timings = timings if timings is not None else {}
        header, frames = read_stream(bitstream)
        factor = header["downscale"]
        width, height = scaled_size(header["width"], header["height"], factor) if factor > 1 \
            else (header["width"], header["height"])
        multiple = self.latent_stride
        latent = (-(-height // multiple), -(-width // multiple))
        coder = self.coder(model, self.intra_period)
        pending: list[np.ndarray] = []

        def flush() -> FrameChunk:
            chunk = FrameChunk(rgb_frames=np.stack(pending))
            pending.clear()
            if factor > 1:
                chunk = resample_chunk(chunk, header["width"], header["height"], UPSCALE_FILTER,
                                       rgb=True)
            return chunk

        while True:
            start = time.perf_counter()
            with torch.inference_mode():
                strings = next(frames, None)
                if strings is not None:
                    x_hat = coder.decode(strings, latent)[0, :, :height, :width]
                    pending.append(x_hat.mul(255.0).round_().clamp_(0, 255).to(torch.uint8)
                                   .permute(1, 2, 0).cpu().numpy())
            out = flush() if pending and (strings is None or len(pending) == chunk_size) \
                else None
            timings["decode_s"] = timings.get("decode_s", 0.0) + time.perf_counter() - start
            if out is not None:
                yield out
            if strings is None:
                return


# --- registered methods: architecture and defaults only ---------------------------------------

@register("bmshj2018-factorized")
class Bmshj2018Factorized(CompressAICodec):
    description = "Ballé et al. 2018, factorized prior (CompressAI, published weights)"
    zoo_name = "bmshj2018-factorized"
    latent_stride = 16


@register("bmshj2018-hyperprior")
class Bmshj2018Hyperprior(CompressAICodec):
    description = "Ballé et al. 2018, scale hyperprior (CompressAI, published weights)"
    zoo_name = "bmshj2018-hyperprior"


@register("mbt2018-mean")
class Mbt2018Mean(CompressAICodec):
    description = "Minnen et al. 2018, mean-scale hyperprior (CompressAI, published weights)"
    zoo_name = "mbt2018-mean"


@register("mbt2018")
class Mbt2018(CompressAICodec):
    description = "Minnen et al. 2018, joint autoregressive + hyperprior (CompressAI, published)"
    zoo_name = "mbt2018"


@register("cheng2020-anchor")
class Cheng2020Anchor(CompressAICodec):
    description = "Cheng et al. 2020, anchor (CompressAI, published weights)"
    zoo_name = "cheng2020-anchor"
    qualities = tuple(range(1, 7))


@register("cheng2020-attn")
class Cheng2020Attention(CompressAICodec):
    description = "Cheng et al. 2020, attention (CompressAI, published weights)"
    zoo_name = "cheng2020-attn"
    qualities = tuple(range(1, 7))


@register("ssf2020")
class Ssf2020(CompressAICodec):
    description = "Agustsson et al. 2020, scale-space flow video codec, low-delay P " \
                  "(CompressAI, published weights)"
    zoo_name = "ssf2020"
    qualities = tuple(range(1, 10))
    latent_stride = 128
    coder = ScaleSpaceFlowCoder


@register("mbt2018-mean-local")
class Mbt2018MeanLocal(CompressAICodec):
    description = "Minnen et al. 2018 mean-scale hyperprior, small (N=M=64), LOCALLY TRAINED " \
                  "here on the embedded training segments (not CompressAI's published weights)"
    zoo_name = "mbt2018-mean"
    shipped = {q: f"mbt2018-mean-local-q{q}.safetensors" for q in (1, 2, 3)}
    default_points = [(3, 1), (2, 1), (1, 1), (1, 4)]
