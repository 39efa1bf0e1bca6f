"""Shared fixtures: small real sequences from the embedded dataset, temp stores."""

from __future__ import annotations

import os
import sys
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

import benchmark.core.torch_setup  # noqa: E402,F401  (before anything imports torchvision)
from benchmark.data.manifest import Sequence, load_dataset  # noqa: E402


@pytest.fixture(scope="session")
def embedded() -> list[Sequence]:
    """The embedded evaluation sequences, cut to 6 frames."""
    return list(load_dataset("embedded", max_frames=6).sequences)


@pytest.fixture(scope="session")
def tiny_cdm(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    """Tiny spatial, teacher and student checkpoints of the proposed method, trained once."""
    from tests.cdm_fixtures import train_tiny

    return train_tiny(tmp_path_factory.mktemp("cdm"))


@pytest.fixture(scope="session")
def carphone(embedded: list[Sequence]) -> Sequence:
    return next(s for s in embedded if s.name == "carphone")


@pytest.fixture()
def plugin_env(monkeypatch: pytest.MonkeyPatch) -> dict:
    """Environment that registers the test-only methods in tests/plugins."""
    env = dict(os.environ, ULVR_PLUGINS="tests.plugins.test_methods",
               PYTHONPATH=str(REPO) + os.pathsep + os.environ.get("PYTHONPATH", ""))
    monkeypatch.setenv("ULVR_PLUGINS", "tests.plugins.test_methods")
    return env
