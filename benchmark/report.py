"""Reports: per-dataset RD tables and BD tables (Markdown, CSV, LaTeX) and RD plots (PNG, PDF).

Per method and rate point, values are averaged over sequences weighted by frame count (as
DCVC does). A method x rate point missing a sequence, or with a failed job, is shown with its
job count and NaN values: never averaged over the sequences that happened to succeed.
"""

from __future__ import annotations

import hashlib
import sys
import warnings
from pathlib import Path

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402
import pandas as pd  # noqa: E402

from benchmark.bdrate import bd_table  # noqa: E402
from benchmark.errors import UlvrError  # noqa: E402
from benchmark.metrics.base import lower_is_better  # noqa: E402
from benchmark.setmetrics import fvd_table  # noqa: E402
from benchmark.store import STATUS_OK, ResultStore  # noqa: E402
from benchmark.tables import write_tables  # noqa: E402

RATE_COLUMNS = ("bpp", "kbps")
TABLE_METRICS = ("psnr-rgb", "psnr-yuv", "ms-ssim", "vmaf", "lpips-alex", "lpips-vgg", "dists",
                 "fvd", "tof", "tlp", "warp-error", "flicker", "piqe", "cvvdp")
MARKERS = "osD^v<>pP*Xh"
COLOURS = plt.get_cmap("tab10").colors
FIXED_ORDER = ("x264", "x265", "vvenc", "svtav1", "aom", "bmshj2018-hyperprior", "mbt2018",
               "lowres-bicubic", "cdm-teacher", "causal-diffusion")


def method_style(method: str) -> dict:
    """The same colour and marker for a method in every figure of every report."""
    if method in FIXED_ORDER:
        index = FIXED_ORDER.index(method)
    else:
        index = int(hashlib.sha1(method.encode()).hexdigest(), 16) % 97 + len(FIXED_ORDER)
    return {"color": COLOURS[index % len(COLOURS)], "marker": MARKERS[index % len(MARKERS)]}


