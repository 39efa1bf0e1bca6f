"""LaTeX and Markdown tables: structure balanced, the marked cells in bold."""

from __future__ import annotations

import re

from benchmark.core.pandas_setup import pd
from benchmark.reporting.writers import to_latex, to_markdown


def test_latex_booktabs_bold_best():
    table = pd.DataFrame({"method": ["a_1", "b"], "psnr": [30.5, 31.25], "lpips": [0.2, 0.3]})
    tex = to_latex(table, {"psnr": {1}, "lpips": {0}}, "RD 50% table")
    assert tex.count(r"\begin{tabular}") == tex.count(r"\end{tabular}") == 1
    assert tex.count("{") == tex.count("}")
    for rule in (r"\toprule", r"\midrule", r"\bottomrule"):
        assert tex.count(rule) == 1
    assert r"\textbf{31.25}" in tex and r"\textbf{0.2}" in tex
    assert r"\textbf{30.5}" not in tex and r"a\_1" in tex and r"50\%" in tex
    body = [ln for ln in tex.splitlines() if ln.endswith(r"\\")]
    assert all(ln.count("&") == 2 for ln in body)


def test_markdown_shape():
    md = to_markdown(pd.DataFrame({"x": [1.0, float("nan")], "y": ["a", "b"]}))
    assert md.splitlines()[1] == "|---|---|"
    assert re.search(r"\| -- \| b \|", md)


def test_paper_tables_are_compact_booktabs_floats(tmp_path):
    """paper_*.tex: one float per comparison and metric group, booktabs, arrows in the heads,
    bpp as heads, 3 significant figures, every row as wide as its head, bold by the one rule.
    (No TeX engine is installed here: TeX Live is hundreds of MB; the structure is checked.)"""
    from benchmark.analysis.comparisons import Options
    from benchmark.reporting.latex import number
    from benchmark.reporting.report import write_report
    from tests.test_marks import _proposed_store

    write_report(_proposed_store(tmp_path / "s"), tmp_path / "rep",
                 options=Options(anchors=("codec",)), rates=("total",))
    for name in ("proposed", "bd", "rd"):
        tex = (tmp_path / "rep" / f"paper_{name}_toy.tex").read_text()
        assert "booktabs" in tex.splitlines()[0]
        floats = tex.count(r"\begin{table}")
        assert floats == tex.count(r"\end{table}") == tex.count(r"\toprule") \
            == tex.count(r"\bottomrule") == tex.count(r"\midrule") >= 1
        assert tex.count("{") == tex.count("}")
        for block in tex.split(r"\begin{tabular}")[1:]:
            align = block[1:block.index("}")]
            body = block.split(r"\midrule")[1].split(r"\bottomrule")[0]
            for line in body.strip().splitlines():
                assert line.count("&") == len(align) - 1, line
    proposed = (tmp_path / "rep" / "paper_proposed_toy.tex").read_text()
    assert r"LPIPS $\downarrow$" in proposed and r"\multicolumn{1}{c}{0.000200 bpp}" in proposed
    assert "n/r" in proposed                  # the teacher was not run at d8 and d4
    assert proposed.count(r"\textbf") == 1    # only at d16, where every entry has a value
    assert "0.3" in proposed and "0.30000" not in proposed
    assert number(0.60576) == "0.606" and number(2013.8417) == "2014" and number(-76.886) \
        == "-76.9"
