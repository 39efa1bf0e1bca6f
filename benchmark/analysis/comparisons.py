"""Every comparison of one dataset under one rate accounting, computed once: the RD table with
its off-front marks, BD against each anchor on fronts, quality at fixed targets and at the
proposed method's own rates. The report's files, the leaderboard page and the headline summary
all read these numbers, so they cannot disagree.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from benchmark.analysis import matched
from benchmark.analysis.bdrate import bd_cells, bd_table, summarise_cells
from benchmark.analysis.entries import proposed_entry
from benchmark.analysis.fronts import DEFAULT_FRONT, dominated_label
from benchmark.core.errors import UlvrError
from benchmark.core.pandas_setup import pd
from benchmark.data.store import STATUS_OK
from benchmark.metrics.table import METRICS, table_outputs

SET_OUTPUTS = tuple(out for spec in METRICS.values() if spec.set_level for out in spec.shown)
DEFAULT_ANCHORS = ("x265", "lowres-bicubic")
REFERENCE_CODEC = "x265"   # the classical codec the strongest one is chosen against
STRONGEST = "strongest classical"   # the BD anchor chosen from the data, per metric


@dataclass(frozen=True)
class Options:
    """How curves are compared (the `ulvr report` flags of the same names)."""

    anchors: tuple[str, ...] = DEFAULT_ANCHORS
    front: str = DEFAULT_FRONT
    bd_method: str = "pchip"
    bd_mode: str = "per-sequence"
    min_overlap: float = 0.5
    bd_range: tuple[float, float] | None = None
    targets: tuple[float, ...] = matched.DEFAULT_TARGETS
    proposed: str | None = None
    x_axis: str = "bpp"
    digits: int = 3   # significant figures of the paper-ready LaTeX tables


@dataclass
class Comparison:
    """One dataset's comparisons under one rate accounting (`rate`: total or payload)."""

    dataset: str
    rate: str
    options: Options
    rd: pd.DataFrame                 # RD table rows, with `off front`
    present: list[str]               # metric outputs with a value, in the table's order
    proposed: str | None
    proposed_note: str               # why there is no proposed entry
    bd: dict[str, pd.DataFrame] = field(default_factory=dict)       # anchor -> BD table
    bd_sequences: dict[str, pd.DataFrame] = field(default_factory=dict)  # anchor -> cells
    bd_missing: dict[str, str] = field(default_factory=dict)        # anchor -> why no table
    fixed: pd.DataFrame | None = None            # fixed targets, dataset level (long)
    fixed_sequences: pd.DataFrame | None = None  # fixed targets, per sequence (long)
    at_proposed: pd.DataFrame | None = None      # matched.PROPOSED_COLUMNS
    # per metric, the classical codec with the lowest BD-rate against x265 and that BD-rate
    strongest: dict[str, tuple[str, float]] = field(default_factory=dict)

    @property
    def seq_metrics(self) -> list[str]:
        return [m for m in self.present if m not in SET_OUTPUTS]

    @property
    def set_metrics(self) -> list[str]:
        return [m for m in self.present if m in SET_OUTPUTS]


def present_outputs(rd: pd.DataFrame) -> list[str]:
    """The metric outputs an RD table has a value for, in the metric table's order."""
    return [m for m in table_outputs() if m in rd.columns and rd[m].notna().any()]


def bd_against(frame: pd.DataFrame, rd: pd.DataFrame, anchor: str, present: list[str],
               options: Options) -> tuple[pd.DataFrame, pd.DataFrame, str]:
    """(BD table, per-sequence cells, why empty) of one dataset against one anchor."""
    entries = sorted(set(rd["method"])) if len(rd) else []
    if anchor not in entries:
        return pd.DataFrame(), pd.DataFrame(), (
            f"anchor '{anchor}' has no results here (entries: {', '.join(entries) or 'none'}); "
            "choose one with --anchor")
    if len(entries) < 2:
        return pd.DataFrame(), pd.DataFrame(), "no other entry to compare with the anchor"
    args = dict(rate_col=options.x_axis, method=options.bd_method,
                min_overlap=options.min_overlap, front=options.front,
                bd_range=options.bd_range)
    if options.bd_mode == "per-sequence":
        metrics = [m for m in present if m not in SET_OUTPUTS]   # set metrics have no per-seq
        cells = bd_cells(frame[frame["status"] == STATUS_OK], anchor, metrics, **args)
        table = summarise_cells(cells, anchor, metrics, options.bd_mode, options.front,
                                options.x_axis)
    else:
        cells = pd.DataFrame()
        table = bd_table(rd.rename(columns={"method": "entry"}), anchor, present,
                         mode=options.bd_mode, **args)
    return table, cells, "" if len(table) else "no entry has results beside the anchor"


