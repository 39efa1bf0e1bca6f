"""Acceptance figures of the proposed method (issues 6, 7 and 13), each measured in one run.

    python -m perf.cdm_acceptance semantic   # semantic stream bytes vs lzma
    python -m perf.cdm_acceptance speed      # NFE and wall time/frame, student vs teacher
    python -m perf.cdm_acceptance streaming  # time and cache memory/frame, 300 frames
    python -m perf.cdm_acceptance quality --results DIR [--rate payload|total]
        [--method causal-diffusion] [--label ENTRY] [--teacher cdm-teacher] [--no-fvd]
        [--rules issue13|native]

`quality` is an acceptance check on a results store written by `ulvr run` (e.g. `make demo`),
so every number is the harness's own: the report table (rd_table means with FVD/KVD), then per
rate point of the proposed entry, per clip and for the dataset mean, the rules of a rule set:
`issue13` (RULES: best LPIPS-alex and DISTS at matched rate, tOF below frame-diffusion and
semantic-only, PSNR-RGB no more than 1 dB below lowres-bicubic, student vs teacher) or `native`
(NATIVE_RULES, issue 36: LPIPS-alex and DISTS below lowres-bicubic at the same point, best of
every entry with the teacher included, tOF below frame-diffusion, PSNR-RGB within 1 dB); then
the lowest point's bpp, and `ACCEPTANCE: P of N checks pass` with the failing checks. It is a
report: exit status 0 whatever fails; 2 when the store lacks the proposed entry or it is ambiguous.
"""

from __future__ import annotations

import argparse
import math
import sys
import tempfile
import time
from collections import Counter
from dataclasses import dataclass, replace
from pathlib import Path

import numpy as np

import benchmark.core.torch_setup  # noqa: F401
from benchmark.analysis.fronts import front_points
from benchmark.analysis.matched import interpolate_at
from benchmark.analysis.rd import load_entries, rd_table, with_rate
from benchmark.analysis.setmetrics import fvd_table
from benchmark.core.errors import UlvrError
from benchmark.core.pandas_setup import pd
from benchmark.data.store import STATUS_OK, ResultStore
from benchmark.metrics.table import lower_is_better
from benchmark.reporting.writers import to_markdown


def cmd_semantic(args: argparse.Namespace) -> None:
    from benchmark.data.manifest import load_dataset
    from benchmark.metrics.segment import KMeansSegmenter
    from methods.causal_diffusion.adapter import DEFAULT_POINTS
    from methods.causal_diffusion.semantic_codec import encode_labels, lzma_size

    print("| sequence | rate point | label maps | ours (B) | xz (B) | raw LZMA2 (B) | ratio |")
    print("|---|---|---|---|---|---|---|")
    for seq in load_dataset("embedded").sequences:
        for p in DEFAULT_POINTS:
            seg, maps = KMeansSegmenter(p.classes), []
            size = p.label_size(seq.width, seq.height)
            index = 0
            for chunk in seq.frames():
                for frame in chunk.rgb():
                    labels = seg.label(frame, size)
                    if index % p.label_interval == 0:
                        maps.append(labels)
                    index += 1
            ours = len(encode_labels(maps, p.classes, seg.palette()))
            ref = lzma_size(maps, seg.palette())
            print(f"| {seq.name} | {p.label} | {len(maps)} x {size[0]}x{size[1]} | {ours} | "
                  f"{ref['xz']} | {ref['lzma2-raw']} | {ref['lzma2-raw'] / ours:.2f}x |")


def _transmission(point: int):
    from benchmark.data.manifest import load_dataset
    from methods.causal_diffusion.adapter import DEFAULT_POINTS
    from methods.causal_diffusion.sender import transmit

    seq = next(s for s in load_dataset("embedded").sequences if s.name == "bigbuckbunny")
    return seq, lambda: transmit(seq, DEFAULT_POINTS[point], Path(tempfile.mkdtemp()))


