"""Temporal metrics (tOF, tLP, warping error, flicker) on synthetic motion and real frames."""

from __future__ import annotations

import numpy as np
import pytest

from benchmark.core.errors import UlvrError
from benchmark.data.manifest import Sequence
from benchmark.data.video_io import FrameChunk
from benchmark.metrics.base import MetricResult, create_metric, evaluate, metric_class
from benchmark.metrics.temporal import dis_flow, flow, luma_u8, valid_mask

FRAMES = 8
SPEED = 2  # pixels per frame, to the right


def _chunks(frames: np.ndarray, size: int) -> list[FrameChunk]:
    return [FrameChunk(rgb_frames=frames[i:i + size]) for i in range(0, len(frames), size)]


def _run(name: str, ref: np.ndarray, rec: np.ndarray, size: int = 4) -> MetricResult:
    metric = create_metric(name)
    return evaluate(_chunks(ref, size), _chunks(rec, size), [metric])[name]


@pytest.fixture(scope="module")
def frames(carphone: Sequence) -> np.ndarray:
    """The carphone fixture's real frames, (6, 144, 176, 3) uint8."""
    return np.concatenate([c.rgb() for c in carphone.frames(6)])


@pytest.fixture(scope="module")
def pan(frames: np.ndarray) -> np.ndarray:
    """Carphone's first frame seen through a 160 px window sliding left: content moves SPEED px
    to the right per frame, every frame a real (uninterpolated) crop."""
    margin, width = SPEED * (FRAMES - 1), frames.shape[2] - SPEED * (FRAMES - 1)
    return np.stack([frames[0, :, margin - SPEED * k:margin - SPEED * k + width]
                     for k in range(FRAMES)])


def _noisy(video: np.ndarray, sigma: float, seed: int = 0) -> np.ndarray:
    """Independent Gaussian noise on every frame: spatially local flicker."""
    noise = np.random.default_rng(seed).normal(0.0, sigma, video.shape)
    return np.clip(video + noise, 0, 255).astype(np.uint8)


def _texture(shape: tuple[int, ...], low: int, high: int, seed: int = 1) -> np.ndarray:
    """Smooth random RGB texture with values in [low, high]."""
    import cv2
    noise = np.random.default_rng(seed).normal(size=shape).astype(np.float32)
    smooth = np.stack([cv2.GaussianBlur(f, (0, 0), 3) for f in noise])
    smooth = (smooth - smooth.min()) / (smooth.max() - smooth.min())
    return np.rint(low + smooth * (high - low)).astype(np.uint8)


def _alternate(video: np.ndarray, offset: int) -> np.ndarray:
    """Brightness offset +offset, -offset, +offset, ... per frame, clipped to 8 bits."""
    signs = np.where(np.arange(len(video)) % 2 == 0, offset, -offset)
    return np.clip(video.astype(np.int16) + signs[:, None, None, None], 0, 255).astype(np.uint8)


def test_registered_lower_is_better() -> None:
    for name in ("tof", "tlp", "warp-error", "flicker"):
        cls = metric_class(name)
        assert cls.name == name and cls.lower_is_better and cls.outputs == (name,)


def test_tof_zero_for_identical(frames: np.ndarray) -> None:
    result = _run("tof", frames, frames)
    assert result.values["tof"] < 1e-6
    assert len(result.per_frame["tof"]) == len(frames) - 1
    assert result.protocol["flow"] == "OpenCV DISOpticalFlow"
    assert result.protocol["flow_preset"] == "medium"
    assert result.protocol["flow_params"]["patch_size"] == 8


def test_dis_flow_measures_the_pan(pan: np.ndarray) -> None:
    """The flow the metrics rely on: SPEED px right, nothing vertical (median over pixels)."""
    gray = luma_u8(pan)
    f = flow(dis_flow(), gray[0], gray[1])
    assert np.median(f[..., 0]) == pytest.approx(SPEED, abs=0.05)
    assert np.median(f[..., 1]) == pytest.approx(0.0, abs=0.05)


