"""Named suites of methods and rate points: what `make demo` and the reference results run.

One table (SUITES). Each suite maps a method to the labels of the rate points it runs, or to ALL
(every default point of the method). `full` is what the committed reference results hold
(`results/reference/embedded`, `make demo-full`); `demo` is its thinned subset for a first look
in under 10 minutes (`make demo`): every method kind, the proposed method and its receiver at
all their points, HEVC, VVC and AV1 at their front points (one each of spatio-temporal,
spatial and downscale-by-2 resampling: 0.0002-0.02 bpp, the proposed method's range and the
quality the BD tables need), the teacher and the generative baseline at the proposed method's
lowest point, the semantic baseline at the two points that bracket its rates, and the neural
codec at its lowest point (0.016-0.027 bpp: it never reaches the proposed method's rates). A
suite's jobs are jobs of `full` (the same keys), so `ulvr regress` compares a demo store with the
reference job by job.
"""

from __future__ import annotations

from dataclasses import dataclass

from benchmark.core.errors import UlvrError

ALL: tuple[str, ...] = ()   # every default rate point of the method

# the classical codecs' spatio-temporally resampled points at the coarsest quantiser, their
# downscale-by-4 point and their downscale-by-2 point (where x265's LPIPS/DISTS front reaches
# the proposed decoder's quality, so the BD of those metrics has a shared interval)
_H26X_LOW = ("qp51-d16-t32", "qp51-d16-t8", "qp51-d8-t4", "qp51-d4")
_AV1_LOW = ("qp63-d16-t32", "qp63-d16-t8", "qp63-d8-t4", "qp63-d4", "qp63-d2")
_VVENC_LOW = ("qp63-d16-t32", "qp63-d16-t8", "qp63-d8-t4", "qp51-d4", "qp47-d2")
_CDM_ENDS = ("d16-q51-t32-s32-k4-l8", "d4-q45-t8-s16-k4-l8")
# make demo's codecs: the front points of the comparisons (dominated ones such as -d16-t8 left
# out), one each of spatio-temporal, spatial and the downscale by 2
_DEMO_HEVC = ("qp51-d16-t32", "qp51-d8-t4", "qp51-d4", "qp47-d2")
_DEMO_VVC = ("qp63-d16-t32", "qp63-d8-t4", "qp51-d4", "qp47-d2")
_DEMO_AV1 = ("qp63-d16-t32", "qp63-d8-t4", "qp63-d4", "qp63-d2")
# native resolution (datasets/embedded-native.yaml), within its 3-hour budget on 2 cores: the
# codecs at their three ultra-low resampled points (where the proposed method's rivals are) and
# at the four standard full-resolution quantisers (x265/vvenc QP 22-37, svtav1 CRF 32-63, its
# CTC equivalents), so the BD-rates of docs/codec-anchors.md come from the committed records
# (`ulvr report --bd-range 0.005:1`). Unresized DISTS costs about 5 min of a 1280x720 job, so
# the budget was kept by thinning the diffusion baselines, not the metrics: the bidirectional
# teacher (not a rival in the paper's claim; about 40 min a 720p job) is left to the embedded
# suites (`--methods cdm-teacher --rate-points d16-q51-t32-s32-k4-l8` runs it here). The
# sender points were chosen on the validation frames
# (perf/native_points.py): d32-s64 is under 0.0001 bpp on bigbuckbunny and under
# 0.0003 on bikes, whose 672 bits of parameter sets alone are 0.00012
_NATIVE_H26X = ("qp51-d16-t32", "qp51-d8-t4", "qp51-d4", "qp37", "qp32", "qp27", "qp22")
_NATIVE_AV1 = ("qp63-d16-t32", "qp63-d8-t4", "qp63-d4", "qp63", "qp55", "qp43", "qp32")
_NATIVE_SENDER = ("d32-q51-t32-s64-k4-l16", "d16-q51-t32-s32-k4-l8", "d8-q45-t32-s32-k4-l8",
                  "d4-q51-t32-s16-k4-l8")


@dataclass(frozen=True)
class Suite:
    """Methods with the rate point labels each runs (ALL: its defaults), and what it is for."""

    description: str
    methods: dict[str, tuple[str, ...]]

    def rate_points(self, method: str) -> list[str] | None:
        """The labels `method` runs in this suite (None: all its default points)."""
        return list(self.methods[method]) or None


SUITES: dict[str, Suite] = {
    "full": Suite(
        "every method of the demo at every default rate point (the reference results)",
        {name: ALL for name in (
            "x264", "x265", "vvenc", "svtav1", "aom", "mbt2018-mean-local", "lowres-bicubic",
            "causal-diffusion", "cdm-teacher", "frame-diffusion", "semantic-only")}),
    "demo": Suite(
        "make demo: every method kind in under 10 minutes on 2 cores; HEVC, VVC and AV1 at "
        "their front points (-d16-t32, -d8-t4, -d4, -d2), the proposed decoder and its "
        "receiver at all theirs, the teacher and the generative baseline at its lowest, the "
        "semantic baseline and the neural codec at the points that reach its rates",
        # longest jobs first (the diffusion decoders), so that the short codec jobs fill the
        # last minutes on every core instead of one long job running alone at the end
        {"semantic-only": ("sem-s16-k4-l1", "sem-s8-k4-l1"),
         "cdm-teacher": _CDM_ENDS[:1], "frame-diffusion": _CDM_ENDS[:1],
         "causal-diffusion": ALL, "mbt2018-mean-local": ("local-q1-d4",),
         "x265": _DEMO_HEVC, "vvenc": _DEMO_VVC, "svtav1": _DEMO_AV1, "lowres-bicubic": ALL}),
    "native": Suite(
        "embedded-native (1280x720, 640x272): the proposed decoder and lowres-bicubic at the "
        "native sender points, x265, vvenc, svtav1 at their ultra-low points and the four "
        "standard quantisers, the generative and semantic baselines at one; no neural "
        "codec (mbt2018-mean-local was trained for small frames and is not run at 720p here)",
        # longest jobs first (8 network evaluations a frame at 1280x720, about half an hour
        # each on one core), so that the short codec jobs fill the last minutes on both cores
        {"frame-diffusion": ("d16-q51-t32-s32-k4-l8",), "semantic-only": ("sem-s16-k4-l8",),
         "causal-diffusion": _NATIVE_SENDER,
         "x265": _NATIVE_H26X, "vvenc": _NATIVE_H26X, "svtav1": _NATIVE_AV1,
         "lowres-bicubic": _NATIVE_SENDER}),
}


def get_suite(name: str) -> Suite:
    """The named suite, or an error naming the known ones."""
    if name not in SUITES:
        raise UlvrError(f"unknown suite '{name}': use one of {', '.join(SUITES)} "
                        "('ulvr list suites' shows them)")
    return SUITES[name]
