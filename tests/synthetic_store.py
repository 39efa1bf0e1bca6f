"""Results stores written by hand: records with chosen numbers, so report, BD, matched-rate,
FVD pooling and regression logic can be checked against closed forms in milliseconds."""

from __future__ import annotations

from pathlib import Path

import numpy as np

from benchmark.data.store import ResultStore

SEQUENCES = {"a": 32, "b": 16}   # name -> frames


def record(method: str, sequence: str, label: str, bpp: float, metrics: dict[str, float],
           config: dict | None = None, created: str = "2026-01-01T00:00:00+0000",
           fvd_features: tuple[np.ndarray, np.ndarray] | None = None,
           dataset: str = "toy", status: str = "ok") -> dict:
    """One job record with the fields the harness reads."""
    config = config or {"name": method}
    config_hash = str(abs(hash(repr(sorted(config.items())))) % 10**12)
    rec = {"dataset": dataset, "sequence": sequence, "method": method, "kind": "classical",
           "causal": True, "config_hash": config_hash, "method_config": config,
           "frames": SEQUENCES.get(sequence, 16), "width": 64, "height": 32, "fps": 25.0,
           "bpp": bpp, "kbps": bpp * 64 * 32 * 25 / 1000, "total_bits": 1, "status": status,
           "error": "" if status == "ok" else "boom", "created": created,
           "key": f"{method}-{config_hash}-{sequence}-{label}-{created}",
           "rate_point": {"label": label, "params": {}}, "metrics": metrics,
           "metric_names": ["psnr"], "versions": {"ulvr-bench": "test"}}
    if fvd_features is not None:
        rec["features"] = {"fvd": {"reference": fvd_features[0].tolist(),
                                   "reconstruction": fvd_features[1].tolist()}}
        rec["metric_protocols"] = {"fvd": {"clip_len": 16, "stride": 16,
                                           "clips": len(fvd_features[0])}}
        rec["metric_names"].append("fvd")
    return rec


def write_store(root: Path, records: list[dict]) -> ResultStore:
    """A store holding exactly these records."""
    store = ResultStore(root)
    for i, rec in enumerate(records):
        path = store.path_for(rec["dataset"], rec["method"], rec["sequence"],
                              rec["rate_point"]["label"], f"k{i:04d}")
        store.write(path, rec)
    return store


def curve(method: str, sequence: str, rates: list[float], psnr: list[float],
          **kwargs: object) -> list[dict]:
    """Records of one RD curve (labels p0, p1, ...)."""
    return [record(method, sequence, f"p{i}", r, {"psnr-rgb": p}, **kwargs)
            for i, (r, p) in enumerate(zip(rates, psnr, strict=True))]
