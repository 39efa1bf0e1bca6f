"""Numbers a report can be trusted with (issue 12, items 1, 4, 5, 6b/c and 7), on hand-written
stores whose right answers are known in closed form."""

from __future__ import annotations

import sys

import bjontegaard as bd
import numpy as np
import pytest

from benchmark.analysis.bdrate import bd_table
from benchmark.analysis.comparisons import Options
from benchmark.analysis.entries import resolve
from benchmark.analysis.matched import interpolate_at
from benchmark.analysis.setmetrics import fvd_table
from benchmark.cli import main
from benchmark.core.errors import UlvrError
from benchmark.core.pandas_setup import pd
from benchmark.metrics.distances import kernel_distance
from benchmark.metrics.table import METRIC_TABLE, lower_is_better, output_spec
from benchmark.reporting.report import write_report
from tests.synthetic_store import curve, record, write_store

RATES = [0.001, 0.002, 0.004, 0.008]
PSNR = [30.0, 33.0, 35.5, 37.5]


def _rd(tmp_path, store) -> pd.DataFrame:
    write_report(store, tmp_path / "rep", options=Options(anchors=()))
    return pd.read_csv(tmp_path / "rep" / "rd_table_toy.csv")


# -- 1. never average two configurations -------------------------------------------------------

def test_two_configurations_are_two_labelled_rows(tmp_path):
    recs = []
    for preset, gain in (("medium", 0.0), ("slow", 1.0)):
        cfg = {"name": "x265", "preset": preset}
        for seq in ("a", "b"):
            recs += curve("x265", seq, RATES, [p + gain for p in PSNR], config=cfg)
    rd = _rd(tmp_path, write_store(tmp_path / "s", recs))
    assert set(rd["method"]) == {"x265 [preset=medium]", "x265 [preset=slow]"}
    assert set(rd["jobs"]) == {"2/2"}                       # never "4/2"
    slow = rd[rd["method"] == "x265 [preset=slow]"].sort_values("bpp")
    assert list(slow["psnr-rgb"]) == pytest.approx([p + 1 for p in PSNR])


def test_newest_record_of_a_job_wins_and_the_report_says_so(tmp_path):
    recs = curve("x265", "a", RATES, PSNR) + curve("x265", "b", RATES, PSNR)
    recs.append(record("x265", "a", "p0", RATES[0], {"psnr-rgb": 99.0},
                       created="2025-01-01T00:00:00+0000"))          # older: loses
    recs.append(record("x265", "b", "p0", RATES[0], {"psnr-rgb": 20.0},
                       created="2027-01-01T00:00:00+0000"))          # newer: wins
    store = write_store(tmp_path / "s", recs)
    rd = _rd(tmp_path, store).set_index("rate_point")
    # frame-weighted: a has 32 frames (30 dB), b 16 frames (20 dB, the newest record)
    assert rd.loc["p0", "psnr-rgb"] == pytest.approx((32 * 30 + 16 * 20) / 48)
    footer = (tmp_path / "rep" / "rd_table_toy.md").read_text()
    assert "2 older record(s) of a job were superseded" in footer


def test_fvd_pools_one_configuration_only(tmp_path):
    rng = np.random.default_rng(0)
    recs = []
    for preset, clips in (("medium", 3), ("slow", 5)):
        cfg = {"name": "x265", "preset": preset}
        for seq in ("a", "b"):
            feats = (rng.normal(size=(clips, 8)), rng.normal(size=(clips, 8)))
            recs.append(record("x265", seq, "p0", 0.01, {"psnr-rgb": 30.0}, config=cfg,
                               fvd_features=feats))
    store = write_store(tmp_path / "s", recs)
    records = list(store.records())
    table = fvd_table(records, resolve(store.dataframe(), records).frame).set_index("method")
    assert table.loc["x265 [preset=medium]", "fvd_clips"] == 6
    assert table.loc["x265 [preset=slow]", "fvd_clips"] == 10


def test_regress_refuses_two_configurations_naming_both(tmp_path, capsys):
    recs = curve("x265", "a", RATES, PSNR, config={"name": "x265", "preset": "medium"}) + \
        curve("x265", "a", RATES, PSNR, config={"name": "x265", "preset": "slow"})
    ref = write_store(tmp_path / "ref", recs)
    code = main(["regress", "--reference", str(ref.root), "--candidate", str(ref.root),
                 "--output", str(tmp_path / "v.json")])
    err = capsys.readouterr().err
    assert code == 2 and "x265 [preset=medium] vs x265 [preset=slow]" in err
    assert len(err.strip().splitlines()) == 1


# -- 4. one declarative metric table ------------------------------------------------------------

