"""`ulvr regress`: compare a candidate's results (or a checkpoint it runs first) with a
reference."""

from __future__ import annotations

import argparse
from pathlib import Path

from benchmark.cli.common import (
    add_command,
    positive_int,
)
from benchmark.core.errors import UlvrError


def cmd_regress(args: argparse.Namespace) -> int:
    """Compare candidate results with reference results; exit 1 on a regression."""
    import tempfile

    from benchmark.analysis.regress import compare, parse_tolerances, write_verdict
    from benchmark.data.store import ResultStore

    reference = ResultStore(args.reference)
    candidate_dir = args.candidate
    if args.method:
        candidate_dir = candidate_dir or tempfile.mkdtemp(prefix="ulvr-candidate-")
        _run_candidate(reference, args, candidate_dir)
    if not candidate_dir:
        raise UlvrError("give --candidate DIR, or --method NAME (and --checkpoint PATH) to run "
                        "the candidate")
    result = compare(reference, ResultStore(candidate_dir), parse_tolerances(args.tolerance),
                     methods=[args.method] if args.method else None, subset=args.subset)
    verdict = write_verdict(result, Path(args.output))
    bad = result[result["regression"]] if len(result) else result
    if len(bad):
        cols = ["dataset", "sequence", "method", "rate_point", "metric", "reference",
                "candidate", "tolerance", "why"]
        print(bad[cols].to_string(index=False))
    print(f"{verdict['compared']} comparisons, {verdict['regressions']} regressions "
          f"-> {'FAIL' if verdict['regressions'] else 'PASS'} ({args.output})")
    return 1 if verdict["regressions"] else 0


def _run_candidate(reference, args: argparse.Namespace, out: str) -> None:
    """Run the candidate method on the reference's dataset, rate points and metrics."""
    from benchmark.data.manifest import load_dataset
    from benchmark.data.store import ResultStore
    from benchmark.execution.runner import plan_jobs, run_jobs

    ref = reference.dataframe()
    ref = ref[ref["method"] == args.method]
    if ref.empty:
        raise UlvrError(f"the reference results hold no '{args.method}' jobs to compare with")
    records = [r for r in reference.records() if r.get("method") == args.method]
    metrics = tuple(sorted({m for r in records for m in r.get("metric_names", [])}))
    frames = int(ref["frames"].max())
    dataset = load_dataset(args.dataset or ref["dataset"].iloc[0], args.data_root,
                           max_frames=frames)
    options = {args.method: {"checkpoint": args.checkpoint}} if args.checkpoint else {}
    jobs = plan_jobs(list(dataset.sequences), [args.method], metrics, options,
                     rate_points=sorted(set(ref["rate_point"])), device=args.device)
    run_jobs(jobs, ResultStore(out), workers=args.jobs, progress=False)


def add_commands(sub: argparse._SubParsersAction) -> None:
    """Add `regress` to the ulvr parser."""
    regress = add_command(sub, "regress", cmd_regress)
    regress.add_argument("--reference", required=True, help="folder of reference results")
    regress.add_argument("--candidate", help="folder of candidate results (or where to run it)")
    regress.add_argument("--tolerance", action="append", default=[], metavar="METRIC=VALUE")
    regress.add_argument("--method", help="run this method as the candidate first")
    regress.add_argument("--checkpoint", help="candidate checkpoint passed to the method")
    regress.add_argument("--dataset", help="dataset to run the candidate on (default: the "
                         "reference's)")
    regress.add_argument("--subset", action="store_true", help="compare only the reference "
                         "jobs the candidate ran (a thinned run, e.g. make demo's suite)")
    regress.add_argument("--data-root")
    regress.add_argument("--jobs", type=positive_int, default=1)
    regress.add_argument("--device", default="cpu")
    regress.add_argument("--output", default="regress.json", help="JSON verdict path")
