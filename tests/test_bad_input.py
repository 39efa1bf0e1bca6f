"""Wrong input a new user types: each is one line naming the thing and what to do, exit 2,
before any job runs where it can be checked early, and nothing already stored is lost."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time
from pathlib import Path

import pytest

from benchmark.cli import main

REPO = Path(__file__).resolve().parents[1]


def ulvr(*args: str, cwd: Path | None = None, env: dict | None = None):
    return subprocess.run([sys.executable, "-m", "benchmark", *args], capture_output=True,
                          text=True, cwd=cwd, env={**os.environ, **(env or {})})


def one_line(err: str) -> str:
    lines = [ln for ln in err.strip().splitlines() if ln.startswith("ulvr: error")]
    assert len(lines) == 1 and "Traceback" not in err, err
    return lines[0]


@pytest.mark.parametrize("args, needle", [
    (["run", "--methods", "x265", "--rate-points", "qp52"], "qp 52 is outside x265's range 0-51"),
    (["run", "--methods", "svtav1", "--rate-points", "qp0"], "outside svtav1's range 1-63"),
    (["run", "--methods", "x265", "--out", "/proc/ulvr-no"], "cannot be written"),
])
def test_checked_before_any_job(args, needle, capsys, tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    assert main(args) == 2
    assert needle in one_line(capsys.readouterr().err)
    assert not (tmp_path / "results").exists()


def test_unknown_anchor_is_an_error_before_any_file(tmp_path, capsys):
    store = REPO / "results" / "reference" / "embedded"
    out = tmp_path / "report"
    assert main(["report", str(store), "--anchor", "x266", "--output", str(out)]) == 2
    err = one_line(capsys.readouterr().err)
    assert "--anchor x266" in err and "x265" in err and not out.exists()


def test_a_record_with_wrong_fields_is_named_and_skipped(tmp_path):
    """Valid JSON with wrong fields: the report names the file, leaves it out, and goes on."""
    import shutil

    store = tmp_path / "store"
    src = REPO / "results" / "reference" / "embedded" / "records" / "embedded" / "x265"
    shutil.copytree(src / "carphone", store / "records" / "embedded" / "x265" / "carphone")
    bad = sorted((store / "records").rglob("*.json"))[0]
    record = json.loads(bad.read_text())
    record["metrics"] = ["not", "a", "table"]
    record["rate_point"] = "qp37"
    bad.write_text(json.dumps(record))
    done = ulvr("report", str(store), "--rate", "total")
    assert done.returncode == 0, done.stderr
    assert "unreadable record" in done.stderr and bad.name in done.stderr
    assert "Traceback" not in done.stderr
    assert bad.read_text() == json.dumps(record)   # nothing stored is changed


def test_plugin_modules_that_fail_are_named_and_skipped(tmp_path):
    """A plugin module that raises on import, one that raises ImportError, and one not on the
    path: each is a one-line warning naming it; every other method still lists and runs."""
    (tmp_path / "raises.py").write_text("raise RuntimeError('boom at import')\n")
    (tmp_path / "needs.py").write_text("import no_such_dependency_xyz\n")
    env = {"PYTHONPATH": f"{tmp_path}{os.pathsep}{REPO}",
           "ULVR_PLUGINS": "raises,needs,missing_codec"}
    listed = ulvr("list", "methods", env=env)
    assert listed.returncode == 0, listed.stderr
    assert "x265" in listed.stdout and "causal-diffusion" in listed.stdout
    warnings = [ln for ln in listed.stderr.splitlines() if ln.startswith("ulvr: warning")]
    assert len(warnings) == 3 and "Traceback" not in listed.stderr
    assert "'raises'" in warnings[0] and "RuntimeError: boom at import" in warnings[0]
    assert "'needs'" in warnings[1] and "no_such_dependency_xyz" in warnings[1]
    assert "'missing_codec'" in warnings[2] and "PYTHONPATH" in warnings[2] \
        and "ulvr.methods" in warnings[2]
    run = ulvr("run", "--methods", "x265", "--rate-points", "qp51-d8", "--sequences",
               "carphone", "--frames", "4", "--out", str(tmp_path / "res"), "--no-report",
               "--quiet", env=env)
    assert run.returncode == 0, run.stderr
    unknown = ulvr("run", "--methods", "my-codec", env=env)
    assert unknown.returncode == 2
    assert "unknown method 'my-codec'" in one_line(unknown.stderr)
    assert "missing_codec" in one_line(unknown.stderr)


def test_check_method_timeout_fails_a_hanging_decoder_quickly(plugin_env):
    started = time.monotonic()
    done = subprocess.run([sys.executable, "-m", "benchmark", "check-method",
                           "test-decoder-hangs", "--frames", "2", "--timeout", "5"],
                          capture_output=True, text=True, env=plugin_env, timeout=120)
    assert time.monotonic() - started < 90
    assert done.returncode == 1, done.stdout + done.stderr
    assert "FAIL  isolated decode" in done.stdout and "does not conform" in done.stdout


@pytest.mark.parametrize("args, needle", [
    (["--method", "causal-diffusion", "--checkpoint", "nosuch.safetensors"],
     "--checkpoint 'nosuch.safetensors': no such file"),
    (["--method", "nosuch-method"], "hold no 'nosuch-method' jobs"),
    ([], "give --candidate DIR, or --method NAME"),
])
def test_regress_refuses_before_running(args, needle, capsys, tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    reference = str(REPO / "results" / "reference" / "embedded")
    assert main(["regress", "--reference", reference, *args]) == 2
    assert needle in one_line(capsys.readouterr().err)
    assert not (tmp_path / "results").exists() and not (tmp_path / "regress.json").exists()


def test_regress_reference_must_be_a_store(capsys, tmp_path):
    assert main(["regress", "--reference", str(tmp_path), "--candidate", str(tmp_path)]) == 2
    assert "is not a results store" in one_line(capsys.readouterr().err)
