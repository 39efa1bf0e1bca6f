"""The one declarative table of metrics: every fact about a metric that the registry, reports,
BD tables and regression checks need, readable without importing any implementation.

Adding a metric means adding one `MetricSpec` row here and registering its class (with the same
name) in the module the row names; `register_metric` copies the row's facts onto the class, so
nothing is written twice. An output name that no row declares is an error, never a guess.
"""

from __future__ import annotations

from dataclasses import dataclass

from benchmark.core.errors import UlvrError


@dataclass(frozen=True)
class MetricSpec:
    """One metric: where it lives, what it outputs and how its values are read."""

    name: str
    module: str                    # imported only when the metric is used
    outputs: tuple[str, ...]       # value names compute() returns (set metrics: the report's)
    lower_is_better: bool
    description: str
    colour: str = "rgb"            # "rgb": 8-bit RGB; "yuv": native planes at source depth
    set_level: bool = False        # pooled over all clips of a dataset at report time (FVD)
    tolerance: float = 0.0         # default regression tolerance, absolute in output units
    relative_tolerance: bool = False  # tolerance is a fraction of the reference value instead
    table_outputs: tuple[str, ...] | None = None  # outputs shown in RD tables (None: all)
    default: bool = False          # in the default metric set (`--metrics default`, make demo)
    gpu: bool = False              # computes with torch on --device: a GPU job under cuda
    # protocol entries that describe one record's input, not the metric (they may differ within
    # a column): e.g. whether PSNR-YUV compared native planes or planes via RGB
    record_keys: tuple[str, ...] = ()
    # the values over which the metric ranks methods; a best value outside it gets a caveat
    # instead of a "best" mark (benchmark.analysis.marks)
    valid_range: tuple[float, float] | None = None

    @property
    def shown(self) -> tuple[str, ...]:
        """Outputs that appear in RD, matched-rate and BD tables."""
        return self.outputs if self.table_outputs is None else self.table_outputs


METRIC_TABLE: tuple[MetricSpec, ...] = (
    MetricSpec("psnr", "benchmark.metrics.psnr",
               ("psnr-rgb", "psnr-y", "psnr-u", "psnr-v", "psnr-yuv"), False,
               "PSNR on RGB and Y/U/V; YUV weighted 6:1:1; mean of per-frame values",
               colour="yuv", tolerance=0.05, table_outputs=("psnr-rgb", "psnr-yuv"),
               record_keys=("yuv_reference", "bit_depth"),   # the peak is the source's
               default=True),
    MetricSpec("ms-ssim", "benchmark.metrics.msssim", ("ms-ssim",), False,
               "multi-scale SSIM on 8-bit RGB (scales fixed per dataset, recorded)",
               tolerance=0.001, default=True, gpu=True),
    MetricSpec("vmaf", "benchmark.metrics.vmaf", ("vmaf",), False,
               "VMAF (libvmaf in ffmpeg, vmaf_v0.6.1) on YUV planes (RGB-only output: via RGB)",
               colour="yuv", tolerance=0.5, default=True, record_keys=("yuv_reference",),
               # below 20, the "bad" end of the opinion scale it predicts, at its 0 floor at
               # ultra-low rates: its differences there do not rank methods
               valid_range=(20.0, 100.0)),
    MetricSpec("lpips-alex", "benchmark.metrics.lpips", ("lpips-alex",), True,
               "LPIPS v0.1, AlexNet backbone; mean of per-frame values",
               tolerance=0.005, default=True, gpu=True),
    MetricSpec("lpips-vgg", "benchmark.metrics.lpips", ("lpips-vgg",), True,
               "LPIPS v0.1, VGG16 backbone; mean of per-frame values", tolerance=0.005,
               gpu=True),
    MetricSpec("dists", "benchmark.metrics.dists", ("dists",), True,
               "DISTS (VGG16 structure and texture similarity) at the frame's size, as pyiqa "
               "and piq; mean of per-frame values", tolerance=0.005, default=True, gpu=True),
    MetricSpec("dists-r256", "benchmark.metrics.dists", ("dists-r256",), True,
               "DISTS as the authors' script: shorter side over 256 resized to 256 first; "
               "not comparable with dists above 256 px", tolerance=0.005, gpu=True),
    MetricSpec("fvd", "benchmark.metrics.fvd", ("fvd", "kvd"), True,
               "FVD and KVD on I3D K400 logits of 16-frame clips, pooled per method x rate",
               set_level=True, tolerance=0.02, relative_tolerance=True, default=True,
               gpu=True),
    MetricSpec("tof", "benchmark.metrics.temporal", ("tof",), True,
               "tOF: distance of the reconstruction's optical flow from the reference's (DIS)",
               tolerance=0.05, default=True),
    MetricSpec("tlp", "benchmark.metrics.temporal", ("tlp",), True,
               "tLP: change of LPIPS-alex between consecutive frames vs the reference's",
               tolerance=0.005, default=True, gpu=True),
    MetricSpec("tof-tecogan", "benchmark.metrics.temporal", ("tof-tecogan",), True,
               "tOF exactly as TecoGAN's metrics.py (Farneback on cv2 gray, its crop, first and "
               "last 2 frames skipped; pixels)", tolerance=0.05),
    MetricSpec("tlp-tecogan", "benchmark.metrics.temporal", ("tlp-tecogan",), True,
               "tLP exactly as TecoGAN's metrics.py (LPIPS-alex on its crop, first and last 2 "
               "frames skipped; x100)", tolerance=0.5, gpu=True),
    MetricSpec("warp-error", "benchmark.metrics.temporal", ("warp-error",), True,
               "warping error with the reference's flow and occlusion mask (Lai et al. 2018)",
               tolerance=1e-4, default=True),
    MetricSpec("flicker", "benchmark.metrics.temporal", ("flicker",), True,
               "flicker: change of mean luma between frames vs the reference's",
               tolerance=0.1, default=True),
    MetricSpec("label-miou", "benchmark.metrics.semantic", ("label-miou", "label-pixel-acc"),
               False, "colour-segmentation agreement (not a semantic network): mIoU and pixel "
               "accuracy of both frames labelled with a k-means CIELAB palette of the reference",
               tolerance=0.01, default=True),
    MetricSpec("seg-miou", "benchmark.metrics.semantic", ("seg-miou", "seg-pixel-acc"), False,
               "semantic agreement: mIoU and pixel accuracy of SegFormer (ADE20K) labels of both "
               "frames (weights from the local Hugging Face cache)", tolerance=0.01, gpu=True),
    MetricSpec("piqe", "benchmark.metrics.noref", ("piqe",), True,
               "PIQE no-reference quality of the reconstruction (pyiqa)", tolerance=0.5,
               gpu=True),
    MetricSpec("niqe", "benchmark.metrics.noref", ("niqe",), True,
               "NIQE no-reference quality of the reconstruction (pyiqa)", tolerance=0.5,
               gpu=True),
    MetricSpec("cvvdp", "benchmark.metrics.cvvdp", ("cvvdp",), False,
               "ColorVideoVDP in JOD at the sequence's frame rate (display standard_4k)",
               tolerance=0.05, gpu=True),
)

