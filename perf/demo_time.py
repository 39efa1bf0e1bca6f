"""Time `make demo` as a new user meets it: in a fresh clone of this repository, the install
and then the jobs, with wall, user and system time of each and the install's share, against the
600-second budget (2 cores, warm package cache). Run it alone on the machine.

    python -m perf.demo_time [--clone FOLDER] [--keep]
"""

from __future__ import annotations

import argparse
import resource
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from benchmark.core.machine import cpu_line

BUDGET_S = 600.0
REPO = Path(__file__).resolve().parents[1]


def timed(cmd: list[str], cwd: Path) -> tuple[float, float, float, int]:
    """(wall, user, sys, exit code) of a command and all its children."""
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    start = time.perf_counter()
    code = subprocess.run(cmd, cwd=cwd).returncode
    wall = time.perf_counter() - start
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    return wall, after.ru_utime - before.ru_utime, after.ru_stime - before.ru_stime, code


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--clone", default=str(Path(tempfile.gettempdir()) / "ulvr-demo-clone"),
                        help="where to clone (default: ulvr-demo-clone in the temp folder)")
    parser.add_argument("--keep", action="store_true", help="keep the clone afterwards")
    args = parser.parse_args(argv)
    clone = Path(args.clone)
    if clone.exists():
        print(f"demo_time: {clone} exists; remove it or pass another --clone", file=sys.stderr)
        return 2
    subprocess.run(["git", "clone", "-q", str(REPO), str(clone)], check=True)
    try:
        install = timed(["make", "install"], clone)
        jobs = timed(["make", "demo"], clone)
    finally:
        if not args.keep:
            shutil.rmtree(clone, ignore_errors=True)
    total = [a + b for a, b in zip(install[:3], jobs[:3], strict=True)]
    print(f"CPU: {cpu_line()}")
    print(f"make demo in a fresh clone of {REPO.name}: wall {total[0]:.0f} s, user "
          f"{total[1]:.0f} s, sys {total[2]:.0f} s ({'within' if total[0] < BUDGET_S else 'OVER'}"
          f" the {BUDGET_S:.0f} s budget)")
    print(f"  install: wall {install[0]:.0f} s ({100 * install[0] / total[0]:.0f}%), user "
          f"{install[1]:.0f} s, sys {install[2]:.0f} s")
    print(f"  jobs and report: wall {jobs[0]:.0f} s, user {jobs[1]:.0f} s, sys {jobs[2]:.0f} s, "
          f"exit {jobs[3]}")
    return jobs[3] or install[3]


if __name__ == "__main__":
    raise SystemExit(main())
