"""One dataset's table files under one rate accounting: RD, BD (per anchor and against the
strongest codec), fixed-target and proposed-rate tables, paper LaTeX, with the marks, caveats
and notes each carries (`write_dataset`); `benchmark.reporting.report` runs it per dataset."""

from __future__ import annotations

import sys
from pathlib import Path

from benchmark.analysis.comparisons import (
    REFERENCE_CODEC,
    STRONGEST,
    Comparison,
    strongest_table,
)
from benchmark.analysis.entries import Entries
from benchmark.analysis.fronts import FOOTER
from benchmark.analysis.marks import NOT_RUN, Cell, Mark, best_in, best_of
from benchmark.analysis.rd import (
    best_direction,
    rd_table,
)
from benchmark.analysis.uncertainty import MIN_FVD_CLIPS, MIN_SEQUENCES, RESAMPLES, ci_text
from benchmark.core.pandas_setup import pd
from benchmark.metrics.table import lower_is_better
from benchmark.reporting.latex import write_paper_tables
from benchmark.reporting.notes import _notes, provenance_note
from benchmark.reporting.writers import _fmt, to_latex, to_markdown, write_tables


def write_dataset(comp: Comparison, frame: pd.DataFrame, records: list[dict],
                   entries: Entries, out_dir: Path, suffix: str) -> list[Path]:
    """One dataset's files under one rate accounting."""
    dataset, present, opts = comp.dataset, comp.present, comp.options
    cols = ["method", "rate_point", "jobs", "bpp", "kbps", *present, "off front"]
    if "fvd" in present:
        cols.insert(cols.index("fvd") + 1, "fvd_clips")
    notes = _notes(comp.rd, frame, records, entries, comp.rate)
    notes.insert(1, FOOTER[opts.front] + " `off front` names the metrics for which a row is "
                 "dominated on the dataset-mean curve (shown, not used for curves). Nothing is "
                 "marked best: rows are at different rates (the matched-rate and BD tables "
                 "compare at equal rate).")
    stem = f"{dataset}{suffix}"
    written = write_tables(comp.rd[[c for c in cols if c in comp.rd.columns]],
                           out_dir / f"rd_table_{stem}", None,
                           f"RD table: {dataset} ({comp.rate} rate)", notes)
    for i, anchor in enumerate(opts.anchors):
        if i and anchor not in set(frame["method"]):   # a further anchor not run here: no table
            continue
        name = f"bd_table_{stem}" + ("" if i == 0 else f"_vs_{anchor}")
        name += "" if opts.bd_mode == "per-sequence" else "_averaged"
        written += _write_bd(comp, anchor, out_dir / name, records)
    if comp.strongest:
        name = f"bd_table_{stem}_vs_strongest" + ("" if opts.bd_mode == "per-sequence"
                                                  else "_averaged")
        written += _write_bd(comp, STRONGEST, out_dir / name, records)
    written += write_paper_tables(comp, out_dir, stem,
                                  lambda m: proposed_wide(comp, m), bd_marks, opts.digits)
    written += write_matched(comp, out_dir / f"matched_rate_{stem}", [provenance_note(records)])
    written += write_proposed(comp, out_dir / f"matched_proposed_{stem}",
                              [provenance_note(records)])
    groups = sorted(g for g in frame["group"].dropna().unique() if g) \
        if "group" in frame.columns else []
    for group in groups if len(groups) > 1 else []:
        sub_table = rd_table(frame[frame["group"] == group])
        written += write_tables(sub_table[[c for c in cols if c in sub_table.columns]],
                                out_dir / f"rd_table_{stem}_class{group}", None,
                                f"RD table: {dataset}, class {group}", notes)
    return written


