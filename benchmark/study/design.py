"""Which pairs a study shows: conditions (one reconstruction each) at matched rate, grouped by
dataset, sequence and rate band, and the pairs drawn from each group."""

from __future__ import annotations

import hashlib
import itertools
import math
from dataclasses import asdict, dataclass

from benchmark.core.pandas_setup import pd
from benchmark.data.store import STATUS_OK

BAND_FACTOR = 2 ** 0.5   # a condition belongs to band t when its bpp is within t/f .. t*f
DESIGNS = ("all", "active")


@dataclass(frozen=True)
class Condition:
    """One reconstruction shown in the study: a job's record."""

    method: str
    rate_point: str
    key: str
    bpp: float

    @property
    def name(self) -> str:
        return f"{self.method}@{self.rate_point}"


@dataclass(frozen=True)
class Pair:
    """Two conditions of one sequence in one rate band (or an attention check)."""

    dataset: str
    sequence: str
    band: float
    a: Condition
    b: Condition
    attention: bool = False

    @property
    def pair_id(self) -> str:
        text = f"{self.dataset}/{self.sequence}/{self.band:g}/{self.a.key}/{self.b.key}"
        return hashlib.sha256(text.encode()).hexdigest()[:12]

    def to_dict(self) -> dict:
        return {"id": self.pair_id, **asdict(self)}


def matched_groups(frame: pd.DataFrame, targets: list[float]
                   ) -> dict[tuple[str, str, float], list[Condition]]:
    """Per (dataset, sequence, target bpp): each method's record nearest the target in log-bpp
    among those within the band; groups with fewer than two methods are dropped."""
    ok = frame[frame["status"] == STATUS_OK]
    groups = {}
    for (dataset, sequence), rows in ok.groupby(["dataset", "sequence"]):
        for target in targets:
            low, high = target / BAND_FACTOR, target * BAND_FACTOR
            inside = rows[(rows["bpp"] >= low) & (rows["bpp"] <= high)]
            chosen = []
            for method, cands in inside.groupby("method"):
                distance = (cands["bpp"].map(math.log) - math.log(target)).abs()
                best = cands.iloc[int(distance.to_numpy().argmin())]
                chosen.append(Condition(method, best["rate_point"], best["key"],
                                        float(best["bpp"])))
            if len(chosen) >= 2:
                groups[(dataset, sequence, target)] = sorted(chosen, key=lambda c: c.method)
    return groups


def all_pairs(groups: dict[tuple[str, str, float], list[Condition]]) -> list[Pair]:
    """Every pair of conditions within every group."""
    return [Pair(d, s, t, a, b) for (d, s, t), conds in groups.items()
            for a, b in itertools.combinations(conds, 2)]


def uncertainty(pair: Pair, scores: dict[str, float], counts: dict[str, int]) -> float:
    """How much a new vote on the pair is expected to tell: the Bradley-Terry outcome variance
    p(1-p) of the current scores, shared among the votes it already has (ASAP-like)."""
    p = 1.0 / (1.0 + math.exp(scores.get(pair.b.name, 0.0) - scores.get(pair.a.name, 0.0)))
    return p * (1 - p) / (1 + counts.get(pair.pair_id, 0))


def active_pairs(groups: dict[tuple[str, str, float], list[Condition]], budget: int,
                 scores: dict[str, float] | None = None,
                 counts: dict[str, int] | None = None) -> list[Pair]:
    """The `budget` most informative pairs under the current scores and vote counts (with no
    votes yet: every pair is equally uncertain, and the first `budget` in a stable order)."""
    pairs = all_pairs(groups)
    ranked = sorted(pairs, key=lambda p: (-uncertainty(p, scores or {}, counts or {}),
                                          p.pair_id))
    return ranked[:budget]
