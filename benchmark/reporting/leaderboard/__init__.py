"""The leaderboard page (`ulvr report --html`, written by `ulvr run` and `make demo`)."""

from benchmark.reporting.leaderboard.page import write_html

__all__ = ["write_html"]
