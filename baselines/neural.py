"""Neural codecs from CompressAI, with real entropy-coded bitstreams.

Frame-wise image codecs (Ballé 2018 factorized and hyperprior, Minnen 2018 mean-scale and
joint autoregressive, Cheng 2020 anchor and attention) and the scale-space-flow video codec
(Agustsson 2020: one intra frame, then P-frames, each predicted from the previous decoded
frame). One base class does everything; the registered subclasses only name the CompressAI
architecture and their defaults.

Encoding: after `model.update(force=True)`, each frame (RGB in [0, 1], padded on the right and
bottom by edge replication to the model's multiple) goes through the model's `compress()` (the
video codec's `encode_keyframe()` / `encode_inter()`), and its strings are written into one
bitstream file per sequence. Decoding reads that file back and calls `decompress()`
(`decode_keyframe()` / `decode_inter()`); the decoded frames are cropped and streamed chunk by
chunk. Bits are the bytes of that file, container included:

    header   : version byte, then varints: source width, source height, downscale factor
    per frame: varint number of strings, then per string a varint length and its bytes

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

import io
import os
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import numpy as np

from baselines.classical import DOWNSCALE_FILTER, UPSCALE_FILTER
from baselines.resample import resample_chunk, scaled_size
from benchmark import varint
from benchmark.errors import UlvrError
from benchmark.identity import file_identity, sha256_file
from benchmark.manifest import Sequence
from benchmark.registry import Availability, Method, MethodKind, RatePoint, Reconstruction, register
from benchmark.video_io import DEFAULT_CHUNK, FrameChunk

CHECKPOINT_DIR = Path(__file__).resolve().parent / "checkpoints"
FORMAT_VERSION = 1
CHECKPOINT_FORMAT = "ulvr-compressai-v1"   # safetensors metadata written by train-codec
PAD_MODE = "replicate"
CKPT_DOWNSCALES = (1, 2, 4)


# --- CompressAI access -------------------------------------------------------------------------

def compressai_module() -> Any:
    """Import compressai (after making torchvision importable), or say how to install it."""
    import benchmark.torch_setup  # noqa: F401  (compressai imports torchvision)

    try:
        import compressai
        import compressai.zoo  # noqa: F401
    except ImportError as exc:
        raise UlvrError(f"compressai is not importable ({exc}): install it with "
                        "'pip install -c constraints.txt compressai==1.2.8'") from exc
    return compressai


def architecture(zoo_name: str) -> type:
    """CompressAI's model class for a zoo architecture name."""
    compressai_module()
    from compressai.zoo import image, video

    table = {**image.model_architectures, **video.model_architectures}
    if zoo_name not in table:
        raise UlvrError(f"unknown CompressAI architecture '{zoo_name}': choose from "
                        f"{', '.join(sorted(table))}")
    return table[zoo_name]


def hub_checkpoint_dir() -> Path:
    """Where torch hub (and so compressai.zoo) keeps downloaded weights."""
    import torch

    return Path(torch.hub.get_dir()) / "checkpoints"


def published_weights(zoo_name: str, metric: str, quality: int) -> tuple[str, Path]:
    """URL of a published CompressAI model and the hub-cache path it is read from."""
    compressai_module()
    from compressai.zoo import image, video

    urls = {**image.model_urls, **video.model_urls}
    try:
        url = urls[zoo_name][metric][quality]
    except KeyError:
        raise UlvrError(f"CompressAI publishes no '{zoo_name}' weights for metric '{metric}' "
                        f"and quality {quality}") from None
    return url, hub_checkpoint_dir() / url.rsplit("/", 1)[-1]


