"""Paper figures beyond RD curves: per-frame quality over time for one sequence, and a
qualitative grid (the same frame plus a zoomed crop per method, at the rate point closest to a
target bpp). Both pick, per method, the job of that sequence whose bpp is closest to the target.
"""

from __future__ import annotations

from pathlib import Path

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402
from PIL import Image  # noqa: E402

from benchmark.core.errors import UlvrError  # noqa: E402
from benchmark.data.store import STATUS_OK, ResultStore  # noqa: E402
from benchmark.reporting.plots import method_style


def closest_jobs(store: ResultStore, dataset: str, sequence: str, bpp: float) -> list[dict]:
    """Per method, the successful record of `sequence` with bpp closest to `bpp` (log scale)."""
    best: dict[str, dict] = {}
    for r in store.records():
        if (r.get("dataset"), r.get("sequence"), r.get("status")) != (dataset, sequence,
                                                                        STATUS_OK):
            continue
        gap = abs(np.log(r["bpp"] / bpp))
        if r["method"] not in best or gap < best[r["method"]][0]:
            best[r["method"]] = (gap, r)
    if not best:
        raise UlvrError(f"no successful results for sequence '{sequence}' of '{dataset}'")
    return [best[m][1] for m in sorted(best)]


def plot_per_frame(store: ResultStore, dataset: str, sequence: str, metric: str, bpp: float,
                   out_dir: Path) -> list[Path]:
    """Per-frame `metric` over time, one curve per method (PNG + PDF)."""
    fig, ax = plt.subplots(figsize=(6, 3.4))
    for r in closest_jobs(store, dataset, sequence, bpp):
        values = r.get("per_frame", {}).get(metric)
        if values:
            ax.plot(range(len(values)), values, label=f"{r['method']} ({r['bpp']:.4f} bpp)",
                    color=method_style(r["method"])["color"], lw=1.2)
    ax.set_xlabel("frame")
    ax.set_ylabel(metric)
    ax.set_title(f"{dataset}/{sequence}: {metric} per frame near {bpp:g} bpp")
    ax.grid(alpha=0.3)
    ax.legend(fontsize=7)
    fig.tight_layout()
    return _save(fig, out_dir / f"frames_{dataset}_{sequence}_{metric}")


def qualitative_grid(store: ResultStore, dataset: str, sequence: str, bpp: float,
                     out_dir: Path, zoom: float = 0.25) -> list[Path]:
    """Reference + each method's preview frame, each with a centre crop enlarged beside it."""
    jobs = [r for r in closest_jobs(store, dataset, sequence, bpp)
            if Path(r["_path"]).with_suffix(".png").exists()]
    start = jobs[0].get("start_frame", 0) if jobs else 0
    ref = store.reference_preview(dataset, sequence, start)
    if not jobs or not ref.exists():
        raise UlvrError(f"no preview frames for '{sequence}': re-run its jobs with this harness")
    panels = [("reference", np.asarray(Image.open(ref)))]
    panels += [(f"{r['method']}\n{r['bpp']:.4f} bpp", np.asarray(Image.open(
        Path(r["_path"]).with_suffix(".png")))) for r in jobs]
    h, w = panels[0][1].shape[:2]
    ch, cw = max(8, int(h * zoom)), max(8, int(w * zoom))
    y0, x0 = (h - ch) // 2, (w - cw) // 2
    fig, axes = plt.subplots(len(panels), 2, figsize=(6, 1.9 * len(panels)), squeeze=False)
    for row, (title, img) in zip(axes, panels, strict=True):
        row[0].imshow(img)
        row[0].add_patch(plt.Rectangle((x0, y0), cw, ch, fill=False, color="red", lw=1))
        row[1].imshow(img[y0:y0 + ch, x0:x0 + cw], interpolation="nearest")
        row[0].set_ylabel(title, fontsize=8)
        for ax in row:
            ax.set_xticks([])
            ax.set_yticks([])
    fig.suptitle(f"{dataset}/{sequence}, frame {start + jobs[0]['frames'] // 2} "
                 f"near {bpp:g} bpp", fontsize=9)
    fig.tight_layout()
    return _save(fig, out_dir / f"grid_{dataset}_{sequence}")


def _save(fig: plt.Figure, stem: Path) -> list[Path]:
    stem.parent.mkdir(parents=True, exist_ok=True)
    paths = [stem.with_suffix(".png"), stem.with_suffix(".pdf")]
    for path in paths:
        fig.savefig(path, dpi=150)
    plt.close(fig)
    return paths
