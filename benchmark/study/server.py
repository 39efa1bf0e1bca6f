"""`ulvr study serve`: the study page, its videos, each observer's session and the vote log.

Votes are appended to DIR/votes.jsonl, one JSON line per vote, written whole and fsynced under
a lock (observer, pair, the conditions shown left and right, answer, time). An observer's
session is a pair order and side assignment drawn from their id, so a reload resumes it with
the pairs already answered removed. Bad requests get 4xx and store nothing.
"""

from __future__ import annotations

import json
import os
import random
import re
import threading
import time
from http import HTTPStatus
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from urllib.parse import parse_qs, urlparse

from benchmark.core.errors import UlvrError

MAX_BODY = 4096
ANSWERS = ("left", "right", "none")
OBSERVER = re.compile(r"^[A-Za-z0-9_-]{1,64}$")
TYPES = {".html": "text/html; charset=utf-8", ".json": "application/json",
         ".webm": "video/webm"}


def read_votes(path: Path) -> list[dict]:
    """The votes of a log; a last line without its newline (the server was killed while
    writing it, and never acknowledged it) is not a vote."""
    text = path.read_text() if path.exists() else ""
    lines = text.split("\n")
    return [json.loads(line) for line in lines[:-1] if line.strip()]


def repair_votes(path: Path) -> int:
    """Cut an unfinished last line off the log, so the next vote starts on a line of its own;
    returns the bytes removed (every complete line is kept)."""
    if not path.exists():
        return 0
    data = path.read_bytes()
    keep = data.rfind(b"\n") + 1
    if keep == len(data):
        return 0
    with open(path, "r+b") as fh:
        fh.truncate(keep)
        fh.flush()
        os.fsync(fh.fileno())
    return len(data) - keep


class Study:
    """The study folder: its manifest, the votes so far, and the lock that serialises writes."""

    def __init__(self, folder: str | os.PathLike) -> None:
        self.folder = Path(folder)
        manifest = self.folder / "manifest.json"
        if not manifest.is_file():
            raise UlvrError(f"'{self.folder}' holds no study (manifest.json): make one with "
                            "'ulvr study make STORE --out DIR'")
        self.manifest = json.loads(manifest.read_text())
        self.pairs = {p["id"]: p for p in self.manifest["pairs"]}
        self.votes = self.folder / "votes.jsonl"
        self.lock = threading.Lock()

    def answered(self, observer: str) -> set[str]:
        return {v["pair"] for v in read_votes(self.votes) if v["observer"] == observer}

    def session(self, observer: str) -> list[dict]:
        """The observer's remaining trials: a seeded order, sides randomised per pair."""
        rng = random.Random(observer)
        ids = sorted(self.pairs)
        rng.shuffle(ids)
        done = self.answered(observer)
        trials = []
        for pid in ids:
            pair = self.pairs[pid]
            left, right = (pair["a"], pair["b"]) if rng.random() < 0.5 else (pair["b"], pair["a"])
            if pid in done:
                continue
            reference = self.manifest["references"][f"{pair['dataset']}/{pair['sequence']}"]
            trials.append({"pair": pid, "reference": f"media/{reference}",
                           "left": left["key"], "right": right["key"],
                           "left_src": f"media/{left['key']}.webm",
                           "right_src": f"media/{right['key']}.webm"})
        return trials

    def record(self, vote: dict) -> dict:
        """Validate one vote and append it whole; raises ValueError (-> 400) or KeyError."""
        observer, pid = vote.get("observer"), vote.get("pair")
        if not isinstance(observer, str) or not OBSERVER.match(observer):
            raise ValueError("observer must be 1-64 letters, digits, '-' or '_'")
        if pid not in self.pairs:
            raise KeyError(f"unknown pair {pid!r}")
        pair = self.pairs[pid]
        shown = {vote.get("left"), vote.get("right")}
        if shown != {pair["a"]["key"], pair["b"]["key"]}:
            raise ValueError("left and right must be the pair's two conditions")
        if vote.get("answer") not in ANSWERS:
            raise ValueError(f"answer must be one of {', '.join(ANSWERS)}")
        line = {"observer": observer, "pair": pid, "left": vote["left"],
                "right": vote["right"], "answer": vote["answer"],
                "time": time.strftime("%Y-%m-%dT%H:%M:%S%z"),
                "elapsed_ms": vote.get("elapsed_ms") if isinstance(vote.get("elapsed_ms"),
                                                                   int | float) else None}
        data = (json.dumps(line, sort_keys=True) + "\n").encode()
        with self.lock:
            fd = os.open(self.votes, os.O_WRONLY | os.O_APPEND | os.O_CREAT, 0o644)
            try:
                os.write(fd, data)
                os.fsync(fd)
            finally:
                os.close(fd)
        return line


def handler_for(study: Study) -> type[BaseHTTPRequestHandler]:
    """A request handler bound to one study."""

    class Handler(BaseHTTPRequestHandler):
        def log_message(self, format: str, *args: object) -> None:  # noqa: A002
            pass

        def _send(self, status: int, body: bytes, kind: str = "application/json") -> None:
            self.send_response(status)
            self.send_header("Content-Type", kind)
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

        def _json(self, status: int, value: object) -> None:
            self._send(status, json.dumps(value).encode())

        def do_GET(self) -> None:
            url = urlparse(self.path)
            if url.path == "/session":
                observer = parse_qs(url.query).get("observer", [""])[0]
                if not OBSERVER.match(observer):
                    return self._json(HTTPStatus.BAD_REQUEST, {"error": "bad observer id"})
                return self._json(HTTPStatus.OK, {"observer": observer,
                                                   "trials": study.session(observer)})
            name = "index.html" if url.path == "/" else url.path.lstrip("/")
            path = (study.folder / name).resolve()
            allowed = path.parent in (study.folder.resolve(), (study.folder / "media").resolve())
            if not allowed or path.name == "votes.jsonl" or not path.is_file() \
                    or path.suffix not in TYPES:
                return self._json(HTTPStatus.NOT_FOUND, {"error": "not found"})
            self._send(HTTPStatus.OK, path.read_bytes(), TYPES[path.suffix])

        def do_POST(self) -> None:
            if urlparse(self.path).path != "/vote":
                return self._json(HTTPStatus.NOT_FOUND, {"error": "not found"})
            try:
                length = int(self.headers.get("Content-Length", ""))
            except ValueError:
                return self._json(HTTPStatus.LENGTH_REQUIRED, {"error": "Content-Length"})
            if length > MAX_BODY:
                return self._json(HTTPStatus.REQUEST_ENTITY_TOO_LARGE,
                                  {"error": f"body over {MAX_BODY} bytes"})
            try:
                vote = json.loads(self.rfile.read(length))
                if not isinstance(vote, dict):
                    raise ValueError("the body must be a JSON object")
                line = study.record(vote)
            except KeyError as exc:
                return self._json(HTTPStatus.NOT_FOUND, {"error": str(exc)})
            except ValueError as exc:
                return self._json(HTTPStatus.BAD_REQUEST, {"error": str(exc)})
            self._json(HTTPStatus.OK, line)

    return Handler


def make_server(folder: str, host: str = "127.0.0.1", port: int = 8000) -> ThreadingHTTPServer:
    """The study's HTTP server (not yet serving); port 0 picks a free one. A vote left half
    written by a killed server is cut off first."""
    study = Study(folder)
    repair_votes(study.votes)
    return ThreadingHTTPServer((host, port), handler_for(study))
