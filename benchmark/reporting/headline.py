"""The headline: per metric and proposed rate point, the proposed method's value, the best rival
there, the difference, the coverage, on how many clips it wins, and the caveats; then BD against
x265, against the strongest classical codec (chosen from the data) and against lowres-bicubic,
each with its bootstrap interval over sequences. Its numbers are the comparison tables' own
(`benchmark.analysis.comparisons`), never recomputed.

One structure (`headline_data`) feeds report/headline.json, report/headline.md, the block at
the top of the page, and the lines printed last by `ulvr report` and `make demo`.
"""

from __future__ import annotations

import math

from benchmark.analysis.comparisons import REFERENCE_CODEC, Comparison
from benchmark.analysis.marks import NOT_RUN, OK, Cell
from benchmark.analysis.uncertainty import MIN_FVD_CLIPS, MIN_SEQUENCES, wins
from benchmark.core.pandas_setup import pd
from benchmark.metrics.table import lower_is_better

HEADLINE_METRICS = ("lpips-alex", "dists", "psnr-yuv", "fvd", "tlp")
BD_METRICS = ("lpips-alex", "dists", "psnr-yuv", "ms-ssim")
RECEIVER_ANCHOR = "lowres-bicubic"


def _g(value: float | None) -> str:
    return "--" if value is None or not math.isfinite(value) else f"{value:.4g}"


def _num(value: object) -> float | None:
    try:
        v = float(value)
    except (TypeError, ValueError):
        return None
    return v if math.isfinite(v) else None


def _point(comp: Comparison, metric: str, rp: str) -> dict:
    """One metric at one proposed rate point: value, best rival, difference, wins, caveats."""
    at = comp.at_proposed
    mean = at[(at["sequence"] == "mean") & (at["metric"] == metric)
              & (at["proposed_rate_point"] == rp)]
    cells = {r["entry"]: Cell(float(r["value"]), int(r["covered"]), int(r["sequences"]),
                              bool(r["run"]), (float(r["ci_low"]), float(r["ci_high"])))
             for r in mean.to_dict("records")}
    mine = cells.get(comp.proposed, Cell(math.nan, 0, 0, False))
    rivals = {e: c for e, c in cells.items() if e != comp.proposed}
    complete = {e: c for e, c in rivals.items() if c.status == OK}
    lower = lower_is_better(metric)
    caveats = []
    not_run = sorted(e for e, c in rivals.items() if c.status == NOT_RUN)
    short = sorted(e for e, c in rivals.items() if c.status not in (OK, NOT_RUN))
    if not_run:
        caveats.append(f"not run here: {', '.join(not_run)}")
    if short:
        caveats.append(f"no value on every clip: {', '.join(short)}")
    out = {"value": _num(mine.value), "coverage": f"{mine.covered}/{mine.sequences}",
           "ci95": [_num(x) for x in mine.ci] if mine.ci else None, "best_rival": None,
           "rival_value": None, "difference_pct": None, "wins": None, "caveats": caveats}
    if complete:
        rival = sorted(complete, key=lambda e: complete[e].value, reverse=not lower)[0]
        rv = complete[rival].value
        out.update(best_rival=rival, rival_value=_num(rv),
                   difference_pct=_num(100 * (mine.value - rv) / abs(rv)) if rv else None)
        seq = at[(at["sequence"] != "mean") & (at["metric"] == metric)
                 & (at["proposed_rate_point"] == rp)]
        per = {e: dict(zip(g["sequence"], g["value"], strict=True))
               for e, g in seq.groupby("entry")}
        k, n = wins(per.get(comp.proposed, {}), per.get(rival, {}), lower)
        out["wins"] = f"{k}/{n}" if n else None
    else:
        caveats.append("no rival has a value on every clip here")
    if mine.status != OK:
        caveats.append(f"{comp.proposed} has no value on every clip ({mine.covered}/"
                       f"{mine.sequences})")
    return out


def _bd(comp: Comparison, anchor: str, codec_of: dict[str, str] | None = None) -> dict:
    """The proposed entry's BD-rate (with its interval and wins) and BD-metric per metric
    against `anchor` (or, per metric, against codec_of[metric])."""
    out = {}
    for metric in BD_METRICS:
        against = (codec_of or {}).get(metric, anchor)
        table = comp.bd.get(against)
        if table is None or table.empty or comp.proposed not in set(table["method"]):
            out[metric] = {"anchor": against, "bd_rate": None,
                           "why": comp.bd_missing.get(against, "no BD row")}
            continue
        row = table.set_index("method").loc[comp.proposed]
        get = lambda col, r=row: _num(r[col]) if col in r.index else None   # noqa: E731
        out[metric] = {"anchor": against, "bd_rate": get(f"BD-rate {metric} (%)"),
                       "ci95": [get(f"BD-rate {metric} CI95 low"),
                                get(f"BD-rate {metric} CI95 high")],
                       "wins": row.get(f"BD-rate {metric} wins") or None,
                       "bd_metric": get(f"BD-{metric}"),
                       "why": row.get(f"BD-rate {metric} why --") or ""}
    return out


