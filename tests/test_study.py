"""Subjective study: pairs at matched rate from a real store, lossless browser videos, the vote
server's validation and durability, and Bradley-Terry scores against a closed form."""

from __future__ import annotations

import http.client
import json
import threading

import numpy as np
import pytest

from benchmark.data.store import ResultStore
from benchmark.execution.runner import plan_jobs, run_jobs
from benchmark.study.make import make_study
from benchmark.study.score import score_study
from benchmark.study.server import MAX_BODY, make_server


@pytest.fixture(scope="module")
def study(embedded, tmp_path_factory):
    """x264 and x265 at qp42 on carphone (6 frames): one matched pair plus an attention check."""
    root = tmp_path_factory.mktemp("study")
    carphone = [s for s in embedded if s.name == "carphone"]
    store = ResultStore(root / "store")
    run_jobs(plan_jobs(carphone, ["x264", "x265"], ("psnr",), rate_points=["qp42"]), store,
             progress=False)
    bpp = store.dataframe()["bpp"]
    manifest = make_study(str(root / "store"), str(root / "study"),
                          [float(np.sqrt(bpp.prod()))])
    return root / "study", manifest


@pytest.fixture()
def server(study):
    folder, _ = study
    (folder / "votes.jsonl").unlink(missing_ok=True)
    srv = make_server(str(folder), port=0)
    thread = threading.Thread(target=srv.serve_forever, daemon=True)
    thread.start()
    yield srv
    srv.shutdown()
    srv.server_close()


def _request(srv, method: str, path: str, body: bytes | None = None):
    conn = http.client.HTTPConnection(*srv.server_address[:2], timeout=30)
    conn.request(method, path, body=body, headers={"Content-Type": "application/json"})
    reply = conn.getresponse()
    return reply.status, reply.read()


def test_make_pairs_matched_methods_and_adds_an_attention_check(study, carphone):
    folder, manifest = study
    pairs = manifest["pairs"]
    assert [p["attention"] for p in pairs] == [False, True]
    assert {pairs[0]["a"]["method"], pairs[0]["b"]["method"]} == {"x264", "x265"}
    assert (folder / "index.html").is_file()
    for name in (f"{pairs[0]['a']['key']}.webm", "ref-embedded-carphone.webm",
                 "degraded-embedded-carphone.webm"):
        frames = _decode(folder / "media" / name, carphone.num_frames)
        assert frames.shape == (carphone.num_frames, carphone.height, carphone.width, 3)


def _decode(path, frames: int) -> np.ndarray:
    """The frames of a video as RGB, through the harness's own ffmpeg reader."""
    from benchmark.core.ffmpeg import probe
    from benchmark.data.video_io import FfmpegVideo

    info = probe(str(path))
    video = FfmpegVideo(str(path), info.width, info.height, info.fps, 8, frames)
    return np.concatenate([c.rgb() for c in video.chunks()])


def test_browser_videos_are_lossless(study, carphone):
    """The reference's browser copy decodes to the source's own planes; a reconstruction's
    to what the harness scored."""
    from benchmark.data.video_io import FfmpegVideo

    folder, manifest = study
    path = folder / "media" / "ref-embedded-carphone.webm"
    copy = FfmpegVideo(str(path), carphone.width, carphone.height, carphone.fps, 8,
                       carphone.num_frames)
    for a, b in zip(copy.chunks(), carphone.frames(), strict=True):
        for plane_a, plane_b in zip(a.yuv(8), b.yuv(8), strict=True):
            np.testing.assert_array_equal(plane_a, plane_b)


