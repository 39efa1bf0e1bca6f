"""Method adapter protocol and the registry that maps method names to adapters.

A method turns a sequence and a rate point into a `Reconstruction`: the bytes of every stream
it sends, its decoded frames (streamed) and timings. Adapters live in `baselines/` and
`methods/`. Every method, built-in or not, is declared under the entry-point group `ulvr.methods`
(the harness's own in its pyproject.toml; a user's package in its own, see `examples/plugin/`)
and its module is imported only when the method is asked for, so a run of the codecs never
imports torch. Modules named in $ULVR_PLUGINS (comma-separated) still register methods too. A
family of methods is declared by a name ending in ':' (`external:` for `external:<name>`, see
`baselines/external.py`).

A method's options (`ulvr run --option METHOD.KEY=VALUE`) are the keyword arguments of its
constructor (`Method.option_names`); any other name is refused with the valid ones.
"""

from __future__ import annotations

import hashlib
import importlib
import inspect
import json
import os
from abc import ABC, abstractmethod
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from enum import StrEnum
from pathlib import Path

from benchmark.errors import UlvrError
from benchmark.manifest import Sequence
from benchmark.video_io import FrameChunk


class MethodKind(StrEnum):
    """The baseline classes the paper compares, plus the proposed method and external results."""

    CLASSICAL = "classical"
    NEURAL = "neural"
    GENERATIVE = "generative"
    SEMANTIC = "semantic"
    PROPOSED = "proposed"
    EXTERNAL = "external"


@dataclass(frozen=True)
class RatePoint:
    """One operating point of a method: a label and the parameters that set it."""

    label: str
    params: dict = field(default_factory=dict)

    def to_dict(self) -> dict:
        return {"label": self.label, "params": dict(self.params)}


@dataclass(frozen=True)
class Availability:
    """Whether a method can run here, and if not, why and what to do."""

    ok: bool
    reason: str = ""


@dataclass
class Reconstruction:
    """What a method produced for one job. `frames` is a one-shot iterator over decoded chunks;
    `timings` may gain entries (e.g. decode time) while the frames are consumed."""

    streams: dict[str, Path]
    frames: Iterator[FrameChunk]
    timings: dict[str, float] = field(default_factory=dict)
    commands: list[str] = field(default_factory=list)
    info: dict = field(default_factory=dict)
    # bits of streams reported but not written here (results published elsewhere: external:*)
    declared_bits: dict[str, int] = field(default_factory=dict)

    def stream_bits(self) -> dict[str, int]:
        """Bits of every stream, from the size of the bytes actually written, plus any
        declared ones."""
        bits = {name: 8 * os.path.getsize(path) for name, path in self.streams.items()}
        return {**bits, **self.declared_bits}


@dataclass
class Encoded:
    """What a method's encoder sends for one job: the stream files (every bit the decoder may
    use) and what it measured. The decoder gets these files and the harness's session only."""

    streams: dict[str, Path]
    session: dict = field(default_factory=dict)   # keys it relies on; checked (benchmark.session)
    timings: dict[str, float] = field(default_factory=dict)
    commands: list[str] = field(default_factory=list)
    info: dict = field(default_factory=dict)


@dataclass
class Decoded:
    """What a method's decoder rebuilt from the streams: frames streamed in chunks (a one-shot
    iterator) and timings, which may gain entries while the frames are consumed."""

    frames: Iterator[FrameChunk]
    timings: dict[str, float] = field(default_factory=dict)
    commands: list[str] = field(default_factory=list)
    info: dict = field(default_factory=dict)


