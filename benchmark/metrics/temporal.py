"""Temporal consistency against the reference: tOF and tLP (TecoGAN), warping error, flicker.

All four are lower-is-better and defined on consecutive frame pairs (t-1, t), t >= 1: a T-frame
video gives T-1 per-frame values (entry i is the pair (i, i+1)) and the sequence value is their
mean. Chunks stream in order; each metric keeps only what it needs of the previous chunk's last
frame, so results do not depend on the chunk size.

Optical flow is OpenCV's DIS (preset MEDIUM, no weights) on 8-bit luma: BT.709 full-range
Y' = 0.2126 R + 0.7152 G + 0.0722 B of the 8-bit RGB frames, rounded to uint8. A flow F(a -> b)
at pixel p is the displacement (dx, dy), in pixels, to where p's content sits in frame b.

- tof (TecoGAN, Chu et al. 2020): per t, the mean over pixels of the Euclidean norm (end-point
  error) of F_ref(t-1 -> t) - F_rec(t-1 -> t), in pixels. TecoGAN's metrics.py takes the same
  per-pixel norm (its comment calls it l1) of Farneback flow inside an 8+ px border crop; we use
  DIS on the whole frame. TecoGAN's tables print tOF x 10; ours is unscaled.
- tlp (TecoGAN): per t, |LPIPS-alex(rec_{t-1}, rec_t) - LPIPS-alex(ref_{t-1}, ref_t)|, unscaled
  (TecoGAN prints x 100).
- warp-error (Lai et al. 2018): flows from the reference only, B = F_ref(t -> t-1) and
  F = F_ref(t-1 -> t). rec_{t-1} is warped to t by bilinear sampling at p + B(p) (cv2.remap,
  replicated borders). A pixel counts (mask M) if it passes the forward-backward check
  |B + F~|^2 <= 0.01 (|B|^2 + |F~|^2) + 0.5 with F~(p) = F(p + B(p)), is not on a motion boundary
  of B (|grad B_x|^2 + |grad B_y|^2 <= 0.01 |B|^2 + 0.002, forward differences), both as in Lai
  et al.'s code, and samples inside frame t-1 (our addition: content entering the frame has no
  source). Error = sum_p M(p) sum_c (rec_t - W(rec_{t-1}))^2 / (3 sum_p M(p)) on RGB scaled to
  [0, 1]: the per-channel mean squared error over counted pixels, as Lai et al.'s
  evaluate_WarpError.py computes it (its mask has three channels); all pixels if none counts.
- tof-tecogan, tlp-tecogan: tOF and tLP exactly as TecoGAN's metrics.py computes them, for
  comparing with numbers from its tables: flow by OpenCV Farneback (pyr_scale 0.5, 3 levels,
  window 15, 3 iterations, poly_n 5, poly_sigma 1.2) on cv2.COLOR_RGB2GRAY (BT.601 weights, not
  tof's BT.709 luma, DIS and full frame); flows, and for tLP the frames given to LPIPS-alex
  v0.1, cropped as its crop_8x8 (centred, to multiples of 32 leaving at least 8 px each side);
  the first and last 2 frames of a sequence (its cutfr) skipped, so a T-frame video gives T-5
  pair values, at least 6 frames needed. tof-tecogan is in pixels as its code gives it (the
  tables print x10); tlp-tecogan is x100, as its code gives it. Not in the default set.
- flicker (ours): per t, |(Ym(rec_t) - Ym(rec_{t-1})) - (Ym(ref_t) - Ym(ref_{t-1}))|, Ym the
  frame's mean BT.709 luma (unrounded) in 8-bit units: changes of global brightness that the
  reference does not have. Blind to local flicker, which warp-error sees.
"""

from __future__ import annotations

from functools import lru_cache

import cv2
import numpy as np

from benchmark.core.errors import UlvrError
from benchmark.core.featcache import FeatureCache, feature_key
from benchmark.data.video_io import FrameChunk
from benchmark.metrics.base import metric_class, register_metric
from benchmark.metrics.frame_mean import FrameMeanMetric
from benchmark.protocol import Availability

