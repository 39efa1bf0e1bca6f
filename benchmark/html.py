"""Leaderboard page: one self-contained HTML file (plots embedded as data URIs, no network)
with the matched-rate, BD and RD tables, RD plots per metric, dataset/metric filters and
provenance."""

from __future__ import annotations

import base64
import html
import json
from pathlib import Path

import pandas as pd

from benchmark.report import provenance
from benchmark.store import ResultStore

STYLE = """
body{font-family:system-ui,sans-serif;margin:2em;color:#222}
table{border-collapse:collapse;margin:1em 0;font-size:13px}
td,th{border:1px solid #ccc;padding:3px 8px;text-align:right}
th{background:#f3f3f3} td:first-child,th:first-child{text-align:left}
.figs img{width:420px;margin:4px;border:1px solid #eee}
.hidden{display:none} code{font-size:12px}
"""

SCRIPT = """
function applyFilter(){
  const d=document.getElementById('dataset').value, m=document.getElementById('metric').value;
  document.querySelectorAll('[data-dataset]').forEach(e=>{
    const okD = d==='all' || e.dataset.dataset===d;
    const okM = !e.dataset.metric || m==='all' || e.dataset.metric===m;
    e.classList.toggle('hidden', !(okD && okM));
  });
}
window.addEventListener('load', ()=>{
  const imgs=[...document.images];
  document.body.dataset.imagesLoaded = imgs.filter(i=>i.complete && i.naturalWidth>0).length;
  document.body.dataset.tables = document.querySelectorAll('table.rd, table.bd').length;
  document.body.dataset.matchedTables = document.querySelectorAll('table.matched').length;
  applyFilter();
});
"""


def _table(frame: pd.DataFrame, css: str) -> str:
    return frame.to_html(index=False, classes=css, na_rep="--", float_format=lambda v: f"{v:.4g}",
                         border=0)


def _matched(report_dir: Path, dataset: str) -> list[str]:
    """The matched-rate tables (entries x target bpp, one per metric, direction shown), first:
    they compare methods whose curves are too far apart for BD-rate."""
    path = report_dir / f"matched_rate_{dataset}.csv"
    if not path.exists():
        return []
    from benchmark.matched import wide
    from benchmark.metrics.table import lower_is_better

    long = pd.read_csv(path).rename(columns={"method": "entry"})
    out = ["<h3>Matched-rate table (pchip in log-bpp, never extrapolated)</h3>"]
    for metric in dict.fromkeys(long["metric"]):
        table = wide(long, metric)
        arrow = "&darr; lower is better" if lower_is_better(metric) else "&uarr; higher is better"
        out.append(f'<div data-dataset="{html.escape(dataset)}" data-metric="'
                   f'{html.escape(metric)}"><h4>{html.escape(metric)} ({arrow})</h4>'
                   + _table(table, "matched") + "</div>")
    return out


def write_html(store: ResultStore, report_dir: Path, path: Path) -> Path:
    """Build the page from the report's CSV tables and PNG plots plus the records' provenance."""
    report_dir = Path(report_dir)
    datasets = sorted(p.stem.removeprefix("rd_table_") for p in report_dir.glob("rd_table_*.csv"))
    metrics: set[str] = set()
    sections = []
    for dataset in datasets:
        body = [f"<h2>{html.escape(dataset)}</h2>", *_matched(report_dir, dataset)]
        bd_csv = report_dir / f"bd_table_{dataset}.csv"
        if bd_csv.exists():
            body += ["<h3>BD table</h3>", _table(pd.read_csv(bd_csv), "bd")]
        body += ["<h3>RD table</h3>", _table(pd.read_csv(report_dir / f"rd_table_{dataset}.csv"),
                                            "rd")]
        figs = []
        for png in sorted(report_dir.glob(f"rd_{dataset}_*.png")):
            metric = png.stem.removeprefix(f"rd_{dataset}_")
            metrics.add(metric)
            data = base64.b64encode(png.read_bytes()).decode()
            figs.append(f'<img data-dataset="{html.escape(dataset)}" '
                        f'data-metric="{html.escape(metric)}" alt="{html.escape(metric)}" '
                        f'src="data:image/png;base64,{data}">')
        body.append('<div class="figs">' + "".join(figs) + "</div>")
        sections.append(f'<section data-dataset="{html.escape(dataset)}">' + "\n".join(body)
                        + "</section>")

    def options(values: list[str]) -> str:
        return "".join(f'<option value="{html.escape(v)}">{html.escape(v)}</option>'
                       for v in ["all", *values])

    prov = provenance(list(store.records()))
    page = f"""<!DOCTYPE html><html><head><meta charset="utf-8"><title>ULVR-Bench leaderboard
</title><style>{STYLE}</style></head><body><h1>ULVR-Bench leaderboard</h1>
<p>Dataset <select id="dataset" onchange="applyFilter()">{options(datasets)}</select>
Metric <select id="metric" onchange="applyFilter()">{options(sorted(metrics))}</select></p>
{"".join(sections)}
<h2>Provenance</h2><pre id="provenance">{html.escape(json.dumps(prov, indent=1))}</pre>
<script>{SCRIPT}</script></body></html>"""
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(page)
    return path