def test_votes_are_validated_and_stored_whole(server, study):
    folder, manifest = study
    pair = manifest["pairs"][0]
    status, body = _request(server, "GET", "/session?observer=obs-1")
    trials = json.loads(body)["trials"]
    assert status == 200 and {t["pair"] for t in trials} == {p["id"] for p in manifest["pairs"]}
    trial = next(t for t in trials if t["pair"] == pair["id"])
    vote = {"observer": "obs-1", "pair": pair["id"], "left": trial["left"],
            "right": trial["right"], "answer": "left", "elapsed_ms": 1234}
    assert _request(server, "POST", "/vote", json.dumps(vote).encode())[0] == 200
    bad = [({**vote, "pair": "nope"}, 404), ({**vote, "answer": "both"}, 400),
           ({**vote, "left": "x"}, 400), ({**vote, "observer": "a b"}, 400)]
    for body, expected in bad:
        assert _request(server, "POST", "/vote", json.dumps(body).encode())[0] == expected
    assert _request(server, "POST", "/vote", b"{not json")[0] == 400
    assert _request(server, "POST", "/vote", b"x" * (MAX_BODY + 1))[0] == 413
    assert _request(server, "GET", "/votes.jsonl")[0] == 404
    assert _request(server, "GET", "/../manifest.json")[0] in (200, 404)
    lines = (folder / "votes.jsonl").read_text().splitlines()
    assert len(lines) == 1
    stored = json.loads(lines[0])
    assert (stored["observer"], stored["pair"], stored["answer"]) == ("obs-1", pair["id"], "left")
    # a reload resumes the session without the answered pair, in the same order and sides
    again = json.loads(_request(server, "GET", "/session?observer=obs-1")[1])["trials"]
    assert again == [t for t in trials if t["pair"] != pair["id"]]


def test_sessions_differ_between_observers(server):
    orders = {json.dumps(json.loads(_request(server, "GET", f"/session?observer=o{i}")[1])
                         ["trials"]) for i in range(8)}
    assert len(orders) > 1


def _vote(folder, observer, pair, winner_key, loser_key, answer="left"):
    with open(folder / "votes.jsonl", "a") as fh:
        fh.write(json.dumps({"observer": observer, "pair": pair, "left": winner_key,
                             "right": loser_key, "answer": answer}) + "\n")


def test_bradley_terry_matches_the_closed_form_and_drops_inattentive_observers(study):
    """Two methods, 3 wins to 1: the ML log-strength difference is log 3. An observer who
    picks the degraded video in the attention check is left out."""
    folder, manifest = study
    (folder / "votes.jsonl").unlink(missing_ok=True)
    pair, check = manifest["pairs"]
    a, b = pair["a"]["key"], pair["b"]["key"]
    ref, low = check["a"]["key"], check["b"]["key"]
    for observer in ("p1", "p2", "p3"):
        _vote(folder, observer, pair["id"], a, b)
        _vote(folder, observer, check["id"], ref, low)
    _vote(folder, "p4", pair["id"], b, a)
    _vote(folder, "p4", check["id"], ref, low)
    for _ in range(5):                                   # inattentive: would flip the result
        _vote(folder, "bad", pair["id"], b, a)
    _vote(folder, "bad", check["id"], low, ref)
    frame = score_study(str(folder), alpha=0.0).set_index("method")
    diff = frame.loc[pair["a"]["method"], "score"] - frame.loc[pair["b"]["method"], "score"]
    assert diff == pytest.approx(np.log(3), rel=1e-4)
    assert frame.loc[pair["a"]["method"], ["wins", "losses"]].tolist() == [3, 1]
    assert frame.attrs["observers_dropped"] == ["bad"]


def test_matched_groups_and_the_active_design():
    """Within a band each method contributes its record nearest the target; the active design
    puts the pair whose outcome is least certain (closest scores, fewest votes) first."""
    from benchmark.core.pandas_setup import pd
    from benchmark.study.design import active_pairs, matched_groups, uncertainty

    rows = [("x264", "qp51", 0.0009), ("x264", "qp47", 0.0013), ("x265", "qp51", 0.0011),
            ("cdm", "d8", 0.0010), ("far", "q1", 0.01)]
    frame = pd.DataFrame([{"dataset": "d", "sequence": "s", "status": "ok", "method": m,
                           "rate_point": rp, "key": f"{m}-{rp}", "bpp": b} for m, rp, b in rows])
    (conds,) = matched_groups(frame, [0.001]).values()
    assert [(c.method, c.rate_point) for c in conds] == [("cdm", "d8"), ("x264", "qp51"),
                                                         ("x265", "qp51")]
    groups = matched_groups(frame, [0.001])
    scores = {"cdm@d8": 2.0, "x264@qp51": 0.0, "x265@qp51": 0.1}
    ranked = active_pairs(groups, 3, scores)
    assert {ranked[0].a.method, ranked[0].b.method} == {"x264", "x265"}
    first = ranked[0]
    assert uncertainty(first, scores, {first.pair_id: 3}) < uncertainty(first, scores, {})


