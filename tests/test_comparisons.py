"""Comparisons at ultra-low rates: fronts, BD on fronts over the shared interval, quality at the
proposed method's own rates, the headline, and a report that never crashes on a valid store."""

from __future__ import annotations

import json
import re
from pathlib import Path

import bjontegaard as bd
import numpy as np
import pytest

from benchmark.analysis.bdrate import bd_table
from benchmark.analysis.comparisons import Options, compare
from benchmark.analysis.fronts import front_mask
from benchmark.analysis.matched import at_proposed, interpolate_at
from benchmark.analysis.rd import rd_table
from benchmark.core.pandas_setup import pd
from benchmark.reporting.headline import headline
from benchmark.reporting.report import write_report
from tests.synthetic_store import record, write_store


def test_pareto_front_drops_dominated_points_hand_computed():
    rates = np.array([1.0, 1.5, 2.0, 3.0, 3.0, 4.0])
    psnr = np.array([30.0, 30.0, 32.0, 31.0, 33.0, 33.0])
    # 1.5 costs more than 1.0 for the same value; 3.0/31 is beaten by 3.0/33; 4.0/33 by 3.0/33
    assert front_mask(rates, psnr).tolist() == [True, False, True, False, True, False]
    lpips = np.array([0.5, 0.4, 0.45, 0.3])
    assert front_mask(np.array([1.0, 2.0, 3.0, 4.0]), lpips, lower_better=True).tolist() == \
        [True, True, False, True]
    # hull: (log rate, value) = (0, 0), (0.3, 1), (0.6, 1.5), (0.9, 3): the two middle points
    # lie under the chord from the first to the last
    hull = front_mask(np.array([1.0, 2.0, 4.0, 8.0]), np.array([0.0, 1.0, 1.5, 3.0]), how="hull")
    assert hull.tolist() == [True, False, False, True]
    assert front_mask(rates, psnr, how="none").all()


def _codec_frame(extra: list[tuple] = ()) -> pd.DataFrame:
    """anchor and test on two sequences whose ranges are staggered; the anchor has dominated
    points (more bits, same output: as x265 qp51-d16-t8 vs -t32)."""
    rows = []
    curves = {"s1": ([0.001, 0.002, 0.004, 0.008], [20.0, 22.0, 24.0, 26.0]),
              "s2": ([0.004, 0.008, 0.016, 0.032], [22.0, 24.0, 26.0, 28.0])}
    for seq, (r, p) in curves.items():
        for i, (x, y) in enumerate(zip(r, p, strict=True)):
            rows.append(("anchor", seq, f"a{i}", x, y))
            rows.append(("test", seq, f"t{i}", x * 0.8, y + 0.5))
        rows.append(("anchor", seq, "a-dom", r[1] * 1.5, p[0]))    # dominated
    rows += list(extra)
    return pd.DataFrame([{"dataset": "d", "sequence": s, "entry": e, "rate_point": rp,
                          "bpp": b, "psnr-rgb": v, "frames": 16, "status": "ok"}
                         for e, s, rp, b, v in rows]), curves


def test_bd_on_fronts_equals_bjontegaard_on_the_front_points():
    frame, curves = _codec_frame()
    row = bd_table(frame, "anchor", ["psnr-rgb"]).iloc[0]
    expected = np.mean([bd.bd_rate(np.array(r), np.array(p), np.array(r) * 0.8,
                                   np.array(p) + 0.5, "pchip", require_matching_points=False)
                        for r, p in curves.values()])
    assert row["BD-rate psnr-rgb (%)"] == pytest.approx(expected)
    # the raw curve (front none) is not monotonic: today's NaN, with its reason
    raw = bd_table(frame, "anchor", ["psnr-rgb"], front="none").iloc[0]
    assert np.isnan(raw["BD-rate psnr-rgb (%)"]) and "not monotonic" in raw["note"]
    assert "s1: 20.5-26" in row["BD-rate psnr-rgb interval"]
    assert row["BD-rate psnr-rgb share (%)"] == pytest.approx(100 * 5.5 / 6)


