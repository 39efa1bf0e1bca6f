"""`ulvr regress`: exit 0 on identical results, 1 on a planted regression, JSON verdict."""

from __future__ import annotations

import json
import shutil

from benchmark.cli import main
from benchmark.runner import plan_jobs, run_jobs
from benchmark.store import ResultStore


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
    # plant: lower PSNR by 0.5 dB and add 5% bits on one job
    path = next(p for p in (cand / "records").rglob("qp42__*.json"))
    record = json.loads(path.read_text())
    record["metrics"]["psnr-rgb"] -= 0.5
    record["bpp"] *= 1.05
    path.write_text(json.dumps(record))
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


def test_regress_runs_the_candidate_itself(tmp_path, carphone):
    ref = _reference(tmp_path, carphone)
    out = tmp_path / "verdict.json"
    code = main(["regress", "--reference", str(ref), "--method", "x265", "--suite", "embedded",
                 "--candidate", str(tmp_path / "run"), "--output", str(out)])
    verdict = json.loads(out.read_text())
    # the run covers all 3 embedded sequences; those in the reference are compared
    assert code == 0 and verdict["passed"] and verdict["compared"] > 0


def test_committed_reference_results_are_complete():
    """results/reference/embedded holds the demo's suite: every classical job (75) and every
    job of the proposed method and its generative/semantic baselines (45) succeeded."""
    from pathlib import Path

    store = ResultStore(Path(__file__).resolve().parents[1] / "results" / "reference" / "embedded")
    frame = store.dataframe()
    assert len(frame) == 120 and (frame["status"] == "ok").all()
    proposed = frame[frame["kind"].isin(["proposed", "generative", "semantic"])]
    assert len(proposed) == 45 and proposed["dists"].notna().all()
    assert {"psnr-rgb", "ms-ssim", "lpips-alex", "vmaf", "tof"} <= set(frame.columns)


def test_report_refuses_mixed_harness_versions(tmp_path, carphone, capsys):
    ref = _reference(tmp_path, carphone)
    path = next((ref / "records").rglob("qp42__*.json"))
    record = json.loads(path.read_text())
    record["versions"]["ulvr-bench"] = "0.0.1"
    path.write_text(json.dumps(record))
    assert main(["report", str(ref)]) == 2
    assert "mixes results of harness versions" in capsys.readouterr().err
    assert main(["report", str(ref), "--force"]) == 0
