"""Metric options: given by the user (`--metric-option`), derived from the sequence or its
dataset, checked before any job runs, and part of what makes a finished job current."""

from __future__ import annotations

import pytest

from benchmark.cli import main
from benchmark.core.errors import UlvrError
from benchmark.data.store import ResultStore
from benchmark.execution.runner import plan_jobs, select_todo
from benchmark.metrics.table import default_metrics


def test_unknown_metric_option_is_one_line_exit_2_before_any_job(tmp_path, capsys):
    code = main(["run", "--methods", "x265", "--metrics", "psnr", "--metric-option",
                 "psnr.nonsense=1", "--out", str(tmp_path), "--quiet", "--frames", "2"])
    err = capsys.readouterr().err.strip()
    assert code == 2 and len(err.splitlines()) == 1
    assert "metric 'psnr' has no option 'nonsense': its options are yuv_weights" in err
    assert not (tmp_path / "records").exists()


def test_metric_option_for_a_metric_not_run_is_refused(carphone):
    with pytest.raises(UlvrError, match="does not compute"):
        plan_jobs([carphone], ["x265"], ("psnr",), metric_options={"fvd": {"stride": 8}})


def test_default_keyword_expands_to_the_table_default_set():
    from benchmark.cli.common import parse_metric_names

    names = parse_metric_names("default,psnr,lpips-vgg")
    assert names == (*default_metrics(), "lpips-vgg")     # in table order, no duplicates
    assert "dists" in names and "fvd" in names


def test_changed_metric_option_reruns_the_finished_job(tmp_path, carphone):
    store = ResultStore(tmp_path)
    from benchmark.execution.runner import run_jobs

    jobs = plan_jobs([carphone], ["x265"], ("psnr",), rate_points=["qp51-d4"])
    assert run_jobs(jobs, store, progress=False).ok == 1
    assert select_todo(jobs, store)[0] == []
    weighted = plan_jobs([carphone], ["x265"], ("psnr",), rate_points=["qp51-d4"],
                         metric_options={"psnr": {"yuv_weights": (4, 1, 1)}})
    todo, reruns, _ = select_todo(weighted, store)
    assert len(todo) == 1 and reruns == 1


def test_ms_ssim_scales_fixed_per_dataset_and_cvvdp_gets_the_frame_rate(embedded):
    """carphone (176x144) holds 4 scales, bigbuckbunny (320x176) 5: every job of the dataset
    uses 4, even a run of bigbuckbunny alone; ColorVideoVDP gets each sequence's fps."""
    from benchmark.execution.runner import job_metric_options

    bbb = next(s for s in embedded if s.name == "bigbuckbunny")
    alone = job_metric_options(("ms-ssim", "cvvdp"), bbb, [bbb], {})
    assert alone["ms-ssim"] == {"scales": 5}
    with_dataset = job_metric_options(("ms-ssim", "cvvdp"), bbb, embedded, {})
    assert with_dataset == {"ms-ssim": {"scales": 4}, "cvvdp": {"fps": bbb.fps}}
    jobs = plan_jobs([bbb], ["x265"], ("ms-ssim",), rate_points=["qp51-d4"],
                     dataset_sequences=embedded)
    assert jobs[0].metric_options == {"ms-ssim": {"scales": 4}}
