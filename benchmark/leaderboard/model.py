"""What the leaderboard page shows, as one JSON-able dict built from a results store with the
report's own functions (RD, matched-rate and BD tables are the same numbers as the CSVs).

Per dataset: the entries (method kind, causal or not, proposed or not, their warnings), and per
rate accounting (total, payload) the RD table, the matched-rate values, a BD table against every
entry that can anchor one, and each sequence's RD points. Per job: per-frame values and the
preview frame (a data URI) for the drill-down, within a size budget.
"""

from __future__ import annotations

import base64
import math
import re
from collections import defaultdict
from datetime import UTC, datetime
from pathlib import Path

import pandas as pd

from benchmark import matched
from benchmark.bdrate import MIN_POINTS, bd_table
from benchmark.errors import UlvrError
from benchmark.metrics.table import lower_is_better, output_spec
from benchmark.registry import MethodKind
from benchmark.report import (
    RATES,
    SET_OUTPUTS,
    best_direction,
    load_entries,
    matched_values,
    method_style,
    present_outputs,
    provenance,
    rd_table,
    with_rate,
)
from benchmark.setmetrics import DEFAULT_MIN_CLIPS, fvd_table
from benchmark.store import STATUS_OK, ResultStore

PREVIEW_BUDGET = 24 * 2**20   # bytes of preview PNGs a page embeds (the drill-down's grid)
DIGITS = 5                    # significant digits kept in the page's numbers


def _num(value: object) -> float | None:
    """A finite float rounded to DIGITS significant digits, or None (JSON null, shown --)."""
    try:
        v = float(value)
    except (TypeError, ValueError):
        return None
    if not math.isfinite(v):
        return None
    return float(f"{v:.{DIGITS}g}")


def _hex(colour: tuple[float, ...]) -> str:
    return "#" + "".join(f"{round(255 * c):02x}" for c in colour[:3])


def _data_uri(path: Path) -> str:
    return "data:image/png;base64," + base64.b64encode(path.read_bytes()).decode()


def _warnings(frame: pd.DataFrame, rd: pd.DataFrame) -> tuple[dict[str, list[str]], list[str]]:
    """Per entry: failed jobs, rate points missing sequences, and FVD caveats (one line per
    caveat, naming its rate points). A caveat every entry shares is returned once, for the
    dataset, instead of on every row."""
    out: dict[str, list[str]] = defaultdict(list)
    for r in frame[frame["status"] != STATUS_OK].itertuples():
        out[r.entry].append(f"failed: {r.sequence} / {r.rate_point}: {r.error}")
    fvd: dict[tuple[str, str], list[str]] = defaultdict(list)
    for r in rd.itertuples():
        done, expected = str(r.jobs).split("/")
        if done != expected:
            out[r.method].append(f"{r.rate_point}: {r.jobs} sequences succeeded; its values "
                                 "are not averaged (--)")
        note = getattr(r, "fvd_note", None)
        if isinstance(note, str) and note:
            fvd[r.method, note].append(str(r.rate_point))
    entries = set(rd["method"])
    shared = [note for note in {n for _, n in fvd}
              if {m for m, n in fvd if n == note} == entries and len(entries) > 1]
    for (method, note), points in sorted(fvd.items()):
        if note not in shared:
            out[method].append(f"FVD ({len(points)} rate point(s): {', '.join(points)}): {note}")
    return dict(out), [f"FVD of every entry: {note}" for note in sorted(shared)]


def _split_notes(note: str, metrics: list[str]) -> dict[str, str]:
    """A BD row's note (one '<metric>: ...' part per metric without a value) by metric."""
    if not note:
        return {}
    names = "|".join(re.escape(m) for m in sorted(metrics, key=len, reverse=True))
    parts = re.split(rf"; (?=(?:{names}): )", note)
    return {m: part[len(m) + 2:] for part in parts for m in metrics if part.startswith(f"{m}: ")}


def _bd_tables(ok: pd.DataFrame, metrics: list[str], x_axis: str,
               bd_method: str) -> dict[str, list[dict]]:
    """Per anchor (every entry with enough rate points on every sequence), its BD rows."""
    tables = {}
    points = ok.groupby(["entry", "sequence"])["rate_point"].nunique().groupby("entry").min()
    sequences = ok.groupby("entry")["sequence"].nunique()
    for anchor in sorted(points.index):
        if points[anchor] < MIN_POINTS or sequences[anchor] < ok["sequence"].nunique():
            continue
        try:
            bd = bd_table(ok, anchor, metrics, rate_col=x_axis, method=bd_method)
        except UlvrError:
            continue
        rows = []
        for r in bd.to_dict("records"):
            notes = _split_notes(r["note"], metrics)
            row = {"entry": r["method"], "overlap": _num(r["rate overlap (%)"])}
            for m in metrics:
                row[m] = [_num(r.get(f"BD-rate {m} (%)")), _num(r.get(f"BD-{m}")),
                          notes.get(m, "")]
            rows.append(row)
        tables[anchor] = rows
    return tables


