"""Video I/O: every reader and writer on real frames, and the bad inputs named in the issue."""

from __future__ import annotations

import numpy as np
import pytest

from benchmark.core.colour import rgb_to_yuv420, yuv420_to_rgb
from benchmark.core.errors import UlvrError
from benchmark.data.manifest import load_dataset
from benchmark.data.video_io import FrameChunk, RawYuvVideo, open_video, parse_yuv_name
from benchmark.data.video_write import Y4MWriter, write_png_frames


def _frames(seq):
    chunks = list(seq.frames())
    return [np.concatenate([c.yuv()[i] for c in chunks]) for i in range(3)]


def test_y4m_round_trip_8_and_10_bit(carphone, tmp_path):
    y, u, v = _frames(carphone)
    for depth in (8, 10):
        path = tmp_path / f"c{depth}.y4m"
        with Y4MWriter(path, carphone.width, carphone.height, carphone.fps, depth) as writer:
            for chunk in carphone.frames(chunk_size=4):
                writer.write(chunk)
        video = open_video(path)
        assert (video.width, video.height, video.bit_depth, video.num_frames) == (
            carphone.width, carphone.height, depth, carphone.num_frames)
        assert video.fps == pytest.approx(29.97, abs=1e-3)
        back = [np.concatenate(p) for p in zip(*(c.yuv(8) for c in video.chunks(5)), strict=True)]
        for a, b in zip((y, u, v), back, strict=True):
            np.testing.assert_array_equal(a, b)


def test_raw_yuv_by_name_and_10_bit(carphone, tmp_path):
    y, u, v = _frames(carphone)
    path = tmp_path / "Carphone_176x144_30fps_420_10bit_YUV.yuv"
    with open(path, "wb") as fh:
        for chunk in carphone.frames():
            fh.write(chunk.yuv_bytes(10))
    assert parse_yuv_name(path.name) == {"width": 176, "height": 144, "fps": 30.0,
                                         "bit_depth": 10}
    video = open_video(path)
    assert video.num_frames == carphone.num_frames
    back = next(video.chunks(carphone.num_frames)).yuv(8)
    np.testing.assert_array_equal(back[0], y)


