"""`ulvr study score`: Bradley-Terry scores per dataset and rate band from the vote log, with
bootstrap confidence intervals over observers and a win-rate matrix.

Observers who preferred the degraded video in any attention check are left out (and counted).
A vote for one side is a win of its method over the other; "no preference" counts as one win
each way. Scores are choix's regularised maximum-likelihood log-strengths (ILSR), centred per
group. The intervals resample observers with replacement (an observer's votes stay together,
since one observer's answers are not independent) and refit; the 2.5th and 97.5th percentiles.
"""

from __future__ import annotations

import json
from collections import Counter, defaultdict
from pathlib import Path

import numpy as np

from benchmark.core.errors import UlvrError
from benchmark.core.pandas_setup import pd
from benchmark.reporting.writers import to_markdown
from benchmark.study.server import Study, read_votes

ALPHA = 0.01       # choix's L2 regularisation: keeps a method that never lost finite
BOOTSTRAP = 500    # resamples of observers for the intervals
Outcome = tuple[str, str, str, str]   # observer, left method, right method, answer


def load_votes(study: Study) -> list[dict]:
    if not study.votes.exists():
        raise UlvrError(f"no votes yet in '{study.votes}': run 'ulvr study serve' first")
    return read_votes(study.votes)


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


def _comparisons(outcomes: list[Outcome]) -> list[tuple[str, str]]:
    """(winner, loser) per vote; a tie is one win each way."""
    out = []
    for _, left, right, answer in outcomes:
        out += {"left": [(left, right)], "right": [(right, left)],
                "none": [(left, right), (right, left)]}[answer]
    return out


def fit(outcomes: list[Outcome], methods: list[str], alpha: float = ALPHA) -> np.ndarray:
    """Centred Bradley-Terry log-strengths of `methods` (choix ILSR)."""
    import choix

    index = {m: i for i, m in enumerate(methods)}
    data = [(index[w], index[lo]) for w, lo in _comparisons(outcomes)]
    scores = np.asarray(choix.ilsr_pairwise(len(methods), data, alpha=alpha), float)
    return scores - scores.mean()


def bootstrap(outcomes: list[Outcome], methods: list[str], runs: int = BOOTSTRAP,
              seed: int = 0, alpha: float = ALPHA) -> np.ndarray:
    """runs x methods scores refitted on observers resampled with replacement; NaN where a
    resample never compared a method. Resamples are fitted with at least ALPHA of
    regularisation: one in which a method never lost has no finite unregularised fit."""
    alpha = max(alpha, ALPHA)
    by_observer: dict[str, list[Outcome]] = defaultdict(list)
    for o in outcomes:
        by_observer[o[0]].append(o)
    observers = sorted(by_observer)
    rng = np.random.default_rng(seed)
    out = np.full((runs, len(methods)), np.nan)
    for run in range(runs):
        sample = [o for i in rng.integers(len(observers), size=len(observers))
                  for o in by_observer[observers[i]]]
        seen = sorted({m for _, a, b, _ in sample for m in (a, b)})
        if len(seen) < 2:
            continue
        scores = fit(sample, seen, alpha)
        for m, s in zip(seen, scores, strict=True):
            out[run, methods.index(m)] = s
    return out


def win_rates(outcomes: list[Outcome], methods: list[str]) -> pd.DataFrame:
    """methods x methods: share of their votes in which the row beat the column (a tie counts
    half); NaN where the two were never compared."""
    wins, total = Counter(), Counter()
    for _, left, right, answer in outcomes:
        total[left, right] += 1
        total[right, left] += 1
        share = {"left": (1.0, 0.0), "right": (0.0, 1.0), "none": (0.5, 0.5)}[answer]
        wins[left, right] += share[0]
        wins[right, left] += share[1]
    return pd.DataFrame([[wins[a, b] / total[a, b] if total[a, b] else np.nan for b in methods]
                         for a in methods], index=methods, columns=methods)


def _groups(study: Study, votes: list[dict], dropped: set[str]) -> dict[tuple, list[Outcome]]:
    groups: dict[tuple, list[Outcome]] = defaultdict(list)
    for vote in votes:
        pair = study.pairs[vote["pair"]]
        if pair["attention"] or vote["observer"] in dropped:
            continue
        method = {pair["a"]["key"]: pair["a"]["method"], pair["b"]["key"]: pair["b"]["method"]}
        groups[(pair["dataset"], pair["band"])].append(
            (vote["observer"], method[vote["left"]], method[vote["right"]], vote["answer"]))
    return groups


