"""Where a suite's time went, from the records of a `ulvr run` of it: the run's wall time (the
time during which at least one job ran, from each record's `created` and `job_s`: a run that was
interrupted and resumed counts its runs, not the pause between them; the span from the first
start to the last end is printed beside it), the job time per method and per metric, and the
verdict against a budget (the native suite's: 3 hours on 2 cores), and the machines the records
name. The figures are the run's own; run the suite alone on the machine for them to mean
anything.

    python -m perf.suite_time --results results/reference/embedded-native \
        [--dataset embedded-native] [--budget 10800]
"""

from __future__ import annotations

import argparse
from collections import Counter
from datetime import datetime

from benchmark.data.store import STATUS_OK, ResultStore


def _start(record: dict) -> float:
    return datetime.strptime(record["created"], "%Y-%m-%dT%H:%M:%S%z").timestamp()


def busy_seconds(intervals: list[tuple[float, float]]) -> float:
    """The length of the union of [start, end] intervals: time during which a job ran."""
    total, reach = 0.0, float("-inf")
    for start, end in sorted(intervals):
        if end > reach:
            total += end - max(start, reach)
            reach = end
    return total


def summarise(records: list[dict]) -> dict:
    """Wall span, job time per method and per metric, and job counts of finished records."""
    ok = [r for r in records if r.get("status") == STATUS_OK]
    if not ok:
        return {"jobs": 0}
    starts = [_start(r) for r in ok]
    ends = [s + r["timings"]["job_s"] for s, r in zip(starts, ok, strict=True)]
    per_method: Counter = Counter()
    jobs: Counter = Counter()
    per_metric: Counter = Counter()
    for r in ok:
        per_method[r["method"]] += r["timings"]["job_s"]
        jobs[r["method"]] += 1
        for name, seconds in r["timings"].items():
            if name.startswith("metric_") and name.endswith("_s"):
                per_metric[name[len("metric_"):-2]] += seconds
    machines = Counter(r.get("machine") or "machine not recorded" for r in ok)
    return {"jobs": len(ok), "failed": len(records) - len(ok), "machines": machines,
            "wall_s": busy_seconds(list(zip(starts, ends, strict=True))),
            "span_s": max(ends) - min(starts),
            "job_s": sum(per_method.values()), "per_method": per_method, "method_jobs": jobs,
            "per_metric": per_metric}


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--results", default="results/reference/embedded-native")
    parser.add_argument("--dataset", help="only this dataset's records (default: all)")
    parser.add_argument("--budget", type=float, default=10800.0, help="seconds (default 3 h)")
    args = parser.parse_args(argv)
    records = [r for r in ResultStore(args.results).records()
               if args.dataset is None or r.get("dataset") == args.dataset]
    s = summarise(records)
    if not s["jobs"]:
        print(f"no finished records under {args.results}")
        return 2
    verdict = "within" if s["wall_s"] <= args.budget else "OVER"
    print(f"{s['jobs']} jobs ok, {s['failed']} failed: wall {s['wall_s'] / 60:.1f} min "
          f"({verdict} the {args.budget / 60:.0f}-min budget; first start to last end "
          f"{s['span_s'] / 60:.1f} min), job time {s['job_s'] / 60:.1f} min")
    print("on " + "; ".join(f"{m} ({n} jobs)" for m, n in s["machines"].most_common()))
    print("| method | jobs | job time (min) | share |\n|---|---|---|---|")
    for method, seconds in s["per_method"].most_common():
        print(f"| {method} | {s['method_jobs'][method]} | {seconds / 60:.1f} | "
              f"{100 * seconds / s['job_s']:.0f}% |")
    print("| metric | time (min) | share of job time |\n|---|---|---|")
    for metric, seconds in s["per_metric"].most_common():
        print(f"| {metric} | {seconds / 60:.1f} | {100 * seconds / s['job_s']:.0f}% |")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
