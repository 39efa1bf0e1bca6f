"""Cost of the sandbox: the same jobs run with `--isolation process` (the default: encoder and
decoder each in a sandboxed worker, benchmark.execution.sandbox) and `--isolation none`,
alternating, in one run of this script; prints the summed job time of each and the overhead.
Target: under 3% of the demo's job time. The methods default to one point of each kind of
decoder the demo runs (classical, neural, the proposed receivers) on the demo's three clips
with its metrics, so a decoder worker serves several clips and methods, as in the demo.

    python -m perf.isolation_overhead [--metrics default] [--repeats 2]
    python -m perf.isolation_overhead --suite demo --repeats 1   # make demo's own jobs
"""

from __future__ import annotations

import argparse
import json
import tempfile
import time
from pathlib import Path

from benchmark.cli import main as ulvr
from benchmark.core.machine import cpu_line

POINTS = ("x265=qp51-d4,vvenc=qp63-d8-t4,mbt2018-mean-local=local-q1-d4,"
          "lowres-bicubic=d8-q45-t32-s16-k4-l8,causal-diffusion=d8-q45-t32-s16-k4-l8")


def job_seconds(out: Path) -> tuple[float, set[str]]:
    """Summed job_s of a store's records and the isolations they record."""
    total, modes = 0.0, set()
    for path in out.glob("records/**/*.json"):
        record = json.loads(path.read_text())
        if record.get("status") != "ok":
            raise SystemExit(f"{path}: {record.get('error')}")
        total += record["timings"]["job_s"]
        modes.add(record.get("isolation", "?"))
    return total, modes


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--metrics", default="default")
    parser.add_argument("--points", default=POINTS)
    parser.add_argument("--suite", help="run this named suite's jobs instead of --points "
                        "(demo: the done-when of the sandbox's cost)")
    parser.add_argument("--sequences", default="carphone,bikes,bigbuckbunny")
    parser.add_argument("--repeats", type=int, default=2)
    parser.add_argument("--jobs", type=int, default=1, help="job processes (make demo: 2)")
    args = parser.parse_args(argv)
    methods = ",".join(dict.fromkeys(p.split("=")[0] for p in args.points.split(",")))
    what = (["--suite", args.suite] if args.suite else
            ["--methods", methods, "--rate-points", args.points, "--sequences", args.sequences])
    sums = {"process": [], "none": []}
    walls = {"process": [], "none": []}
    modes: set[str] = set()
    with tempfile.TemporaryDirectory(prefix="ulvr-isolation-") as tmp:
        for repeat in range(args.repeats):
            for isolation in ("process", "none") if repeat % 2 == 0 else ("none", "process"):
                out = Path(tmp) / f"{isolation}{repeat}"
                start = time.perf_counter()
                code = ulvr(["run", *what, "--metrics", args.metrics, "--jobs",
                             str(args.jobs), "--out", str(out), "--isolation", isolation,
                             "--quiet", "--no-report"])
                walls[isolation].append(time.perf_counter() - start)
                if code:
                    return code
                seconds, found = job_seconds(out)
                sums[isolation].append(seconds)
                modes |= found if isolation == "process" else set()
    best = {k: min(v) for k, v in sums.items()}
    print(f"{cpu_line()}; {args.suite or methods} on {args.sequences}, metrics {args.metrics}, "
          f"--jobs {args.jobs}, {args.repeats} repeats "
          f"(best of each); isolated as {', '.join(sorted(modes))}")
    for isolation in ("none", "process"):
        print(f"  --isolation {isolation:7s}: job time {best[isolation]:7.1f} s "
              f"(runs: {', '.join(f'{s:.1f}' for s in sums[isolation])}), wall "
              f"{min(walls[isolation]):.1f} s")
    overhead = best["process"] / best["none"] - 1
    verdict = "within" if overhead < 0.03 else "OVER"
    wall = min(walls["process"]) / min(walls["none"]) - 1
    print(f"  overhead of isolation: {100 * overhead:+.1f}% of job time ({verdict} the 3% target), "
          f"{100 * wall:+.1f}% of wall time")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
