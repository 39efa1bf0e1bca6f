"""PSNR and MS-SSIM against independent references: ffmpeg's psnr filter, piq, closed forms."""

from __future__ import annotations

import re
import subprocess

import numpy as np
import piq
import pytest
import torch

from benchmark.core.errors import UlvrError
from benchmark.core.ffmpeg import ffmpeg_exe
from benchmark.data.video_io import FrameChunk, Y4MVideo
from benchmark.data.video_write import Y4MWriter
from benchmark.metrics.base import create_metric, evaluate, metric_class
from benchmark.metrics.msssim import ms_ssim
from benchmark.metrics.psnr import MAX_PSNR


@pytest.fixture(scope="module")
def video_pair(tmp_path_factory, embedded):
    """A real clip and an x264-coded version of it, both as Y4M."""
    tmp = tmp_path_factory.mktemp("pair")
    seq = next(s for s in embedded if s.name == "bigbuckbunny")  # 320x176: 5 scales fit
    ref = tmp / "ref.y4m"
    with Y4MWriter(ref, seq.width, seq.height, seq.fps) as writer:
        for chunk in seq.frames():
            writer.write(chunk)
    dist = tmp / "dist.y4m"
    subprocess.run([ffmpeg_exe(), "-v", "error", "-y", "-i", str(ref), "-c:v", "libx264",
                    "-qp", "38", "-f", "h264", str(tmp / "d.264")], check=True)
    subprocess.run([ffmpeg_exe(), "-v", "error", "-y", "-i", str(tmp / "d.264"),
                    "-pix_fmt", "yuv420p", str(dist)], check=True)
    return ref, dist, tmp


def test_psnr_matches_ffmpeg_psnr_filter(video_pair):
    ref, dist, tmp = video_pair
    stats = tmp / "psnr.log"
    proc = subprocess.run([ffmpeg_exe(), "-hide_banner", "-i", str(dist), "-i", str(ref),
                           "-lavfi", f"psnr=stats_file={stats}", "-f", "null", "-"],
                          capture_output=True, text=True, check=True)
    frames = [dict(kv.split(":") for kv in line.split()) for line in stats.read_text().splitlines()]
    result = evaluate(Y4MVideo.open(str(ref)).chunks(3), Y4MVideo.open(str(dist)).chunks(5),
                      [create_metric("psnr")])["psnr"]
    for plane in "yuv":
        ours = np.array(result.per_frame[f"psnr-{plane}"])
        theirs = np.array([float(f[f"psnr_{plane}"]) for f in frames])
        np.testing.assert_allclose(ours, theirs, atol=0.01)  # ffmpeg prints 2 decimals
    summary = re.search(r"y:([\d.]+) u:([\d.]+) v:([\d.]+)", proc.stderr)
    for plane, value in zip("yuv", summary.groups(), strict=True):
        assert result.values[f"psnr-{plane}@mse"] == pytest.approx(float(value), abs=0.01)
    assert result.protocol["yuv_weights"] == "6:1:1"
    assert result.protocol["yuv_reference"] == "native"


def test_psnr_yuv_closed_form():
    """Errors of 1, 2 and 4 code values on Y, U and V: MSE 1, 4, 16, so PSNR-Y/U/V are
    20 log10(255) - 0, -6.0206, -12.0412 dB and PSNR-YUV (6:1:1) their weighted mean."""
    rng = np.random.default_rng(2)
    y = rng.integers(20, 200, size=(3, 16, 24), dtype=np.uint8)
    u, v = (rng.integers(20, 200, size=(3, 8, 12), dtype=np.uint8) for _ in range(2))
    metric = create_metric("psnr")
    metric.update(FrameChunk(planes=(y, u, v)), FrameChunk(planes=(y + 1, u + 2, v + 4)))
    values = metric.compute().values
    assert values["psnr-y"] == pytest.approx(48.1308036086791, abs=1e-9)
    assert values["psnr-u"] == pytest.approx(42.11020369539948, abs=1e-9)
    assert values["psnr-v"] == pytest.approx(36.08960378211985, abs=1e-9)
    assert values["psnr-yuv"] == pytest.approx(45.87307864119924, abs=1e-9)
    ten_bit = create_metric("psnr")   # 10-bit peak 1023: 20 log10(1023) for an error of 1
    ten_bit.update(FrameChunk(planes=tuple(p.astype(np.uint16) for p in (y, u, v)),
                              bit_depth=10),
                   FrameChunk(planes=tuple(p.astype(np.uint16) + 1 for p in (y, u, v)),
                              bit_depth=10))
    assert ten_bit.compute().values["psnr-y"] == pytest.approx(60.1975126742432, abs=1e-9)


@pytest.mark.parametrize("bit_depth", [8, 10])
def test_lossless_rgb_reconstruction_reaches_the_cap_on_every_component(carphone, bit_depth):
    """An RGB-only method that outputs exactly the RGB it was given (the reference's planes
    through BT.709 YUV->RGB) is lossless: 100 dB on RGB and on every one of Y, U, V."""
    reference = next(carphone.frames(4))
    if bit_depth == 10:
        reference = FrameChunk(planes=tuple(p.astype(np.uint16) << 2 for p in reference.yuv()),
                               bit_depth=10)
    result = evaluate([reference], [FrameChunk(rgb_frames=reference.rgb().copy())],
                      [create_metric("psnr")])["psnr"]
    for output in ("psnr-rgb", "psnr-y", "psnr-u", "psnr-v", "psnr-yuv"):
        assert result.values[output] == MAX_PSNR, output
    assert result.protocol["yuv_reference"] == "via-rgb"
    # and an RGB error shows on the planes: one code value more on green
    brighter = np.clip(reference.rgb().astype(int) + [0, 1, 0], 0, 255).astype(np.uint8)
    lossy = evaluate([reference], [FrameChunk(rgb_frames=brighter)],
                     [create_metric("psnr")])["psnr"]
    assert 45 < lossy.values["psnr-y"] < MAX_PSNR