def _write_bd(comp: Comparison, anchor: str, stem: Path, records: list[dict]) -> list[Path]:
    """The BD table of one dataset against `anchor`, and its per-sequence cells; without a
    table (no anchor, nothing to compare) a table file that says why."""
    opts = comp.options
    if anchor == STRONGEST:
        bd = strongest_table(comp)
        codecs = sorted({c for c, _ in comp.strongest.values()})
        cells = pd.concat([comp.bd_sequences[c] for c in codecs if c in comp.bd_sequences])
        anchor = (f"the strongest classical codec per metric (lowest BD-rate against "
                  f"{REFERENCE_CODEC}: " + ", ".join(f"{m}: {c}" for m, (c, _) in
                                                     comp.strongest.items()) + ")")
    else:
        bd, cells = comp.bd.get(anchor, pd.DataFrame()), comp.bd_sequences.get(anchor)
    label = ("per sequence on fronts, then the mean over sequences (JVET CTC)"
             if opts.bd_mode == "per-sequence"
             else "on dataset-averaged RD fronts (not the CTC way; for comparison)")
    regime = (f" Rate regime: {opts.bd_range[0]:g} to {opts.bd_range[1]:g} {opts.x_axis}."
              if opts.bd_range else "")
    notes = [f"Anchor: {anchor}; interpolation: {opts.bd_method}; rate: {opts.x_axis} "
             f"({comp.rate}); BD computed {label}.{regime} {FOOTER[opts.front]} Each value is "
             "integrated over the interval both fronts cover (quality for BD-rate, log rate for "
             f"BD-metric), which must span at least {100 * opts.min_overlap:.0f}% of the shorter"
             " front's range (--min-overlap); `interval` gives it per sequence and `share` the "
             "smallest share. BD-rate < 0 means fewer bits for the same quality. A `--` says "
             "why in `why --`. Nothing is extrapolated.", provenance_note(records)]
    if bd.empty:
        why = comp.bd_missing.get(anchor, "no values")
        stem.with_suffix(".md").write_text(
            f"# BD table vs {anchor}: {comp.dataset} ({comp.rate} rate)\n\nNo table: {why}.\n")
        print(f"ulvr: no BD table vs {anchor} for {comp.dataset} ({comp.rate}): {why}",
              file=sys.stderr)
        return [stem.with_suffix(".md")]
    marks = bd_marks(bd)
    shown = bd_shown(bd)
    notes += mark_notes(marks)
    notes.append(f"CI95: percentile bootstrap 95% interval of the mean over the "
                 f"{bd_sequence_count(cells)} sequences ({RESAMPLES} resamples); wins: sequences "
                 "on which the BD-rate is below 0."
                 + (f" Only {bd_sequence_count(cells)} sequences stand behind these means (fewer "
                    f"than {MIN_SEQUENCES}): read them as indications."
                    if bd_sequence_count(cells) < MIN_SEQUENCES else ""))
    written = write_tables(shown, stem, bold_rows(marks, list(shown["method"])),
                           f"BD table vs {anchor} ({opts.bd_mode}): {comp.dataset} "
                           f"({comp.rate} rate)", notes)
    bd.drop(columns=["dataset"], errors="ignore").to_csv(stem.with_suffix(".csv"), index=False)
    if cells is not None and len(cells):
        path = stem.parent / f"{stem.name}_per_sequence.csv"
        cells.to_csv(path, index=False)
        written.append(path)
    return written


def bd_metrics(bd: pd.DataFrame) -> list[str]:
    """The metrics a BD table has values for, in its column order."""
    return [c[len("BD-rate "):-len(" (%)")] for c in bd.columns
            if c.startswith("BD-rate ") and c.endswith(" (%)") and " share " not in c]


def bd_value_columns(bd: pd.DataFrame) -> list[str]:
    """The value columns of a BD table: `BD-rate M (%)` and `BD-M` per metric."""
    return [c for m in bd_metrics(bd) for c in (f"BD-rate {m} (%)", f"BD-{m}") if c in bd]


