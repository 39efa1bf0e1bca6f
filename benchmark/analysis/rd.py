"""RD numbers: one row per (sequence, method, rate point) with its rate and every table output, at
total or payload rate; the entries a report compares, loaded once from a store."""

from __future__ import annotations

from collections import defaultdict

from benchmark.analysis.comparisons import (
    SET_OUTPUTS,
)
from benchmark.analysis.entries import Entries, resolve
from benchmark.core.errors import UlvrError
from benchmark.core.pandas_setup import pd
from benchmark.data.store import STATUS_OK, ResultStore
from benchmark.metrics.table import METRICS, lower_is_better, table_outputs

RATE_COLUMNS = ("bpp", "kbps")


def best_direction(output: str) -> str:
    """'min' or 'max': which value of a metric output is best (from the metric table)."""
    return "min" if lower_is_better(output) else "max"


def rd_table(frame: pd.DataFrame, set_metrics: pd.DataFrame | None = None) -> pd.DataFrame:
    """Frame-weighted means per dataset, entry (column `method`) and rate point, with job
    counts; set-level metrics (FVD, KVD) joined on the same keys."""
    metric_cols = [c for c in table_outputs() if c in frame.columns and c not in SET_OUTPUTS]
    rows = []
    for dataset, part in frame.groupby("dataset", sort=False):
        expected = part["sequence"].nunique()
        for (entry, rp), grp in part.groupby(["entry", "rate_point"], sort=False):
            ok = grp[grp["status"] == STATUS_OK]
            complete = ok["sequence"].nunique() == expected
            row = {"dataset": dataset, "method": entry, "rate_point": rp,
                   "jobs": f"{len(ok)}/{expected}"}
            weights = ok["frames"].astype(float)
            for col in (*RATE_COLUMNS, *metric_cols):
                vals = ok[col].astype(float) if col in ok else pd.Series(dtype=float)
                row[col] = float((vals * weights).sum() / weights.sum()) \
                    if complete and len(ok) and vals.notna().all() else float("nan")
            rows.append(row)
    table = pd.DataFrame(rows)
    if set_metrics is not None and len(set_metrics):
        table = table.merge(set_metrics, on=["dataset", "method", "rate_point"], how="left")
    return table.sort_values(["dataset", "method", "bpp"]).reset_index(drop=True)


RATES = ("total", "payload")


def with_rate(frame: pd.DataFrame, rate: str) -> pd.DataFrame:
    """The frame with `bpp`/`kbps` counting all bits ("total") or all but parameter sets sent
    out of band ("payload"); records without such streams have payload = total."""
    if rate not in RATES:
        raise UlvrError(f"unknown rate '{rate}': use one of {', '.join(RATES)}")
    if rate == "total" or "bpp_payload" not in frame:
        return frame
    return frame.assign(bpp=frame["bpp_payload"].fillna(frame["bpp"]),
                        kbps=frame["kbps_payload"].fillna(frame["kbps"]))


def load_entries(store: ResultStore, force: bool = False) -> tuple[Entries, list[dict]]:
    """The store's records resolved into entries (newest record per job), refusing to mix
    harness versions unless forced."""
    records = list(store.records())
    frame = store.dataframe(records=records)
    versions = sorted(set(frame["ulvr_version"].dropna()))
    if len(versions) > 1 and not force:
        raise UlvrError(f"'{store.root}' mixes results of harness versions {', '.join(versions)}:"
                        " re-run them with one version, or pass --force to report them together")
    if not force:
        check_pooled_protocols(records)
    return resolve(frame, records), records


def protocol_key(name: str, protocol: dict) -> str:
    """What must be equal for values of metric `name` to share a column: its protocol without
    the clip count and the entries that describe one record's input (the table's record_keys)."""
    ignored = {"clips", *(METRICS[name].record_keys if name in METRICS else ())}
    return ", ".join(f"{k}={v}" for k, v in sorted(protocol.items()) if k not in ignored)


def check_pooled_protocols(records: list[dict]) -> None:
    """Refuse to pool values of one metric computed under different protocols into one column
    (e.g. DISTS at full size and resized to 256): per dataset, every ok record of a metric must
    share its protocol, apart from the entries that describe one record's input."""
    seen: dict[tuple[str, str], dict[str, int]] = defaultdict(lambda: defaultdict(int))
    for record in records:
        if record.get("status") != STATUS_OK:
            continue
        for name, protocol in record.get("metric_protocols", {}).items():
            seen[(record.get("dataset", ""), name)][protocol_key(name, protocol)] += 1
    for (dataset, name), texts in sorted(seen.items()):
        if len(texts) > 1:
            counts = "; ".join(f"{n} record(s) with {text}" for text, n in sorted(texts.items()))
            raise UlvrError(f"metric '{name}' on dataset '{dataset}' was computed under "
                            f"{len(texts)} protocols, which one column must not pool ({counts}):"
                            " re-run the older jobs (ulvr run ... --force), report the stores "
                            "apart, or pass --force to report them together anyway")
