"""Job work folders in the temporary folder: one per job (and one per decoder worker), named
after the process that owns it, so a later run can sweep those whose owner died."""

from __future__ import annotations

import os
import shutil
import tempfile
from pathlib import Path

JOB_DIR_PREFIX = "ulvr-job-"     # job work folders: ulvr-job-<pid>-<random>


def _pid_alive(pid: int) -> bool:
    """Whether a process with this id exists (one of another user's counts as alive)."""
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


def job_workdir() -> Path:
    """A fresh work folder for one job, named after this process so a later run can tell
    whether its owner is still alive."""
    return Path(tempfile.mkdtemp(prefix=f"{JOB_DIR_PREFIX}{os.getpid()}-"))


def clean_stale_workdirs(root: str | os.PathLike | None = None) -> list[Path]:
    """Remove job work folders whose process is dead (a SIGKILLed run leaves them behind)."""
    removed = []
    for path in Path(root or tempfile.gettempdir()).glob(f"{JOB_DIR_PREFIX}*-*"):
        pid = path.name[len(JOB_DIR_PREFIX):].split("-", 1)[0]
        if pid.isdigit() and path.is_dir() and not _pid_alive(int(pid)):
            shutil.rmtree(path, ignore_errors=True)
            removed.append(path)
    return removed
