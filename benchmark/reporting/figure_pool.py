"""RD figures drawn in a second process while the report computes its tables."""

from __future__ import annotations

from pathlib import Path

from benchmark.analysis.comparisons import Comparison


def plot_all(comp: Comparison, metrics: list[str], stems: list[Path], log_x: bool,
             formats: tuple[str, ...]) -> list[Path]:
    """Every figure of one comparison (one task of a FigurePool): matplotlib is imported
    here, in the drawing process, not by the report's."""
    from benchmark.reporting.plots import plot_rd

    return [path for metric, stem in zip(metrics, stems, strict=True)
            for path in plot_rd(comp, metric, stem, log_x, formats)]


def _import_plots() -> None:
    import benchmark.reporting.plots  # noqa: F401


class FigurePool:
    """Draws RD figures in one second process while the report computes and writes its tables:
    on 2 cores a report takes the longer of the two instead of their sum. Use as a context
    manager; `submit` returns the paths the figures will have, `finish` waits for them."""

    def __init__(self, warm: bool = False) -> None:
        """`warm`: start the process and import matplotlib now, while the caller computes
        the comparison the figures need (else at the first `submit`)."""
        self._pool = None
        self._futures: list = []
        if warm:
            self._start()

    def __enter__(self) -> FigurePool:
        return self

    def _start(self) -> None:
        import concurrent.futures as cf
        import multiprocessing

        self._pool = cf.ProcessPoolExecutor(1, mp_context=multiprocessing.get_context("fork"))
        self._pool.submit(_import_plots)

    def __exit__(self, *exc: object) -> None:
        if self._pool is not None:
            self._pool.shutdown(wait=exc[0] is None, cancel_futures=exc[0] is not None)

    def submit(self, comp: Comparison, metrics: list[str], stems: list[Path], log_x: bool,
               formats: tuple[str, ...]) -> list[Path]:
        """Queue one comparison's figures; the rates table's rows are all a figure needs."""
        if not metrics or not formats:
            return []
        if self._pool is None:
            self._start()
        slim = Comparison(comp.dataset, comp.rate, comp.options, comp.rd, comp.present,
                          comp.proposed, comp.proposed_note)
        self._futures.append(self._pool.submit(plot_all, slim, metrics, stems, log_x,
                                               formats))
        return [stem.with_suffix(f".{ext}") for stem in stems for ext in formats]

    def finish(self) -> None:
        """Wait for every queued figure (a drawing error is raised here)."""
        for future in self._futures:
            future.result()
        self._futures.clear()
