"""`ulvr regress`: compare a candidate's results (or a checkpoint it runs first) with a
reference."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from benchmark.cli.common import (
    absolute_path,
    add_command,
    csv_list,
    positive_int,
)
from benchmark.core.errors import UlvrError

EXIT_INTERRUPTED = 130   # as a shell reports SIGINT: neither PASS (0) nor FAIL (1)


def cmd_regress(args: argparse.Namespace) -> int:
    """Compare candidate results with reference results; exit 1 on a regression."""
    from benchmark.analysis.regress import (
        compare,
        parse_tolerances,
        write_junit,
        write_verdict,
    )
    from benchmark.data.store import ResultStore

    if not (Path(args.reference) / "records").is_dir():
        raise UlvrError(f"--reference '{args.reference}' is not a results store (no records/ "
                        "in it): give a folder written by ulvr run, e.g. results/reference/"
                        "embedded")
    tolerances = parse_tolerances(args.tolerance)
    reference = ResultStore(args.reference)
    output = Path(args.output)
    candidate_dir = args.candidate
    try:
        if args.method:
            candidate_dir = candidate_dir or default_candidate(args.method, args.checkpoint)
            if not _run_candidate(reference, args, candidate_dir):
                return _interrupted(output, f"the candidate run was stopped; its finished jobs "
                                    f"are kept in {candidate_dir}: the same command resumes it")
        if not candidate_dir:
            raise UlvrError("give --candidate DIR, or --method NAME (and --checkpoint PATH) to "
                            "run the candidate")
        result = compare(reference, ResultStore(candidate_dir), tolerances,
                         methods=[args.method] if args.method else None,
                         subset=args.subset or bool(args.sequences))
    except KeyboardInterrupt:
        return _interrupted(output, "the comparison was stopped before it finished")
    verdict = write_verdict(result, output)
    if args.junit:
        write_junit(result, Path(args.junit))
    bad = result[result["regression"]] if len(result) else result
    if len(bad):
        cols = ["dataset", "sequence", "method", "rate_point", "metric", "reference",
                "candidate", "tolerance", "why"]
        print(bad[cols].to_string(index=False))
    junit = f", {args.junit}" if args.junit else ""
    print(f"{verdict['compared']} comparisons, {verdict['regressions']} regressions "
          f"-> {verdict['verdict']} ({args.output}{junit})")
    return 1 if verdict["regressions"] else 0


def _interrupted(output: Path, reason: str) -> int:
    """Say INTERRUPTED (never FAIL) in the verdict file and on stdout; its own exit code."""
    from benchmark.analysis.regress import write_interrupted

    write_interrupted(output, reason)
    print(f"INTERRUPTED: {reason} ({output})")
    return EXIT_INTERRUPTED


def default_candidate(method: str, checkpoint: str | None) -> str:
    """Where a candidate run goes unless --candidate says: a named folder under results/,
    kept (a second run resumes it; a new checkpoint gets its own)."""
    tail = f"-{Path(checkpoint).stem}" if checkpoint else ""
    return f"results/candidate-{method}{tail}"


def _run_candidate(reference, args: argparse.Namespace, out: str) -> bool:
    """Run the candidate method on the reference's dataset, rate points and metrics, saying
    where and how long the reference's jobs took; False when it was interrupted."""
    from benchmark.data.manifest import load_dataset
    from benchmark.data.store import ResultStore
    from benchmark.execution.runner import plan_jobs, run_jobs
    from benchmark.protocol import create_method

    if args.checkpoint and not Path(args.checkpoint).is_file():
        raise UlvrError(f"--checkpoint '{args.checkpoint}': no such file ('ulvr list methods' "
                        "shows each method's shipped checkpoint)")
    ref = reference.dataframe()
    ref = ref[ref["method"] == args.method]
    if ref.empty:
        raise UlvrError(f"the reference results hold no '{args.method}' jobs to compare with")
    options = {args.method: {"checkpoint": absolute_path(args.checkpoint)}} \
        if args.checkpoint else {}
    available = create_method(args.method, **options.get(args.method, {})).availability()
    if not available.ok:
        raise UlvrError(f"method '{args.method}' is unavailable here: {available.reason}")
    wanted = set(csv_list(args.sequences)) if args.sequences else None
    records = [r for r in reference.records() if r.get("method") == args.method
               and (wanted is None or r.get("sequence") in wanted)]
    metrics = tuple(sorted({m for r in records for m in r.get("metric_names", [])}))
    frames = int(ref["frames"].max())
    dataset = load_dataset(args.dataset or ref["dataset"].iloc[0], args.data_root,
                           max_frames=frames,
                           sequences=csv_list(args.sequences) if args.sequences else None)
    jobs = plan_jobs(list(dataset.sequences), [args.method], metrics, options,
                     rate_points=sorted(set(ref["rate_point"])), device=args.device)
    took = sum((r.get("timings") or {}).get("job_s", 0.0) for r in records)
    print(f"candidate: {args.method} ({args.checkpoint or 'its default checkpoint'}), "
          f"{len(jobs)} jobs on {dataset.name} into {out} (kept: the same command resumes "
          f"it); the reference's jobs took {took / 60:.1f} min of job time on its machine",
          flush=True)
    summary = run_jobs(jobs, ResultStore(out), workers=args.jobs, progress=not args.quiet)
    for line in summary.failed:
        print(f"  failed: {line}", file=sys.stderr)
    return not summary.interrupted


def add_commands(sub: argparse._SubParsersAction) -> None:
    """Add `regress` to the ulvr parser."""
    regress = add_command(sub, "regress", cmd_regress)
    regress.add_argument("--reference", required=True, help="folder of reference results")
    regress.add_argument("--candidate", help="folder of candidate results, or where --method "
                         "runs it (default results/candidate-METHOD[-CHECKPOINT], kept)")
    regress.add_argument("--tolerance", action="append", default=[], metavar="METRIC=VALUE")
    regress.add_argument("--method", help="run this method as the candidate first")
    regress.add_argument("--checkpoint", help="candidate checkpoint passed to the method "
                         "('ulvr list methods' shows the shipped one)")
    regress.add_argument("--dataset", help="dataset to run the candidate on (default: the "
                         "reference's)")
    regress.add_argument("--subset", action="store_true", help="compare only the reference "
                         "jobs the candidate ran (a thinned run, e.g. make demo's suite)")
    regress.add_argument("--sequences", help="with --method: run and compare only these "
                         "sequences (comma-separated), a quick check")
    regress.add_argument("--data-root")
    regress.add_argument("--jobs", type=positive_int, default=1)
    regress.add_argument("--device", default="cpu")
    regress.add_argument("--output", default="regress.json",
                         help="verdict as strict JSON (default regress.json)")
    regress.add_argument("--junit", metavar="FILE", help="also write the comparisons as JUnit "
                         "XML, a test case per job and metric, for CI systems")
    regress.add_argument("--quiet", action="store_true", help="no progress bar")