LUMA_WEIGHTS = np.array([0.2126, 0.7152, 0.0722], dtype=np.float32)  # BT.709
LUMA_NOTE = "BT.709 full-range luma 0.2126 R + 0.7152 G + 0.0722 B of 8-bit RGB"
PAIRS_NOTE = "consecutive frames (t-1, t), t >= 1; per_frame[i] is the pair (i, i+1)"
FB_ALPHA, FB_BETA = 0.01, 0.5          # forward-backward check (Lai et al. 2018, Ruder et al.)
MB_ALPHA, MB_BETA = 0.01, 0.002        # motion-boundary check (Lai et al. 2018)
# TecoGAN's metrics.py: calcOpticalFlowFarneback(prev, next, None, *these); frames skipped
FARNEBACK_TECOGAN = {"pyr_scale": 0.5, "levels": 3, "winsize": 15, "iterations": 3,
                     "poly_n": 5, "poly_sigma": 1.2, "flags": 0}
TECOGAN_SKIPPED = 2                    # its cutfr: frames left out at each end of a sequence


def luma(rgb: np.ndarray) -> np.ndarray:
    """BT.709 luma of (..., 3) 8-bit RGB as float32 in 0..255."""
    return rgb.astype(np.float32) @ LUMA_WEIGHTS


def luma_u8(rgb: np.ndarray) -> np.ndarray:
    """Luma rounded to uint8: the input DIS flow takes."""
    return np.clip(np.rint(luma(rgb)), 0, 255).astype(np.uint8)


def dis_flow() -> cv2.DISOpticalFlow:
    """A DIS optical-flow estimator with the MEDIUM preset."""
    return cv2.DISOpticalFlow_create(cv2.DISOPTICAL_FLOW_PRESET_MEDIUM)


def flow_protocol(dis: cv2.DISOpticalFlow) -> dict:
    """The flow algorithm and its effective parameters, for the result's protocol."""
    return {"flow": "OpenCV DISOpticalFlow", "flow_preset": "medium",
            "flow_input": LUMA_NOTE + ", rounded to uint8", "opencv": cv2.__version__,
            "flow_params": {"finest_scale": dis.getFinestScale(),
                            "patch_size": dis.getPatchSize(),
                            "patch_stride": dis.getPatchStride(),
                            "gradient_descent_iterations": dis.getGradientDescentIterations(),
                            "variational_refinement_iterations":
                                dis.getVariationalRefinementIterations(),
                            "mean_normalization": bool(dis.getUseMeanNormalization()),
                            "spatial_propagation": bool(dis.getUseSpatialPropagation())}}


def flow(dis: cv2.DISOpticalFlow, first: np.ndarray, second: np.ndarray) -> np.ndarray:
    """(H, W, 2) float32 flow from one uint8 luma frame to the next."""
    return dis.calc(np.ascontiguousarray(first), np.ascontiguousarray(second), None)


def reference_flows(dis: cv2.DISOpticalFlow, luma_frames: np.ndarray,
                    direction: str) -> np.ndarray:
    """(n-1, H, W, 2) flows between consecutive reference luma frames, "forward" (t-1 -> t) or
    "backward" (t -> t-1), from the feature cache when this job's sequence was seen before."""
    def compute() -> np.ndarray:
        pairs = zip(luma_frames[:-1], luma_frames[1:], strict=True)
        return np.stack([flow(dis, a, b) if direction == "forward" else flow(dis, b, a)
                         for a, b in pairs])

    key = feature_key({**flow_protocol(dis), "direction": direction}, luma_frames)
    return FeatureCache("flow").cached(key, compute)


@lru_cache(maxsize=8)
def _grid(height: int, width: int) -> tuple[np.ndarray, np.ndarray]:
    """Pixel coordinates x, y as float32 (H, W) maps (read-only, shared)."""
    gx, gy = np.meshgrid(np.arange(width, dtype=np.float32), np.arange(height, dtype=np.float32))
    gx.flags.writeable = gy.flags.writeable = False
    return gx, gy


def sample_at(image: np.ndarray, displacement: np.ndarray) -> np.ndarray:
    """image sampled at p + displacement(p): bilinear backward warping, borders replicated."""
    gx, gy = _grid(*displacement.shape[:2])
    return cv2.remap(image, gx + displacement[..., 0], gy + displacement[..., 1],
                     cv2.INTER_LINEAR, borderMode=cv2.BORDER_REPLICATE)


def _sq_norm(f: np.ndarray) -> np.ndarray:
    return f[..., 0] * f[..., 0] + f[..., 1] * f[..., 1]


