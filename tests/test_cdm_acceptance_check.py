"""Issue 13's acceptance check (perf.cdm_acceptance quality): matched-rate rivals
against a hand-computed pchip, skipped rivals, pass/fail in both directions, the PSNR-minus-1-dB
and teacher bounds at their boundaries, the lowest point's bpp limits and entry choice."""

from __future__ import annotations

import argparse
import math

import numpy as np
import pytest
from scipy.interpolate import PchipInterpolator

from benchmark.core.errors import UlvrError
from benchmark.core.pandas_setup import pd
from perf import cdm_acceptance as acc
from tests.synthetic_store import record, write_store

FRAMES = {"a": 32, "b": 16}
LABELS = ("p0", "p1", "p2")
OWN_BPP = {"a": (0.0002, 0.001, 0.005), "b": (0.0004, 0.002, 0.008)}   # the proposed points
X265_BPP = (0.0001, 0.0005, 0.002, 0.01)
X265_LPIPS = {"a": (0.80, 0.62, 0.35, 0.20), "b": (0.85, 0.70, 0.45, 0.30)}
SEMANTIC_BPP = (0.0007, 0.002, 0.004)   # does not reach the lowest proposed point
SEMANTIC_LPIPS = (0.975, 0.97, 0.965)


def column(name: str) -> str:
    """A keyword argument as a frame column: lpips_alex -> lpips-alex; NFE as the store has it."""
    return acc.NFE if name == "time_network_evals_per_frame" else name.replace("_", "-")


def rows(method: str, sequence: str, bpps: tuple[float, ...], labels: tuple[str, ...],
         entry: str | None = None, **metrics: tuple[float, ...]) -> list[dict]:
    """Rows of one entry's curve on one clip, as in load_entries(...).frame."""
    return [{"dataset": "toy", "sequence": sequence, "method": method, "entry": entry or method,
             "rate_point": label, "status": "ok", "frames": FRAMES[sequence], "bpp": bpp,
             "kbps": bpp * 10, **{column(k): v[i] for k, v in metrics.items()}}
            for i, (bpp, label) in enumerate(zip(bpps, labels, strict=True))]


def make_frame(**own: dict[str, tuple[float, ...]]) -> pd.DataFrame:
    """Proposed, teacher, bicubic, frame-diffusion, semantic-only and x265 on clips a and b;
    `own` overrides the proposed entry's metric tuples per clip, e.g. lpips_alex={"a": (...)}."""
    out = []
    for seq in FRAMES:
        mine = {"psnr_rgb": (14.0, 15.0, 16.0), "lpips_alex": (0.95, 0.95, 0.95),
                "dists": (0.5, 0.5, 0.5), "tof": (1.0, 1.0, 1.0),
                "time_network_evals_per_frame": (2.0, 2.0, 2.0)}
        mine.update({k: v[seq] for k, v in own.items() if seq in v})
        out += rows("causal-diffusion", seq, OWN_BPP[seq], LABELS, **mine)
        out += rows("causal-diffusion", seq, OWN_BPP[seq], LABELS,
                    entry="causal-diffusion [steps=9]", psnr_rgb=(1.0,) * 3,
                    lpips_alex=(0.01,) * 3, dists=(0.01,) * 3, tof=(0.01,) * 3)
        out += rows("cdm-teacher", seq, OWN_BPP[seq], LABELS, psnr_rgb=(14.0, 15.0, 16.0),
                    lpips_alex=(0.94, 0.94, 0.94), dists=(0.01,) * 3, tof=(0.5,) * 3,
                    time_network_evals_per_frame=(8.0, 8.0, 8.0))
        out += rows("lowres-bicubic", seq, OWN_BPP[seq], LABELS, psnr_rgb=(15.0, 16.0, 16.5),
                    lpips_alex=(0.99,) * 3, dists=(0.9,) * 3, tof=(0.9,) * 3)
        out += rows("frame-diffusion", seq, OWN_BPP[seq], LABELS, psnr_rgb=(10.0,) * 3,
                    lpips_alex=(0.98,) * 3, dists=(0.9,) * 3, tof=(4.0, 3.0, 2.0))
        out += rows("semantic-only", seq, SEMANTIC_BPP, ("s0", "s1", "s2"),
                    psnr_rgb=(10.0,) * 3, lpips_alex=SEMANTIC_LPIPS, dists=(0.9,) * 3,
                    tof=(5.2, 5.1, 5.0))
        out += rows("x265", seq, X265_BPP, ("q0", "q1", "q2", "q3"), psnr_rgb=(20.0,) * 4,
                    lpips_alex=X265_LPIPS[seq], dists=(0.9,) * 4, tof=(1.5,) * 4)
    return pd.DataFrame(out)