def bd_shown(bd: pd.DataFrame) -> pd.DataFrame:
    """A BD table as the Markdown shows it: per metric its BD-rate with the bootstrap 95%
    interval over sequences and the sequences it wins, then its BD-metric; and the note."""
    out = bd[["method"]].copy()
    for m in bd_metrics(bd):
        if f"anchor {m}" in bd:   # against the strongest classical codec: named per metric
            out[f"anchor {m}"] = bd[f"anchor {m}"]
        out[f"BD-rate {m} (%)"] = bd[f"BD-rate {m} (%)"]
        out[f"BD-rate {m} CI95"] = [ci_text(lo, hi) for lo, hi in zip(
            bd[f"BD-rate {m} CI95 low"], bd[f"BD-rate {m} CI95 high"], strict=True)]
        out[f"BD-rate {m} wins"] = bd[f"BD-rate {m} wins"]
        out[f"BD-{m}"] = bd[f"BD-{m}"]
    out["note"] = bd["note"]
    return out


def bd_sequence_count(cells: pd.DataFrame | None) -> int:
    """How many sequences a BD table's means are over."""
    return int(cells["sequence"].nunique()) if cells is not None and len(cells) else 1


def bd_marks(bd: pd.DataFrame) -> dict[str, Mark]:
    """Per BD column, the entries marked best by the one rule: every entry has a value, and the
    best is better than the anchor (BD-rate < 0; BD-metric on the metric's better side of 0)."""
    marks = {}
    for col in bd_value_columns(bd):
        lower = True if col.startswith("BD-rate") else lower_is_better(col[3:])
        cells = {m: Cell(float(v)) for m, v in zip(bd["method"], bd[col], strict=True)}
        marks[col] = best_of(cells, lower, beat=0.0)
    return marks


def bold_rows(marks: dict[str, Mark], names: list[str]) -> dict[str, set[int]]:
    """The writers' bold cells: per column, the positions of the rows its mark names."""
    return {col: {i for i, n in enumerate(names) if n in mark} for col, mark in marks.items()}


def mark_notes(marks: dict[str, Mark]) -> list[str]:
    """One footer line listing the columns that mark nothing, and why."""
    unmarked = [f"{col}: {mark.why}" for col, mark in marks.items() if not mark.winners]
    return ["Best values are bold only where every entry has a value at full coverage (and, "
            "against an anchor, beats it). Unmarked: " + "; ".join(unmarked) + "."] \
        if unmarked else ["Best values are bold only where every entry has a value at full "
                          "coverage (and, against an anchor, beats it)."]


def _coverage_cell(cell: Cell, bold: bool) -> str:
    if cell.status == NOT_RUN:
        return "-- (not run)"
    interval = ci_text(*cell.ci) if cell.ci else ""
    text = f"{_fmt(cell.value)}" + (f" {interval}" if interval else "") \
        + f" ({cell.covered}/{cell.sequences})"
    return f"**{text}**" if bold else text


def _write_md_tex(stem: Path, md: list[str], tex: list[str], foot: list[str]) -> None:
    """STEM.md (the tables, then each footer note) and STEM.tex (the notes as comments first)."""
    stem.with_suffix(".md").write_text("".join(md) + "".join(f"\n{n}\n" for n in foot))
    stem.with_suffix(".tex").write_text(
        "".join(f"% {line}\n" for n in foot for line in n.splitlines()) + "".join(tex))


