"""Table writers: Markdown, CSV and LaTeX (booktabs). What is bold is the caller's: `bold` maps
a column to the row positions marked best by the one rule (benchmark.analysis.marks)."""

from __future__ import annotations

import math
from pathlib import Path

from benchmark.core.pandas_setup import pd


def _fmt(value: object, digits: int = 4) -> str:
    if isinstance(value, float):
        return "--" if math.isnan(value) else f"{value:.{digits}g}" if abs(value) < 1e-3 \
            else f"{value:.{digits}f}".rstrip("0").rstrip(".") if digits else f"{value:.0f}"
    return str(value)


Bold = dict[str, set[int]]   # column -> positions of the rows marked best


def to_markdown(table: pd.DataFrame, bold: Bold | None = None) -> str:
    """A GitHub-style Markdown table; the cells `bold` names are bold."""
    bold = bold or {}
    lines = ["| " + " | ".join(map(str, table.columns)) + " |", "|" + "---|" * len(table.columns)]
    for i, row in enumerate(table.itertuples(False)):
        cells = [f"**{_fmt(v)}**" if i in bold.get(c, ()) else _fmt(v)
                 for c, v in zip(table.columns, row, strict=True)]
        lines.append("| " + " | ".join(cells) + " |")
    return "\n".join(lines) + "\n"


def _latex_escape(text: str) -> str:
    for a, b in (("\\", r"\textbackslash{}"), ("&", r"\&"), ("%", r"\%"), ("_", r"\_"),
                 ("#", r"\#")):
        text = text.replace(a, b)
    return text


def to_latex(table: pd.DataFrame, bold: Bold | None = None, caption: str = "") -> str:
    """booktabs tabular; the cells `bold` names are bold."""
    bold = bold or {}
    align = "".join("r" if pd.api.types.is_numeric_dtype(table[c]) else "l" for c in table)
    lines = [r"\begin{table}[t]", r"\centering"]
    if caption:
        lines.append(rf"\caption{{{_latex_escape(caption)}}}")
    lines += [rf"\begin{{tabular}}{{{align}}}", r"\toprule",
              " & ".join(_latex_escape(str(c)) for c in table.columns) + r" \\", r"\midrule"]
    for i, row in enumerate(table.itertuples(False)):
        cells = []
        for col, value in zip(table.columns, row, strict=True):
            cell = _latex_escape(_fmt(value))
            if i in bold.get(col, ()):
                cell = rf"\textbf{{{cell}}}"
            cells.append(cell)
        lines.append(" & ".join(cells) + r" \\")
    lines += [r"\bottomrule", r"\end{tabular}", r"\end{table}"]
    return "\n".join(lines) + "\n"


def write_tables(table: pd.DataFrame, stem: Path, bold: Bold | None, title: str,
                 notes: list[str] | None = None) -> list[Path]:
    """STEM.md, STEM.csv and STEM.tex; returns the paths."""
    md = stem.with_suffix(".md")
    md.write_text(f"# {title}\n\n" + to_markdown(table, bold)
                  + "".join(f"\n{note}\n" for note in notes or []))
    csv = stem.with_suffix(".csv")
    table.to_csv(csv, index=False)
    tex = stem.with_suffix(".tex")
    tex.write_text("".join(f"% {line}\n" for note in notes or [] for line in note.splitlines())
                   + to_latex(table, bold, title))
    return [md, csv, tex]
