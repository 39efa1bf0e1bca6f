"""What the leaderboard page shows, as one JSON-able dict built from a results store with the
report's own functions (RD, matched-rate and BD tables are the same numbers as the CSVs).

Per dataset: the entries (method kind, causal or not, their role: the proposed entry or another
receiver of its streams, their warnings), and per rate accounting (total, payload) the RD table
with off-front marks, the proposed-rates and fixed-target tables, BD tables against the anchors
and every classical codec over two rate regimes, and each sequence's RD points. Per job:
per-frame values and the preview frame (a data URI) for the drill-down, within a size budget.
"""

from __future__ import annotations

import base64
import math
from collections import defaultdict
from dataclasses import replace
from datetime import UTC, datetime
from pathlib import Path

from benchmark.analysis.comparisons import SET_OUTPUTS, Comparison, Options, compare
from benchmark.analysis.entries import proposed_entry
from benchmark.analysis.fronts import FOOTER, on_front
from benchmark.analysis.rd import RATES, best_direction, load_entries, rd_table, with_rate
from benchmark.analysis.setmetrics import DEFAULT_MIN_CLIPS, fvd_table
from benchmark.core.pandas_setup import pd
from benchmark.data.store import STATUS_OK, ResultStore
from benchmark.metrics.table import lower_is_better, output_spec
from benchmark.reporting.dataset_tables import (
    bd_marks,
    caveat_text,
    proposed_marks,
    proposed_wide,
)
from benchmark.reporting.headline import headline, headline_data
from benchmark.reporting.notes import provenance
from benchmark.reporting.plots import axis_label, method_style

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


BD_REGIMES = {"all": None, "ultra-low": (0.0, 0.01)}   # regime -> bd_range (bpp)


def _cells(values: list) -> list:
    return [_num(v) for v in values]


def _mark(mark) -> dict:
    """A cell's mark for the page: the entries marked best, or why none is."""
    return {"best": list(mark.winners), "why": mark.why}


def _bd_marks(table: pd.DataFrame, metrics: list[str]) -> dict:
    """Per metric, the marks of its BD-rate and BD-metric columns (the one rule)."""
    marks = bd_marks(table)
    return {m: {"rate": _mark(marks[f"BD-rate {m} (%)"]), "delta": _mark(marks[f"BD-{m}"])}
            for m in metrics if f"BD-rate {m} (%)" in marks and f"BD-{m}" in marks}


def _bd_rows(table: pd.DataFrame, metrics: list[str]) -> list[dict]:
    """A BD table as page rows: per metric [BD-rate, BD-metric, why BD-rate is --, why
    BD-metric is --, share of the shorter curve for BD-rate, for BD-metric, the BD-rate's
    bootstrap 95% interval (low, high), the sequences it wins]."""
    rows = []
    for r in table.to_dict("records"):
        row = {"entry": r["method"]}
        for m in metrics:
            if f"BD-rate {m} (%)" in r:
                row[m] = [_num(r[f"BD-rate {m} (%)"]), _num(r[f"BD-{m}"]),
                          r.get(f"BD-rate {m} why --") or "", r.get(f"BD-{m} why --") or "",
                          _num(r.get(f"BD-rate {m} share (%)")), _num(r.get(f"BD-{m} share (%)")),
                          _num(r.get(f"BD-rate {m} CI95 low")),
                          _num(r.get(f"BD-rate {m} CI95 high")),
                          r.get(f"BD-rate {m} wins") or ""]
        rows.append(row)
    return rows


def _proposed_view(comp: Comparison) -> dict | None:
    """The proposed-rates table per metric: column labels, mean bpp, rows [value, covered, n]."""
    if comp.at_proposed is None:
        return None
    out = {}
    for metric in comp.present:
        labels, rows = proposed_wide(comp, metric)
        out[metric] = {"columns": labels,
                       "rows": {r[0]: [[_num(c.value), c.covered, c.sequences, c.status]
                                       for c in r[1:]] for r in rows},
                       "marks": [_mark(m) for m in proposed_marks(labels, rows, metric)]}
    return out


def _matched_marks(comp: Comparison) -> dict[str, list[dict]]:
    """Per metric and target rate, the marks of the fixed-target table (the one rule)."""
    from benchmark.analysis.marks import Cell, best_in

    out: dict[str, list[dict]] = {}
    for metric, part in comp.fixed.groupby("metric"):
        out[metric] = [_mark(best_in({r["entry"]: Cell(float(r["value"]), int(r["covered"]),
                                                      int(r["sequences"]))
                                      for r in part[part["target_bpp"] == t].to_dict("records")},
                                     metric))
                       for t in comp.options.targets]
    return out


