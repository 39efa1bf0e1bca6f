"""The sender: what the proposed method transmits, as two real bitstreams.

Texture stream: every `key`-th frame, downscaled by `d` (area) and coded with the project's
HEVC (x265) or VVC (vvenc) adapter in low-delay mode at a high QP; the receiver upsamples the
decoded pictures (bicubic) and holds each one until the next (causal: never a future frame).
The every-t-th view and the hold are `baselines.resample`'s, as the classical codecs' t points.
Semantic stream: label maps at 1/`s` resolution with `k` classes from a pluggable segmenter,
sent every `li`-th frame (held in between), coded by `semantic_codec`.
Bits are the sizes of the two files written; nothing else is assumed known to the receiver
except this configuration (the rate point).
"""

from __future__ import annotations

import hashlib
import json
import os
from collections.abc import Iterator
from dataclasses import asdict, dataclass
from pathlib import Path

import numpy as np

from baselines.resample import EveryNth, hold
from benchmark.core.errors import UlvrError
from benchmark.core.weights import default_cache_dir
from benchmark.data.manifest import Sequence
from benchmark.data.video_io import FrameChunk
from benchmark.metrics.segment import SEGMENTERS, create_segmenter
from benchmark.protocol import Encoded, RatePoint, create_method, session_for, session_rate_point
from methods.causal_diffusion.semantic_codec import (
    decode_labels,
    encode_labels,
    session_header,
    split_session_header,
)

TEXTURE_CODECS = ("x265", "vvenc")


