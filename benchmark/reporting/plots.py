"""RD plots (PNG and PDF): one marker and colour per method, fronts drawn solid, dominated points
faint."""

from __future__ import annotations

import hashlib
from pathlib import Path

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402
from matplotlib import ticker  # noqa: E402

from benchmark.analysis.comparisons import (  # noqa: E402
    SET_OUTPUTS,
    Comparison,
)
from benchmark.analysis.fronts import on_front  # noqa: E402
from benchmark.core.pandas_setup import pd  # noqa: E402
from benchmark.metrics.table import lower_is_better, output_spec  # noqa: E402

MARKERS = "osD^v<>pP*Xh"


COLOURS = plt.get_cmap("tab20").colors[::2] + plt.get_cmap("tab20").colors[1::2]


# Methods with a fixed colour and marker (the usual anchors first), so figures stay comparable;
# the first 10 get distinct strong colours and markers
STYLE_ORDER = ("x265", "causal-diffusion", "vvenc", "svtav1", "lowres-bicubic", "x264",
               "cdm-teacher", "frame-diffusion", "semantic-only", "mbt2018-mean-local", "aom",
               "bmshj2018-hyperprior", "mbt2018")


def method_style(method: str) -> dict:
    """The same colour and marker for a method in every figure of every report."""
    if method in STYLE_ORDER:
        index = STYLE_ORDER.index(method)
    else:
        index = int(hashlib.sha1(method.encode()).hexdigest(), 16) % 97 + len(STYLE_ORDER)
    return {"color": COLOURS[index % len(COLOURS)], "marker": MARKERS[index % len(MARKERS)]}


# display units of the outputs that have one (kept out of the metric table: its source is
# part of some metrics' fingerprints, and a label must not re-run jobs)
UNITS = {"psnr-rgb": "dB", "psnr-yuv": "dB", "psnr-y": "dB", "psnr-u": "dB", "psnr-v": "dB",
         "tof": "px", "tof-tecogan": "px", "flicker": "8-bit luma levels", "cvvdp": "JOD"}


def axis_label(metric: str) -> str:
    """'psnr-rgb (dB), higher is better': the metric, its unit and its direction."""
    output_spec(metric)   # an unknown output is an error, not a label
    unit = UNITS.get(metric, "")
    return f"{metric}{f' ({unit})' if unit else ''}, " + \
        ("lower is better" if lower_is_better(metric) else "higher is better")


def _curves(comp: Comparison, metric: str, x_axis: str) -> list[tuple[str, pd.DataFrame,
                                                                     pd.DataFrame]]:
    """Per entry: its front sorted by rate, and its dominated points with a value (computed
    once per figure, not once per view)."""
    out = []
    for method, grp in comp.rd.groupby("method"):
        on = on_front(grp, metric, comp.options.front, x_axis, ("dataset", "method"))
        out.append((method, grp[on].sort_values(x_axis), grp[~on & grp[metric].notna()]))
    return out


def _draw(ax: plt.Axes, comp: Comparison, curves: list, metric: str, x_axis: str) -> None:
    """Each entry's front as its curve, its dominated points as faint markers; the proposed
    entry's line thicker, and every rival's markers drawn over it (hollow), so a rival's
    single point at the proposed rate stays visible."""
    any_off = False
    for method, curve, off in curves:
        style, top = method_style(method), method == comp.proposed
        ax.plot(curve[x_axis], curve[metric], label=method + (" (proposed)" if top else ""),
                lw=2.6 if top else 1.2, ms=6 if top else 4, zorder=5 if top else 2, **style)
        if not top:   # the rival's markers again, above the proposed curve
            ax.plot(curve[x_axis], curve[metric], ls="none", marker=style["marker"], ms=5,
                    mfc="none", mec=style["color"], mew=1.2, zorder=12)
        any_off |= len(off) > 0
        ax.plot(off[x_axis], off[metric], ls="none", alpha=0.3, color=style["color"],
                marker=style["marker"], ms=4, zorder=1)
    if any_off:   # explain the faint markers once, in the legend
        ax.plot([], [], ls="none", marker="o", color="0.5", alpha=0.3, ms=4,
                label="faint: off the entry's front (dominated)")


PLAIN_TICKS = ticker.FuncFormatter(lambda value, _: f"{value:g}")   # 0.001, not 10^{-3}


def plot_rd(comp: Comparison, metric: str, stem: Path, log_x: bool = True,
            formats: tuple[str, ...] = ("png",)) -> list[Path]:
    """One RD figure (PNG, and PDF when asked): every entry on all rates, and beside it the
    ultra-low view zoomed to the proposed entry's rate range (only when there is a proposed
    entry). Plain tick labels and fixed margins: mathtext and tight_layout were most of a
    report's time."""
    x_axis = comp.options.x_axis
    mine = comp.rd[comp.rd["method"] == comp.proposed][x_axis].dropna() \
        if comp.proposed else pd.Series(dtype=float)
    views = (False, True) if len(mine) else (False,)
    fig, axes = plt.subplots(1, len(views), figsize=(10 if len(views) == 2 else 5.6, 4.2),
                             squeeze=False)
    axes = axes[0]
    curves = _curves(comp, metric, x_axis)
    for ax, zoom in zip(axes, views, strict=True):
        _draw(ax, comp, curves, metric, x_axis)
        rates = comp.rd[x_axis][comp.rd[x_axis] > 0]
        lo, hi = (float(mine.min()) / 1.5, float(mine.max()) * 1.5) if zoom and len(mine) \
            else (float(rates.min()), float(rates.max())) if len(rates) else (1.0, 10.0)
        if log_x:
            ax.set_xscale("log")
            # plain labels at each decade, or at 1, 2 and 5 of it on an axis under two decades
            # wide (the zoomed view): far fewer tick objects than every minor tick
            subs = (1.0, 2.0, 5.0) if hi / lo < 100 else (1.0,)
            ax.xaxis.set_major_locator(ticker.LogLocator(subs=subs))
            ax.xaxis.set_major_formatter(PLAIN_TICKS)
            ax.xaxis.set_minor_locator(ticker.NullLocator())
        if zoom and len(mine):
            ax.set_xlim(lo, hi)
            inside = comp.rd[(comp.rd[x_axis] >= lo) & (comp.rd[x_axis] <= hi)][metric]
            if inside.notna().any():
                pad = 0.05 * (inside.max() - inside.min()) or 0.05 * abs(inside.max()) or 1
                ax.set_ylim(inside.min() - pad, inside.max() + pad)
        ax.set_xlabel(f"{x_axis} ({comp.rate} rate)")
        ax.set_ylabel(axis_label(metric))
        ax.set_title(f"{comp.dataset}: {metric}" + (f", ultra-low view ({comp.proposed}'s range)"
                                                     if zoom else ", all rates"), fontsize=9)
        ax.grid(True, alpha=0.3)
    axes[0].legend(fontsize=6)
    if metric in SET_OUTPUTS:
        fig.text(0.01, 0.01, "Few clips per entry: FVD/KVD covariance is rank-deficient; see "
                 "the clip count in the RD table", fontsize=7)
    fig.subplots_adjust(left=0.08 if len(views) == 2 else 0.13, right=0.98, bottom=0.13,
                        top=0.93, wspace=0.25)
    paths = [stem.with_suffix(f".{ext}") for ext in formats]
    for path in paths:
        fig.savefig(path, dpi=110)
    plt.close(fig)
    return paths

