"""The one place that knows where the repository is: every other module asks here."""

from __future__ import annotations

from pathlib import Path

REPO_ROOT = Path(__file__).resolve().parents[2]   # benchmark/core/paths.py -> the checkout
RESULTS_DIR = REPO_ROOT / "results"                # committed reference results and demo output
DATASETS_DIR = REPO_ROOT / "datasets"              # the shipped dataset manifests