def valid_mask(backward: np.ndarray, forward: np.ndarray) -> np.ndarray:
    """Pixels of frame t whose backward flow is trusted: consistent, off motion boundaries and
    pointing inside frame t-1 (backward: t -> t-1, forward: t-1 -> t, both (H, W, 2))."""
    forward_w = sample_at(forward, backward)
    occluded = _sq_norm(backward + forward_w) > FB_ALPHA * (_sq_norm(backward)
                                                            + _sq_norm(forward_w)) + FB_BETA
    du, dv = np.zeros_like(backward), np.zeros_like(backward)  # forward differences, as Lai
    du[:, :-1] = backward[:, :-1] - backward[:, 1:]
    dv[:-1] = backward[:-1] - backward[1:]
    boundary = (_sq_norm(du) + _sq_norm(dv)) > MB_ALPHA * _sq_norm(backward) + MB_BETA
    gx, gy = _grid(*backward.shape[:2])
    sx, sy = gx + backward[..., 0], gy + backward[..., 1]
    h, w = backward.shape[:2]
    inside = (sx >= 0) & (sx <= w - 1) & (sy >= 0) & (sy <= h - 1)
    return inside & ~occluded & ~boundary


def warp_error(backward: np.ndarray, mask: np.ndarray, rec_prev: np.ndarray,
               rec_cur: np.ndarray) -> float:
    """Masked per-channel MSE of rec_t and rec_{t-1} warped by the reference's backward flow
    (backward: (H, W, 2) t -> t-1; mask: valid_mask's; rec_*: uint8 RGB (H, W, 3))."""
    warped = sample_at(rec_prev.astype(np.float32) / 255.0, backward)
    sq = ((rec_cur.astype(np.float32) / 255.0 - warped) ** 2).sum(axis=-1, dtype=np.float64)
    if not mask.any():
        return float(sq.mean() / 3.0)
    return float(sq[mask].sum() / (3.0 * mask.sum()))


def tecogan_crop(height: int, width: int) -> tuple[slice, slice]:
    """TecoGAN's crop_8x8: a centred window whose sides are multiples of 32 and leave at least
    8 pixels on each side (rows, columns)."""
    def side(size: int) -> tuple[int, int]:
        kept = size // 32 * 32
        while kept > size - 16:
            kept -= 32
        if kept <= 0:
            raise UlvrError(f"TecoGAN's crop leaves nothing of a side of {size} pixels: "
                            "tof-tecogan and tlp-tecogan need frames of at least 48x48")
        return (size - kept) // 2, kept

    (y, h), (x, w) = side(height), side(width)
    return slice(y, y + h), slice(x, x + w)


def farneback_tecogan(first: np.ndarray, second: np.ndarray) -> np.ndarray:
    """(H, W, 2) Farneback flow from one uint8 gray frame to the next, TecoGAN's parameters."""
    return cv2.calcOpticalFlowFarneback(first, second, None, *FARNEBACK_TECOGAN.values())


def cv2_gray(rgb: np.ndarray) -> np.ndarray:
    """(n, H, W) uint8 gray of (n, H, W, 3) RGB as cv2.COLOR_RGB2GRAY computes it."""
    return np.stack([cv2.cvtColor(np.ascontiguousarray(f), cv2.COLOR_RGB2GRAY) for f in rgb])


class _PairMetric(FrameMeanMetric):
    """A metric of consecutive frame pairs that carries the previous chunk's last frame over."""

    skipped = 0   # frames left out at each end of the sequence (TecoGAN's cutfr)
    aggregate = "mean over frame pairs"

    def reset(self) -> None:
        super().reset()
        self._carry: tuple[np.ndarray, np.ndarray] | None = None

    def _features(self, chunk: FrameChunk, reference: bool) -> np.ndarray:
        """Per-frame data the pairs need, (n, ...)."""
        return chunk.rgb()

    def _pairs(self, ref: np.ndarray, rec: np.ndarray) -> np.ndarray:
        """Values of the pairs (i-1, i), i >= 1, of these frames."""
        raise NotImplementedError

    def _protocol(self) -> dict:
        return {}

    def update(self, reference: FrameChunk, reconstruction: FrameChunk) -> None:
        ref, rec = self._features(reference, True), self._features(reconstruction, False)
        if self._carry is not None:
            ref, rec = np.concatenate([self._carry[0], ref]), np.concatenate([self._carry[1], rec])
        if len(ref) > 1:
            self.add(np.asarray(self._pairs(ref, rec), dtype=np.float64))
        self._carry = (ref[-1:].copy(), rec[-1:].copy())

    def frame_values(self) -> np.ndarray:
        pairs = np.concatenate(self._values) if self._values else np.empty(0)
        frames = pairs[self.skipped:len(pairs) - self.skipped]
        if not len(frames):
            need = f"{2 + 2 * self.skipped} frames (it skips {self.skipped} at each end, as " \
                "TecoGAN)" if self.skipped else "two frames"
            raise UlvrError(f"{self.name} needs at least {need}")
        return frames

    def protocol(self) -> dict:
        protocol = {"pairs": PAIRS_NOTE, **self._protocol()}
        if self.skipped:
            protocol["pairs"] = (f"consecutive frames (t-1, t), {self.skipped + 1} <= t < T - "
                                 f"{self.skipped}; per_frame[i] is the pair "
                                 f"({self.skipped} + i, {self.skipped + 1} + i)")
        return protocol


