"""Pseudo-videos for training: still photographs shipped inside an installed package
(scikit-image's data folder), filmed by a virtual camera that pans, zooms and rotates. Each is
written once as raw YUV 4:2:0 (BT.709) and then goes through the real sender like any training
clip, adding content and motion that the three embedded clips lack. No evaluation frame is
among them: they come from other images entirely.
"""

from __future__ import annotations

import importlib.util
import os
import tempfile
from dataclasses import dataclass
from pathlib import Path

import cv2
import numpy as np

from benchmark.core.colour import rgb_to_yuv420
from benchmark.core.errors import UlvrError
from benchmark.core.weights import default_cache_dir
from benchmark.data.manifest import Sequence

# colour photographs of scikit-image's data folder that are large enough to film at 320x176
STILLS = ("astronaut.png", "chelsea.png", "coffee.png", "rocket.jpg", "motorcycle_left.png",
          "hubble_deep_field.jpg", "retina.jpg", "color.png")
FPS = 25.0


@dataclass(frozen=True)
class CameraPath:
    """Motion per frame of a virtual camera over a still image."""

    pan: tuple[float, float] = (0.0, 0.0)   # pixels of the output per frame (x, y)
    zoom: float = 1.0                        # scale factor per frame
    rotate: float = 0.0                      # degrees per frame

    @classmethod
    def random(cls, rng: np.random.Generator) -> CameraPath:
        """A slow, smooth move: what a hand-held or tripod camera does in 1-2 s."""
        return cls(pan=(float(rng.uniform(-2, 2)), float(rng.uniform(-1.5, 1.5))),
                   zoom=float(rng.uniform(0.992, 1.008)), rotate=float(rng.uniform(-0.3, 0.3)))


def still_folder() -> Path:
    """scikit-image's data folder, found without importing the package."""
    spec = importlib.util.find_spec("skimage")
    if spec is None or not spec.submodule_search_locations:
        raise UlvrError("scikit-image is not installed: its still images make the pseudo-videos;"
                        " run 'make install'")
    return Path(next(iter(spec.submodule_search_locations))) / "data"


def load_still(name: str) -> np.ndarray:
    """An (H, W, 3) uint8 RGB image from the still folder."""
    path = still_folder() / name
    image = cv2.imread(str(path), cv2.IMREAD_COLOR)
    if image is None:
        raise UlvrError(f"cannot read the still image {path}: reinstall scikit-image")
    return cv2.cvtColor(image, cv2.COLOR_BGR2RGB)


def render(image: np.ndarray, path: CameraPath, frames: int, width: int,
           height: int) -> np.ndarray:
    """(frames, height, width, 3) uint8: the image seen by the moving camera. Frame 0 shows
    the image's centre, scaled so that the view fits inside it; borders reflect."""
    h, w = image.shape[:2]
    base = max(width / w, height / h) * 1.25   # start zoomed in: room to pan and rotate
    out = np.empty((frames, height, width, 3), np.uint8)
    for t in range(frames):
        scale = base * path.zoom ** t
        matrix = cv2.getRotationMatrix2D((w / 2, h / 2), path.rotate * t, scale)
        matrix[0, 2] += width / 2 - w / 2 - path.pan[0] * t
        matrix[1, 2] += height / 2 - h / 2 - path.pan[1] * t
        out[t] = cv2.warpAffine(image, matrix, (width, height), flags=cv2.INTER_AREA,
                                borderMode=cv2.BORDER_REFLECT)
    return out


def _write_yuv(frames: np.ndarray, path: Path) -> None:
    """Raw 8-bit YUV 4:2:0 (BT.709 limited range), written atomically."""
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=".tmp-", suffix=".yuv", dir=path.parent)
    with os.fdopen(fd, "wb") as fh:
        for frame in frames:
            for plane in rgb_to_yuv420(frame[None], bit_depth=8):
                fh.write(np.ascontiguousarray(plane).tobytes())
    os.replace(tmp, path)


def pseudo_sequences(count: int, frames: int = 64, width: int = 320, height: int = 176,
                     seed: int = 0, root: Path | None = None) -> list[Sequence]:
    """`count` pseudo-videos (stills taken in turn, a random camera path each), cached as raw
    YUV under $ULVR_CACHE/pseudo and returned as training sequences."""
    if count < 0 or count > 4 * len(STILLS):
        raise UlvrError(f"pseudo-videos: ask for 0 to {4 * len(STILLS)}, not {count}")
    rng = np.random.default_rng(seed)
    root = root or default_cache_dir().parent / "pseudo"
    sequences = []
    for i in range(count):
        still = STILLS[i % len(STILLS)]
        camera = CameraPath.random(rng)
        name = f"{Path(still).stem}-{i}-s{seed}"
        path = root / f"{name}_{width}x{height}_{frames}f.yuv"
        if not path.exists():
            _write_yuv(render(load_still(still), camera, frames, width, height), path)
        sequences.append(Sequence(dataset="pseudo", name=name, path=str(path), width=width,
                                  height=height, fps=FPS, num_frames=frames, segment="train"))
    return sequences
