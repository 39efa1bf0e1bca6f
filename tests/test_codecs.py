"""Each classical codec's round trip on a few real frames: bits are bitstream bytes, the decoded
frames come from the bitstream, counts and geometry match, quality is sane."""

from __future__ import annotations

import re
import subprocess

import numpy as np
import pytest

from benchmark.core.errors import UlvrError
from benchmark.core.ffmpeg import ffmpeg_exe
from benchmark.metrics.base import create_metric, evaluate
from benchmark.protocol import RatePoint, create_method

CODECS = ["x264", "x265", "vvenc", "svtav1", "aom"]


@pytest.mark.parametrize("name", CODECS)
@pytest.mark.parametrize("factor", [1, 4])
def test_round_trip(name, factor, carphone, tmp_path):
    method = create_method(name)
    assert method.availability().ok, method.availability().reason
    qp = 32 if name in ("x264", "x265", "vvenc") else 40
    recon = method.run(carphone, RatePoint("t", {"qp": qp, "downscale": factor}), tmp_path)
    stream, sets = recon.streams["video"], recon.streams["parameter_sets"]
    assert recon.stream_bits() == {"video": 8 * stream.stat().st_size,
                                   "parameter_sets": 8 * sets.stat().st_size}
    assert stream.stat().st_size > 0 and sets.stat().st_size > 0
    # payload + regenerated parameter sets decode to the same number of frames (no container)
    received = tmp_path / "decode" / f"receiver{method.suffix}"   # what the decoder read
    out = subprocess.run([ffmpeg_exe(), "-hide_banner", "-i", str(received), "-f", "null", "-"],
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


def test_temporal_point_codes_every_tth_frame_and_holds_it(carphone, tmp_path):
    """qpNN-dK-tT codes frames 0, T, 2T, ... and shows each decoded picture until the next."""
    from baselines.classical import make_rate_point

    point = make_rate_point(32, 1, 4)
    assert point.label == "qp32-d1-t4"
    recon = create_method("x264").run(carphone, point, tmp_path)
    received = tmp_path / "decode" / "receiver.264"
    out = subprocess.run([ffmpeg_exe(), "-hide_banner", "-i", str(received), "-f", "null", "-"],
                         capture_output=True, text=True)
    coded = -(-carphone.num_frames // 4)
    assert re.findall(r"frame=\s*(\d+)", out.stderr)[-1] == str(coded)   # only those are sent
    assert recon.info["coded_frames"] == coded and recon.info["temporal"] == 4
    shown = np.concatenate([c.yuv()[0] for c in recon.frames])
    source = np.concatenate([c.yuv()[0] for c in carphone.frames()])
    assert len(shown) == carphone.num_frames
    assert np.array_equal(shown[1], shown[0]) and np.array_equal(shown[3], shown[0])
    assert not np.array_equal(shown[4], shown[3])               # frame 4 is a new picture
    # held frame 4 is the decoded source frame 4, nearer to it than to frame 3 (never a future)
    err = [np.abs(shown[4].astype(int) - source[k]).mean() for k in (3, 4)]
    assert err[1] < err[0]


@pytest.mark.parametrize("name", CODECS)
def test_lowest_default_point_reaches_d16_t32(name, carphone, tmp_path):
    """Every codec's lowest default point is d16-t32 and runs on QCIF (a 10x8 picture, padded
    up to the codec's minimum) with one coded frame for a 32-frame hold."""
    method = create_method(name)
    lowest = method.rate_points()[-1]
    assert lowest.params["downscale"] == 16 and lowest.params["temporal"] == 32
    recon = method.run(carphone, lowest, tmp_path)
    frames = list(recon.frames)
    assert sum(c.n for c in frames) == carphone.num_frames
    assert recon.info["coded_frames"] == 1
    assert all(c.width == carphone.width and c.height == carphone.height for c in frames)
    luma = np.concatenate([c.yuv()[0] for c in frames])
    assert all(np.array_equal(frame, luma[0]) for frame in luma)   # the one picture, held


def test_hold_is_causal_and_refuses_missing_pictures():
    from baselines.resample import hold

    assert list(hold("abc", 3, 7)) == [("a", 0), ("a", 1), ("a", 2), ("b", 0), ("b", 1),
                                       ("b", 2), ("c", 0)]
    with pytest.raises(UlvrError, match="decoder gave 2 pictures, 3 are needed"):
        list(hold("ab", 3, 7))


def test_vvenc_defaults_to_the_ctc_configuration_and_keeps_the_old_one_reachable():
    """VVenC runs as PSNR comparisons configure it (QPA off, preset slow), every record's
    configuration says so, and the old default (faster, QPA on) is two options away."""
    from benchmark.protocol import create_method

    default = create_method("vvenc")
    old = create_method("vvenc", qpa=True, preset="faster")
    assert default.config()["qpa"] is False and default.config()["preset"] == "slow"
    assert default.encoder_args(37, 25.0)[:6] == ["-preset", "slow", "-qp", "37", "-qpa", "0"]
    assert old.encoder_args(37, 25.0)[:6] == ["-preset", "faster", "-qp", "37", "-qpa", "1"]
    assert old.config()["qpa"] is True and default.config_hash() != old.config_hash()


def test_svtav1_defaults_to_preset_4_and_a_numeric_preset_option_is_a_name():
    """svtav1 runs at the preset chosen by measurement (4); `--option svtav1.preset=8` (which
    parses as a number) gives the old default, with the same job key as the string '8'."""
    from benchmark.protocol import create_method

    default, old = create_method("svtav1"), create_method("svtav1", preset=8)
    assert default.config()["preset"] == "4" and default.encoder_args(63, 25.0)[:2] == \
        ["-preset", "4"]
    assert old.encoder_args(63, 25.0)[:2] == ["-preset", "8"]
    assert old.config_hash() == create_method("svtav1", preset="8").config_hash()