def _synthetic_study(folder, strengths: dict[str, float], observers: int, repeats: int,
                     rng: np.random.Generator) -> None:
    """A study folder of every method pair and votes drawn from a Bradley-Terry model with the
    given log-strengths (each observer answers each pair `repeats` times)."""
    import itertools

    names = sorted(strengths)
    pairs = [{"id": f"p{i}", "dataset": "toy", "sequence": "s", "band": 0.001,
              "attention": False, "a": {"key": a, "method": a}, "b": {"key": b, "method": b}}
             for i, (a, b) in enumerate(itertools.combinations(names, 2))]
    folder.mkdir(parents=True, exist_ok=True)
    (folder / "manifest.json").write_text(json.dumps({"pairs": pairs, "references": {}}))
    lines = []
    for o, pair, _ in itertools.product(range(observers), pairs, range(repeats)):
        a, b = pair["a"]["key"], pair["b"]["key"]
        p_a = 1 / (1 + np.exp(strengths[b] - strengths[a]))
        left, right = (a, b) if rng.random() < 0.5 else (b, a)
        a_won = rng.random() < p_a
        answer = "left" if (left == a) == a_won else "right"
        lines.append(json.dumps({"observer": f"o{o}", "pair": pair["id"], "left": left,
                                 "right": right, "answer": answer}))
    (folder / "votes.jsonl").write_text("\n".join(lines) + "\n")


def test_scores_of_simulated_votes_recover_the_true_strengths(tmp_path):
    """Votes drawn from known strengths: the fitted order is the true one, and the true
    (centred) strengths lie inside the 95% bootstrap intervals in most simulated studies."""
    truth = {"a": -1.0, "b": -0.3, "c": 0.4, "d": 0.9}
    centred = {m: v - np.mean(list(truth.values())) for m, v in truth.items()}
    rng = np.random.default_rng(7)
    covered, total = 0, 0
    for study_no in range(12):
        folder = tmp_path / f"s{study_no}"
        _synthetic_study(folder, truth, observers=12, repeats=2, rng=rng)
        frame = score_study(str(folder), runs=150, seed=study_no).set_index("method")
        if study_no == 0:
            assert list(frame.sort_values("score").index) == ["a", "b", "c", "d"]
            assert (frame["ci_low"] < frame["score"]).all()
            assert (frame["score"] < frame["ci_high"]).all()
            rates = frame.attrs["win_rates"][("toy", 0.001)]
            assert rates.loc["d", "a"] > 0.7
            assert rates.loc["a", "d"] == pytest.approx(1 - rates.loc["d", "a"])
        for m, value in centred.items():
            covered += frame.loc[m, "ci_low"] <= value <= frame.loc[m, "ci_high"]
            total += 1
    assert covered / total >= 0.8, f"true strengths inside the intervals {covered}/{total}"


def test_write_scores_outputs_tables_plot_and_page_summary(tmp_path):
    _synthetic_study(tmp_path / "s", {"a": 0.0, "b": 1.0}, observers=4, repeats=3,
                     rng=np.random.default_rng(0))
    from benchmark.study.score import write_scores

    paths = {p.name for p in write_scores(str(tmp_path / "s"))}
    assert paths == {"study_scores.csv", "study_scores.md", "study_win_rates.csv",
                     "study_scores.png", "study_summary.json"}
    summary = json.loads((tmp_path / "s" / "study_summary.json").read_text())
    assert summary["observers"] == 4 and summary["votes"] == 12 and summary["dropped"] == 0
    assert {r["method"] for r in summary["scores"]} == {"a", "b"}
    assert "Win rates" in (tmp_path / "s" / "study_scores.md").read_text()


