"""Named suites of methods and rate points: what `make demo` and the reference results run.

One table (SUITES). Each suite maps a method to the labels of the rate points it runs, or to ALL
(every default point of the method). `full` is what the committed reference results hold
(`results/reference/embedded`, `make demo-full`); `demo` is its thinned subset for a first look
in a fraction of the time (`make demo`): every method kind, the proposed method and its
receiver at all their points, the classical codecs at their three spatio-temporal points and
their downscales by 4 and 2 (0.0002-0.02 bpp: the range of the proposed method, of the
matched-rate table's targets and of the quality the BD tables need), and the neural codec,
the teacher and the generative and semantic baselines at the two ends of their ranges. A suite's
jobs are jobs of `full` (the same keys), so `ulvr regress` compares a demo store with the
reference job by job.
"""

from __future__ import annotations

from dataclasses import dataclass

from benchmark.errors import UlvrError

ALL: tuple[str, ...] = ()   # every default rate point of the method

# the classical codecs' spatio-temporally resampled points at the coarsest quantiser, their
# downscale-by-4 point and their downscale-by-2 point (where x265's LPIPS/DISTS front reaches
# the proposed decoder's quality, so the BD of those metrics has a shared interval)
_H26X_LOW = ("qp51-d16-t32", "qp51-d16-t8", "qp51-d8-t4", "qp51-d4")
_AV1_LOW = ("qp63-d16-t32", "qp63-d16-t8", "qp63-d8-t4", "qp63-d4", "qp63-d2")
_VVENC_LOW = ("qp63-d16-t32", "qp63-d16-t8", "qp63-d8-t4", "qp51-d4", "qp47-d2")
_CDM_ENDS = ("d16-q51-t32-s32-k4-l8", "d4-q45-t8-s16-k4-l8")


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
        "make demo: every method kind; the codecs at 5 points up to their downscale by 2, the "
        "proposed decoder and its receiver at all theirs, the other learned methods at 2",
        {"x264": (*_H26X_LOW, "qp48-d2"), "x265": (*_H26X_LOW, "qp47-d2"),
         "vvenc": _VVENC_LOW, "svtav1": _AV1_LOW,
         "aom": _AV1_LOW, "mbt2018-mean-local": ("local-q1-d4", "local-q1"),
         "lowres-bicubic": ALL, "causal-diffusion": ALL,
         "cdm-teacher": _CDM_ENDS, "frame-diffusion": _CDM_ENDS,
         "semantic-only": ("sem-s16-k4-l1", "sem-s8-k4-l1")}),
}


def get_suite(name: str) -> Suite:
    """The named suite, or an error naming the known ones."""
    if name not in SUITES:
        raise UlvrError(f"unknown suite '{name}': use one of {', '.join(SUITES)} "
                        "('ulvr list suites' shows them)")
    return SUITES[name]
