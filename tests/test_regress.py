"""`ulvr regress`: exit 0 on identical results, 1 on a planted regression, JSON verdict."""

from __future__ import annotations

import json
import shutil

import pytest

from benchmark.cli import main
from benchmark.data.store import ResultStore
from benchmark.execution.runner import plan_jobs, run_jobs


def _reference(tmp_path, carphone):
    ref = tmp_path / "ref"
    jobs = plan_jobs([carphone], ["x265"], ("psnr", "ms-ssim"), rate_points=["qp42", "qp51-d4"])
    assert run_jobs(jobs, ResultStore(ref), progress=False).ok == 2
    return ref


def test_identical_results_pass_and_planted_regression_fails(tmp_path, carphone):
    ref = _reference(tmp_path, carphone)
    cand = tmp_path / "cand"
    shutil.copytree(ref, cand)
    out = tmp_path / "verdict.json"
    assert main(["regress", "--reference", str(ref), "--candidate", str(cand),
                 "--output", str(out)]) == 0
    assert json.loads(out.read_text())["passed"] is True
    # plant: lower PSNR by 0.5 dB and add 5% bits on one job, written as a run writes it
    # (with its digest: a hand edit is flagged apart, tests/test_channels.py)
    path = next(p for p in (cand / "records").rglob("qp42__*.json"))
    record = json.loads(path.read_text())
    record["metrics"]["psnr-rgb"] -= 0.5
    record["bpp"] *= 1.05
    ResultStore(cand).write(path, record)
    assert main(["regress", "--reference", str(ref), "--candidate", str(cand),
                 "--output", str(out)]) == 1
    verdict = json.loads(out.read_text())
    assert {d["metric"] for d in verdict["details"]} == {"psnr-rgb", "bpp"}
    # a loose enough tolerance accepts it
    assert main(["regress", "--reference", str(ref), "--candidate", str(cand), "--output",
                 str(out), "--tolerance", "psnr-rgb=1", "--tolerance", "bpp=0.1"]) == 0
    # a missing candidate job is a regression
    path.unlink()
    assert main(["regress", "--reference", str(ref), "--candidate", str(cand),
                 "--output", str(out)]) == 1


def test_subset_compares_only_the_candidate_s_jobs(tmp_path, carphone):
    """A thinned candidate (make demo against the full reference) passes with --subset; its
    jobs are still compared, and without --subset the jobs it did not run are regressions."""
    ref = _reference(tmp_path, carphone)
    out = tmp_path / "verdict.json"
    assert main(["regress", "--reference", str(ref), "--candidate", str(ref),
                 "--output", str(out)]) == 0
    both = json.loads(out.read_text())["compared"]     # bpp and every output, of 2 jobs
    cand = tmp_path / "cand"
    shutil.copytree(ref, cand)
    next((cand / "records").rglob("qp42__*.json")).unlink()
    assert main(["regress", "--reference", str(ref), "--candidate", str(cand),
                 "--output", str(out)]) == 1
    assert main(["regress", "--reference", str(ref), "--candidate", str(cand), "--subset",
                 "--output", str(out)]) == 0
    assert 2 * json.loads(out.read_text())["compared"] == both   # qp51-d4's, all of them
    path = next((cand / "records").rglob("qp51-d4__*.json"))
    record = json.loads(path.read_text())
    record["metrics"]["psnr-rgb"] -= 0.5
    path.write_text(json.dumps(record))
    assert main(["regress", "--reference", str(ref), "--candidate", str(cand), "--subset",
                 "--output", str(out)]) == 1


def test_regress_runs_the_candidate_itself(tmp_path, carphone):
    ref = _reference(tmp_path, carphone)
    out = tmp_path / "verdict.json"
    code = main(["regress", "--reference", str(ref), "--method", "x265", "--dataset", "embedded",
                 "--candidate", str(tmp_path / "run"), "--output", str(out)])
    verdict = json.loads(out.read_text())
    # the run covers all 3 embedded sequences; those in the reference are compared
    assert code == 0 and verdict["passed"] and verdict["compared"] > 0
    # another method in the reference is not the candidate's to match
    jobs = plan_jobs([carphone], ["x264"], ("psnr", "ms-ssim"), rate_points=["qp42"])
    assert run_jobs(jobs, ResultStore(ref), progress=False).ok == 1
    assert main(["regress", "--reference", str(ref), "--method", "x265", "--dataset", "embedded",
                 "--candidate", str(tmp_path / "run"), "--output", str(out)]) == 0


