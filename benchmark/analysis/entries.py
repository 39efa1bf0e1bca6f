"""Leaderboard entries: one method in one configuration. Every table, pooled set metric and
regression check groups records by entry, never by method name alone, so two runs of a method
with different options or checkpoints are never averaged together.

An entry is labelled by its method name when the store holds one configuration of that method,
and otherwise by the name plus what differs, e.g. `causal-diffusion [options.steps=1]`. When
one job (dataset, sequence, entry, rate point) has several records, the newest one counts.
"""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass, field

from benchmark.core.pandas_setup import pd

JOB_COLUMNS = ["dataset", "sequence", "entry", "rate_point"]
MAX_VALUE_CHARS = 24


def _flat(config: object, prefix: str = "") -> dict[str, str]:
    """A nested configuration as dotted keys with short printable values."""
    if isinstance(config, dict):
        out: dict[str, str] = {}
        for key, value in config.items():
            out.update(_flat(value, f"{prefix}{key}."))
        return out
    text = str(config)
    return {prefix[:-1]: text if len(text) <= MAX_VALUE_CHARS else text[:MAX_VALUE_CHARS] + "…"}


def entry_labels(configs: dict[str, dict[str, dict]]) -> dict[tuple[str, str], str]:
    """{(method, config_hash): label} from {method: {config_hash: method_config}}."""
    labels = {}
    for method, by_hash in configs.items():
        if len(by_hash) == 1:
            labels[(method, next(iter(by_hash)))] = method
            continue
        flat = {h: _flat(c) for h, c in by_hash.items()}
        keys = sorted({k for f in flat.values() for k in f})
        differing = [k for k in keys if len({f.get(k, "-") for f in flat.values()}) > 1
                     and k != "name"]
        for config_hash, values in flat.items():
            what = ", ".join(f"{k}={values.get(k, '-')}" for k in differing) or config_hash
            labels[(method, config_hash)] = f"{method} [{what}]"
    return labels


@dataclass
class Entries:
    """Records resolved into entries: the newest record per job, and what was set aside."""

    frame: pd.DataFrame
    superseded: list[str] = field(default_factory=list)

    def notes(self) -> list[str]:
        """Lines for report footers: which records were replaced by newer ones."""
        if not self.superseded:
            return []
        head = (f"{len(self.superseded)} older record(s) of a job were superseded by a newer "
                "one (the newest record of a job counts):")
        return [head + "".join(f"\n- {line}" for line in self.superseded)]


def resolve(frame: pd.DataFrame, records: list[dict]) -> Entries:
    """Add an `entry` column (method + configuration) and keep the newest record per job."""
    configs: dict[str, dict[str, dict]] = defaultdict(dict)
    for record in records:
        configs[record.get("method", "")][str(record.get("config_hash"))] = \
            record.get("method_config", {})
    labels = entry_labels(configs)
    frame = frame.copy()
    frame["entry"] = [labels.get((m, str(h)), m) for m, h in
                      zip(frame["method"], frame["config_hash"], strict=True)]
    created = frame["created"] if "created" in frame else pd.Series("", index=frame.index)
    frame = frame.assign(created_at=created.fillna("").astype(str))
    frame = frame.sort_values([*JOB_COLUMNS, "created_at"], kind="stable")
    newest = ~frame.duplicated(JOB_COLUMNS, keep="last")
    superseded = [f"{r.entry} / {r.sequence} / {r.rate_point} ({r.created_at or 'undated'})"
                  for r in frame[~newest].itertuples()]
    kept = frame[newest].drop(columns="created_at").reset_index(drop=True)
    return Entries(kept, superseded)


def proposed_entry(frame: pd.DataFrame, name: str | None = None) -> tuple[str | None, str]:
    """(the proposed entry, why none): `name` if given, else the one entry of kind `proposed`
    that is not another receiver of a method's streams (the teacher, lowres-bicubic)."""
    entries = sorted(set(frame["entry"])) if len(frame) else []
    if name:
        if name not in entries:
            return None, (f"--proposed '{name}' is not among the entries "
                          f"({', '.join(entries) or 'none'})")
        return name, ""
    rows = frame.drop_duplicates("entry")
    receiver = rows["receiver_of"].fillna("").astype(str) if "receiver_of" in rows \
        else pd.Series("", index=rows.index)
    own = sorted(rows[(rows["kind"] == "proposed") & (receiver == "")]["entry"])
    if len(own) == 1:
        return own[0], ""
    if not own:
        return None, "no entry of kind 'proposed' (name one with --proposed)"
    return None, f"several proposed entries ({', '.join(own)}): name one with --proposed"