def test_psnr_rgb_closed_form():
    rng = np.random.default_rng(0)
    a = rng.integers(20, 230, size=(2, 32, 48, 3), dtype=np.uint8)
    b = a.copy()
    b[..., 0] += 4  # MSE = 16 / 3 over all channels
    metric = create_metric("psnr")
    metric.update(FrameChunk(rgb_frames=a), FrameChunk(rgb_frames=b))
    value = metric.compute().values["psnr-rgb"]
    assert value == pytest.approx(10 * np.log10(255 ** 2 / (16 / 3)), abs=1e-9)
    metric.reset()
    metric.update(FrameChunk(rgb_frames=a), FrameChunk(rgb_frames=a))
    assert metric.compute().values["psnr-rgb"] == MAX_PSNR


def test_ms_ssim_matches_piq_on_real_frames(video_pair):
    ref, dist, _ = video_pair
    a = torch.from_numpy(next(Y4MVideo.open(str(ref)).chunks(4)).rgb()).permute(0, 3, 1, 2)
    b = torch.from_numpy(next(Y4MVideo.open(str(dist)).chunks(4)).rgb()).permute(0, 3, 1, 2)
    theirs = piq.multi_scale_ssim(a.float(), b.float(), data_range=255.0, reduction="none")
    np.testing.assert_allclose(ms_ssim(a, b).numpy(), theirs.numpy(), atol=2e-5)


def test_ms_ssim_small_frames_use_fewer_scales():
    torch.manual_seed(0)
    a = torch.randint(0, 256, (2, 3, 144, 176)).float()
    b = (a + 12 * torch.randn_like(a)).clamp(0, 255)
    weights = torch.tensor([0.0448, 0.2856, 0.3001, 0.2363])
    theirs = piq.multi_scale_ssim(a, b, data_range=255.0, reduction="none", scale_weights=weights)
    np.testing.assert_allclose(ms_ssim(a, b).numpy(), theirs.numpy(), atol=2e-5)
    assert ms_ssim(a, a).numpy() == pytest.approx([1.0, 1.0], abs=1e-6)


def test_ms_ssim_metric_records_scales(carphone):
    result = evaluate(carphone.frames(), carphone.frames(), [create_metric("ms-ssim")])
    assert result["ms-ssim"].values["ms-ssim"] == pytest.approx(1.0, abs=1e-6)
    assert result["ms-ssim"].protocol["scales"] == 4


def test_dataset_scales_is_the_largest_count_valid_for_the_smallest_sequence():
    from benchmark.metrics.msssim import dataset_scales

    # a side of 161 fits 5 scales, 81 fits 4, 41 fits 3 (11-pixel window at the coarsest)
    assert dataset_scales([(176, 144), (320, 128), (320, 176)]) == 4   # the embedded dataset
    assert dataset_scales([(1920, 1080), (320, 176)]) == 5
    assert dataset_scales([(1920, 1080), (64, 48)]) == 3
    assert dataset_scales([(161, 161)]) == 5 and dataset_scales([(160, 1080)]) == 4
    with pytest.raises(UlvrError, match="at least one size"):
        dataset_scales([])


def test_ms_ssim_uses_the_dataset_scales_and_records_them(video_pair):
    """On 320x176 (5 scales fit) a dataset count of 4 gives piq's 4-scale MS-SSIM."""
    ref, dist, _ = video_pair
    fixed = metric_class("ms-ssim")(scales=4)
    result = evaluate(Y4MVideo.open(str(ref)).chunks(4), Y4MVideo.open(str(dist)).chunks(4),
                      [fixed])["ms-ssim"]
    a = torch.from_numpy(np.concatenate([c.rgb() for c in Y4MVideo.open(str(ref)).chunks()]))
    b = torch.from_numpy(np.concatenate([c.rgb() for c in Y4MVideo.open(str(dist)).chunks()]))
    weights = torch.tensor([0.0448, 0.2856, 0.3001, 0.2363])
    theirs = piq.multi_scale_ssim(a.permute(0, 3, 1, 2).float(), b.permute(0, 3, 1, 2).float(),
                                  data_range=255.0, reduction="none", scale_weights=weights)
    np.testing.assert_allclose(result.per_frame["ms-ssim"], theirs.numpy(), atol=2e-5)
    assert result.protocol["scales"] == 4 and result.protocol["scales_from"] == "fixed"
    free = evaluate(Y4MVideo.open(str(ref)).chunks(4), Y4MVideo.open(str(dist)).chunks(4),
                    [create_metric("ms-ssim")])["ms-ssim"]
    assert free.protocol["scales"] == 5 and free.protocol["scales_from"] == "frame size"
    assert abs(free.values["ms-ssim"] - result.values["ms-ssim"]) > 1e-4


def test_ms_ssim_refuses_more_scales_than_the_frames_hold(carphone):
    with pytest.raises(UlvrError, match="5 scales needs frames of at least 161"):
        evaluate(carphone.frames(), carphone.frames(), [metric_class("ms-ssim")(scales=5)])
    with pytest.raises(UlvrError, match="scales=6 is out of range"):
        metric_class("ms-ssim")(scales=6)