def pchip(bpps: tuple[float, ...], values: tuple[float, ...], at: float) -> float:
    """The value the acceptance check must find: pchip over log10 bpp, by hand."""
    return float(PchipInterpolator(np.log10(bpps), values)(np.log10(at)))


def find(checks: list[acc.Check], rate_point: str, sequence: str, name: str) -> acc.Check:
    (check,) = [c for c in checks
                if (c.rate_point, c.sequence, c.name) == (rate_point, sequence, name)]
    return check


def run_checks(frame: pd.DataFrame) -> list[acc.Check]:
    return acc.acceptance_checks(acc.dataset_curves(frame), "causal-diffusion",
                                 "causal-diffusion", "cdm-teacher")


LPIPS, TOF = acc.RULES[0].name, acc.RULES[2].name
PSNR, TEACHER_LPIPS, NFE_RATIO = acc.RULES[3].name, acc.RULES[4].name, acc.RULES[5].name


def test_matched_rival_is_the_hand_computed_pchip_per_clip_and_on_the_mean_curve():
    curves = acc.dataset_curves(make_frame())
    got = acc.matched_rivals(curves, "lpips-alex", 0.001, "a", ["x265", "semantic-only"])
    assert got["x265"] == pytest.approx(pchip(X265_BPP, X265_LPIPS["a"], 0.001), abs=1e-12)
    assert got["x265"] == pytest.approx(0.482251032, abs=1e-9)   # a straight line: 0.485
    assert got["semantic-only"] == pytest.approx(pchip(SEMANTIC_BPP, SEMANTIC_LPIPS, 0.001),
                                                 abs=1e-12)
    # the dataset-mean curve: frame-weighted (32:16) mean bpp and LPIPS per rate point
    mean_bpp = tuple((32 * x + 16 * x) / 48 for x in X265_BPP)
    mean_lpips = tuple((32 * a + 16 * b) / 48
                       for a, b in zip(X265_LPIPS["a"], X265_LPIPS["b"], strict=True))
    target = (32 * 0.001 + 16 * 0.002) / 48
    got = acc.matched_rivals(curves, "lpips-alex", target, acc.MEAN, ["x265"])
    assert got["x265"] == pytest.approx(pchip(mean_bpp, mean_lpips, target), abs=1e-12)


def test_a_rival_whose_curve_does_not_cover_the_rate_is_skipped_and_listed():
    curves = acc.dataset_curves(make_frame())
    assert math.isnan(acc.matched_rivals(curves, "tof", 0.0002, "a", ["semantic-only"])
                      ["semantic-only"])
    assert math.isnan(acc.matched_rivals(curves, "tof", 0.02, "a", ["x265"])["x265"])
    check = find(run_checks(make_frame()), "p0", "a", TOF)
    assert check.not_covering == ("semantic-only",)
    assert (check.rival, check.rival_value, check.passed) == ("frame-diffusion", 4.0, True)
    # at p1 (0.001 bpp) semantic-only covers and decides (its tOF ~5.2 > frame-diffusion's 3)
    assert find(run_checks(make_frame()), "p1", "a", TOF).not_covering == ()


def test_lpips_worse_than_an_interpolated_rival_fails_and_better_passes():
    rival = pchip(X265_BPP, X265_LPIPS["a"], 0.001)
    worse = find(run_checks(make_frame(lpips_alex={"a": (0.95, rival + 0.001, 0.95)})),
                 "p1", "a", LPIPS)
    better = find(run_checks(make_frame(lpips_alex={"a": (0.95, rival - 0.001, 0.95)})),
                  "p1", "a", LPIPS)
    assert (worse.passed, better.passed) == (False, True)
    assert worse.rival == better.rival == "x265"
    assert worse.rival_value == pytest.approx(rival, abs=1e-12)
    assert worse.slack == pytest.approx(-0.001) and better.slack == pytest.approx(0.001)
    # the proposed method's other configuration and its teacher are never rivals
    entries, absent = acc.rival_entries(acc.dataset_curves(make_frame()), acc.RULES[0],
                                        "causal-diffusion", "cdm-teacher")
    assert entries == ["frame-diffusion", "lowres-bicubic", "semantic-only", "x265"]
    assert absent == []


