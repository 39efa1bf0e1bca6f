"""Analysis: numbers computed from stored records, never by running anything. Entries (a
method in one configuration: `entries`), RD rows (`rd`), Pareto fronts and hulls (`fronts`),
BD-rate (`bdrate`), matched-rate interpolation (`matched`), set metrics pooled over clips
(`setmetrics`), one dataset's comparison (`comparisons`) and regression verdicts (`regress`).

May import: `benchmark.metrics` (its table of outputs), `benchmark.data`, `benchmark.core`.
Never `execution`, `reporting`, `study` or `cli`.
"""
