"""Reports: per-dataset RD tables, BD tables, matched-rate tables (Markdown, CSV, LaTeX) and RD
plots (PNG, PDF).

Rows are entries (a method in one configuration, `benchmark.entries`): two configurations of a
method are two rows, labelled by what differs, and the newest record of a job counts. Per entry
and rate point, values are averaged over sequences weighted by frame count (as DCVC does). An
entry x rate point missing a sequence, or with a failed job, is shown with its job count and NaN
values: never averaged over the sequences that happened to succeed. BD values are computed per
sequence and averaged (JVET CTC); the matched-rate table compares entries at fixed bpp.
"""

from __future__ import annotations

import hashlib
import sys
from pathlib import Path

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402
import pandas as pd  # noqa: E402

from benchmark import matched  # noqa: E402
from benchmark.bdrate import bd_table  # noqa: E402
from benchmark.entries import Entries, resolve  # noqa: E402
from benchmark.errors import UlvrError  # noqa: E402
from benchmark.metrics.table import METRICS, lower_is_better, table_outputs  # noqa: E402
from benchmark.setmetrics import DEFAULT_MIN_CLIPS, fvd_table  # noqa: E402
from benchmark.store import STATUS_OK, ResultStore  # noqa: E402
from benchmark.tables import to_latex, to_markdown, write_tables  # noqa: E402

RATE_COLUMNS = ("bpp", "kbps")
SET_OUTPUTS = tuple(out for spec in METRICS.values() if spec.set_level for out in spec.shown)
MARKERS = "osD^v<>pP*Xh"
COLOURS = plt.get_cmap("tab10").colors
# Methods with a fixed colour and marker (the usual anchors first), so figures stay comparable
STYLE_ORDER = ("x264", "x265", "vvenc", "svtav1", "aom", "bmshj2018-hyperprior", "mbt2018",
               "lowres-bicubic", "cdm-teacher", "causal-diffusion")


def method_style(method: str) -> dict:
    """The same colour and marker for a method in every figure of every report."""
    if method in STYLE_ORDER:
        index = STYLE_ORDER.index(method)
    else:
        index = int(hashlib.sha1(method.encode()).hexdigest(), 16) % 97 + len(STYLE_ORDER)
    return {"color": COLOURS[index % len(COLOURS)], "marker": MARKERS[index % len(MARKERS)]}


def present_outputs(rd: pd.DataFrame) -> list[str]:
    """The metric outputs an RD table has a value for, in the metric table's order."""
    return [m for m in table_outputs() if m in rd.columns and rd[m].notna().any()]


def best_direction(output: str) -> str:
    """'min' or 'max': which value of a metric output is best (from the metric table)."""
    return "min" if lower_is_better(output) else "max"


def rd_table(frame: pd.DataFrame, set_metrics: pd.DataFrame | None = None) -> pd.DataFrame:
    """Frame-weighted means per dataset, entry (column `method`) and rate point, with job
    counts; set-level metrics (FVD, KVD) joined on the same keys."""
    metric_cols = [c for c in table_outputs() if c in frame.columns and c not in SET_OUTPUTS]
    rows = []
    for dataset, part in frame.groupby("dataset", sort=False):
        expected = part["sequence"].nunique()
        for (entry, rp), grp in part.groupby(["entry", "rate_point"], sort=False):
            ok = grp[grp["status"] == STATUS_OK]
            complete = ok["sequence"].nunique() == expected
            row = {"dataset": dataset, "method": entry, "rate_point": rp,
                   "jobs": f"{len(ok)}/{expected}"}
            weights = ok["frames"].astype(float)
            for col in (*RATE_COLUMNS, *metric_cols):
                vals = ok[col].astype(float) if col in ok else pd.Series(dtype=float)
                row[col] = float((vals * weights).sum() / weights.sum()) \
                    if complete and len(ok) and vals.notna().all() else float("nan")
            rows.append(row)
    table = pd.DataFrame(rows)
    if set_metrics is not None and len(set_metrics):
        table = table.merge(set_metrics, on=["dataset", "method", "rate_point"], how="left")
    return table.sort_values(["dataset", "method", "bpp"]).reset_index(drop=True)


