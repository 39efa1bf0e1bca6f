"""The `ulvr` command line: run, report, export, list, compare."""

from __future__ import annotations

import argparse
import json
import sys
from collections.abc import Callable
from pathlib import Path

from benchmark.errors import UlvrError
from benchmark.suites import SUITES

DEFAULT_OUT = "results/embedded"


def _csv(text: str) -> list[str]:
    return [t.strip() for t in text.split(",") if t.strip()]


def _bpp_list(text: str) -> list[float]:
    """Comma-separated positive bpp values (argparse type: a bad value is a usage error)."""
    try:
        values = [float(t) for t in _csv(text)]
    except ValueError:
        raise argparse.ArgumentTypeError(f"'{text}' is not a list of numbers") from None
    if not values or min(values) <= 0:
        raise argparse.ArgumentTypeError(f"'{text}': give positive bpp values, e.g. 0.001,0.01")
    return sorted(values)


def _bounded(convert: Callable[[str], float], noun: str, lowest: float,
             strict: bool = False) -> Callable[[str], float]:
    """An argparse type: `convert`ed text that is at least `lowest` (above it when strict)."""

    def parse(text: str) -> float:
        try:
            value = convert(text)
        except ValueError:
            raise argparse.ArgumentTypeError(f"'{text}' is not {noun}") from None
        if value < lowest or (strict and value == lowest):
            bound = "above" if strict else "at least"
            raise argparse.ArgumentTypeError(f"must be {bound} {lowest:g}, not {text}")
        return value

    return parse


_positive_int = _bounded(int, "a whole number", 1)      # a count of frames or workers
_count = _bounded(int, "a whole number", 0)             # e.g. --retries
_positive_float = _bounded(float, "a number", 0, strict=True)   # a time in seconds


def _executor(args: argparse.Namespace):
    """The executor `ulvr run` asked for, with only the options the user gave (an option the
    executor does not take is refused)."""
    from benchmark.executor import create_executor

    given = {"jobs": args.jobs, "timeout": args.timeout, "address": args.address,
             "retries": args.retries, "store_on_workers": args.store_on_workers or None}
    return create_executor(args.executor, **{k: v for k, v in given.items() if v is not None})


def _dotted_options(items: list[str] | None, flag: str = "--option",
                    example: str = "causal-diffusion.steps=2") -> dict[str, dict]:
    """Parse repeated `FLAG NAME.KEY=VALUE` into {name: {key: value}} (YAML scalars)."""
    import yaml

    options: dict[str, dict] = {}
    for item in items or []:
        head, sep, value = item.partition("=")
        name, dot, key = head.partition(".")
        if not (sep and dot and name and key):
            raise UlvrError(f"bad {flag} '{item}': write NAME.KEY=VALUE, e.g. {example}")
        options.setdefault(name, {})[key] = yaml.safe_load(value)
    return options


def check_out_folder(out: str) -> None:
    """Refuse, before any job runs, a results folder that is a file or lies under one."""
    path = Path(out)
    for part in (path, *path.parents):
        if part.exists():
            if not part.is_dir():
                where = "is a file" if part == path else f"lies under the file '{part}'"
                raise UlvrError(f"--out '{out}' {where}: give a folder (created if missing)")
            return


def _metric_names(text: str) -> tuple[str, ...]:
    """Comma-separated metric names; `default` stands for the metric table's default set."""
    from benchmark.metrics.table import default_metrics

    names: list[str] = []
    for name in _csv(text):
        names += default_metrics() if name == "default" else [name]
    return tuple(dict.fromkeys(names))


