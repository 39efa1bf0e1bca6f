"""Honest bits: decoders run isolated on the stream files alone, and planted cheaters are caught
(tests/plugins/cheaters.py); `ulvr check-method` gives a verdict per check."""

from __future__ import annotations

import pytest

from benchmark.data.store import ResultStore
from benchmark.execution.conformance import check_method
from benchmark.execution.runner import plan_jobs, run_jobs
from benchmark.execution.sandbox import landlock_reason

PLUGINS = "tests.plugins.test_methods,tests.plugins.cheaters"


@pytest.fixture()
def cheaters(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("ULVR_PLUGINS", PLUGINS)


@pytest.fixture()
def short_clip(embedded):
    """carphone's first 4 frames."""
    from benchmark.data.manifest import load_dataset

    return next(s for s in load_dataset("embedded", max_frames=4).sequences
                if s.name == "carphone")


def _run(sequence, method: str, isolation: str, tmp_path) -> dict:
    store = ResultStore(tmp_path / f"{method}-{isolation}")
    jobs = plan_jobs([sequence], [method], ("psnr",), isolation=isolation)[:1]
    run_jobs(jobs, store, progress=False)
    (record,) = store.records()
    return record


def _landlock() -> None:
    reason = landlock_reason()
    if reason:   # said, never silent: without Landlock only the process boundary is in force
        pytest.skip(f"Landlock is not available here ({reason}); the source cheater needs it")


def test_an_honest_codec_gives_the_same_numbers_isolated_and_says_so(short_clip, tmp_path):
    isolated = _run(short_clip, "x265", "process", tmp_path)
    local = _run(short_clip, "x265", "none", tmp_path)
    assert isolated["status"] == local["status"] == "ok"
    assert isolated["isolation"].startswith("process")
    assert local["isolation"] == "none"
    assert isolated["bits"] == local["bits"] and isolated["metrics"] == local["metrics"]


def test_a_decoder_reading_the_source_file_is_caught_by_landlock(cheaters, short_clip,
                                                                 tmp_path):
    _landlock()
    cheat = _run(short_clip, "test-cheat-source", "none", tmp_path)
    assert cheat["status"] == "ok" and cheat["metrics"]["psnr-y"] == 100.0   # it does cheat
    caught = _run(short_clip, "test-cheat-source", "process", tmp_path)
    assert "landlock" in caught["isolation"]
    assert caught["status"] == "failed" and "Permission denied" in caught["error"]


def test_a_decoder_using_the_encoders_memory_is_caught_by_the_process_boundary(
        cheaters, short_clip, tmp_path):
    cheat = _run(short_clip, "test-cheat-cache", "none", tmp_path)
    assert cheat["status"] == "ok" and cheat["metrics"]["psnr-y"] == 100.0
    caught = _run(short_clip, "test-cheat-cache", "process", tmp_path)
    assert caught["status"] == "failed"
    assert "cached source frames are not here" in caught["error"]


def test_data_smuggled_through_the_session_is_refused(cheaters, short_clip, tmp_path):
    for isolation in ("process", "none"):
        record = _run(short_clip, "test-cheat-session", isolation, tmp_path)
        assert record["status"] == "failed"
        assert "session key 'mean' is not allowed" in record["error"]


def test_a_crashing_decoder_is_a_recorded_failure_and_the_next_job_runs(cheaters, short_clip,
                                                                        tmp_path):
    dead = _run(short_clip, "test-decoder-dies", "process", tmp_path)
    assert dead["status"] == "failed" and "decoder process died" in dead["error"]
    assert _run(short_clip, "x265", "process", tmp_path)["status"] == "ok"


def test_check_method_catches_every_cheater_and_passes_an_honest_codec(cheaters, short_clip):
    def verdicts(name: str) -> dict[str, bool]:
        return {c.name: c.ok for c in check_method(name, short_clip)}

    honest = verdicts("x265")
    assert all(honest.values()) and "truncated stream" in honest and "corrupt stream" in honest
    assert verdicts("test-cheat-cache")["isolated decode"] is False
    assert verdicts("test-cheat-session")["session"] is False
    if not landlock_reason():
        assert verdicts("test-cheat-source")["isolated decode"] is False
    crash = verdicts("test-decoder-dies")
    assert crash["isolated decode"] is False


def test_check_method_command_prints_a_verdict_per_check(capsys):
    from benchmark.cli import main

    assert main(["check-method", "x265", "--frames", "4", "--rate-point", "qp42"]) == 0
    out = capsys.readouterr().out
    for name in ("availability", "options", "split", "bits", "session", "isolated decode",
                 "deterministic", "truncated stream", "corrupt stream"):
        assert f"PASS  {name}" in out
    assert out.strip().endswith("x265: conforms")


def test_the_report_flags_records_decoded_without_isolation():
    from benchmark.reporting.notes import isolation_notes

    records = [{"status": "ok", "method": "x265", "isolation": "process+landlock"},
               {"status": "ok", "method": "my-codec", "isolation": "none"},
               {"status": "ok", "method": "external:glc", "isolation": "none (no decoder)"},
               {"status": "failed", "method": "broken", "isolation": "none"}]
    notes = isolation_notes(records)
    assert len(notes) == 2
    assert notes[0].startswith("NOT ISOLATED (--isolation none): my-codec decoded")
    assert "external:glc" in notes[1]
    assert isolation_notes(records[:1]) == []


def test_a_dead_runs_decoder_folders_are_swept(tmp_path):
    """The decoder worker's scratch folder is named after the job process, so the next run's
    sweep removes what a killed run's decoders left (and close removes it at once)."""
    import os
    import subprocess
    import sys

    from benchmark.execution.isolation import SandboxWorker
    from benchmark.execution.sandbox import Confinement
    from benchmark.execution.workdirs import clean_stale_workdirs

    worker = SandboxWorker(Confinement("decoder"))
    assert worker.scratch.name.startswith(f"ulvr-job-{os.getpid()}-decoder-")
    worker.close()
    assert not worker.scratch.exists()
    dead = subprocess.run([sys.executable, "-c", "import os; print(os.getpid())"],
                          capture_output=True, text=True).stdout.strip()
    left = tmp_path / f"ulvr-job-{dead}-decoder-abc" / "job-1" / "streams"
    left.mkdir(parents=True)
    assert left.parents[1] in clean_stale_workdirs(tmp_path)
    assert not left.parents[1].exists()
