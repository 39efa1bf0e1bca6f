"""`ulvr run`, `ulvr check-method` and `ulvr compare`: run jobs, check an adapter against the
protocol, score two videos."""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

from benchmark.cli.common import (
    DEFAULT_METHODS,
    DEFAULT_OUT,
    add_command,
    check_out_folder,
    csv_list,
    dotted_options,
    executor_from_args,
    make_out_folder,
    methods_and_points,
    nonnegative_float,
    nonnegative_int,
    parse_metric_names,
    positive_float,
    positive_int,
)
from benchmark.cli.report import (
    _beside_page,
    _print_summary,
    _study,
)
from benchmark.core.deadline import DECODE_TIMEOUT_S
from benchmark.core.errors import UlvrError
from benchmark.execution.sandbox import DEFAULT_MEMORY_GB
from benchmark.execution.suites import SUITES


def cmd_run(args: argparse.Namespace) -> int:
    """Run methods on a dataset into a results store, then write the report."""
    from benchmark.core.featcache import cache_beside
    from benchmark.data.manifest import load_dataset
    from benchmark.data.store import ResultStore
    from benchmark.execution.runner import plan_jobs, run_jobs
    from benchmark.metrics.base import metric_class
    from benchmark.protocol import create_method

    check_out_folder(args.out)
    dataset_name = dataset_argument(args)
    metrics = parse_metric_names(args.metrics)
    for name in metrics:
        metric_class(name)
    executor = executor_from_args(args)
    methods, points = methods_and_points(args)
    options = dotted_options(args.option)
    metric_options = dotted_options(args.metric_option, "--metric-option", "fvd.stride=8")
    for name in methods:
        available = create_method(name, **options.get(name, {})).availability()
        if not available.ok:
            raise UlvrError(f"method '{name}' is unavailable here: {available.reason}")
    dataset = load_dataset(dataset_name, args.data_root, max_frames=args.frames,
                           sequences=csv_list(args.sequences) if args.sequences else None)
    whole = load_dataset(dataset_name, args.data_root, max_frames=args.frames) \
        if args.sequences else dataset
    jobs = [job for name in methods
            for job in plan_jobs(list(dataset.sequences), [name], metrics, options,
                                 rate_points=points[name], device=args.device,
                                 metric_options=metric_options,
                                 dataset_sequences=list(whole.sequences),
                                 isolation=args.isolation, memory_gb=args.job_memory)]
    make_out_folder(args.out)   # everything checked: now the folder, before any job
    store = ResultStore(args.out)
    # reference-side features (benchmark.core.featcache) live beside the store unless set elsewhere
    with store.lock(), cache_beside(store.feature_cache_dir):
        summary = run_jobs(jobs, store, force=args.force, progress=not args.quiet,
                           executor=executor)
    print(f"{summary.total} jobs: {summary.skipped} already done, {summary.ok} ran ok, "
          f"{len(summary.failed)} failed" + (" (interrupted)" if summary.interrupted else ""))
    for line in summary.failed:
        print(f"  failed: {line}", file=sys.stderr)
    if not summary.interrupted and not args.no_report:
        from benchmark.reporting.report import write_report

        report_dir = Path(args.out) / "report"
        summary_lines: list[str] = []
        files = _beside_page(store, report_dir / "index.html", {"study": _study(args.out)},
                             lambda: write_report(store, report_dir, summary=summary_lines))
        print(f"\nresults store: {store.records_dir}\ntables and plots: {report_dir} "
              f"({len(files)} files: headline.md, rd_table_*, bd_table_*, matched_*, "
              f"rd_*.png)\nleaderboard page: {report_dir / 'index.html'}; open it with\n"
              f"  python3 -m webbrowser -t {(report_dir / 'index.html').resolve().as_uri()}")
        _print_summary(summary_lines)   # last: the first thing a reader sees
    return summary.exit_code


