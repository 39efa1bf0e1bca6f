"""README.md is a quick start that works: at most 150 lines, no path leaving the repository,
every docs/ file it names exists, and every shell example runs (the own-method steps exactly as
printed, on the adapter printed above them; the others as far as a test can: make targets
dry-run, `ulvr` command lines parsed by ulvr's own parser)."""

from __future__ import annotations

import os
import re
import shlex
import subprocess
import sys
from pathlib import Path

from benchmark.cli import build_parser

REPO = Path(__file__).resolve().parent.parent
README = (REPO / "README.md").read_text()
SHELL = [line.strip() for block in re.findall(r"```sh\n(.*?)```", README, re.S)
         for line in block.splitlines() if line.strip()]


def _words(line: str) -> tuple[dict, list[str]]:
    """Environment assignments and the words of a command line, its comment dropped."""
    words = shlex.split(line, comments=True)
    env = {}
    while words and re.fullmatch(r"[A-Z_]+=.*", words[0]):
        key, value = words.pop(0).split("=", 1)
        env[key] = value
    return env, words


def test_readme_is_short_and_stays_in_the_repository():
    assert len(README.splitlines()) <= 150
    assert "../" not in README and "DESIGN.md" not in README
    for name in set(re.findall(r"`((?:docs/)[\w./-]+|CHANGELOG\.md)`", README)) | \
            set(re.findall(r"\]\((docs/[\w./-]+)\)", README)):
        assert (REPO / name).exists(), name


def test_every_make_target_in_the_readme_exists():
    targets = [words[1] for _, words in map(_words, SHELL) if words[:1] == ["make"]]
    assert {"demo", "test"} <= set(targets)
    for target in targets:
        done = subprocess.run(["make", "-n", "-C", str(REPO), target], capture_output=True,
                              text=True)
        assert done.returncode == 0, done.stderr


def test_every_ulvr_command_line_in_the_readme_parses():
    lines = [words for _, words in map(_words, SHELL) if words and words[0].endswith("ulvr")]
    assert len(lines) >= 5
    for words in lines:
        build_parser().parse_args(words[1:])   # an unknown flag or subcommand exits 2 here
    assert any(line.startswith(". .venv/bin/activate") for line in SHELL)


def test_the_own_method_steps_run_exactly_as_printed(tmp_path):
    (python,) = re.findall(r"```python\n(.*?)```", README, re.S)
    (tmp_path / "my_codec.py").write_text(python)
    ulvr = str(Path(sys.executable).parent / "ulvr")
    steps = [line for line in SHELL if "my-codec" in line]
    assert len(steps) == 2
    for line in steps:
        env, words = _words(line)
        words[0] = ulvr if words[0].endswith("ulvr") else words[0]
        done = subprocess.run(words, cwd=tmp_path, env={**os.environ, **env},
                              capture_output=True, text=True)
        assert done.returncode == 0, done.stdout + done.stderr
    records = list((tmp_path / "results" / "mine").glob("records/**/*.json"))
    assert len(records) == 2