def cmd_run(args: argparse.Namespace) -> int:
    """Run methods on a dataset into a results store, then write the report."""
    from benchmark.featcache import cache_beside
    from benchmark.manifest import load_dataset
    from benchmark.metrics.base import metric_class
    from benchmark.registry import create_method
    from benchmark.runner import plan_jobs, run_jobs
    from benchmark.store import ResultStore

    check_out_folder(args.out)
    metrics = _metric_names(args.metrics)
    for name in metrics:
        metric_class(name)
    executor = _executor(args)
    methods, points = _methods_and_points(args)
    options = _dotted_options(args.option)
    metric_options = _dotted_options(args.metric_option, "--metric-option", "fvd.stride=8")
    for name in methods:
        available = create_method(name, **options.get(name, {})).availability()
        if not available.ok:
            raise UlvrError(f"method '{name}' is unavailable here: {available.reason}")
    dataset = load_dataset(args.dataset, args.data_root, max_frames=args.frames,
                           sequences=_csv(args.sequences) if args.sequences else None)
    whole = load_dataset(args.dataset, args.data_root, max_frames=args.frames) \
        if args.sequences else dataset
    store = ResultStore(args.out)
    jobs = [job for name in methods
            for job in plan_jobs(list(dataset.sequences), [name], metrics, options,
                                 rate_points=points[name], device=args.device,
                                 metric_options=metric_options,
                                 dataset_sequences=list(whole.sequences),
                                 isolation=args.isolation)]
    # reference-side features (benchmark.featcache) live beside the store unless set elsewhere
    with cache_beside(store.feature_cache_dir):
        summary = run_jobs(jobs, store, force=args.force, progress=not args.quiet,
                           executor=executor)
    print(f"{summary.total} jobs: {summary.skipped} already done, {summary.ok} ran ok, "
          f"{len(summary.failed)} failed" + (" (interrupted)" if summary.interrupted else ""))
    for line in summary.failed:
        print(f"  failed: {line}", file=sys.stderr)
    if not summary.interrupted and not args.no_report:
        from benchmark.report import write_report

        report_dir = Path(args.out) / "report"
        summary_lines: list[str] = []
        files = _beside_page(store, report_dir / "index.html", {"study": _study(args.out)},
                             lambda: write_report(store, report_dir, summary=summary_lines))
        _print_summary(summary_lines)
        print(f"\nresults store: {store.records_dir}\ntables and plots: {report_dir} "
              f"({len(files)} files: rd_table_*, bd_table_*, matched_*, rd_*.png)\n"
              f"leaderboard page: {report_dir / 'index.html'}; open it with\n"
              f"  python3 -m webbrowser -t {(report_dir / 'index.html').resolve().as_uri()}")
    return summary.exit_code


DEFAULT_METHODS = "x264,x265,vvenc,svtav1,aom"


def _methods_and_points(args: argparse.Namespace) -> tuple[list[str], dict[str, list | None]]:
    """The run's methods and each one's rate point labels (None: all): from --suite, or from
    --methods and --rate-points (the same labels for every method)."""
    if args.suite is None:
        methods = _csv(args.methods or DEFAULT_METHODS)
        return methods, rate_points_per_method(args.rate_points, methods)
    from benchmark.suites import get_suite

    if args.methods or args.rate_points:
        raise UlvrError("--suite sets the methods and rate points: drop --methods and "
                        "--rate-points, or drop --suite")
    suite = get_suite(args.suite)
    return list(suite.methods), {name: suite.rate_points(name) for name in suite.methods}


def rate_points_per_method(text: str | None, methods: list[str]) -> dict[str, list | None]:
    """`--rate-points`: bare labels apply to every method without labels of its own;
    `METHOD=LABEL` items give one method its labels (repeat the method for several)."""
    shared: list[str] = []
    own: dict[str, list[str]] = {}
    for item in _csv(text) if text else []:
        method, sep, label = item.rpartition("=")
        if not sep:
            shared.append(item)
            continue
        if method not in methods or not label:
            raise UlvrError(f"--rate-points '{item}': write METHOD=LABEL with METHOD one of "
                            f"--methods ({', '.join(methods)})")
        own.setdefault(method, []).append(label)
    return {name: own.get(name) or shared or None for name in methods}


def _write_page(store, path: Path, options: dict) -> Path:
    """The leaderboard page (what `_beside_page` runs in its second process)."""
    from benchmark.leaderboard import write_html

    return write_html(store, path, **options)