def read_state_dict(path: str | os.PathLike) -> tuple[dict, dict]:
    """A checkpoint's state dict and metadata, read safely: safetensors, or a PyTorch file
    through `torch.load(weights_only=True)` (tensors and plain containers only)."""
    import torch

    path = Path(path)
    if not path.is_file():
        raise UlvrError(f"checkpoint '{path}' not found")
    if path.suffix == ".safetensors":
        from safetensors import SafetensorError, safe_open

        try:
            with safe_open(str(path), framework="pt") as handle:
                meta = dict(handle.metadata() or {})
                state = {key: handle.get_tensor(key) for key in handle.keys()}  # noqa: SIM118
        except (SafetensorError, OSError, ValueError, RuntimeError) as exc:
            raise UlvrError(f"cannot read checkpoint '{path}': not a valid safetensors file "
                            f"(corrupt or truncated?): {exc}") from exc
        return state, meta
    try:
        obj = torch.load(io.BytesIO(path.read_bytes()), map_location="cpu", weights_only=True)
    except Exception as exc:  # noqa: BLE001 - pickle, zip and torch errors all mean "unreadable"
        first = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
        raise UlvrError(f"cannot read checkpoint '{path}' (corrupt, truncated, or holding more "
                        f"than tensors, which are all that is loaded safely): {first}") from exc
    if isinstance(obj, dict) and isinstance(obj.get("state_dict"), dict):
        obj = obj["state_dict"]      # CompressAI's training script saves {"state_dict": ...}
    if not isinstance(obj, dict) or not all(isinstance(v, torch.Tensor) for v in obj.values()):
        raise UlvrError(f"checkpoint '{path}' holds no state dict of tensors")
    return obj, {}


def _load_error_summary(exc: Exception) -> str:
    """One line out of PyTorch's many-line load_state_dict error (or a KeyError)."""
    if isinstance(exc, KeyError):
        return f"it lacks '{exc.args[0]}', which this architecture needs"
    parts = []
    for line in str(exc).splitlines():
        line = line.strip()
        for head, label in (("Missing key(s) in state_dict:", "missing keys"),
                            ("Unexpected key(s) in state_dict:", "unexpected keys")):
            if line.startswith(head):
                keys = [k.strip().strip('"') for k in line[len(head):].split(",") if k.strip()]
                more = f" (+{len(keys) - 3} more)" if len(keys) > 3 else ""
                parts.append(f"{label} {', '.join(keys[:3])}{more}")
        if line.startswith("size mismatch"):
            parts.append(line.rstrip("."))
    return "; ".join(parts[:4]) if parts else str(exc).strip().splitlines()[0]


def build_model(zoo_name: str, state: dict, path: str | os.PathLike) -> Any:
    """The `zoo_name` model with the weights of `state` (read from `path`); a clear error when
    the weights belong to another architecture."""
    compressai_module()
    from compressai.zoo import load_state_dict

    cls = architecture(zoo_name)
    try:
        model = cls.from_state_dict(load_state_dict(dict(state)))
    except (KeyError, RuntimeError, ValueError, IndexError) as exc:
        raise UlvrError(f"checkpoint '{path}' does not fit the {zoo_name} architecture "
                        f"({cls.__name__}): {_load_error_summary(exc)}") from exc
    return model.eval()


def load_checkpoint(zoo_name: str, path: str | os.PathLike) -> Any:
    """A model of `zoo_name` from a checkpoint file (safetensors or PyTorch, loaded safely)."""
    state, meta = read_state_dict(path)
    trained_as = meta.get("arch")
    if meta.get("format") == CHECKPOINT_FORMAT and trained_as and trained_as != zoo_name:
        raise UlvrError(f"checkpoint '{path}' holds a {trained_as} model, not {zoo_name}: run it "
                        f"with the {trained_as} method")
    return build_model(zoo_name, state, path)


# --- bitstream container ----------------------------------------------------------------------

def _read_varint(fh: io.BufferedReader) -> int | None:
    """The next varint, or None at the end of the file."""
    value, shift = 0, 0
    while True:
        byte = fh.read(1)
        if not byte:
            if shift:
                raise UlvrError("truncated bitstream: it ends inside a number")
            return None
        value |= (byte[0] & 0x7F) << shift
        if not byte[0] & 0x80:
            return value
        shift += 7


def write_frame(fh: io.BufferedWriter, strings: list[bytes]) -> int:
    """Write one frame's strings; returns the container bytes spent on it (counts, lengths)."""
    head = varint.encode(len(strings)) + b"".join(varint.encode(len(s)) for s in strings)
    fh.write(varint.encode(len(strings)))
    for s in strings:
        fh.write(varint.encode(len(s)))
        fh.write(s)
    return len(head)