class Method(ABC):
    """Base class of method adapters: subclasses set the class attributes and implement
    encode() and decode() (the decoder then runs isolated, on the stream files alone), or run()
    for a method with no decoder of its own (external results)."""

    name: str = ""
    kind: MethodKind = MethodKind.CLASSICAL
    causal: bool = True
    description: str = ""
    device: str = "cpu"     # set by the runner from --device; learned methods run their nets there
    gpu: bool = False       # runs networks on --device: its jobs ask for a GPU under cuda
    cpus: int = 1           # CPUs one job uses (a distributed run reserves them)
    # another decoder of the streams of the named method (its teacher, its trivial receiver):
    # reports single out the proposed entry and label these as receivers of the same bits
    receiver_of: str = ""

    def __init__(self, **options: object) -> None:
        self.options = options

    @abstractmethod
    def rate_points(self) -> list[RatePoint]:
        """The rate points run by default."""

    def encode(self, sequence: Sequence, rate_point: RatePoint, workdir: Path) -> Encoded:
        """Encode one sequence at one rate point, writing its stream files under workdir."""
        raise NotImplementedError(f"method '{self.name}' has no encode(): it implements run()")

    def decode(self, streams: dict[str, Path], session: dict, workdir: Path) -> Decoded:
        """Rebuild the frames from the stream files and the session (benchmark.session: the
        geometry, frame count, fps, bit depth and rate point) alone."""
        raise NotImplementedError(f"method '{self.name}' has no decode(): it implements run()")

    def weights_files(self) -> list[Path]:
        """Files outside the installed packages and the harness that decode() reads (a
        checkpoint passed as an option): the isolated decoder may read these too."""
        return []

    @classmethod
    def splits(cls) -> bool:
        """Whether encode and decode are separate (so the decoder can run isolated)."""
        return cls.encode is not Method.encode and cls.decode is not Method.decode

    def run(self, sequence: Sequence, rate_point: RatePoint, workdir: Path) -> Reconstruction:
        """Encode and decode one sequence at one rate point in this process, writing bitstreams
        under workdir (`--isolation none`, and a method that calls another one's codec)."""
        from benchmark.session import checked_session

        encoded = self.encode(sequence, rate_point, workdir)
        session = checked_session(encoded.session, sequence, rate_point, self.name)
        decode_dir = workdir / "decode"
        decode_dir.mkdir(parents=True, exist_ok=True)
        decoded = self.decode(dict(encoded.streams), session, decode_dir)
        return combine(encoded, decoded)

    def availability(self) -> Availability:
        """Whether this method can run on this machine; override to check weights or binaries."""
        return Availability(True)

    def config(self) -> dict:
        """Everything that changes this method's output; hashed into job keys."""
        return {"name": self.name, "options": self.options}

    def config_hash(self) -> str:
        """Short stable hash of config()."""
        return config_digest(self.config())

    @classmethod
    def option_names(cls) -> tuple[str, ...]:
        """The options this method takes: the named keyword arguments of its constructor and
        of the constructors it passes `**options` on to (up to, not including, Method's)."""
        names: list[str] = []
        for klass in cls.__mro__:
            if klass is Method or "__init__" not in vars(klass):
                continue
            params = inspect.signature(klass.__init__).parameters.values()
            names += [p.name for p in params if p.name != "self" and p.kind in
                      (p.POSITIONAL_OR_KEYWORD, p.KEYWORD_ONLY) and p.name not in names]
            if not any(p.kind == p.VAR_KEYWORD for p in params):
                break
        return tuple(names)

    def versions(self) -> dict:
        """Versions of the software and weights this method depends on (recorded per job)."""
        return {}

    def parse_rate_point(self, label: str) -> RatePoint | None:
        """The rate point a label names outside the defaults (None: labels are defaults only).
        Methods whose points follow a naming scheme override it, so a suite can run, e.g., a
        native-resolution point that the embedded clips do not use."""
        return None

    def find_rate_point(self, label: str) -> RatePoint:
        """A rate point by its label: a default one, else one the label's scheme names."""
        for rp in self.rate_points():
            if rp.label == label:
                return rp
        parsed = self.parse_rate_point(label)
        if parsed is not None:
            return parsed
        labels = ", ".join(rp.label for rp in self.rate_points())
        raise UlvrError(f"method '{self.name}' has no rate point '{label}': choose from {labels}")


def combine(encoded: Encoded, decoded: Decoded) -> Reconstruction:
    """One job's Reconstruction from its encoder's and decoder's outputs. Its timings, info and
    commands are the decoder's own objects, the encoder's entries added, so what the decoder
    adds while its frames stream (an isolated decoder reports at the end) still arrives."""
    for key, value in encoded.timings.items():
        decoded.timings.setdefault(key, value)
    for key, value in encoded.info.items():
        decoded.info.setdefault(key, value)
    decoded.commands[:0] = encoded.commands
    return Reconstruction(streams=encoded.streams, frames=decoded.frames,
                          timings=decoded.timings, commands=decoded.commands,
                          info=decoded.info)


def config_digest(config: dict) -> str:
    """Short stable hash of a method configuration (what `config_hash` returns)."""
    blob = json.dumps(config, sort_keys=True, default=str).encode()
    return hashlib.sha256(blob).hexdigest()[:12]


def check_options(name: str, factory: Callable[..., Method], options: dict) -> None:
    """Refuse options the method does not take, naming the ones it does (factories that are
    not Method classes declare none and are not checked)."""
    declared = getattr(factory, "option_names", None)
    if declared is None:
        return
    valid = declared()
    unknown = sorted(set(options) - set(valid))
    if unknown:
        raise UlvrError(f"method '{name}' has no option '{unknown[0]}': its options are "
                        f"{', '.join(valid) or 'none'}")


