"""Per-frame curves and the qualitative grid: they pick each method's rate point closest to
the target bpp, and the grid shows the stored preview frames (real decoded frames)."""

from __future__ import annotations

import numpy as np
from PIL import Image

from benchmark.cli import main
from benchmark.data.store import ResultStore
from benchmark.reporting.figures import closest_jobs


def test_per_frame_and_grid(tmp_path, carphone):
    out = tmp_path / "res"
    assert main(["run", "--methods", "x264,x265", "--metrics", "psnr", "--sequences",
                 "carphone", "--frames", "6", "--out", str(out), "--quiet", "--no-report"]) == 0
    store = ResultStore(out)
    picked = closest_jobs(store, "embedded", "carphone", 0.02)
    for record in picked:
        same_method = [r["bpp"] for r in store.records() if r["method"] == record["method"]]
        assert abs(np.log(record["bpp"] / 0.02)) == min(abs(np.log(b / 0.02)) for b in same_method)
    preview = np.asarray(Image.open(next((out / "records").rglob("qp42__*.png"))))
    assert preview.shape == (144, 176, 3)
    assert main(["report", str(out), "--sequence", "carphone", "--bpp", "0.02"]) == 0
    report = out / "report"
    for name in ("frames_embedded_carphone_psnr-rgb", "grid_embedded_carphone"):
        assert (report / f"{name}.png").stat().st_size > 5000
        assert (report / f"{name}.pdf").exists()
