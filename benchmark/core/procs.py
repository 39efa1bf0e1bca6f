"""Process helpers shared by the executors and the isolated decoder: thread budgets, and
workers that die with the process that started them."""

from __future__ import annotations

import os
import threading
import time


def set_threads(threads: int) -> None:
    """Give a job's torch and OpenMP the cores it was given, no more (oversubscribed torch
    threads are many times slower)."""
    os.environ["OMP_NUM_THREADS"] = str(threads)
    import torch

    torch.set_num_threads(threads)


def exit_with_parent(parent: int, interval: float = 1.0) -> threading.Thread:
    """Watch the driver from a worker: when it dies (SIGKILL, SIGTERM), the worker exits too,
    instead of living on as an orphan that keeps running jobs and writing records."""

    def watch() -> None:
        while True:
            time.sleep(interval)
            if os.getppid() != parent:
                os._exit(1)

    thread = threading.Thread(target=watch, name="ulvr-parent-watch", daemon=True)
    thread.start()
    return thread