def test_psnr_may_fall_exactly_1_db_below_bicubic_and_no_further():
    at_bound = run_checks(make_frame(psnr_rgb={"a": (14.0, 15.0, 16.0)}))   # bicubic 15, 16
    check = find(at_bound, "p1", "a", PSNR)
    assert (check.rival, check.rival_value, check.slack, check.passed) == \
        ("lowres-bicubic", 16.0, 0.0, True)
    below = find(run_checks(make_frame(psnr_rgb={"a": (14.0, 14.99, 16.0)})), "p1", "a", PSNR)
    assert below.passed is False and below.slack == pytest.approx(-0.01)
    # the mean row compares the frame-weighted means at the same rate point label
    mean = find(at_bound, "p1", acc.MEAN, PSNR)
    assert (mean.value, mean.rival_value, mean.passed) == (15.0, 16.0, True)


def test_student_no_worse_than_teacher_plus_0_01_and_4x_fewer_network_evaluations():
    near = run_checks(make_frame(lpips_alex={"a": (0.95, 0.95, 0.95)}))    # teacher 0.94
    assert find(near, "p0", "a", TEACHER_LPIPS).passed is True             # worse by 0.01
    far = run_checks(make_frame(lpips_alex={"a": (0.951, 0.929, 0.95)}))
    assert find(far, "p0", "a", TEACHER_LPIPS).passed is False             # worse by 0.011
    assert find(far, "p1", "a", TEACHER_LPIPS).passed is True              # better by 0.011
    assert find(near, "p2", "a", NFE_RATIO).slack == 0.0                   # 8 / 2 = 4
    slow = run_checks(make_frame(time_network_evals_per_frame={"a": (3.0, 3.0, 3.0)}))
    check = find(slow, "p2", "a", NFE_RATIO)
    assert (check.value, check.rival_value, check.passed) == (3.0, 8.0, False)
    mean = find(slow, "p2", acc.MEAN, NFE_RATIO)      # (32 * 3 + 16 * 2) / 48 = 8/3
    assert mean.value == pytest.approx(8 / 3) and mean.passed is False


def test_lowest_point_mean_under_0_0003_and_every_clip_under_0_0005():
    curves = acc.dataset_curves(make_frame())
    checks = {c.sequence: c for c in acc.lowest_point_checks(curves, "causal-diffusion")}
    assert checks[acc.MEAN].value == pytest.approx((32 * 0.0002 + 16 * 0.0004) / 48)
    assert [checks[s].passed for s in ("a", "b", acc.MEAN)] == [True, True, True]
    frame = make_frame()
    frame.loc[(frame["entry"] == "causal-diffusion") & (frame["rate_point"] == "p0")
              & (frame["sequence"] == "b"), "bpp"] = 0.0005     # the limit itself fails
    checks = {c.sequence: c for c in
              acc.lowest_point_checks(acc.dataset_curves(frame), "causal-diffusion")}
    assert checks["b"].passed is False and checks["a"].passed is True
    assert checks[acc.MEAN].value == pytest.approx(0.0003) and checks[acc.MEAN].passed is False


def test_a_missing_rival_method_makes_its_check_not_evaluated():
    frame = make_frame()
    frame = frame[~frame["method"].isin(["frame-diffusion", "semantic-only", "cdm-teacher"])]
    checks = run_checks(frame)
    tof = find(checks, "p1", "a", TOF)
    assert tof.passed is None and tof.absent == ("frame-diffusion", "semantic-only")
    assert find(checks, "p1", "a", TEACHER_LPIPS).passed is None
    assert find(checks, "p1", "a", PSNR).passed is True


def test_choose_entry_refuses_an_ambiguous_or_missing_method():
    frame = make_frame()
    with pytest.raises(UlvrError, match=r"2 entries.*causal-diffusion; causal-diffusion \["):
        acc.choose_entry(frame, "causal-diffusion", None)
    assert acc.choose_entry(frame, "causal-diffusion", "causal-diffusion [steps=9]") == \
        "causal-diffusion [steps=9]"
    assert acc.choose_entry(frame, "x265", None) == "x265"
    with pytest.raises(UlvrError, match="no records of 'nope'"):
        acc.choose_entry(frame, "nope", None)


