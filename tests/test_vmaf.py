"""VMAF against a direct ffmpeg libvmaf call on the same pair of files."""

from __future__ import annotations

import json
import subprocess

import numpy as np
import pytest

from benchmark.core.ffmpeg import ffmpeg_exe
from benchmark.data.video_io import Y4MVideo
from benchmark.data.video_write import Y4MWriter
from benchmark.metrics.base import create_metric, evaluate


def test_vmaf_matches_direct_libvmaf(embedded, tmp_path):
    seq = next(s for s in embedded if s.name == "bikes")
    ref = tmp_path / "ref.y4m"
    with Y4MWriter(ref, seq.width, seq.height, seq.fps) as writer:
        for chunk in seq.frames():
            writer.write(chunk)
    subprocess.run([ffmpeg_exe(), "-v", "error", "-y", "-i", str(ref), "-c:v", "libx264", "-qp",
                    "40", "-f", "h264", str(tmp_path / "d.264")], check=True)
    dist = tmp_path / "dist.y4m"
    subprocess.run([ffmpeg_exe(), "-v", "error", "-y", "-i", str(tmp_path / "d.264"),
                    "-pix_fmt", "yuv420p", str(dist)], check=True)
    log = tmp_path / "direct.json"
    subprocess.run([ffmpeg_exe(), "-v", "error", "-i", str(dist), "-i", str(ref), "-lavfi",
                    f"[0:v][1:v]libvmaf=log_fmt=json:log_path={log}", "-f", "null", "-"],
                   check=True)
    direct = json.loads(log.read_text())
    theirs = [f["metrics"]["vmaf"] for f in direct["frames"]]
    result = evaluate(Y4MVideo.open(str(ref)).chunks(4), Y4MVideo.open(str(dist)).chunks(4),
                      [create_metric("vmaf")])["vmaf"]
    np.testing.assert_allclose(result.per_frame["vmaf"], theirs, atol=1e-4)
    assert result.values["vmaf"] == pytest.approx(direct["pooled_metrics"]["vmaf"]["mean"],
                                                  abs=1e-4)
    assert 20 < result.values["vmaf"] < 100
    same = evaluate(Y4MVideo.open(str(ref)).chunks(), Y4MVideo.open(str(ref)).chunks(),
                    [create_metric("vmaf")])["vmaf"]
    assert same.values["vmaf"] > 95


def test_rgb_only_reconstruction_is_scored_like_psnr(embedded):
    """An RGB-output method that returns the reference's exact RGB scores what identical
    videos score (before: its luma was compared with the native planes, off by rounding)."""
    from benchmark.core.colour import rgb_to_yuv420
    from benchmark.data.video_io import FrameChunk
    from benchmark.metrics.base import create_metric, evaluate

    seq = next(s for s in embedded if s.name == "carphone")
    ref = next(iter(seq.frames()))
    rgb_only = FrameChunk(rgb_frames=ref.rgb())
    via_rgb = FrameChunk(planes=rgb_to_yuv420(ref.rgb(), bit_depth=8), bit_depth=8)
    got = evaluate([ref], [rgb_only], [create_metric("vmaf")])["vmaf"]
    same = evaluate([via_rgb], [via_rgb], [create_metric("vmaf")])["vmaf"]
    assert got.per_frame["vmaf"] == same.per_frame["vmaf"]
    assert got.protocol["yuv_reference"] == "via-rgb"
