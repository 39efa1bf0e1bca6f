"""A per-job time limit (`ulvr run --timeout`): the job is interrupted where it is and recorded
as failed with the reason, the same way under every executor.

It uses the process's real-time interval timer (SIGALRM), so it works where jobs run: on the
main thread of a worker process (the local pool, a Ray task) or of the driver (--jobs 1).
Python runs the handler between bytecodes, so a job inside one long native call (a big
convolution) stops when that call returns.
"""

from __future__ import annotations

import signal
import threading
from collections.abc import Iterator
from contextlib import contextmanager

from benchmark.core.errors import UlvrError

DECODE_TIMEOUT_S = 600.0   # check-method's default limit on one encode or decode


class JobTimeout(Exception):
    """A job ran past its time limit."""


@contextmanager
def deadline(seconds: float | None) -> Iterator[None]:
    """Raise JobTimeout in the enclosed block once `seconds` have passed (None: no limit)."""
    if not seconds:
        yield
        return
    if threading.current_thread() is not threading.main_thread():
        raise UlvrError("--timeout needs jobs on a process's main thread; run without it")

    def expire(signum: int, frame: object) -> None:
        raise JobTimeout(f"the job ran past --timeout {seconds:g} s and was stopped")

    previous = signal.signal(signal.SIGALRM, expire)
    signal.setitimer(signal.ITIMER_REAL, seconds)
    try:
        yield
    finally:
        signal.setitimer(signal.ITIMER_REAL, 0)
        signal.signal(signal.SIGALRM, previous)
