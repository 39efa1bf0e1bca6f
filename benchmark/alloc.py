"""glibc malloc settings for job processes: freed memory is reused, not handed back to the kernel.

By default glibc serves every block over its mmap threshold (128 KB, rising to at most 32 MB)
with a fresh mmap and unmaps it on free, so the kernel faults in and zeroes those pages again
for the next block of the same size. Networks and frame buffers allocate such blocks for every
frame: measured, 36 s of system time against 41 s of user time for one cdm-teacher job, and
10 s against 21 s for DISTS on one 32-frame job. With mmap off for large blocks (M_MMAP_MAX 0)
and the heap trimmed only above 1 GiB of free memory at its top, those blocks come from the heap
and are reused: 0.3 s of system time for the same teacher job. Peak RSS stays bounded by the
largest working set (benchmark.perf.memory measures it at 1080p and 100 or 300 frames).
"""

from __future__ import annotations

import ctypes
import ctypes.util

M_TRIM_THRESHOLD = -1
M_MMAP_MAX = -4
TRIM_THRESHOLD = 1 << 30


def _mallopt(param: int, value: int) -> bool:
    name = ctypes.util.find_library("c")
    if not name:
        return False
    try:
        return bool(ctypes.CDLL(name).mallopt(param, value))
    except (OSError, AttributeError):
        return False


def reuse_freed_memory() -> bool:
    """Serve large blocks from the heap and keep freed memory for reuse in this process; False
    where glibc is not there (other allocators have their own policies)."""
    return _mallopt(M_MMAP_MAX, 0) and _mallopt(M_TRIM_THRESHOLD, TRIM_THRESHOLD)