def read_stream(path: Path) -> tuple[dict, Iterator[list[bytes]]]:
    """Header fields of a bitstream file and an iterator over its frames' strings."""
    fh = open(path, "rb")
    version = fh.read(1)
    if version != bytes([FORMAT_VERSION]):
        fh.close()
        raise UlvrError(f"'{path}' is not a version-{FORMAT_VERSION} neural-codec bitstream")
    fields = [_read_varint(fh) for _ in range(3)]
    if None in fields:
        fh.close()
        raise UlvrError(f"truncated bitstream '{path}': incomplete header")
    header = dict(zip(("width", "height", "downscale"), fields, strict=True))

    def frames() -> Iterator[list[bytes]]:
        with fh:
            while (count := _read_varint(fh)) is not None:
                strings = []
                for _ in range(count):
                    size = _read_varint(fh)
                    data = fh.read(size or 0)
                    if size is None or len(data) != size:
                        raise UlvrError(f"truncated bitstream '{path}'")
                    strings.append(data)
                yield strings

    return header, frames()


# --- frame coders: how a model turns one frame into strings and back ---------------------------

class ImageCoder:
    """Codes every frame on its own with an image model's compress()/decompress()."""

    def __init__(self, model: Any, intra_period: int = 0) -> None:
        self.model = model

    def encode(self, x: Any) -> tuple[list[bytes], tuple[int, int]]:
        out = self.model.compress(x)
        return [s[0] for s in out["strings"]], tuple(out["shape"])

    def decode(self, strings: list[bytes], shape: tuple[int, int]) -> Any:
        return self.model.decompress([[s] for s in strings], list(shape))["x_hat"]


class ScaleSpaceFlowCoder:
    """Low-delay video coding with ScaleSpaceFlow: an intra frame (2 strings: latent and
    hyper-latent), then P-frames (4 strings: motion and residual, each latent and hyper-latent)
    predicted from the previous decoded frame; a new intra frame every `intra_period` frames
    when that is > 0. The number of strings tells the decoder each frame's type."""

    def __init__(self, model: Any, intra_period: int = 0) -> None:
        self.model = model
        self.intra_period = intra_period
        self.index = 0
        self.ref = None

    def _intra(self) -> bool:
        return self.ref is None or (self.intra_period > 0 and self.index % self.intra_period == 0)

    def encode(self, x: Any) -> tuple[list[bytes], tuple[int, int]]:
        if self._intra():
            self.ref, out = self.model.encode_keyframe(x)
            strings, shape = [s[0] for s in out["strings"]], tuple(out["shape"])
        else:
            self.ref, out = self.model.encode_inter(x, self.ref)
            strings = [s[0] for part in ("motion", "residual") for s in out["strings"][part]]
            shape = tuple(out["shape"]["motion"])
        self.index += 1
        return strings, shape

    def decode(self, strings: list[bytes], shape: tuple[int, int]) -> Any:
        if len(strings) == 2:
            self.ref = self.model.decode_keyframe([[s] for s in strings], list(shape))
        elif len(strings) == 4 and self.ref is not None:
            parts = {"motion": [[strings[0]], [strings[1]]],
                     "residual": [[strings[2]], [strings[3]]]}
            shapes = {"motion": list(shape), "residual": list(shape)}
            self.ref = self.model.decode_inter(self.ref, parts, shapes)
        else:
            raise UlvrError(f"corrupt ssf2020 bitstream: a frame of {len(strings)} strings")
        return self.ref.clamp(0, 1)


# --- the adapter --------------------------------------------------------------------------------

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
            compressai_module()
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
                                       "another cache), or pass checkpoint=PATH")
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
    def run(self, sequence: Sequence, rate_point: RatePoint, workdir: Path) -> Reconstruction:
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
            head = bytes([FORMAT_VERSION]) + b"".join(
                varint.encode(v) for v in (sequence.width, sequence.height, factor))
            fh.write(head)
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
        timings = {"model_load_s": load_s, "encode_s": encode_s, "decode_s": 0.0}
        return Reconstruction(
            streams={"video": bitstream},
            frames=self.decode(bitstream, model, timings),
            timings=timings,
            info={"zoo": self.zoo_name, "quality": quality, "weights": weights,
                  "downscale": factor, "scaled_width": width, "scaled_height": height,
                  "coded_width": coded_w, "coded_height": coded_h,
                  "padding": [coded_w - width, coded_h - height], "pad_mode": PAD_MODE,
                  "header_bytes": len(head), "frame_overhead_bytes": overhead,
                  "strings_per_frame": sorted(strings_per_frame), "device": self.device})

    def decode(self, bitstream: Path, model: Any, timings: dict | None = None,
               chunk_size: int = DEFAULT_CHUNK) -> Iterator[FrameChunk]:
        """Decode a bitstream file written by run(): frames at the source size, in chunks.
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
