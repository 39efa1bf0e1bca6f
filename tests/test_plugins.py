"""Methods and metrics from installed packages: the example plugin (examples/plugin/) installed
into a temporary target, its method and metric found through their `ulvr.methods` and
`ulvr.metrics` entry points and run by `ulvr run`; a plugin that fails to import is named, and
the other methods still list."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from benchmark.core import plugins
from benchmark.core.errors import UlvrError
from benchmark.protocol import registry

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
                          "--sequences", "carphone", "--frames", "4", "--metrics", "psnr,mae-rgb",
                          "--out", str(out), "--quiet", "--no-report"],
                         env=env, capture_output=True, text=True, cwd=tmp_path)
    assert run.returncode == 0, run.stderr
    records = [json.loads(p.read_text()) for p in out.glob("records/**/*.json")]
    assert {r["rate_point"]["label"] for r in records} == {"q31", "q15", "q5"}
    for r in records:
        assert r["status"] == "ok" and r["bits"]["video"] > 0
        assert r["isolation"].startswith("process")   # its decoder ran in the isolated worker
    psnr = {r["rate_point"]["label"]: r["metrics"]["psnr-rgb"] for r in records}
    assert psnr["q5"] > psnr["q15"] > psnr["q31"] > 20       # a real codec: quality follows q
    mae = {r["rate_point"]["label"]: r["metrics"]["mae-rgb"] for r in records}
    assert 0 < mae["q5"] < mae["q15"] < mae["q31"]           # the plugin's metric, its entry point
    # MAE <= RMSE (Jensen), and RMSE follows from PSNR-RGB (8-bit peak 255) on each frame
    for r in records:
        rmse = [255 / 10 ** (p / 20) for p in r["per_frame"]["psnr-rgb"]]
        assert all(m <= e + 1e-9 for m, e in zip(r["per_frame"]["mae-rgb"], rmse, strict=True))
    listed = subprocess.run([sys.executable, "-m", "benchmark", "list", "rate-points",
                             "jpeg-frames"], env=env, capture_output=True, text=True)
    assert "q31" in listed.stdout and "q=31" in listed.stdout


class _BrokenEntryPoint:
    name, value, dist = "broken-codec", "nowhere_module:Codec", None

    def load(self):
        raise ModuleNotFoundError("No module named 'nowhere_module'")


def test_a_plugin_that_fails_to_import_is_named(monkeypatch: pytest.MonkeyPatch):
    real = plugins.entry_points
    monkeypatch.setattr(plugins, "entry_points", lambda group: {
        **real(group), **({"broken-codec": _BrokenEntryPoint()}
                          if group == registry.ENTRY_POINT_GROUP else {})})
    with pytest.raises(UlvrError, match="method plugin 'broken-codec' .* failed to import"):
        registry.create_method("broken-codec")
    skipped: list[str] = []
    names = registry.method_names(skipped)
    assert "x265" in names and "broken-codec" not in names
    assert len(skipped) == 1 and "nowhere_module" in skipped[0]
