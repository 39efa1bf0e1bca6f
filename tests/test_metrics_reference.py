"""PSNR and MS-SSIM against independent references: ffmpeg's psnr filter, piq, closed forms."""

from __future__ import annotations

import re
import subprocess

import numpy as np
import piq
import pytest
import torch

from benchmark.ffmpeg import ffmpeg_exe
from benchmark.metrics.base import create_metric, evaluate
from benchmark.metrics.msssim import ms_ssim
from benchmark.metrics.psnr import MAX_PSNR
from benchmark.video_io import FrameChunk, Y4MVideo, Y4MWriter


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
    wy, wu, wv = 6, 1, 1
    expected = (wy * result.values["psnr-y"] + wu * result.values["psnr-u"]
                + wv * result.values["psnr-v"]) / 8
    assert result.values["psnr-yuv"] == pytest.approx(expected, abs=1e-9)
    assert result.protocol["yuv_weights"] == "6:1:1"


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
