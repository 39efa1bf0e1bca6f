"""`ulvr report` and `ulvr export`: tables, plots and the leaderboard page of finished results."""

from __future__ import annotations

import argparse
import json
from collections.abc import Callable
from pathlib import Path

from benchmark.cli.common import (
    DEFAULT_OUT,
    add_command,
    bpp_list,
    csv_list,
    positive_int,
)
from benchmark.core.errors import UlvrError


def _write_page(store, path: Path, options: dict) -> Path:
    """The leaderboard page (what `_beside_page` runs in its second process)."""
    from benchmark.reporting.leaderboard import write_html

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
    """The headline summary (benchmark.reporting.headline), under a rule."""
    if lines:
        print("\nheadline (from the report's proposed-rates and BD tables):")
        for line in lines:
            print(line)


def _report_options(args: argparse.Namespace) -> object:
    """`ulvr report`'s comparison flags as comparisons.Options."""
    from benchmark.analysis.bdrate import parse_range
    from benchmark.analysis.comparisons import DEFAULT_ANCHORS, Options
    from benchmark.analysis.fronts import check_front

    if not 0 <= args.min_overlap <= 1:
        raise UlvrError(f"--min-overlap {args.min_overlap}: give a share between 0 and 1")
    anchors = tuple(csv_list(args.anchor)) if args.anchor else DEFAULT_ANCHORS
    return Options(anchors=anchors, front=check_front(args.front),
                   bd_method=args.bd_method, bd_mode=args.bd_mode, min_overlap=args.min_overlap,
                   bd_range=parse_range(args.bd_range), targets=tuple(args.targets),
                   proposed=args.proposed, x_axis=args.x_axis, digits=args.digits)


def cmd_report(args: argparse.Namespace) -> int:
    """Write RD tables and plots from one results store, or several read as one."""
    from benchmark.analysis.rd import RATES
    from benchmark.data.store import open_store
    from benchmark.reporting.report import write_report

    first = args.results[0]
    out = args.output or str(Path(first) / "report")
    options = _report_options(args)
    study = _study(first, args.study) if args.html or args.study else None
    rates = RATES if args.rate == "both" else (args.rate,)
    summary_lines: list[str] = []
    store = open_store(args.results)
    if args.anchor:
        check_anchors(csv_list(args.anchor), store, args.results)
    page = Path(out) / "index.html" if args.html or args.study else None
    page_options = {"study": study, "options": options, "min_clips": args.min_clips,
                    "rate": "payload" if args.rate == "payload" else "total",
                    "force": args.force}
    files = _beside_page(store, page, page_options, lambda: write_report(
        store, out, log_x=not args.linear, force=args.force, min_clips=args.min_clips,
        rates=rates, options=options, summary=summary_lines, plots=args.plots))
    if args.sequence:
        from benchmark.reporting.figures import plot_per_frame, qualitative_grid

        dataset = args.dataset or store.dataframe()["dataset"].iloc[0]
        files += plot_per_frame(store, dataset, args.sequence, args.frame_metric, args.bpp,
                                Path(out))
        files += qualitative_grid(store, dataset, args.sequence, args.bpp, Path(out))
    for path in files:
        print(path)
    _print_summary(summary_lines)
    return 0


def check_anchors(anchors: list[str], store, results: list[str]) -> None:
    """Refuse, before any file is written, an --anchor with no results in the store."""
    frame = store.dataframe()
    methods = sorted(set(frame["method"])) if len(frame) else []
    for anchor in anchors:
        if anchor not in methods:
            raise UlvrError(f"--anchor {anchor}: no results of '{anchor}' in "
                            f"{', '.join(results)}; its methods are {', '.join(methods) or 'none'}")


def cmd_export(args: argparse.Namespace) -> int:
    """Export all records as a flat CSV and Parquet table."""
    from benchmark.data.store import ResultStore

    frame = ResultStore(args.results).dataframe()
    out = Path(args.output or args.results)
    out.mkdir(parents=True, exist_ok=True)
    frame.to_csv(out / "results.csv", index=False)
    frame.to_parquet(out / "results.parquet", index=False)
    print(out / "results.csv")
    print(out / "results.parquet")
    return 0


def add_commands(sub: argparse._SubParsersAction) -> None:
    """Add `report`, `export` to the ulvr parser."""
    from benchmark.analysis.matched import DEFAULT_TARGETS

    report = add_command(sub, "report", cmd_report)
    report.add_argument("results", nargs="*", default=[DEFAULT_OUT],
                        help="results folders (default %(default)s); several are reported "
                        "together, e.g. the embedded and native references side by side")
    report.add_argument("--output", help="folder for tables and plots (default: the first "
                        "RESULTS/report)")
    report.add_argument("--anchor",
                        help="BD anchors, comma-separated (default x265,lowres-bicubic, the "
                        "second only where it was run): the first writes bd_table_DATASET, "
                        "each other bd_table_DATASET_vs_NAME")
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
    report.add_argument("--targets", type=bpp_list, default=list(DEFAULT_TARGETS),
                        metavar="BPP,BPP,...", help="matched-rate table target rates "
                        f"(default {','.join(f'{t:g}' for t in DEFAULT_TARGETS)})")
    report.add_argument("--rate", default="both", choices=("both", "total", "payload"),
                        help="tables counting every bit (total), leaving out parameter sets "
                        "sent out of band (payload, files ending _payload), or both (default)")
    report.add_argument("--min-clips", type=int, default=64,
                        help="flag FVD values from fewer clips than this as unreliable")
    report.add_argument("--x-axis", default="bpp", choices=("bpp", "kbps"))
    report.add_argument("--linear", action="store_true", help="linear rate axis (default log)")
    report.add_argument("--plots", default="default", choices=("default", "all", "none"),
                        help="RD figures: default (PNG of the headline's metrics at the first "
                        "rate accounting), all (PNG and PDF of every output and rate) or none")
    report.add_argument("--digits", type=positive_int, default=3,
                        help="significant figures in the paper-ready LaTeX (paper_*.tex; "
                        "default 3)")
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

    export = add_command(sub, "export", cmd_export)
    export.add_argument("results", nargs="?", default=DEFAULT_OUT)
    export.add_argument("--output")
