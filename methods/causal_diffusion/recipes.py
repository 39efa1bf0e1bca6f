"""Training recipes: the `ulvr cdm` commands that produce a set of receiver checkpoints, run in
order by `ulvr cdm recipe NAME`, so that a run stopped anywhere continues with the same command.

A stage whose checkpoint already holds its steps is skipped; a stage with a saved state
(`<out>.state.pt`, written every 5 minutes) is resumed (a state written with other settings, or
from a teacher that has changed, is refused: runstate.py); `--dry-run` prints each stage's
exact `ulvr cdm` command.

`native` (issue 36): the four receivers fine-tuned on the `native` mix (half the batches from
the embedded clips, half from the native clips' training frames at twice the crop), each from
its shipped checkpoint, on the same data, crops and images per step (8) for the same number
of steps: the generative baseline (frame-diffusion) and the teacher and semantic baseline with
every parameter trainable; then the student distilled from the new teacher, its Temporal
Adapter only (the paper's temporal-only distillation), as the shipped student was.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from benchmark.core.errors import UlvrError
from methods.causal_diffusion.checkpoint import CHECKPOINT_DIR

STEPS = "{steps}"          # replaced by the recipe's step budget
OUT = "{dir}"              # replaced by the output folder
SHIPPED = "{shipped}"      # replaced by the shipped checkpoints' folder


@dataclass(frozen=True)
class Stage:
    """One command of a recipe: `ulvr cdm <args>`; `out` is its checkpoint's file name."""

    name: str
    out: str
    args: tuple[str, ...]


@dataclass(frozen=True)
class Recipe:
    description: str
    steps: int
    stages: tuple[Stage, ...]


_NATIVE_DATA = ("--mix", "native", "--crop", "96", "--steps", STEPS)
_FINE_TUNE = ("--trainable", "all", "--lr", "1e-4", *_NATIVE_DATA)
RECIPES: dict[str, Recipe] = {
    "native": Recipe(
        "the receivers fine-tuned for native resolution (issue 36), each on the same data, "
        "crops, images per step and steps; the student distilled from the new teacher",
        steps=600,
        stages=(
            Stage("frame-diffusion", "native-frame.safetensors", (
                "train", "--stage", "spatial", "--init", f"{SHIPPED}/small-frame.safetensors",
                "--batch", "8", "--frames", "1", *_FINE_TUNE)),
            Stage("cdm-teacher", "native-teacher.safetensors", (
                "train", "--stage", "teacher", "--init",
                f"{SHIPPED}/small-teacher.safetensors", "--batch", "1", "--frames", "8",
                *_FINE_TUNE)),
            Stage("semantic-only", "native-semantic.safetensors", (
                "train", "--stage", "teacher", "--init",
                f"{SHIPPED}/small-semantic.safetensors", "--points", "semantic", "--batch",
                "1", "--frames", "8", *_FINE_TUNE)),
            Stage("causal-diffusion", "native-causal.safetensors", (
                "distill", "--teacher", f"{OUT}/native-teacher.safetensors",
                "--student-steps", "2", "--cache-from", "last-step", "--perceptual", "dists",
                "--w-l1", "0", "--w-perceptual", "1.0", "--w-temporal", "0.5", "--w-dmd",
                "0.5", "--batch", "1", "--frames", "8", *_NATIVE_DATA)),
        )),
}


def get_recipe(name: str) -> Recipe:
    if name not in RECIPES:
        raise UlvrError(f"unknown recipe '{name}': choose from {', '.join(RECIPES)}")
    return RECIPES[name]


def stage_command(stage: Stage, folder: Path, steps: int, threads: int | None = None) -> list[str]:
    """The `ulvr cdm` arguments of a stage, with the folder, the step budget and threads."""
    fill = {"dir": _short(folder), "steps": str(steps), "shipped": _short(CHECKPOINT_DIR)}
    args = [a.format(**fill) for a in stage.args]
    args += ["--out", _short(folder / stage.out)]
    return args + (["--threads", str(threads)] if threads else [])


def _short(path: Path) -> str:
    """A path relative to the working folder when it lies inside it (printable commands)."""
    path = Path(path).resolve()
    return str(path.relative_to(Path.cwd())) if path.is_relative_to(Path.cwd()) else str(path)


def stage_status(stage: Stage, folder: Path, steps: int) -> str:
    """done (its checkpoint holds the steps), partial (a saved state) or new."""
    from methods.causal_diffusion.checkpoint import read_metadata

    out = folder / stage.out
    if out.exists() and read_metadata(out).get("figures", {}).get("steps", 0) >= steps:
        return "done"
    return "partial" if Path(str(out) + ".state.pt").exists() else "new"


def run_recipe(name: str, folder: Path, run: Callable[[list[str]], int],
               steps: int | None = None, threads: int | None = None,
               dry_run: bool = False) -> int:
    """Run (or print) a recipe's stages in order, each through `run` (`ulvr cdm ARGS`, the
    command group's own parser: cli.run_cdm): done ones skipped, partial ones resumed."""
    recipe = get_recipe(name)
    steps = steps or recipe.steps
    folder = Path(folder).resolve()
    for stage in recipe.stages:
        args = stage_command(stage, folder, steps, threads)
        status = stage_status(stage, folder, steps)
        print(f"[{name}] {stage.name}: {status}: ulvr cdm {' '.join(args)}", flush=True)
        if dry_run or status == "done":
            continue
        code = run([*args, *(["--resume"] if status == "partial" else [])])
        if code:
            return code
    return 0
