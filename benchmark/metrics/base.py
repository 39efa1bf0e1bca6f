"""Streaming metric protocol (update/compute/reset) and the metric registry.

A metric sees aligned chunks of reference and reconstructed frames, keeps what it needs, and
on compute() returns sequence-level values (several named outputs allowed, e.g. psnr-y and
psnr-u) plus per-frame curves where they are meaningful, and the protocol it followed.
"""

from __future__ import annotations

import importlib
import time
from abc import ABC, abstractmethod
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass, field

import numpy as np

from benchmark.core.alloc import release_free_memory
from benchmark.core.errors import UlvrError
from benchmark.core.plugins import Registry, check_options, constructor_options
from benchmark.data.manifest import Sequence
from benchmark.data.video_io import FrameChunk
from benchmark.metrics.table import METRIC_GROUP, METRICS, MetricSpec, add_row
from benchmark.protocol import Availability


@dataclass
class MetricResult:
    """Sequence-level values, per-frame curves and the protocol that produced them."""

    values: dict[str, float]
    per_frame: dict[str, list[float]] = field(default_factory=dict)
    protocol: dict = field(default_factory=dict)
    features: dict[str, list] = field(default_factory=dict)  # set metrics: per-clip features
    seconds: float = 0.0          # time spent in this metric's update() and compute() calls


class Metric(ABC):
    """A full-reference metric computed while frames stream past."""

    name: str = ""
    # Copied from the metric's row of the metric table by register_metric (never set by hand):
    spec: MetricSpec
    lower_is_better: bool
    colour: str                   # "rgb" (8-bit RGB) or "yuv" (native 4:2:0 planes)
    outputs: tuple[str, ...]      # names of the values compute() returns
    description: str
    is_set_metric: bool           # values come from features pooled over many sequences

    def __init__(self, device: str = "cpu") -> None:
        self.device = device
        self.reset()

    @abstractmethod
    def reset(self) -> None:
        """Forget everything seen so far."""

    @abstractmethod
    def update(self, reference: FrameChunk, reconstruction: FrameChunk) -> None:
        """Take one aligned chunk of reference and reconstructed frames."""

    @abstractmethod
    def compute(self) -> MetricResult:
        """Values over everything seen since the last reset."""

    @classmethod
    def availability(cls) -> Availability:
        """Whether the metric can run here (weights present, binaries found)."""
        return Availability(True)

    @classmethod
    def derived_options(cls, sequence: Sequence, dataset: list[Sequence]) -> dict:
        """Options this metric takes from the sequence and the other sequences of its dataset
        (e.g. a frame rate, or a setting that must be equal across a dataset); none by default."""
        return {}


def _adopt(name: str, loaded: object) -> None:
    """A metric plugin's entry point that names its class (module:Class) without registering
    it: register it now."""
    register_metric(loaded)


_METRICS = Registry("metric", METRIC_GROUP, base=Metric, adopt=_adopt)


def register_metric(cls: type[Metric], row: MetricSpec | None = None) -> type[Metric]:
    """Class decorator adding a metric to the registry under its `name`, with the facts of its
    row in the metric table. A plugin's metric brings its own row (`register_metric(cls,
    row)`), which joins the table; a class without a row is a programming error."""
    if cls.name in _METRICS.entries:
        raise ValueError(f"metric '{cls.name}' is registered twice")
    if row is not None:
        if row.name != cls.name:
            raise ValueError(f"metric '{cls.name}' registered with the row of '{row.name}'")
        add_row(row)
    if cls.name not in METRICS:
        raise ValueError(f"metric '{cls.name}' has no row in benchmark/metrics/table.py")
    spec = METRICS[cls.name]
    cls.spec, cls.lower_is_better, cls.colour = spec, spec.lower_is_better, spec.colour
    cls.outputs, cls.description, cls.is_set_metric = (spec.outputs, spec.description,
                                                       spec.set_level)
    return _METRICS.register(cls.name)(cls)


def metric_spec(name: str) -> MetricSpec:
    """The row of a metric by its name (a plugin's is loaded from its entry point when first
    asked for); unknown names are an error naming the known ones."""
    if name not in METRICS:
        _METRICS.load(name)   # a plugin's import registers the metric and its row
    try:
        return METRICS[name]
    except KeyError:
        raise UlvrError(f"unknown metric '{name}': choose from {', '.join(metric_names())} "
                        "('ulvr list metrics' says which are available)") from None


def metric_names() -> list[str]:
    """Names of all metrics, in table order, then those of installed plugins, without importing
    their implementations."""
    return list(dict.fromkeys([*METRICS, *sorted(_METRICS.declared())]))


def metric_class(name: str) -> type[Metric]:
    """The class of one metric, importing its module on first use."""
    spec = metric_spec(name)
    if name not in _METRICS.entries:
        importlib.import_module(spec.module)
    return _METRICS.entries[name]


