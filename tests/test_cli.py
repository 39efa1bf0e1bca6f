"""The ulvr command line: listings, compare, export, and one-line errors for bad input."""

from __future__ import annotations

import json
import subprocess
import sys

import pytest

from benchmark.cli import main
from benchmark.core.errors import UlvrError
from benchmark.core.pandas_setup import pd
from benchmark.data.video_write import Y4MWriter, write_png_frames


def ulvr(*args, env=None):
    return subprocess.run([sys.executable, "-m", "benchmark", *args], capture_output=True,
                          text=True, env=env)


@pytest.mark.parametrize("args, needle", [
    (["run", "--methods", "nosuch"], "unknown method 'nosuch'"),
    (["run", "--methods", "x264", "--metrics", "nosuch"], "unknown metric 'nosuch'"),
    (["run", "--dataset", "nosuch"], "unknown dataset 'nosuch'"),
    (["compare", "a.mp4", "b.mp4", "--metric", "psnr"], "no such file"),
])
def test_bad_input_gives_one_line_error(args, needle, capsys):
    assert main(args) == 2
    err = capsys.readouterr().err.strip()
    assert needle in err and len(err.splitlines()) == 1


def test_missing_data_root_and_short_file(tmp_path, capsys, monkeypatch):
    monkeypatch.delenv("ULVR_DATA", raising=False)
    assert main(["run", "--dataset", "hevc-d", "--methods", "x264"]) == 2
    assert "--data-root" in capsys.readouterr().err
    folder = tmp_path / "HEVC_D"
    folder.mkdir()
    assert main(["run", "--dataset", "hevc-d", "--data-root", str(tmp_path)]) == 2
    assert "BasketballPass_416x240_50.yuv" in capsys.readouterr().err
    for name in ("BasketballPass_416x240_50", "BQSquare_416x240_60",
                 "BlowingBubbles_416x240_50", "RaceHorses_416x240_30"):
        (folder / f"{name}.yuv").write_bytes(b"\0" * (416 * 240 * 3 // 2 * 2))
    assert main(["run", "--dataset", "hevc-d", "--data-root", str(tmp_path)]) == 2
    err = capsys.readouterr().err
    assert "short" in err and "BasketballPass" in err


def test_lists():
    methods = ulvr("list", "methods").stdout
    for name in ("x264", "x265", "vvenc", "svtav1", "aom"):
        assert name in methods
    assert "available" in methods
    metrics = ulvr("list", "metrics").stdout
    assert "psnr" in metrics and "ms-ssim" in metrics and "higher is better" in metrics
    datasets = ulvr("list", "datasets").stdout
    for name in ("embedded", "uvg", "mcl-jcv", "hevc-b", "hevc-c", "hevc-d", "hevc-e"):
        assert name in datasets


def test_compare_videos_and_images(carphone, tmp_path):
    ref = tmp_path / "ref.y4m"
    with Y4MWriter(ref, carphone.width, carphone.height, carphone.fps) as writer:
        for chunk in carphone.frames():
            writer.write(chunk)
    write_png_frames(carphone.frames(), tmp_path / "png")
    out = ulvr("compare", str(ref), str(tmp_path / "png"), "--metric", "psnr", "--metric",
               "ms-ssim")
    assert out.returncode == 0, out.stderr
    values = json.loads(out.stdout)
    assert values["psnr-rgb"] == 100.0  # PNGs hold exactly the RGB the Y4M converts to
    assert values["ms-ssim"] == pytest.approx(1.0, abs=1e-6)
    single = ulvr("compare", str(tmp_path / "png" / "00000.png"), str(tmp_path / "png" /
                                                                      "00001.png"),
                  "--metric", "psnr")
    assert 15 < json.loads(single.stdout)["psnr-rgb"] < 60


def test_run_report_export(carphone, tmp_path):
    out = tmp_path / "res"
    code = main(["run", "--methods", "x264,x265", "--rate-points", "qp42", "--sequences",
                 "carphone", "--frames", "4", "--metrics", "psnr", "--out", str(out),
                 "--quiet", "--rate-points", "qp42"])
    assert code == 0
    report = out / "report"
    assert (report / "rd_table_embedded.md").read_text().count("| x26") == 2
    assert (report / "rd_embedded_psnr-yuv.png").stat().st_size > 1000   # a headline metric
    assert main(["report", str(out), "--plots", "all"]) == 0
    assert (report / "rd_embedded_psnr-rgb_payload.pdf").stat().st_size > 1000
    assert main(["export", str(out)]) == 0
    frame = pd.read_parquet(out / "results.parquet")
    assert set(frame["method"]) == {"x264", "x265"}
    assert (pd.read_csv(out / "results.csv")["bpp"] > 0).all()


def test_report_of_empty_folder(tmp_path, capsys):
    assert main(["report", str(tmp_path)]) == 2
    assert "no result records" in capsys.readouterr().err


def _no_records(out) -> bool:
    return not list(out.rglob("*.json"))


def test_unknown_method_option_is_refused_before_any_job(tmp_path, capsys):
    out = tmp_path / "res"
    assert main(["run", "--methods", "x264,x265", "--option", "x265.nonsense=1", "--sequences",
                 "carphone", "--frames", "2", "--metrics", "psnr", "--out", str(out),
                 "--quiet", "--no-report"]) == 2
    err = capsys.readouterr().err.strip()
    assert len(err.splitlines()) == 1
    assert "method 'x265' has no option 'nonsense'" in err
    assert "structure, preset, rate_points" in err
    assert _no_records(out)


@pytest.mark.parametrize("flag, value", [("--frames", "-3"), ("--frames", "0"),
                                         ("--jobs", "0"), ("--frames", "many")])
def test_bad_counts_are_usage_errors(flag, value, capsys):
    with pytest.raises(SystemExit) as exit_info:
        main(["run", "--methods", "x264", flag, value])
    assert exit_info.value.code == 2
    assert f"argument {flag}:" in capsys.readouterr().err


def test_unusable_device_is_refused_once_up_front(tmp_path, capsys, monkeypatch):
    import torch

    monkeypatch.setattr(torch.cuda, "is_available", lambda: False)
    out = tmp_path / "res"
    assert main(["run", "--methods", "x264,lowres-bicubic", "--sequences", "carphone",
                 "--frames", "2", "--metrics", "psnr", "--device", "cuda", "--out", str(out),
                 "--quiet", "--no-report"]) == 2
    err = capsys.readouterr().err.strip()
    assert len(err.splitlines()) == 1 and "device 'cuda' is unusable" in err
    assert "--device cpu" in err and _no_records(out)
    assert main(["run", "--methods", "x264", "--device", "tpu", "--out", str(out)]) == 2
    assert "unknown device 'tpu'" in capsys.readouterr().err


def test_unavailable_metric_is_refused_before_any_job(tmp_path, capsys, monkeypatch):
    from benchmark.metrics.base import metric_class
    from benchmark.protocol import Availability

    monkeypatch.setattr(metric_class("ms-ssim"), "availability",
                        classmethod(lambda cls: Availability(False, "planted: weights gone")))
    out = tmp_path / "res"
    assert main(["run", "--methods", "x264", "--sequences", "carphone", "--frames", "2",
                 "--metrics", "psnr,ms-ssim", "--out", str(out), "--quiet", "--no-report"]) == 2
    err = capsys.readouterr().err.strip()
    assert err == "ulvr: error: metric 'ms-ssim' is unavailable here: planted: weights gone"
    assert _no_records(out)


def test_corrupt_records_are_named_skipped_and_rerun(tmp_path, capsys):
    out = tmp_path / "res"
    args = ["run", "--methods", "x264", "--rate-points", "qp42,qp51-d4", "--sequences",
            "carphone", "--frames", "2", "--metrics", "psnr", "--out", str(out), "--quiet",
            "--no-report"]
    assert main(args) == 0
    first, second = sorted((out / "records").rglob("*.json"))
    first.write_bytes(b"\xff\xfe not json")       # not even UTF-8
    second.write_text('["a list, not a record"]')
    capsys.readouterr()
    assert main(["export", str(out)]) == 2       # nothing readable left: says why
    err = capsys.readouterr().err
    assert "no readable result records" in err and "skipped 2 unreadable records" in err
    assert main(args) == 0                         # both jobs simply run again
    assert "0 already done, 2 ran ok" in capsys.readouterr().out
    first.write_text("{truncated")
    assert main(["export", str(out)]) == 0
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and "skipped 1 unreadable record" in err[0]
    assert first.name in err[0]
    assert len(pd.read_csv(out / "results.csv")) == 1


def test_out_under_a_file_is_refused_before_any_work(tmp_path, capsys):
    afile = tmp_path / "notes.txt"
    afile.write_text("keep me")
    for out in (afile, afile / "sub"):
        assert main(["run", "--methods", "x265", "--out", str(out), "--quiet"]) == 2
        err = capsys.readouterr().err.strip().splitlines()
        assert len(err) == 1 and "give a folder" in err[0]
    assert afile.read_text() == "keep me"


def test_unknown_sequence_lists_the_valid_ones(tmp_path, capsys):
    assert main(["run", "--methods", "x265", "--sequences", "nosuch", "--out",
                 str(tmp_path / "o")]) == 2
    assert "choose from carphone, bikes, bigbuckbunny" in capsys.readouterr().err


def test_rate_points_per_method_and_list_rate_points(capsys):
    from benchmark.cli.common import rate_points_per_method

    got = rate_points_per_method("my-jpeg=q5,x265=qp51-d4,x265=qp47-d2",
                                 ["my-jpeg", "x265"])
    assert got == {"my-jpeg": ["q5"], "x265": ["qp51-d4", "qp47-d2"]}
    assert rate_points_per_method("qp37", ["x264", "x265"]) == {"x264": ["qp37"],
                                                                "x265": ["qp37"]}
    assert rate_points_per_method(None, ["x265"]) == {"x265": None}
    with pytest.raises(UlvrError, match="METHOD=LABEL"):
        rate_points_per_method("vvenc=qp37", ["x265"])
    assert main(["list", "rate-points", "x265"]) == 0
    out = capsys.readouterr().out
    assert "qp51-d16-t32" in out and "temporal=32" in out