def _rate_view(part: pd.DataFrame, fvd: pd.DataFrame, dataset: str, rate: str,
               options: Options, anchors: tuple[str, ...]) -> dict:
    """One rate accounting's tables for one dataset (`fvd`: its pooled set metrics, which do
    not depend on how bits are counted), from the report's own comparisons."""
    rd = rd_table(part, fvd)
    comps = {regime: compare(part, rd, dataset, rate, replace(options, anchors=anchors,
                                                                 bd_range=bd_range))
             for regime, bd_range in BD_REGIMES.items()}
    comp = comps["all"]
    present, targets = comp.present, options.targets
    matched_rows: dict[str, dict[str, list]] = defaultdict(dict)
    for r in comp.fixed.to_dict("records"):
        cell = [_num(r["value"]), int(r["covered"]), int(r["sequences"])]
        matched_rows[r["metric"]].setdefault(r["entry"], [None] * len(targets))
        matched_rows[r["metric"]][r["entry"]][targets.index(r["target_bpp"])] = cell
    ok = part[part["status"] == STATUS_OK]
    warnings, shared = _warnings(part, rd)
    seq_metrics = comp.seq_metrics
    fronts = {m: on_front(ok, m, options.front) for m in seq_metrics}
    per_sequence: dict[str, dict[str, list]] = defaultdict(dict)
    for (seq, entry), grp in ok.sort_values("bpp").groupby(["sequence", "entry"]):
        per_sequence[seq][entry] = [
            {"rate_point": r["rate_point"], "bpp": _num(r["bpp"]),
             "off": [m for m in seq_metrics if not fronts[m][i]],
             **{m: _num(r.get(m)) for m in seq_metrics}}
            for i, r in zip(grp.index, grp.to_dict("records"), strict=True)]
    rd_rows = [{"entry": r["method"], "rate_point": r["rate_point"], "jobs": r["jobs"],
                "bpp": _num(r["bpp"]), "kbps": _num(r["kbps"]),
                "off": [m for m in str(r["off front"]).split(",") if m]
                if r["off front"] != "all" else list(present),
                **{m: _num(r.get(m)) for m in present}} for r in comp.rd.to_dict("records")]
    bd = {regime: {a: _bd_rows(c.bd[a], seq_metrics) for a in anchors if len(c.bd.get(a, ()))}
          for regime, c in comps.items()}
    bd_marks_ = {regime: {a: _bd_marks(c.bd[a], seq_metrics) for a in anchors
                          if len(c.bd.get(a, ()))} for regime, c in comps.items()}
    bd_missing = {regime: c.bd_missing for regime, c in comps.items()}
    return {"metrics": present, "rd": rd_rows, "matched": dict(matched_rows),
            "matched_marks": _matched_marks(comp),
            "caveats": {m: caveat_text(comp, m) for m in present},
            "proposed": _proposed_view(comp), "proposed_note": comp.proposed_note,
            "bd": bd, "bd_marks": bd_marks_, "bd_missing": bd_missing,
            "headline": {**headline_data(comp), "lines": headline(comp)},
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


def _entries(frame: pd.DataFrame, proposed: str | None) -> dict[str, dict]:
    """Per entry: method, kind, causal, role (proposed, receiver of the proposed streams, or
    none), colour and marker (as in every figure)."""
    out = {}
    for r in frame.drop_duplicates("entry").to_dict("records"):
        style = method_style(r["method"])
        receiver = r.get("receiver_of") or ""
        role = "proposed" if r["entry"] == proposed else \
            "receiver" if isinstance(receiver, str) and receiver else ""
        out[r["entry"]] = {"method": r["method"], "kind": r.get("kind") or "external",
                           "causal": bool(r.get("causal", True)), "role": role,
                           "receiver_of": receiver if isinstance(receiver, str) else "",
                           "proposed": role == "proposed",
                           "colour": _hex(style["color"]), "marker": style["marker"]}
    return out


def page_data(store: ResultStore, options: Options | None = None,
              min_clips: int = DEFAULT_MIN_CLIPS, rate: str = "total", force: bool = False,
              study: dict | None = None, preview_budget: int = PREVIEW_BUDGET) -> dict:
    """Everything the page shows; `options.anchors[0]` and `rate` are the selections it opens
    with."""
    options = options or Options()
    entries, records = load_entries(store, force)
    by_path = {r["_path"]: r for r in records}
    datasets = {}
    for dataset in sorted(entries.frame["dataset"].unique()):
        part = entries.frame[entries.frame["dataset"] == dataset]
        fvd = fvd_table([r for r in records if r.get("dataset") == dataset], part, min_clips)
        classical = sorted(set(part[part["kind"] == "classical"]["entry"]))
        anchors = tuple(dict.fromkeys([*options.anchors, *classical]))
        views = {name: _rate_view(with_rate(part, name), fvd, dataset, name, options, anchors)
                 for name in RATES}
        ok = part[part["status"] == STATUS_OK]
        proposed = proposed_entry(ok, options.proposed)[0] if len(ok) else None
        jobs, references, notes, spent = _jobs(part, by_path, store, dataset, preview_budget)
        preview_budget -= spent   # the budget is the whole page's, over every dataset
        datasets[dataset] = {"entries": _entries(part, proposed), "proposed": proposed,
                             "sequences": sorted(part["sequence"].unique()),
                             "rates": views, "jobs": jobs, "reference_previews": references,
                             "notes": notes + entries.notes()}
    outputs = sorted({m for d in datasets.values() for v in d["rates"].values()
                      for m in v["metrics"]})
    metrics = {m: {"better": best_direction(m), "lower_is_better": lower_is_better(m),
                   "set_level": m in SET_OUTPUTS, "description": output_spec(m).description,
                   "axis": axis_label(m)}
               for m in outputs}
    return {"title": "ULVR-Bench leaderboard",
            "generated": datetime.now(UTC).strftime("%Y-%m-%d %H:%M UTC"),
            "targets": list(options.targets), "rates": list(RATES), "rate": rate,
            "anchor": options.anchors[0] if options.anchors else "",
            "regimes": {k: list(v) if v else None for k, v in BD_REGIMES.items()},
            "front": options.front, "front_note": FOOTER[options.front],
            "x_axis": options.x_axis, "bd_method": options.bd_method, "metrics": metrics,
            "datasets": datasets, "study": study, "provenance": provenance(records)}