RATES = ("total", "payload")


def with_rate(frame: pd.DataFrame, rate: str) -> pd.DataFrame:
    """The frame with `bpp`/`kbps` counting all bits ("total") or all but parameter sets sent
    out of band ("payload"); records without such streams have payload = total."""
    if rate not in RATES:
        raise UlvrError(f"unknown rate '{rate}': use one of {', '.join(RATES)}")
    if rate == "total" or "bpp_payload" not in frame:
        return frame
    return frame.assign(bpp=frame["bpp_payload"].fillna(frame["bpp"]),
                        kbps=frame["kbps_payload"].fillna(frame["kbps"]))


def load_entries(store: ResultStore, force: bool = False) -> tuple[Entries, list[dict]]:
    """The store's records resolved into entries (newest record per job), refusing to mix
    harness versions unless forced."""
    records = list(store.records())
    frame = store.dataframe()
    versions = sorted(set(frame["ulvr_version"].dropna()))
    if len(versions) > 1 and not force:
        raise UlvrError(f"'{store.root}' mixes results of harness versions {', '.join(versions)}:"
                        " re-run them with one version, or pass --force to report them together")
    return resolve(frame, records), records


def write_report(store: ResultStore, out_dir: str | Path, anchor: str = "x265",
                 bd_method: str = "pchip", x_axis: str = "bpp", log_x: bool = True,
                 force: bool = False, bd_mode: str = "per-sequence",
                 targets: tuple[float, ...] = matched.DEFAULT_TARGETS,
                 min_clips: int = DEFAULT_MIN_CLIPS, rate: str = "total") -> list[Path]:
    """Write RD, BD and matched-rate tables and RD plots per dataset; returns the files.
    `rate` "payload" leaves out parameter sets sent out of band (RTP sprop-*)."""
    out_dir = Path(out_dir)
    entries, all_records = load_entries(store, force)
    frame = with_rate(entries.frame, rate)
    out_dir.mkdir(parents=True, exist_ok=True)
    table = rd_table(frame, fvd_table(all_records, frame, min_clips))
    written = []
    for dataset, part in table.groupby("dataset"):
        present = present_outputs(part)
        cols = ["method", "rate_point", "jobs", "bpp", "kbps", *present]
        if "fvd" in present:
            cols.insert(cols.index("fvd") + 1, "fvd_clips")
        dataset_frame = frame[frame["dataset"] == dataset]
        dataset_records = [r for r in all_records if r.get("dataset") == dataset]
        notes = _notes(part, dataset_frame, dataset_records, entries, rate)
        best = {m: best_direction(m) for m in present}
        written += write_tables(part[cols], out_dir / f"rd_table_{dataset}", best,
                                f"RD table: {dataset}", notes)
        written += _write_bd(part, dataset_frame, dataset, anchor, present, x_axis, bd_method,
                             bd_mode, out_dir, dataset_records)
        written += write_matched(dataset_frame, part, dataset, present, targets, out_dir,
                                 [provenance_note(dataset_records)])
        for metric in present:
            written += plot_rd(part, dataset, metric, out_dir, x_axis, log_x)
        groups = sorted(g for g in dataset_frame["group"].dropna().unique() if g) \
            if "group" in frame.columns else []
        for group in groups if len(groups) > 1 else []:
            sub_table = rd_table(dataset_frame[dataset_frame["group"] == group])
            written += write_tables(sub_table[[c for c in cols if c in sub_table.columns]],
                                    out_dir / f"rd_table_{dataset}_class{group}", best,
                                    f"RD table: {dataset}, class {group}", notes)
    return written


