"""The resumable state of a training or distillation run, beside its checkpoint
(`<out>.state.pt`): written atomically every few minutes and at the end, so that a run stopped
anywhere (a session's end, Ctrl-C, a lost machine) continues where it was with `--resume`.

The state holds the modules' and optimisers' state dicts, the step, the seconds trained, the
losses and the random streams (the sampler's NumPy generator, torch's CPU generator and, on a
GPU, CUDA's), so a resumed run takes the same steps as one that was never stopped
(tests/test_cdm_model.py). It also holds the run's identity (its settings but the step budget,
and the digest of the checkpoint it learns from): a resume with other settings, or from a
teacher that has changed since, is refused instead of silently mixing two runs.
"""

from __future__ import annotations

import hashlib
import json
import time
from pathlib import Path

import numpy as np
import torch

from benchmark.core.errors import UlvrError

SAVE_EVERY_S = 300.0   # a stopped run loses at most this much work


class RunState:
    """Where a run's state lives and when it is next due to be written."""

    def __init__(self, out: str | Path, identity: dict, every_s: float = SAVE_EVERY_S) -> None:
        self.path = Path(str(out) + ".state.pt")
        self.path.parent.mkdir(parents=True, exist_ok=True)
        self.identity = json.loads(json.dumps(identity, sort_keys=True, default=str))
        self.every_s = every_s
        self.last = time.monotonic()

    def due(self) -> bool:
        """Whether `every_s` seconds have passed since the last write."""
        return time.monotonic() - self.last >= self.every_s

    def save(self, state: dict, rng: np.random.Generator) -> None:
        """Write `state` (tensors and plain values) and the random streams atomically."""
        tmp = self.path.with_name(self.path.name + ".tmp")
        cuda = torch.cuda.get_rng_state_all() if torch.cuda.is_initialized() else []
        torch.save({**state, "numpy_rng": rng.bit_generator.state,
                    "torch_rng": torch.get_rng_state(), "cuda_rng": cuda,
                    "identity": json.dumps(self.identity, sort_keys=True)}, tmp)
        tmp.replace(self.path)
        self.last = time.monotonic()

    def load(self, device: str, rng: np.random.Generator) -> dict:
        """The saved state, with `rng` and torch's generator set to where they were; an error
        naming the file when there is none."""
        if not self.path.exists():
            raise UlvrError(f"no training state at {self.path} to resume from: run without "
                            "--resume to start")
        state = torch.load(self.path, map_location=device, weights_only=True)
        if "identity" in state:    # states written before identities were kept resume as before
            saved = json.loads(state["identity"])
            changed = sorted(k for k in {*saved, *self.identity}
                             if saved.get(k) != self.identity.get(k))
            if changed:
                what = ", ".join(f"{k}: {saved.get(k)!r} then, {self.identity.get(k)!r} now"
                                 for k in changed[:3])
                raise UlvrError(f"the training state at {self.path} belongs to a run with other "
                                f"settings ({what}): resume with the same settings, or remove "
                                "the state to start again")
        rng.bit_generator.state = state["numpy_rng"]
        torch.set_rng_state(state["torch_rng"].cpu())
        if state.get("cuda_rng"):
            torch.cuda.set_rng_state_all([s.cpu() for s in state["cuda_rng"]])
        return state


def run_identity(settings: object, learns_from: str | None = None) -> dict:
    """What a resumed run must share with the saved one: its settings but the step budget, and
    the digest of the checkpoint it learns from (a distillation's teacher)."""
    from dataclasses import asdict

    identity = {k: v for k, v in asdict(settings).items() if k != "steps"}
    if learns_from:
        identity["learns_from_sha256"] = hashlib.sha256(Path(learns_from).read_bytes()).hexdigest()
    return identity