def test_every_registered_metric_matches_its_table_row():
    from benchmark.metrics.base import metric_class

    for spec in METRIC_TABLE:
        cls = metric_class(spec.name)
        assert cls.outputs == spec.outputs and cls.lower_is_better == spec.lower_is_better
        assert cls.colour == spec.colour and cls.is_set_metric == spec.set_level
        assert cls.__module__ == spec.module


def test_direction_never_depends_on_importing_a_metric(tmp_path, monkeypatch):
    """With the LPIPS/DISTS/FVD modules unimportable, the report still knows they are
    lower-is-better: the best LPIPS is the smallest one."""
    for module in ("benchmark.metrics.lpips", "benchmark.metrics.dists",
                   "benchmark.metrics.fvd"):
        monkeypatch.setitem(sys.modules, module, None)
    assert lower_is_better("lpips-alex") and lower_is_better("dists")
    assert lower_is_better("fvd") and not lower_is_better("psnr-y@mse")
    recs = [record("m", "a", f"p{i}", r, {"lpips-alex": v})
            for i, (r, v) in enumerate(zip(RATES, [0.4, 0.3, 0.2, 0.1], strict=True))]
    write_report(write_store(tmp_path / "s", recs), tmp_path / "rep", options=Options(anchors=()))
    md = (tmp_path / "rep" / "rd_table_toy.md").read_text()
    assert "**" not in md   # the RD table marks nothing across rates
    from benchmark.analysis.marks import Cell, best_in

    assert best_in({"a": Cell(0.1), "b": Cell(0.4)}, "lpips-alex").winners == ("a",)
    assert best_in({"a": Cell(0.1), "b": Cell(0.4)}, "ms-ssim").winners == ("b",)


def test_unknown_output_is_an_error_not_a_guess():
    with pytest.raises(UlvrError, match="unknown metric output 'sharpness'"):
        lower_is_better("sharpness")
    with pytest.raises(UlvrError, match="unknown metric output"):
        output_spec("psnr-x")


def test_regress_tolerance_for_unknown_output_is_refused(tmp_path, capsys):
    ref = write_store(tmp_path / "ref", curve("x265", "a", RATES, PSNR))
    code = main(["regress", "--reference", str(ref.root), "--candidate", str(ref.root),
                 "--output", str(tmp_path / "v.json"), "--tolerance", "sharpness=1"])
    assert code == 2 and "no metric output is named 'sharpness'" in capsys.readouterr().err


# -- 5. BD-rate as the field computes it --------------------------------------------------------

def _two_sequence_frame() -> tuple[pd.DataFrame, dict]:
    """Anchor and test curves on two sequences of very different rates."""
    curves = {"a": (np.array(RATES), np.array(PSNR), 0.8, 0.3),
              "b": (np.array(RATES) * 20, np.array(PSNR) - 5, 0.6, 0.5)}
    rows = []
    for seq, (rates, psnr, factor, gain) in curves.items():
        for entry, r, p in (("anchor", rates, psnr), ("test", rates * factor, psnr + gain)):
            rows += [{"dataset": "toy", "sequence": seq, "entry": entry, "rate_point": f"p{i}",
                      "bpp": x, "psnr-rgb": y} for i, (x, y) in enumerate(zip(r, p, strict=True))]
    return pd.DataFrame(rows), curves


def test_bd_per_sequence_matches_bjontegaard_per_curve_then_mean():
    frame, curves = _two_sequence_frame()
    table = bd_table(frame, "anchor", ["psnr-rgb"])
    expected_rate = np.mean([bd.bd_rate(r, p, r * f, p + g, "pchip")
                             for r, p, f, g in curves.values()])
    expected_psnr = np.mean([bd.bd_psnr(r, p, r * f, p + g, "pchip")
                             for r, p, f, g in curves.values()])
    row = table.iloc[0]
    assert row["bd_mode"] == "per-sequence" and row["note"] == ""
    assert row["BD-rate psnr-rgb (%)"] == pytest.approx(expected_rate)
    assert row["BD-psnr-rgb"] == pytest.approx(expected_psnr)


def test_bd_averaged_variant_is_available_and_labelled(tmp_path):
    frame, _ = _two_sequence_frame()
    means = frame.groupby(["dataset", "entry", "rate_point"], as_index=False)[
        ["bpp", "psnr-rgb"]].mean()
    averaged = bd_table(means.assign(sequence="(all)"), "anchor", ["psnr-rgb"], mode="averaged")
    per_seq = bd_table(frame, "anchor", ["psnr-rgb"])
    assert averaged.iloc[0]["bd_mode"] == "averaged"
    assert averaged.iloc[0]["BD-rate psnr-rgb (%)"] != pytest.approx(
        per_seq.iloc[0]["BD-rate psnr-rgb (%)"], abs=0.5)
    recs = [record(r["entry"], r["sequence"], r["rate_point"], r["bpp"],
                   {"psnr-rgb": r["psnr-rgb"]}) for r in frame.to_dict("records")]
    store = write_store(tmp_path / "s", recs)
    write_report(store, tmp_path / "rep", options=Options(anchors=("anchor",), bd_mode="averaged"))
    text = (tmp_path / "rep" / "bd_table_toy_averaged.md").read_text()
    assert "dataset-averaged RD fronts" in text and "(averaged)" in text


