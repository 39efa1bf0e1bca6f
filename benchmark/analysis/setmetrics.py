"""Set-level metrics from the features jobs recorded: FVD and KVD per dataset x entry x rate
point over all clips of all sequences, pooled at report time (so the value never depends on how
many workers ran). Pools mix neither configurations (entries) nor FVD protocols, and a rate
point missing a sequence gets NaN, as in the RD table. Every value carries its clip count, and
values from fewer than `min_clips` clips are flagged as unreliable.
"""

from __future__ import annotations

import json
from collections import defaultdict

import numpy as np

from benchmark.core.errors import UlvrError
from benchmark.core.pandas_setup import pd
from benchmark.data.store import STATUS_OK
from benchmark.metrics.distances import frechet_distance, kernel_distance

DEFAULT_MIN_CLIPS = 64
COLUMNS = ["dataset", "method", "rate_point", "fvd", "kvd", "fvd_clips", "fvd_note"]


def _pools(records: dict[str, dict], kept: pd.DataFrame) -> dict[tuple, dict]:
    """Reference and reconstruction features per (dataset, entry, rate point)."""
    pools: dict[tuple, dict] = defaultdict(lambda: {"reference": [], "reconstruction": [],
                                                    "protocols": set(), "sequences": set()})
    for row in kept.itertuples():
        record = records.get(row.path, {})
        feats = record.get("features", {}).get("fvd")
        if row.status != STATUS_OK or not feats:
            continue
        proto = dict(record.get("metric_protocols", {}).get("fvd", {}))
        proto.pop("clips", None)
        pool = pools[(row.dataset, row.entry, row.rate_point)]
        pool["protocols"].add(json.dumps(proto, sort_keys=True))
        pool["sequences"].add(row.sequence)
        pool["reference"] += feats["reference"]
        pool["reconstruction"] += feats["reconstruction"]
    return pools


def fvd_table(records: list[dict], kept: pd.DataFrame,
              min_clips: int = DEFAULT_MIN_CLIPS) -> pd.DataFrame:
    """FVD, KVD and clip count per dataset, entry (column `method`) and rate point.

    `kept` is the resolved per-job frame (benchmark.analysis.entries.resolve) and `records` the
    store's
    records; only the records `kept` names are pooled.
    """
    by_path = {r.get("_path"): r for r in records}
    expected = kept.groupby("dataset")["sequence"].nunique().to_dict()
    rows = []
    for (dataset, entry, rate_point), pool in sorted(_pools(by_path, kept).items()):
        if len(pool["protocols"]) > 1:
            raise UlvrError(f"FVD records of {entry}/{rate_point} on {dataset} use different "
                            "protocols (clip length, stride or resize): re-run them alike")
        ref = np.asarray(pool["reference"], dtype=np.float64)
        rec = np.asarray(pool["reconstruction"], dtype=np.float64)
        clips = min(len(ref), len(rec))
        missing = expected[dataset] - len(pool["sequences"])
        if missing:
            fvd = kvd = float("nan")
            note = f"{missing} sequence(s) without FVD features: not pooled"
        elif clips < 2:
            fvd = kvd = float("nan")
            note = f"{clips} clip(s): FVD/KVD need at least 2"
        else:
            fvd = frechet_distance(ref, rec)
            kvd = kernel_distance(ref, rec)
            note = (f"unreliable: {clips} clips < {min_clips} (FVD covariance rank <= "
                    f"{clips - 1}); compare KVD" if clips < min_clips else "")
        rows.append({"dataset": dataset, "method": entry, "rate_point": rate_point, "fvd": fvd,
                     "kvd": kvd, "fvd_clips": clips, "fvd_note": note})
    return pd.DataFrame(rows, columns=COLUMNS)
