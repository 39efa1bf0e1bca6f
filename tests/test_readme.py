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
    assert len(records) == 6   # 3 rate points each, so that the BD table has values
    bd = (tmp_path / "results" / "mine" / "report" / "bd_table_embedded.csv").read_text()
    assert "my-codec" in bd


def _run(line: str, cwd: Path, *extra: str) -> subprocess.CompletedProcess:
    """A README command line run in `cwd` with this environment's ulvr (and extra words)."""
    env, words = _words(line)
    words[0] = str(Path(sys.executable).parent / "ulvr") if words[0].endswith("ulvr") \
        else words[0]
    return subprocess.run([*words, *extra], cwd=cwd, env={**os.environ, **env},
                          capture_output=True, text=True)


def test_the_own_video_commands_run_as_printed(tmp_path):
    """`ulvr run --input my.y4m` and `ulvr dataset init my-videos/` on generated clips."""
    from tests.test_inputs import make_video

    make_video(tmp_path / "my.y4m")
    (tmp_path / "my-videos").mkdir()
    make_video(tmp_path / "my-videos" / "a.y4m")
    steps = [line for line in SHELL if "--input" in line or "dataset init" in line]
    assert len(steps) == 2
    for line in steps:
        done = _run(line, tmp_path)
        assert done.returncode == 0, done.stdout + done.stderr
    table = (tmp_path / "results" / "mine" / "report" / "rd_table_input.md").read_text()
    assert "| x265 |" in table and "| svtav1 |" in table
    assert (tmp_path / "my-videos" / "manifest.yaml").is_file()


def test_the_checkpoint_check_runs_as_printed(tmp_path):
    """The README's regress commands, from the repository (its reference, its shipped
    checkpoint), on one clip: the shipped checkpoint reproduces the reference; the finished-run
    form compares a store (here the reference itself) job by job."""
    steps = [line for line in SHELL if " regress " in line]
    assert len(steps) == 2 and all("--reference" in line for line in steps)
    checkpoint, finished = steps
    done = _run(checkpoint, REPO, "--sequences", "carphone", "--quiet", "--candidate",
                str(tmp_path / "cand"), "--output", str(tmp_path / "regress.json"), "--junit",
                str(tmp_path / "regress.xml"))
    assert done.returncode == 0 and "-> PASS" in done.stdout, done.stdout + done.stderr
    assert (tmp_path / "regress.xml").is_file()
    done = _run(finished.replace("--candidate results/embedded",
                                 "--candidate results/reference/embedded"), REPO,
                "--output", str(tmp_path / "finished.json"))
    assert done.returncode == 0 and "0 regressions -> PASS" in done.stdout, done.stdout