def metric_classes() -> dict[str, type[Metric]]:
    """All metrics by name (imports every implementation)."""
    return {name: metric_class(name) for name in metric_names()}


def metric_option_names(cls: type[Metric]) -> tuple[str, ...]:
    """The keyword options a metric's constructor takes besides the device."""
    return constructor_options(cls, stop=Metric, skip=("device",))


def create_metric(name: str, device: str = "cpu", **options: object) -> Metric:
    """Instantiate a metric by name with options; refuse unknown or unavailable metrics and
    unknown options with one line that says what is valid."""
    cls = metric_class(name)
    check_options(f"metric '{name}'", options, metric_option_names(cls))
    available = cls.availability()
    if not available.ok:
        raise UlvrError(f"metric '{name}' is unavailable: {available.reason}")
    return cls(device=device, **options)


def paired_chunks(reference: Iterable[FrameChunk],
                  reconstruction: Iterable[FrameChunk]) -> Iterator[tuple[FrameChunk, FrameChunk]]:
    """Align two chunk streams frame by frame (their chunk sizes may differ)."""
    ref_it, rec_it = iter(reference), iter(reconstruction)
    ref_buf: list[FrameChunk] = []
    rec_buf: list[FrameChunk] = []
    ref_n = rec_n = 0
    done_ref = done_rec = False
    while True:
        while not done_ref and ref_n <= rec_n:
            chunk = next(ref_it, None)
            done_ref = chunk is None
            if chunk is not None:
                ref_buf.append(chunk)
                ref_n += chunk.n
        while not done_rec and rec_n <= ref_n:
            chunk = next(rec_it, None)
            done_rec = chunk is None
            if chunk is not None:
                rec_buf.append(chunk)
                rec_n += chunk.n
        n = min(ref_n, rec_n)
        if n:
            (ref_head, ref_buf), (rec_head, rec_buf) = _split(ref_buf, n), _split(rec_buf, n)
            ref_n, rec_n = ref_n - n, rec_n - n
            yield ref_head, rec_head
        if done_ref and done_rec and not ref_n and not rec_n:
            return
        if (done_ref and ref_n == 0 and rec_n) or (done_rec and rec_n == 0 and ref_n):
            raise UlvrError("the reconstruction and the reference have different frame counts")


def _split(buf: list[FrameChunk], n: int) -> tuple[FrameChunk, list[FrameChunk]]:
    merged = buf[0] if len(buf) == 1 else concat_chunks(buf)
    if merged.n == n:
        return merged, []
    return slice_chunk(merged, 0, n), [slice_chunk(merged, n, merged.n)]


def concat_chunks(chunks: list[FrameChunk]) -> FrameChunk:
    """Join chunks of the same kind into one."""
    if all(c.planes is not None for c in chunks):
        planes = tuple(np.concatenate([c.planes[i] for c in chunks]) for i in range(3))
        return FrameChunk(planes=planes, bit_depth=chunks[0].bit_depth)
    return FrameChunk(rgb_frames=np.concatenate([c.rgb() for c in chunks]))


def slice_chunk(chunk: FrameChunk, start: int, stop: int) -> FrameChunk:
    """Frames start..stop-1 of a chunk."""
    if chunk.planes is not None:
        return FrameChunk(planes=tuple(p[start:stop] for p in chunk.planes),
                          bit_depth=chunk.bit_depth)
    return FrameChunk(rgb_frames=chunk.rgb_frames[start:stop])


def evaluate(reference: Iterable[FrameChunk], reconstruction: Iterable[FrameChunk],
             metrics: list[Metric], on_frames: Callable[[int], None] | None = None
             ) -> dict[str, MetricResult]:
    """Stream both videos once through every metric; returns results by metric name, each with
    the seconds its own calls took (the rest of the loop's time is decoding)."""
    spent = dict.fromkeys((metric.name for metric in metrics), 0.0)
    for metric in metrics:
        metric.reset()
    for ref, rec in paired_chunks(reference, reconstruction):
        if (ref.width, ref.height) != (rec.width, rec.height):
            raise UlvrError(f"reconstruction is {rec.width}x{rec.height}, the reference "
                            f"{ref.width}x{ref.height}")
        for metric in metrics:
            start = time.perf_counter()
            metric.update(ref, rec)
            spent[metric.name] += time.perf_counter() - start
        if on_frames:
            on_frames(ref.n)
        release_free_memory()   # RSS flat in the frame count (benchmark.core.alloc)
    results = {}
    for metric in metrics:
        start = time.perf_counter()
        results[metric.name] = metric.compute()
        results[metric.name].seconds = spent[metric.name] + time.perf_counter() - start
    return results
