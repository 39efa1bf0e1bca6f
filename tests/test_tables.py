"""LaTeX and Markdown tables: structure balanced, best value per column in bold."""

from __future__ import annotations

import re

import pandas as pd

from benchmark.reporting.writers import to_latex, to_markdown


def test_latex_booktabs_bold_best():
    table = pd.DataFrame({"method": ["a_1", "b"], "psnr": [30.5, 31.25], "lpips": [0.2, 0.3]})
    tex = to_latex(table, {"psnr": "max", "lpips": "min"}, "RD 50% table")
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