def cmd_speed(args: argparse.Namespace) -> None:
    import torch

    from benchmark.protocol import create_method

    torch.set_num_threads(args.threads)
    seq, tx = _transmission(1)
    rows = []
    runs = [("causal-diffusion", {})] + [("cdm-teacher", {"steps": n}) for n in args.teacher_steps]
    for name, options in runs:
        method = create_method(name, **options)
        method.device = args.device
        name = f"{name} ({method.steps} steps)"
        timings: dict = {}
        start = time.perf_counter()
        frames = sum(chunk.n for chunk in method.receive(tx(), timings))
        rows.append((name, timings["network_evals_per_frame"],
                     timings["decode_s"] / frames, time.perf_counter() - start))
    print(f"bigbuckbunny {seq.width}x{seq.height}, {seq.num_frames} frames, device "
          f"{args.device}, {args.threads} threads")
    print("| decoder | network evals / frame | decode s / frame |")
    print("|---|---|---|")
    for name, nfe, per_frame, _ in rows:
        print(f"| {name} | {nfe:.2f} | {per_frame:.3f} |")
    for teacher in rows[1:]:
        print(f"student vs {teacher[0]}: {teacher[1] / rows[0][1]:.1f}x fewer evaluations, "
              f"{teacher[2] / rows[0][2]:.1f}x less time per frame")


def cmd_streaming(args: argparse.Namespace) -> None:
    import torch

    from methods.causal_diffusion.adapter import CausalDiffusion
    from methods.causal_diffusion.checkpoint import CHECKPOINT_DIR, load_checkpoint
    from methods.causal_diffusion.stream import StreamingDecoder, uncached_causal

    torch.set_num_threads(args.threads)
    model, meta = load_checkpoint(CHECKPOINT_DIR / CausalDiffusion.default_checkpoint)
    distilled = meta.get("distill", {})   # the k and cache source it was distilled for
    k, cache_from = int(distilled.get("student_steps", 2)), distilled.get("cache_from", "clean")
    h, w, n = args.height, args.width, args.frames
    gen = torch.Generator().manual_seed(0)
    classes = model.config.semantic_classes
    sem = torch.randn(1, 1, classes + 3, h, w, generator=gen)
    res = torch.randn(1, 1, 4, h, w, generator=gen)
    decoder = StreamingDecoder(model, steps=k, block=1, window=args.window, cache_from=cache_from)
    times, cache_mb = [], []
    with torch.no_grad():
        for _ in range(n):
            noise = torch.randn(1, 1, 3, h, w, generator=gen)
            t0 = time.perf_counter()
            decoder.decode_block(noise, sem, res)
            times.append(time.perf_counter() - t0)
            cache_mb.append(sum(t.numel() * t.element_size() for entry in decoder.cache.values()
                                for t in entry[:2]) / 2**20)
    early, late = np.mean(times[30:60]), np.mean(times[-30:])
    print(f"KV-cache streaming, {w}x{h}, k={k}, cache from {cache_from}, window {args.window}, "
          f"{n} frames:")
    print(f"  mean s/frame frames 30-60: {early:.4f}; last 30: {late:.4f} "
          f"({100 * (late / early - 1):+.1f}%)")
    print(f"  cache MB at frame 30: {cache_mb[29]:.2f}; at frame {n}: {cache_mb[-1]:.2f}")
    print("Recomputing full causal attention over all past frames for each new frame:")
    with torch.no_grad():
        for count in args.recompute:
            x = torch.randn(1, count, 3, h, w, generator=gen)
            t = torch.zeros(1, count)
            t0 = time.perf_counter()
            uncached_causal(model, x, t, sem.expand(1, count, -1, -1, -1),
                            res.expand(1, count, -1, -1, -1))
            print(f"  frame {count}: {time.perf_counter() - t0:.3f} s for one evaluation")


# --- quality: the acceptance check of issue 13 on a results store --------------------------

MEAN = "mean"                                  # the dataset-mean row among the clips
NFE = "time_network_evals_per_frame"           # record timings.network_evals_per_frame, flattened
TEACHER = "<teacher>"                          # stands for --teacher in a rule's rivals
TOLERANCE = 1e-9                               # bounds are inclusive up to float rounding
LOWEST_MEAN_BPP, LOWEST_CLIP_BPP = 0.0003, 0.0005
TABLE_COLUMNS = ("bpp", "psnr-rgb", "lpips-alex", "dists", "fvd", "kvd", "fvd_clips", "tof",
                 "tlp")


@dataclass(frozen=True)
class Rule:
    """One acceptance rule: a value of the proposed entry held against rivals' values."""

    name: str
    column: str                      # a metric output, or NFE
    test: str                        # a key of SLACK
    rivals: tuple[str, ...] | None   # method names (TEACHER: --teacher); None: every entry but
                                     # the proposed method's and the teacher's
    matched: bool                    # rival interpolated at the proposed bpp, else same point
    margin: float = 0.0
    with_teacher: bool = False       # rivals None: the teacher is a rival too


