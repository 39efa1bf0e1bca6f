"""Each classical codec's round trip on a few real frames: bits are bitstream bytes, the decoded
frames come from the bitstream, counts and geometry match, quality is sane."""

from __future__ import annotations

import re
import subprocess

import pytest

from benchmark.ffmpeg import ffmpeg_exe
from benchmark.metrics.base import create_metric, evaluate
from benchmark.registry import RatePoint, create_method

CODECS = ["x264", "x265", "vvenc", "svtav1", "aom"]


@pytest.mark.parametrize("name", CODECS)
@pytest.mark.parametrize("factor", [1, 4])
def test_round_trip(name, factor, carphone, tmp_path):
    method = create_method(name)
    assert method.availability().ok, method.availability().reason
    qp = 32 if name in ("x264", "x265", "vvenc") else 40
    recon = method.run(carphone, RatePoint("t", {"qp": qp, "downscale": factor}), tmp_path)
    stream = recon.streams["video"]
    assert recon.stream_bits() == {"video": 8 * stream.stat().st_size}
    assert stream.stat().st_size > 0
    # the bitstream alone decodes to the same number of frames (no container, no side data)
    out = subprocess.run([ffmpeg_exe(), "-hide_banner", "-i", str(stream), "-f", "null", "-"],
                         capture_output=True, text=True)
    assert re.findall(r"frame=\s*(\d+)", out.stderr)[-1] == str(carphone.num_frames)
    result = evaluate(carphone.frames(), recon.frames, [create_metric("psnr")])["psnr"]
    assert len(result.per_frame["psnr-y"]) == carphone.num_frames
    assert result.values["psnr-y"] > (30 if factor == 1 else 20)
    assert recon.info["downscale"] == factor
    assert method.causal  # low delay by default
    assert method.versions()[method.encoder] != "unknown"


def test_higher_qp_gives_fewer_bits(carphone, tmp_path):
    method = create_method("x265")
    sizes = []
    for qp in (30, 45):
        workdir = tmp_path / str(qp)
        workdir.mkdir()
        sizes.append(sum(method.run(carphone, RatePoint("t", {"qp": qp}), workdir)
                         .stream_bits().values()))
    assert sizes[1] < sizes[0]


def test_random_access_structure_is_not_causal():
    assert not create_method("x265", structure="ra").causal