def strongest_classical(frame: pd.DataFrame, bd_reference: pd.DataFrame, metrics: list[str]
                        ) -> dict[str, tuple[str, float]]:
    """Per metric, the classical codec of the run with the lowest BD-rate against x265 (x265
    itself, at 0, when none beats it), from the BD table against x265."""
    classical = set(frame[frame["kind"] == "classical"]["entry"]) if "kind" in frame else set()
    if REFERENCE_CODEC not in classical:
        return {}
    out = {}
    for metric in metrics:
        column = f"BD-rate {metric} (%)"
        best = (REFERENCE_CODEC, 0.0)
        if column in bd_reference:
            for name, value in zip(bd_reference["method"], bd_reference[column], strict=True):
                if name in classical and pd.notna(value) and value < best[1]:
                    best = (name, float(value))
        out[metric] = best
    return out


def strongest_table(comp: Comparison) -> pd.DataFrame:
    """The BD table against the strongest classical codec, each metric's columns against that
    metric's strongest codec (named in the `anchor <metric>` column)."""
    parts = []
    for metric, (codec, _) in comp.strongest.items():
        table = comp.bd.get(codec)
        if table is None or table.empty:
            continue
        keep = [c for c in table.columns if c.startswith((f"BD-rate {metric} ", f"BD-{metric} "))
                or c == f"BD-{metric}"]
        parts.append(table[["method", *keep]].assign(**{f"anchor {metric}": codec})
                     .set_index("method"))
    if not parts:
        return pd.DataFrame()
    out = pd.concat(parts, axis=1).reset_index()
    notes = [c for c in out.columns if c.endswith(" why --")]
    out["note"] = out[notes].fillna("").apply(lambda r: "; ".join(v for v in r if v), axis=1)
    return out


def compare(frame: pd.DataFrame, rd: pd.DataFrame, dataset: str, rate: str,
            options: Options) -> Comparison:
    """All comparisons of one dataset: `frame` its per-sequence records (one rate accounting),
    `rd` its RD table (`report.rd_table`)."""
    return complete(frame, start(frame, rd, dataset, rate, options))


def start(frame: pd.DataFrame, rd: pd.DataFrame, dataset: str, rate: str,
          options: Options) -> Comparison:
    """A comparison's RD rows, outputs and proposed entry: all an RD figure needs, so a report
    can start drawing while `complete` computes the BD and matched tables."""
    present = present_outputs(rd)
    rd = rd.assign(**{"off front": dominated_label(rd, present, options.front,
                                                   options.x_axis)}) if len(rd) else rd
    ok = frame[frame["status"] == STATUS_OK]
    proposed, why = proposed_entry(ok, options.proposed) if len(ok) else (None, "no results")
    return Comparison(dataset, rate, options, rd, present, proposed, why)


def complete(frame: pd.DataFrame, result: Comparison) -> Comparison:
    """`result` (from `start`) with its BD tables, fixed targets and proposed-rate rows."""
    rd, present, options, dataset = result.rd, result.present, result.options, result.dataset
    ok = frame[frame["status"] == STATUS_OK]
    proposed = result.proposed

    def against(anchor: str, metrics: list[str] = present) -> None:
        try:
            table, cells, missing = bd_against(frame, rd, anchor, metrics, options)
        except UlvrError as exc:
            table, cells, missing = pd.DataFrame(), pd.DataFrame(), str(exc)
        result.bd[anchor], result.bd_sequences[anchor] = table, cells
        if missing:
            result.bd_missing[anchor] = missing

    for anchor in options.anchors:
        against(anchor)
    if REFERENCE_CODEC in result.bd and len(result.bd[REFERENCE_CODEC]):
        result.strongest = strongest_classical(frame, result.bd[REFERENCE_CODEC],
                                               [m for m in present if m not in SET_OUTPUTS])
        for codec in sorted({c for c, _ in result.strongest.values()} - set(result.bd)):
            against(codec, [m for m, (c, _) in result.strongest.items() if c == codec])
    seq_metrics = [m for m in present if m not in SET_OUTPUTS]
    per_seq = matched.per_sequence(ok, seq_metrics, options.targets, front=options.front)
    result.fixed_sequences = per_seq
    result.fixed = pd.concat([
        matched.dataset_level(per_seq, {dataset: frame["sequence"].nunique()}),
        matched.set_level(rd, [m for m in present if m in SET_OUTPUTS], options.targets,
                          options.front)], ignore_index=True)
    if proposed:
        result.at_proposed = matched.at_proposed(
            ok, rd, proposed, seq_metrics, [m for m in present if m in SET_OUTPUTS],
            options.front)
    return result
