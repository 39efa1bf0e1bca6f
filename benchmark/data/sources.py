"""What a video file says about itself, and manifests built from files: `ulvr run --input FILE`
and `ulvr dataset init DIR` describe videos from their own headers, so nobody writes a manifest
by hand to evaluate a clip of their own.

Pixel formats follow the harness's colour convention (docs/datasets.md): YUV sources keep their
planes, 4:2:2 and 4:4:4 chroma is averaged down to 4:2:0 by ffmpeg, more than 8 bits become
10-bit 4:2:0; RGB sources are converted by `benchmark.core.colour` (BT.709 limited range);
grayscale is refused (its absent chroma would score 100 dB and inflate PSNR-YUV).
"""

from __future__ import annotations

import functools
import glob
import os
import re
import subprocess
from dataclasses import dataclass
from pathlib import Path

from benchmark.core.errors import UlvrError
from benchmark.core.ffmpeg import ffmpeg_exe, last_error_line, probe
from benchmark.core.names import SAFE_NAME
from benchmark.data.video_io import frame_bytes, is_rgb_pix_fmt, parse_yuv_name

VIDEO_SUFFIXES = (".y4m", ".mp4", ".mkv", ".mov", ".webm", ".avi", ".m4v", ".ts", ".yuv",
                  ".264", ".265", ".hevc", ".ivf", ".obu")
RAW_PIX_FMTS = {"yuv420p": 8, "yuv420p10le": 10}   # what a raw .yuv may hold


@dataclass(frozen=True)
class SourceInfo:
    """A video file's own description of itself: geometry, rate, depth and length."""

    width: int
    height: int
    fps: float
    bit_depth: int
    frames: int
    pix_fmt: str


def read_header(path: str) -> SourceInfo:
    """Geometry, frame rate, bit depth and frame count of a file ffmpeg reads (y4m, mp4, mkv,
    ...); a grayscale source is refused with a one-line error."""
    info = probe(path)
    if info.pix_fmt.startswith(("gray", "ya", "mono")):
        raise UlvrError(f"'{path}' is grayscale ({info.pix_fmt}): the harness scores 4:2:0 "
                        "colour video (absent chroma would score 100 dB); convert it, e.g. "
                        "ffmpeg -i IN -pix_fmt yuv420p OUT.y4m")
    depth = 8 if is_rgb_pix_fmt(info.pix_fmt) or info.bit_depth <= 8 else 10
    stat = os.stat(path)
    return SourceInfo(info.width, info.height, info.fps, depth,
                      _count_frames(path, stat.st_size, stat.st_mtime_ns), info.pix_fmt)


@functools.lru_cache(maxsize=256)
def _count_frames(path: str, size: int, mtime_ns: int) -> int:
    """Frames in the first video stream, counted by demuxing (no decoding: fast)."""
    proc = subprocess.run([ffmpeg_exe(), "-hide_banner", "-nostdin", "-i", path, "-map",
                           "0:v:0", "-c", "copy", "-f", "null", "-"], capture_output=True,
                          text=True)
    counts = re.findall(r"frame=\s*(\d+)", proc.stderr)
    if proc.returncode != 0 or not counts:
        raise UlvrError(f"cannot count the frames of '{path}': {last_error_line(proc.stderr)}")
    return int(counts[-1])


def sequence_name(path: str) -> str:
    """The file's stem as a sequence name: characters a name may not hold become '-'."""
    stem = re.sub(r"[^A-Za-z0-9_.-]+", "-", Path(path).stem).strip("-.") or "video"
    stem = re.sub(r"\.\.+", ".", stem)[:128]
    return stem if SAFE_NAME.fullmatch(stem) else f"v{stem}"[:128]


