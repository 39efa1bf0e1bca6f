"""The browser tests' access to headless Chromium (`benchmark.reporting.headless`), or a skip that
says why.

Chromium and its driver (Debian's `chromium` and `chromium-driver`) are installed by `make test`
where it can (root and apt-get), never by a test. Where they are missing a browser test skips
and says why, with the last line of the install log `make test` leaves in the virtual
environment."""

from __future__ import annotations

import sys
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import pytest

from benchmark.reporting import headless
from benchmark.reporting.headless import console_errors

INSTALL_LOG = Path(sys.prefix) / "browser-install.log"   # written by the Makefile's browser step

__all__ = ["chromium", "console_errors", "executables"]


def executables() -> tuple[str, str]:
    """(chromium, chromedriver), or skip with the reason they are missing."""
    exe, driver = headless.executables()
    if exe and driver:
        return exe, driver
    missing = " and ".join(n for n, p in (("chromium", exe), ("chromedriver", driver)) if not p)
    lines = INSTALL_LOG.read_text().strip().splitlines() if INSTALL_LOG.is_file() else []
    why = lines[-1] if lines else "`make test` did not try to install it here"
    pytest.skip(f"headless {missing} not installed ({why}): run `make test` as root on a "
                "machine with apt-get, or install Debian's chromium and chromium-driver")


@contextmanager
def chromium(profile: Path, **size: int) -> Iterator[object]:
    """A WebDriver session, or skip where the browser is missing."""
    executables()
    with headless.chromium(profile, **size) as driver:
        yield driver
