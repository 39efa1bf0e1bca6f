"""Your own videos: `ulvr run --input FILE` (y4m, raw yuv, mp4), `ulvr dataset init DIR`, and
the manifest schema's one-line errors for every wrong key, before any job runs."""

from __future__ import annotations

import shutil
import subprocess
from pathlib import Path

import pytest
import yaml

from benchmark.cli import main
from benchmark.core.ffmpeg import ffmpeg_exe
from benchmark.core.pandas_setup import pd
from benchmark.data.manifest import load_dataset

SIZE, FRAMES = "96x64", 6


def make_video(path: Path, pix_fmt: str = "yuv420p", size: str = SIZE, extra=()) -> Path:
    """A short testsrc2 clip written by ffmpeg in the format the suffix names."""
    fmt = ["-f", "rawvideo"] if path.suffix == ".yuv" else []
    subprocess.run([ffmpeg_exe(), "-loglevel", "error", "-y", "-f", "lavfi", "-i",
                    f"testsrc2=size={size}:rate=25", "-frames:v", str(FRAMES), *extra,
                    "-pix_fmt", pix_fmt, *fmt, str(path)], check=True)
    return path


def one_line_error(capsys, argv: list[str]) -> str:
    assert main(argv) == 2
    err = capsys.readouterr().err.strip()
    assert len(err.splitlines()) == 1 and "Traceback" not in err, err
    return err


def test_run_input_files_gives_an_rd_table(tmp_path, capsys):
    y4m = make_video(tmp_path / "walk.y4m")
    raw = make_video(tmp_path / "street.yuv")
    mp4 = make_video(tmp_path / "my clip.mp4", extra=("-c:v", "libx264"))
    out = tmp_path / "res"
    code = main(["run", "--input", str(y4m), "--input", str(raw), "--size", SIZE,
                 "--input", str(mp4), "--methods", "x265,svtav1", "--rate-points",
                 "x265=qp36,x265=qp41,x265=qp46,svtav1=qp46,svtav1=qp52,svtav1=qp58",
                 "--out", str(out), "--quiet"])
    assert code == 0
    assert "no BD table" not in capsys.readouterr().err   # lowres-bicubic was not run: no noise
    manifest = yaml.safe_load((out / "input.yaml").read_text())
    assert [s["name"] for s in manifest["sequences"]] == ["walk", "street", "my-clip"]
    table = pd.read_csv(out / "report" / "rd_table_input.csv")
    assert set(table["method"]) == {"x265", "svtav1"} and len(table) == 6
    assert (table["jobs"] == "3/3").all()
    assert table["psnr-yuv"].between(15, 60).all() and (table["bpp"] > 0).all()
    bd = pd.read_csv(out / "report" / "bd_table_input.csv")
    assert bd["BD-rate ms-ssim (%)"].notna().all()   # BD against x265 on the three clips


def test_ten_bit_444_source_is_read_as_ten_bit_420(tmp_path):
    mp4 = make_video(tmp_path / "deep.mp4", "yuv444p10le", extra=("-c:v", "libx264"))
    y4m = make_video(tmp_path / "deep.y4m", "yuv420p10le", extra=("-strict", "-1"))
    manifest = tmp_path / "m.yaml"
    manifest.write_text(yaml.safe_dump({"name": "deep", "root": "manifest", "sequences": [
        {"name": "a", "file": mp4.name}, {"name": "b", "file": y4m.name}]}))
    for seq in load_dataset(str(manifest)).sequences:
        assert (seq.width, seq.height, seq.bit_depth, seq.num_frames) == (96, 64, 10, FRAMES)
        chunk = next(seq.frames())
        y, u, _ = chunk.yuv()
        assert y.shape == (FRAMES, 64, 96) and u.shape == (FRAMES, 32, 48)
        assert y.dtype.itemsize == 2 and y.max() > 255   # kept at 10 bits


def test_dataset_init_writes_a_manifest_that_runs(tmp_path, capsys):
    make_video(tmp_path / "a.y4m")
    make_video(tmp_path / "b.mkv", extra=("-c:v", "libx264"))
    make_video(tmp_path / "c_96x64_25fps.yuv")
    make_video(tmp_path / "grey.y4m", "gray")
    assert main(["dataset", "init", str(tmp_path)]) == 0
    out = capsys.readouterr()
    assert "left out" in out.err and "grey.y4m" in out.err and "grayscale" in out.err
    dataset = load_dataset(str(tmp_path / "manifest.yaml"))
    assert [s.name for s in dataset.sequences] == ["a", "b", "c_96x64_25fps"]
    assert all(s.num_frames == FRAMES for s in dataset.sequences)
    err = one_line_error(capsys, ["dataset", "init", str(tmp_path)])
    assert "exists" in err and "--force" in err


