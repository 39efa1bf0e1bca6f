"""glibc malloc settings for job processes: freed memory is reused, not handed back to the kernel.

By default glibc serves every block over its mmap threshold (128 KB, rising to at most 32 MB)
with a fresh mmap and unmaps it on free, so the kernel faults in and zeroes those pages again
for the next block of the same size. Networks and frame buffers allocate such blocks for every
frame: measured, 36 s of system time against 41 s of user time for one cdm-teacher job, and
10 s against 21 s for DISTS on one 32-frame job. With mmap off for large blocks (M_MMAP_MAX 0)
and the heap trimmed only above 1 GiB of free memory at its top, those blocks come from the heap
and are reused: 0.3 s of system time for the same teacher job. Peak RSS stays bounded by the
largest working set (perf.memory measures it at 1080p and 100 or 300 frames) only
if free memory is handed back now and then: a 1080p stream allocates blocks of many sizes
(MS-SSIM's scales), the heap fragments, and its free but resident pages grew RSS with the frame
count (1139 MB at 100 frames, 1753 at 300). `release_free_memory`, called once per chunk of
frames, trims the heap when more than 256 MiB of it is free: small frames never get there, so
they keep their reuse.
"""

from __future__ import annotations

import ctypes
import ctypes.util
import functools

M_TRIM_THRESHOLD = -1
M_MMAP_MAX = -4
TRIM_THRESHOLD = 1 << 30
RELEASE_ABOVE = 256 << 20   # free heap bytes above which release_free_memory trims


class _MallInfo2(ctypes.Structure):
    _fields_ = [(name, ctypes.c_size_t) for name in (
        "arena", "ordblks", "smblks", "hblks", "hblkhd", "usmblks", "fsmblks", "uordblks",
        "fordblks", "keepcost")]


@functools.cache
def _libc() -> ctypes.CDLL | None:
    """The C library, looked up once (find_library runs ldconfig; this is called per chunk)."""
    name = ctypes.util.find_library("c")
    try:
        return ctypes.CDLL(name) if name else None
    except OSError:
        return None


def _mallopt(param: int, value: int) -> bool:
    libc = _libc()
    try:
        return bool(libc and libc.mallopt(param, value))
    except AttributeError:
        return False


def free_heap_bytes() -> int | None:
    """Bytes the heap holds free (glibc's mallinfo2 fordblks); None without glibc >= 2.33."""
    libc = _libc()
    if libc is None or not hasattr(libc, "mallinfo2"):
        return None
    libc.mallinfo2.restype = _MallInfo2   # idempotent: the CDLL is shared
    return int(libc.mallinfo2().fordblks)


def release_free_memory(above: int = RELEASE_ABOVE) -> bool:
    """Hand the heap's free pages back to the kernel (malloc_trim) when more than `above` bytes
    are free; True when it trimmed. Bounds RSS over a long stream of large frames."""
    free = free_heap_bytes()
    if free is None or free <= above:
        return False
    _libc().malloc_trim(0)
    return True


def reuse_freed_memory() -> bool:
    """Serve large blocks from the heap and keep freed memory for reuse in this process; False
    where glibc is not there (other allocators have their own policies)."""
    return _mallopt(M_MMAP_MAX, 0) and _mallopt(M_TRIM_THRESHOLD, TRIM_THRESHOLD)