@dataclass(frozen=True)
class SenderParams:
    """One operating point of the sender (a rate point of the proposed method)."""

    downscale: int = 16       # texture downscale factor d
    qp: int = 51              # texture quantiser
    key: int = 1              # texture sent every `key` frames
    label_scale: int = 16     # label maps at 1/label_scale of the frame size
    classes: int = 4          # K
    label_interval: int = 1   # label maps sent every `label_interval` frames
    codec: str = "x265"
    segmenter: str = "kmeans"
    texture: bool = True      # False: semantic stream only (the semantic-only baseline)
    parameter_sets: str = "out-of-band"   # the texture's VPS/SPS/PPS: RTP sprop-*, or "in-band"

    @property
    def label(self) -> str:
        if not self.texture:
            return f"sem-s{self.label_scale}-k{self.classes}-l{self.label_interval}"
        return (f"d{self.downscale}-q{self.qp}-t{self.key}-s{self.label_scale}-k{self.classes}"
                f"-l{self.label_interval}" + ("" if self.out_of_band else "-inband"))

    @property
    def out_of_band(self) -> bool:
        return self.parameter_sets == "out-of-band"

    def rate_point(self) -> RatePoint:
        params = asdict(self)
        if self.out_of_band:           # the default stays out of the params (and job keys)
            params.pop("parameter_sets")
        return RatePoint(self.label, params)

    @classmethod
    def from_rate_point(cls, rate_point: RatePoint) -> SenderParams:
        return cls(**rate_point.params)

    @classmethod
    def from_label(cls, label: str) -> SenderParams:
        """The point a label names (`dD-qQP-tT-sS-kK-lL[-inband]` or `sem-sS-kK-lL`), with the
        default codec and segmenter; the inverse of `label`."""
        import re

        texture = re.fullmatch(r"d(\d+)-q(\d+)-t(\d+)-s(\d+)-k(\d+)-l(\d+)(-inband)?", label)
        semantic = re.fullmatch(r"sem-s(\d+)-k(\d+)-l(\d+)", label)
        if texture:
            d, q, t, s, k, n = (int(v) for v in texture.groups()[:6])
            return cls(downscale=d, qp=q, key=t, label_scale=s, classes=k, label_interval=n,
                       parameter_sets="in-band" if texture.group(7) else "out-of-band")
        if semantic:
            s, k, n = (int(v) for v in semantic.groups())
            return cls(label_scale=s, classes=k, label_interval=n, texture=False)
        raise UlvrError(f"rate point '{label}' is not dD-qQP-tT-sS-kK-lL or sem-sS-kK-lL "
                        "(e.g. d16-q51-t32-s32-k4-l8)")

    def label_size(self, width: int, height: int) -> tuple[int, int]:
        return max(1, height // self.label_scale), max(1, width // self.label_scale)


@dataclass
class Transmission:
    """The streams written for one sequence and how to rebuild the receiver's inputs."""

    streams: dict[str, Path]
    params: SenderParams
    num_frames: int
    texture_frames: Iterator[FrameChunk] | None  # decoded keyframes, upsampled; None: no texture
    size: tuple[int, int]                        # frame height, width
    timings: dict
    commands: list[str]
    info: dict

    def semantic_header(self) -> bytes:
        """The semantic stream's header as the receiver regenerates it from the session (the
        rate point and the sequence geometry); it must equal what the sender would have sent."""
        p = self.params
        h, w = p.label_size(self.size[1], self.size[0])
        maps = -(-self.num_frames // p.label_interval)
        header = session_header(maps, h, w, p.classes, SEGMENTERS[p.segmenter].has_palette)
        sent = self.streams.get("semantic_parameter_sets")
        if sent is not None and sent.read_bytes() != header:
            raise UlvrError("the semantic session header regenerated by the receiver differs "
                            "from the sender's: the rate point does not describe the stream")
        return header

    def conditions(self) -> Iterator[tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]]:
        """Per frame, in order: (restoration uint8 HxWx3, labels uint8 hxw, palette Kx3 uint8,
        age = frames since the held texture frame). Reads each stream once, streaming."""
        labels, palette = decode_labels(self.semantic_header()
                                        + self.streams["semantic"].read_bytes())
        if palette is None:
            palette = np.zeros((self.params.classes, 3), np.uint8)
        if self.texture_frames is None:   # no texture stream: a mid-grey frame, age 0
            grey = np.full((*self.size, 3), 128, np.uint8)
            for i in range(self.num_frames):
                yield grey, labels[i // self.params.label_interval], palette, 0
            return
        keyframes = (frame for chunk in self.texture_frames for frame in chunk.rgb())
        for i, (held, age) in enumerate(hold(keyframes, self.params.key, self.num_frames)):
            yield held, labels[i // self.params.label_interval], palette, age


def texture_rate_point(params: SenderParams) -> RatePoint:
    """The texture codec's rate point at a sender point: its quantiser and downscale."""
    return RatePoint(f"qp{params.qp}-d{params.downscale}",
                     {"qp": params.qp, "downscale": params.downscale})


def send(sequence: Sequence, params: SenderParams, workdir: Path) -> Encoded:
    """Encode both streams of one sequence under workdir: the texture (every key-th frame,
    downscaled, through a classical codec) and the semantic label maps."""
    if params.codec not in TEXTURE_CODECS:
        raise UlvrError(f"texture codec '{params.codec}' is not one of {TEXTURE_CODECS}")
    workdir.mkdir(parents=True, exist_ok=True)
    streams, timings, commands, info = {}, {}, [], {}
    if params.texture:
        codec = create_method(params.codec, parameter_sets=params.parameter_sets)
        texture = codec.encode(EveryNth(sequence, params.key), texture_rate_point(params),
                               workdir)
        streams["texture"] = texture.streams["video"]
        if "parameter_sets" in texture.streams:   # out of band: their cost as its own entry
            streams["texture_parameter_sets"] = texture.streams["parameter_sets"]
        timings = {f"texture_{k}": v for k, v in texture.timings.items()}
        commands = texture.commands
        info = {"texture": texture.info, "texture_codec": params.codec}
    segmenter = create_segmenter(params.segmenter, classes=params.classes) \
        if params.segmenter == "kmeans" else create_segmenter(params.segmenter)
    if segmenter.classes != params.classes:
        raise UlvrError(f"segmenter '{params.segmenter}' has {segmenter.classes} classes, "
                        f"the rate point asks for {params.classes}")
    size = params.label_size(sequence.width, sequence.height)
    maps, index = [], 0
    for chunk in sequence.frames():
        for frame in chunk.rgb():
            labels = segmenter.label(frame, size)   # every frame: the hysteresis needs them
            if index % params.label_interval == 0:
                maps.append(labels)
            index += 1
    semantic = workdir / "semantic.bin"
    header, body = split_session_header(encode_labels(maps, params.classes,
                                                      segmenter.palette()))
    semantic.write_bytes(body)
    session = workdir / "semantic_parameter_sets.bin"   # out of band, like the texture's
    session.write_bytes(header)
    return Encoded(streams={**streams, "semantic": semantic, "semantic_parameter_sets": session},
                   timings=timings, commands=commands, info={**info, "label_size": list(size)})


def open_transmission(streams: dict[str, Path], session: dict, workdir: Path) -> Transmission:
    """The receiver's view of a transmission from its stream files and the session alone:
    the texture decoded (streaming) by its codec, the semantic stream read when iterated."""
    params = SenderParams.from_rate_point(session_rate_point(session))
    frames, timings, commands = None, {}, []
    if params.texture:
        codec = create_method(params.codec, parameter_sets=params.parameter_sets)
        texture_session = {**session, "frames": -(-session["frames"] // params.key),
                           "fps": session["fps"] / params.key,
                           "rate_point": texture_rate_point(params).to_dict()}
        texture_streams = {"video": streams["texture"]}
        if "texture_parameter_sets" in streams:
            texture_streams["parameter_sets"] = streams["texture_parameter_sets"]
        decoded = codec.decode(texture_streams, texture_session, workdir)
        frames, commands = decoded.frames, decoded.commands
        timings = {f"texture_{k}": v for k, v in decoded.timings.items()}
    return Transmission(streams=dict(streams), params=params, num_frames=session["frames"],
                        texture_frames=frames, size=(session["height"], session["width"]),
                        timings=timings, commands=commands, info={})


def transmit(sequence: Sequence, params: SenderParams, workdir: Path) -> Transmission:
    """Send both streams of one sequence and open them as the receiver does, in this process
    (training, tests and sweeps; a harness job runs the receiver isolated)."""
    encoded = send(sequence, params, workdir)
    decode_dir = workdir / "decode"
    decode_dir.mkdir(parents=True, exist_ok=True)
    tx = open_transmission(encoded.streams, session_for(sequence, params.rate_point()),
                           decode_dir)
    tx.timings = {**encoded.timings, **tx.timings}
    tx.commands = [*encoded.commands, *tx.commands]
    tx.info = encoded.info
    return tx


def sender_cache_dir() -> Path:
    """Where training inputs are cached: $ULVR_CACHE/sender."""
    return Path(default_cache_dir()) / "sender"


def cached_clip_data(sequence: Sequence, params: SenderParams) -> dict[str, np.ndarray]:
    """Source frames and receiver inputs of a (training) sequence, computed once and cached in
    $ULVR_CACHE/sender: training needs random access to every frame, evaluation never does."""
    key = hashlib.sha256(json.dumps([sequence.identity(), asdict(params)], sort_keys=True,
                                    default=str).encode()).hexdigest()[:16]
    path = sender_cache_dir() / f"{sequence.name}-{params.label}-{key}.npz"
    if path.exists():
        with np.load(path) as data:
            return dict(data)
    import tempfile

    with tempfile.TemporaryDirectory(prefix="ulvr-sender-") as tmp:
        tx = transmit(sequence, params, Path(tmp))
        cond = list(tx.conditions())
        source = np.concatenate([c.rgb() for c in sequence.frames()])
        data = {"source": source, "restoration": np.stack([c[0] for c in cond]),
                "labels": np.stack([c[1] for c in cond]), "palette": cond[0][2],
                "age": np.array([c[3] for c in cond], np.int32),
                "bits": np.array([8 * os.path.getsize(p) for p in tx.streams.values()])}
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp_path = path.with_suffix(".tmp.npz")
    np.savez_compressed(tmp_path, **data)   # compressed: small enough to carry to a GPU host
    os.replace(tmp_path, path)
    return data
