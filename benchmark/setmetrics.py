"""Set-level metrics computed from the features that jobs recorded: FVD per dataset x method x
rate point over all clips of all sequences. Records whose FVD protocols differ are not pooled."""

from __future__ import annotations

import json
import warnings
from collections import defaultdict

import numpy as np
import pandas as pd

from benchmark.errors import UlvrError
from benchmark.store import STATUS_OK, ResultStore


def fvd_table(store: ResultStore) -> pd.DataFrame:
    """FVD and clip count per dataset, method and rate point (empty if no job recorded FVD)."""
    groups: dict[tuple, dict] = defaultdict(lambda: {"reference": [], "reconstruction": [],
                                                     "protocols": set()})
    for record in store.records():
        feats = record.get("features", {}).get("fvd")
        if record.get("status") != STATUS_OK or not feats:
            continue
        key = (record["dataset"], record["method"], record["rate_point"]["label"])
        proto = dict(record.get("metric_protocols", {}).get("fvd", {}))
        proto.pop("clips", None)
        group = groups[key]
        group["protocols"].add(json.dumps(proto, sort_keys=True))
        group["reference"] += feats["reference"]
        group["reconstruction"] += feats["reconstruction"]
    rows = []
    for (dataset, method, rate_point), group in sorted(groups.items()):
        if len(group["protocols"]) > 1:
            raise UlvrError(f"FVD records of {method}/{rate_point} on {dataset} use different "
                            "protocols (clip length, stride or resize): re-run them alike")
        ref = np.asarray(group["reference"], dtype=np.float64)
        rec = np.asarray(group["reconstruction"], dtype=np.float64)
        with warnings.catch_warnings(record=True) as caught:
            warnings.simplefilter("always")
            from benchmark.metrics.fvd import fvd_from_features

            value, clips = fvd_from_features(ref, rec) if len(ref) >= 2 else (float("nan"),
                                                                                len(ref))
        rows.append({"dataset": dataset, "method": method, "rate_point": rate_point,
                     "fvd": value, "fvd_clips": clips,
                     "fvd_warning": str(caught[0].message) if caught else ""})
    return pd.DataFrame(rows, columns=["dataset", "method", "rate_point", "fvd", "fvd_clips",
                                       "fvd_warning"])
