"""Runner and store: resume, force, failures recorded, a killed job leaves no partial record."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time

import pytest

from benchmark.data.store import ResultStore
from benchmark.execution.runner import plan_jobs, run_jobs
from benchmark.execution.workdirs import clean_stale_workdirs, job_workdir


def _records(root):
    return sorted(p for p in (root / "records").rglob("*.json") if not p.name.startswith(".tmp"))


def test_resume_skips_finished_jobs_and_force_reruns(carphone, tmp_path):
    store = ResultStore(tmp_path)
    jobs = plan_jobs([carphone], ["x265"], ("psnr",), rate_points=["qp42", "qp47-d2"])
    first = run_jobs(jobs, store, progress=False)
    assert (first.ok, first.skipped, first.exit_code) == (2, 0, 0)
    paths = _records(tmp_path)
    assert len(paths) == 2
    stamps = [p.stat().st_mtime_ns for p in paths]
    second = run_jobs(jobs, store, progress=False)
    assert (second.ok, second.skipped) == (0, 2)
    assert [p.stat().st_mtime_ns for p in paths] == stamps
    third = run_jobs(jobs, store, progress=False, force=True)
    assert third.ok == 2
    # asking for a metric a record lacks re-runs that job
    more = plan_jobs([carphone], ["x265"], ("psnr", "ms-ssim"), rate_points=["qp42"])
    assert run_jobs(more, store, progress=False).ok == 1


def test_record_fields_and_bits(carphone, tmp_path):
    store = ResultStore(tmp_path)
    run_jobs(plan_jobs([carphone], ["x264"], ("psnr",), rate_points=["qp42"]), store,
             progress=False)
    record = json.loads(_records(tmp_path)[0].read_text())
    for field in ("dataset", "sequence", "frames", "width", "height", "method", "config_hash",
                  "rate_point", "bits", "bpp", "kbps", "metrics", "timings", "versions",
                  "status", "error", "commands", "colour"):
        assert field in record, field
    pixels = record["frames"] * record["width"] * record["height"]
    assert record["bpp"] == pytest.approx(record["total_bits"] / pixels)
    assert record["kbps"] == pytest.approx(record["total_bits"] * record["fps"] /
                                           record["frames"] / 1000)
    assert record["causal"] is True and record["status"] == "ok"
    assert "git_commit" in record["versions"] and "ffmpeg" in record["versions"]
    assert len(record["per_frame"]["psnr-y"]) == record["frames"]
    # each metric's own time, within the metric loop's time (which includes the decode)
    timings = record["timings"]
    assert 0 < timings["metric_psnr_s"] <= timings["metrics_s"] <= timings["job_s"]


def test_failing_job_is_recorded_and_run_goes_on(carphone, tmp_path, plugin_env):
    store = ResultStore(tmp_path)
    jobs = plan_jobs([carphone], ["test-fail", "test-copy"], ("psnr",))
    summary = run_jobs(jobs, store, progress=False)
    assert summary.ok == 1 and len(summary.failed) == 1 and summary.exit_code == 1
    frame = store.dataframe()
    failed = frame[frame["status"] == "failed"].iloc[0]
    assert "planted failure" in failed["error"]
    copy = frame[frame["method"] == "test-copy"].iloc[0]
    assert copy["psnr-y"] == 100.0
    assert copy["total_bits"] == 8 * 176 * 144 * 3 // 2 * carphone.num_frames


def test_parallel_workers(embedded, tmp_path):
    store = ResultStore(tmp_path)
    jobs = plan_jobs(embedded, ["x264"], ("psnr",), rate_points=["qp42"])
    summary = run_jobs(jobs, store, workers=2, progress=False)
    assert summary.ok == 3 and len(_records(tmp_path)) == 3


def test_jobs_go_rate_point_by_rate_point_over_the_clips_and_deny_every_source(embedded):
    """Parallel workers start on different clips (each clip's reference features are then
    computed once), and every job carries the run's sequences, whose sources its isolated
    decoder is denied from the start (one decoder worker serves the whole run)."""
    jobs = plan_jobs(embedded, ["x264"], ("psnr",), rate_points=["qp42", "qp37"])
    order = [(j.rate_point.label, j.sequence.name) for j in jobs]
    names = [s.name for s in embedded]
    assert order == [(label, name) for label in ("qp42", "qp37") for name in names]
    assert all([s.name for s in j.run_sequences] == names for j in jobs)
    assert len({j.key for j in jobs}) == len(jobs)   # the added field is not in the key


def test_a_dead_worker_is_a_recorded_failure_and_the_pool_goes_on(embedded, tmp_path,
                                                                   plugin_env):
    """A job whose worker is killed (out of memory) is recorded as failed once it has died
    again alone; the jobs its death took down with the pool run again and succeed."""
    carphone = next(s for s in embedded if s.name == "carphone")
    jobs = (plan_jobs([carphone], ["test-die"], ("psnr",))
            + plan_jobs(embedded, ["test-copy"], ("psnr",), {"test-copy": {"delay": 0.05}}))
    store = ResultStore(tmp_path / "s")
    summary = run_jobs(jobs, store, workers=2, progress=False)
    assert (summary.ok, len(summary.failed), summary.exit_code) == (3, 1, 1)
    status = {(r["method"], r["sequence"]): (r["status"], r["error"]) for r in store.records()}
    assert len(status) == 4
    state, error = status[("test-die", "carphone")]
    assert state == "failed" and error.startswith("WorkerDied: ") and "--jobs 1" in error
    assert all(status[("test-copy", s.name)] == ("ok", "") for s in embedded)


def _wait_for_job_start(tmp_dir, proc, timeout=120.0, owner: str | None = None):
    """The work folder of a job of `proc` (or of any process: owner "*") that has really
    started: its method has written frames there. Polls instead of sleeping a fixed time, so a
    slow machine cannot make it flaky."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        started = [p.parent for p in tmp_dir.glob(f"ulvr-job-{owner or proc.pid}-*/frames.yuv")
                   if p.stat().st_size]
        if started:
            return started[0]
        assert proc.poll() is None, proc.communicate()[1]
        time.sleep(0.05)
    raise AssertionError(f"no job started within {timeout} s")


