"""The proposed method's sender: arithmetic coder, semantic stream, texture stream, bits."""

from __future__ import annotations

import os
import random

import numpy as np
import pytest

from benchmark.core.errors import UlvrError
from benchmark.data.manifest import load_dataset
from benchmark.metrics.segment import KMeansSegmenter, create_segmenter, majority_filter
from methods.causal_diffusion.adapter import DEFAULT_POINTS
from methods.causal_diffusion.arith import AdaptiveModel, Decoder, Encoder
from methods.causal_diffusion.semantic_codec import decode_labels, encode_labels, lzma_size
from methods.causal_diffusion.sender import SenderParams, transmit


def test_arithmetic_coder_round_trip_near_entropy():
    rng = random.Random(0)
    symbols = [rng.choice([0, 0, 0, 0, 1, 2]) for _ in range(4000)]
    enc, model = Encoder(), AdaptiveModel(3)
    for s in symbols:
        enc.encode(s, model)
    data = enc.finish()
    dec, model = Decoder(data), AdaptiveModel(3)
    assert [dec.decode(model) for _ in symbols] == symbols
    entropy_bytes = 4000 * 1.2516 / 8          # -sum p log2 p of (4/6, 1/6, 1/6)
    assert len(data) < 1.03 * entropy_bytes


def _label_maps(sequence, scale=8, classes=4):
    seg = KMeansSegmenter(classes)
    size = (sequence.height // scale, sequence.width // scale)
    return [seg.label(f, size) for c in sequence.frames() for f in c.rgb()], seg.palette()


def test_semantic_stream_round_trip_and_beats_lzma():
    seq = next(s for s in load_dataset("embedded", max_frames=16).sequences if s.name == "bikes")
    maps, palette = _label_maps(seq)
    data = encode_labels(maps, 4, palette)
    decoded, pal = decode_labels(data)
    assert len(decoded) == len(maps)
    assert all(np.array_equal(a, b) for a, b in zip(maps, decoded, strict=True))
    assert np.array_equal(pal, palette)
    assert len(data) < lzma_size(maps, palette)["lzma2-raw"]


def test_semantic_stream_refuses_bad_input():
    with pytest.raises(UlvrError, match="below the class count"):
        encode_labels([np.full((4, 4), 5, np.uint8)], 4)
    with pytest.raises(UlvrError, match="truncated"):
        decode_labels(b"\x05\x04")


def test_kmeans_segmenter_is_lightness_ordered_and_regularised(carphone):
    maps, palette = _label_maps(carphone, scale=4)
    lab_l = [int(np.dot(c, [0.299, 0.587, 0.114])) for c in palette]
    assert lab_l == sorted(lab_l)
    assert maps[0].max() < 4 and maps[0].shape == (36, 44)
    noisy = np.zeros((5, 5), np.uint8)
    noisy[2, 2] = 3
    assert majority_filter(noisy, 4).max() == 0           # an isolated label is removed
    with pytest.raises(UlvrError, match="unknown segmenter"):
        create_segmenter("nope")


def test_segformer_without_transformers_or_weights_says_what_to_do():
    with pytest.raises(UlvrError, match="transformers|Hugging Face cache"):
        create_segmenter("segformer")


def test_transmit_bits_equal_bytes_and_receiver_inputs(carphone, tmp_path):
    params = SenderParams(downscale=8, qp=51, key=2, label_scale=8, classes=4)
    tx = transmit(carphone, params, tmp_path)
    assert set(tx.streams) == {"texture", "texture_parameter_sets", "semantic",
                               "semantic_parameter_sets"}
    sizes = {k: os.path.getsize(p) for k, p in tx.streams.items()}
    assert all(v > 0 for v in sizes.values())
    conditions = list(tx.conditions())
    assert len(conditions) == carphone.num_frames
    rest, labels, palette, age = conditions[1]
    assert rest.shape == (carphone.height, carphone.width, 3) and labels.shape == (18, 22)
    assert [c[3] for c in conditions] == [0, 1, 0, 1, 0, 1]
    assert conditions[1][0] is conditions[0][0]            # held keyframe (causal)
    header = tx.streams["semantic_parameter_sets"].read_bytes()
    assert header == tx.semantic_header() and len(header) == 5    # regenerated from the session
    decoded, _ = decode_labels(header + tx.streams["semantic"].read_bytes())
    assert len(decoded) == carphone.num_frames


@pytest.mark.slow
def test_lowest_rate_point_is_under_one_thousandth_bpp(tmp_path):
    """Over the embedded evaluation set (all frames), the lowest default point is < 0.001 bpp."""
    data = load_dataset("embedded")
    bits = pixels = 0
    for seq in data.sequences:
        tx = transmit(seq, DEFAULT_POINTS[0], tmp_path / seq.name)
        bits += sum(8 * os.path.getsize(p) for p in tx.streams.values())
        pixels += seq.num_frames * seq.width * seq.height
    assert bits / pixels < 0.001


def test_texture_parameter_sets_out_of_band(carphone, tmp_path):
    """The same receiver inputs; out of band (the default), the texture's VPS/SPS/PPS are
    their own bits entry; the default stays out of the labels and parameters (job keys)."""
    oob = SenderParams(downscale=16, qp=51, key=8, label_scale=16)
    inband = SenderParams(downscale=16, qp=51, key=8, label_scale=16, parameter_sets="in-band")
    assert inband.label == oob.label + "-inband" and oob.out_of_band
    assert "parameter_sets" not in oob.rate_point().params
    assert SenderParams.from_rate_point(inband.rate_point()) == inband
    got = {}
    for name, params in (("in", inband), ("oob", oob)):
        tx = transmit(carphone, params, tmp_path / name)
        sizes = {k: os.path.getsize(p) for k, p in tx.streams.items()}
        got[name] = (sizes, [c[0] for c in tx.conditions()])
    (sizes_in, frames_in), (sizes_oob, frames_oob) = got["in"], got["oob"]
    assert set(sizes_oob) == {"texture", "texture_parameter_sets", "semantic",
                              "semantic_parameter_sets"}
    assert sizes_oob["texture"] + sizes_oob["texture_parameter_sets"] == sizes_in["texture"]
    assert sizes_oob["texture_parameter_sets"] >= 70         # VPS + SPS + PPS of HEVC
    for a, b in zip(frames_in, frames_oob, strict=True):
        np.testing.assert_array_equal(a, b)


def test_rate_point_labels_round_trip_and_bad_labels_are_refused():
    from methods.causal_diffusion.adapter import SEMANTIC_POINTS

    for point in (*DEFAULT_POINTS, *SEMANTIC_POINTS,
                  SenderParams(downscale=2, qp=39, key=8, parameter_sets="in-band")):
        assert SenderParams.from_label(point.label) == point
    with pytest.raises(UlvrError, match="rate point 'd16-q51' is not"):
        SenderParams.from_label("d16-q51")
