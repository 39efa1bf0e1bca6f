"""Time `ulvr report` on a store as a user runs it (a new process each time, tables, headline
and default figures, no page), against the 5-second budget; prints the CPU.

    python -m perf.report_time [--results results/reference/embedded] [--runs 3]
"""

from __future__ import annotations

import argparse
import resource
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from benchmark.core.machine import cpu_line

BUDGET_S = 5.0
REPO = Path(__file__).resolve().parents[1]
VARIANTS = {   # what each timed command adds to `ulvr report RESULTS --output DIR`
    "default": [],
    "no figures": ["--plots", "none"],
    "every figure (PNG and PDF)": ["--plots", "all"],
}


def timed(cmd: list[str]) -> tuple[float, float]:
    """(wall, CPU of the command and its children) of one run; a failure stops the script."""
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    start = time.perf_counter()
    subprocess.run(cmd, check=True, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    wall = time.perf_counter() - start
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    return wall, (after.ru_utime - before.ru_utime) + (after.ru_stime - before.ru_stime)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--results", default=str(REPO / "results" / "reference" / "embedded"))
    parser.add_argument("--runs", type=int, default=3, help="runs per variant (median shown)")
    args = parser.parse_args(argv)
    print(f"CPU: {cpu_line()}")
    print(f"ulvr report {args.results} (median of {args.runs} runs, each a new process)")
    print("| variant | wall s | CPU s |\n|---|---|---|")
    default = None
    for name, extra in VARIANTS.items():
        runs = []
        for _ in range(args.runs):
            with tempfile.TemporaryDirectory() as out:
                runs.append(timed([sys.executable, "-m", "benchmark", "report", args.results,
                                   "--output", out, *extra]))
        wall, cpu = (statistics.median(r[i] for r in runs) for i in (0, 1))
        default = wall if default is None else default
        print(f"| {name} | {wall:.2f} | {cpu:.2f} |")
    print(f"default report: {default:.2f} s ({'within' if default < BUDGET_S else 'OVER'} the "
          f"{BUDGET_S:.0f} s budget)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
