"""The one rule for "best" marks, used by every table, the page, the headline and the LaTeX.

A cell (one column of a comparison: a rate point, a target rate, a BD column) marks its best
entry only when the comparison is complete and fair:
- every entry in the cell has a value at full coverage: none is `not run` there (it has no
  record at that rate point) and none is missing for lack of overlap (`k/n` sequences);
- with an anchor (BD tables), the best must be better than the anchor (BD-rate below 0,
  BD-metric on the better side of 0): a value worse than the anchor is never bold;
- a metric used outside its valid range (VMAF near 0 at these rates) gets a caveat, not a
  mark (`benchmark.metrics.table.MetricSpec.valid_range`);
- ties are all marked.
Otherwise the cell marks nothing and says why (`Mark.why`), so readers see the reason.
Across rate points nothing is ever marked: a lower rate is not a worse method.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import dataclass

NOT_RUN, NO_OVERLAP, OK = "not run", "no overlap", "ok"


@dataclass(frozen=True)
class Cell:
    """One entry's value in one cell: its coverage (sequences with a value of those the cell
    needs) and whether the entry was run there at all."""

    value: float
    covered: int = 1
    sequences: int = 1
    run: bool = True
    ci: tuple[float, float] | None = None   # bootstrap 95% interval over sequences (shown only)

    @property
    def status(self) -> str:
        if not self.run:
            return NOT_RUN
        if not math.isfinite(self.value) or self.covered < self.sequences:
            return NO_OVERLAP
        return OK


@dataclass(frozen=True)
class Mark:
    """The entries marked best in a cell (empty: none), and why none is."""

    winners: tuple[str, ...] = ()
    why: str = ""

    def __contains__(self, entry: str) -> bool:
        return entry in self.winners


def _names(entries: list[str]) -> str:
    return ", ".join(entries[:3]) + (f" +{len(entries) - 3}" if len(entries) > 3 else "")


def best_of(cells: Mapping[str, Cell], lower_is_better: bool, beat: float | None = None,
            valid_range: tuple[float, float] | None = None, metric: str = "") -> Mark:
    """The best entries of one cell by the rule above, or none and why."""
    if len(cells) < 2:
        return Mark(why="no rival in this cell")
    not_run = [e for e, c in cells.items() if c.status == NOT_RUN]
    if not_run:
        return Mark(why=f"no mark: {_names(not_run)} not run here")
    short = [e for e, c in cells.items() if c.status == NO_OVERLAP]
    if short:
        return Mark(why=f"no mark: {_names(short)} without a value for every sequence")
    values = {e: c.value for e, c in cells.items()}
    best = min(values.values()) if lower_is_better else max(values.values())
    if beat is not None and not (best < beat if lower_is_better else best > beat):
        return Mark(why="no mark: no entry is better than the anchor")
    if valid_range is not None and not valid_range[0] <= best <= valid_range[1]:
        return Mark(why=f"caveat: {metric or 'the metric'} {best:.3g} lies outside its valid "
                        f"range {valid_range[0]:g}-{valid_range[1]:g}, so no mark")
    return Mark(tuple(e for e, v in values.items() if v == best))


def best_in(cells: Mapping[str, Cell], metric: str) -> Mark:
    """best_of for values of one metric output: its direction and valid range from the metric
    table."""
    from benchmark.metrics.table import output_spec

    spec = output_spec(metric)
    return best_of(cells, spec.lower_is_better, valid_range=spec.valid_range, metric=metric)