def dataset_argument(args: argparse.Namespace) -> str:
    """The manifest `ulvr run` evaluates: --dataset's, or the one it writes for --input files
    into the results folder (to run again with --dataset)."""
    if not args.input:
        if args.size or args.fps or args.pix_fmt:
            raise UlvrError("--size, --fps and --pix-fmt describe raw --input files: add "
                            "--input FILE.yuv")
        return args.dataset or "embedded"
    if args.dataset:
        raise UlvrError("give --dataset or --input, not both")
    import yaml

    from benchmark.data.sources import input_manifest

    manifest = input_manifest(args.input, args.size, args.fps, args.pix_fmt)
    path = Path(args.out) / "input.yaml"
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text("# written by ulvr run --input; run it again with --dataset "
                    f"{path}\n" + yaml.safe_dump(manifest, sort_keys=False))
    print(f"dataset: {len(manifest['sequences'])} input file(s), manifest {path}")
    return str(path)


def cmd_compare(args: argparse.Namespace) -> int:
    """Compare two images or videos with the named metrics; print JSON."""
    from benchmark.data.video_io import open_video
    from benchmark.metrics.base import create_metric, evaluate

    ref, rec = open_video(args.reference), open_video(args.distorted)
    metrics = [create_metric(name, device=args.device) for name in args.metric]
    results = evaluate(ref.chunks(), rec.chunks(), metrics)
    values = {k: v for r in results.values() for k, v in r.values.items()}
    print(json.dumps(values, indent=2, sort_keys=True))
    return 0


def cmd_check_method(args: argparse.Namespace) -> int:
    """Check that a method's adapter follows the protocol (decoder isolated, bits = bytes)."""
    from benchmark.data.manifest import load_dataset
    from benchmark.execution.conformance import check_method

    dataset = load_dataset(args.dataset, args.data_root, max_frames=args.frames,
                           sequences=[args.sequence])
    options = dotted_options(args.option).get(args.method, {})
    checks = check_method(args.method, dataset.sequences[0], options, args.rate_point,
                          args.device, timeout=args.timeout)
    for check in checks:
        print(f"{'PASS' if check.ok else 'FAIL'}  {check.name:17s} {check.detail}")
    failed = [c.name for c in checks if not c.ok]
    print(f"{args.method}: " + ("conforms" if not failed else
                                f"does not conform ({', '.join(failed)})"))
    return 1 if failed else 0