def raw_entry(path: str, size: str | None, fps: float | None, pix_fmt: str | None) -> dict:
    """A manifest entry for a raw .yuv file: geometry from --size/--pix-fmt, else its name."""
    if pix_fmt is not None and pix_fmt not in RAW_PIX_FMTS:
        raise UlvrError(f"--pix-fmt {pix_fmt}: a raw .yuv input must be one of "
                        f"{', '.join(RAW_PIX_FMTS)}; convert other formats with ffmpeg to y4m")
    if size is None:
        try:
            geo = parse_yuv_name(path)
        except UlvrError:
            raise UlvrError(f"raw video '{path}' has no header: give its size (ulvr run "
                            "--input FILE --size WxH [--fps F --pix-fmt P]), or name it like "
                            "Name_1920x1080_50fps_8bit.yuv") from None
        width, height = geo["width"], geo["height"]
        fps, depth = fps or geo["fps"], RAW_PIX_FMTS.get(pix_fmt, geo["bit_depth"])
    else:
        width, height = parse_size(size)
        depth = RAW_PIX_FMTS[pix_fmt or "yuv420p"]
    fb = frame_bytes(width, height, depth)
    total = os.path.getsize(path)
    if total % fb or not total:
        raise UlvrError(f"'{path}' is {total} bytes, not a whole number of {width}x{height} "
                        f"{depth}-bit 4:2:0 frames ({fb} bytes each): check --size and "
                        "--pix-fmt")
    return {"name": sequence_name(path), "file": glob.escape(os.path.abspath(path)),
            "width": width,
            "height": height, "fps": float(fps or 25.0), "bit_depth": depth,
            "frames": total // fb}


def parse_size(text: str) -> tuple[int, int]:
    """'1280x720' as (1280, 720)."""
    match = re.fullmatch(r"(\d+)x(\d+)", text.strip())
    if not match or not all(int(v) > 0 for v in match.groups()):
        raise UlvrError(f"--size '{text}': write WIDTHxHEIGHT, e.g. 1280x720")
    return int(match.group(1)), int(match.group(2))


def file_entry(path: str, relative_to: str | None = None) -> dict:
    """A manifest entry for a video that describes itself (everything but raw .yuv)."""
    info = read_header(path)
    shown = os.path.relpath(path, relative_to) if relative_to else os.path.abspath(path)
    shown = glob.escape(shown)   # a manifest's file is a pattern: [1] in a name is literal
    return {"name": sequence_name(path), "file": shown, "width": info.width,
            "height": info.height, "fps": round(info.fps, 3), "frames": info.frames}


def input_manifest(paths: list[str], size: str | None = None, fps: float | None = None,
                   pix_fmt: str | None = None) -> dict:
    """The manifest `ulvr run --input` evaluates: one sequence per file, named by its stem."""
    if (size or pix_fmt) and not any(p.lower().endswith(".yuv") for p in paths):
        raise UlvrError("--size and --pix-fmt describe raw .yuv inputs; these files describe "
                        "themselves: drop them")
    entries = []
    for path in paths:
        if not os.path.isfile(path):
            raise UlvrError(f"--input '{path}': no such file")
        raw = path.lower().endswith(".yuv")
        entries.append(raw_entry(path, size, fps, pix_fmt) if raw else file_entry(path))
    _check_unique(entries, "--input")
    return {"name": "input", "description": "videos given with ulvr run --input",
            "root": "manifest", "sequences": entries}


def folder_manifest(folder: str, skipped: list[str] | None = None) -> dict:
    """The manifest `ulvr dataset init DIR` writes: every usable video in DIR, paths relative
    to it; a file that cannot be evaluated is left out and named, with why, in `skipped`."""
    if not os.path.isdir(folder):
        raise UlvrError(f"'{folder}' is not a folder: give the folder that holds your videos")
    files = sorted(str(p) for p in Path(folder).iterdir()
                   if p.is_file() and p.suffix.lower() in VIDEO_SUFFIXES)
    entries = []
    for path in files:
        try:
            if path.lower().endswith(".yuv"):
                entry = raw_entry(path, None, None, None)
                entry["file"] = glob.escape(os.path.basename(path))
            else:
                entry = file_entry(path, relative_to=folder)
        except UlvrError as exc:
            if skipped is None:
                raise
            skipped.append(str(exc))
            continue
        entries.append(entry)
    if not entries:
        raise UlvrError(f"'{folder}' holds no video the harness can evaluate "
                        f"({', '.join(VIDEO_SUFFIXES)})" + (f"; {skipped[0]}" if skipped else ""))
    _check_unique(entries, f"'{folder}'")
    name = sequence_name(os.path.abspath(folder) + ".x")
    where = os.path.basename(os.path.abspath(folder))
    return {"name": name, "description": f"the videos in {where}", "root": "manifest",
            "sequences": entries}


def _check_unique(entries: list[dict], where: str) -> None:
    names = [e["name"] for e in entries]
    twice = sorted({n for n in names if names.count(n) > 1})
    if twice:
        raise UlvrError(f"{where}: two files have the stem {', '.join(twice)}; rename one "
                        "(a sequence is named by its file's stem)")
