"""Execution: turning (sequence, method, rate point) into records. Jobs and their records
(`jobs`), planning and resume (`runner`), executors (`executor`: local pool; `ray_executor`),
job folders (`workdirs`), decoder isolation and its Landlock sandbox (`isolation`, `sandbox`),
fingerprints of what produced a number (`fingerprint`), the protocol check of an adapter
(`conformance`) and named suites (`suites`).

May import: `benchmark.metrics`, `benchmark.protocol`, `benchmark.data`, `benchmark.core`.
Never `analysis`, `reporting`, `study` or `cli`.
"""