def write_matched(comp: Comparison, stem: Path, notes: list[str]) -> list[Path]:
    """matched_rate_<dataset>.{md,csv,tex} (entries x target bpp, one table per metric, each
    cell with its sequence coverage, best per column in bold) and _per_sequence.csv."""
    long, targets = comp.fixed, comp.options.targets
    md, tex = [f"# Matched-rate table: {comp.dataset} ({comp.rate} rate)\n"], []
    unmarked = []
    for metric in comp.present:
        part = long[long["metric"] == metric]
        if part.empty:
            continue
        cells = {t: {entry: Cell(float(r["value"]), int(r["covered"]), int(r["sequences"]))
                     for entry, r in part[part["target_bpp"] == t].set_index("entry").iterrows()}
                 for t in targets}
        marks = {t: best_in(cells[t], metric) for t in targets}
        unmarked += [f"{metric} at {t:g} bpp: {m.why}" for t, m in marks.items()
                     if not m.winners]
        rows = [[entry] + [_coverage_cell(cells[t][entry], entry in marks[t]) for t in targets]
                for entry in sorted(set(part["entry"]))]
        wide = pd.DataFrame(rows, columns=["method", *[f"bpp={t:g}" for t in targets]])
        md.append(f"\n## {metric}: {_arrow(metric)}\n\n" + caveat(comp, metric)
                  + to_markdown(wide))
        tex.append(to_latex(wide.replace(r"\*\*", "", regex=True), {},
                            f"{metric} at matched rate ({comp.dataset})"))
        long.loc[long["metric"] == metric, "best"] = best_direction(metric)
        for t, mark in marks.items():
            chosen = (long["metric"] == metric) & (long["target_bpp"] == t)
            long.loc[chosen, "marked_best"] = long.loc[chosen, "entry"].isin(mark.winners)
    how = (f"Values interpolated with pchip in log10(bpp) on each entry's front, never "
           "extrapolated: `-- (k/n)` where only k of the n sequences cover the target. "
           "Per-sequence metrics: interpolated per sequence, frame-weighted mean only when every"
           " sequence covers the target. Set metrics (FVD, KVD): on the dataset-level front "
           f"(1/1: covered). {FOOTER[comp.options.front]}")
    _write_md_tex(stem, md, tex, [how, *_unmarked_note(unmarked), *notes])
    long.rename(columns={"entry": "method"}).to_csv(stem.with_suffix(".csv"), index=False)
    per_seq_path = stem.parent / f"{stem.name}_per_sequence.csv"
    comp.fixed_sequences.rename(columns={"entry": "method"}).to_csv(per_seq_path, index=False)
    return [stem.with_suffix(".md"), stem.with_suffix(".csv"), stem.with_suffix(".tex"),
            per_seq_path]


def caveat(comp: Comparison, metric: str) -> str:
    """caveat_text as a Markdown quote under a table's heading ('' when none)."""
    text = caveat_text(comp, metric)
    return f"> Caveat: {text}.\n\n" if text else ""


def caveat_text(comp: Comparison, metric: str) -> str:
    """The visible caveat of one metric's table: too few sequences behind its means, or too
    few clips behind an FVD ('' when neither)."""
    out = []
    sequences = int(comp.rd["jobs"].astype(str).str.split("/").str[1].astype(int).max()) \
        if len(comp.rd) else 0
    if metric in comp.set_metrics and "fvd_clips" in comp.rd:
        clips = pd.to_numeric(comp.rd["fvd_clips"], errors="coerce").dropna()
        if len(clips) and clips.min() < MIN_FVD_CLIPS:
            out.append(f"{metric.upper()} from {int(clips.min())}-{int(clips.max())} clips "
                       f"(fewer than {MIN_FVD_CLIPS}): its covariance is rank-deficient, "
                       "read it as an indication")
    elif sequences < MIN_SEQUENCES:
        out.append(f"means over {sequences} sequence(s) (fewer than {MIN_SEQUENCES}): see the "
                   "intervals and the per-sequence CSV")
    return "; ".join(out)


def _unmarked_note(unmarked: list[str]) -> list[str]:
    head = ("Best values are bold only where every entry has a value at full coverage and "
            "none was not run (benchmark.analysis.marks).")
    return [head + (" Unmarked: " + "; ".join(unmarked) + "." if unmarked else "")]