@register_metric
class TemporalOpticalFlow(_PairMetric):
    """tOF: how far the reconstruction's motion is from the reference's (TecoGAN)."""

    name = "tof"

    def reset(self) -> None:
        super().reset()
        self._dis = dis_flow()

    def _features(self, chunk: FrameChunk, reference: bool) -> np.ndarray:
        return luma_u8(chunk.rgb())

    def _pairs(self, ref: np.ndarray, rec: np.ndarray) -> np.ndarray:
        ref_flows = reference_flows(self._dis, ref, "forward")
        out = np.empty(len(ref) - 1)
        for i in range(1, len(ref)):
            diff = ref_flows[i - 1] - flow(self._dis, rec[i - 1], rec[i])
            out[i - 1] = np.sqrt(_sq_norm(diff), dtype=np.float64).mean()
        return out

    def _protocol(self) -> dict:
        return {"definition": "mean over pixels of ||F_ref(t-1->t) - F_rec(t-1->t)||_2",
                "unit": "pixels (unscaled; TecoGAN tables show x10)", "crop": "none",
                **flow_protocol(self._dis)}


@register_metric
class TemporalLpips(_PairMetric):
    """tLP: how far the reconstruction's perceptual change between frames is from the
    reference's (TecoGAN)."""

    name = "tlp"

    def __init__(self, device: str = "cpu") -> None:
        from benchmark.metrics.lpips import shared_distance  # torch only when tLP is used

        self._distance = shared_distance("alex", str(device))
        super().__init__(device)

    @classmethod
    def availability(cls) -> Availability:
        try:
            lpips = metric_class("lpips-alex")
        except Exception as exc:  # noqa: BLE001 - any failure means tLP cannot run
            return Availability(False, f"tLP needs the LPIPS metric: {exc}")
        return lpips.availability()

    def _pairs(self, ref: np.ndarray, rec: np.ndarray) -> np.ndarray:
        key = feature_key({**self._distance.protocol(), "pairs": "consecutive"}, ref)
        d_ref = FeatureCache("tlp").cached(key, lambda: self._distance.consecutive(ref))
        return np.abs(self._distance.consecutive(rec) - d_ref)

    def _protocol(self) -> dict:
        lpips = {k: v for k, v in self._distance.protocol().items() if k != "order"}
        return {"definition": "|LPIPS(rec_{t-1}, rec_t) - LPIPS(ref_{t-1}, ref_t)|",
                "unit": "unscaled (TecoGAN shows x100)", "lpips": lpips}


@register_metric
class TemporalOpticalFlowTecogan(_PairMetric):
    """tOF as TecoGAN's metrics.py computes it (Farneback on cv2 gray, its crop and cutfr)."""

    name = "tof-tecogan"
    skipped = TECOGAN_SKIPPED

    def _features(self, chunk: FrameChunk, reference: bool) -> np.ndarray:
        return cv2_gray(chunk.rgb())

    def _pairs(self, ref: np.ndarray, rec: np.ndarray) -> np.ndarray:
        rows, cols = tecogan_crop(*ref.shape[1:3])
        out = np.empty(len(ref) - 1)
        for i in range(1, len(ref)):
            diff = (farneback_tecogan(ref[i - 1], ref[i])
                    - farneback_tecogan(rec[i - 1], rec[i]))[rows, cols]
            out[i - 1] = np.sqrt(_sq_norm(diff)).mean()
        return out

    def _protocol(self) -> dict:
        return {"definition": "TecoGAN metrics.py tOF: mean over the crop of "
                              "||F_ref(t-1->t) - F_rec(t-1->t)||_2",
                "unit": "pixels (unscaled, as its code; its tables show x10)",
                "flow": "OpenCV calcOpticalFlowFarneback", "flow_params": FARNEBACK_TECOGAN,
                "flow_input": "cv2.COLOR_RGB2GRAY of 8-bit RGB",
                "crop": "TecoGAN crop_8x8 (centred, multiples of 32, >= 8 px border)",
                "skipped_frames_each_end": self.skipped, "opencv": cv2.__version__}