def _rate_view(part: pd.DataFrame, fvd: pd.DataFrame, dataset: str,
               targets: tuple[float, ...], x_axis: str, bd_method: str) -> dict:
    """One rate accounting's tables for one dataset (`fvd`: its pooled set metrics, which do
    not depend on how bits are counted)."""
    rd = rd_table(part, fvd)
    present = present_outputs(rd)
    long, _ = matched_values(part, rd, dataset, present, targets)
    matched_rows: dict[str, dict[str, list]] = defaultdict(dict)
    for metric in present:
        table = matched.wide(long, metric)
        for r in table.to_dict("records"):
            matched_rows[metric][r["method"]] = [_num(r.get(f"bpp={t:g}")) for t in targets]
    ok = part[part["status"] == STATUS_OK]
    warnings, shared = _warnings(part, rd)
    seq_metrics = [m for m in present if m not in SET_OUTPUTS]
    per_sequence: dict[str, dict[str, list]] = defaultdict(dict)
    for (seq, entry), grp in ok.sort_values("bpp").groupby(["sequence", "entry"]):
        per_sequence[seq][entry] = [
            {"rate_point": r["rate_point"], "bpp": _num(r["bpp"]),
             **{m: _num(r.get(m)) for m in seq_metrics}} for r in grp.to_dict("records")]
    rd_rows = [{"entry": r["method"], "rate_point": r["rate_point"], "jobs": r["jobs"],
                "bpp": _num(r["bpp"]), "kbps": _num(r["kbps"]),
                **{m: _num(r.get(m)) for m in present}} for r in rd.to_dict("records")]
    return {"metrics": present, "rd": rd_rows, "matched": dict(matched_rows),
            "bd": _bd_tables(ok, seq_metrics, x_axis, bd_method),
            "sequences": dict(per_sequence), "warnings": warnings, "dataset_warnings": shared}


def _jobs(part: pd.DataFrame, by_path: dict[str, dict], store: ResultStore, dataset: str,
          budget: int) -> tuple[dict, dict, list[str], int]:
    """Per sequence and entry, every successful job of one dataset's `part`: rates, per-frame
    values and preview (within `budget` bytes of previews); the reference previews; notes on
    what the budget left out; the bytes spent."""
    part = part[part["status"] == STATUS_OK]
    jobs: dict[str, dict[str, list]] = defaultdict(lambda: defaultdict(list))
    references: dict[str, str] = {}
    notes, spent = [], 0
    for r in part.sort_values("bpp").to_dict("records"):
        record = by_path.get(r["path"], {})
        preview = Path(r["path"]).with_suffix(".png")
        job = {"rate_point": r["rate_point"], "bpp": _num(r["bpp"]),
               "bpp_payload": _num(r.get("bpp_payload", r["bpp"])),
               "frames": int(r["frames"]),
               "per_frame": {k: [_num(v) for v in vals]
                             for k, vals in record.get("per_frame", {}).items()}}
        if preview.is_file() and spent + preview.stat().st_size <= budget:
            spent += preview.stat().st_size
            job["preview"] = _data_uri(preview)
            seq = r["sequence"]
            ref = store.reference_preview(dataset, seq, int(record.get("start_frame", 0)))
            if seq not in references and ref.is_file():
                references[seq] = _data_uri(ref)
        elif preview.is_file():
            notes.append(f"{r['entry']} / {r['sequence']} / {r['rate_point']}")
        jobs[r["sequence"]][r["entry"]].append(job)
    left_out = [f"{len(notes)} preview frame(s) over the page's preview budget are not "
                "embedded; `ulvr report --sequence NAME` writes their grid"] if notes else []
    return {s: dict(v) for s, v in jobs.items()}, references, left_out, spent


def _entries(frame: pd.DataFrame) -> dict[str, dict]:
    """Per entry: method, kind, causal, proposed, colour and marker (as in every figure)."""
    out = {}
    for r in frame.drop_duplicates("entry").to_dict("records"):
        style = method_style(r["method"])
        out[r["entry"]] = {"method": r["method"], "kind": r.get("kind") or "external",
                           "causal": bool(r.get("causal", True)),
                           "proposed": r.get("kind") == MethodKind.PROPOSED.value,
                           "colour": _hex(style["color"]), "marker": style["marker"]}
    return out


def page_data(store: ResultStore, targets: tuple[float, ...] = matched.DEFAULT_TARGETS,
              anchor: str = "x265", x_axis: str = "bpp", bd_method: str = "pchip",
              min_clips: int = DEFAULT_MIN_CLIPS, rate: str = "total", force: bool = False,
              study: dict | None = None, preview_budget: int = PREVIEW_BUDGET) -> dict:
    """Everything the page shows; `anchor` and `rate` are the selections it opens with."""
    entries, records = load_entries(store, force)
    by_path = {r["_path"]: r for r in records}
    datasets = {}
    for dataset in sorted(entries.frame["dataset"].unique()):
        part = entries.frame[entries.frame["dataset"] == dataset]
        fvd = fvd_table([r for r in records if r.get("dataset") == dataset], part, min_clips)
        views = {name: _rate_view(with_rate(part, name), fvd, dataset, targets, x_axis,
                                  bd_method) for name in RATES}
        jobs, references, notes, spent = _jobs(part, by_path, store, dataset, preview_budget)
        preview_budget -= spent   # the budget is the whole page's, over every dataset
        datasets[dataset] = {"entries": _entries(part),
                             "sequences": sorted(part["sequence"].unique()),
                             "rates": views, "jobs": jobs, "reference_previews": references,
                             "notes": notes + entries.notes()}
    outputs = sorted({m for d in datasets.values() for v in d["rates"].values()
                      for m in v["metrics"]})
    metrics = {m: {"better": best_direction(m), "lower_is_better": lower_is_better(m),
                   "set_level": m in SET_OUTPUTS, "description": output_spec(m).description}
               for m in outputs}
    return {"title": "ULVR-Bench leaderboard",
            "generated": datetime.now(UTC).strftime("%Y-%m-%d %H:%M UTC"),
            "targets": list(targets), "rates": list(RATES), "rate": rate, "anchor": anchor,
            "x_axis": x_axis, "bd_method": bd_method, "metrics": metrics,
            "datasets": datasets, "study": study, "provenance": provenance(records)}