RULES: tuple[Rule, ...] = (
    Rule("LPIPS-alex best", "lpips-alex", "better", None, matched=True),
    Rule("DISTS best", "dists", "better", None, matched=True),
    Rule("tOF below frame-diffusion, semantic-only", "tof", "better",
         ("frame-diffusion", "semantic-only"), matched=True),
    Rule("PSNR-RGB >= lowres-bicubic - 1 dB", "psnr-rgb", "better", ("lowres-bicubic",),
         matched=False, margin=1.0),
    # "within 0.01 of its teacher": a student better than its teacher passes
    Rule("LPIPS-alex <= teacher + 0.01", "lpips-alex", "better", (TEACHER,),
         matched=False, margin=0.01),
    Rule("network evals/frame teacher/student >= 4", NFE, "ratio", (TEACHER,), matched=False,
         margin=4.0),
)

# Issue 36's acceptance at native resolution: the decoder adds to its own texture stream
# (lowres-bicubic upsamples the same streams, so the same point label), it has the best
# LPIPS-alex and DISTS of every entry (its teacher included) at its own rates, its tOF stays
# below the generative baseline's and its PSNR-RGB within 1 dB of its texture's
NATIVE_RULES: tuple[Rule, ...] = (
    Rule("LPIPS-alex below lowres-bicubic", "lpips-alex", "better", ("lowres-bicubic",),
         matched=False),
    Rule("DISTS below lowres-bicubic", "dists", "better", ("lowres-bicubic",), matched=False),
    Rule("LPIPS-alex best", "lpips-alex", "better", None, matched=True, with_teacher=True),
    Rule("DISTS best", "dists", "better", None, matched=True, with_teacher=True),
    Rule("tOF below frame-diffusion", "tof", "better", ("frame-diffusion",), matched=True),
    RULES[3],
)
_MATCHED = ("at matched rate (pchip in log10 bpp over the rival's Pareto front for the metric, per "
            "clip and on the dataset-mean curve; never extrapolated: a rival whose curve does "
            "not cover the rate is listed, not compared)")
# rule set -> (its rules, what its rivals are)
RULE_SETS: dict[str, tuple[tuple[Rule, ...], str]] = {
    "issue13": (RULES, "LPIPS/DISTS against every entry but the method's and its teacher's, "
                f"tOF against frame-diffusion and semantic-only, all {_MATCHED}. PSNR and "
                "teacher checks: same rate point label."),
    "native": (NATIVE_RULES, "lowres-bicubic checks: same rate point label (the same streams "
               "upsampled). LPIPS/DISTS best: every entry but the method's, its teacher "
               f"included; tOF against frame-diffusion; both {_MATCHED}."),
}


def _better(rule: Rule, value: float, rival: float) -> float:
    """Slack of 'no worse than the rival, allowing the margin', in the metric's direction."""
    if lower_is_better(rule.column):
        return rival + rule.margin - value
    return value - (rival - rule.margin)


SLACK = {   # test -> slack(rule, proposed, rival): >= 0 passes, the most negative rival decides
    "better": _better,
    "ratio": lambda rule, value, rival: (rival / value if value else math.inf) - rule.margin,
}


@dataclass(frozen=True)
class Check:
    """One rule (or rate limit) at one rate point and clip, or the dataset mean."""

    rate_point: str
    sequence: str
    name: str
    value: float
    rival: str = ""                  # the deciding rival (least slack)
    rival_value: float = math.nan
    slack: float = math.nan          # >= 0: passes
    passed: bool | None = None       # None: not evaluated (no value to compare)
    not_covering: tuple[str, ...] = ()
    absent: tuple[str, ...] = ()


def one_dataset(frame: pd.DataFrame, dataset: str | None) -> pd.DataFrame:
    """The rows of `dataset`, or of the store's only dataset; an error when it is ambiguous."""
    names = sorted(frame["dataset"].dropna().unique())
    if dataset is None and len(names) == 1:
        dataset = names[0]
    if dataset not in names:
        raise UlvrError(f"choose a dataset with --dataset: {', '.join(names)}")
    return frame[frame["dataset"] == dataset]