def quality_args(root: str, **kwargs: object) -> argparse.Namespace:
    return argparse.Namespace(**{"results": root, "rate": "payload", "method": "causal-diffusion",
                                 "label": None, "teacher": "cdm-teacher", "dataset": None,
                                 "no_fvd": True, "rules": "issue13", **kwargs})


def test_command_on_a_store_reads_network_evals_from_the_records(tmp_path, capsys):
    records = []
    for seq in ("a", "b"):
        for i, bpp in enumerate((0.0002, 0.001)):
            student = record("causal-diffusion", seq, f"p{i}", bpp,
                             {"lpips-alex": 0.5, "psnr-rgb": 15.0})
            student["timings"] = {"network_evals_per_frame": 2.0}
            teacher = record("cdm-teacher", seq, f"p{i}", bpp,
                             {"lpips-alex": 0.495, "psnr-rgb": 15.0})
            teacher["timings"] = {"network_evals_per_frame": 8.0}
            bicubic = record("lowres-bicubic", seq, f"p{i}", bpp,
                             {"lpips-alex": 0.6 - 0.01 * i, "psnr-rgb": 16.5})
            records += [student, teacher, bicubic]
    write_store(tmp_path, records)
    assert acc.cmd_quality(quality_args(str(tmp_path))) == 0
    out = capsys.readouterr().out
    # 2 points x 3 rows x (LPIPS, PSNR, teacher LPIPS, NFE) + 3 lowest-point checks; PSNR
    # fails everywhere (15 < 16.5 - 1); DISTS and tOF have no values: not evaluated
    assert "ACCEPTANCE: 21 of 27 checks pass" in out
    assert "- p0 / a / PSNR-RGB >= lowres-bicubic - 1 dB: 15 vs lowres-bicubic 16.5" in out
    assert "| mean | network evals/frame teacher/student >= 4 | 2 | cdm-teacher | 8 | 0 |" in out
    assert acc.cmd_quality(quality_args(str(tmp_path), method="nope")) == 2
    assert "no records of 'nope'" in capsys.readouterr().err


def test_a_rivals_dominated_configuration_does_not_bend_its_matched_value():
    """Rivals are read on their Pareto fronts, as in the report's proposed-rates table: an
    x265 configuration with more bits and a worse LPIPS than another changes nothing."""
    frame = make_frame()
    extra = rows("x265", "a", (0.0008,), ("bad",), psnr_rgb=(20.0,), lpips_alex=(0.9,),
                 dists=(0.9,), tof=(1.5,))
    with_bad = pd.concat([frame, pd.DataFrame(extra)], ignore_index=True)
    clean = acc.matched_rivals(acc.dataset_curves(frame), "lpips-alex", 0.001, "a", ["x265"])
    got = acc.matched_rivals(acc.dataset_curves(with_bad), "lpips-alex", 0.001, "a", ["x265"])
    assert got["x265"] == pytest.approx(clean["x265"], abs=1e-12)


def test_native_rules_hold_the_decoder_to_its_own_texture_and_to_its_teacher():
    """Issue 36's rules: below lowres-bicubic at the same point label (the same streams), and
    the best LPIPS/DISTS of every entry with the teacher included (issue 13's leaves it out)."""
    names = {r.name: r for r in acc.NATIVE_RULES}
    checks = acc.acceptance_checks(
        acc.dataset_curves(make_frame(lpips_alex={"a": (0.95, 0.995, 0.95)})),
        "causal-diffusion", "causal-diffusion", "cdm-teacher", acc.NATIVE_RULES)
    below = find(checks, "p1", "a", "LPIPS-alex below lowres-bicubic")
    assert (below.passed, below.rival, below.rival_value) == (False, "lowres-bicubic", 0.99)
    assert below.slack == pytest.approx(-0.005)
    assert find(checks, "p1", "b", "LPIPS-alex below lowres-bicubic").passed
    dists = find(checks, "p0", "a", "DISTS best")          # the teacher's 0.01 decides
    assert (dists.passed, dists.rival) == (False, "cdm-teacher")
    entries, _ = acc.rival_entries(acc.dataset_curves(make_frame()), names["DISTS best"],
                                   "causal-diffusion", "cdm-teacher")
    assert "cdm-teacher" in entries and "causal-diffusion [steps=9]" not in entries
    tof = find(checks, "p0", "a", "tOF below frame-diffusion")
    assert (tof.rival, tof.not_covering) == ("frame-diffusion", ())
