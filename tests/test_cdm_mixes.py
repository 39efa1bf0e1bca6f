"""The receivers' training mixes: the frames the training sampler reads never overlap any
manifest's evaluation segment, the native points are the ones the native suite evaluates, and a
mixed bank draws each source by weight at its own crop."""

from pathlib import Path

import numpy as np
import pytest
import yaml

from benchmark.core.errors import UlvrError
from benchmark.execution.suites import SUITES
from methods.causal_diffusion import cli, data, mixes
from methods.causal_diffusion.adapter import DEFAULT_POINTS, SEMANTIC_POINTS
from methods.causal_diffusion.sender import SenderParams

DATASETS = Path(__file__).resolve().parents[1] / "datasets"


def _eval_ranges() -> dict[str, list[tuple[str, int, int]]]:
    """Every shipped manifest's eval segment per source file: file -> [(manifest, start, end)]."""
    ranges: dict[str, list[tuple[str, int, int]]] = {}
    for path in sorted(DATASETS.glob("*.yaml")):
        doc = yaml.safe_load(path.read_text())
        for entry in doc["sequences"]:
            seg = entry.get("segments", {}).get("eval", {"start": 0,
                                                         "frames": entry.get("frames", 10**9)})
            ranges.setdefault(entry["file"], []).append(
                (path.stem, seg["start"], seg["start"] + seg["frames"]))
    return ranges


def _recorded_bank(monkeypatch, mix: str, point_set: str) -> list:
    """Build a mix's bank with the sender replaced by a recorder: the sequences (and points)
    the sampler would read, without running a codec."""
    seen = []

    def fake_clip(sequence, params):
        seen.append((sequence, params))
        return {"source": np.zeros((sequence.num_frames, sequence.height, sequence.width, 3),
                                   np.uint8)}

    monkeypatch.setattr(data, "cached_clip_data", fake_clip)
    data.build_bank(mix, point_set, 4, crop=64)
    return seen


@pytest.mark.parametrize("mix", sorted(mixes.MIXES))
@pytest.mark.parametrize("point_set", sorted(mixes.POINT_SETS))
def test_training_frames_never_touch_an_evaluation_segment(monkeypatch, mix, point_set):
    evals = _eval_ranges()
    seen = _recorded_bank(monkeypatch, mix, point_set)
    assert {s.dataset for s, _ in seen} == {src.dataset for src in mixes.MIXES[mix]}
    for seq, _ in seen:
        assert seq.segment == "train"
        assert "carphone_distorted" not in seq.package_file + seq.path
        start, end = seq.start, seq.start + seq.num_frames
        for manifest, e0, e1 in evals.get(seq.package_file, []):
            assert end <= e0 or start >= e1, \
                f"{seq.dataset}/{seq.name} trains on frames {start}-{end - 1}, inside " \
                f"{manifest}'s eval segment {e0}-{e1 - 1}"
    if mix == "native":        # the issue's ranges, in the source files' frame numbers
        native = {(s.name, s.start, s.num_frames, s.width) for s, _ in seen
                  if s.dataset == "embedded-native"}
        assert native == {("bigbuckbunny", 32, 100, 1280), ("bikes", 32, 218, 640)}


def test_native_points_are_the_native_suites():
    suite = SUITES["native"].methods
    assert mixes.POINT_SETS["default"]["embedded-native"] == suite["causal-diffusion"]
    assert mixes.POINT_SETS["semantic"]["embedded-native"] == suite["semantic-only"]
    for name, points in (("default", DEFAULT_POINTS), ("semantic", SEMANTIC_POINTS)):
        assert mixes.source_points(name, "embedded") == list(points)


def test_cli_mix_choices_are_the_table_s():
    assert tuple(mixes.MIXES) == cli.MIX_NAMES


