"""The job processes' malloc settings: freed blocks are reused, and free heap pages go back to
the kernel once there are many of them (RSS flat over a long 1080p stream)."""

from __future__ import annotations

import subprocess
import sys
import textwrap

import pytest

from benchmark.core.alloc import free_heap_bytes

PROBE = textwrap.dedent("""
    import numpy as np
    from benchmark.core.alloc import (RELEASE_ABOVE, free_heap_bytes, release_free_memory,
                                 reuse_freed_memory)

    def rss_mb():
        return int(open("/proc/self/status").read().split("VmRSS:")[1].split()[0]) // 1024

    assert reuse_freed_memory()
    assert not release_free_memory()                      # nothing much free yet: no trim
    block = np.ones(400 << 20, dtype=np.uint8)           # from the heap (mmap is off), touched
    held = rss_mb()
    del block
    assert free_heap_bytes() > RELEASE_ABOVE              # freed but kept, and resident
    assert rss_mb() > held - 50
    assert release_free_memory()
    assert rss_mb() < held - 300, (held, rss_mb())       # the pages went back to the kernel
    again = np.ones(400 << 20, dtype=np.uint8)            # the heap serves it again
    assert rss_mb() > held - 50
    del again
    print("ok")
""")


@pytest.mark.skipif(free_heap_bytes() is None, reason="needs glibc >= 2.33 (mallinfo2); "
                    "other C libraries keep their own allocator policies")
def test_free_heap_pages_go_back_to_the_kernel_above_the_threshold():
    """In a fresh process with the job settings: a freed 400 MB block stays resident (reuse),
    and release_free_memory() hands it back, measured in the process's own VmRSS."""
    out = subprocess.run([sys.executable, "-c", PROBE], capture_output=True, text=True,
                         timeout=120)
    assert out.returncode == 0 and out.stdout.strip() == "ok", out.stderr