def proposed_wide(comp: Comparison, metric: str) -> tuple[list[str], list[list]]:
    """One metric of the proposed-rates table: column labels (rate points with their mean bpp)
    and rows [entry, Cell per rate point], the proposed entry first."""
    at = comp.at_proposed
    mean = at[(at["sequence"] == "mean") & (at["metric"] == metric)]
    points = mean.drop_duplicates("proposed_rate_point").sort_values("bpp")
    labels = [f"{rp} ({_fmt(b)} bpp)" for rp, b in
              zip(points["proposed_rate_point"], points["bpp"], strict=True)]
    order = [comp.proposed, *sorted(set(mean["entry"]) - {comp.proposed})]
    cols = ["entry", "proposed_rate_point", "value", "covered", "sequences", "run", "ci_low",
            "ci_high"]
    cells = {(e, rp): Cell(float(v), int(c), int(n), bool(r), (float(lo), float(hi)))
             for e, rp, v, c, n, r, lo, hi in zip(*(mean[k].tolist() for k in cols),
                                                  strict=True)}
    missing = Cell(float("nan"), 0, 0, False)
    rows = [[entry] + [cells.get((entry, rp), missing) for rp in points["proposed_rate_point"]]
            for entry in order]
    return labels, rows


def proposed_marks(labels: list[str], rows: list[list], metric: str) -> list[Mark]:
    """Per column of proposed_wide, the entries marked best by the one rule."""
    return [best_in({r[0]: r[j + 1] for r in rows}, metric) for j in range(len(labels))]


def write_proposed(comp: Comparison, stem: Path, notes: list[str]) -> list[Path]:
    """matched_proposed_<dataset>.{md,csv,tex}: every entry's quality at the proposed
    method's own rate points (see `matched.at_proposed`), one table per metric."""
    if comp.at_proposed is None:
        stem.with_suffix(".md").write_text(
            f"# Quality at the proposed method's rates: {comp.dataset}\n\n"
            f"No table: {comp.proposed_note}.\n")
        return [stem.with_suffix(".md")]
    md = [f"# Quality at {comp.proposed}'s own rates: {comp.dataset} ({comp.rate} rate)\n"]
    tex, unmarked = [], []
    for metric in comp.present:
        labels, rows = proposed_wide(comp, metric)
        if not rows:
            continue
        marks = proposed_marks(labels, rows, metric)
        unmarked += [f"{metric} at {label.split()[0]}: {m.why}"
                     for label, m in zip(labels, marks, strict=True) if not m.winners]
        cells = [[r[0] + (" (proposed)" if r[0] == comp.proposed else "")]
                 + [_coverage_cell(c, r[0] in marks[j]) for j, c in enumerate(r[1:])]
                 for r in rows]
        wide = pd.DataFrame(cells, columns=["entry", *labels])
        md.append(f"\n## {metric}: {_arrow(metric)}\n\n" + caveat(comp, metric)
                  + to_markdown(wide))
        tex.append(to_latex(wide.replace(r"\*\*", "", regex=True), {},
                            f"{metric} at {comp.proposed}'s rates ({comp.dataset})"))
    how = (f"Columns: {comp.proposed}'s rate points, with their frame-weighted mean bpp. Per "
           f"sequence, every other entry's front is interpolated with pchip in log bpp at "
           f"{comp.proposed}'s bpp on that sequence, never extrapolated; the cell is the "
           "frame-weighted mean over sequences when every sequence is covered, else `-- "
           "(k/n)`; `-- (not run)`: a receiver of the same streams has no record at that rate "
           "point. [low, high]: percentile bootstrap 95% interval of the mean over sequences "
           f"({RESAMPLES} resamples, frame-weighted). Set metrics (FVD, KVD): on dataset-level "
           f"fronts at the mean bpp. {FOOTER[comp.options.front]}")
    _write_md_tex(stem, md, tex, [how, *_unmarked_note(unmarked), *notes])
    comp.at_proposed.to_csv(stem.with_suffix(".csv"), index=False)
    return [stem.with_suffix(".md"), stem.with_suffix(".csv"), stem.with_suffix(".tex")]


def _arrow(metric: str) -> str:
    return "lower is better (↓)" if lower_is_better(metric) else "higher is better (↑)"