def _write_bd(rd: pd.DataFrame, frame: pd.DataFrame, dataset: str, anchor: str,
              present: list[str], x_axis: str, bd_method: str, bd_mode: str, out_dir: Path,
              records: list[dict]) -> list[Path]:
    """The BD table of one dataset against `anchor` (an entry label), if the anchor ran."""
    if anchor not in set(rd["method"]) or rd["method"].nunique() < 2:
        if anchor not in set(rd["method"]):
            print(f"ulvr: no BD table for {dataset}: anchor '{anchor}' is not among its entries "
                  f"({', '.join(sorted(set(rd['method'])))}); choose one with --anchor",
                  file=sys.stderr)
        return []
    if bd_mode == "per-sequence":
        metrics = [m for m in present if m not in SET_OUTPUTS]  # set metrics have no per-seq
        source = frame[frame["status"] == STATUS_OK]
    else:
        metrics, source = present, rd.rename(columns={"method": "entry"})
    try:
        bd = bd_table(source, anchor, metrics, rate_col=x_axis, method=bd_method, mode=bd_mode)
    except UlvrError as exc:
        print(f"ulvr: no BD table for {dataset}: {exc}", file=sys.stderr)
        return []
    bd_best = {c: "min" if c.startswith("BD-rate") else best_direction(c[3:])
               for c in bd.columns if c.startswith("BD-")}
    label = ("per sequence, then averaged over sequences (JVET CTC)" if bd_mode == "per-sequence"
             else "on dataset-averaged RD points (not the CTC way; for comparison)")
    notes = [f"Anchor: {anchor}; interpolation: {bd_method}; rate: {x_axis}; BD computed {label}."
             " BD-rate < 0 means fewer bits for the same quality. `note` says which metrics "
             "had no BD value against this anchor and why (too little overlap, non-monotonic).",
             provenance_note(records)]
    suffix = "" if bd_mode == "per-sequence" else "_averaged"
    return write_tables(bd.drop(columns=["dataset"]), out_dir / f"bd_table_{dataset}{suffix}",
                        bd_best, f"BD table vs {anchor} ({bd_mode}): {dataset}", notes)


def matched_values(frame: pd.DataFrame, rd: pd.DataFrame, dataset: str, present: list[str],
                   targets: tuple[float, ...]) -> tuple[pd.DataFrame, pd.DataFrame]:
    """Long tables of one dataset at the target rates: dataset level (per-sequence metrics
    averaged, set metrics on the pooled curve) and per sequence."""
    seq_metrics = [m for m in present if m not in SET_OUTPUTS]
    per_seq = matched.per_sequence(frame[frame["status"] == STATUS_OK], seq_metrics, targets)
    long = pd.concat([
        matched.dataset_level(per_seq, {dataset: frame["sequence"].nunique()}),
        matched.set_level(rd, [m for m in present if m in SET_OUTPUTS], targets)],
        ignore_index=True)
    return long, per_seq


def write_matched(frame: pd.DataFrame, rd: pd.DataFrame, dataset: str, present: list[str],
                  targets: tuple[float, ...], out_dir: Path, notes: list[str]) -> list[Path]:
    """matched_rate_<dataset>.{md,csv,tex} (entries x target bpp, one table per metric, best per
    column marked) and matched_rate_<dataset>_per_sequence.csv."""
    long, per_seq = matched_values(frame, rd, dataset, present, targets)
    stem = out_dir / f"matched_rate_{dataset}"
    md, tex = [f"# Matched-rate table: {dataset}\n"], []
    for metric in present:
        wide = matched.wide(long, metric)
        if wide.empty:
            continue
        best = {c: best_direction(metric) for c in wide.columns if c.startswith("bpp=")}
        arrow = "lower is better (↓)" if lower_is_better(metric) else "higher is better (↑)"
        md.append(f"\n## {metric}: {arrow}\n\n" + to_markdown(wide, best))
        tex.append(to_latex(wide, best, f"{metric} at matched rate ({dataset})"))
        long.loc[long["metric"] == metric, "best"] = best_direction(metric)
    how = ("Values interpolated with pchip in log10(bpp) over each entry's rate points, never "
           "extrapolated (-- outside its range). Per-sequence metrics: interpolated per sequence"
           ", frame-weighted mean only when every sequence covers the target. Set metrics (FVD,"
           " KVD): interpolated on the dataset-level curve. Best per column in bold.")
    foot = [how, *notes]
    stem.with_suffix(".md").write_text("".join(md) + "".join(f"\n{n}\n" for n in foot))
    stem.with_suffix(".tex").write_text(
        "".join(f"% {line}\n" for n in foot for line in n.splitlines()) + "".join(tex))
    long.rename(columns={"entry": "method"}).to_csv(stem.with_suffix(".csv"), index=False)
    per_seq_path = out_dir / f"matched_rate_{dataset}_per_sequence.csv"
    per_seq.rename(columns={"entry": "method"}).to_csv(per_seq_path, index=False)
    return [stem.with_suffix(".md"), stem.with_suffix(".csv"), stem.with_suffix(".tex"),
            per_seq_path]