def rd_table(frame: pd.DataFrame, set_metrics: pd.DataFrame | None = None) -> pd.DataFrame:
    """Frame-weighted means per dataset, method and rate point, with job counts; set-level
    metrics (FVD) joined on the same keys."""
    metric_cols = [c for c in TABLE_METRICS if c in frame.columns]
    rows = []
    for dataset, part in frame.groupby("dataset", sort=False):
        expected = part["sequence"].nunique()
        for (method, rp), grp in part.groupby(["method", "rate_point"], sort=False):
            ok = grp[grp["status"] == STATUS_OK]
            complete = ok["sequence"].nunique() == expected
            row = {"dataset": dataset, "method": method, "rate_point": rp,
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


def _direction(metric: str) -> bool:
    try:
        return lower_is_better(metric)
    except Exception:  # noqa: BLE001 - unknown outputs default to higher-is-better
        return False


def write_report(store: ResultStore, out_dir: str | Path, metrics: tuple[str, ...] = TABLE_METRICS,
                 anchor: str = "x265", bd_method: str = "pchip", x_axis: str = "bpp",
                 log_x: bool = True, force: bool = False) -> list[Path]:
    """Write RD tables, BD tables and RD plots per dataset; returns the files written."""
    out_dir = Path(out_dir)
    frame = store.dataframe()
    versions = sorted(set(frame["ulvr_version"].dropna()))
    if len(versions) > 1 and not force:
        raise UlvrError(f"'{store.root}' mixes results of harness versions {', '.join(versions)}:"
                        " re-run them with one version, or pass --force to report them together")
    out_dir.mkdir(parents=True, exist_ok=True)
    table = rd_table(frame, fvd_table(store))
    all_records = list(store.records())
    written = []
    for dataset, part in table.groupby("dataset"):
        present = [m for m in metrics if m in part.columns and part[m].notna().any()]
        cols = ["method", "rate_point", "jobs", "bpp", "kbps", *present]
        if "fvd_clips" in part.columns and part["fvd_clips"].notna().any():
            cols.append("fvd_clips")
        dataset_records = [r for r in all_records if r.get("dataset") == dataset]
        notes = _notes(part, frame[frame["dataset"] == dataset], dataset_records)
        best = {m: "min" if _direction(m) else "max" for m in present}
        written += write_tables(part[cols], out_dir / f"rd_table_{dataset}", best,
                                f"RD table: {dataset}", notes)
        if anchor in set(part["method"]) and part["method"].nunique() > 1:
            with warnings.catch_warnings(record=True) as caught:
                warnings.simplefilter("always")
                try:
                    bd = bd_table(part, anchor, present, {m: _direction(m) for m in present},
                                  rate_col=x_axis, method=bd_method)
                except UlvrError as exc:
                    print(f"ulvr: no BD table for {dataset}: {exc}", file=sys.stderr)
                    bd = None
        else:
            bd = None
        if bd is not None:
            bd_best = {c: "min" if c.startswith("BD-rate") or _direction(c[3:]) else "max"
                       for c in bd.columns if c.startswith("BD")}
            bd_notes = [f"Anchor: {anchor}; interpolation: {bd_method}; rate: {x_axis}. "
                        "BD-rate < 0 means fewer bits for the same quality."]
            bd_notes += sorted({f"Warning: {w.message}" for w in caught})
            bd_notes.append(provenance_note(dataset_records))
            written += write_tables(bd.drop(columns=["dataset"]), out_dir / f"bd_table_{dataset}",
                                    bd_best, f"BD table vs {anchor}: {dataset}", bd_notes)
        for metric in present:
            written += plot_rd(part, dataset, metric, out_dir, x_axis, log_x)
        groups = sorted(g for g in frame.loc[frame["dataset"] == dataset, "group"].dropna()
                        .unique() if g) if "group" in frame.columns else []
        for group in groups if len(groups) > 1 else []:
            sub_frame = frame[(frame["dataset"] == dataset) & (frame["group"] == group)]
            sub_table = rd_table(sub_frame)
            written += write_tables(sub_table[[c for c in cols if c in sub_table.columns]],
                                    out_dir / f"rd_table_{dataset}_class{group}", best,
                                    f"RD table: {dataset}, class {group}", notes)
    return written


def _notes(table: pd.DataFrame, records: pd.DataFrame, store_records: list[dict]) -> list[str]:
    notes = ["Frame-weighted means over sequences; `jobs` = succeeded/sequences; a row with a "
             "missing or failed job shows NaN (--)."]
    failed = records[records["status"] != STATUS_OK]
    notes += [f"Failed: {r.method} / {r.sequence} / {r.rate_point}: {r.error}"
              for r in failed.itertuples()]
    if "fvd_warning" in table.columns:
        notes += sorted({f"Note: {w}" for w in table["fvd_warning"].dropna() if w})
    notes.append(provenance_note(store_records))
    return notes


def provenance(records: list[dict]) -> dict:
    """Versions (harness, commit, ffmpeg, encoders, weights) and metric protocols behind a set
    of records: every table and page states them."""
    versions: dict[str, set] = {}
    protocols: dict[str, str] = {}
    for record in records:
        for key, value in record.get("versions", {}).items():
            versions.setdefault(key, set()).add(str(value))
        for name, proto in record.get("metric_protocols", {}).items():
            protocols[name] = ", ".join(f"{k}={v}" for k, v in sorted(proto.items())
                                        if k != "clips")
    return {"versions": {k: sorted(v) for k, v in sorted(versions.items())},
            "protocols": dict(sorted(protocols.items()))}


def provenance_note(records: list[dict]) -> str:
    """Provenance as text lines for table footers."""
    prov = provenance(records)
    lines = ["Provenance:"]
    lines += [f"- {k}: {'; '.join(v)}" for k, v in prov["versions"].items()]
    lines += [f"- protocol {k}: {v}" for k, v in prov["protocols"].items()]
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
    ax.set_ylabel(metric + (" (lower is better)" if _direction(metric) else ""))
    ax.set_title(f"{dataset}: {metric}")
    ax.grid(True, which="both", alpha=0.3)
    ax.legend(fontsize=7)
    fig.tight_layout()
    paths = [out_dir / f"rd_{dataset}_{metric}.{ext}" for ext in ("png", "pdf")]
    for path in paths:
        fig.savefig(path, dpi=150)
    plt.close(fig)
    return paths