def _beside_page(store, page: Path | None, page_options: dict,
                 report: Callable[[], list[Path]]) -> list[Path]:
    """Run `report` (tables and plots) here while a second process writes the page, when one
    is asked for: both read the same records on their own, so on 2 cores this takes the
    longer of the two instead of the sum. Returns the report's files, then the page."""
    if page is None:
        return report()
    import concurrent.futures as cf
    import multiprocessing

    with cf.ProcessPoolExecutor(1, mp_context=multiprocessing.get_context("spawn")) as pool:
        written = pool.submit(_write_page, store, page, page_options)
        files = report()
        return [*files, written.result()]


def _study(results: str, folder: str | None = None) -> dict | None:
    """The scored study the page shows: --study DIR, else <results>/study if it was scored."""
    path = Path(folder or Path(results) / "study") / "study_summary.json"
    if path.is_file():
        return json.loads(path.read_text())
    if folder:
        raise UlvrError(f"'{folder}' holds no scored study (study_summary.json): run "
                        f"'ulvr study score {folder}' first")
    return None


def _print_summary(lines: list[str]) -> None:
    """The headline summary (benchmark.headline), under a rule."""
    if lines:
        print("\nheadline (from the report's proposed-rates and BD tables):")
        for line in lines:
            print(line)


def _report_options(args: argparse.Namespace) -> object:
    """`ulvr report`'s comparison flags as comparisons.Options."""
    from benchmark.bdrate import parse_range
    from benchmark.comparisons import Options
    from benchmark.fronts import check_front

    if not 0 <= args.min_overlap <= 1:
        raise UlvrError(f"--min-overlap {args.min_overlap}: give a share between 0 and 1")
    return Options(anchors=tuple(_csv(args.anchor)), front=check_front(args.front),
                   bd_method=args.bd_method, bd_mode=args.bd_mode, min_overlap=args.min_overlap,
                   bd_range=parse_range(args.bd_range), targets=tuple(args.targets),
                   proposed=args.proposed, x_axis=args.x_axis)


def cmd_report(args: argparse.Namespace) -> int:
    """Write RD tables and plots from one results store, or several read as one."""
    from benchmark.report import RATES, write_report
    from benchmark.store import open_store

    first = args.results[0]
    out = args.output or str(Path(first) / "report")
    options = _report_options(args)
    study = _study(first, args.study) if args.html or args.study else None
    rates = RATES if args.rate == "both" else (args.rate,)
    summary_lines: list[str] = []
    store = open_store(args.results)
    page = Path(out) / "index.html" if args.html or args.study else None
    page_options = {"study": study, "options": options, "min_clips": args.min_clips,
                    "rate": "payload" if args.rate == "payload" else "total",
                    "force": args.force}
    files = _beside_page(store, page, page_options, lambda: write_report(
        store, out, log_x=not args.linear, force=args.force, min_clips=args.min_clips,
        rates=rates, options=options, summary=summary_lines))
    if args.sequence:
        from benchmark.figures import plot_per_frame, qualitative_grid

        dataset = args.dataset or store.dataframe()["dataset"].iloc[0]
        files += plot_per_frame(store, dataset, args.sequence, args.frame_metric, args.bpp,
                                Path(out))
        files += qualitative_grid(store, dataset, args.sequence, args.bpp, Path(out))
    for path in files:
        print(path)
    _print_summary(summary_lines)
    return 0


def cmd_export(args: argparse.Namespace) -> int:
    """Export all records as a flat CSV and Parquet table."""
    from benchmark.store import ResultStore

    frame = ResultStore(args.results).dataframe()
    out = Path(args.output or args.results)
    out.mkdir(parents=True, exist_ok=True)
    frame.to_csv(out / "results.csv", index=False)
    frame.to_parquet(out / "results.parquet", index=False)
    print(out / "results.csv")
    print(out / "results.parquet")
    return 0