# -- 6. comparisons at ultra-low rates -----------------------------------------------------------

def test_matched_rate_interpolation_closed_form():
    rates, values = np.array([0.001, 0.004]), np.array([20.0, 30.0])
    # two points: pchip in log10(bpp) is the straight line; geometric mean -> arithmetic mean
    got = interpolate_at(rates, values, np.array([0.001, 0.002, 0.004, 0.0005, 0.005]))
    assert got[:3] == pytest.approx([20.0, 25.0, 30.0])
    assert np.isnan(got[3]) and np.isnan(got[4])                  # never extrapolated
    three = interpolate_at(np.array([1e-3, 1e-2, 1e-1]), np.array([1.0, 2.0, 4.0]),
                           np.array([1e-2]))
    assert three[0] == pytest.approx(2.0)                          # knots are exact


def test_matched_rate_table_written_with_best_marked_and_coverage(tmp_path):
    recs = []
    for seq in ("a", "b"):
        recs += curve("low", seq, [0.0002, 0.0005, 0.002], [20.0, 22.0, 26.0])
        recs += curve("codec", seq, [0.0009, 0.003, 0.02], [18.0, 25.0, 33.0])
    # "wide" covers 0.0003 on sequence a only: the dataset value there must be NaN
    recs += curve("wide", "a", [0.0001, 0.01], [10.0, 40.0])
    recs += curve("wide", "b", [0.0004, 0.01], [10.0, 40.0])
    files = write_report(write_store(tmp_path / "s", recs), tmp_path / "rep",
                         options=Options(anchors=()))
    assert any("matched" in p.name for p in files)
    long = pd.read_csv(tmp_path / "rep" / "matched_rate_toy.csv")
    psnr = long[long["metric"] == "psnr-rgb"].set_index(["method", "target_bpp"])["value"]
    assert np.isnan(psnr[("wide", 0.0003)]) and np.isnan(psnr[("codec", 0.0003)])
    assert psnr[("low", 0.001)] == pytest.approx(
        float(interpolate_at(np.array([0.0002, 0.0005, 0.002]), np.array([20.0, 22.0, 26.0]),
                             np.array([0.001]))[0]))
    assert psnr[("codec", 0.01)] == pytest.approx(float(interpolate_at(
        np.array([0.0009, 0.003, 0.02]), np.array([18.0, 25.0, 33.0]), np.array([0.01]))[0]))
    per_seq = pd.read_csv(tmp_path / "rep" / "matched_rate_toy_per_sequence.csv")
    wide_a = per_seq[(per_seq["method"] == "wide") & (per_seq["sequence"] == "a")
                     & (per_seq["target_bpp"] == 0.0003)]
    assert wide_a["value"].notna().all()
    md = (tmp_path / "rep" / "matched_rate_toy.md").read_text()
    assert "higher is better (↑)" in md and "**" in md


def test_any_entry_can_be_the_bd_anchor_and_overlap_is_noted_in_the_row(tmp_path):
    recs = []
    for seq in ("a", "b"):
        recs += curve("lowres-bicubic", seq, [0.0005, 0.001, 0.002], [15.0, 16.0, 17.0])
        recs += curve("x265", seq, [0.0006, 0.0012, 0.0025], [15.5, 16.8, 18.0])
        recs += curve("far", seq, [0.1, 0.2, 0.4], [35.0, 38.0, 40.0])
    write_report(write_store(tmp_path / "s", recs), tmp_path / "rep",
                 options=Options(anchors=("lowres-bicubic",)))
    bd_csv = pd.read_csv(tmp_path / "rep" / "bd_table_toy.csv").set_index("method")
    assert set(bd_csv["anchor"]) == {"lowres-bicubic"}
    assert np.isfinite(bd_csv.loc["x265", "BD-rate psnr-rgb (%)"])
    far = bd_csv.loc["far", "note"]
    assert "shared quality range 0%" in far and "2/2 sequences" in far
    assert pd.isna(bd_csv.loc["x265", "note"]) or bd_csv.loc["x265", "note"] == ""


# -- 7. FVD that says how much to trust it -----------------------------------------------------