def choose_entry(frame: pd.DataFrame, method: str, label: str | None) -> str:
    """The proposed entry's label: the method's only entry, or `label`; errors otherwise."""
    labels = sorted(frame.loc[frame["method"] == method, "entry"].unique())
    if not labels:
        raise UlvrError(f"the store has no records of '{method}' (entries: "
                        f"{', '.join(sorted(frame['entry'].unique()))})")
    if label is not None and label not in labels:
        raise UlvrError(f"no entry '{label}' of {method}: choose --label from "
                        + "; ".join(labels))
    if label is None and len(labels) > 1:
        raise UlvrError(f"{method} has {len(labels)} entries: choose one with --label: "
                        + "; ".join(labels))
    return label or labels[0]


def dataset_curves(frame: pd.DataFrame) -> pd.DataFrame:
    """Per-clip rows of succeeded jobs plus, as sequence "mean", rd_table's dataset means
    (and the frame-weighted mean of NFE); columns entry, method, sequence, rate_point, ..."""
    ok = frame[frame["status"] == STATUS_OK]
    means = rd_table(frame).rename(columns={"method": "entry"}).drop(columns=["dataset", "jobs"])
    means["method"] = means["entry"].map(dict(zip(frame["entry"], frame["method"], strict=True)))
    means["sequence"] = MEAN
    if NFE in ok:
        expected = frame["sequence"].nunique()
        nfe = {key: float((g[NFE] * g["frames"]).sum() / g["frames"].sum())
               if len(g) == expected and g[NFE].notna().all() else math.nan
               for key, g in ok.groupby(["entry", "rate_point"])}
        means[NFE] = [nfe.get(key, math.nan)
                      for key in zip(means["entry"], means["rate_point"], strict=True)]
    return pd.concat([ok, means], ignore_index=True)


def rival_entries(curves: pd.DataFrame, rule: Rule, method: str,
                  teacher: str) -> tuple[list[str], list[str]]:
    """(entries the rule compares with, rival methods absent from the store)."""
    methods = dict(zip(curves["entry"], curves["method"], strict=True))
    if rule.rivals is None:
        own = (method,) if rule.with_teacher else (method, teacher)
        return sorted(e for e, m in methods.items() if m not in own), []
    wanted = [teacher if r == TEACHER else r for r in rule.rivals]
    return (sorted(e for e, m in methods.items() if m in wanted),
            [m for m in wanted if m not in methods.values()])


def matched_rivals(curves: pd.DataFrame, column: str, rate: float, sequence: str,
                   rivals: list[str]) -> dict[str, float]:
    """Each rival's `column` by pchip in log10 bpp over its Pareto front for that column on
    `sequence` (a clip or "mean"; its best configuration at each rate, as the proposed-rates
    table of the report takes it) at bpp `rate`; NaN where the front does not cover the rate
    (never extrapolated)."""
    out = {}
    for entry in rivals:
        part = curves[(curves["entry"] == entry) & (curves["sequence"] == sequence)]
        rates, values = front_points(part, column)
        out[entry] = float(interpolate_at(rates, values, np.array([rate]))[0])
    return out


def point_rivals(curves: pd.DataFrame, column: str, rate_point: str, sequence: str,
                 rivals: list[str]) -> dict[str, float]:
    """Each rival's `column` at the same rate point label (same bits, same streams); NaN if
    the rival has no value there."""
    out = {}
    for entry in rivals:
        row = curves[(curves["entry"] == entry) & (curves["sequence"] == sequence)
                     & (curves["rate_point"] == rate_point)]
        out[entry] = float(row[column].iloc[0]) if column in row and len(row) else math.nan
    return out


def judge(rule: Rule, rate_point: str, sequence: str, value: float,
          rivals: dict[str, float], absent: list[str]) -> Check:
    """The check of one rule: the rival with least slack decides; rivals without a value are
    listed as not covering, and a check with no rival value is not evaluated."""
    covering = {e: v for e, v in rivals.items() if not math.isnan(v)}
    base = Check(rate_point, sequence, rule.name, value,
                 not_covering=tuple(e for e in rivals if e not in covering), absent=tuple(absent))
    if math.isnan(value) or not covering:
        return base
    slacks = {e: SLACK[rule.test](rule, value, v) for e, v in covering.items()}
    rival = min(slacks, key=slacks.__getitem__)
    return replace(base, rival=rival, rival_value=covering[rival], slack=slacks[rival],
                   passed=slacks[rival] >= -TOLERANCE)


