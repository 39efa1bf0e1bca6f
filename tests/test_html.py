"""The leaderboard page rendered in headless Chromium: tables and figures are really shown.

Chromium comes from Debian's `chromium` package: installed here when we are root and apt-get
exists; otherwise the test is skipped and says why."""

from __future__ import annotations

import os
import re
import shutil
import subprocess

import pytest

from benchmark.cli import main


def _chromium() -> str:
    exe = shutil.which("chromium") or shutil.which("chromium-browser")
    if exe:
        return exe
    if os.geteuid() != 0 or not shutil.which("apt-get"):
        pytest.skip("headless Chromium is not installed and cannot be (needs root and apt-get): "
                    "install Debian's 'chromium' package to run this test")
    env = dict(os.environ, DEBIAN_FRONTEND="noninteractive")
    for cmd in (["apt-get", "update", "-qq"], ["apt-get", "install", "-y", "-qq", "chromium"]):
        done = subprocess.run(cmd, capture_output=True, text=True, env=env, timeout=900)
        if done.returncode:
            pytest.skip(f"installing chromium failed: {done.stderr.strip()[-300:]}")
    return shutil.which("chromium")


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
