"""The resumable state of a training or distillation run, beside its checkpoint
(`<out>.state.pt`): written atomically every few minutes and at the end, so that a run stopped
anywhere (a session's end, Ctrl-C, a lost machine) continues where it was with `--resume`.

The state holds the modules' and optimisers' state dicts, the step, the seconds trained, the
losses and both random streams (the sampler's NumPy generator and torch's), so a resumed run
takes the same steps as one that was never stopped (tests/test_cdm_model.py).
"""

from __future__ import annotations

import time
from pathlib import Path

import numpy as np
import torch

from benchmark.core.errors import UlvrError

SAVE_EVERY_S = 300.0   # a stopped run loses at most this much work


class RunState:
    """Where a run's state lives and when it is next due to be written."""

    def __init__(self, out: str | Path, every_s: float = SAVE_EVERY_S) -> None:
        self.path = Path(str(out) + ".state.pt")
        self.path.parent.mkdir(parents=True, exist_ok=True)
        self.every_s = every_s
        self.last = time.monotonic()

    def due(self) -> bool:
        """Whether `every_s` seconds have passed since the last write."""
        return time.monotonic() - self.last >= self.every_s

    def save(self, state: dict, rng: np.random.Generator) -> None:
        """Write `state` (tensors and plain values) and the random streams atomically."""
        tmp = self.path.with_name(self.path.name + ".tmp")
        torch.save({**state, "numpy_rng": rng.bit_generator.state,
                    "torch_rng": torch.get_rng_state()}, tmp)
        tmp.replace(self.path)
        self.last = time.monotonic()

    def load(self, device: str, rng: np.random.Generator) -> dict:
        """The saved state, with `rng` and torch's generator set to where they were; an error
        naming the file when there is none."""
        if not self.path.exists():
            raise UlvrError(f"no training state at {self.path} to resume from: run without "
                            "--resume to start")
        state = torch.load(self.path, map_location=device, weights_only=True)
        rng.bit_generator.state = state["numpy_rng"]
        torch.set_rng_state(state["torch_rng"].cpu())
        return state
