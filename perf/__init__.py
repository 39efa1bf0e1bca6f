"""Benchmark scripts that print figures (`python -m perf.NAME` from the checkout): speed,
memory and acceptance checks, each naming its CPU. Outside the installed package; may import
anything of the project."""
