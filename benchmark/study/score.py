"""`ulvr study score`: Bradley-Terry scores per dataset and rate band from the vote log.

Observers who preferred the degraded video in any attention check are left out. A vote for one
side is a win of its method over the other; "no preference" counts as one win each way. Scores
are choix's regularised maximum-likelihood log-strengths (ILSR), centred per group.
"""

from __future__ import annotations

import json
from collections import Counter, defaultdict
from pathlib import Path

import pandas as pd

from benchmark.errors import UlvrError
from benchmark.study.server import Study
from benchmark.tables import to_markdown

ALPHA = 0.01   # choix's L2 regularisation: keeps a method that never lost finite


def load_votes(study: Study) -> list[dict]:
    if not study.votes.exists():
        raise UlvrError(f"no votes yet in '{study.votes}': run 'ulvr study serve' first")
    return [json.loads(line) for line in study.votes.read_text().splitlines() if line.strip()]


def inattentive(study: Study, votes: list[dict]) -> set[str]:
    """Observers who preferred the degraded video (or had no preference) in an attention check."""
    failed = set()
    for vote in votes:
        pair = study.pairs[vote["pair"]]
        if pair["attention"]:
            chosen = vote[vote["answer"]] if vote["answer"] in ("left", "right") else None
            if chosen != pair["a"]["key"]:   # a: the reference
                failed.add(vote["observer"])
    return failed


def score_study(folder: str, alpha: float = ALPHA) -> pd.DataFrame:
    """One row per dataset x band x method: score, wins, losses, ties, votes."""
    import choix

    study = Study(folder)
    votes = load_votes(study)
    dropped = inattentive(study, votes)
    groups: dict[tuple, list[tuple[str, str, str]]] = defaultdict(list)
    for vote in votes:
        pair = study.pairs[vote["pair"]]
        if pair["attention"] or vote["observer"] in dropped:
            continue
        method = {pair["a"]["key"]: pair["a"]["method"], pair["b"]["key"]: pair["b"]["method"]}
        left, right = method[vote["left"]], method[vote["right"]]
        groups[(pair["dataset"], pair["band"])].append((left, right, vote["answer"]))
    rows = []
    for (dataset, band), outcomes in sorted(groups.items()):
        methods = sorted({m for left, right, _ in outcomes for m in (left, right)})
        index = {m: i for i, m in enumerate(methods)}
        data, tally = [], Counter()
        for left, right, answer in outcomes:
            pairs = {"left": [(left, right)], "right": [(right, left)],
                     "none": [(left, right), (right, left)]}[answer]
            for winner, loser in pairs:
                data.append((index[winner], index[loser]))
            if answer == "none":
                tally[left, "ties"] += 1
                tally[right, "ties"] += 1
            else:
                tally[pairs[0][0], "wins"] += 1
                tally[pairs[0][1], "losses"] += 1
        scores = choix.ilsr_pairwise(len(methods), data, alpha=alpha)
        for m in methods:
            rows.append({"dataset": dataset, "band_bpp": band, "method": m,
                         "score": float(scores[index[m]]), "wins": tally[m, "wins"],
                         "losses": tally[m, "losses"], "ties": tally[m, "ties"]})
    frame = pd.DataFrame(rows)
    if frame.empty:
        raise UlvrError("no usable votes: every observer failed an attention check, or only "
                        "attention checks were answered")
    frame.attrs["observers_dropped"] = sorted(dropped)
    return frame


def write_scores(folder: str) -> list[Path]:
    """study_scores.csv and .md in the study folder."""
    frame = score_study(folder)
    out = Path(folder)
    csv, md = out / "study_scores.csv", out / "study_scores.md"
    frame.to_csv(csv, index=False)
    dropped = frame.attrs.get("observers_dropped", [])
    ranked = frame.sort_values(["dataset", "band_bpp", "score"], ascending=[True, True, False])
    md.write_text("# Subjective study: Bradley-Terry scores (choix ILSR, log-strength)\n\n"
                  + to_markdown(ranked)
                  + f"\n\nObservers left out (failed an attention check): {len(dropped)}\n")
    return [csv, md]
