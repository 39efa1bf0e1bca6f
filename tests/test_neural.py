"""Neural codecs (CompressAI): real bitstreams, weights from the hub cache or a checkpoint
(loaded safely, clear errors), the train-codec command, and the shipped locally trained method.

Models here are randomly initialised (small where the architecture allows): the properties
tested (bitstream round trip, determinism, bits = file bytes, loading errors) do not depend on
trained weights. The shipped checkpoints are tested end to end through the runner."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
import torch
from safetensors.torch import save_file

from baselines.compressai_weights import CHECKPOINT_FORMAT, load_checkpoint, published_weights
from baselines.neural import CompressAICodec
from baselines.neural_stream import read_stream
from benchmark.core.errors import UlvrError
from benchmark.data.manifest import load_dataset
from benchmark.data.store import ResultStore
from benchmark.execution.runner import plan_jobs, run_jobs
from benchmark.protocol import create_method, method_names

PUBLISHED = ["bmshj2018-factorized", "bmshj2018-hyperprior", "mbt2018-mean", "mbt2018",
             "cheng2020-anchor", "cheng2020-attn", "ssf2020"]


@pytest.fixture(scope="module", autouse=True)
def one_thread():
    """One torch thread: these models are small, and the autoregressive ones run many tiny ops
    that a second thread only slows down (badly so on a busy machine)."""
    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(threads)


@pytest.fixture(scope="module")
def short():
    """carphone (176x144), first 3 frames of its evaluation segment."""
    return load_dataset("embedded", max_frames=3, sequences=["carphone"]).sequences[0]


def _random_state(arch: str) -> dict:
    from baselines.compressai_weights import architecture

    torch.manual_seed(0)
    cls = architecture(arch)
    if arch == "ssf2020":
        model = cls()
    elif arch.startswith("cheng"):
        model = cls(16)
    else:
        model = cls(16, 24)
    model.update(force=True)
    return {k: v.contiguous() for k, v in model.state_dict().items()}


@pytest.fixture(scope="module")
def tiny_ckpt(tmp_path_factory):
    """A small random mbt2018-mean checkpoint as train-codec writes it (safetensors + meta)."""
    path = tmp_path_factory.mktemp("ckpt") / "tiny.safetensors"
    save_file(_random_state("mbt2018-mean"), str(path),
              metadata={"format": CHECKPOINT_FORMAT, "arch": "mbt2018-mean"})
    return path


def _decoded(recon) -> np.ndarray:
    return np.concatenate([c.rgb() for c in recon.frames])


@pytest.mark.parametrize("label", ["ckpt", "ckpt-d2"])
def test_round_trip_real_bitstream(label, short, tiny_ckpt, tmp_path):
    method = create_method("mbt2018-mean", checkpoint=str(tiny_ckpt))
    assert method.availability().ok
    recon = method.run(short, method.find_rate_point(label), tmp_path)
    stream = recon.streams["video"]
    assert recon.stream_bits() == {"video": 8 * stream.stat().st_size}
    frames = _decoded(recon)
    assert frames.shape == (3, short.height, short.width, 3) and frames.dtype == np.uint8
    # the header and per-frame lengths are inside the counted file
    header, strings = read_stream(stream)
    assert header == {"width": 176, "height": 144, "downscale": 2 if label == "ckpt-d2" else 1}
    payload = sum(len(s) for frame in strings for s in frame)
    assert payload + recon.info["header_bytes"] + recon.info["frame_overhead_bytes"] \
        == stream.stat().st_size
    # decoding the file again (a fresh model instance) gives the same frames: deterministic,
    # and they come from the bitstream alone
    model = load_checkpoint("mbt2018-mean", tiny_ckpt)
    model.update(force=True)
    again = np.concatenate([c.rgb() for c in method.decode_stream(stream, model)])
    np.testing.assert_array_equal(frames, again)
    coded = (192, 192) if label == "ckpt" else (128, 128)
    assert (recon.info["coded_width"], recon.info["coded_height"]) == coded
    assert recon.timings["decode_s"] > 0


def test_truncated_bitstream_fails_clearly(short, tiny_ckpt, tmp_path):
    method = create_method("mbt2018-mean", checkpoint=str(tiny_ckpt))
    recon = method.run(short, method.find_rate_point("ckpt"), tmp_path)
    stream = recon.streams["video"]
    stream.write_bytes(stream.read_bytes()[:-5])
    with pytest.raises(UlvrError, match="truncated bitstream"):
        _decoded(recon)


@pytest.mark.parametrize("name", PUBLISHED)
def test_published_weights_from_the_hub_cache(name, short, tmp_path, monkeypatch):
    """Offline: a clear error naming the file and folder; with the file in the torch hub cache
    (here random weights under the published name) the method loads it and codes frames."""
    monkeypatch.setenv("TORCH_HOME", str(tmp_path / "torch"))
    method = create_method(name, rate_points=[[1, 1]])
    _, expected = published_weights(method.zoo_name, "mse", 1)
    assert expected.parent == tmp_path / "torch" / "hub" / "checkpoints"
    avail = method.availability()
    assert not avail.ok and expected.name in avail.reason and str(expected.parent) in avail.reason
    with pytest.raises(UlvrError, match=expected.name) as err:
        method.run(short, method.find_rate_point("q1"), tmp_path)
    assert str(expected.parent) in str(err.value)

    expected.parent.mkdir(parents=True)
    torch.save(_random_state(method.zoo_name), expected)
    assert method.availability().ok
    recon = method.run(short, method.find_rate_point("q1"), tmp_path)
    assert _decoded(recon).shape == (3, 144, 176, 3)
    assert recon.info["weights"]["file"] == expected.name
    if name == "ssf2020":
        assert recon.info["strings_per_frame"] == [2, 4]   # one intra frame, then P-frames


def test_checkpoint_good_formats(tmp_path):
    state = _random_state("bmshj2018-hyperprior")
    save_file(state, str(tmp_path / "a.safetensors"))
    torch.save(state, tmp_path / "b.pth")
    torch.save({"epoch": 3, "state_dict": state}, tmp_path / "c.pth.tar")  # CompressAI's trainer
    for name in ("a.safetensors", "b.pth", "c.pth.tar"):
        model = load_checkpoint("bmshj2018-hyperprior", tmp_path / name)
        assert (model.N, model.M) == (16, 24)


def test_checkpoint_of_the_wrong_architecture(tmp_path, tiny_ckpt):
    with pytest.raises(UlvrError, match="holds a mbt2018-mean model, not bmshj2018-hyperprior"):
        load_checkpoint("bmshj2018-hyperprior", tiny_ckpt)
    # without train-codec's metadata: the keys and shapes tell
    torch.save(_random_state("mbt2018-mean"), tmp_path / "mean.pth")
    with pytest.raises(UlvrError, match=r"does not fit the bmshj2018-hyperprior architecture "
                                        r"\(ScaleHyperprior\): .*size mismatch"):
        load_checkpoint("bmshj2018-hyperprior", tmp_path / "mean.pth")
    with pytest.raises(UlvrError, match=r"mean\.pth' does not fit the cheng2020-anchor .* lacks"):
        load_checkpoint("cheng2020-anchor", tmp_path / "mean.pth")
    torch.save(_random_state("bmshj2018-factorized"), tmp_path / "fact.pth")
    with pytest.raises(UlvrError, match="does not fit the mbt2018-mean architecture.*missing "
                                        "keys"):
        load_checkpoint("mbt2018-mean", tmp_path / "fact.pth")
    # and through the method, as `ulvr run --option NAME.checkpoint=PATH` would
    method = create_method("cheng2020-anchor", checkpoint=str(tmp_path / "mean.pth"))
    with pytest.raises(UlvrError, match="does not fit the cheng2020-anchor"):
        method.model(None)


def test_corrupt_and_unsafe_checkpoints(tmp_path, tiny_ckpt):
    truncated = tmp_path / "cut.safetensors"
    truncated.write_bytes(tiny_ckpt.read_bytes()[:1000])
    with pytest.raises(UlvrError, match="cut.safetensors.*not a valid safetensors file"):
        load_checkpoint("mbt2018-mean", truncated)
    garbage = tmp_path / "garbage.pth"
    garbage.write_bytes(os.urandom(4096))
    with pytest.raises(UlvrError, match="cannot read checkpoint .*garbage.pth.*corrupt"):
        load_checkpoint("mbt2018-mean", garbage)
    unsafe = tmp_path / "unsafe.pth"
    torch.save({"state_dict": _random_state("mbt2018-mean"), "hook": _NotATensor()}, unsafe)
    with pytest.raises(UlvrError, match="cannot read checkpoint .*unsafe.pth"):
        load_checkpoint("mbt2018-mean", unsafe)
    with pytest.raises(UlvrError, match="not found"):
        load_checkpoint("mbt2018-mean", tmp_path / "absent.safetensors")
    assert not create_method("mbt2018-mean", checkpoint=str(tmp_path / "absent.pt")) \
        .availability().ok


class _NotATensor:
    """An arbitrary object: a weights-only load must refuse to rebuild it."""


def test_train_codec_lowers_the_loss(tmp_path, short):
    from benchmark.cli import main

    out = tmp_path / "small.safetensors"
    rc = main(["train-codec", "--arch", "mbt2018-mean", "--quality", "2", "--steps", "25",
               "--crop", "64", "--batch-size", "2", "--max-frames", "3", "--channels", "16,16",
               "--lr", "1e-3", "--out", str(out), "--quiet"])
    assert rc == 0 and out.is_file()
    sidecar = json.loads(out.with_suffix(".json").read_text())
    assert sidecar["probe_after"]["loss"] < sidecar["probe_before"]["loss"]
    assert sidecar["config"]["lmbda"] == 0.0006 and sidecar["config"]["steps"] == 25
    assert sidecar["data"]["segment"] == "train"
    assert all(c["segment"] == "train" and c["start"] >= 32 for c in sidecar["data"]["clips"])
    assert sidecar["locally_trained"] is True and len(sidecar["history"]) >= 3
    # the checkpoint runs as a codec
    method = create_method("mbt2018-mean", checkpoint=str(out))
    recon = method.run(short, method.find_rate_point("ckpt-d2"), tmp_path)
    assert _decoded(recon).shape == (3, 144, 176, 3)


def test_train_codec_refuses_bad_options(tmp_path):
    from benchmark.cli import main

    assert main(["train-codec", "--crop", "100", "--out", str(tmp_path / "x.safetensors"),
                 "--quiet"]) == 2
    assert main(["train-codec", "--out", str(tmp_path / "x.pt"), "--quiet"]) == 2


def test_registered_with_availability():
    names = method_names()
    for name in (*PUBLISHED, "mbt2018-mean-local"):
        assert name in names
        method = create_method(name)
        assert isinstance(method, CompressAICodec) and method.kind.value == "neural"
    out = subprocess.run([sys.executable, "-m", "benchmark", "list", "methods"],
                         capture_output=True, text=True,
                         env=dict(os.environ, TORCH_HOME="/nonexistent-torch-home"))
    assert out.returncode == 0, out.stderr
    lines: dict[str, str] = {}   # a method's line, with its reason's wrapped lines joined
    for ln in out.stdout.splitlines():
        if ln.startswith(" ") and lines:
            lines[name] += " " + ln.strip()
        elif ln.strip():
            name = ln.split()[0]
            lines[name] = ln
    assert max(len(ln) for ln in out.stdout.splitlines()) <= 100    # reasons are wrapped
    assert "available" in lines["mbt2018-mean-local"] and "unavailable" not in \
        lines["mbt2018-mean-local"]
    assert "unavailable: published weights not in the torch hub cache" in lines["ssf2020"]
    assert "/nonexistent-torch-home/hub/checkpoints" in lines["mbt2018"].replace(" ", "")


def test_shipped_local_method_through_the_runner(short, tmp_path):
    method = create_method("mbt2018-mean-local")
    assert method.availability().ok, method.availability().reason
    labels = [rp.label for rp in method.rate_points()]
    assert all(label.startswith("local-q") for label in labels)
    store = ResultStore(tmp_path)
    jobs = plan_jobs([short], ["mbt2018-mean-local"], ("psnr",),
                     rate_points=["local-q3", "local-q1-d4"])
    summary = run_jobs(jobs, store, progress=False)
    assert summary.exit_code == 0, summary.failed
    records = {r["rate_point"]["label"]: r for r in store.records()}
    high, low = records["local-q3"], records["local-q1-d4"]
    assert high["kind"] == "neural" and high["status"] == "ok"
    assert high["total_bits"] > low["total_bits"] > 0
    assert high["metrics"]["psnr-rgb"] > low["metrics"]["psnr-rgb"] > 15
    assert high["metrics"]["psnr-rgb"] > 21   # carphone: 23.2 dB over its 32 frames
    assert "mbt2018-mean-local-q3.safetensors" in high["versions"]["weights"]
    assert high["method_info"]["weights"]["source"] == "local"


def test_zoo_urls_read_from_source_equal_compressais_own_tables():
    """`ulvr list methods` reads the published-weights table without importing compressai
    (seconds: it imports torch_geometric); it must be the table the import gives."""
    from baselines.compressai_weights import compressai_module, hub_checkpoint_dir, zoo_urls

    compressai_module()
    import torch
    from compressai.zoo import image, video

    assert zoo_urls() == {**image.model_urls, **video.model_urls}
    assert hub_checkpoint_dir() == Path(torch.hub.get_dir()) / "checkpoints"