def test_min_overlap_is_a_share_of_the_shorter_curve_and_bd_range_restricts():
    rows = [("anchor", "s", f"a{i}", r, v) for i, (r, v) in
            enumerate(zip([0.001, 0.002, 0.004, 0.008, 0.016, 0.032],
                          [20.0, 22.0, 24.0, 26.0, 28.0, 30.0], strict=True))]
    # the test spans 26-30 dB: 100% of its own (shorter) range lies inside the anchor's, but
    # only 40% of the union: the old rule refused it
    rows += [("test", "s", f"t{i}", r, v) for i, (r, v) in
             enumerate(zip([0.006, 0.012, 0.024], [26.0, 28.0, 30.0], strict=True))]
    frame = pd.DataFrame([{"dataset": "d", "sequence": s, "entry": e, "rate_point": rp,
                           "bpp": b, "psnr-rgb": v} for e, s, rp, b, v in rows])
    row = bd_table(frame, "anchor", ["psnr-rgb"]).iloc[0]
    assert np.isfinite(row["BD-rate psnr-rgb (%)"])
    assert row["BD-rate psnr-rgb share (%)"] == pytest.approx(100.0)
    low = bd_table(frame, "anchor", ["psnr-rgb"], bd_range=(0.0, 0.005)).iloc[0]
    assert np.isnan(low["BD-rate psnr-rgb (%)"])
    assert "test has 0 front point(s)" in low["BD-rate psnr-rgb why --"]


def test_adding_a_dominated_point_changes_no_front_based_value():
    frame, _ = _codec_frame()
    more, _ = _codec_frame([("test", "s1", "t-dom", 0.004, 21.0), ("test", "s2", "t-dom2",
                                                                    0.03, 25.0)])
    for a, b in ((frame, more),):
        t1, t2 = bd_table(a, "anchor", ["psnr-rgb"]), bd_table(b, "anchor", ["psnr-rgb"])
        assert t1["BD-rate psnr-rgb (%)"].tolist() == pytest.approx(
            t2["BD-rate psnr-rgb (%)"].tolist())
        assert t1["BD-psnr-rgb"].tolist() == pytest.approx(t2["BD-psnr-rgb"].tolist())
    rd = pd.DataFrame(columns=["dataset", "method", "rate_point", "bpp"])
    rival, _ = _codec_frame([("anchor", "s1", "a-dom2", 0.005, 21.0),
                             ("anchor", "s2", "a-dom3", 0.02, 23.0)])
    p1 = at_proposed(frame, rd, "test", ["psnr-rgb"], [])
    p2 = at_proposed(rival, rd, "test", ["psnr-rgb"], [])
    assert np.allclose(p1["value"].to_numpy(float), p2["value"].to_numpy(float), equal_nan=True)
    assert p1["covered"].tolist() == p2["covered"].tolist()


def test_quality_at_the_proposed_rates_staggered_sequences_hand_computed():
    frame, curves = _codec_frame()
    rd = pd.DataFrame(columns=["dataset", "method", "rate_point", "bpp"])
    long = at_proposed(frame[frame["status"] == "ok"], rd, "test", ["psnr-rgb"], [])
    seq = long[(long["sequence"] == "s1") & (long["entry"] == "anchor")]
    # the test's t0 on s1 is at 0.0008: below the anchor's front (0.001): not extrapolated
    t0 = seq[seq["proposed_rate_point"] == "t0"]["value"].iloc[0]
    assert np.isnan(t0)
    t1 = seq[seq["proposed_rate_point"] == "t1"]["value"].iloc[0]
    r, p = curves["s1"]
    assert t1 == pytest.approx(float(interpolate_at(np.array(r), np.array(p),
                                                    np.array([0.0016]))[0]))
    mean = long[(long["sequence"] == "mean") & (long["entry"] == "anchor")].set_index(
        "proposed_rate_point")
    assert np.isnan(mean.at["t0", "value"]) and mean.at["t0", "covered"] == 0
    assert mean.at["t1", "covered"] == 2 and mean.at["t1", "sequences"] == 2
    s2 = float(interpolate_at(np.array(curves["s2"][0]), np.array(curves["s2"][1]),
                              np.array([0.0064]))[0])
    assert mean.at["t1", "value"] == pytest.approx((t1 + s2) / 2)      # equal frame counts
    own = long[(long["sequence"] == "mean") & (long["entry"] == "test")].set_index(
        "proposed_rate_point")
    assert own.at["t1", "value"] == pytest.approx((22.5 + 24.5) / 2)


def _store(tmp_path, records):
    return write_store(tmp_path / "s", records)