def test_a_vote_cut_off_by_a_kill_is_dropped_and_the_log_stays_whole(study):
    """A log whose last line was cut mid-write: it reads as the complete lines, the server cuts
    the tail off before serving, and a real SIGKILL during a flood of votes leaves no broken
    line either."""
    import os
    import signal
    import socket
    import subprocess
    import sys
    import time

    from benchmark.study.server import read_votes

    folder, manifest = study
    log = folder / "votes.jsonl"
    pair = manifest["pairs"][0]
    whole = json.dumps({"observer": "k1", "pair": pair["id"], "left": pair["a"]["key"],
                        "right": pair["b"]["key"], "answer": "left"}) + "\n"
    log.write_text(whole + whole[:25])
    assert len(read_votes(log)) == 1
    srv = make_server(str(folder), port=0)
    srv.server_close()
    assert log.read_text() == whole                       # the half line is gone, no more
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    proc = subprocess.Popen([sys.executable, "-m", "benchmark", "study", "serve", str(folder),
                             "--port", str(port)], stdout=subprocess.PIPE,
                            stderr=subprocess.DEVNULL)
    try:
        proc.stdout.readline()                            # serving
        body = json.dumps({"observer": "k2", "pair": pair["id"], "left": pair["a"]["key"],
                           "right": pair["b"]["key"], "answer": "right"}).encode()
        stop = time.monotonic() + 1.5
        sent = 0
        while time.monotonic() < stop:
            try:
                conn = http.client.HTTPConnection("127.0.0.1", port, timeout=5)
                conn.request("POST", "/vote", body=body)
                conn.getresponse().read()
                sent += 1
            except OSError:
                pass
            if sent == 20:
                os.kill(proc.pid, signal.SIGKILL)         # mid-flood
                break
    finally:
        proc.kill()
        proc.wait()
    assert sent >= 20
    text = log.read_text()
    lines = text.split("\n")
    assert all(json.loads(line) for line in lines[:-1])   # every complete line parses
    make_server(str(folder), port=0).server_close()       # a restart cuts any partial tail
    assert log.read_text().endswith("\n")
    assert len(read_votes(log)) >= 20


def test_an_observer_clicks_through_the_study_in_chromium(server, study, tmp_path):
    """Real Chromium through WebDriver: the page loads the session, keyboard answers reach the
    vote log whole, and a reload resumes (nothing left to answer)."""
    from selenium.webdriver.common.keys import Keys
    from selenium.webdriver.support.ui import WebDriverWait

    from tests.browser import chromium, console_errors

    folder, manifest = study
    host, port = server.server_address[:2]
    status = ("id", "status")
    with chromium(tmp_path / "profile") as driver:
        driver.get(f"http://{host}:{port}/")
        wait = WebDriverWait(driver, 30)
        wait.until(lambda d: "comparisons left" in d.find_element(*status).text)
        assert driver.find_element("id", "left").get_attribute("src").endswith(".webm")
        for key in (Keys.ARROW_LEFT, Keys.ARROW_DOWN):
            before = driver.find_element(*status).text
            driver.find_element("tag name", "body").send_keys(key)
            wait.until(lambda d, b=before: d.find_element(*status).text != b)
        assert "complete" in driver.find_element(*status).text
        votes = [json.loads(line) for line in (folder / "votes.jsonl").read_text().splitlines()]
        assert sorted(v["pair"] for v in votes) == sorted(p["id"] for p in manifest["pairs"])
        assert [v["answer"] for v in votes] == ["left", "none"]
        assert len({v["observer"] for v in votes}) == 1
        driver.refresh()
        wait.until(lambda d: "complete" in d.find_element(*status).text)
        assert console_errors(driver) == []
