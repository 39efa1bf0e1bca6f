"""Paper-ready LaTeX: one compact float per comparison and metric group, to `\\input` as is.

- `paper_proposed_<dataset>.tex`: quality at the proposed method's own rates; one float per
  metric group, the rate points' bpp as column heads;
- `paper_bd_<dataset>.tex`: BD-rate (%) with its bootstrap interval against each anchor (x265,
  the strongest classical codec, lowres-bicubic), one float per anchor;
- `paper_rd_<dataset>.tex`: the RD table per rate point, one float per metric group.

Every table: booktabs rules (`\\usepackage{booktabs}`), ↑/↓ and units in the heads, values
rounded to `digits` significant figures (3 by default: the regression tolerances of LPIPS and
DISTS are 5e-3), bold by the one rule (benchmark.analysis.marks), caveats as footnotes under
the tabular. No package beyond booktabs is needed.
"""

from __future__ import annotations

import math
from pathlib import Path

from benchmark.analysis.comparisons import STRONGEST, Comparison
from benchmark.analysis.marks import NOT_RUN, Cell, best_in
from benchmark.core.pandas_setup import pd
from benchmark.metrics.table import lower_is_better

# metric groups: one float each (only the metrics a run has appear)
GROUPS = {
    "perceptual": ("lpips-alex", "dists"),
    "fidelity": ("psnr-yuv", "ms-ssim", "vmaf"),
    "temporal": ("tlp", "tof", "warp-error", "flicker"),
    "semantic": ("label-miou", "label-pixel-acc"),
    "set": ("fvd", "kvd"),
}
NAMES = {"lpips-alex": "LPIPS", "dists": "DISTS", "psnr-yuv": "PSNR-YUV", "ms-ssim": "MS-SSIM",
         "vmaf": "VMAF", "tlp": "tLP", "tof": "tOF", "warp-error": "Warp err.",
         "flicker": "Flicker", "label-miou": "Label mIoU", "label-pixel-acc": "Label acc.",
         "fvd": "FVD", "kvd": "KVD"}
UNITS = {"psnr-yuv": "dB", "tof": "px"}
DEFAULT_DIGITS = 3


def escape(text: str) -> str:
    for a, b in (("\\", r"\textbackslash{}"), ("&", r"\&"), ("%", r"\%"), ("_", r"\_"),
                 ("#", r"\#"), ("$", r"\$"), ("{", r"\{"), ("}", r"\}")):
        text = text.replace(a, b)
    return text


def number(value: float, digits: int = DEFAULT_DIGITS) -> str:
    """`value` to `digits` significant figures, plain (no exponent for 1e-3..1e6)."""
    if value is None or not math.isfinite(value):
        return "--"
    if value == 0:
        return "0"
    magnitude = math.floor(math.log10(abs(value)))
    decimals = max(0, digits - 1 - magnitude)
    if abs(value) < 1e-6:
        return f"{value:.{digits - 1}e}"
    return f"{round(value, decimals):.{decimals}f}"


def head(metric: str) -> str:
    """A column head: name, unit, and ↑ or ↓."""
    unit = f" ({UNITS[metric]})" if metric in UNITS else ""
    arrow = r"$\downarrow$" if lower_is_better(metric) else r"$\uparrow$"
    return f"{escape(NAMES.get(metric, metric))}{unit} {arrow}"


def _float(caption: str, label: str, columns: list[str], rows: list[list[str]],
           notes: list[str], align: str, above: list[str] = ()) -> str:
    """One table float: booktabs tabular (`above`: header lines over the column heads),
    footnotes under it."""
    out = [r"\begin{table}[t]", r"\centering", r"\small",
           rf"\caption{{{escape(caption)}}}", rf"\label{{{label}}}",
           rf"\begin{{tabular}}{{{align}}}", r"\toprule", *above,
           " & ".join(columns) + r" \\", r"\midrule"]
    out += [" & ".join(r) + r" \\" for r in rows]
    out += [r"\bottomrule", r"\end{tabular}"]
    if notes:
        out.append(r"\par\smallskip\footnotesize " + " ".join(
            rf"\textsuperscript{{{i + 1}}}{escape(n)}" for i, n in enumerate(notes)))
    out.append(r"\end{table}")
    return "\n".join(out) + "\n"


def _cell(cell: Cell, bold: bool, digits: int) -> str:
    if cell.status == NOT_RUN:
        return "n/r"
    text = number(cell.value, digits) if cell.status == "ok" else "--"
    return rf"\textbf{{{text}}}" if bold else text


