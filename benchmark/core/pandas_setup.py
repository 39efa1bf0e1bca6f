"""pandas as this project uses it: text columns as Python objects, not pandas 3's Arrow-backed
`str` dtype, whose per-element access cost `ulvr report` a third of its CPU time for the same
tables (perf.report_time). Import `pd` from here, never pandas directly."""

from __future__ import annotations

import pandas as pd

pd.set_option("future.infer_string", False)

__all__ = ["pd"]