def headline_data(comp: Comparison) -> dict:
    """The headline of one dataset under one rate accounting, as data."""
    data = {"dataset": comp.dataset, "rate": comp.rate, "proposed": comp.proposed,
            "points": [], "bd": {}, "strongest_classical": {}, "caveats": []}
    if comp.proposed is None or comp.at_proposed is None or comp.at_proposed.empty:
        data["caveats"].append(f"no headline: {comp.proposed_note}")
        return data
    at = comp.at_proposed
    own = at[(at["sequence"] == "mean") & (at["entry"] == comp.proposed)]
    points = own.drop_duplicates("proposed_rate_point").sort_values("bpp")
    for rp, bpp in zip(points["proposed_rate_point"], points["bpp"], strict=True):
        data["points"].append({"rate_point": rp, "bpp": _num(bpp), "metrics": {
            m: _point(comp, m, rp) for m in HEADLINE_METRICS if m in comp.present}})
    data["bd"][f"vs {REFERENCE_CODEC}"] = _bd(comp, REFERENCE_CODEC)
    if comp.strongest:
        data["strongest_classical"] = {m: c for m, (c, _) in comp.strongest.items()
                                       if m in BD_METRICS}
        data["bd"]["vs the strongest classical codec"] = _bd(
            comp, REFERENCE_CODEC, data["strongest_classical"])
    data["bd"][f"vs {RECEIVER_ANCHOR}"] = _bd(comp, RECEIVER_ANCHOR)
    sequences = int(own["sequences"].max()) if len(own) else 0
    if sequences < MIN_SEQUENCES:
        data["caveats"].append(f"{sequences} clips (fewer than {MIN_SEQUENCES}): means and BD "
                               "rest on few sequences; see the intervals and the win counts")
    if "fvd_clips" in comp.rd:
        clips = pd.to_numeric(comp.rd["fvd_clips"], errors="coerce").dropna()
        if len(clips) and clips.min() < MIN_FVD_CLIPS:
            data["caveats"].append(f"FVD from {int(clips.min())}-{int(clips.max())} clips "
                                   f"(fewer than {MIN_FVD_CLIPS}): an indication only")
    return data


def headline_lines(data: dict) -> list[str]:
    """The headline as text: the terminal's lines and headline.md's body."""
    name = f"{data['dataset']} ({data['rate']} rate)"
    if not data["points"]:
        return [f"{name}: " + "; ".join(data["caveats"])]
    lines = [f"{name}: {data['proposed']} at " + ", ".join(_g(p["bpp"]) for p in data["points"])
             + " bpp; per point: its value [95% CI] / best rival with a value on every clip "
             "(difference; clips won)"]
    metrics = list(data["points"][0]["metrics"])
    for metric in metrics:
        arrow = "lower better" if lower_is_better(metric) else "higher better"
        cells = []
        for p in data["points"]:
            c = p["metrics"][metric]
            ci = f" [{_g(c['ci95'][0])}, {_g(c['ci95'][1])}]" if c["ci95"] and \
                c["ci95"][0] is not None else ""
            rival = (f"{c['best_rival']} {_g(c['rival_value'])} ({_g(c['difference_pct'])}%"
                     + (f"; wins {c['wins']}" if c["wins"] else "") + ")") \
                if c["best_rival"] else "no complete rival"
            cells.append(f"{_g(c['value'])}{ci} / {rival}"
                         + (f" [{'; '.join(c['caveats'])}]" if c["caveats"] else ""))
        lines.append(f"  {metric} ({arrow}): " + "; ".join(cells))
    for label, per_metric in data["bd"].items():
        cells = []
        for metric, v in per_metric.items():
            if v.get("bd_rate") is None:
                cells.append(f"{metric} --")
                continue
            ci = v.get("ci95") or [None, None]
            cells.append(f"{metric} {_g(v['bd_rate'])}"
                         + (f" [{_g(ci[0])}, {_g(ci[1])}]" if ci[0] is not None else "")
                         + (f" vs {v['anchor']}" if "strongest" in label else "")
                         + (f", wins {v['wins']}" if v.get("wins") else ""))
        lines.append(f"  BD-rate (%) {label}: " + ", ".join(cells))
    lines += [f"  caveat: {c}" for c in data["caveats"]]
    return lines


def headline(comp: Comparison) -> list[str]:
    """The headline lines of one dataset and rate accounting."""
    return headline_lines(headline_data(comp))


def headline_markdown(datasets: list[dict]) -> str:
    """report/headline.md: every dataset's headline under one title."""
    out = ["# Headline\n",
           "Values at the proposed method's own rate points; the best rival is the entry with "
           "the best value among those with a value on every clip there (rivals not run or "
           "without overlap are named as caveats). Intervals: percentile bootstrap 95% over "
           "sequences. BD-rate < 0: fewer bits for the same quality.\n"]
    for data in datasets:
        lines = headline_lines(data)
        out += [f"\n## {data['dataset']} ({data['rate']} rate)\n", lines[0] + "\n"]
        out += [f"- {line.strip()}" for line in lines[1:]]
    return "\n".join(out) + "\n"
