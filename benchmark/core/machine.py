"""The machine a figure was measured on, in one line: CPU model, vector extensions, cores (each
job record carries it, so a timing read back from records names its machine)."""

from __future__ import annotations

import os


def cpu_line() -> str:
    """'AMD EPYC (AVX-512), 2 cores': every timing a script prints names it."""
    try:
        text = open("/proc/cpuinfo").read()
    except OSError:
        return f"unknown CPU, {os.cpu_count()} cores"
    model = next((line.split(":", 1)[1].strip() for line in text.splitlines()
                  if line.startswith("model name")), "unknown CPU")
    simd = "AVX-512" if "avx512f" in text else "AVX2" if "avx2" in text else "no AVX2"
    return f"{model} ({simd}), {os.cpu_count()} cores"