def test_crop_larger_than_a_source_is_refused_before_any_clip(monkeypatch):
    def never(*_):
        raise AssertionError("a clip was built before the crop was checked")

    monkeypatch.setattr(data, "cached_clip_data", never)
    with pytest.raises(UlvrError, match=r"crop 136 .*bikes of embedded \(320x128\)"):
        data.build_bank("native", "default", 4, crop=136)
    monkeypatch.setitem(mixes.MIXES, "wide", (mixes.TrainSource("embedded-native", 1.0, 3.0),))
    with pytest.raises(UlvrError, match=r"crop 288 \(--crop 96 x 3 in mix 'wide'\) is larger "
                                        r"than bikes of embedded-native \(640x272\)"):
        data.build_bank("wide", "default", 4, crop=96)
    with pytest.raises(UlvrError, match="has no sequence nowhere"):
        data.build_bank("native", "default", 4, crop=64, sequences=["nowhere"])
    with pytest.raises(UlvrError, match="draws from embedded-native, which has none of "
                                        "carphone: add one of bigbuckbunny, bikes"):
        data.build_bank("native", "default", 4, crop=64, sequences=["carphone"])
    # the crop that is sampled is the crop that is checked (no rounding at scale 1)
    with pytest.raises(UlvrError, match=r"crop 131 \(--crop 131 x 1"):
        data.build_bank("embedded", "default", 4, crop=131)
    with pytest.raises(UlvrError, match="unknown training mix 'big'"):
        data.build_bank("big", "default", 4, crop=64)


def test_sequences_pick_from_every_source_that_has_them(monkeypatch):
    seen = []
    monkeypatch.setattr(data, "cached_clip_data", lambda s, p: seen.append(s) or {})
    bank = data.build_bank("native", "default", 4, crop=64, sequences=["carphone", "bikes"])
    assert sorted((s.dataset, s.name) for s in seen) == sorted(
        [("embedded", "carphone")] * 3 + [("embedded", "bikes")] * 3
        + [("embedded-native", "bikes")] * 4)
    assert [b.description["dataset"] for b in bank.banks()] == ["embedded", "embedded-native"]


class _Recorder:
    """A stand-in single-dataset bank that records the crop it was asked for."""

    def __init__(self, name: str) -> None:
        self.description, self.classes, self.crops = {"dataset": name}, 4, []

    def sample(self, rng, batch, frames, crop):
        self.crops.append(crop)
        return crop


def test_mixed_bank_draws_sources_by_weight_at_their_crops():
    small, large = _Recorder("embedded"), _Recorder("embedded-native")
    bank = data.MixedBank("test", [(mixes.TrainSource("embedded", 3.0), small),
                                   (mixes.TrainSource("embedded-native", 1.0, 2.0), large)])
    rng = np.random.default_rng(0)
    for _ in range(4000):
        bank.sample(rng, 2, 1, 96)
    assert set(small.crops) == {96} and set(large.crops) == {192}
    share = len(large.crops) / 4000
    assert abs(share - 0.25) < 0.03          # binomial sd 0.007
    assert bank.description["sources"][1] == {"dataset": "embedded-native", "weight": 1.0,
                                               "crop_scale": 2.0}


def test_explicit_rate_points_need_a_single_dataset_mix():
    from methods.causal_diffusion.train import TrainSettings, train

    settings = TrainSettings(mix="native", rate_points=[vars(SenderParams())])
    with pytest.raises(UlvrError, match="single-dataset mix"):
        train(settings, "unused.safetensors")


def test_native_validation_is_embedded_native_s_val_segments_inside_training():
    """Checkpoints are chosen on validation-native.yaml: the `val` segments of embedded-native
    (inside the training frames), never on an evaluation frame."""
    native = yaml.safe_load((DATASETS / "embedded-native.yaml").read_text())
    val = yaml.safe_load((Path(mixes.__file__).parent / "checkpoints"
                          / "validation-native.yaml").read_text())
    segments = {e["name"]: e["segments"] for e in native["sequences"]}
    for entry in val["sequences"]:
        chosen, own = entry["segments"]["eval"], segments[entry["name"]]
        assert chosen == own["val"]
        start, end = chosen["start"], chosen["start"] + chosen["frames"]
        train, held = own["train"], own["eval"]
        assert train["start"] <= start and end <= train["start"] + train["frames"]
        assert start >= held["start"] + held["frames"]


def test_distillation_draws_from_the_teacher_s_mix_unless_told(monkeypatch):
    from methods.causal_diffusion import distill

    asked = []
    monkeypatch.setattr(distill, "build_bank", lambda mix, points, *a, **k: asked.append(
        (mix, points)))
    meta = {"train": {"mix": "native", "points": "semantic", "rate_points": []}}
    settings = distill.DistillSettings()
    distill.distill_bank(settings, meta, 4)
    assert asked == [("native", "semantic")] and settings.mix == "native"
    distill.distill_bank(distill.DistillSettings(mix="embedded"), meta, 4)
    assert asked[-1] == ("embedded", "semantic")