_REGISTRY: dict[str, Callable[..., Method]] = {}
_PREFIXES: dict[str, tuple[Callable[..., Method], Callable[[], list[str]]]] = {}
_imported: set[str] = set()


def register(name: str) -> Callable:
    """Class decorator (or factory decorator) adding a method to the registry under `name`."""

    def wrap(factory: Callable[..., Method]) -> Callable[..., Method]:
        if name in _REGISTRY:
            raise ValueError(f"method '{name}' is registered twice")
        _REGISTRY[name] = factory
        return factory

    return wrap


def register_prefix(prefix: str, names: Callable[[], list[str]]) -> Callable:
    """Class decorator for a family of methods named `prefix` + anything: create_method calls
    factory(rest_of_name, **options); `names()` lists the full names found on this machine."""

    def wrap(factory: Callable[..., Method]) -> Callable[..., Method]:
        if prefix in _PREFIXES:
            raise ValueError(f"method prefix '{prefix}' is registered twice")
        _PREFIXES[prefix] = (factory, names)
        return factory

    return wrap


def _load_plugin_modules() -> None:
    """Import the modules named in $ULVR_PLUGINS (once each); they register methods."""
    plugins = [m.strip() for m in os.environ.get("ULVR_PLUGINS", "").split(",") if m.strip()]
    for module in plugins:
        if module in _imported:
            continue
        _imported.add(module)
        try:
            importlib.import_module(module)
        except ImportError as exc:
            raise UlvrError(f"cannot import method module '{module}': {exc}") from exc


ENTRY_POINT_GROUP = "ulvr.methods"   # [project.entry-points."ulvr.methods"] name = "mod:Class"


def entry_points(group: str) -> dict:
    """The entry points of an `ulvr.*` group by name (read from installed metadata, not
    loaded)."""
    from importlib.metadata import entry_points as installed

    return {ep.name: ep for ep in installed(group=group)}


def _package(ep) -> str:
    """The distribution that declares an entry point, for error messages."""
    return ep.dist.name if getattr(ep, "dist", None) else "an installed package"


def load_entry_point(ep, kind: str) -> object:
    """Load one entry point; a failure is a one-line error naming it and its package."""
    package = _package(ep)
    try:
        return ep.load()
    except Exception as exc:   # any error of a third party's import: name the plugin
        raise UlvrError(f"{kind} plugin '{ep.name}' ({ep.value}, from {package}) failed to "
                        f"import: {type(exc).__name__}: {exc}") from exc


def _load_method(name: str) -> bool:
    """Register the method declared under `name` (or the family whose prefix starts it): its
    class, or a module whose import registers it; False when nothing declares it."""
    points = entry_points(ENTRY_POINT_GROUP)
    ep = points.get(name) or next((ep for key, ep in points.items()
                                   if key.endswith(":") and name.startswith(key)), None)
    if ep is None:
        return False
    if ep.name in _REGISTRY or ep.name in _PREFIXES:
        return True
    loaded = load_entry_point(ep, "method")
    if ep.name not in _REGISTRY and ep.name not in _PREFIXES:
        if not (isinstance(loaded, type) and issubclass(loaded, Method)) or ep.name.endswith(":"):
            raise UlvrError(f"method plugin '{ep.name}' ({ep.value}, from {_package(ep)}) is not a "
                            "Method subclass and did not register itself")
        register(ep.name)(loaded)
    return True


def method_names(skipped: list[str] | None = None) -> list[str]:
    """Names of all declared methods and of prefixed families' members found here (every
    module imported); a plugin that fails to load is left out (its error in `skipped`)."""
    _load_plugin_modules()
    for name in entry_points(ENTRY_POINT_GROUP):
        try:
            _load_method(name)
        except UlvrError as exc:
            if skipped is None:
                raise
            skipped.append(str(exc))
    return sorted({*_REGISTRY, *(n for _, names in _PREFIXES.values() for n in names())})


def create_method(name: str, **options: object) -> Method:
    """Instantiate a method by name, importing only the module that declares it."""
    _load_plugin_modules()
    if name not in _REGISTRY:
        _load_method(name)
    prefix = next((p for p in _PREFIXES if name.startswith(p)), None)
    if name in _REGISTRY:
        check_options(name, _REGISTRY[name], options)
        method = _REGISTRY[name](**options)
    elif prefix is not None:
        check_options(name, _PREFIXES[prefix][0], options)
        method = _PREFIXES[prefix][0](name[len(prefix):], **options)
    else:
        raise UlvrError(f"unknown method '{name}': 'ulvr list methods' shows the available ones")
    method.name = name
    return method