def test_committed_reference_results_are_complete():
    """results/reference/embedded holds the full suite (make demo-full): 5 classical codecs x
    8 rate points, the neural baseline x 4, the proposed method's family (5 methods) x 3, on 3
    sequences; every job succeeded and has every output of the default metric set."""
    from pathlib import Path

    from benchmark.metrics.table import METRICS, default_metrics

    store = ResultStore(Path(__file__).resolve().parents[1] / "results" / "reference" / "embedded")
    frame = store.dataframe()
    assert len(frame) == 3 * (5 * 8 + 4 + 5 * 3) and (frame["status"] == "ok").all()
    per_job = [o for m in default_metrics() if not METRICS[m].set_level
               for o in METRICS[m].outputs]
    assert frame[per_job].notna().all().all()
    assert all(r["features"].get("fvd") for r in store.records())
    assert frame["bits_parameter_sets"].notna().sum() == 3 * 5 * 8      # codecs, out of band


def test_report_refuses_mixed_harness_versions(tmp_path, carphone, capsys):
    ref = _reference(tmp_path, carphone)
    path = next((ref / "records").rglob("qp42__*.json"))
    record = json.loads(path.read_text())
    record["versions"]["ulvr-bench"] = "0.0.1"
    path.write_text(json.dumps(record))
    assert main(["report", str(ref)]) == 2
    assert "mixes results of harness versions" in capsys.readouterr().err
    assert main(["report", str(ref), "--force"]) == 0


def _strict_json(path):
    """The file parsed as strict JSON (NaN or Infinity is an error, as in JSON.parse)."""
    def refuse(constant):
        raise ValueError(f"not strict JSON: {constant}")
    return json.loads(path.read_text(), parse_constant=refuse)


def test_verdict_is_strict_json_and_junit(tmp_path, carphone):
    """A candidate value that is missing is null with its reason, never NaN; --junit writes a
    test case per job and metric, failed where it regressed."""
    from xml.etree import ElementTree as ET

    ref = _reference(tmp_path, carphone)
    cand = tmp_path / "cand"
    shutil.copytree(ref, cand)
    path = next(p for p in (cand / "records").rglob("qp42__*.json"))
    record = json.loads(path.read_text())
    record["metrics"]["ms-ssim"] = float("nan")
    ResultStore(cand).write(path, record)
    out, junit = tmp_path / "verdict.json", tmp_path / "junit.xml"
    assert main(["regress", "--reference", str(ref), "--candidate", str(cand),
                 "--output", str(out), "--junit", str(junit)]) == 1
    verdict = _strict_json(out)
    (bad,) = verdict["details"]
    assert bad["metric"] == "ms-ssim" and bad["candidate"] is None
    assert bad["why"] == "no value in candidate" and verdict["verdict"] == "FAIL"
    assert len(verdict["comparisons"]) == verdict["compared"]
    root = ET.parse(junit).getroot()
    cases = root.findall(".//testcase")
    failed = [c for c in cases if c.find("failure") is not None]
    assert len(cases) == verdict["compared"] and len(failed) == 1
    assert failed[0].get("name") == "ms-ssim"
    assert failed[0].find("failure").get("message") == "no value in candidate"


def test_an_interrupted_regress_says_interrupted_never_fail(tmp_path):
    """SIGINT (Ctrl-C, to the whole process group) while the candidate runs: exit 130, the
    line INTERRUPTED, a strict-JSON verdict INTERRUPTED, and the folder that resumes it named."""
    import os
    import signal
    import subprocess
    import sys
    import time
    from pathlib import Path

    repo = Path(__file__).resolve().parents[1]
    out = tmp_path / "regress.json"
    proc = subprocess.Popen(
        [sys.executable, "-m", "benchmark", "regress", "--reference",
         str(repo / "results" / "reference" / "embedded"), "--method", "semantic-only",
         "--sequences", "carphone", "--output", str(out), "--quiet"],
        cwd=tmp_path, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
        start_new_session=True,
        # Ctrl-C as in a terminal: a suite started in the background (`make test &`) has SIGINT
        # ignored, which children inherit and Python honours, so the run would not stop
        preexec_fn=lambda: signal.signal(signal.SIGINT, signal.SIG_DFL))
    line = proc.stdout.readline()   # the plan, printed before the first job starts
    assert line.startswith("candidate: semantic-only"), line + proc.stderr.read()
    time.sleep(8)   # its first job running (a semantic-only job takes about a minute)
    os.killpg(proc.pid, signal.SIGINT)
    try:
        stdout, stderr = proc.communicate(timeout=300)   # a loaded machine: seconds when idle
    except subprocess.TimeoutExpired:
        tree = subprocess.run(["ps", "-o", "pid,stat,wchan:24,etime,args", "-g", str(proc.pid)],
                              capture_output=True, text=True).stdout
        os.killpg(proc.pid, signal.SIGKILL)
        stdout, stderr = proc.communicate()
        pytest.fail(f"regress still running 300 s after SIGINT:\n{tree}\n{stdout}\n{stderr}")
    assert proc.returncode == 130, stdout + stderr
    assert "INTERRUPTED" in stdout and "FAIL" not in stdout and "Traceback" not in stderr
    assert _strict_json(out)["verdict"] == "INTERRUPTED"
    assert "results/candidate-semantic-only" in stdout   # where a rerun resumes