def score_study(folder: str, alpha: float = ALPHA, runs: int = BOOTSTRAP,
                seed: int = 0) -> pd.DataFrame:
    """One row per dataset x band x method: score, 95% interval, wins, losses, ties.
    `attrs`: observers_dropped, observers, votes, and the win-rate matrix per group."""
    study = Study(folder)
    votes = load_votes(study)
    dropped = inattentive(study, votes)
    rows, matrices = [], {}
    for (dataset, band), outcomes in sorted(_groups(study, votes, dropped).items()):
        methods = sorted({m for _, a, b, _ in outcomes for m in (a, b)})
        scores = fit(outcomes, methods, alpha)
        samples = bootstrap(outcomes, methods, runs, seed, alpha)
        tally = Counter()
        for _, left, right, answer in outcomes:
            if answer == "none":
                tally[left, "ties"] += 1
                tally[right, "ties"] += 1
            else:
                winner, loser = (left, right) if answer == "left" else (right, left)
                tally[winner, "wins"] += 1
                tally[loser, "losses"] += 1
        for i, m in enumerate(methods):
            column = samples[:, i][np.isfinite(samples[:, i])]
            low, high = np.percentile(column, [2.5, 97.5]) if len(column) else (np.nan, np.nan)
            rows.append({"dataset": dataset, "band_bpp": band, "method": m,
                         "score": float(scores[i]), "ci_low": float(low), "ci_high": float(high),
                         "wins": tally[m, "wins"], "losses": tally[m, "losses"],
                         "ties": tally[m, "ties"]})
        matrices[(dataset, band)] = win_rates(outcomes, methods)
    frame = pd.DataFrame(rows)
    if frame.empty:
        raise UlvrError("no usable votes: every observer failed an attention check, or only "
                        "attention checks were answered")
    frame.attrs.update(observers_dropped=sorted(dropped), win_rates=matrices,
                       observers=len({v["observer"] for v in votes}), votes=len(votes))
    return frame


def summary(frame: pd.DataFrame) -> dict:
    """What the leaderboard page shows of a scored study."""
    def num(v: object) -> float | None:
        return float(v) if isinstance(v, int | float) and np.isfinite(v) else None

    return {"scores": [{k: (num(v) if isinstance(v, float) else v) for k, v in r.items()}
                       for r in frame.to_dict("records")],
            "observers": frame.attrs["observers"], "votes": frame.attrs["votes"],
            "dropped": len(frame.attrs["observers_dropped"]),
            "win_rates": [{"dataset": d, "band_bpp": b, "methods": list(m.index),
                           "rates": [[num(v) for v in row] for row in m.to_numpy()]}
                          for (d, b), m in frame.attrs["win_rates"].items()]}


def _plot(frame: pd.DataFrame, path: Path) -> Path:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    groups = list(frame.groupby(["dataset", "band_bpp"]))
    fig, axes = plt.subplots(1, len(groups), figsize=(4.2 * len(groups), 3.2), squeeze=False)
    for ax, ((dataset, band), part) in zip(axes[0], groups, strict=True):
        part = part.sort_values("score")
        y = np.arange(len(part))
        ax.errorbar(part["score"], y, xerr=[part["score"] - part["ci_low"],
                                            part["ci_high"] - part["score"]], fmt="o", capsize=3)
        ax.set_yticks(y, part["method"], fontsize=8)
        ax.set_xlabel("Bradley-Terry log-strength (95% CI)")
        ax.set_title(f"{dataset}, ~{band:g} bpp", fontsize=9)
        ax.grid(alpha=0.3)
    fig.tight_layout()
    fig.savefig(path, dpi=150)
    plt.close(fig)
    return path


def write_scores(folder: str) -> list[Path]:
    """study_scores.csv/.md/.png, study_win_rates.csv and study_summary.json (read by the
    leaderboard page) in the study folder."""
    frame = score_study(folder)
    out = Path(folder)
    csv, md, rates = out / "study_scores.csv", out / "study_scores.md", out / "study_win_rates.csv"
    frame.to_csv(csv, index=False)
    pd.concat([m.rename_axis("method").reset_index().assign(dataset=d, band_bpp=b)
               for (d, b), m in frame.attrs["win_rates"].items()]).to_csv(rates, index=False)
    dropped = frame.attrs["observers_dropped"]
    ranked = frame.sort_values(["dataset", "band_bpp", "score"], ascending=[True, True, False])
    matrices = "".join(f"\n\n## Win rates: {d}, ~{b:g} bpp (row beat column)\n\n"
                       + to_markdown(m.round(3).rename_axis("method").reset_index())
                       for (d, b), m in frame.attrs["win_rates"].items())
    md.write_text("# Subjective study: Bradley-Terry scores (choix ILSR, log-strength)\n\n"
                  + to_markdown(ranked) + matrices
                  + f"\n\n{frame.attrs['observers']} observers, {frame.attrs['votes']} votes. "
                  f"Observers left out (failed an attention check): {len(dropped)}. "
                  f"Intervals: {BOOTSTRAP} bootstrap resamples of observers, 2.5-97.5th "
                  "percentiles.\n")
    summary_path = out / "study_summary.json"
    summary_path.write_text(json.dumps(summary(frame), indent=1))
    return [csv, md, rates, _plot(frame, out / "study_scores.png"), summary_path]