def acceptance_checks(curves: pd.DataFrame, proposed: str, method: str, teacher: str,
                      rules: tuple[Rule, ...] = RULES) -> list[Check]:
    """Every rule at every rate point of the proposed entry, per clip and for the mean."""
    own = curves[curves["entry"] == proposed]
    means = own[own["sequence"] == MEAN].sort_values("bpp")
    clips = [*sorted(curves.loc[curves["sequence"] != MEAN, "sequence"].unique()), MEAN]
    checks = []
    for rate_point in means["rate_point"]:
        for sequence in clips:
            row = own[(own["rate_point"] == rate_point) & (own["sequence"] == sequence)]
            for rule in rules:
                value = float(row[rule.column].iloc[0]) \
                    if len(row) and rule.column in row else math.nan
                entries, absent = rival_entries(curves, rule, method, teacher)
                if rule.matched:
                    rate = float(row["bpp"].iloc[0]) if len(row) else math.nan
                    rivals = matched_rivals(curves, rule.column, rate, sequence, entries)
                else:
                    rivals = point_rivals(curves, rule.column, rate_point, sequence, entries)
                checks.append(judge(rule, rate_point, sequence, value, rivals, absent))
    return checks


def lowest_point_checks(curves: pd.DataFrame, proposed: str,
                        mean_limit: float = LOWEST_MEAN_BPP,
                        clip_limit: float = LOWEST_CLIP_BPP) -> list[Check]:
    """The proposed entry's lowest rate point (by mean bpp): mean bpp < mean_limit and each
    clip's bpp < clip_limit."""
    own = curves[curves["entry"] == proposed]
    means = own[own["sequence"] == MEAN].dropna(subset=["bpp"]).sort_values("bpp")
    if means.empty:
        return [Check("--", MEAN, f"lowest point bpp < {mean_limit:g}", math.nan)]
    rate_point = means["rate_point"].iloc[0]
    rows = own[own["rate_point"] == rate_point].sort_values("sequence", key=lambda s: s == MEAN)
    checks = []
    for row in rows.itertuples():
        limit = mean_limit if row.sequence == MEAN else clip_limit
        checks.append(Check(rate_point, row.sequence, f"lowest point bpp < {limit:g}", row.bpp,
                            rival="limit", rival_value=limit, slack=limit - row.bpp,
                            passed=bool(row.bpp < limit)))
    return checks


def report_table(frame: pd.DataFrame, set_metrics: pd.DataFrame | None = None) -> pd.DataFrame:
    """rd_table (dataset means per entry and rate point) with FVD/KVD and clip counts."""
    table = rd_table(frame, set_metrics)
    cols = [c for c in TABLE_COLUMNS if c in table and table[c].notna().any()]
    return table[["method", "rate_point", "jobs", *cols]]


def _num(value: float) -> str:
    """A value for a line of text, 4 significant digits."""
    return f"{value:.4g}"


def _check_rows(checks: list[Check]) -> pd.DataFrame:
    """Checks as a table for to_markdown."""
    return pd.DataFrame([{
        "clip": c.sequence, "check": c.name, "proposed": c.value,
        "deciding rival": c.rival or "--", "rival value": c.rival_value, "slack": c.slack,
        "result": {True: "pass", False: "FAIL", None: "n/a"}[c.passed],
        "not covering / absent": ", ".join([*c.not_covering, *(f"{m} (absent)" for m in
                                                               c.absent)]) or "--"}
        for c in checks])


