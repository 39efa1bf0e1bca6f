"""The notes under a report's tables: what each table pools, which isolation the decoders ran
under, and the provenance of the records."""

from __future__ import annotations

from benchmark.analysis.entries import Entries
from benchmark.analysis.rd import protocol_key
from benchmark.core.pandas_setup import pd
from benchmark.data.store import STATUS_OK


def _notes(table: pd.DataFrame, records: pd.DataFrame, store_records: list[dict],
           entries: Entries, rate: str) -> list[str]:
    notes = ["Frame-weighted means over sequences; `jobs` = succeeded/sequences; a row with a "
             "missing or failed job shows NaN (--). Rows are method configurations: a method "
             "run with different options or checkpoints appears once per configuration, "
             "labelled by what differs. Rate: "
             + ("payload (parameter sets sent out of band are not counted)"
                if rate == "payload" else "total (every bit of every stream)") + "."]
    failed = records[records["status"] != STATUS_OK]
    notes += [f"Failed: {r.entry} / {r.sequence} / {r.rate_point}: {r.error}"
              for r in failed.itertuples()]
    notes += entries.notes()
    if "fvd_note" in table.columns:
        notes += sorted({f"FVD {r.method} / {r.rate_point}: {r.fvd_note}"
                         for r in table.itertuples() if isinstance(r.fvd_note, str)
                         and r.fvd_note})
    notes += isolation_notes(store_records) + tamper_notes(store_records)
    notes.append(provenance_note(store_records))
    return notes


def tamper_notes(records: list[dict]) -> list[str]:
    """Records changed after the runner wrote them (digest mismatch): flagged by name."""
    changed = sorted({f"{r.get('method')} / {r.get('sequence')} / "
                      f"{(r.get('rate_point') or {}).get('label')}"
                      for r in records if r.get("tampered")})
    if not changed:
        return []
    return [f"CHANGED AFTER WRITING (digest mismatch, not the harness's numbers): "
            f"{', '.join(changed)}; re-run them with 'ulvr run --force'."]


def isolation_notes(records: list[dict]) -> list[str]:
    """Where decoders were not isolated: `--isolation none` (flagged: nothing guarantees those
    decoders used only their counted bits), external results (no decoder here), and records
    made before isolation existed."""
    by_mode: dict[str, set[str]] = {}
    for record in records:
        if record.get("status") != STATUS_OK:
            continue
        by_mode.setdefault(record.get("isolation", "unrecorded"), set()).add(record["method"])
    notes = []
    if "none" in by_mode:
        notes.append("NOT ISOLATED (--isolation none): " + ", ".join(sorted(by_mode["none"]))
                     + " decoded in the encoder's process; nothing guarantees that these "
                     "decoders used only the bits they were charged for.")
    if "none (no decoder)" in by_mode:
        notes.append("No decoder run here (published frames, declared bits): "
                     + ", ".join(sorted(by_mode["none (no decoder)"])) + ".")
    if "unrecorded" in by_mode:
        notes.append("Isolation not recorded (records made before decoders were isolated): "
                     + ", ".join(sorted(by_mode["unrecorded"])) + ".")
    return notes


def provenance(records: list[dict]) -> dict:
    """Versions (harness, commit, ffmpeg, encoders, weights) and metric protocols behind a set
    of records: every table and page states them."""
    versions: dict[str, set] = {}
    protocols: dict[str, set] = {}
    for record in records:
        for key, value in record.get("versions", {}).items():
            versions.setdefault(key, set()).add(str(value))
        for name, proto in record.get("metric_protocols", {}).items():
            protocols.setdefault(name, set()).add(
                ", ".join(f"{k}={v}" for k, v in sorted(proto.items()) if k != "clips"))
    return {"versions": {k: sorted(v) for k, v in sorted(versions.items())},
            "protocols": {k: sorted(v) for k, v in sorted(protocols.items())}}


def provenance_note(records: list[dict]) -> str:
    """Provenance as text lines for table footers."""
    prov = provenance(records)
    lines = ["Provenance:"]
    lines += [f"- {k}: {'; '.join(v)}" for k, v in prov["versions"].items()]
    kinds: dict[str, set[str]] = {}
    for record in records:
        for name, proto in record.get("metric_protocols", {}).items():
            kinds.setdefault(name, set()).add(protocol_key(name, proto))
    for name, distinct in prov["protocols"].items():
        pooled = len(kinds.get(name, ()))
        tag = (f" ({pooled} distinct protocols pooled)" if pooled > 1 else
               " (one protocol; entries that describe each record's input differ)"
               if len(distinct) > 1 else "")
        lines += [f"- protocol {name}{tag}: {v}" for v in distinct]
    return "\n".join(lines)