def cmd_list(args: argparse.Namespace) -> int:
    """List methods, metrics, datasets or suites (methods with availability)."""
    if args.what == "methods":
        import textwrap

        from benchmark.registry import create_method, method_names

        skipped: list[str] = []
        names = method_names(skipped)
        for line in skipped:
            print(f"ulvr: warning: {line}", file=sys.stderr)
        width = max(16, *(len(name) for name in names))
        for name in names:
            method = create_method(name)
            avail = method.availability()
            state = "available" if avail.ok else "unavailable:"
            print(f"{name:{width}s} {method.kind.value:11s} causal={str(method.causal):5s} "
                  f"{len(method.rate_points())} rate points  {state}")
            if not avail.ok:    # the reason on its own lines, wrapped
                print(textwrap.fill(avail.reason, 96, initial_indent=" " * 4,
                                    subsequent_indent=" " * 4))
    elif args.what == "metrics":
        from benchmark.metrics.base import metric_class
        from benchmark.metrics.table import METRIC_TABLE

        for spec in METRIC_TABLE:
            avail = metric_class(spec.name).availability()
            state = "available" if avail.ok else f"unavailable: {avail.reason}"
            direction = "lower is better" if spec.lower_is_better else "higher is better"
            level = "set" if spec.set_level else "seq"
            print(f"{spec.name:12s} {direction:17s} {spec.colour:4s} {level} "
                  f"outputs={','.join(spec.outputs)}{' (default)' if spec.default else ''}"
                  f"  {state}\n{'':12s} {spec.description}")
    elif args.what == "rate-points":
        from benchmark.registry import create_method, method_names

        for name in [args.method] if args.method else method_names():
            method = create_method(name)
            print(f"{name}:")
            for rp in method.rate_points():
                params = ", ".join(f"{k}={v}" for k, v in rp.params.items())
                print(f"  {rp.label:26s} {params}")
    elif args.what == "suites":
        from benchmark.suites import SUITES

        for name, suite in SUITES.items():
            print(f"{name}: {suite.description}")
            for method, labels in suite.methods.items():
                print(f"  {method:20s} {','.join(labels) if labels else 'all default points'}")
    else:
        from benchmark.manifest import available_datasets, load_manifest

        for name in available_datasets():
            manifest = load_manifest(name)
            print(f"{name:10s} {len(manifest['sequences']):3d} sequences  "
                  f"{manifest.get('description', '')}")
    return 0


def cmd_compare(args: argparse.Namespace) -> int:
    """Compare two images or videos with the named metrics; print JSON."""
    from benchmark.metrics.base import create_metric, evaluate
    from benchmark.video_io import open_video

    ref, rec = open_video(args.reference), open_video(args.distorted)
    metrics = [create_metric(name, device=args.device) for name in args.metric]
    results = evaluate(ref.chunks(), rec.chunks(), metrics)
    values = {k: v for r in results.values() for k, v in r.values.items()}
    print(json.dumps(values, indent=2, sort_keys=True))
    return 0


def cmd_regress(args: argparse.Namespace) -> int:
    """Compare candidate results with reference results; exit 1 on a regression."""
    import tempfile

    from benchmark.regress import compare, parse_tolerances, write_verdict
    from benchmark.store import ResultStore

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
    from benchmark.manifest import load_dataset
    from benchmark.runner import plan_jobs, run_jobs
    from benchmark.store import ResultStore

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


def cmd_check_method(args: argparse.Namespace) -> int:
    """Check that a method's adapter follows the protocol (decoder isolated, bits = bytes)."""
    from benchmark.conformance import check_method
    from benchmark.manifest import load_dataset

    dataset = load_dataset(args.dataset, args.data_root, max_frames=args.frames,
                           sequences=[args.sequence])
    options = _dotted_options(args.option).get(args.method, {})
    checks = check_method(args.method, dataset.sequences[0], options, args.rate_point,
                          args.device)
    for check in checks:
        print(f"{'PASS' if check.ok else 'FAIL'}  {check.name:17s} {check.detail}")
    failed = [c.name for c in checks if not c.ok]
    print(f"{args.method}: " + ("conforms" if not failed else
                                f"does not conform ({', '.join(failed)})"))
    return 1 if failed else 0