METRICS: dict[str, MetricSpec] = {spec.name: spec for spec in METRIC_TABLE}
_BY_OUTPUT: dict[str, MetricSpec] = {out: spec for spec in METRIC_TABLE for out in spec.outputs}


METRIC_GROUP = "ulvr.metrics"   # entry points of metric plugins: name = "module" (or module:Class)


def add_row(spec: MetricSpec) -> None:
    """Add a metric's row from outside the table (a plugin's, through register_metric); a name
    or an output that another row has is refused."""
    clash = [out for out in spec.outputs if out in _BY_OUTPUT]
    if spec.name in METRICS or clash:
        what = "its name" if spec.name in METRICS else "outputs " + ", ".join(clash)
        raise ValueError(f"metric row '{spec.name}' clashes with the table ({what})")
    METRICS[spec.name] = spec
    _BY_OUTPUT.update({out: spec for out in spec.outputs})


def output_spec(output: str) -> MetricSpec:
    """The row that declares an output such as 'psnr-y' or 'psnr-rgb@mse'."""
    spec = _BY_OUTPUT.get(output.split("@")[0])
    if spec is None:
        raise UlvrError(f"unknown metric output '{output}': no metric in the metric table "
                        "declares it")
    return spec


def lower_is_better(output: str) -> bool:
    """Direction of a metric output, from the table (never a default)."""
    return output_spec(output).lower_is_better


def table_outputs() -> tuple[str, ...]:
    """Every output shown in tables, in table order."""
    return tuple(out for spec in METRICS.values() for out in spec.shown)


def default_metrics() -> tuple[str, ...]:
    """The default metric set (what `make demo` runs and `--metrics default` means)."""
    return tuple(spec.name for spec in METRIC_TABLE if spec.default)


def tolerance(output: str) -> tuple[float, bool]:
    """(default regression tolerance, whether it is relative) of an output."""
    spec = output_spec(output)
    return spec.tolerance, spec.relative_tolerance