def _proposed_records() -> list[dict]:
    recs = []
    for seq in ("a", "b"):
        for i, (bpp, lp, ps) in enumerate(((0.0005, 0.7, 18.0), (0.001, 0.6, 20.0),
                                           (0.002, 0.5, 22.0))):
            rec = record("ours", seq, f"p{i}", bpp, {"lpips-alex": lp, "psnr-yuv": ps})
            rec["kind"] = "proposed"
            recs.append(rec)
            bic = record("lowres-bicubic", seq, f"p{i}", bpp,
                         {"lpips-alex": lp + 0.1, "psnr-yuv": ps + 0.2})
            bic.update(kind="proposed", receiver_of="ours")
            recs.append(bic)
        for i, (bpp, lp, ps) in enumerate(((0.0004, 0.8, 17.0), (0.0008, 0.75, 19.0),
                                           (0.0016, 0.7, 21.0), (0.003, 0.6, 23.0))):
            recs.append(record("x265", seq, f"q{i}", bpp, {"lpips-alex": lp, "psnr-yuv": ps}))
    return recs


def test_headline_takes_its_numbers_from_the_tables(tmp_path):
    summary: list[str] = []
    write_report(_store(tmp_path, _proposed_records()), tmp_path / "rep", summary=summary)
    assert 1 < len(summary) <= 15
    long = pd.read_csv(tmp_path / "rep" / "matched_proposed_toy.csv")
    mean = long[(long["sequence"] == "mean") & (long["metric"] == "lpips-alex")
                & (long["proposed_rate_point"] == "p1") & (long["entry"] != "ours")
                & (long["covered"] == long["sequences"])]
    rival = mean.sort_values("value").iloc[0]            # the best rival with every clip
    assert rival["entry"] in {"x265", "lowres-bicubic"}
    line = next(s for s in summary if s.strip().startswith("lpips-alex"))
    assert f"{rival['entry']} {rival['value']:.4g}" in line
    data = json.loads((tmp_path / "rep" / "headline.json").read_text())
    point = next(p for p in data[0]["points"] if p["rate_point"] == "p1")
    assert point["metrics"]["lpips-alex"]["best_rival"] == rival["entry"]
    assert (tmp_path / "rep" / "headline.md").read_text().count(rival["entry"]) >= 1
    bd_csv = pd.read_csv(tmp_path / "rep" / "bd_table_toy.csv").set_index("method")
    bd_line = next(s for s in summary if "BD-rate (%) vs x265" in s)
    assert f"lpips-alex {bd_csv.at['ours', 'BD-rate lpips-alex (%)']:.4g}" in bd_line
    vs = pd.read_csv(tmp_path / "rep" / "bd_table_toy_vs_lowres-bicubic.csv").set_index("method")
    assert vs.at["ours", "BD-lpips-alex"] == pytest.approx(-0.1)
    assert (tmp_path / "rep" / "matched_proposed_toy_payload.md").is_file()
    md = (tmp_path / "rep" / "matched_proposed_toy.md").read_text()
    assert "ours (proposed)" in md and "(2/2)" in md


@pytest.mark.parametrize("case", ["failed-only", "one-entry", "one-point", "short-anchor",
                                  "partial-metric"])
def test_report_never_crashes_on_a_valid_store(tmp_path, case):
    recs = {
        "failed-only": [record("x265", "a", f"q{i}", 0.001 * (i + 1), {"psnr-rgb": 20.0 + i})
                        for i in range(3)]
        + [record("other", "a", "p0", 0.001, {}, status="failed")],
        "one-entry": [record("x265", s, f"q{i}", 0.001 * (i + 1), {"psnr-rgb": 20.0 + i})
                      for s in ("a", "b") for i in range(3)],
        "one-point": [record("x265", "a", "q0", 0.001, {"psnr-rgb": 20.0}),
                      record("ours", "a", "p0", 0.001, {"psnr-rgb": 21.0})],
        "short-anchor": [record("x265", "a", f"q{i}", 0.001 * (i + 1), {"psnr-rgb": 20.0 + i})
                         for i in range(2)]
        + [record("ours", "a", f"p{i}", 0.001 * (i + 1), {"psnr-rgb": 21.0 + i})
           for i in range(3)],
        "partial-metric": [record("x265", "a", f"q{i}", 0.001 * (i + 1),
                                  {"psnr-rgb": 20.0 + i, **({"dists": 0.3} if i else {})})
                           for i in range(3)]
        + [record("ours", "a", f"p{i}", 0.001 * (i + 1), {"psnr-rgb": 21.0 + i})
           for i in range(3)],
    }[case]
    for rec in recs:
        if rec["method"] == "ours":
            rec["kind"] = "proposed"
    summary: list[str] = []
    files = write_report(_store(tmp_path, recs), tmp_path / "rep", summary=summary)
    bd_md = (tmp_path / "rep" / "bd_table_toy.md").read_text()
    assert files and summary
    if case in ("failed-only", "one-entry"):
        assert "No table:" in bd_md
    if case == "short-anchor":
        csv = pd.read_csv(tmp_path / "rep" / "bd_table_toy.csv")
        assert "anchor has 2 front point(s)" in csv.iloc[0]["note"]


