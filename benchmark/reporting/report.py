"""Reports: per-dataset RD tables, BD tables, matched-rate tables (Markdown, CSV, LaTeX) and RD
plots (PNG, PDF).

Rows are entries (a method in one configuration, `benchmark.analysis.entries`): two configurations
of a method are two rows, labelled by what differs, and the newest record of a job counts. Per entry
and rate point, values are averaged over sequences weighted by frame count (as DCVC does). An entry
x rate point missing a sequence, or with a failed job, is shown with its job count and NaN values:
never averaged over the sequences that happened to succeed. BD values are computed per sequence and
averaged (JVET CTC); the matched-rate table compares entries at fixed bpp.
"""

from __future__ import annotations

import sys
from pathlib import Path

import numpy as np
import pandas as pd

from benchmark.analysis.comparisons import (
    Comparison,
    Options,
    compare,
)
from benchmark.analysis.entries import Entries
from benchmark.analysis.fronts import FOOTER
from benchmark.analysis.rd import (
    RATES,
    best_direction,
    load_entries,
    rd_table,
    with_rate,
)
from benchmark.analysis.setmetrics import DEFAULT_MIN_CLIPS, fvd_table
from benchmark.data.store import ResultStore
from benchmark.metrics.table import lower_is_better
from benchmark.reporting.headline import headline
from benchmark.reporting.notes import _notes, provenance_note
from benchmark.reporting.plots import plot_rd
from benchmark.reporting.writers import _fmt, to_latex, to_markdown, write_tables


def write_report(store: ResultStore, out_dir: str | Path, force: bool = False,
                 log_x: bool = True, min_clips: int = DEFAULT_MIN_CLIPS,
                 rates: tuple[str, ...] = RATES, options: Options | None = None,
                 summary: list[str] | None = None) -> list[Path]:
    """Write RD, BD (one table per anchor), fixed-target and proposed-rate tables and RD plots
    per dataset and rate accounting (payload files end in `_payload`); returns the files.
    `summary`, when given, receives the headline lines of every dataset, at the first rate."""
    options = options or Options()
    out_dir = Path(out_dir)
    entries, all_records = load_entries(store, force)
    out_dir.mkdir(parents=True, exist_ok=True)
    fvd = fvd_table(all_records, entries.frame, min_clips)
    written = []
    for rate in rates:
        frame = with_rate(entries.frame, rate)
        table = rd_table(frame, fvd)
        suffix = "" if rate == "total" else f"_{rate}"
        for dataset, part in table.groupby("dataset"):
            dataset_frame = frame[frame["dataset"] == dataset]
            dataset_records = [r for r in all_records if r.get("dataset") == dataset]
            comp = compare(dataset_frame, part, dataset, rate, options)
            written += _write_dataset(comp, dataset_frame, dataset_records, entries, out_dir,
                                      suffix, log_x)
            if summary is not None and rate == rates[0]:
                summary += headline(comp)
    return written


def _write_dataset(comp: Comparison, frame: pd.DataFrame, records: list[dict],
                   entries: Entries, out_dir: Path, suffix: str, log_x: bool) -> list[Path]:
    """One dataset's files under one rate accounting."""
    dataset, present, opts = comp.dataset, comp.present, comp.options
    cols = ["method", "rate_point", "jobs", "bpp", "kbps", *present, "off front"]
    if "fvd" in present:
        cols.insert(cols.index("fvd") + 1, "fvd_clips")
    notes = _notes(comp.rd, frame, records, entries, comp.rate)
    notes.insert(1, FOOTER[opts.front] + " `off front` names the metrics for which a row is "
                 "dominated on the dataset-mean curve (shown, not used for curves).")
    best = {m: best_direction(m) for m in present}
    stem = f"{dataset}{suffix}"
    written = write_tables(comp.rd[[c for c in cols if c in comp.rd.columns]],
                           out_dir / f"rd_table_{stem}", best,
                           f"RD table: {dataset} ({comp.rate} rate)", notes)
    for i, anchor in enumerate(opts.anchors):
        name = f"bd_table_{stem}" + ("" if i == 0 else f"_vs_{anchor}")
        name += "" if opts.bd_mode == "per-sequence" else "_averaged"
        written += _write_bd(comp, anchor, out_dir / name, records)
    written += write_matched(comp, out_dir / f"matched_rate_{stem}", [provenance_note(records)])
    written += write_proposed(comp, out_dir / f"matched_proposed_{stem}",
                              [provenance_note(records)])
    for metric in present:
        written += plot_rd(comp, metric, out_dir / f"rd_{dataset}_{metric}{suffix}", log_x)
    groups = sorted(g for g in frame["group"].dropna().unique() if g) \
        if "group" in frame.columns else []
    for group in groups if len(groups) > 1 else []:
        sub_table = rd_table(frame[frame["group"] == group])
        written += write_tables(sub_table[[c for c in cols if c in sub_table.columns]],
                                out_dir / f"rd_table_{stem}_class{group}", best,
                                f"RD table: {dataset}, class {group}", notes)
    return written


