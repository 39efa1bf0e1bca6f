"""Regression checks: compare candidate results with stored reference results per dataset,
sequence, method and rate point; anything worse beyond its tolerance is a regression.

Tolerances are absolute in the metric's units (direction-aware), except `bpp`, which is
relative (0.01 = 1% more bits). A reference job with no successful candidate counts too.
"""

from __future__ import annotations

import fnmatch
import json
from pathlib import Path

import pandas as pd

from benchmark.errors import UlvrError
from benchmark.metrics.base import lower_is_better
from benchmark.store import STATUS_OK, ResultStore

KEYS = ["dataset", "sequence", "method", "rate_point"]
DEFAULT_TOLERANCES = {"bpp": 0.01, "psnr-*": 0.05, "ms-ssim": 0.001, "vmaf": 0.5,
                      "lpips-*": 0.005, "dists": 0.005, "tof": 0.05, "tlp": 0.005,
                      "warp-error": 1e-4, "flicker": 0.1, "piqe": 0.5, "cvvdp": 0.05}


def tolerance_for(metric: str, tolerances: dict[str, float]) -> float | None:
    """The tolerance for a metric: exact name first, then glob patterns like 'psnr-*'."""
    if metric in tolerances:
        return tolerances[metric]
    for pattern, value in tolerances.items():
        if fnmatch.fnmatch(metric, pattern):
            return value
    return None


def parse_tolerances(items: list[str]) -> dict[str, float]:
    """METRIC=VALUE strings on top of the defaults."""
    out = dict(DEFAULT_TOLERANCES)
    for item in items:
        name, _, value = item.partition("=")
        try:
            out[name.strip()] = float(value)
        except ValueError as exc:
            raise UlvrError(f"bad tolerance '{item}': write METRIC=VALUE, e.g. psnr-rgb=0.1") \
                from exc
    return out


def compare(reference: ResultStore, candidate: ResultStore,
            tolerances: dict[str, float]) -> pd.DataFrame:
    """One row per (job, metric) compared, with the verdict in 'regression'."""
    ref = reference.dataframe()
    ref = ref[ref["status"] == STATUS_OK]
    cand = candidate.dataframe()
    cand = cand[cand["status"] == STATUS_OK].drop_duplicates(KEYS, keep="last")
    merged = ref.merge(cand, on=KEYS, how="left", suffixes=("_ref", "_cand"), indicator=True)
    metrics = [c[:-4] for c in merged.columns if c.endswith("_ref")
               and f"{c[:-4]}_cand" in merged.columns and tolerance_for(c[:-4], tolerances)
               is not None]
    rows = []
    for rec in merged.to_dict("records"):
        key = {k: rec[k] for k in KEYS}
        if rec["_merge"] == "left_only":
            rows.append({**key, "metric": "(job)", "reference": None, "candidate": None,
                         "delta": None, "tolerance": None, "regression": True,
                         "why": "missing or failed in candidate"})
            continue
        for metric in metrics:
            a, b = rec[f"{metric}_ref"], rec[f"{metric}_cand"]
            if pd.isna(a):
                continue
            tol = tolerance_for(metric, tolerances)
            if pd.isna(b):
                worse, why = True, "no value in candidate"
            elif metric == "bpp":
                worse, why = b > a * (1 + tol), "more bits"
            elif lower_is_better(metric):
                worse, why = b > a + tol, "higher (worse)"
            else:
                worse, why = b < a - tol, "lower (worse)"
            rows.append({**key, "metric": metric, "reference": a, "candidate": b,
                         "delta": None if pd.isna(b) else b - a, "tolerance": tol,
                         "regression": bool(worse), "why": why if worse else ""})
    return pd.DataFrame(rows)


def write_verdict(result: pd.DataFrame, path: Path) -> dict:
    """JSON verdict for CI: counts and every regression."""
    bad = result[result["regression"]] if len(result) else result
    verdict = {"regressions": len(bad), "compared": len(result),
               "passed": len(bad) == 0, "details": bad.to_dict("records")}
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(verdict, indent=1, default=str))
    return verdict
