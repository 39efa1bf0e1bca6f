"""Regression checks: compare candidate results with stored reference results per dataset,
sequence, method and rate point, and set metrics (FVD, KVD) per dataset, method and rate point;
anything worse beyond its tolerance is a regression.

Default tolerances come from the metric table (absolute in the metric's units, direction-aware;
FVD/KVD relative); `bpp` is relative (0.01 = 1% more bits). A reference job with no successful
candidate counts too, unless the comparison is restricted to the candidate's jobs (`--subset`,
for a thinned run) or to one method (`--method`). Each store must hold one configuration per
method (the candidate may be another configuration than the reference: that is what a new
checkpoint is); within it, the newest record of a job counts.
"""

from __future__ import annotations

import fnmatch
import json
import math
from pathlib import Path

from benchmark.analysis.entries import resolve
from benchmark.analysis.setmetrics import fvd_table
from benchmark.core.errors import UlvrError
from benchmark.core.pandas_setup import pd
from benchmark.data.store import STATUS_OK, ResultStore
from benchmark.metrics.table import METRIC_TABLE, lower_is_better

KEYS = ["dataset", "sequence", "method", "rate_point"]
SET_KEYS = ["dataset", "method", "rate_point"]
BPP_TOLERANCE = 0.01


def default_tolerances() -> dict[str, tuple[float, bool]]:
    """{output: (tolerance, relative)} for every output of the metric table, plus bpp."""
    out = {"bpp": (BPP_TOLERANCE, True)}
    for spec in METRIC_TABLE:
        out.update({o: (spec.tolerance, spec.relative_tolerance) for o in spec.outputs})
    return out


def parse_tolerances(items: list[str]) -> dict[str, tuple[float, bool]]:
    """METRIC=VALUE strings (METRIC may be a glob like 'psnr-*') on top of the defaults; a
    value keeps the default's kind (absolute or relative)."""
    out = default_tolerances()
    for item in items:
        name, _, value = item.partition("=")
        try:
            number = float(value)
        except ValueError as exc:
            raise UlvrError(f"bad tolerance '{item}': write METRIC=VALUE, e.g. psnr-rgb=0.1") \
                from exc
        matches = [k for k in out if fnmatch.fnmatch(k, name.strip())]
        if not matches:
            raise UlvrError(f"bad tolerance '{item}': no metric output is named "
                            f"'{name.strip()}' ('ulvr list metrics' shows them)")
        out.update({k: (number, out[k][1]) for k in matches})
    return out


def _one_config(store: ResultStore, who: str) -> tuple[pd.DataFrame, list[dict]]:
    """A store's successful jobs (newest record each), refusing two configurations of one
    method with one line that names both."""
    records = list(store.records())
    entries = resolve(store.dataframe(records=records), records).frame
    for method, part in entries.groupby("method"):
        labels = sorted(set(part["entry"]))
        if len(labels) > 1:
            raise UlvrError(f"the {who} results hold {len(labels)} configurations of "
                            f"'{method}' ({' vs '.join(labels)}): compare one, e.g. a store "
                            "per configuration")
    return entries[entries["status"] == STATUS_OK], records


def _verdict(metric: str, a: float, b: float, tol: tuple[float, bool]) -> tuple[bool, str]:
    """(worse, why) for one value against the reference."""
    if pd.isna(b):
        return True, "no value in candidate"
    limit = tol[0] * abs(a) if tol[1] else tol[0]
    if metric == "bpp":
        return b > a + limit, "more bits"
    if lower_is_better(metric):
        return b > a + limit, "higher (worse)"
    return b < a - limit, "lower (worse)"


def _compare_rows(ref: pd.DataFrame, cand: pd.DataFrame, keys: list[str], metrics: list[str],
                  tolerances: dict[str, tuple[float, bool]]) -> list[dict]:
    merged = ref.merge(cand, on=keys, how="left", suffixes=("_ref", "_cand"), indicator=True)
    rows = []
    for rec in merged.to_dict("records"):
        key = {k: rec.get(k, "(all)") for k in KEYS}
        if rec["_merge"] == "left_only":
            rows.append({**key, "metric": "(job)", "reference": None, "candidate": None,
                         "delta": None, "tolerance": None, "regression": True,
                         "why": "missing or failed in candidate"})
            continue
        for metric in metrics:
            a, b = rec.get(f"{metric}_ref"), rec.get(f"{metric}_cand")
            if a is None or pd.isna(a):
                continue
            worse, why = _verdict(metric, a, b, tolerances[metric])
            rows.append({**key, "metric": metric, "reference": a, "candidate": b,
                         "delta": None if pd.isna(b) else b - a,
                         "tolerance": tolerances[metric][0], "regression": bool(worse),
                         "why": why if worse else ""})
    return rows


