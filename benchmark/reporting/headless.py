"""Headless Chromium through WebDriver (selenium), for the browser tests and the page-load
benchmark: Debian's `chromium` and `chromium-driver`, found on PATH, never downloaded."""

from __future__ import annotations

import shutil
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from benchmark.core.errors import UlvrError


def executables() -> tuple[str | None, str | None]:
    """(chromium, chromedriver) on PATH; None for what is missing."""
    return (shutil.which("chromium") or shutil.which("chromium-browser"),
            shutil.which("chromedriver"))


@contextmanager
def chromium(profile: Path, width: int = 1400, height: int = 1000) -> Iterator[object]:
    """A headless Chromium WebDriver session that keeps the browser console's messages."""
    exe, driver_path = executables()
    if not (exe and driver_path):
        raise UlvrError("headless Chromium needs Debian's chromium and chromium-driver on PATH "
                        "(`make test` installs them as root with apt-get)")
    from selenium import webdriver
    from selenium.webdriver.chrome.options import Options
    from selenium.webdriver.chrome.service import Service

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
    """The page's console messages at level SEVERE (errors, uncaught exceptions, failed loads)."""
    return [e["message"] for e in driver.get_log("browser") if e.get("level") == "SEVERE"]