def _notes(table: pd.DataFrame, records: pd.DataFrame, store_records: list[dict],
           entries: Entries, rate: str) -> list[str]:
    notes = ["Frame-weighted means over sequences; `jobs` = succeeded/sequences; a row with a "
             "missing or failed job shows NaN (--). Rows are method configurations: a method "
             "run with different options or checkpoints appears once per configuration, "
             "labelled by what differs. Rate: "
             + ("payload (parameter sets sent out of band are not counted)"
                if rate == "payload" else "total (every bit of every stream)") + "."]
    failed = records[records["status"] != STATUS_OK]
    notes += [f"Failed: {r.entry} / {r.sequence} / {r.rate_point}: {r.error}"
              for r in failed.itertuples()]
    notes += entries.notes()
    if "fvd_note" in table.columns:
        notes += sorted({f"FVD {r.method} / {r.rate_point}: {r.fvd_note}"
                         for r in table.itertuples() if isinstance(r.fvd_note, str)
                         and r.fvd_note})
    notes.append(provenance_note(store_records))
    return notes


def provenance(records: list[dict]) -> dict:
    """Versions (harness, commit, ffmpeg, encoders, weights) and metric protocols behind a set
    of records: every table and page states them."""
    versions: dict[str, set] = {}
    protocols: dict[str, set] = {}
    for record in records:
        for key, value in record.get("versions", {}).items():
            versions.setdefault(key, set()).add(str(value))
        for name, proto in record.get("metric_protocols", {}).items():
            protocols.setdefault(name, set()).add(
                ", ".join(f"{k}={v}" for k, v in sorted(proto.items()) if k != "clips"))
    return {"versions": {k: sorted(v) for k, v in sorted(versions.items())},
            "protocols": {k: sorted(v) for k, v in sorted(protocols.items())}}


def provenance_note(records: list[dict]) -> str:
    """Provenance as text lines for table footers."""
    prov = provenance(records)
    lines = ["Provenance:"]
    lines += [f"- {k}: {'; '.join(v)}" for k, v in prov["versions"].items()]
    for name, distinct in prov["protocols"].items():
        tag = f" ({len(distinct)} distinct protocols pooled)" if len(distinct) > 1 else ""
        lines += [f"- protocol {name}{tag}: {v}" for v in distinct]
    return "\n".join(lines)


def plot_rd(table: pd.DataFrame, dataset: str, metric: str, out_dir: Path, x_axis: str = "bpp",
            log_x: bool = True) -> list[Path]:
    """One RD figure (PNG and PDF) with a curve per method."""
    fig, ax = plt.subplots(figsize=(5, 3.6))
    for method, grp in table.groupby("method"):
        grp = grp.sort_values(x_axis)
        ax.plot(grp[x_axis], grp[metric], label=method, **method_style(method))
    if log_x:
        ax.set_xscale("log")
    ax.set_xlabel(x_axis)
    ax.set_ylabel(metric + (" (lower is better)" if lower_is_better(metric) else ""))
    ax.set_title(f"{dataset}: {metric}")
    ax.grid(True, which="both", alpha=0.3)
    ax.legend(fontsize=7)
    fig.tight_layout()
    paths = [out_dir / f"rd_{dataset}_{metric}.{ext}" for ext in ("png", "pdf")]
    for path in paths:
        fig.savefig(path, dpi=150)
    plt.close(fig)
    return paths