def cmd_train_codec(args: argparse.Namespace) -> int:
    """Train a small CompressAI codec on the training segments (safetensors + JSON sidecar)."""
    from baselines.train_codec import run_from_args

    run_from_args(args)
    return 0


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="ulvr", description="ULVR-Bench: video reconstruction "
                                     "from ultra-low-bitrate representations")
    sub = parser.add_subparsers(dest="command", required=True)
    commands: dict[str, Callable[[argparse.Namespace], int]] = {}

    def add(name: str, func: Callable[[argparse.Namespace], int]) -> argparse.ArgumentParser:
        commands[name] = func
        p = sub.add_parser(name, help=func.__doc__)
        p.set_defaults(func=func)
        return p

    run = add("run", cmd_run)
    run.add_argument("--dataset", default="embedded", help="manifest name or path")
    run.add_argument("--methods", help=f"comma-separated method names (default {DEFAULT_METHODS})")
    run.add_argument("--suite", help="a named suite of methods and rate points instead of "
                     f"--methods/--rate-points: {', '.join(SUITES)} ('ulvr list suites')")
    run.add_argument("--metrics", default="psnr,ms-ssim",
                     help="comma-separated metric names; 'default' = the default set "
                     "('ulvr list metrics' marks it)")
    run.add_argument("--metric-option", action="append", metavar="METRIC.KEY=VALUE",
                     help="a metric option, e.g. fvd.stride=8 (repeatable)")
    run.add_argument("--rate-points", metavar="LABEL|METHOD=LABEL,...",
                     help="comma-separated rate point labels for every method, or METHOD=LABEL "
                     "items for one (default: all; 'ulvr list rate-points METHOD' shows them)")
    run.add_argument("--sequences", help="comma-separated sequence names (default: all)")
    run.add_argument("--frames", type=_positive_int, help="evaluate at most this many frames")
    run.add_argument("--data-root", help="folder with the dataset files (or set ULVR_DATA)")
    run.add_argument("--out", default=DEFAULT_OUT,
                     help=f"results folder, created if missing (default {DEFAULT_OUT})")
    run.add_argument("--jobs", type=_positive_int, help="parallel jobs: local worker processes "
                     "(default 1); with --executor ray a cap on tasks in flight (default: none)")
    run.add_argument("--force", action="store_true", help="re-run finished jobs")
    run.add_argument("--device", default="cpu", help="cpu or cuda: where learned methods and "
                     "metrics run")
    run.add_argument("--executor", default="local",
                     help="where jobs run: local (this machine, default) or ray (a Ray cluster; "
                     "docs/cluster.md)")
    run.add_argument("--address", help="ray: the cluster to join (auto, HOST:PORT or "
                     "ray://HOST:10001); default: start a local Ray for this run")
    run.add_argument("--retries", type=_count, help="ray: re-runs of a task whose worker died "
                     "(default 2); a job that fails by itself is never retried")
    run.add_argument("--isolation", choices=("process", "none"), default="process",
                     help="where decoders run: process (default: a separate worker process "
                     "on the stream files alone, with Landlock where the kernel has it) or "
                     "none (in the job's process, for debugging; records and report say so)")
    run.add_argument("--timeout", type=_positive_float, metavar="SECONDS",
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

    from benchmark.matched import DEFAULT_TARGETS

    report = add("report", cmd_report)
    report.add_argument("results", nargs="*", default=[DEFAULT_OUT],
                        help="results folders (default %(default)s); several are reported "
                        "together, e.g. the embedded and native references side by side")
    report.add_argument("--output", help="folder for tables and plots (default: the first "
                        "RESULTS/report)")
    report.add_argument("--anchor", default="x265,lowres-bicubic",
                        help="BD anchors, comma-separated (default x265,lowres-bicubic): the "
                        "first writes bd_table_DATASET, each other bd_table_DATASET_vs_NAME")
    report.add_argument("--front", default="pareto", choices=("pareto", "hull", "none"),
                        help="curve of an entry with several configurations per rate: its "
                        "Pareto front per metric (default), upper convex hull, or every point")
    report.add_argument("--min-overlap", type=float, default=0.5, metavar="SHARE",
                        help="BD needs the shared interval to cover this share of the shorter "
                        "curve's range (default 0.5)")
    report.add_argument("--bd-range", metavar="LO:HI",
                        help="BD only on front points within this rate range (x-axis units)")
    report.add_argument("--proposed", metavar="ENTRY",
                        help="entry whose own rates the matched_proposed table uses (default: "
                        "the one entry of kind proposed)")
    report.add_argument("--bd-method", default="pchip", choices=("pchip", "akima", "cubic"))
    report.add_argument("--bd-mode", default="per-sequence", choices=("per-sequence", "averaged"),
                        help="BD per sequence then averaged (JVET CTC, default), or on "
                        "dataset-averaged RD points")
    report.add_argument("--targets", type=_bpp_list, default=list(DEFAULT_TARGETS),
                        metavar="BPP,BPP,...", help="matched-rate table target rates "
                        f"(default {','.join(f'{t:g}' for t in DEFAULT_TARGETS)})")
    report.add_argument("--rate", default="both", choices=("both", "total", "payload"),
                        help="tables counting every bit (total), leaving out parameter sets "
                        "sent out of band (payload, files ending _payload), or both (default)")
    report.add_argument("--min-clips", type=int, default=64,
                        help="flag FVD values from fewer clips than this as unreliable")
    report.add_argument("--x-axis", default="bpp", choices=("bpp", "kbps"))
    report.add_argument("--linear", action="store_true", help="linear rate axis (default log)")
    report.add_argument("--html", action="store_true", help="also write the leaderboard page")
    report.add_argument("--study", metavar="DIR", help="scored subjective study the page shows "
                        "(default: RESULTS/study when it holds study_summary.json)")
    report.add_argument("--sequence", help="also draw per-frame curves and a qualitative grid "
                        "for this sequence")
    report.add_argument("--dataset", help="dataset of --sequence (default: the first)")
    report.add_argument("--bpp", type=float, default=0.005,
                        help="per method, use the rate point closest to this bpp")
    report.add_argument("--frame-metric", default="psnr-rgb")
    report.add_argument("--force", action="store_true",
                        help="report records of different harness versions together")

    export = add("export", cmd_export)
    export.add_argument("results", nargs="?", default=DEFAULT_OUT)
    export.add_argument("--output")

    lst = add("list", cmd_list)
    lst.add_argument("what", choices=("methods", "metrics", "datasets", "suites", "rate-points"))
    lst.add_argument("method", nargs="?", help="rate-points: only this method's")

    regress = add("regress", cmd_regress)
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
    regress.add_argument("--jobs", type=_positive_int, default=1)
    regress.add_argument("--device", default="cpu")
    regress.add_argument("--output", default="regress.json", help="JSON verdict path")

    check = add("check-method", cmd_check_method)
    check.add_argument("method", help="the method to check ('ulvr list methods')")
    check.add_argument("--dataset", default="embedded")
    check.add_argument("--sequence", default="carphone", help="the clip (default carphone)")
    check.add_argument("--frames", type=_positive_int, default=8,
                       help="its first frames (default 8)")
    check.add_argument("--rate-point", help="label (default: the method's first)")
    check.add_argument("--option", action="append", metavar="METHOD.KEY=VALUE",
                       help="a method option (repeatable)")
    check.add_argument("--data-root")
    check.add_argument("--device", default="cpu")

    train_codec = add("train-codec", cmd_train_codec)
    from baselines.train_codec import add_arguments as train_codec_arguments

    train_codec_arguments(train_codec)

    from methods.causal_diffusion.cli import add_commands as cdm_commands

    cdm_commands(sub)

    from benchmark.study.cli import add_commands as study_commands

    study_commands(sub, _bpp_list, DEFAULT_TARGETS)

    compare = add("compare", cmd_compare)
    compare.add_argument("reference")
    compare.add_argument("distorted")
    compare.add_argument("--metric", action="append", required=True)
    compare.add_argument("--device", default="cpu")
    return parser


def main(argv: list[str] | None = None) -> int:
    """Entry point: run a subcommand; user errors become one line on stderr and exit 2."""
    from benchmark.alloc import reuse_freed_memory

    reuse_freed_memory()
    args = build_parser().parse_args(argv)
    try:
        return args.func(args)
    except UlvrError as exc:
        print(f"ulvr: error: {exc}", file=sys.stderr)
        return 2


if __name__ == "__main__":
    sys.exit(main())
