"""First report: per-dataset RD tables (Markdown + CSV) and RD plots (PNG + PDF).

Per method and rate point, values are averaged over sequences weighted by frame count (as
DCVC does). Jobs that failed or are missing are counted in the table, never averaged away.
"""

from __future__ import annotations

from pathlib import Path

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402
import pandas as pd  # noqa: E402

from benchmark.setmetrics import fvd_table  # noqa: E402
from benchmark.store import STATUS_OK, ResultStore  # noqa: E402

RATE_COLUMNS = ("bpp", "kbps")
TABLE_METRICS = ("psnr-rgb", "psnr-yuv", "ms-ssim", "vmaf", "lpips-alex", "lpips-vgg", "dists",
                 "fvd", "tof", "tlp", "warp-error", "flicker")
MARKERS = "osD^v<>pP*Xh"


def rd_table(frame: pd.DataFrame, set_metrics: pd.DataFrame | None = None) -> pd.DataFrame:
    """Frame-weighted means per dataset, method and rate point, with job counts; set-level
    metrics (FVD) joined on the same keys."""
    metric_cols = [c for c in frame.columns if c in TABLE_METRICS or c.startswith(("psnr", "ms-"))]
    metric_cols = [c for c in metric_cols if "@" not in c]
    rows = []
    for (dataset, method, rp), grp in frame.groupby(["dataset", "method", "rate_point"],
                                                    sort=False):
        ok = grp[grp["status"] == STATUS_OK]
        row = {"dataset": dataset, "method": method, "rate_point": rp,
               "jobs": f"{len(ok)}/{len(grp)}"}
        weights = ok["frames"].astype(float)
        for col in (*RATE_COLUMNS, *metric_cols):
            vals = ok[col].astype(float) if col in ok else pd.Series(dtype=float)
            row[col] = float((vals * weights).sum() / weights.sum()) if len(ok) and \
                vals.notna().all() else float("nan")
        rows.append(row)
    table = pd.DataFrame(rows)
    if set_metrics is not None and len(set_metrics):
        table = table.merge(set_metrics, on=["dataset", "method", "rate_point"], how="left")
    return table.sort_values(["dataset", "method", "bpp"]).reset_index(drop=True)


def write_report(store: ResultStore, out_dir: str | Path, metrics: tuple[str, ...] = TABLE_METRICS
                 ) -> list[Path]:
    """Write tables and plots per dataset; returns the files written."""
    out_dir = Path(out_dir)
    out_dir.mkdir(parents=True, exist_ok=True)
    frame = store.dataframe()
    table = rd_table(frame, fvd_table(store))
    written = []
    for dataset, part in table.groupby("dataset"):
        cols = ["method", "rate_point", "jobs", "bpp", "kbps",
                *[m for m in metrics if m in part.columns and part[m].notna().any()]]
        if "fvd_clips" in part.columns and part["fvd_clips"].notna().any():
            cols.append("fvd_clips")
        csv = out_dir / f"rd_table_{dataset}.csv"
        part[cols].to_csv(csv, index=False)
        md = out_dir / f"rd_table_{dataset}.md"
        notes = sorted({w for w in part.get("fvd_warning", pd.Series(dtype=str)).dropna() if w})
        md.write_text(_markdown(part[cols], dataset, frame[frame["dataset"] == dataset], notes))
        written += [csv, md]
        for metric in metrics:
            if metric in part.columns:
                written += _plot(part, dataset, metric, out_dir)
    return written


def _markdown(table: pd.DataFrame, dataset: str, records: pd.DataFrame,
              notes: list[str]) -> str:
    lines = [f"# RD table: {dataset}", "",
             "Frame-weighted means over sequences; `jobs` = succeeded/recorded.", ""]
    header = list(table.columns)
    lines.append("| " + " | ".join(header) + " |")
    lines.append("|" + "---|" * len(header))
    for _, row in table.iterrows():
        cells = [f"{v:.4f}" if isinstance(v, float) and c in ("bpp", "ms-ssim", "lpips-alex",
                                                               "lpips-vgg", "dists", "tlp")
                 else f"{v:.2f}" if isinstance(v, float) else str(v) for c, v in row.items()]
        lines.append("| " + " | ".join(cells) + " |")
    failed = records[records["status"] != STATUS_OK]
    if len(failed):
        lines += ["", "## Failed jobs", ""]
        lines += [f"- {r.method} / {r.sequence} / {r.rate_point}: {r.error}"
                  for r in failed.itertuples()]
    lines += ["", *[f"Note: {w}" for w in notes]] if notes else []
    versions = sorted(set(records["ulvr_version"].dropna()))
    lines += ["", f"Harness version(s): {', '.join(versions)}", ""]
    return "\n".join(lines)


def _plot(table: pd.DataFrame, dataset: str, metric: str, out_dir: Path) -> list[Path]:
    fig, ax = plt.subplots(figsize=(5, 3.6))
    for i, (method, grp) in enumerate(table.groupby("method")):
        grp = grp.sort_values("bpp")
        ax.plot(grp["bpp"], grp[metric], marker=MARKERS[i % len(MARKERS)], label=method)
    ax.set_xscale("log")
    ax.set_xlabel("bpp")
    ax.set_ylabel(metric)
    ax.set_title(f"{dataset}: {metric}")
    ax.grid(True, which="both", alpha=0.3)
    ax.legend(fontsize=8)
    fig.tight_layout()
    paths = [out_dir / f"rd_{dataset}_{metric}.{ext}" for ext in ("png", "pdf")]
    for path in paths:
        fig.savefig(path, dpi=150)
    plt.close(fig)
    return paths
