"""How quickly the leaderboard page is built and opens, on a real results store.

    python -m perf.page_load [RESULTS] [--runs 5]

Builds the page from RESULTS (default results/embedded) and opens it in headless Chromium
(WebDriver) `--runs` times, each in a fresh browser profile. "Open" is navigation start until the
page's script has rendered every table and plot (`document.body.dataset.ready`), from the
browser's own Navigation Timing; "drill-down" is the time from a click on the first sequence
to its curves and frames being drawn. Prints the page size, the build time and the median and
worst of each (target: open in under 2 s).
"""

from __future__ import annotations

import argparse
import statistics
import tempfile
import time
from pathlib import Path

from benchmark.data.store import ResultStore
from benchmark.reporting.headless import chromium, console_errors
from benchmark.reporting.leaderboard import write_html

READY = """return new Promise(done => { const check = () => document.body.dataset.ready
  ? done(performance.now()) : setTimeout(check, 5); check(); });"""
DRILL = """const t0 = performance.now();
document.querySelector('button[data-sequence]').click();
return [performance.now() - t0, document.querySelectorAll('.drill svg.plot, .drill img').length];"""


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("results", nargs="?", default="results/embedded")
    parser.add_argument("--runs", type=int, default=5)
    args = parser.parse_args(argv)
    with tempfile.TemporaryDirectory() as tmp:
        start = time.perf_counter()
        page = write_html(ResultStore(args.results), Path(tmp) / "index.html")
        build = time.perf_counter() - start
        opens, drills, errors = [], [], []
        for run in range(args.runs):
            with chromium(Path(tmp) / f"profile{run}") as driver:
                driver.get(page.as_uri())
                opens.append(driver.execute_script(READY) / 1000)
                spent, shown = driver.execute_script(DRILL)
                drills.append(spent / 1000)
                errors += console_errors(driver)
        size = page.stat().st_size / 2**20
    print(f"page {size:.1f} MiB, built in {build:.1f} s from {args.results}")
    print(f"open (navigation start -> rendered): median {statistics.median(opens):.2f} s, "
          f"worst {max(opens):.2f} s over {args.runs} runs (target < 2 s)")
    print(f"drill-down (click -> {shown} plots and frames drawn): median "
          f"{statistics.median(drills):.3f} s")
    print(f"console errors: {len(errors)}" + "".join(f"\n  {e}" for e in errors[:5]))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
