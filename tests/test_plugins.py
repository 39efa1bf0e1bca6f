"""Methods from installed packages: the example plugin (examples/plugin/) installed into a
temporary target, found through its `ulvr.methods` entry point and run by `ulvr run`; a plugin
that fails to import is named, and the other methods still list."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from benchmark import registry
from benchmark.errors import UlvrError

REPO = Path(__file__).resolve().parents[1]


def test_example_plugin_installs_and_runs_from_its_entry_point(tmp_path):
    source = tmp_path / "src"
    shutil.copytree(REPO / "examples" / "plugin", source)   # the build leaves the tree alone
    target = tmp_path / "site"
    subprocess.run([sys.executable, "-m", "pip", "install", "--quiet", "--no-deps",
                    "--no-build-isolation", "--target", str(target), str(source)], check=True)
    env = {**os.environ, "PYTHONPATH": str(target)}
    env.pop("ULVR_PLUGINS", None)
    out = tmp_path / "res"
    run = subprocess.run([sys.executable, "-m", "benchmark", "run", "--methods", "jpeg-frames",
                          "--sequences", "carphone", "--frames", "4", "--metrics", "psnr",
                          "--out", str(out), "--quiet", "--no-report"],
                         env=env, capture_output=True, text=True, cwd=tmp_path)
    assert run.returncode == 0, run.stderr
    records = [json.loads(p.read_text()) for p in out.glob("records/**/*.json")]
    assert {r["rate_point"]["label"] for r in records} == {"q31", "q15", "q5"}
    for r in records:
        assert r["status"] == "ok" and r["bits"]["video"] > 0
    psnr = {r["rate_point"]["label"]: r["metrics"]["psnr-rgb"] for r in records}
    assert psnr["q5"] > psnr["q15"] > psnr["q31"] > 20       # a real codec: quality follows q
    listed = subprocess.run([sys.executable, "-m", "benchmark", "list", "rate-points",
                             "jpeg-frames"], env=env, capture_output=True, text=True)
    assert "q31" in listed.stdout and "q=31" in listed.stdout


class _BrokenEntryPoint:
    name, value, dist = "broken-codec", "nowhere_module:Codec", None

    def load(self):
        raise ModuleNotFoundError("No module named 'nowhere_module'")


def test_a_plugin_that_fails_to_import_is_named(monkeypatch: pytest.MonkeyPatch):
    monkeypatch.setattr(registry, "_entry_points", lambda: {"broken-codec": _BrokenEntryPoint()})
    with pytest.raises(UlvrError, match="method plugin 'broken-codec' .* failed to import"):
        registry.create_method("broken-codec")
    skipped: list[str] = []
    names = registry.method_names(skipped)
    assert "x265" in names and "broken-codec" not in names
    assert len(skipped) == 1 and "nowhere_module" in skipped[0]