def test_tof_of_static_reconstruction_is_the_pan_speed(pan: np.ndarray) -> None:
    # The reference moves SPEED px/frame; a frozen reconstruction has zero flow, so the flow
    # difference is the reference's motion: ~SPEED px at every pixel. DIS is sub-pixel accurate
    # on a pure translation of real texture (measured 2.003 mean, every pair within 0.025, the
    # whole frame, no border crop): 0.1 px (5 %) leaves room for other OpenCV builds.
    static = np.repeat(pan[:1], FRAMES, axis=0)
    result = _run("tof", pan, static)
    assert result.values["tof"] == pytest.approx(SPEED, abs=0.1)
    assert np.allclose(result.per_frame["tof"], SPEED, atol=0.1)
    assert len(result.per_frame["tof"]) == FRAMES - 1


def test_valid_mask_excludes_entering_content(pan: np.ndarray) -> None:
    gray = luma_u8(pan)
    dis = dis_flow()
    mask = valid_mask(flow(dis, gray[1], gray[0]), flow(dis, gray[0], gray[1]))
    assert not mask[:, :SPEED].any()         # content entering on the left has no source
    assert mask[:, 2 * SPEED:].mean() > 0.95  # everything else is visible in both frames


def test_warp_error_small_on_pan_large_with_flicker(pan: np.ndarray) -> None:
    clean = _run("warp-error", pan, pan).values["warp-error"]
    noisy = _run("warp-error", pan, _noisy(pan, sigma=8.0)).values["warp-error"]
    # Noise of sigma 8 on independent frames: E[(a - b)^2] = 2 sigma^2 / 255^2 ~ 2.0e-3.
    assert noisy == pytest.approx(2 * 8.0 ** 2 / 255.0 ** 2, rel=0.2)
    assert clean < 1e-4  # the pan is followed exactly; only interpolation is left (~6e-7)
    assert noisy > 10 * clean


def test_warp_error_protocol(frames: np.ndarray) -> None:
    protocol = _run("warp-error", frames, frames).protocol
    assert protocol["flow"] == "OpenCV DISOpticalFlow"
    assert "[0, 1]" in protocol["scale"]


def test_flicker_of_alternating_offset_without_clipping() -> None:
    ref = _texture((FRAMES, 64, 80, 3), 20, 235)  # no clipping at +-5
    result = _run("flicker", ref, _alternate(ref, 5))
    assert np.allclose(result.per_frame["flicker"], 10.0, atol=1e-4)
    assert _run("flicker", ref, ref).values["flicker"] == 0.0


def test_flicker_is_clipping_aware() -> None:
    """Grey frames, half at 252 and half at 100 (grey's luma is its level): +5 clips the 252s to
    255, so the mean moves +4 (+3 and +5) and -5 moves it -5: every pair flickers by exactly 9."""
    ref = np.full((FRAMES, 16, 32, 3), 100, np.uint8)
    ref[:, :, :16] = 252
    result = _run("flicker", ref, _alternate(ref, 5))
    assert np.allclose(result.per_frame["flicker"], 9.0, atol=1e-4)   # float32 luma weights
    assert len(result.per_frame["flicker"]) == FRAMES - 1
    assert _run("flicker", ref, ref).values["flicker"] == 0.0


@pytest.mark.parametrize("name", ["tof", "warp-error", "flicker"])
def test_streaming_is_chunk_size_independent(name: str, frames: np.ndarray) -> None:
    rec = _noisy(frames, sigma=6.0, seed=3)
    runs = [_run(name, frames, rec, size).per_frame[name] for size in (1, 3, 8)]
    metric = create_metric(name)  # reference and reconstruction chunked differently
    mixed = evaluate(_chunks(frames, 2), _chunks(rec, 5), [metric])[name].per_frame[name]
    assert len(runs[0]) == len(frames) - 1
    assert runs[0] == runs[1] == runs[2] == mixed


@pytest.mark.parametrize("name", ["tof", "warp-error", "flicker"])
def test_single_frame_is_refused(name: str, frames: np.ndarray) -> None:
    with pytest.raises(UlvrError, match="two frames"):
        _run(name, frames[:1], frames[:1])


def test_tlp_zero_for_identical(frames: np.ndarray) -> None:
    available = metric_class("tlp").availability()
    if not available.ok:
        pytest.skip(f"tLP unavailable: {available.reason}")
    result = _run("tlp", frames[:4], frames[:4], size=3)
    assert result.values["tlp"] < 1e-6
    assert len(result.per_frame["tlp"]) == 3
    assert result.protocol["lpips"]["network"] == "alex"
    rec = _noisy(frames[:4], sigma=12.0)
    noisy = [_run("tlp", frames[:4], rec, size).per_frame["tlp"] for size in (1, 3)]
    assert np.mean(noisy[0]) > 1e-3
    assert np.allclose(noisy[0], noisy[1], rtol=1e-5, atol=1e-7)  # batching may round apart