def _write_bd(comp: Comparison, anchor: str, stem: Path, records: list[dict]) -> list[Path]:
    """The BD table of one dataset against `anchor`, and its per-sequence cells; without a
    table (no anchor, nothing to compare) a table file that says why."""
    opts = comp.options
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
    bd_best = {c: "min" if c.startswith("BD-rate") else best_direction(c[3:])
               for c in bd.columns if c.startswith("BD-") and not c.endswith(
                   ("interval", "(%)", "--", f"({opts.x_axis})")) or c.startswith("BD-rate")
               and c.endswith(" (%)") and "share" not in c}
    values = [c for c in bd.columns if c in bd_best]
    shown = bd[["method", *values, "note"]]
    written = write_tables(shown, stem, bd_best,
                           f"BD table vs {anchor} ({opts.bd_mode}): {comp.dataset} "
                           f"({comp.rate} rate)", notes)
    bd.drop(columns=["dataset"]).to_csv(stem.with_suffix(".csv"), index=False)
    if cells is not None and len(cells):
        path = stem.parent / f"{stem.name}_per_sequence.csv"
        cells.to_csv(path, index=False)
        written.append(path)
    return written


def _coverage_cell(value: float, covered: int, sequences: int, bold: bool) -> str:
    text = f"{_fmt(value)} ({covered}/{sequences})"
    return f"**{text}**" if bold else text


def _best(values: pd.Series, metric: str) -> float:
    finite = values.dropna()
    if finite.empty:
        return float("nan")
    return float(finite.min() if lower_is_better(metric) else finite.max())


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
    for metric in comp.present:
        part = long[long["metric"] == metric]
        if part.empty:
            continue
        rows, best = [], {t: _best(part[part["target_bpp"] == t]["value"], metric)
                          for t in targets}
        for entry, grp in part.groupby("entry"):
            by_t = grp.set_index("target_bpp")
            rows.append([entry] + [_coverage_cell(
                by_t.at[t, "value"], int(by_t.at[t, "covered"]), int(by_t.at[t, "sequences"]),
                by_t.at[t, "value"] == best[t]) for t in targets])
        wide = pd.DataFrame(rows, columns=["method", *[f"bpp={t:g}" for t in targets]])
        md.append(f"\n## {metric}: {_arrow(metric)}\n\n" + to_markdown(wide))
        tex.append(to_latex(wide.replace(r"\*\*", "", regex=True), {},
                            f"{metric} at matched rate ({comp.dataset})"))
        long.loc[long["metric"] == metric, "best"] = best_direction(metric)
    how = (f"Values interpolated with pchip in log10(bpp) on each entry's front, never "
           "extrapolated: `-- (k/n)` where only k of the n sequences cover the target. "
           "Per-sequence metrics: interpolated per sequence, frame-weighted mean only when every"
           " sequence covers the target. Set metrics (FVD, KVD): on the dataset-level front "
           f"(1/1: covered). Best per column in bold. {FOOTER[comp.options.front]}")
    _write_md_tex(stem, md, tex, [how, *notes])
    long.rename(columns={"entry": "method"}).to_csv(stem.with_suffix(".csv"), index=False)
    per_seq_path = stem.parent / f"{stem.name}_per_sequence.csv"
    comp.fixed_sequences.rename(columns={"entry": "method"}).to_csv(per_seq_path, index=False)
    return [stem.with_suffix(".md"), stem.with_suffix(".csv"), stem.with_suffix(".tex"),
            per_seq_path]