@pytest.mark.parametrize("text, needle", [
    ("name: [x\n", "is not a valid manifest at line"),
    ("!!python/object:os.system {}\n", "could not determine a constructor"),
    ("- a\n- b\n", "a manifest is a mapping"),
    ("name: x\n", "has no 'sequences'"),
    ("name: x\nsequences: []\n", "'sequences' is []"),
    ("name: x\nroot: manifest\nsequences:\n  - {name: a}\n", "sequence 'a' has no 'file'"),
    ("name: x\nroot: manifest\nsequences:\n  - {name: a, file: v.y4m, widht: 96}\n",
     "unknown key 'widht'"),
    ("name: x\nroot: manifest\nsequences:\n  - {name: a, file: v.y4m, width: '96'}\n",
     "'width' is '96'"),
    ("name: x\nroot: manifest\nsequences:\n  - {name: a, file: v.y4m, width: 98}\n",
     "the geometry does not match the file"),
    ("name: x\nroot: manifest\nsequences:\n  - {name: a, file: v.y4m, frames: 40}\n",
     "holds 6 frames, 40 needed"),
    ("name: x\nroot: manifest\nsequences:\n  - {name: a, file: v.y4m, segments: {eval: 3}}\n",
     "segment 'eval' is a int"),
    ("name: x\nroot: somewhere\nsequences:\n  - {name: a, file: v.y4m}\n", "'root' is"),
])
def test_a_wrong_manifest_is_one_line_naming_the_key(tmp_path, capsys, text, needle):
    make_video(tmp_path / "v.y4m")
    manifest = tmp_path / "m.yaml"
    manifest.write_text(text)
    out = tmp_path / "res"
    err = one_line_error(capsys, ["run", "--dataset", str(manifest), "--methods", "x265",
                                  "--out", str(out)])
    assert needle in err and ("m.yaml" in err or "v.y4m" in err), err
    assert not (out / "records").exists()   # refused before any job


@pytest.mark.parametrize("args, needle", [
    (["--dataset", "{v}"], "is a video, not a manifest: evaluate it with --input"),
    (["--input", "{gray}"], "grayscale"),
    (["--input", "{raw}"], "has no header: give its size"),
    (["--input", "{raw}", "--size", "90x64"], "not a whole number of 90x64"),
    (["--input", "{raw}", "--size", "96x64", "--pix-fmt", "nv12"], "--pix-fmt nv12"),
    (["--input", "{v}", "--size", "96x64"], "describe raw .yuv inputs"),
    (["--input", "{v}", "--dataset", "embedded"], "not both"),
    (["--input", "{v}", "--input", "{v}"], "two files have the stem v"),
    (["--input", "{odd}"], "cannot be stored as 4:2:0"),
])
def test_bad_input_files_are_one_line_errors(tmp_path, capsys, args, needle):
    files = {"v": make_video(tmp_path / "v.y4m"), "gray": make_video(tmp_path / "g.y4m", "gray"),
             "raw": make_video(tmp_path / "raw.yuv"),
             "odd": make_video(tmp_path / "odd.y4m", "yuv444p", extra=("-vf", "scale=95:63"))}
    argv = ["run", *[a.format(**files) for a in args], "--methods", "x265",
            "--out", str(tmp_path / "res")]
    assert needle in one_line_error(capsys, argv)


def test_the_manifest_keys_are_documented():
    """docs/datasets.md's key table holds every key of the schema (it is written from it)."""
    from benchmark.data.schema import MANIFEST_KEYS, SEGMENT_KEYS, SEQUENCE_KEYS

    doc = (Path(__file__).resolve().parents[1] / "docs" / "datasets.md").read_text()
    for where, keys in (("manifest", MANIFEST_KEYS), ("sequence", SEQUENCE_KEYS),
                        ("segment", SEGMENT_KEYS)):
        for name, key in keys.items():
            assert f"| {where} | `{name}` | {'yes' if key.required else 'no'} | " \
                f"{key.meaning} |" in doc, name


def test_a_checkpoint_the_sandbox_would_hide_is_refused_before_any_job(tmp_path, capsys):
    """A checkpoint beside the source video (or in results/, a cache) is hidden from the
    sandboxed workers: one line naming it and the way out, not 'does not exist' from each."""
    from methods.causal_diffusion.adapter import CausalDiffusion
    from methods.causal_diffusion.checkpoint import CHECKPOINT_DIR

    clip = make_video(tmp_path / "walk.y4m")
    checkpoint = tmp_path / "mine.safetensors"
    shutil.copy(CHECKPOINT_DIR / CausalDiffusion.default_checkpoint, checkpoint)
    out = tmp_path / "res"
    err = one_line_error(capsys, ["run", "--input", str(clip), "--methods", "causal-diffusion",
                                  "--option", f"causal-diffusion.checkpoint={checkpoint}",
                                  "--out", str(out)])
    assert "mine.safetensors" in err and "sandbox hides" in err and "--isolation none" in err
    assert not (out / "records").exists()


def test_a_source_beside_the_harness_is_refused_before_any_job(tmp_path, monkeypatch):
    """A video in the checkout's own folder would take the harness's code from the decoders
    (everything beside a source is hidden): one line saying to move it, before any job."""
    from benchmark.core.errors import UlvrError
    from benchmark.execution import isolation

    repo, videos = tmp_path / "checkout", tmp_path / "videos"
    repo.mkdir(), videos.mkdir()
    monkeypatch.setattr(isolation, "REPO_ROOT", repo)
    for inside in (repo / "walk.y4m", tmp_path / "above.y4m"):   # beside it, or above it
        with pytest.raises(UlvrError, match="holds the harness itself.*folder of its own"):
            isolation.sandbox_hidden_folders((str(make_video(inside)),))
    isolation.sandbox_hidden_folders((str(make_video(videos / "own.y4m")),))