def test_tecogan_crop_is_crop_8x8() -> None:
    """TecoGAN's crop_8x8: centred, multiples of 32, at least 8 px each side."""
    from benchmark.metrics.temporal import tecogan_crop

    assert tecogan_crop(144, 176) == (slice(8, 136), slice(8, 168))
    assert tecogan_crop(128, 320) == (slice(16, 112), slice(16, 304))
    assert tecogan_crop(176, 162) == (slice(8, 168), slice(17, 145))
    with pytest.raises(UlvrError, match="at least 48x48"):
        tecogan_crop(40, 176)


def _tecogan_tof(target: np.ndarray, output: np.ndarray) -> list[float]:
    """tOF written out as TecoGAN's metrics.py loop does it, with OpenCV directly."""
    import cv2

    cutfr, values = 2, []
    pre_out = pre_tar = None
    for i in range(cutfr, len(target) - cutfr):
        out_grey = cv2.cvtColor(output[i], cv2.COLOR_RGB2GRAY)
        tar_grey = cv2.cvtColor(target[i], cv2.COLOR_RGB2GRAY)
        if i > cutfr:
            tar_of = cv2.calcOpticalFlowFarneback(pre_tar, tar_grey, None,
                                                  0.5, 3, 15, 3, 5, 1.2, 0)
            out_of = cv2.calcOpticalFlowFarneback(pre_out, out_grey, None,
                                                  0.5, 3, 15, 3, 5, 1.2, 0)
            h, w = target.shape[1:3]                 # 144 x 162 here: rows 8:136, cols 17:145
            assert (h, w) == (144, 162)
            diff = np.abs(tar_of[8:136, 17:145] - out_of[8:136, 17:145])
            values.append(float(np.sqrt(np.sum(diff * diff, axis=-1)).mean()))
        pre_out, pre_tar = out_grey, tar_grey
    return values


def test_tof_tecogan_equals_a_direct_farneback_computation(pan: np.ndarray) -> None:
    rec = _noisy(np.repeat(pan[:1], FRAMES, axis=0), sigma=4.0, seed=5)  # frozen and noisy
    theirs = _tecogan_tof(pan, rec)
    result = _run("tof-tecogan", pan, rec, size=3)
    assert len(theirs) == FRAMES - 5 == len(result.per_frame["tof-tecogan"])
    np.testing.assert_allclose(result.per_frame["tof-tecogan"], theirs, rtol=1e-6, atol=1e-6)
    assert result.values["tof-tecogan"] == pytest.approx(np.mean(theirs), rel=1e-6)
    assert result.values["tof-tecogan"] > 1.0          # the pan's motion is missing
    assert result.protocol["flow_params"]["winsize"] == 15
    assert result.protocol["skipped_frames_each_end"] == 2
    assert _run("tof-tecogan", pan, pan).values["tof-tecogan"] == 0.0
    with pytest.raises(UlvrError, match="at least 6 frames"):
        _run("tof-tecogan", pan[:5], pan[:5])


def test_tlp_tecogan_is_x100_on_the_crop_without_the_ends(pan: np.ndarray) -> None:
    available = metric_class("tlp-tecogan").availability()
    if not available.ok:
        pytest.skip(f"tLP unavailable: {available.reason}")
    rec = _noisy(pan, sigma=10.0, seed=6)
    result = _run("tlp-tecogan", pan, rec, size=3)
    cropped = _run("tlp", pan[:, 8:136, 17:145], rec[:, 8:136, 17:145])
    assert len(result.per_frame["tlp-tecogan"]) == FRAMES - 5
    np.testing.assert_allclose(result.per_frame["tlp-tecogan"],
                               100 * np.array(cropped.per_frame["tlp"][2:-2]), rtol=1e-4,
                               atol=1e-6)
    assert result.protocol["unit"].startswith("x100")
    assert _run("tlp-tecogan", pan, pan).values["tlp-tecogan"] == 0.0
