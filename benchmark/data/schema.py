"""The manifest schema: one table of the keys a dataset manifest and each of its sequences may
have, and a validator that names the first wrong key and its file in one line, before any job
runs (docs/datasets.md, "Manifest keys", is written from these tables)."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from benchmark.core.errors import UlvrError

ROOTS = ("data", "package", "manifest")   # where `file` is looked up (see Sequence docs)


@dataclass(frozen=True)
class Key:
    """One manifest key: its type, whether it must be there, and what it means (for errors)."""

    types: tuple[type, ...]
    required: bool
    meaning: str
    check: Callable[[Any], bool] | None = None

    def accepts(self, value: Any) -> bool:
        if isinstance(value, bool) and bool not in self.types:   # YAML `yes` is not a number
            return False
        return isinstance(value, self.types) and (self.check is None or self.check(value))


def _positive(value: Any) -> bool:
    return value > 0


def _size_pair(value: Any) -> bool:
    return len(value) == 2 and all(isinstance(v, int) and not isinstance(v, bool) and v > 0
                                   for v in value)


TEXT, WHOLE, NUMBER = (str,), (int,), (int, float)

MANIFEST_KEYS: dict[str, Key] = {
    "name": Key(TEXT, True, "the dataset's name (letters, digits, -_.)"),
    "description": Key(TEXT, False, "one line shown by 'ulvr list datasets'"),
    "root": Key(TEXT, False, f"where files are: one of {', '.join(ROOTS)} (default data: "
                "under --data-root or $ULVR_DATA)", lambda v: v in ROOTS),
    "subdir": Key(TEXT, False, "a folder under the data root that holds the files"),
    "sequences": Key((list,), True, "a list of sequences, each a mapping", lambda v: len(v) > 0),
}

SEQUENCE_KEYS: dict[str, Key] = {
    "name": Key(TEXT, True, "the sequence's name (letters, digits, -_.)"),
    "file": Key(TEXT, True, "the video file (a glob pattern under a data root; "
                "PACKAGE:NAME for root: package)"),
    "width": Key(WHOLE, False, "frame width in pixels (default: the file's header)", _positive),
    "height": Key(WHOLE, False, "frame height in pixels (default: the file's header)",
                  _positive),
    "fps": Key(NUMBER, False, "frames per second (default: the file's header or name)",
               _positive),
    "frames": Key(WHOLE, False, "frames to evaluate from the start (default: the whole file)",
                  _positive),
    "bit_depth": Key(WHOLE, False, "8 or 10 (raw .yuv only; default 8 or from its name)",
                     lambda v: v in (8, 10)),
    "resize": Key((list,), False, "[width, height] to scale to before a centre crop to "
                  "width x height", _size_pair),
    "group": Key(TEXT, False, "a class label, e.g. B for HEVC class B"),
    "segments": Key((dict,), False, "named segments (eval, train, val), each "
                    "{start: FRAME, frames: N}"),
}

SEGMENT_KEYS: dict[str, Key] = {
    "start": Key(WHOLE, True, "first frame of the segment", lambda v: v >= 0),
    "frames": Key(WHOLE, True, "number of frames", _positive),
}


def validate_manifest(doc: Any, source: str) -> dict:
    """`doc` (a parsed manifest) when it follows the schema; else a one-line UlvrError naming
    the key, the sequence and `source` (the file)."""
    if not isinstance(doc, dict):
        raise UlvrError(f"{source}: a manifest is a mapping with keys name and sequences, not "
                        f"a {_kind(doc)}; see docs/datasets.md")
    _check_keys(doc, MANIFEST_KEYS, source, "the manifest")
    for i, entry in enumerate(doc["sequences"], 1):
        where = f"sequence #{i}"
        if not isinstance(entry, dict):
            raise UlvrError(f"{source}: {where} is a {_kind(entry)}, not a mapping with keys "
                            "name and file")
        if isinstance(entry.get("name"), str):
            where = f"sequence '{entry['name']}'"
        _check_keys(entry, SEQUENCE_KEYS, source, where)
        for label, segment in entry.get("segments", {}).items():
            if not isinstance(segment, dict):
                raise UlvrError(f"{source}: {where}, segment '{label}' is a {_kind(segment)},"
                                " not {start: FRAME, frames: N}")
            _check_keys(segment, SEGMENT_KEYS, source, f"{where}, segment '{label}'")
    return doc


def _check_keys(mapping: dict, keys: dict[str, Key], source: str, where: str) -> None:
    for name in mapping:
        if name not in keys:
            raise UlvrError(f"{source}: {where} has the unknown key '{name}': the keys are "
                            f"{', '.join(keys)}")
    for name, key in keys.items():
        if name not in mapping:
            if key.required:
                raise UlvrError(f"{source}: {where} has no '{name}' ({key.meaning})")
        elif not key.accepts(mapping[name]):
            raise UlvrError(f"{source}: {where}: '{name}' is {mapping[name]!r}; it should be "
                            f"{key.meaning}")


def _kind(value: Any) -> str:
    return {list: "list", str: "string", type(None): "empty document"}.get(type(value),
                                                                         type(value).__name__)