def tampered_rows(records: list[dict], who: str) -> list[dict]:
    """A regression row per record changed after it was written (its digest does not match):
    its numbers are not the harness's."""
    return [{"dataset": r.get("dataset"), "sequence": r.get("sequence"),
             "method": r.get("method"), "rate_point": (r.get("rate_point") or {}).get("label"),
             "metric": "(record)", "reference": None, "candidate": None, "delta": None,
             "tolerance": None, "regression": True,
             "why": f"{who} record changed after it was written (digest mismatch)"}
            for r in records if r.get("tampered")]


def compare(reference: ResultStore, candidate: ResultStore,
            tolerances: dict[str, tuple[float, bool]], methods: list[str] | None = None,
            subset: bool = False) -> pd.DataFrame:
    """One row per (job or set, metric) compared, with the verdict in 'regression'.

    `methods`: compare only these methods' reference jobs (a candidate run of one method).
    `subset`: compare only the reference jobs the candidate has a record of, failed or not (a
    thinned run such as `make demo` against the full reference); otherwise every reference job
    must be in the candidate."""
    ref, ref_records = _one_config(reference, "reference")
    cand, cand_records = _one_config(candidate, "candidate")
    if methods is not None:
        ref = ref[ref["method"].isin(methods)]
    if subset:
        held = {(r.get("dataset"), r.get("sequence"), r.get("method"),
                 (r.get("rate_point") or {}).get("label")) for r in cand_records}
        ref = ref[[tuple(k) in held for k in ref[KEYS].itertuples(index=False)]]
    per_job = [m for m in tolerances if m in ref.columns and m in cand.columns]
    rows = _compare_rows(ref, cand, KEYS, per_job, tolerances) + \
        tampered_rows(ref_records, "reference") + tampered_rows(cand_records, "candidate")
    ref_set = fvd_table(ref_records, ref.assign(entry=ref["method"]))
    if len(ref_set):
        # pool the candidate over the reference's sequences only: the same clips on both sides
        same = pd.MultiIndex.from_frame(cand[["dataset", "sequence"]]).isin(
            pd.MultiIndex.from_frame(ref[["dataset", "sequence"]]))
        cand_set = fvd_table(cand_records, cand[same].assign(entry=cand["method"]))
        set_metrics = [m for m in ("fvd", "kvd") if m in tolerances]
        rows += _compare_rows(ref_set, cand_set, SET_KEYS, set_metrics, tolerances)
    return pd.DataFrame(rows)


NULL_MEANS = ("null: no value (a failed or missing job, or a metric without a value there); "
              "each row's 'why' says which")


def strict(value: object) -> object:
    """A value strict JSON can hold: NaN and infinities become None (null), numpy scalars
    Python ones, recursively."""
    if isinstance(value, dict):
        return {str(k): strict(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [strict(v) for v in value]
    if hasattr(value, "item") and not isinstance(value, str):
        value = value.item()
    if isinstance(value, float) and not math.isfinite(value):
        return None
    return value


def write_verdict(result: pd.DataFrame, path: Path) -> dict:
    """JSON verdict for CI: counts, every regression and every comparison, in strict JSON
    (no NaN: null, with the reason in each row's 'why')."""
    bad = result[result["regression"]] if len(result) else result
    verdict = strict({"verdict": "FAIL" if len(bad) else "PASS", "regressions": len(bad),
                      "compared": len(result), "passed": len(bad) == 0, "null_means": NULL_MEANS,
                      "details": bad.to_dict("records"),
                      "comparisons": result.to_dict("records")})
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(verdict, indent=1, allow_nan=False))
    return verdict


def write_interrupted(path: Path, reason: str) -> dict:
    """The verdict of a comparison that did not finish: neither PASS nor FAIL."""
    verdict = {"verdict": "INTERRUPTED", "passed": False, "reason": reason}
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(verdict, indent=1, allow_nan=False))
    return verdict


def write_junit(result: pd.DataFrame, path: Path) -> Path:
    """The comparisons as JUnit XML for CI systems: a test suite per method, a test case per
    job (or FVD set) and metric, failed when it regressed, with the reason."""
    from xml.etree import ElementTree as ET

    root = ET.Element("testsuites", name="ulvr regress", tests=str(len(result)),
                      failures=str(int(result["regression"].sum()) if len(result) else 0))
    for method, part in (result.groupby("method", sort=True) if len(result) else []):
        suite = ET.SubElement(root, "testsuite", name=str(method), tests=str(len(part)),
                              failures=str(int(part["regression"].sum())))
        for row in part.to_dict("records"):
            where = "/".join(str(row.get(k) or "(all)") for k in ("dataset", "sequence",
                                                                 "rate_point"))
            case = ET.SubElement(suite, "testcase", classname=f"{method}.{where}",
                                 name=str(row["metric"]))
            if row["regression"]:
                values = strict({k: row.get(k) for k in ("reference", "candidate",
                                                         "tolerance")})
                failure = ET.SubElement(case, "failure", message=str(row["why"]))
                failure.text = ", ".join(f"{k}={v}" for k, v in values.items())
    path.parent.mkdir(parents=True, exist_ok=True)
    ET.ElementTree(root).write(path, encoding="utf-8", xml_declaration=True)
    return path
