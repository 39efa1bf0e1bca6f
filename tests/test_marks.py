"""One rule for "best" marks (benchmark.analysis.marks), on synthetic stores that reproduce each
way a table once exaggerated: a rival not run, a rival without overlap, marks across rates,
values worse than the anchor, VMAF at its floor."""

from __future__ import annotations

import math

from benchmark.analysis.comparisons import Options
from benchmark.analysis.marks import NO_OVERLAP, NOT_RUN, Cell, best_in, best_of
from benchmark.core.pandas_setup import pd
from benchmark.reporting.report import write_report
from tests.synthetic_store import record, write_store

LABELS = {"d16": 0.0002, "d8": 0.0004, "d4": 0.0008}


def _table(md: str, metric: str) -> list[str]:
    """The lines of one metric's Markdown table in a report file."""
    section = md.split(f"## {metric}")[1].split("\n## ")[0]
    return [line for line in section.splitlines() if line.startswith("|")]


def _proposed_store(root, teacher_points=("d16",)):
    """ours (proposed) at three points; its teacher (a receiver of the same streams) only at
    `teacher_points`, better there; a codec whose front covers every rate, worse."""
    recs = []
    for seq in ("a", "b"):
        for label, bpp in LABELS.items():
            ours = record("ours", seq, label, bpp, {"lpips-alex": 0.5 - bpp * 100})
            ours["kind"] = "proposed"
            recs.append(ours)
            if label in teacher_points:
                teacher = record("teacher", seq, label, bpp, {"lpips-alex": 0.3})
                teacher.update(kind="proposed", receiver_of="ours")
                recs.append(teacher)
        for i, bpp in enumerate((0.0001, 0.0003, 0.001, 0.003)):
            recs.append(record("codec", seq, f"q{i}", bpp, {"lpips-alex": 0.8 - 50 * bpp}))
    return write_store(root, recs)


def test_the_rule_on_cells():
    lpips = {"a": Cell(0.2), "b": Cell(0.3)}
    assert best_in(lpips, "lpips-alex").winners == ("a",)
    assert best_in({**lpips, "c": Cell(math.nan, 0, 0, run=False)}, "lpips-alex").why \
        == "no mark: c not run here"
    partial = Cell(0.1, 2, 3)
    assert partial.status == NO_OVERLAP and Cell(1.0, run=False).status == NOT_RUN
    assert "without a value for every sequence" in best_in({**lpips, "c": partial},
                                                           "lpips-alex").why
    assert best_in({"a": Cell(0.2)}, "lpips-alex").why == "no rival in this cell"
    assert best_in({"a": Cell(0.2), "b": Cell(0.2)}, "lpips-alex").winners == ("a", "b")
    # against an anchor (BD): a value worse than the anchor is never the best
    assert best_of({"a": Cell(12.0), "b": Cell(3.6)}, True, beat=0.0).winners == ()
    assert best_of({"a": Cell(-12.0), "b": Cell(3.6)}, True, beat=0.0).winners == ("a",)
    # VMAF at its floor: a caveat, no mark
    vmaf = best_in({"a": Cell(7.0), "b": Cell(0.4)}, "vmaf")
    assert vmaf.winners == () and vmaf.why.startswith("caveat: vmaf 7")


def test_a_rival_not_run_at_a_proposed_point_marks_nothing_there(tmp_path):
    write_report(_proposed_store(tmp_path / "s"), tmp_path / "rep",
                 options=Options(anchors=()), rates=("total",))
    md = (tmp_path / "rep" / "matched_proposed_toy.md").read_text()
    rows = {line.split("|")[1].strip(): [c.strip() for c in line.split("|")[2:-1]]
            for line in _table(md, "lpips-alex")[2:]}
    # columns in bpp order: d16, d8, d4; the teacher ran at d16 only
    assert rows["teacher"][1] == rows["teacher"][2] == "-- (not run)"
    assert rows["teacher"][0].startswith("**0.3")          # the best where all ran
    assert "> Caveat: means over 2 sequence(s)" in md
    assert not any("**" in row[1] or "**" in row[2] for row in rows.values())
    assert "lpips-alex at d8: no mark: teacher not run here" in md
    assert "lpips-alex at d4: no mark: teacher not run here" in md
    long = pd.read_csv(tmp_path / "rep" / "matched_proposed_toy.csv")
    mean = long[(long["sequence"] == "mean") & (long["entry"] == "teacher")]
    assert set(mean[~mean["run"]]["proposed_rate_point"]) == {"d8", "d4"}


def test_a_rival_short_of_overlap_at_a_target_marks_nothing_there(tmp_path):
    write_report(_proposed_store(tmp_path / "s"), tmp_path / "rep",
                 options=Options(anchors=(), targets=(0.0003, 0.0005)), rates=("total",))
    md = (tmp_path / "rep" / "matched_rate_toy.md").read_text()
    # the teacher (one point) covers no target: nothing is best
    assert "**" not in "".join(_table(md, "lpips-alex"))
    assert "without a value for every sequence" in md


def test_the_rd_table_marks_nothing_across_rates(tmp_path):
    write_report(_proposed_store(tmp_path / "s"), tmp_path / "rep",
                 options=Options(anchors=()), rates=("total",))
    rd = (tmp_path / "rep" / "rd_table_toy.md").read_text()
    assert "**" not in rd and "Nothing is marked best" in rd
    assert r"\textbf" not in (tmp_path / "rep" / "rd_table_toy.tex").read_text()


def test_a_bd_value_worse_than_the_anchor_is_never_bold(tmp_path):
    recs = []
    for seq in ("a", "b"):
        for i, bpp in enumerate((0.001, 0.002, 0.004, 0.008)):
            recs.append(record("anchor", seq, f"p{i}", bpp, {"psnr-rgb": 30.0 + 3 * i}))
            recs.append(record("worse", seq, f"p{i}", bpp * 1.3, {"psnr-rgb": 30.0 + 3 * i}))
            recs.append(record("worst", seq, f"p{i}", bpp * 1.6, {"psnr-rgb": 30.0 + 3 * i}))
    write_report(write_store(tmp_path / "s", recs), tmp_path / "rep",
                 options=Options(anchors=("anchor",)), rates=("total",))
    md = (tmp_path / "rep" / "bd_table_toy.md").read_text()
    bd = pd.read_csv(tmp_path / "rep" / "bd_table_toy.csv").set_index("method")
    assert bd.loc["worse", "BD-rate psnr-rgb (%)"] > 0 and bd.loc["worst", "BD-psnr-rgb"] < 0
    assert "**" not in md and "no entry is better than the anchor" in md


def test_vmaf_at_its_floor_carries_a_caveat_instead_of_a_mark(tmp_path):
    recs = []
    for seq in ("a", "b"):
        for i, bpp in enumerate((0.0001, 0.0003, 0.001, 0.003)):
            recs.append(record("x", seq, f"p{i}", bpp, {"vmaf": 1.0 + i}))
            recs.append(record("y", seq, f"p{i}", bpp, {"vmaf": 2.0 + i}))
    write_report(write_store(tmp_path / "s", recs), tmp_path / "rep",
                 options=Options(anchors=(), targets=(0.0003, 0.001)), rates=("total",))
    md = (tmp_path / "rep" / "matched_rate_toy.md").read_text()
    assert "**" not in "".join(_table(md, "vmaf"))
    assert "lies outside its valid range 20-100" in md