def test_wrong_yuv_size_is_refused(tmp_path):
    path = tmp_path / "clip_64x48.yuv"
    path.write_bytes(b"\0" * (64 * 48 * 3 // 2 * 2 + 7))
    with pytest.raises(UlvrError, match="not a whole number"):
        open_video(path)


def test_odd_dimensions_are_refused(tmp_path):
    path = tmp_path / "clip_63x48.yuv"
    path.write_bytes(b"\0" * 100)
    with pytest.raises(UlvrError, match="4:2:0"):
        open_video(path)
    with pytest.raises(UlvrError, match="4:2:0"):
        Y4MWriter(tmp_path / "x.y4m", 63, 48, 25)


def test_corrupt_and_missing_videos(tmp_path):
    bad = tmp_path / "broken.mp4"
    bad.write_bytes(b"this is not a video" * 100)
    with pytest.raises(UlvrError, match="broken.mp4"):
        open_video(bad)
    with pytest.raises(UlvrError, match="no such file"):
        open_video(tmp_path / "missing.mkv")
    trunc = tmp_path / "t.y4m"
    trunc.write_bytes(b"YUV4MPEG2 W16 H16 F25:1 C420jpeg\nFRAME\n" + b"\0" * 100)
    with pytest.raises(UlvrError, match="truncated"):
        open_video(trunc)


def test_png_folder_and_mp4_readers(carphone, tmp_path):
    n = write_png_frames(carphone.frames(), tmp_path / "png")
    assert n == carphone.num_frames
    video = open_video(tmp_path / "png")
    rgb = np.concatenate([c.rgb() for c in video.chunks()])
    expected = np.concatenate([c.rgb() for c in carphone.frames()])
    np.testing.assert_array_equal(rgb, expected)
    mp4 = open_video(carphone.path)
    assert (mp4.width, mp4.height) == (176, 144)
    assert next(mp4.chunks(2)).n == 2


def test_colour_round_trip_is_near_lossless():
    rng = np.random.default_rng(1)
    rgb = rng.integers(0, 256, size=(1, 2, 2, 3), dtype=np.uint8).repeat(8, 1).repeat(8, 2)
    back = yuv420_to_rgb(*rgb_to_yuv420(rgb))
    # flat 8x8 blocks: chroma subsampling loses nothing inside a block, only rounding remains
    assert np.abs(back[:, 2:6, 2:6].astype(int) - rgb[:, 2:6, 2:6]).max() <= 2


# Saturated primaries tell the matrices apart (black and white map alike under all of them).
# BT.709 limited range, exact: Y = 16 + 219 (Kr R + Kg G + Kb B), Cb/Cr = 128 + 224 (...)
PRIMARIES = {"red": ((255, 0, 0), (63, 102, 240)), "green": ((0, 255, 0), (173, 42, 26)),
             "blue": ((0, 0, 255), (32, 240, 118)), "white": ((255, 255, 255), (235, 128, 128)),
             "black": ((0, 0, 0), (16, 128, 128))}
BT601_RED_Y = 81   # 16 + 219 * 0.299: what swscale's default matrix gives


def _primaries_frame() -> np.ndarray:
    """One 16x80 RGB frame of 16x16 blocks, one block per primary (in PRIMARIES' order)."""
    blocks = [np.full((16, 16, 3), rgb, np.uint8) for rgb, _ in PRIMARIES.values()]
    return np.concatenate(blocks, axis=1)[None]


def _block_yuv(planes: tuple[np.ndarray, ...]) -> dict[str, tuple[int, int, int]]:
    """Y, U, V at the centre of each primary's block."""
    y, u, v = planes
    return {name: (int(y[0, 8, 16 * i + 8]), int(u[0, 4, 8 * i + 4]), int(v[0, 4, 8 * i + 4]))
            for i, name in enumerate(PRIMARIES)}


def _ffmpeg_yuv(rgb: np.ndarray, vf: str | None) -> tuple[np.ndarray, ...]:
    """ffmpeg's own RGB -> yuv420p of one frame, with an optional filter."""
    import subprocess

    from benchmark.core.ffmpeg import ffmpeg_exe
    from benchmark.data.video_io import _planes_from_bytes

    h, w = rgb.shape[1:3]
    cmd = [ffmpeg_exe(), "-v", "error", "-f", "rawvideo", "-pix_fmt", "rgb24", "-s", f"{w}x{h}",
           "-i", "pipe:0", *(["-vf", vf] if vf else []), "-f", "rawvideo", "-pix_fmt",
           "yuv420p", "pipe:1"]
    out = subprocess.run(cmd, input=rgb.tobytes(), capture_output=True, check=True).stdout
    return _planes_from_bytes(out, 1, w, h, 8)


def test_bt709_primaries_against_closed_form_and_ffmpeg():
    rgb = _primaries_frame()
    ours = _block_yuv(rgb_to_yuv420(rgb))
    assert ours == {name: yuv for name, (_, yuv) in PRIMARIES.items()}
    # ffmpeg told BT.709 limited range agrees within its integer rounding; its default is
    # BT.601, which puts red's luma 18 code values higher
    bt709 = _block_yuv(_ffmpeg_yuv(rgb, "scale=out_color_matrix=bt709:out_range=tv"))
    for name, yuv in ours.items():
        assert np.abs(np.subtract(bt709[name], yuv)).max() <= 1, name
    assert _block_yuv(_ffmpeg_yuv(rgb, None))["red"][0] == BT601_RED_Y
    back = FrameChunk(planes=rgb_to_yuv420(rgb)).rgb()
    assert np.abs(back[0, 8, 8::16].astype(int) - rgb[0, 8, 8::16]).max() <= 2


def test_rgb_video_file_is_read_as_bt709(tmp_path):
    """An RGB file decoded by ffmpeg (an external method's decoded.mkv) gets the harness's
    BT.709 limited-range planes, not swscale's BT.601 default."""
    import subprocess

    from benchmark.core.ffmpeg import ffmpeg_exe

    rgb = np.repeat(_primaries_frame(), 3, axis=0)
    path = tmp_path / "primaries.mkv"
    subprocess.run([ffmpeg_exe(), "-v", "error", "-f", "rawvideo", "-pix_fmt", "rgb24", "-s",
                    "80x16", "-i", "pipe:0", "-c:v", "ffv1", "-pix_fmt", "bgr0", str(path)],
                   input=rgb.tobytes(), check=True)
    video = open_video(path)
    chunks = list(video.chunks(2))
    assert [c.n for c in chunks] == [2, 1]
    np.testing.assert_array_equal(np.concatenate([c.rgb() for c in chunks]), rgb)  # lossless
    got = _block_yuv(tuple(p[:1] for p in chunks[0].yuv()))
    assert got["red"][0] == 63 and got == {name: yuv for name, (_, yuv) in PRIMARIES.items()}


def test_embedded_segments_are_disjoint_and_complete():
    evaluation = {s.name: s for s in load_dataset("embedded").sequences}
    training = {s.name: s for s in load_dataset("embedded", segment="train").sequences}
    for name, seq in training.items():
        assert seq.start == evaluation[name].start + evaluation[name].num_frames
    bikes = training["bikes"]
    assert sum(c.n for c in bikes.frames(64)) == bikes.num_frames  # the clip really has them


def test_raw_yuv_segment_reads_the_right_frames(carphone, tmp_path):
    path = tmp_path / "c_176x144.yuv"
    with open(path, "wb") as fh:
        for chunk in carphone.frames():
            fh.write(chunk.yuv_bytes())
    y = _frames(carphone)[0]
    video = RawYuvVideo(str(path), 176, 144, 30.0, 8, 2, start=3)
    np.testing.assert_array_equal(next(video.chunks()).yuv()[0], y[3:5])


def test_an_unchanged_file_is_probed_once_and_a_rewritten_one_again(carphone, tmp_path,
                                                                    monkeypatch):
    import os
    import subprocess

    from benchmark.core import ffmpeg

    path = tmp_path / "c.y4m"

    def write(depth: int) -> None:
        with Y4MWriter(path, carphone.width, carphone.height, carphone.fps, depth) as writer:
            for chunk in carphone.frames():
                writer.write(chunk)

    write(8)
    calls = []
    real = subprocess.run
    monkeypatch.setattr(ffmpeg.subprocess, "run", lambda *a, **k: calls.append(a) or real(*a, **k))
    first = ffmpeg.probe(str(path))
    assert ffmpeg.probe(str(path)) == first and len(calls) == 1
    write(10)
    os.utime(path, ns=(1, 1))                   # a new modification time, whatever the clock
    assert ffmpeg.probe(str(path)).pix_fmt != first.pix_fmt and len(calls) == 2
