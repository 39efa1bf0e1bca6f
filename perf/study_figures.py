"""A subjective study built from a real results store, answered by simulated observers.

    python -m perf.study_figures [RESULTS] [--targets 0.001] [--design active
        --budget 12] [--observers 20] [--metric lpips-alex] [--inattentive 3]

Times `ulvr study make` on RESULTS (the jobs are re-decoded and encoded as lossless VP9), then
writes votes through the study's own validation (`Study.record`, as the server does) from
simulated observers: each prefers the condition with the better `--metric` value with
Bradley-Terry probability 1 / (1 + exp(-k * gap)), k set so that a gap of 0.05 LPIPS is a 73%
preference; `--inattentive` more observers answer at random, attention checks included. Prints
the build time and `ulvr study score`'s table (intervals, observers left out). A figure of the
machinery, not of human opinion.
"""

from __future__ import annotations

import argparse
import tempfile
import time
from pathlib import Path

import numpy as np

from benchmark.data.store import ResultStore
from benchmark.metrics.table import lower_is_better
from benchmark.study.make import make_study
from benchmark.study.score import score_study
from benchmark.study.server import Study

SLOPE = 20.0   # Bradley-Terry slope per unit of metric gap (0.05 -> 73%)


def simulate(folder: Path, metric: str, observers: int, inattentive: int, seed: int) -> int:
    """Votes of simulated observers through the study's validation; returns how many."""
    study = Study(folder)
    values = {r["key"]: r["metrics"].get(metric) for r in ResultStore(
        study.manifest["store"]).records()}
    sign = -1.0 if lower_is_better(metric) else 1.0
    rng = np.random.default_rng(seed)
    count = 0
    for o in range(observers + inattentive):
        careless = o >= observers
        for trial in study.session(f"sim{o}"):
            pair = study.pairs[trial["pair"]]
            if careless:
                answer = str(rng.choice(["left", "right", "none"]))
            elif pair["attention"]:
                answer = "left" if trial["left"] == pair["a"]["key"] else "right"
            else:
                gap = sign * (values[trial["left"]] - values[trial["right"]])
                answer = "left" if rng.random() < 1 / (1 + np.exp(-SLOPE * gap)) else "right"
            study.record({"observer": f"sim{o}", "pair": trial["pair"], "left": trial["left"],
                          "right": trial["right"], "answer": answer})
            count += 1
    return count


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("results", nargs="?", default="results/embedded")
    parser.add_argument("--targets", default="0.001")
    parser.add_argument("--design", default="active", choices=("all", "active"))
    parser.add_argument("--budget", type=int, default=12)
    parser.add_argument("--observers", type=int, default=20)
    parser.add_argument("--inattentive", type=int, default=3)
    parser.add_argument("--metric", default="lpips-alex")
    parser.add_argument("--seed", type=int, default=0)
    args = parser.parse_args(argv)
    targets = [float(t) for t in args.targets.split(",")]
    with tempfile.TemporaryDirectory() as tmp:
        folder = Path(tmp) / "study"
        start = time.perf_counter()
        manifest = make_study(args.results, str(folder), targets, args.design, args.budget)
        build = time.perf_counter() - start
        pairs = manifest["pairs"]
        checks = sum(p["attention"] for p in pairs)
        media = sum(f.stat().st_size for f in (folder / "media").iterdir()) / 2**20
        votes = simulate(folder, args.metric, args.observers, args.inattentive, args.seed)
        frame = score_study(str(folder))
    print(f"study make: {len(pairs) - checks} pairs + {checks} attention checks from "
          f"{args.results} at {args.targets} bpp ({args.design}) in {build:.1f} s; "
          f"media {media:.1f} MiB")
    print(f"{votes} simulated votes ({args.observers} observers following {args.metric}, "
          f"{args.inattentive} answering at random); left out for failing an attention check: "
          f"{len(frame.attrs['observers_dropped'])}")
    cols = ["dataset", "band_bpp", "method", "score", "ci_low", "ci_high", "wins", "losses"]
    print(frame.sort_values(["band_bpp", "score"], ascending=[True, False])[cols]
          .to_string(index=False, float_format=lambda v: f"{v:.3f}"))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
