"""The method protocol: everything a plugin author imports, and nothing else.

`Method` (subclass it), `RatePoint`, `Encoded`, `Decoded`, `MethodKind`, `Availability`,
`register` and the session (what a decoder knows out of band). Frames travel as
`benchmark.data.video_io.FrameChunk`.

May import: `benchmark.core` and `benchmark.data`.
"""

from benchmark.protocol.method import Method
from benchmark.protocol.registry import create_method, method_names, register, register_prefix
from benchmark.protocol.session import (
    SESSION_KEYS,
    checked_session,
    session_for,
    session_rate_point,
)
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

__all__ = ["SESSION_KEYS", "Availability", "Decoded", "Encoded", "Method", "MethodKind",
           "RatePoint", "Reconstruction", "checked_session", "combine", "config_digest",
           "create_method", "method_names", "register", "register_prefix", "session_for",
           "session_rate_point"]
