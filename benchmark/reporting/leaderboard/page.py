"""The leaderboard page: one self-contained HTML file (no network, no CDN) holding the page's
data as JSON, its stylesheet and its script (`page.css`, `page.js` beside this module)."""

from __future__ import annotations

import html
import json
from importlib.resources import files
from pathlib import Path

from benchmark.data.store import ResultStore
from benchmark.reporting.leaderboard.model import page_data


def _asset(name: str) -> str:
    return files("benchmark.reporting.leaderboard").joinpath(name).read_text(encoding="utf-8")


def render_page(data: dict) -> str:
    """The HTML text of a page showing `data` (from `page_data`)."""
    blob = json.dumps(data, separators=(",", ":"), allow_nan=False).replace("</", "<\\/")
    title = html.escape(data["title"])
    return (f'<!DOCTYPE html><html lang="en"><head><meta charset="utf-8"><title>{title}</title>'
            '<meta name="viewport" content="width=device-width, initial-scale=1">'
            f'<link rel="icon" href="data:,"><style>{_asset("page.css")}</style></head><body>'
            f'<header><h1>{title}</h1><div id="controls"></div></header><main id="app">'
            "<noscript>This page renders its tables with JavaScript; the same tables are in "
            "the report folder as Markdown, CSV and LaTeX.</noscript></main>"
            f'<script type="application/json" id="data">{blob}</script>'
            f"<script>{_asset('page.js')}</script></body></html>")


def write_html(store: ResultStore, path: Path, study: dict | None = None,
               **options: object) -> Path:
    """Write the page for a store; `options` are `page_data`'s (options, rate, min_clips, ...)."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(render_page(page_data(store, study=study, **options)), encoding="utf-8")
    return path