def proposed_tables(comp: Comparison, rows_of, digits: int = DEFAULT_DIGITS) -> str:
    """The proposed-rates comparison: one float per metric group; columns are the proposed
    rate points (bpp) times the group's metrics. `rows_of(metric)` is report.proposed_wide."""
    out = []
    for group, metrics in GROUPS.items():
        present = [m for m in metrics if m in comp.present]
        if not present:
            continue
        tables = {m: rows_of(m) for m in present}
        labels = tables[present[0]][0]
        bpps = [number(float(label.split("(")[1].split()[0]), digits) for label in labels]
        entries = [r[0] for r in tables[present[0]][1]]
        marks = {m: [best_in({r[0]: r[j + 1] for r in tables[m][1]}, m)
                     for j in range(len(labels))] for m in present}
        k = len(present)
        above = [" & ".join([""] + [rf"\multicolumn{{{k}}}{{c}}{{{b} bpp}}" for b in bpps])
                 + r" \\",
                 " ".join(rf"\cmidrule(lr){{{2 + j * k}-{1 + (j + 1) * k}}}"
                          for j in range(len(bpps)))]
        columns = ["Method"] + [head(m) for _ in bpps for m in present]
        rows = []
        for i, entry in enumerate(entries):
            cells = [escape(entry)]
            for j in range(len(labels)):
                for m in present:
                    cell = tables[m][1][i][j + 1]
                    cells.append(_cell(cell, entry in marks[m][j], digits))
            rows.append(cells)
        notes = [f"bpp: mean over {comp.dataset}'s sequences at {comp.proposed}'s rate points "
                 f"({comp.rate} rate); others interpolated on their fronts, never "
                 "extrapolated; -- no value on every sequence; n/r not run. Bold: best where "
                 "every entry has a value."]
        unmarked = sorted({mk.why for m in present for mk in marks[m] if not mk.winners})
        notes += unmarked[:2]
        out.append(_float(f"{group.capitalize()} quality at {comp.proposed}'s rates, "
                          f"{comp.dataset}", f"tab:{comp.dataset}-proposed-{group}",
                          columns, rows, notes, "l" + "r" * (len(columns) - 1), above))
    return "".join(out)


def bd_tables(comp: Comparison, marks_of, digits: int = DEFAULT_DIGITS) -> str:
    """BD-rate (%) with its 95% interval against each anchor: one float per anchor. `marks_of`
    is report.bd_marks."""
    from benchmark.analysis.comparisons import strongest_table

    out = []
    anchors = [*comp.options.anchors, *([STRONGEST] if comp.strongest else [])]
    for anchor in anchors:
        bd = strongest_table(comp) if anchor == STRONGEST else comp.bd.get(anchor)
        if bd is None or bd.empty:
            continue
        metrics = [m for group in ("perceptual", "fidelity") for m in GROUPS[group]
                   if f"BD-rate {m} (%)" in bd]
        marks = marks_of(bd)
        columns = ["Method"] + [f"{escape(NAMES.get(m, m))} BD-rate (\\%) $\\downarrow$"
                                for m in metrics]
        rows = []
        for r in bd.to_dict("records"):
            cells = [escape(r["method"])]
            for m in metrics:
                value = r[f"BD-rate {m} (%)"]
                low, high = r.get(f"BD-rate {m} CI95 low"), r.get(f"BD-rate {m} CI95 high")
                text = number(value, digits)
                if pd.notna(low) and pd.notna(high) and text != "--":
                    text += f" [{number(low, 2)}, {number(high, 2)}]"
                cells.append(rf"\textbf{{{text}}}" if r["method"] in marks[f"BD-rate {m} (%)"]
                             else text)
            rows.append(cells)
        against = (", ".join(f"{NAMES.get(m, m)}: {c}" for m, (c, _) in comp.strongest.items()
                             if m in metrics) if anchor == STRONGEST else anchor)
        notes = [f"Against {against}; per sequence on Pareto fronts, then the mean over "
                 "sequences (JVET CTC); [low, high]: bootstrap 95% interval over sequences; "
                 "-- the fronts overlap too little. Bold: best where every entry has a value "
                 "and beats the anchor."]
        title = "the strongest classical codec" if anchor == STRONGEST else anchor
        out.append(_float(f"BD-rate against {title}, {comp.dataset} ({comp.rate} rate)",
                          f"tab:{comp.dataset}-bd-{title.replace(' ', '-')}", columns, rows,
                          notes, "l" + "r" * len(metrics)))
    return "".join(out)


def rd_tables(comp: Comparison, digits: int = DEFAULT_DIGITS) -> str:
    """The RD table per rate point, one float per metric group (nothing bold: rows are at
    different rates)."""
    out = []
    rd = comp.rd.sort_values(["method", "bpp"])
    for group, metrics in GROUPS.items():
        present = [m for m in metrics if m in comp.present]
        if not present:
            continue
        columns = ["Method", "bpp"] + [head(m) for m in present]
        rows = [[escape(r["method"]), number(r["bpp"], digits)]
                + [number(r.get(m), digits) for m in present] for r in rd.to_dict("records")]
        out.append(_float(f"{group.capitalize()} metrics per rate point, {comp.dataset} "
                          f"({comp.rate} rate)", f"tab:{comp.dataset}-rd-{group}", columns,
                          rows, ["Frame-weighted means over sequences; -- a sequence is "
                                 "missing or failed."], "lr" + "r" * len(present)))
    return "".join(out)


def write_paper_tables(comp: Comparison, out_dir: Path, stem: str, rows_of, marks_of,
                       digits: int = DEFAULT_DIGITS) -> list[Path]:
    """paper_{proposed,bd,rd}_<stem>.tex; returns the files written."""
    written = []
    for name, text in (("proposed", proposed_tables(comp, rows_of, digits)
                        if comp.at_proposed is not None else ""),
                       ("bd", bd_tables(comp, marks_of, digits)),
                       ("rd", rd_tables(comp, digits))):
        if text:
            path = out_dir / f"paper_{name}_{stem}.tex"
            path.write_text(f"% ULVR-Bench: {name} tables of {comp.dataset} ({comp.rate} "
                            "rate); needs \\usepackage{booktabs}\n" + text)
            written.append(path)
    return written
