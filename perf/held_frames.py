"""Metric time of classical jobs whose decoders hold pictures (temporally resampled points),
with and without the reuse of a held frame's LPIPS/DISTS features (benchmark.metrics.siamese),
measured in one run, each case in a fresh process, one thread, the reference cache warm in both.

    python -m perf.held_frames [--sequence bigbuckbunny]
"""

from __future__ import annotations

import argparse
import tempfile

from perf.job_profile import run_worker

WORKER = r"""
import json, sys, time
case = json.loads(sys.argv[1])
import benchmark.core.torch_setup  # noqa
import torch
torch.set_num_threads(1)
from benchmark.metrics import siamese
siamese.REUSE_HELD = case["reuse"]
from benchmark.data.manifest import load_dataset
from benchmark.metrics.base import create_metric, evaluate
from benchmark.metrics.table import METRIC_TABLE
from benchmark.protocol import create_method
from benchmark.execution.workdirs import job_workdir
from benchmark.execution.runner import plan_jobs
seq = [s for s in load_dataset("embedded").sequences if s.name == case["sequence"]]
metrics = tuple(s.name for s in METRIC_TABLE if s.default)
job = plan_jobs(seq, [case["method"]], metrics, rate_points=[case["rate_point"]])[0]
method = create_method(job.method)
times = {}
for attempt in ("warm-up", "timed"):      # the first pass fills the reference cache
    recon = method.run(job.sequence, job.rate_point, job_workdir())
    objs = [create_metric(n, **job.metric_options.get(n, {})) for n in metrics]
    t0 = time.perf_counter()
    results = evaluate(job.sequence.frames(), recon.frames, objs)
    times[attempt] = time.perf_counter() - t0
values = {k: v for r in results.values() for k, v in r.values.items()}
print(json.dumps({"metric_s": times["timed"], "values": values}))
"""

CASES = (("x265", "qp51-d8-t4"), ("x265", "qp51-d16-t8"), ("x265", "qp51-d16-t32"),
         ("x265", "qp51-d4"))


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--sequence", default="bigbuckbunny")
    args = parser.parse_args()
    print(f"{'job':24s} {'no reuse s':>10s} {'reuse s':>8s} {'ratio':>6s}  max |value diff|")
    with tempfile.TemporaryDirectory() as tmp:
        for method, point in CASES:
            case = {"method": method, "rate_point": point, "sequence": args.sequence}
            off = run_worker(WORKER, {**case, "reuse": False}, tmp)
            on = run_worker(WORKER, {**case, "reuse": True}, tmp)
            diff = max(abs(off["values"][k] - on["values"][k]) for k in off["values"])
            print(f"{method + ' ' + point:24s} {off['metric_s']:10.1f} {on['metric_s']:8.1f} "
                  f"{off['metric_s'] / on['metric_s']:6.2f}  {diff:.2e}")


if __name__ == "__main__":
    main()
