"""Causal few-step streaming decoding with a key/value cache.

Frames arrive one block (b frames) at a time. For each block: k denoising steps from noise, each
attending to the cached keys/values of past blocks (a sliding window of W frames plus the first
`sinks` frames), re-noising the predicted clean frame between steps (DDIM, eta = 0); then one
pass of the clean block at t = 0 writes its keys/values into the cache (`cache_from="clean"`,
k + 1 network evaluations per frame), or the last denoising step writes them as it runs
(`"last-step"`, k evaluations: the cache holds that step's keys/values, and a student must be
distilled that way). No future frame is read: a block's output depends only on its own and
earlier inputs.
"""

from __future__ import annotations

import torch

from methods.causal_diffusion.diffusion import renoise, sample_times
from methods.causal_diffusion.model import TemporalContext, VideoDenoiser

CACHE_SOURCES = ("clean", "last-step")


class StreamingDecoder:
    """Holds the KV cache of one sequence; call decode_block() for consecutive blocks."""

    def __init__(self, model: VideoDenoiser, steps: int = 2, block: int = 1,
                 window: int | None = 16, sinks: int = 0, cache_from: str = "clean") -> None:
        if cache_from not in CACHE_SOURCES:
            raise ValueError(f"cache_from '{cache_from}' is not one of {CACHE_SOURCES}")
        self.model, self.steps, self.block = model, steps, block
        self.window, self.sinks, self.cache_from = window, sinks, cache_from
        self.reset()

    def reset(self) -> None:
        self.cache: dict = {}
        self.next_index = 0
        self.evaluations = 0

    def _ctx(self, frames: int, write: bool) -> TemporalContext:
        index = torch.arange(self.next_index, self.next_index + frames)
        return TemporalContext(index, mode="causal", block=self.block, window=self.window,
                               sinks=self.sinks, cache=self.cache, write=write)

    def decode_block(self, noise: torch.Tensor, semantic: torch.Tensor,
                     restoration: torch.Tensor, detach_cache: bool = True,
                     exit_step: int | None = None,
                     previous: torch.Tensor | None = None,
                     steps: int | None = None) -> torch.Tensor:
        """Clean frames (B, b, 3, H, W) of the next block from its noise and conditions.

        `exit_step` (training, Self-Forcing's stochastic exit): run the sampler's steps up to
        that one (0-based) without gradient, return the prediction of that step with gradient,
        and write the cache from it detached; so a rollout trains through one step per block
        at the memory cost of one. With cache_from="last-step" the exit step writes the cache
        as it runs (training then exits at the last step, as inference does).

        `previous` (a recurrent start, inference only): the clean frames to start from, as if
        the first step had predicted them; the block then runs the later steps only, from
        those frames re-noised to the second time (k - 1 evaluations instead of k).

        `steps` (inference only) runs this block with another number of uniform DDIM steps
        than the decoder's k (the key frames of a recurrent decode)."""
        frames = noise.shape[1]
        x, x0 = noise, noise
        k = self.steps if steps is None else steps
        if k != self.steps and (exit_step is not None or previous is not None or k < 1):
            raise ValueError("a block's own step count needs k >= 1, no exit step and no "
                             "recurrent start")
        times = sample_times(k) + [0.0]
        last = k - 1 if exit_step is None else exit_step
        if not 0 <= last < k:
            raise ValueError(f"exit_step {exit_step} is outside 0..{k - 1}")
        first = 0
        if previous is not None:
            if k < 2 or last != k - 1:
                raise ValueError("a recurrent start needs k >= 2 and no exit step before the "
                                 "last")
            x, first = renoise(noise, previous, times[0], times[1]), 1
        in_step = self.cache_from == "last-step"
        conditions = self.model.encode_conditions(semantic, restoration)   # once per block
        for i, (t_now, t_next) in enumerate(zip(times[:-1], times[1:], strict=True)):
            if i < first:
                continue
            t = torch.full(x.shape[:2], t_now, device=x.device)
            with torch.set_grad_enabled(torch.is_grad_enabled()
                                        and (exit_step is None or i == last)):
                ctx = self._ctx(frames, write=in_step and i == last)
                x0 = self.model(x, t, semantic, restoration, ctx, conditions=conditions)
            if i == last:
                break
            x = renoise(x, x0, t_now, t_next)
        if not in_step:
            clean = x0.detach() if detach_cache else x0
            zero = torch.zeros(x.shape[:2], device=x.device)
            self.model(clean, zero, semantic, restoration, self._ctx(frames, write=True),
                       conditions=conditions)
        if detach_cache:
            self.cache = {k: tuple(v.detach() for v in entry) for k, entry in self.cache.items()}
        self.next_index += frames
        self.evaluations += (last + 1 - first + (not in_step)) * frames
        return x0


def uncached_causal(model: VideoDenoiser, x: torch.Tensor, t: torch.Tensor,
                    semantic: torch.Tensor, restoration: torch.Tensor, block: int = 1,
                    window: int | None = None, sinks: int = 0) -> torch.Tensor:
    """One forward pass over all frames with the block-causal mask and no cache: what streaming
    computes, written the slow way (its reference in tests)."""
    ctx = TemporalContext(torch.arange(x.shape[1]), mode="causal", block=block, window=window,
                          sinks=sinks)
    return model(x, t, semantic, restoration, ctx)