def test_compare_feeds_page_and_report_alike(tmp_path):
    store = _store(tmp_path, _proposed_records())
    from benchmark.analysis.rd import load_entries
    from benchmark.reporting.leaderboard.model import page_data

    entries, _ = load_entries(store)
    frame = entries.frame
    comp = compare(frame, rd_table(frame), "toy", "total", Options())
    data = page_data(store)
    view = data["datasets"]["toy"]["rates"]["total"]
    assert data["datasets"]["toy"]["proposed"] == comp.proposed == "ours"
    assert view["headline"]["lines"] == headline(comp)
    assert data["datasets"]["toy"]["entries"]["lowres-bicubic"]["role"] == "receiver"


def test_one_column_never_pools_two_protocols_of_a_metric(tmp_path, capsys):
    """DISTS at the frame's size and DISTS resized to 256 (the same output name in records made
    before and after the change) may not share a column: `ulvr report` stops with one line
    naming both protocols (exit 2), `--force` reports them with the footer saying so; PSNR's
    per-record `yuv_reference` is not a protocol difference."""
    from benchmark.analysis.rd import check_pooled_protocols
    from benchmark.cli import main
    from benchmark.core.errors import UlvrError
    from benchmark.reporting.notes import provenance_note
    from tests.synthetic_store import record, write_store

    full = {"input": "RGB x/255 in [0, 1] at the frame's size (no resize)"}
    resized = {"input": "RGB x/255 in [0, 1], shorter side over 256 resized to 256"}
    records = []
    for i, (method, proto) in enumerate((("x", full), ("y", resized))):
        for sequence in ("a", "b"):
            for j, bpp in enumerate((0.01, 0.02, 0.04)):
                rec = record(method, sequence, f"p{j}", bpp, {"dists": 0.3 - 0.05 * j + i / 10,
                                                              "psnr-rgb": 30.0 + j})
                rec["metric_protocols"] = {"dists": proto, "psnr": {
                    "yuv_reference": "native" if method == "x" else "via-rgb"}}
                records.append(rec)
    with pytest.raises(UlvrError, match=r"metric 'dists' on dataset 'toy' was computed under 2 "
                                        r"protocols.*6 record\(s\) with input=RGB x/255"):
        check_pooled_protocols(records)
    check_pooled_protocols([r for r in records if r["method"] == "x"])   # one protocol: fine
    note = provenance_note(records)
    assert "protocol dists (2 distinct protocols pooled)" in note
    assert "protocol psnr (one protocol; entries that describe each record's input differ)" \
        in note
    store = write_store(tmp_path / "store", records)
    assert main(["report", str(store.root), "--output", str(tmp_path / "r")]) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and "which one column must not pool" in err
    assert main(["report", str(store.root), "--output", str(tmp_path / "r"), "--force"]) == 0


def test_the_analysis_keeps_text_columns_as_python_objects():
    """pandas 3 would infer Arrow-backed `str` columns, read element by element a third of a
    report's CPU: benchmark.core.pandas_setup turns that off for every frame, not only the
    store's."""
    frame = pd.DataFrame({"method": ["x265", "vvenc"]})
    assert frame["method"].dtype == object
    assert pd.get_option("future.infer_string") is False
    root = Path(__file__).resolve().parents[1] / "benchmark"
    direct = [str(p.relative_to(root)) for p in root.rglob("*.py")
              if p.name != "pandas_setup.py" and re.search(r"^\s*(import pandas|from pandas)",
                                                          p.read_text(), re.M)]
    assert not direct, f"import pd from benchmark.core.pandas_setup instead: {direct}"