def test_kvd_equals_the_unbiased_polynomial_mmd_written_out():
    rng = np.random.default_rng(1)
    a, b = rng.normal(size=(4, 3)), rng.normal(size=(5, 3)) + 0.5

    def k(x, y):
        return (x @ y / 3 + 1) ** 3

    xx = sum(k(a[i], a[j]) for i in range(4) for j in range(4) if i != j) / 12
    yy = sum(k(b[i], b[j]) for i in range(5) for j in range(5) if i != j) / 20
    xy = sum(k(a[i], b[j]) for i in range(4) for j in range(5)) / 20
    assert kernel_distance(a, b) == pytest.approx(xx + yy - 2 * xy)
    assert abs(kernel_distance(a, a)) < abs(kernel_distance(a, b))


def test_fvd_clip_count_flag_and_completeness(tmp_path):
    rng = np.random.default_rng(2)

    def feats(n):
        return rng.normal(size=(n, 8)), rng.normal(size=(n, 8)) + 1

    recs = [record("m", "a", "p0", 0.01, {"psnr-rgb": 1.0}, fvd_features=feats(3)),
            record("m", "b", "p0", 0.01, {"psnr-rgb": 1.0}, fvd_features=feats(3)),
            record("m", "a", "p1", 0.02, {"psnr-rgb": 1.0}, fvd_features=feats(3)),
            record("m", "b", "p1", 0.02, {"psnr-rgb": 1.0})]       # b has no FVD features
    store = write_store(tmp_path / "s", recs)
    records = list(store.records())
    kept = resolve(store.dataframe(), records).frame
    table = fvd_table(records, kept, min_clips=5).set_index("rate_point")
    assert table.loc["p0", "fvd_clips"] == 6 and np.isfinite(table.loc["p0", "kvd"])
    assert "unreliable: 6 clips < 5" not in table.loc["p0", "fvd_note"]
    assert fvd_table(records, kept, min_clips=64).set_index("rate_point").loc[
        "p0", "fvd_note"].startswith("unreliable: 6 clips < 64")
    assert np.isnan(table.loc["p1", "fvd"]) and "1 sequence(s) without" in table.loc[
        "p1", "fvd_note"]
    write_report(store, tmp_path / "rep", options=Options(anchors=()))
    md = (tmp_path / "rep" / "rd_table_toy.md").read_text()
    assert "fvd_clips" in md.splitlines()[2] and "unreliable: 6 clips < 64" in md


def test_regress_compares_set_metrics(tmp_path):
    rng = np.random.default_rng(3)
    ref_feats = {s: (rng.normal(size=(3, 8)), rng.normal(size=(3, 8))) for s in "ab"}
    ref = write_store(tmp_path / "ref", [
        record("m", s, "p0", 0.01, {"psnr-rgb": 30.0}, fvd_features=ref_feats[s]) for s in "ab"])
    worse = write_store(tmp_path / "cand", [
        record("m", s, "p0", 0.01, {"psnr-rgb": 30.0},
               fvd_features=(ref_feats[s][0], ref_feats[s][1] + 3.0)) for s in "ab"])
    out = tmp_path / "v.json"
    assert main(["regress", "--reference", str(ref.root), "--candidate", str(ref.root),
                 "--output", str(out)]) == 0
    assert main(["regress", "--reference", str(ref.root), "--candidate", str(worse.root),
                 "--output", str(out)]) == 1
    import json

    details = json.loads(out.read_text())["details"]
    assert {d["metric"] for d in details} >= {"fvd"}
    assert all(d["sequence"] == "(all)" for d in details)


def test_report_over_two_stores_shows_each_dataset_with_its_own_numbers(tmp_path, capsys):
    """`ulvr report A B` reads two stores as one (the embedded and native references are kept
    apart): each dataset's RD table holds that store's values, and the page has both."""
    write_store(tmp_path / "small", curve("x265", "a", [0.01, 0.02, 0.04], [30, 32, 34],
                                          dataset="small"))
    write_store(tmp_path / "big", curve("x265", "a", [0.001, 0.002, 0.004], [20, 22, 24],
                                        dataset="big"))
    out = tmp_path / "both"
    assert main(["report", str(tmp_path / "small"), str(tmp_path / "big"), "--output",
                 str(out), "--rate", "total", "--html"]) == 0
    small = pd.read_csv(out / "rd_table_small.csv")
    big = pd.read_csv(out / "rd_table_big.csv")
    assert sorted(small["psnr-rgb"]) == [30, 32, 34]
    assert sorted(big["psnr-rgb"]) == [20, 22, 24]
    page = (out / "index.html").read_text()
    assert "small" in page and "big" in page
    assert main(["report", str(tmp_path / "small"), str(tmp_path / "nowhere")]) == 2
    assert "'" + str(tmp_path / "nowhere") + "' is not a results store" in capsys.readouterr().err