def format_report(table: pd.DataFrame, checks: list[Check], lowest: list[Check], proposed: str,
                  method: str, teacher: str, rate: str, fvd_notes: list[str],
                  rules: str = "issue13") -> str:
    """The Markdown report: table, checks per rate point, lowest point, summary."""
    # rows are at different rates: nothing is marked best (benchmark.analysis.marks)
    out = [f"# Acceptance of {proposed} ({rules} rules), rate: {rate}\n",
           "## Report table (means over the sequences)\n", to_markdown(table)]
    out += fvd_notes
    out.append(f"\nRivals ({method}, teacher {teacher}): {RULE_SETS[rules][1]} slack >= 0 "
               "passes.\n")
    bpp = {r.rate_point: r.bpp for r in table[table["method"] == proposed].itertuples()}
    for rate_point in dict.fromkeys(c.rate_point for c in checks):
        out += [f"## {rate_point} (mean bpp {_num(bpp.get(rate_point, math.nan))})\n",
                to_markdown(_check_rows([c for c in checks if c.rate_point == rate_point]))]
    out += ["## Lowest rate point\n", to_markdown(_check_rows(lowest))]
    every = checks + lowest
    done = [c for c in every if c.passed is not None]
    out.append(f"ACCEPTANCE: {sum(c.passed for c in done)} of {len(done)} checks pass")
    if len(done) < len(every):
        out.append(f"NOT EVALUATED: {len(every) - len(done)} checks (no rival covers the rate, "
                   "a rival is absent, or the proposed value is missing)")
    failing = [c for c in done if not c.passed]
    if failing:
        out.append("\nFailing:")
        out += [f"- {c.rate_point} / {c.sequence} / {c.name}: {_num(c.value)} vs {c.rival} "
                f"{_num(c.rival_value)} (slack {_num(c.slack)})" for c in failing]
    return "\n".join(out)


def cmd_quality(args: argparse.Namespace) -> int:
    """Print issue 13's acceptance report for a results store; 2 if there is no proposed entry."""
    try:
        entries, records = load_entries(ResultStore(args.results))
        frame = one_dataset(with_rate(entries.frame, args.rate), args.dataset)
        proposed = choose_entry(frame, args.method, args.label)
    except UlvrError as exc:
        print(f"cdm_acceptance: {exc}", file=sys.stderr)
        return 2
    curves = dataset_curves(frame)
    sets = None if args.no_fvd else fvd_table(records, frame)
    table = report_table(frame, sets)
    if sets is None:
        notes = ["FVD/KVD not computed (--no-fvd)"]
    else:
        notes = [f"FVD/KVD of {n} of {len(table)} rows: {note}"
                 for note, n in sorted(Counter(sets["fvd_note"]).items()) if note]
    rules = RULE_SETS[args.rules][0]
    checks = acceptance_checks(curves, proposed, args.method, args.teacher, rules)
    print(format_report(table, checks, lowest_point_checks(curves, proposed), proposed,
                        args.method, args.teacher, args.rate, notes, args.rules))
    return 0


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    sub = parser.add_subparsers(dest="what", required=True)
    sub.add_parser("semantic").set_defaults(func=cmd_semantic)
    speed = sub.add_parser("speed")
    speed.add_argument("--device", default="cpu")
    speed.add_argument("--threads", type=int, default=2)
    speed.add_argument("--teacher-steps", type=lambda v: [int(x) for x in v.split(",")],
                       default=[8, 32], help="teacher DDIM steps to time (default 8,32)")
    speed.set_defaults(func=cmd_speed)
    stream = sub.add_parser("streaming")
    stream.add_argument("--frames", type=int, default=300)
    stream.add_argument("--window", type=int, default=16)
    stream.add_argument("--width", type=int, default=176)
    stream.add_argument("--height", type=int, default=144)
    stream.add_argument("--threads", type=int, default=2)
    stream.add_argument("--recompute", type=lambda s: [int(v) for v in s.split(",")],
                        default=[16, 32, 64])
    stream.set_defaults(func=cmd_streaming)
    quality = sub.add_parser("quality", help="issue 13's acceptance checks on a results store")
    quality.add_argument("--results", default="results/embedded")
    quality.add_argument("--rate", choices=("payload", "total"), default="payload")
    quality.add_argument("--method", default="causal-diffusion")
    quality.add_argument("--label", help="the proposed entry when the method has several")
    quality.add_argument("--teacher", default="cdm-teacher")
    quality.add_argument("--rules", choices=tuple(RULE_SETS), default="issue13",
                         help="issue13: the embedded acceptance; native: issue 36's (beats "
                         "lowres-bicubic at every point, best of every entry, teacher included)")
    quality.add_argument("--dataset", help="default: the store's only dataset")
    quality.add_argument("--no-fvd", action="store_true",
                         help="skip pooling FVD/KVD (minutes on CPU for a full store)")
    quality.set_defaults(func=cmd_quality)
    args = parser.parse_args()
    sys.exit(args.func(args) or 0)


if __name__ == "__main__":
    main()
