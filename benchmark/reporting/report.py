"""Reports: per-dataset RD tables, BD tables, matched-rate tables (Markdown, CSV, LaTeX; written
by `benchmark.reporting.dataset_tables`) and RD plots (PNG, PDF with --plots all), each rate
accounting in its own process and the figures in another.

Rows are entries (a method in one configuration, `benchmark.analysis.entries`): two configurations
of a method are two rows, labelled by what differs, and the newest record of a job counts. Per entry
and rate point, values are averaged over sequences weighted by frame count (as DCVC does). An entry
x rate point missing a sequence, or with a failed job, is shown with its job count and NaN values:
never averaged over the sequences that happened to succeed. BD values are computed per sequence and
averaged (JVET CTC); the matched-rate table compares entries at fixed bpp.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

from benchmark.analysis.comparisons import (
    Options,
    complete,
    start,
)
from benchmark.analysis.entries import Entries
from benchmark.analysis.rd import (
    RATES,
    load_entries,
    rd_table,
    with_rate,
)
from benchmark.analysis.setmetrics import DEFAULT_MIN_CLIPS, fvd_table
from benchmark.core.errors import UlvrError
from benchmark.core.pandas_setup import pd
from benchmark.data.store import ResultStore
from benchmark.reporting.dataset_tables import write_dataset
from benchmark.reporting.figure_pool import FigurePool
from benchmark.reporting.headline import (
    BD_METRICS,
    HEADLINE_METRICS,
    headline_data,
    headline_lines,
    headline_markdown,
)

PLOTS = {   # `ulvr report --plots`: which RD figures, in which formats
    "default": "PNG of the headline's metrics, at the first rate accounting",
    "all": "PNG and PDF of every output, at every rate accounting",
    "none": "no RD figures",
}


def plotted(plots: str, present: list[str], first_rate: bool) -> tuple[list[str], tuple]:
    """The outputs to draw and the file formats, for one dataset and rate accounting."""
    if plots not in PLOTS:
        raise UlvrError(f"--plots {plots}: choose one of {', '.join(PLOTS)}")
    if plots == "all":
        return list(present), ("png", "pdf")
    if plots == "none" or not first_rate:
        return [], ()
    return [m for m in present if m in HEADLINE_METRICS or m in BD_METRICS], ("png",)


def write_report(store: ResultStore, out_dir: str | Path, force: bool = False,
                 log_x: bool = True, min_clips: int = DEFAULT_MIN_CLIPS,
                 rates: tuple[str, ...] = RATES, options: Options | None = None,
                 summary: list[str] | None = None, plots: str = "default") -> list[Path]:
    """Write RD, BD (one table per anchor), fixed-target and proposed-rate tables and RD plots
    (`plots`: a key of PLOTS) per dataset and rate accounting (payload files end in
    `_payload`); returns the files. `summary`, when given, receives the headline lines of
    every dataset, at the first rate."""
    options = options or Options()
    out_dir = Path(out_dir)
    entries, all_records = load_entries(store, force)
    out_dir.mkdir(parents=True, exist_ok=True)
    job = RateReport(entries, all_records, fvd_table(all_records, entries.frame, min_clips),
                     options, out_dir, log_x, plots, rates[0])
    written, headlines = [], []
    with _beside(job, rates[1:]) as others:   # the other rate accountings in a second process
        for files, heads in [job(rates[0]), *others()]:
            written += files
            headlines += heads
    if summary is not None:
        summary += [line for head in headlines if head.get("rate") == rates[0]
                    for line in headline_lines(head)]
    written += write_headline(headlines, out_dir)
    return written


@dataclass
class RateReport:
    """Every dataset's tables (and figures) under one rate accounting: a call is one rate."""

    entries: Entries
    records: list[dict]
    fvd: pd.DataFrame
    options: Options
    out_dir: Path
    log_x: bool
    plots: str
    first_rate: str

    def __call__(self, rate: str) -> tuple[list[Path], list[dict]]:
        frame = with_rate(self.entries.frame, rate)
        table = rd_table(frame, self.fvd)
        suffix = "" if rate == "total" else f"_{rate}"
        written, headlines = [], []
        drawn = self.plots == "all" or (self.plots != "none" and rate == self.first_rate)
        with FigurePool(warm=drawn) as pool:   # figures drawn in a second process meanwhile
            for dataset, part in table.groupby("dataset"):
                dataset_frame = frame[frame["dataset"] == dataset]
                dataset_records = [r for r in self.records if r.get("dataset") == dataset]
                comp = start(dataset_frame, part, dataset, rate, self.options)
                outputs, formats = plotted(self.plots, comp.present, rate == self.first_rate)
                written += pool.submit(comp, outputs, [self.out_dir / f"rd_{dataset}_{m}{suffix}"
                                                       for m in outputs], self.log_x, formats)
                comp = complete(dataset_frame, comp)   # BD and matched tables, meanwhile
                written += write_dataset(comp, dataset_frame, dataset_records, self.entries,
                                          self.out_dir, suffix)
                headlines.append(headline_data(comp))
            pool.finish()
        return written, headlines


@contextmanager
def _beside(job: RateReport, rates: tuple[str, ...]) -> Iterator[Callable[[], list]]:
    """Run `job` for `rates` in forked processes (the records are already in memory, so a fork
    starts at once) while the caller runs its own rate; yields a function that waits for
    their results, in order."""
    if not rates:
        yield list
        return
    import concurrent.futures as cf
    import multiprocessing

    with cf.ProcessPoolExecutor(len(rates), mp_context=multiprocessing.get_context("fork")) \
            as pool:
        futures = [pool.submit(job, rate) for rate in rates]
        yield lambda: [future.result() for future in futures]


def write_headline(headlines: list[dict], out_dir: Path) -> list[Path]:
    """report/headline.json and headline.md: every dataset's headline, each rate."""
    import json

    md, js = out_dir / "headline.md", out_dir / "headline.json"
    md.write_text(headline_markdown(headlines))
    js.write_text(json.dumps(headlines, indent=1, allow_nan=False))
    return [md, js]
