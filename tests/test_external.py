"""external:<name>: a planted folder of "published" results, evaluated end to end; mismatched
frame counts, resolutions and missing or bad rates are refused with the reason."""

from __future__ import annotations

import dataclasses
import json

import pytest

from benchmark.cli import main
from benchmark.core.errors import UlvrError
from benchmark.core.ffmpeg import run_ffmpeg
from benchmark.data.store import ResultStore
from benchmark.data.video_io import FrameChunk
from benchmark.data.video_write import Y4MWriter, write_png_frames
from benchmark.execution.runner import plan_jobs, run_jobs
from benchmark.protocol import create_method, method_names


@pytest.fixture()
def planted(carphone, tmp_path, monkeypatch):
    """external:planted with carphone's own frames at three rate points, one per format and
    rate file: r1 PNGs + rate.json, r2 Y4M + rates.csv, r3 lossless FFV1 in MKV + rates.csv."""
    root = tmp_path / "ext"
    method = root / "planted"
    seq = method / carphone.dataset / carphone.name
    write_png_frames(carphone.frames(), seq / "r1" / "frames")
    (seq / "r1" / "rate.json").write_text(json.dumps({"bits": 12345}))
    (seq / "r2").mkdir()
    with Y4MWriter(seq / "r2" / "decoded.y4m", carphone.width, carphone.height,
                   carphone.fps) as writer:
        for chunk in carphone.frames():
            writer.write(chunk)
    (seq / "r3").mkdir()
    run_ffmpeg(["-i", str(seq / "r2" / "decoded.y4m"), "-c:v", "ffv1",
                str(seq / "r3" / "decoded.mkv")], "writing the planted MKV")
    (method / "rates.csv").write_text("dataset,sequence,rate_point,bits\n"
                                      f"{carphone.dataset},{carphone.name},r2,2000\n"
                                      f"{carphone.dataset},{carphone.name},r3,3000\n")
    (method / "method.json").write_text(json.dumps({"causal": True,
                                                    "description": "planted copy"}))
    monkeypatch.setenv("ULVR_EXTERNAL_ROOT", str(root))
    return seq


def _run(sequence, label, **options):
    method = create_method("external:planted", **options)
    recon = method.run(sequence, method.find_rate_point(label), None)
    return recon, sum(c.n for c in recon.frames)


def test_end_to_end_through_the_runner(carphone, planted, tmp_path):
    store = ResultStore(tmp_path / "res")
    jobs = plan_jobs([carphone], ["external:planted"], ("psnr",))
    assert [j.rate_point.label for j in jobs] == ["r1", "r2", "r3"]
    summary = run_jobs(jobs, store, progress=False)
    assert (summary.ok, summary.failed) == (3, [])
    records = {r["rate_point"]["label"]: r for r in store.records()}
    for label, bits in (("r1", 12345), ("r2", 2000), ("r3", 3000)):
        record = records[label]
        assert record["kind"] == "external" and record["causal"] is True
        assert record["bits"] == {"external": bits} and record["total_bits"] == bits
        assert record["bpp"] == pytest.approx(bits / (6 * 176 * 144))
        assert record["metrics"]["psnr-rgb"] == 100.0
        assert len(record["per_frame"]["psnr-rgb"]) == carphone.num_frames
    # Y4M and FFV1 hold the source's own YUV planes; PNGs its RGB
    assert records["r2"]["metrics"]["psnr-y"] == records["r3"]["metrics"]["psnr-y"] == 100.0
    assert records["r1"]["method_info"]["bits_source"] == \
        f"planted/{carphone.dataset}/carphone/r1/rate.json"
    assert records["r2"]["method_info"]["bits_source"] == "planted/rates.csv line 2"
    assert run_jobs(jobs, store, progress=False).skipped == 3
    # replacing a published file changes the jobs' keys, so they run again
    (planted / "r1" / "rate.json").write_text(json.dumps({"bytes": 1000}))
    again = plan_jobs([carphone], ["external:planted"], ("psnr",), rate_points=["r1"])
    assert run_jobs(again, store, progress=False).ok == 1
    assert 8000 in set(store.dataframe()["total_bits"])


def test_wrong_frame_count_is_refused(carphone, planted):
    (planted / "r1" / "frames" / "00005.png").unlink()
    with pytest.raises(UlvrError, match=r"5 decoded frames.*has 6: refused, frame counts"):
        _run(carphone, "r1")
    longer = dataclasses.replace(carphone, num_frames=4)
    for label in ("r2", "r3"):
        with pytest.raises(UlvrError, match=r"6 decoded frames.*has 4.*truncate=true"):
            _run(longer, label)
        recon, frames = _run(longer, label, truncate=True)
        assert frames == 4
        assert recon.stream_bits() == {"external": round(int(label[1]) * 1000 * 4 / 6)}
        assert recon.info["bits_prorated"] == "4/6 frames"


def test_wrong_resolution_is_refused(carphone, planted):
    small = [FrameChunk(rgb_frames=c.rgb()[:, ::2, ::2].copy()) for c in carphone.frames()]
    write_png_frames(iter(small), planted / "r1" / "frames")
    with pytest.raises(UlvrError, match=r"frames are 88x72, sequence embedded/carphone is "
                                        r"176x144: refused"):
        _run(carphone, "r1")


@pytest.mark.parametrize("rate, needle", [
    (None, "no rate for external:planted embedded/carphone/r1"),
    ({"bits": 0}, "bits must be a positive number, got 0"),
    ({"bytes": "many"}, "bytes must be a positive number"),
    ({"size": 3}, 'must hold {"bits": N} or {"bytes": N}'),
    ({"bits": 2001}, "the rate files disagree"),
])
def test_missing_or_bad_rate_is_refused(carphone, planted, rate, needle):
    rate_json = planted / "r1" / "rate.json"
    rate_json.unlink()
    if rate is not None:
        rate_json.write_text(json.dumps(rate))
    if "disagree" in needle:
        with open(planted.parents[1] / "rates.csv", "a") as fh:
            fh.write("embedded,carphone,r1,2000\n")
    with pytest.raises(UlvrError) as err:
        _run(carphone, "r1")
    assert needle in str(err.value)


def test_missing_and_ambiguous_folders_are_refused(embedded, carphone, planted):
    bikes = next(s for s in embedded if s.name == "bikes")
    with pytest.raises(UlvrError, match=r"bikes/r1': no such folder"):
        _run(bikes, "r1")
    (planted / "r2" / "frames").mkdir()
    with pytest.raises(UlvrError, match=r"exactly one of .*it holds frames, decoded.y4m"):
        _run(carphone, "r2")


def test_unknown_external_name(planted, capsys):
    with pytest.raises(UlvrError, match=r"unknown method 'external:nosuch': no folder .*"
                                        r"found there: external:planted"):
        create_method("external:nosuch")
    assert main(["run", "--methods", "external:nosuch", "--frames", "2"]) == 2
    err = capsys.readouterr().err.strip()
    assert "unknown method 'external:nosuch'" in err and len(err.splitlines()) == 1


def test_listed_with_availability(planted, capsys):
    assert "external:planted" in method_names()
    assert main(["list", "methods"]) == 0
    line = next(ln for ln in capsys.readouterr().out.splitlines()
                if ln.startswith("external:planted"))
    assert "external" in line and "causal=True" in line and "3 rate points" in line
    assert line.endswith("available")
    (planted.parents[1] / "method.json").write_text("{broken")
    method = create_method("external:planted")
    assert not method.availability().ok and "method.json' is unusable" in \
        method.availability().reason
    assert len(method.rate_points()) == 3