@register_metric
class TemporalLpipsTecogan(_PairMetric):
    """tLP as TecoGAN's metrics.py computes it (LPIPS-alex v0.1 on its crop, cutfr, x100)."""

    name = "tlp-tecogan"
    skipped = TECOGAN_SKIPPED

    def __init__(self, device: str = "cpu") -> None:
        from benchmark.metrics.lpips import shared_distance  # torch only when tLP is used

        self._distance = shared_distance("alex", str(device))
        super().__init__(device)

    @classmethod
    def availability(cls) -> Availability:
        return TemporalLpips.availability()   # the same LPIPS network

    def _features(self, chunk: FrameChunk, reference: bool) -> np.ndarray:
        rgb = chunk.rgb()
        rows, cols = tecogan_crop(*rgb.shape[1:3])
        return np.ascontiguousarray(rgb[:, rows, cols])

    def _pairs(self, ref: np.ndarray, rec: np.ndarray) -> np.ndarray:
        d_ref = self._distance(ref[:-1], ref[1:])
        d_rec = self._distance(rec[:-1], rec[1:])
        return 100.0 * np.abs(d_ref - d_rec)

    def _protocol(self) -> dict:
        lpips = {k: v for k, v in self._distance.protocol().items() if k != "order"}
        return {"definition": "TecoGAN metrics.py tLP: 100 |LPIPS(ref_{t-1}, ref_t) - "
                              "LPIPS(rec_{t-1}, rec_t)| on the crop",
                "unit": "x100, as its code", "lpips": lpips,
                "crop": "TecoGAN crop_8x8 (centred, multiples of 32, >= 8 px border)",
                "skipped_frames_each_end": self.skipped}


@register_metric
class WarpError(_PairMetric):
    """Warping error (Lai et al. 2018): how much the reconstruction changes along the
    reference's motion, outside occlusions."""

    name = "warp-error"

    def reset(self) -> None:
        super().reset()
        self._dis = dis_flow()

    def _features(self, chunk: FrameChunk, reference: bool) -> np.ndarray:
        return luma_u8(chunk.rgb()) if reference else chunk.rgb()

    def _pairs(self, ref: np.ndarray, rec: np.ndarray) -> np.ndarray:
        backward = reference_flows(self._dis, ref, "backward")
        forward = reference_flows(self._dis, ref, "forward")
        return np.array([warp_error(backward[i - 1], valid_mask(backward[i - 1], forward[i - 1]),
                                    rec[i - 1], rec[i]) for i in range(1, len(ref))])

    def _protocol(self) -> dict:
        return {"definition": "sum(M * sum_c (rec_t - warp(rec_{t-1}))^2) / (3 sum(M))",
                "scale": "RGB in [0, 1]; mean over channels and counted pixels",
                "flow_source": "reference: backward t->t-1 warps, forward t-1->t checks",
                "warp": "cv2.remap bilinear, replicated border",
                "mask": f"|B+F~|^2 <= {FB_ALPHA}(|B|^2+|F~|^2)+{FB_BETA}; "
                        f"|grad B|^2 <= {MB_ALPHA}|B|^2+{MB_BETA}; source inside frame",
                **flow_protocol(self._dis)}


@register_metric
class Flicker(_PairMetric):
    """Flicker: frame-to-frame changes of mean brightness the reference does not have."""

    name = "flicker"

    def _features(self, chunk: FrameChunk, reference: bool) -> np.ndarray:
        return luma(chunk.rgb()).mean(axis=(1, 2), dtype=np.float64)

    def _pairs(self, ref: np.ndarray, rec: np.ndarray) -> np.ndarray:
        return np.abs(np.diff(rec) - np.diff(ref))

    def _protocol(self) -> dict:
        return {"definition": "|(Ym(rec_t) - Ym(rec_{t-1})) - (Ym(ref_t) - Ym(ref_{t-1}))|",
                "luma": LUMA_NOTE + ", frame mean", "unit": "8-bit luma levels"}
