"""Conditional video denoiser: a pixel-space UNet with three add-on modules.

- Semantic Control: a ControlNet-style encoder of the one-hot label maps (plus the palette
  colours they stand for), injected at every level through zero-initialised 1x1 projections.
- Restoration Adapter: an encoder of the decoded, upsampled low-resolution frame (and how many
  frames old it is), injected the same way.
- Temporal Adapter: temporal self-attention across frames at every level, zero-initialised
  output, with a full (bidirectional) or block-causal mask, an optional sliding window with
  sink frames, and a key/value cache for streaming (`TemporalContext`).
The denoiser predicts the clean frame as the restoration frame plus a predicted residual.
Frames are processed as a batch of images (B*T); only the Temporal Adapter mixes frames.
"""

from __future__ import annotations

import math
from dataclasses import asdict, dataclass, field

import torch
import torch.nn.functional as F
from torch import nn


@dataclass(frozen=True)
class ModelConfig:
    """Sizes of the denoiser; `CONFIGS` holds the named ones."""

    channels: tuple[int, ...] = (32, 64, 96)
    attention_levels: tuple[int, ...] = (2,)     # spatial self-attention at these levels
    semantic_classes: int = 8                    # one-hot channels of the Semantic Control
    heads: int = 4
    temporal_heads: int = 2
    # The Temporal Adapter is sized so that it is under 1% of the model (the paper trains ~300x
    # fewer parameters in the temporal-only distillation): narrow attention (channels / ratio,
    # at least 4 per head), at the coarser levels and the middle only.
    temporal_ratio: int = 16                     # temporal attention width = channels / ratio
    temporal_levels: tuple[int, ...] = (1, 2)
    control_width: int = 16                      # first width of the condition encoders
    patch: int = 2                               # pixel-unshuffle factor before the UNet

    def to_dict(self) -> dict:
        return asdict(self)

    @classmethod
    def from_dict(cls, data: dict) -> ModelConfig:
        return cls(**{k: tuple(v) if isinstance(v, list) else v for k, v in data.items()})


CONFIGS = {
    "tiny": ModelConfig(channels=(16, 32, 32), attention_levels=(2,), heads=2,
                        temporal_heads=1, control_width=8),
    "small": ModelConfig(),
    "paper": ModelConfig(channels=(128, 256, 512, 512), attention_levels=(2, 3), heads=8,
                         temporal_heads=8, temporal_levels=(2, 3), temporal_ratio=32,
                         control_width=64),
}


def _norm(c: int) -> nn.GroupNorm:
    return nn.GroupNorm(min(8, c), c)


def _zero(module: nn.Module) -> nn.Module:
    for p in module.parameters():
        nn.init.zeros_(p)
    return module


def timestep_embedding(t: torch.Tensor, dim: int) -> torch.Tensor:
    """Sinusoidal embedding of continuous diffusion times t in [0, 1]."""
    half = dim // 2
    freqs = torch.exp(-math.log(10000.0) * torch.arange(half, device=t.device) / half)
    args = 1000.0 * t[:, None].float() * freqs[None]
    return torch.cat([args.sin(), args.cos()], dim=1)


class ResBlock(nn.Module):
    """GroupNorm-SiLU-conv residual block with an additive timestep embedding."""

    def __init__(self, cin: int, cout: int, temb: int) -> None:
        super().__init__()
        self.n1, self.c1 = _norm(cin), nn.Conv2d(cin, cout, 3, padding=1)
        self.t = nn.Linear(temb, cout)
        self.n2, self.c2 = _norm(cout), nn.Conv2d(cout, cout, 3, padding=1)
        self.skip = nn.Conv2d(cin, cout, 1) if cin != cout else nn.Identity()

    def forward(self, x: torch.Tensor, temb: torch.Tensor) -> torch.Tensor:
        h = self.c1(F.silu(self.n1(x))) + self.t(temb)[:, :, None, None]
        return self.skip(x) + self.c2(F.silu(self.n2(h)))


ATTENTION_BYTES = 256 * 2**20   # the largest attention matrix one call may hold


