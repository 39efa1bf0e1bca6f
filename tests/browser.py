"""Headless Chromium driven through WebDriver (selenium) for the browser tests.

Chromium and its driver (Debian's `chromium` and `chromium-driver`) are installed by `make test`
where it can (root and apt-get), never by a test. Where they are missing a browser test skips
and says why, with the last line of the install log `make test` leaves in the virtual
environment."""

from __future__ import annotations

import shutil
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import pytest

INSTALL_LOG = Path(sys.prefix) / "browser-install.log"   # written by the Makefile's browser step


def executables() -> tuple[str, str]:
    """(chromium, chromedriver), or skip with the reason they are missing."""
    exe = shutil.which("chromium") or shutil.which("chromium-browser")
    driver = shutil.which("chromedriver")
    if exe and driver:
        return exe, driver
    missing = " and ".join(n for n, p in (("chromium", exe), ("chromedriver", driver)) if not p)
    lines = INSTALL_LOG.read_text().strip().splitlines() if INSTALL_LOG.is_file() else []
    why = lines[-1] if lines else "`make test` did not try to install it here"
    pytest.skip(f"headless {missing} not installed ({why}): run `make test` as root on a "
                "machine with apt-get, or install Debian's chromium and chromium-driver")


@contextmanager
def chromium(profile: Path, width: int = 1400, height: int = 1000) -> Iterator[object]:
    """A headless Chromium WebDriver session (browser console logs kept for the test)."""
    from selenium import webdriver
    from selenium.webdriver.chrome.options import Options
    from selenium.webdriver.chrome.service import Service

    exe, driver_path = executables()
    options = Options()
    options.binary_location = exe
    for flag in ("--headless=new", "--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage",
                 f"--window-size={width},{height}", f"--user-data-dir={profile}",
                 "--no-first-run", "--disable-background-networking",
                 "--disable-component-update", "--disable-sync",
                 "--autoplay-policy=no-user-gesture-required"):
        options.add_argument(flag)
    options.set_capability("goog:loggingPrefs", {"browser": "ALL"})
    driver = webdriver.Chrome(service=Service(driver_path), options=options)
    try:
        yield driver
    finally:
        driver.quit()


def console_errors(driver: object) -> list[str]:
    """The page's console messages at level SEVERE (errors, uncaught exceptions)."""
    return [e["message"] for e in driver.get_log("browser") if e.get("level") == "SEVERE"]