def add_commands(sub: argparse._SubParsersAction) -> None:
    """Add `run`, `check-method`, `compare` to the ulvr parser."""
    run = add_command(sub, "run", cmd_run)
    run.add_argument("--dataset", help="manifest name or path (default embedded; "
                     "'ulvr list datasets')")
    run.add_argument("--input", action="append", metavar="FILE",
                     help="evaluate this video instead of a dataset (repeatable): y4m, mp4, mkv,"
                     " anything ffmpeg reads, or raw .yuv with --size; the sequence is named by "
                     "the file's stem")
    run.add_argument("--size", metavar="WxH", help="raw .yuv --input: frame size")
    run.add_argument("--fps", type=positive_float, help="raw .yuv --input: frame rate "
                     "(default: from the name, else 25)")
    run.add_argument("--pix-fmt", metavar="FMT", help="raw .yuv --input: yuv420p (default) or "
                     "yuv420p10le")
    run.add_argument("--methods", help=f"comma-separated method names (default {DEFAULT_METHODS})")
    run.add_argument("--suite", help="a named suite of methods and rate points instead of "
                     f"--rate-points: {', '.join(SUITES)} ('ulvr list suites'); with "
                     "--methods, only those of its methods")
    run.add_argument("--metrics", default="psnr,ms-ssim",
                     help="comma-separated metric names; 'default' = the default set "
                     "('ulvr list metrics' marks it)")
    run.add_argument("--metric-option", action="append", metavar="METRIC.KEY=VALUE",
                     help="a metric option, e.g. fvd.stride=8 (repeatable)")
    run.add_argument("--rate-points", metavar="LABEL|METHOD=LABEL,...",
                     help="comma-separated rate point labels for every method, or METHOD=LABEL "
                     "items for one (default: all; 'ulvr list rate-points METHOD' shows them)")
    run.add_argument("--sequences", help="comma-separated sequence names (default: all)")
    run.add_argument("--frames", type=positive_int, help="evaluate at most this many frames")
    run.add_argument("--data-root", help="folder with the dataset files (or set ULVR_DATA)")
    run.add_argument("--out", default=DEFAULT_OUT,
                     help=f"results folder, created if missing (default {DEFAULT_OUT})")
    run.add_argument("--jobs", type=positive_int, help="parallel jobs: local worker processes "
                     "(default 1); with --executor ray a cap on tasks in flight (default: none)")
    run.add_argument("--force", action="store_true", help="re-run finished jobs")
    run.add_argument("--device", default="cpu", help="cpu or cuda: where learned methods and "
                     "metrics run")
    run.add_argument("--executor", default="local",
                     help="where jobs run: local (this machine, default) or ray (a Ray cluster; "
                     "docs/cluster.md)")
    run.add_argument("--address", help="ray: the cluster to join (auto, HOST:PORT or "
                     "ray://HOST:10001); default: start a local Ray for this run")
    run.add_argument("--retries", type=nonnegative_int, help="ray: re-runs of a task whose "
                     "worker died (default 2); a job that fails by itself is never retried")
    run.add_argument("--isolation", choices=("process", "none"), default="process",
                     help="where encoders and decoders run: process (default: each in a "
                     "sandboxed worker, the decoder on copies of the stream files alone; "
                     "docs/methods.md) or none (in the job's process, for debugging; records "
                     "and report say so)")
    run.add_argument("--job-memory", type=nonnegative_float, metavar="GB",
                     default=DEFAULT_MEMORY_GB,
                     help="address space each sandboxed encoder and decoder may use, in GiB "
                     f"(default {DEFAULT_MEMORY_GB:g}; 0: no limit); a worker that needs more "
                     "fails its job and the run goes on; recorded in every record")
    run.add_argument("--timeout", type=positive_float, metavar="SECONDS",
                     help="stop a job after this long and record it as failed")
    run.add_argument("--store-on-workers", action="store_true",
                     help="ray: workers write records into --out themselves (it must be on "
                     "storage every node sees); default: the driver writes what they return")
    run.add_argument("--option", action="append", metavar="METHOD.KEY=VALUE",
                     help="a method option, e.g. x265.preset=slow (repeatable)")
    run.add_argument("--no-report", action="store_true",
                     help="do not write the report and leaderboard page after the jobs "
                     "(`ulvr report RESULTS --html` writes them later)")
    run.add_argument("--quiet", action="store_true", help="no progress bar")

    check = add_command(sub, "check-method", cmd_check_method)
    check.add_argument("method", help="the method to check ('ulvr list methods')")
    check.add_argument("--dataset", default="embedded")
    check.add_argument("--sequence", default="carphone", help="the clip (default carphone)")
    check.add_argument("--frames", type=positive_int, default=8,
                       help="its first frames (default 8)")
    check.add_argument("--rate-point", help="label (default: the method's first)")
    check.add_argument("--option", action="append", metavar="METHOD.KEY=VALUE",
                       help="a method option (repeatable)")
    check.add_argument("--data-root")
    check.add_argument("--device", default="cpu")
    check.add_argument("--timeout", type=positive_float, metavar="SECONDS",
                       default=DECODE_TIMEOUT_S, help="fail an encode or decode that takes "
                       f"longer (default {DECODE_TIMEOUT_S:g})")

    compare = add_command(sub, "compare", cmd_compare)
    compare.add_argument("reference")
    compare.add_argument("distorted")
    compare.add_argument("--metric", action="append", required=True)
    compare.add_argument("--device", default="cpu")