def attention(q: torch.Tensor, k: torch.Tensor, v: torch.Tensor) -> torch.Tensor:
    """Softmax attention of (b, heads, n, d) queries over all keys, in chunks of query rows
    when the (n x m) matrix of every head would pass ATTENTION_BYTES (1280x720 frames: 14,400
    tokens at the attention level). Each row's softmax is over every key either way: the same
    result, with memory bounded by the chunk; small frames take the single call unchanged."""
    b, heads, n, _ = q.shape
    rows = max(1, ATTENTION_BYTES // (b * heads * k.shape[2] * q.element_size()))
    if rows >= n:
        return F.scaled_dot_product_attention(q, k, v)
    return torch.cat([F.scaled_dot_product_attention(q[:, :, i:i + rows], k, v)
                      for i in range(0, n, rows)], dim=2)


class SpatialAttention(nn.Module):
    """Multi-head self-attention over the pixels of each frame (used at low resolution)."""

    def __init__(self, c: int, heads: int) -> None:
        super().__init__()
        self.norm, self.heads = _norm(c), heads
        self.qkv, self.out = nn.Conv2d(c, 3 * c, 1), nn.Conv2d(c, c, 1)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        b, c, h, w = x.shape
        # contiguous (b, heads, tokens, d): PyTorch's fused (flash) attention needs the head
        # dimension contiguous, or it falls back to the math path, 5x slower on CPU at 880
        # tokens and holding the whole (n x m) matrix
        q, k, v = self.qkv(self.norm(x)).reshape(b, 3, self.heads, c // self.heads, h * w) \
            .permute(1, 0, 2, 4, 3).contiguous()
        y = attention(q, k, v).permute(0, 1, 3, 2).reshape(b, c, h, w)
        return x + self.out(y)


@dataclass
class TemporalContext:
    """How frames attend to each other in one forward pass, and the streaming KV cache.

    `frame_index` gives the absolute index of every frame in the batch's time axis; `mode` is
    "full" or "causal" (block-causal with `block` frames per block); `window` limits attention
    to the last W frames (plus the first `sinks` frames of the sequence). With `cache` set,
    keys/values of earlier passes that wrote to it are attended to as well; `write=True` appends
    this pass's keys/values (one clean pass per block), trimmed to the window.
    """

    frame_index: torch.Tensor
    mode: str = "full"
    block: int = 1
    window: int | None = None
    sinks: int = 0
    cache: dict | None = None
    write: bool = False
    _layer: int = field(default=0, repr=False)

    def allowed(self, q_index: torch.Tensor, k_index: torch.Tensor) -> torch.Tensor:
        """Boolean (Tq, Tk) mask of which key frames each query frame may see."""
        qi, ki = q_index[:, None], k_index[None, :]
        ok = torch.ones(qi.shape[0], ki.shape[1], dtype=torch.bool, device=qi.device)
        if self.mode == "causal":
            ok &= torch.div(ki, self.block, rounding_mode="floor") <= \
                torch.div(qi, self.block, rounding_mode="floor")
        elif self.mode != "full":
            raise ValueError(f"unknown temporal mask mode '{self.mode}'")
        if self.window is not None:
            ok &= ((qi - ki) < self.window) | (ki < self.sinks)
        return ok


class TemporalAdapter(nn.Module):
    """Self-attention along time at every pixel; zero-initialised output projection and an
    ALiBi-style distance bias per head (so it needs no absolute positions and streams)."""

    def __init__(self, c: int, heads: int, ratio: int) -> None:
        super().__init__()
        inner = max(heads * 4, c // ratio)
        self.heads, self.inner = heads, inner
        self.norm = _norm(c)
        self.qkv = nn.Linear(c, 3 * inner)
        self.out = _zero(nn.Linear(inner, c))
        self.register_buffer("slopes", 2.0 ** (-torch.arange(1, heads + 1).float()),
                             persistent=False)

    def forward(self, x: torch.Tensor, frames: int, ctx: TemporalContext) -> torch.Tensor:
        bt, c, h, w = x.shape
        b = bt // frames
        seq = self.norm(x).reshape(b, frames, c, h * w).permute(0, 3, 1, 2)   # b, hw, T, c
        qkv = self.qkv(seq).reshape(b * h * w, frames, 3, self.heads, self.inner // self.heads)
        q, k, v = qkv.permute(2, 0, 3, 1, 4)                                 # n, heads, T, d
        q_index = k_index = ctx.frame_index.to(x.device)
        layer = ctx._layer
        ctx._layer += 1
        if ctx.cache is not None:
            past = ctx.cache.get(layer)
            if past is not None:
                k = torch.cat([past[0], k], dim=2)
                v = torch.cat([past[1], v], dim=2)
                k_index = torch.cat([past[2], k_index])
            if ctx.write:
                keep = _keep(k_index, ctx)
                ctx.cache[layer] = (k[:, :, keep], v[:, :, keep], k_index[keep])
        ok = ctx.allowed(q_index, k_index)
        dist = (q_index[:, None] - k_index[None, :]).abs().float()
        bias = -self.slopes.to(x.device)[:, None, None] * dist[None]
        bias = bias.masked_fill(~ok[None], float("-inf")).to(q.dtype)
        y = F.scaled_dot_product_attention(q, k, v, attn_mask=bias)          # n, heads, T, d
        y = y.permute(0, 2, 1, 3).reshape(b, h * w, frames, self.inner)
        y = self.out(y).permute(0, 2, 3, 1).reshape(bt, c, h, w)
        return x + y


def _keep(k_index: torch.Tensor, ctx: TemporalContext) -> torch.Tensor:
    """Which cached frames stay: all, or the last `window` frames plus the sinks."""
    if ctx.window is None:
        return torch.ones_like(k_index, dtype=torch.bool)
    newest = k_index.max()
    return ((newest - k_index) < ctx.window - 1) | (k_index < ctx.sinks)


class ConditionEncoder(nn.Module):
    """Encoder of a condition image into one feature map per UNet level, each added to the
    backbone through a zero-initialised 1x1 projection (ControlNet / T2I-Adapter style)."""

    def __init__(self, cin: int, width: int, channels: tuple[int, ...]) -> None:
        super().__init__()
        self.stem = nn.Sequential(nn.Conv2d(cin, width, 3, padding=1), nn.SiLU(),
                                  nn.Conv2d(width, width, 3, padding=1), nn.SiLU())
        self.levels = nn.ModuleList()
        self.proj = nn.ModuleList()
        c = width
        for i, target in enumerate(channels):
            stride = 1 if i == 0 else 2
            self.levels.append(nn.Sequential(nn.Conv2d(c, target, 3, stride=stride, padding=1),
                                             nn.SiLU(), nn.Conv2d(target, target, 3, padding=1),
                                             nn.SiLU()))
            self.proj.append(_zero(nn.Conv2d(target, target, 1)))
            c = target

    def forward(self, cond: torch.Tensor) -> list[torch.Tensor]:
        h, feats = self.stem(cond), []
        for level, proj in zip(self.levels, self.proj, strict=True):
            h = level(h)
            feats.append(proj(h))
        return feats


class VideoDenoiser(nn.Module):
    """x0-predicting denoiser of B x T frames given per-frame times and conditions."""

    def __init__(self, config: ModelConfig) -> None:
        super().__init__()
        self.config = config
        ch = config.channels
        temb = 4 * ch[0]
        self.time = nn.Sequential(nn.Linear(ch[0], temb), nn.SiLU(), nn.Linear(temb, temb))
        p2 = config.patch ** 2
        self.unshuffle, self.shuffle = nn.PixelUnshuffle(config.patch), \
            nn.PixelShuffle(config.patch)
        self.stem = nn.Conv2d(3 * p2, ch[0], 3, padding=1)
        self.semantic_control = ConditionEncoder((config.semantic_classes + 3) * p2,
                                                 config.control_width, ch)
        self.restoration_adapter = ConditionEncoder(4 * p2, config.control_width, ch)
        self.down, self.down_attn, self.downsample = nn.ModuleList(), nn.ModuleList(), \
            nn.ModuleList()
        self.temporal = nn.ModuleDict()
        c = ch[0]
        for i, co in enumerate(ch):
            self.down.append(ResBlock(c, co, temb))
            self.down_attn.append(SpatialAttention(co, config.heads)
                                  if i in config.attention_levels else nn.Identity())
            if i in config.temporal_levels:
                self.temporal[f"down{i}"] = TemporalAdapter(co, config.temporal_heads,
                                                            config.temporal_ratio)
            self.downsample.append(nn.Conv2d(co, co, 3, stride=2, padding=1)
                                   if i < len(ch) - 1 else nn.Identity())
            c = co
        self.mid = ResBlock(c, c, temb)
        self.mid_attn = SpatialAttention(c, config.heads)
        self.temporal["mid"] = TemporalAdapter(c, config.temporal_heads, config.temporal_ratio)
        self.up, self.up_attn = nn.ModuleList(), nn.ModuleList()
        for i in reversed(range(len(ch))):
            self.up.append(ResBlock(c + ch[i], ch[i], temb))
            self.up_attn.append(SpatialAttention(ch[i], config.heads)
                                if i in config.attention_levels else nn.Identity())
            if i in config.temporal_levels:
                self.temporal[f"up{i}"] = TemporalAdapter(ch[i], config.temporal_heads,
                                                          config.temporal_ratio)
            c = ch[i]
        self.out = nn.Sequential(_norm(c), nn.SiLU(),
                                 _zero(nn.Conv2d(c, 3 * p2, 3, padding=1)))
        self.use_temporal = True

    @property
    def multiple(self) -> int:
        """Frame sizes must be multiples of this."""
        return self.config.patch * 2 ** (len(self.config.channels) - 1)

    def encode_conditions(self, semantic: torch.Tensor, restoration: torch.Tensor
                          ) -> tuple[list[torch.Tensor], list[torch.Tensor]]:
        """Per-level features of the Semantic Control and the Restoration Adapter. They do not
        depend on x_t or t, so a sampler computes them once and passes them to every step
        (`forward(..., conditions=)`): the same numbers, without a third of each step's work."""
        flat = lambda v: v.reshape(-1, *v.shape[2:])
        return (self.semantic_control(self.unshuffle(flat(semantic))),
                self.restoration_adapter(self.unshuffle(flat(restoration))))

    def forward(self, x: torch.Tensor, t: torch.Tensor, semantic: torch.Tensor,
                restoration: torch.Tensor, ctx: TemporalContext | None = None,
                conditions: tuple[list[torch.Tensor], list[torch.Tensor]] | None = None
                ) -> torch.Tensor:
        """x, semantic, restoration: (B, T, C, H, W); t: (B, T) in [0, 1]. Returns x0 (B,T,3,H,W).

        restoration has 4 channels: the upsampled decoded frame in [-1, 1] and its age.
        `conditions`: encode_conditions(semantic, restoration), when the caller has them."""
        b, frames = x.shape[:2]
        flat = lambda v: v.reshape(b * frames, *v.shape[2:])
        temb = self.time(timestep_embedding(flat(t), self.config.channels[0]))
        sem, res = conditions or self.encode_conditions(semantic, restoration)
        if ctx is not None:
            ctx._layer = 0
        temporal = ctx is not None and self.use_temporal
        h = self.stem(self.unshuffle(flat(x)))
        skips = []
        for i, (block, attn, down) in enumerate(zip(self.down, self.down_attn, self.downsample,
                                                    strict=True)):
            h = attn(block(h, temb) + sem[i] + res[i])
            if temporal and f"down{i}" in self.temporal:
                h = self.temporal[f"down{i}"](h, frames, ctx)
            skips.append(h)
            h = down(h)
        h = self.mid_attn(self.mid(h, temb))
        if temporal:
            h = self.temporal["mid"](h, frames, ctx)
        for j, (block, attn) in enumerate(zip(self.up, self.up_attn, strict=True)):
            i = len(self.config.channels) - 1 - j
            if j:
                h = F.interpolate(h, scale_factor=2, mode="nearest")
            h = attn(block(torch.cat([h, skips[i]], 1), temb))
            if temporal and f"up{i}" in self.temporal:
                h = self.temporal[f"up{i}"](h, frames, ctx)
        residual = self.shuffle(self.out(h))
        return (flat(restoration)[:, :3] + residual).reshape(x.shape)

    def temporal_parameters(self) -> list[nn.Parameter]:
        return list(self.temporal.parameters())


def component_parameters(model: VideoDenoiser) -> dict[str, int]:
    """Parameter counts per component (what `ulvr cdm params` prints)."""
    count = lambda m: sum(p.numel() for p in m.parameters())
    semantic = count(model.semantic_control)
    restoration = count(model.restoration_adapter)
    temporal = count(model.temporal)
    total = count(model)
    return {"backbone": total - semantic - restoration - temporal, "semantic_control": semantic,
            "restoration_adapter": restoration, "temporal_adapter": temporal, "total": total}
