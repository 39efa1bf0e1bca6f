"""Checkpoints of the proposed method: safetensors weights with the model config and training
facts in the file's metadata (one self-describing file), loaded with clear errors.

Lineage (the checkpoint a run started from, `init`, and the teacher a student was distilled
from, `teacher`) is stored as file name and SHA-256, never as a path: a path names a folder of
the machine that trained it (often a temp folder) and means nothing anywhere else.
"""

from __future__ import annotations

import json
import os
from pathlib import Path

from benchmark.core.errors import UlvrError
from benchmark.core.identity import file_identity
from methods.causal_diffusion.model import ModelConfig, VideoDenoiser

CHECKPOINT_DIR = Path(__file__).parent / "checkpoints"
LINEAGE_KEYS = ("init", "teacher")   # settings that name the checkpoint a run started from


def portable_lineage(meta: object) -> object:
    """`meta` with every lineage path (LINEAGE_KEYS, at any depth) replaced by the file's name
    and SHA-256 (`benchmark.core.identity.file_identity`)."""
    if isinstance(meta, list):
        return [portable_lineage(v) for v in meta]
    if not isinstance(meta, dict):
        return meta
    return {k: file_identity(v) if k in LINEAGE_KEYS and isinstance(v, str | os.PathLike)
            and str(v) else portable_lineage(v) for k, v in meta.items()}


def save_checkpoint(model: VideoDenoiser, path: str | os.PathLike, meta: dict) -> Path:
    """Write weights and metadata atomically (temp file, then rename)."""
    from safetensors.torch import save_file

    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    info = portable_lineage({"config": model.config.to_dict(), **meta})
    tmp = path.with_name(path.name + ".tmp")
    state = {k: v.detach().cpu().contiguous() for k, v in model.state_dict().items()}
    save_file(state, str(tmp), metadata={"ulvr": json.dumps(info, sort_keys=True)})
    os.replace(tmp, path)
    return path


def read_metadata(path: str | os.PathLike) -> dict:
    """The metadata stored in a checkpoint."""
    from safetensors import safe_open

    try:
        with safe_open(str(path), framework="pt") as f:
            meta = f.metadata() or {}
        return json.loads(meta["ulvr"])
    except FileNotFoundError as exc:
        raise UlvrError(f"checkpoint {path} does not exist: train one with 'ulvr cdm train' "
                        "or give one: --checkpoint PATH (ulvr regress), --option "
                        "METHOD.checkpoint=PATH (ulvr run)") from exc
    except (KeyError, json.JSONDecodeError) as exc:
        raise UlvrError(f"checkpoint {path} has no ULVR-Bench metadata: it was not written "
                        "by 'ulvr cdm train'") from exc
    except Exception as exc:  # noqa: BLE001 - safetensors raises several types on bad bytes
        raise UlvrError(f"checkpoint {path} is corrupt or not a safetensors file "
                        f"({type(exc).__name__}): re-copy or retrain it") from exc


def load_checkpoint(path: str | os.PathLike, device: str = "cpu") -> tuple[VideoDenoiser, dict]:
    """Model (eval mode) and metadata from a checkpoint; refuses corrupt or mismatched files."""
    from safetensors.torch import load_file

    meta = read_metadata(path)
    model = VideoDenoiser(ModelConfig.from_dict(meta["config"]))
    try:
        state = load_file(str(path), device="cpu")
    except Exception as exc:  # noqa: BLE001
        raise UlvrError(f"checkpoint {path} is corrupt ({type(exc).__name__}): re-copy or "
                        "retrain it") from exc
    try:
        model.load_state_dict(state)
    except RuntimeError as exc:
        first = str(exc).splitlines()[1].strip() if "\n" in str(exc) else str(exc)
        raise UlvrError(f"checkpoint {path} does not fit the video denoiser config it "
                        f"declares: {first}") from exc
    return model.to(device).eval(), meta
