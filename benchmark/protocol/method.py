"""The base class of method adapters: what a plugin author subclasses.

A method turns a sequence and a rate point into stream files (`encode`) and rebuilds frames
from those files and the session alone (`decode`); the harness runs the two apart
(benchmark.execution.isolation). A method's options (`ulvr run --option METHOD.KEY=VALUE`) are
the keyword arguments of its constructor (`Method.option_names`).
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from collections.abc import Callable
from pathlib import Path

from benchmark.core.errors import UlvrError
from benchmark.core.plugins import constructor_options
from benchmark.data.manifest import Sequence
from benchmark.protocol.session import checked_session
from benchmark.protocol.types import (
    Availability,
    Decoded,
    Encoded,
    MethodKind,
    RatePoint,
    Reconstruction,
    combine,
    config_digest,
)

# decodes an encoder's stream files with a session elsewhere (the isolated worker)
Decoder = Callable[[dict[str, Path], dict], Decoded]


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
    # the stream names encode() may return (a fixed, short list: the harness refuses any
    # other), those of them that are parameter sets (out of band; left out of the payload
    # rate; check-method checks they depend on the rate point alone), and the environment
    # variables its encoder and decoder need (their workers get these and the harness's only)
    stream_names: tuple[str, ...] = ("video",)
    parameter_set_streams: tuple[str, ...] = ()
    environment: tuple[str, ...] = ()

    def __init__(self, **options: object) -> None:
        self.options = options

    @abstractmethod
    def rate_points(self) -> list[RatePoint]:
        """The rate points run by default."""

    def encode(self, sequence: Sequence, rate_point: RatePoint, workdir: Path) -> Encoded:
        """Encode one sequence at one rate point, writing its stream files under workdir."""
        raise NotImplementedError(f"method '{self.name}' has no encode(): it implements run()")

    def decode(self, streams: dict[str, Path], session: dict, workdir: Path) -> Decoded:
        """Rebuild the frames from the stream files and the session (benchmark.protocol.session: the
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

    def run(self, sequence: Sequence, rate_point: RatePoint, workdir: Path,
            decoder: Decoder | None = None) -> Reconstruction:
        """Encode one sequence at one rate point, writing bitstreams under workdir, and decode
        it: with `decoder` (the harness's isolated worker) when given, else in this process
        (`--isolation none`, and a method that calls another one's codec)."""
        encoded = self.encode(sequence, rate_point, workdir)
        session = checked_session(encoded.session, sequence, rate_point, self.name)
        if decoder is not None:
            return combine(encoded, decoder(dict(encoded.streams), session))
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
        return constructor_options(cls, stop=Method)

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
