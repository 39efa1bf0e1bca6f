"""The leaderboard page rendered in headless Chromium: tables and figures are really shown.

Chromium (Debian's `chromium` and `chromium-driver`) is installed by `make test` where it can be
(root and apt-get), never by a test. Where it is missing the browser test skips and says why,
with the last line of the install log `make test` leaves in the virtual environment."""

from __future__ import annotations

import re
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from benchmark.cli import main

INSTALL_LOG = Path(sys.prefix) / "browser-install.log"   # written by the Makefile's browser step


def _chromium() -> str:
    """The headless browser's executable, or skip with the reason it is missing."""
    exe = shutil.which("chromium") or shutil.which("chromium-browser")
    if exe:
        return exe
    lines = INSTALL_LOG.read_text().strip().splitlines() if INSTALL_LOG.is_file() else []
    why = lines[-1] if lines else "`make test` did not try to install it here"
    pytest.skip(f"headless Chromium is not installed ({why}): run `make test` as root on a "
                "machine with apt-get, or install Debian's chromium and chromium-driver")


def test_leaderboard_page_renders_tables_and_figures(tmp_path, carphone):
    out = tmp_path / "res"
    assert main(["run", "--methods", "x264,x265", "--metrics", "psnr,ms-ssim", "--sequences",
                 "carphone", "--frames", "4", "--out", str(out), "--quiet", "--no-report"]) == 0
    assert main(["report", str(out), "--html"]) == 0
    page = out / "report" / "index.html"
    text = page.read_text()
    assert "http://" not in text and "https://" not in text  # self-contained
    exe = _chromium()
    dom = subprocess.run([exe, "--headless", "--no-sandbox", "--disable-gpu", "--disable-quic",
                          "--no-first-run", "--disable-background-networking",
                          "--disable-component-update", "--disable-sync",
                          f"--user-data-dir={tmp_path / 'profile'}", "--virtual-time-budget=5000",
                          "--dump-dom", page.as_uri()], capture_output=True, text=True,
                         timeout=120).stdout
    loaded = re.search(r'data-images-loaded="(\d+)"', dom)
    tables = re.search(r'data-tables="(\d+)"', dom)
    plots = len(list((out / "report").glob("rd_*.png")))
    assert plots == 3                                        # psnr-rgb, psnr-yuv, ms-ssim
    assert loaded and int(loaded.group(1)) == plots, dom[:500]
    assert tables and int(tables.group(1)) == 2              # BD table and RD table
    matched = re.search(r'data-matched-tables="(\d+)"', dom)
    assert matched and int(matched.group(1)) == 3            # one per metric output
    assert "x264" in dom and "BD-rate" in dom and "Provenance" in dom


def test_missing_browser_skips_with_the_reason(monkeypatch: pytest.MonkeyPatch,
                                               tmp_path: Path) -> None:
    monkeypatch.setattr(shutil, "which", lambda name: None)
    monkeypatch.setattr(sys.modules[__name__], "INSTALL_LOG", tmp_path / "browser-install.log")
    with pytest.raises(pytest.skip.Exception, match="did not try to install it"):
        _chromium()
    (tmp_path / "browser-install.log").write_text("E: Unable to locate package chromium\n"
                                                  "chromium: apt-get install failed\n")
    with pytest.raises(pytest.skip.Exception, match="apt-get install failed"):
        _chromium()


def test_no_test_installs_packages() -> None:
    """Installing belongs to the set-up (the Makefile), never to a test."""
    apt = "apt" + "-get"
    for path in Path(__file__).parent.glob("test_*.py"):
        calls = re.findall(rf"[\[(,]\s*[\"']{apt}[\"']", path.read_text())
        assert not calls, f"{path.name} runs {apt}"