def test_killed_job_leaves_no_partial_record(tmp_path, plugin_env):
    tmp_dir = tmp_path / "tmp"      # the runs' temp folder, where job work folders go
    tmp_dir.mkdir()
    out = tmp_path / "res"
    env = dict(plugin_env, ULVR_TEST_DELAY="3", TMPDIR=str(tmp_dir))
    cmd = [sys.executable, "-m", "benchmark", "run", "--methods", "test-copy", "--metrics",
           "psnr", "--sequences", "carphone", "--frames", "40", "--out", str(out),
           "--quiet", "--no-report"]
    proc = subprocess.Popen(cmd, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    killed_workdir = _wait_for_job_start(tmp_dir, proc)
    proc.send_signal(signal.SIGKILL)
    proc.wait()
    assert not list(out.rglob("*.json"))  # nothing, not even a temp record
    assert killed_workdir.is_dir()        # the dead run could not clean up after itself
    # the next run removes the dead run's work folder; Ctrl-C exits 130, the store consistent.
    # As in a terminal, the run gets SIGINT's default action even when this test runs in the
    # background (where a shell starts it ignored, and Python then never raises
    # KeyboardInterrupt)
    proc = subprocess.Popen(cmd, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                            preexec_fn=_default_sigint)
    _wait_for_job_start(tmp_dir, proc)
    assert not killed_workdir.exists()
    proc.send_signal(signal.SIGINT)
    _, err = proc.communicate(timeout=60)
    assert proc.returncode == 130, err
    assert not list(out.rglob("*.json"))
    assert not list(tmp_dir.glob("ulvr-job-*"))   # an interrupted job cleans up after itself


def test_stale_workdirs_of_dead_processes_are_removed(tmp_path):
    dead = subprocess.Popen([sys.executable, "-c", "pass"])
    dead.wait()
    stale = tmp_path / f"ulvr-job-{dead.pid}-abc123"
    alive = tmp_path / f"ulvr-job-{os.getpid()}-def456"
    unknown = tmp_path / "ulvr-job-x1y2z3"    # made before folders carried their owner's id
    for folder in (stale, alive, unknown):
        (folder / "sub").mkdir(parents=True)
    assert clean_stale_workdirs(tmp_path) == [stale]
    assert not stale.exists() and alive.is_dir() and unknown.is_dir()
    assert job_workdir().name.startswith(f"ulvr-job-{os.getpid()}-")


def test_corrupt_record_is_rerun_not_fatal(carphone, tmp_path):
    store = ResultStore(tmp_path)
    jobs = plan_jobs([carphone], ["x264"], ("psnr",), rate_points=["qp42"])
    run_jobs(jobs, store, progress=False)
    path = _records(tmp_path)[0]
    path.write_bytes(b"\x00\x9f{ broken")
    summary = run_jobs(jobs, store, progress=False)
    assert (summary.ok, summary.skipped) == (1, 0)
    assert json.loads(path.read_text())["status"] == "ok"


def test_workers_die_with_a_killed_driver(tmp_path, plugin_env):
    """SIGKILL of `ulvr run --jobs 2`: its worker processes exit within seconds instead of
    living on as orphans that finish jobs and write records into the store."""
    tmp_dir = tmp_path / "tmp"
    tmp_dir.mkdir()
    out = tmp_path / "res"
    env = dict(plugin_env, ULVR_TEST_DELAY="4", TMPDIR=str(tmp_dir))
    cmd = [sys.executable, "-m", "benchmark", "run", "--methods", "test-copy", "--metrics",
           "psnr", "--frames", "40", "--out", str(out), "--quiet", "--no-report",
           "--jobs", "2"]
    proc = subprocess.Popen(cmd, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    workdir = _wait_for_job_start(tmp_dir, proc, owner="*")
    worker = int(workdir.name.split("-")[2])
    assert worker != proc.pid                       # the job runs in a worker process
    proc.send_signal(signal.SIGKILL)
    proc.wait()
    deadline = time.monotonic() + 10
    while time.monotonic() < deadline and _alive(worker):
        time.sleep(0.2)
    assert not _alive(worker), "the worker outlived its driver"
    time.sleep(5)                                   # past the job's delay: nothing was written
    assert not list(out.rglob("*.json"))


def _default_sigint() -> None:
    signal.signal(signal.SIGINT, signal.SIG_DFL)


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    with open(f"/proc/{pid}/stat") as fh:            # a zombie is dead too
        return fh.read().split(") ")[-1][:1] != "Z"


def test_every_declared_method_registers_its_name_and_codecs_never_import_torch():
    """Each `ulvr.methods` entry point of the harness names a class registered under that
    name by its module (no drift between pyproject.toml and the adapters), and a run of the
    codecs alone never imports torch (a module is imported only when one of its names is)."""
    from benchmark.protocol import registry

    points = {name: ep for name, ep in registry.METHODS.declared().items()
              if ep.value.split(":")[0].split(".")[0] in ("baselines", "methods")}
    assert {"x265", "vvenc", "mbt2018-mean-local", "causal-diffusion", "external:"} <= set(points)
    for name, ep in points.items():
        loaded = ep.load()
        table = registry.METHODS.families if name.endswith(":") else registry.METHODS.entries
        owner = table[name][0] if name.endswith(":") else table[name]
        assert owner is loaded, name
    code = ("import sys; from benchmark.protocol import create_method; "
            "create_method('x265'); create_method('mbt2018-mean-local'); "
            "print('torch' in sys.modules)")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                         check=True).stdout
    assert out.strip() == "False"


def test_png_previews_are_lossless_and_encoded_once_per_content():
    """A preview PNG decodes to the frame; the same content (every job's reference preview of
    a sequence) is encoded once and gives the same bytes, a different frame its own."""
    import io

    import numpy as np
    from PIL import Image

    from benchmark.data.store import png_bytes

    frame = np.random.default_rng(0).integers(0, 256, (18, 22, 3), dtype=np.uint8)
    first = png_bytes(frame)
    np.testing.assert_array_equal(np.asarray(Image.open(io.BytesIO(first))), frame)
    assert png_bytes(frame.copy()) is first
    other = frame.copy()
    other[0, 0, 0] ^= 1
    assert png_bytes(other) != first