def proposed_wide(comp: Comparison, metric: str) -> tuple[list[str], list[list]]:
    """One metric of the proposed-rates table: column labels (rate points with their mean bpp)
    and rows [entry, (value, covered, sequences) per rate point], the proposed entry first."""
    at = comp.at_proposed
    mean = at[(at["sequence"] == "mean") & (at["metric"] == metric)]
    points = mean.drop_duplicates("proposed_rate_point").sort_values("bpp")
    labels = [f"{rp} ({_fmt(b)} bpp)" for rp, b in
              zip(points["proposed_rate_point"], points["bpp"], strict=True)]
    order = [comp.proposed, *sorted(set(mean["entry"]) - {comp.proposed})]
    rows = []
    for entry in order:
        mine = mean[mean["entry"] == entry].set_index("proposed_rate_point")
        rows.append([entry] + [
            (float(mine.at[rp, "value"]), int(mine.at[rp, "covered"]),
             int(mine.at[rp, "sequences"])) if rp in mine.index else (float("nan"), 0, 0)
            for rp in points["proposed_rate_point"]])
    return labels, rows


def write_proposed(comp: Comparison, stem: Path, notes: list[str]) -> list[Path]:
    """matched_proposed_<dataset>.{md,csv,tex}: every entry's quality at the proposed
    method's own rate points (see `matched.at_proposed`), one table per metric."""
    if comp.at_proposed is None:
        stem.with_suffix(".md").write_text(
            f"# Quality at the proposed method's rates: {comp.dataset}\n\n"
            f"No table: {comp.proposed_note}.\n")
        return [stem.with_suffix(".md")]
    md = [f"# Quality at {comp.proposed}'s own rates: {comp.dataset} ({comp.rate} rate)\n"]
    tex = []
    for metric in comp.present:
        labels, rows = proposed_wide(comp, metric)
        if not rows:
            continue
        best = [_best(pd.Series([r[j + 1][0] for r in rows]), metric)
                for j in range(len(labels))]
        cells = [[r[0] + (" (proposed)" if r[0] == comp.proposed else "")]
                 + [_coverage_cell(v, k, n, v == best[j]) if np.isfinite(v) or n
                    else "-- (not run)" for j, (v, k, n) in enumerate(r[1:])] for r in rows]
        wide = pd.DataFrame(cells, columns=["entry", *labels])
        md.append(f"\n## {metric}: {_arrow(metric)}\n\n" + to_markdown(wide))
        tex.append(to_latex(wide.replace(r"\*\*", "", regex=True), {},
                            f"{metric} at {comp.proposed}'s rates ({comp.dataset})"))
    how = (f"Columns: {comp.proposed}'s rate points, with their frame-weighted mean bpp. Per "
           f"sequence, every other entry's front is interpolated with pchip in log bpp at "
           f"{comp.proposed}'s bpp on that sequence, never extrapolated; the cell is the "
           "frame-weighted mean over sequences when every sequence is covered, else `-- "
           "(k/n)`. Set metrics (FVD, KVD): on dataset-level fronts at the mean bpp. Best per "
           f"column in bold. {FOOTER[comp.options.front]}")
    _write_md_tex(stem, md, tex, [how, *notes])
    comp.at_proposed.to_csv(stem.with_suffix(".csv"), index=False)
    return [stem.with_suffix(".md"), stem.with_suffix(".csv"), stem.with_suffix(".tex")]


def _arrow(metric: str) -> str:
    return "lower is better (↓)" if lower_is_better(metric) else "higher is better (↑)"
