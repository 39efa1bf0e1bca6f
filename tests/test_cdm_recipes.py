"""Training recipes: every stage is a command the real parser accepts, and a recipe run again
skips finished stages and resumes stopped ones."""

import os

import pytest

from benchmark.core.errors import UlvrError
from methods.causal_diffusion import cli, recipes
from methods.causal_diffusion.checkpoint import read_metadata


@pytest.mark.parametrize("name", sorted(recipes.RECIPES))
def test_every_stage_is_a_command_the_parser_accepts(name, tmp_path):
    recipe = recipes.RECIPES[name]
    for stage in recipe.stages:
        args = cli.cdm_parser().parse_args(
            ["cdm", *recipes.stage_command(stage, tmp_path, recipe.steps, threads=2)])
        assert args.steps == recipe.steps and args.out.endswith(stage.out)
        assert args.mix == "native" and args.crop == 96
    # the fairness the issue asks for: the same data, crops, images per step and steps
    per_step = {s.name: int(s.args[s.args.index("--batch") + 1])
                * int(s.args[s.args.index("--frames") + 1]) for s in recipe.stages}
    assert set(per_step.values()) == {8}, per_step


def _tiny(steps: int) -> recipes.Recipe:
    return recipes.Recipe("test", steps, (recipes.Stage("tiny", "tiny.safetensors", (
        "train", "--stage", "spatial", "--config", "tiny", "--batch", "2", "--crop", "32",
        "--sequences", "carphone", "--max-frames", "12", "--steps", recipes.STEPS)),))


def test_a_recipe_run_again_skips_finished_stages_and_resumes_stopped_ones(
        tmp_path, monkeypatch, capsys):
    monkeypatch.setitem(recipes.RECIPES, "tiny", _tiny(2))
    out = tmp_path / "tiny.safetensors"
    assert recipes.run_recipe("tiny", tmp_path, cli.run_cdm, threads=1) == 0
    assert "tiny: new:" in capsys.readouterr().out
    assert read_metadata(out)["figures"]["steps"] == 2
    before = out.stat().st_mtime_ns
    assert recipes.run_recipe("tiny", tmp_path, cli.run_cdm) == 0
    assert "tiny: done:" in capsys.readouterr().out and out.stat().st_mtime_ns == before
    # a longer budget continues from the saved state (step 2), not from scratch
    assert recipes.run_recipe("tiny", tmp_path, cli.run_cdm, steps=3, threads=1) == 0
    assert "tiny: partial:" in capsys.readouterr().out
    assert read_metadata(out)["figures"]["steps"] == 3
    # --dry-run prints and runs nothing
    os.remove(out)
    assert recipes.run_recipe("tiny", tmp_path, cli.run_cdm, steps=4, dry_run=True) == 0
    assert "--out" in capsys.readouterr().out and not out.exists()


def test_unknown_recipe_is_one_line():
    with pytest.raises(UlvrError, match="unknown recipe 'big': choose from native"):
        recipes.get_recipe("big")
