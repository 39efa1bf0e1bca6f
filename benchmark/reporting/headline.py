"""The headline summary printed at the end of `ulvr report` and `make demo`: the proposed
method's value at each of its rate points and the best rival there, then BD-rate against x265
and BD-metric against lowres-bicubic. Its numbers are the comparison tables' own
(`benchmark.analysis.comparisons`), never recomputed.
"""

from __future__ import annotations

import math

import pandas as pd

from benchmark.analysis.comparisons import Comparison
from benchmark.metrics.table import lower_is_better

HEADLINE_METRICS = ("lpips-alex", "dists", "psnr-yuv", "fvd", "tlp")
BD_METRICS = ("lpips-alex", "dists", "psnr-yuv", "ms-ssim")
MAX_LINES = 15


def _g(value: float) -> str:
    return "--" if value is None or not math.isfinite(value) else f"{value:.4g}"


def best_rival(at_proposed: pd.DataFrame, proposed: str, metric: str,
               rate_point: str) -> tuple[str, float] | None:
    """The other entry with the best dataset-mean value at one proposed rate point, or None
    when no rival covers it on every sequence."""
    rows = at_proposed[(at_proposed["sequence"] == "mean") & (at_proposed["metric"] == metric)
                       & (at_proposed["proposed_rate_point"] == rate_point)
                       & (at_proposed["entry"] != proposed)].dropna(subset=["value"])
    if rows.empty:
        return None
    best = rows.sort_values("value", ascending=lower_is_better(metric)).iloc[0]
    return str(best["entry"]), float(best["value"])


def _bd_line(comp: Comparison, anchor: str, column: str, what: str) -> str:
    table = comp.bd.get(anchor)
    if table is None or table.empty or comp.proposed not in set(table["method"]):
        return f"  {what} vs {anchor}: -- ({comp.bd_missing.get(anchor, 'no BD row')})"
    row = table.set_index("method").loc[comp.proposed]
    cells = [f"{m} {_g(row.get(column.format(m=m), math.nan))}" for m in BD_METRICS
             if column.format(m=m) in row.index]
    return f"  {what} vs {anchor}: " + ", ".join(cells)


def headline(comp: Comparison) -> list[str]:
    """At most MAX_LINES lines for one dataset and rate accounting."""
    if comp.proposed is None or comp.at_proposed is None or comp.at_proposed.empty:
        return [f"{comp.dataset} ({comp.rate} rate): no headline: {comp.proposed_note}"]
    at = comp.at_proposed
    own = at[(at["sequence"] == "mean") & (at["entry"] == comp.proposed)]
    points = own.drop_duplicates("proposed_rate_point").sort_values("bpp")
    lines = [f"{comp.dataset} ({comp.rate} rate): {comp.proposed} at "
             + ", ".join(f"{_g(b)}" for b in points["bpp"]) + " bpp; "
             "each point: its value / best rival there (interpolated on fronts)"]
    for metric in HEADLINE_METRICS:
        if metric not in comp.present:
            continue
        cells = []
        for rp in points["proposed_rate_point"]:
            mine = own[(own["metric"] == metric) & (own["proposed_rate_point"] == rp)]
            value = float(mine["value"].iloc[0]) if len(mine) else math.nan
            rival = best_rival(at, comp.proposed, metric, rp)
            cells.append(f"{_g(value)} / " + (f"{rival[0]} {_g(rival[1])}" if rival
                                              else "no rival covers it"))
        arrow = "lower better" if lower_is_better(metric) else "higher better"
        lines.append(f"  {metric} ({arrow}): " + "; ".join(cells))
    lines.append(_bd_line(comp, "x265", "BD-rate {m} (%)", "BD-rate (%)"))
    lines.append(_bd_line(comp, "lowres-bicubic", "BD-{m}", "BD-metric"))
    return lines[:MAX_LINES]
