"""User and system time of two demo jobs, with glibc's default malloc and with the harness's
(benchmark.core.alloc), and the metric time of a classical job without and with the reference cache
(benchmark.core.featcache), all measured in one run, each case in a fresh process, one thread.

- decoder job: cdm-teacher at its lowest rate point on bigbuckbunny (decode only);
- metrics job: x265 qp37 on bigbuckbunny with every default metric.

    python -m perf.job_profile [--sequence bigbuckbunny]
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile

WORKER = r"""
import json, os, resource, sys, time
case = json.loads(sys.argv[1])
if case["malloc"] == "harness":
    from benchmark.core.alloc import reuse_freed_memory
    reuse_freed_memory()
import benchmark.core.torch_setup  # noqa
import torch
torch.set_num_threads(1)
from benchmark.data.manifest import load_dataset
from benchmark.metrics.base import create_metric, evaluate
from benchmark.metrics.table import METRIC_TABLE
from benchmark.protocol import create_method
from benchmark.execution.workdirs import job_workdir
from benchmark.execution.runner import plan_jobs
seq = [s for s in load_dataset("embedded").sequences if s.name == case["sequence"]]
metrics = tuple(s.name for s in METRIC_TABLE if s.default) if case["metrics"] else ()
job = [j for j in plan_jobs(seq, [case["method"]], metrics or ("psnr",))
       if j.rate_point.label == case["rate_point"]][0]
method = create_method(job.method, **job.method_options)
r0, t0 = resource.getrusage(resource.RUSAGE_SELF), time.perf_counter()
recon = method.run(job.sequence, job.rate_point, job_workdir())
if metrics:
    objs = [create_metric(n, **job.metric_options.get(n, {})) for n in metrics]
    t1 = time.perf_counter()
    results = evaluate(job.sequence.frames(), recon.frames, objs)
    metric_s = time.perf_counter() - t1
    values = {k: v for r in results.values() for k, v in r.values.items()}
else:
    for _ in recon.frames:
        pass
    metric_s, values = 0.0, {}
r1 = resource.getrusage(resource.RUSAGE_SELF)
print(json.dumps({"wall": time.perf_counter() - t0, "user": r1.ru_utime - r0.ru_utime,
                  "sys": r1.ru_stime - r0.ru_stime, "metric_s": metric_s,
                  "rss_mb": r1.ru_maxrss / 1024, "values": values}))
"""


def run_worker(worker: str, case: dict, cache: str, **env: str) -> dict:
    """Run `worker` (Python source reading the case as JSON from argv[1] and printing a JSON
    line last) in a fresh process, one thread, with this feature cache folder and extra env."""
    env = {**os.environ, "ULVR_FEATURE_CACHE": cache, "OMP_NUM_THREADS": "1", **env}
    out = subprocess.run([sys.executable, "-c", worker, json.dumps(case)], env=env,
                         capture_output=True, text=True, check=True)
    return json.loads(out.stdout.strip().splitlines()[-1])


def run_case(case: dict, cache: str, cache_gb: str) -> dict:
    """One case in a fresh process with the given feature cache folder and bound."""
    return run_worker(WORKER, case, cache, ULVR_FEATURE_CACHE_GB=cache_gb)


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--sequence", default="bigbuckbunny")
    args = parser.parse_args()
    from benchmark.protocol import create_method

    teacher_point = create_method("cdm-teacher").rate_points()[0].label
    decoder = {"method": "cdm-teacher", "rate_point": teacher_point, "metrics": False,
               "sequence": args.sequence}
    metrics = {"method": "x265", "rate_point": "qp37", "metrics": True,
               "sequence": args.sequence}
    print(f"{'job':34s} {'malloc':8s} {'cache':6s} {'wall s':>7s} {'user s':>7s} {'sys s':>6s} "
          f"{'sys/user':>8s} {'metric s':>8s} {'RSS MB':>7s}")
    rows = {}
    with tempfile.TemporaryDirectory() as tmp:
        plan = [("decoder", decoder, "glibc", "off"), ("decoder", decoder, "harness", "off"),
                ("metrics", metrics, "glibc", "off"), ("metrics", metrics, "harness", "off"),
                ("metrics", metrics, "harness", "cold"), ("metrics", metrics, "harness", "warm")]
        for name, case, malloc, cache in plan:
            result = run_case({**case, "malloc": malloc}, tmp, "0" if cache == "off" else "4")
            rows[(name, malloc, cache)] = result
            label = f"{name}: {case['method']} {case['rate_point']}"
            print(f"{label:34s} {malloc:8s} {cache:6s} {result['wall']:7.1f} "
                  f"{result['user']:7.1f} {result['sys']:6.1f} "
                  f"{result['sys'] / max(result['user'], 1e-9):8.2f} "
                  f"{result['metric_s']:8.1f} {result['rss_mb']:7.0f}")
    off, warm = rows[("metrics", "harness", "off")], rows[("metrics", "harness", "warm")]
    before = rows[("metrics", "glibc", "off")]
    differ = {k: (off["values"][k], warm["values"][k]) for k in off["values"]
              if off["values"][k] != warm["values"][k]}
    print(f"metric time, no cache / warm cache: {off['metric_s'] / warm['metric_s']:.2f}x; "
          f"glibc default and no cache / harness and warm cache: "
          f"{before['metric_s'] / warm['metric_s']:.2f}x")
    print("values with and without the cache: " +
          ("identical" if not differ else f"differ: {differ}"))


if __name__ == "__main__":
    main()
