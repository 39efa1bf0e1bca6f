"""CompressAI models and their weights: import compressai (or say how to install it), the zoo's
architectures, published weights in the torch hub cache (never downloaded here), and checkpoints
read safely (safetensors, or `torch.load(weights_only=True)`) with one-line errors when they do
not fit an architecture."""

from __future__ import annotations

import functools
import io
import os
from pathlib import Path
from typing import Any

from benchmark.core.errors import UlvrError

CHECKPOINT_FORMAT = "ulvr-compressai-v1"   # safetensors metadata written by train-codec


def compressai_module() -> Any:
    """Import compressai (after making torchvision importable), or say how to install it."""
    import benchmark.core.torch_setup  # noqa: F401  (compressai imports torchvision)

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
    """Where torch hub (and so compressai.zoo) keeps downloaded weights: $TORCH_HOME/hub, else
    $XDG_CACHE_HOME/torch/hub, else ~/.cache/torch/hub (torch.hub.get_dir's rule, without
    importing torch)."""
    home = os.environ.get("TORCH_HOME") or os.path.join(
        os.environ.get("XDG_CACHE_HOME") or os.path.expanduser("~/.cache"), "torch")
    return Path(home).expanduser() / "hub" / "checkpoints"


def compressai_installed() -> bool:
    """Whether compressai is installed, without importing it (its import takes seconds: it
    imports torch_geometric)."""
    import importlib.util

    return importlib.util.find_spec("compressai") is not None


@functools.cache
def zoo_urls() -> dict:
    """CompressAI's table of published weights (zoo name -> metric -> quality -> URL), read
    from its zoo modules' source (`root_url` and `model_urls`) instead of importing compressai,
    so `ulvr list methods` stays fast; the same dictionaries the import would give."""
    import ast
    import importlib.util

    spec = importlib.util.find_spec("compressai")
    if spec is None or spec.origin is None:
        raise UlvrError("compressai is not installed: install it with "
                        "'pip install -c constraints.txt compressai==1.2.8'")
    urls: dict = {}
    for module in ("image", "video"):
        source = Path(spec.origin).parent / "zoo" / f"{module}.py"
        namespace: dict = {"__builtins__": {}}
        for node in ast.parse(source.read_text(encoding="utf-8")).body:
            if isinstance(node, ast.Assign) and [getattr(t, "id", "") for t in node.targets] \
                    in (["root_url"], ["model_urls"]):
                exec(compile(ast.Module([node], []), str(source), "exec"), namespace)  # noqa: S102
        urls.update(namespace.get("model_urls", {}))
    return urls


def published_weights(zoo_name: str, metric: str, quality: int) -> tuple[str, Path]:
    """URL of a published CompressAI model and the hub-cache path it is read from."""
    urls = zoo_urls()
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
