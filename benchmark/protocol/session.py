"""The session: what a real receiver knows out of band, and nothing else.

A decoder gets the stream files and this small JSON object: the geometry, frame count, frame
rate, bit depth and rate point of the job, built by the harness from the manifest and the rate
point (never by the method). Anything else the decoder needs must travel in a counted stream.
An encoder may name session keys it relies on (`Encoded.session`); each must be one of these,
with the value the harness gives it, or the job fails: data smuggled past the rate is refused.
"""

from __future__ import annotations

import json

from benchmark.core.errors import UlvrError
from benchmark.data.manifest import Sequence
from benchmark.protocol.types import RatePoint

SESSION_KEYS = ("width", "height", "frames", "fps", "bit_depth", "rate_point")


def session_for(sequence: Sequence, rate_point: RatePoint) -> dict:
    """The session of one job, as the harness (not the method) knows it."""
    return {"width": sequence.width, "height": sequence.height, "frames": sequence.num_frames,
            "fps": sequence.fps, "bit_depth": sequence.bit_depth,
            "rate_point": json.loads(json.dumps(rate_point.to_dict()))}


def checked_session(claimed: dict, sequence: Sequence, rate_point: RatePoint,
                    method: str) -> dict:
    """The harness's session, after checking that what the encoder put in its own holds only
    allowed keys with the harness's values (a mismatch is a smuggling attempt or a bug)."""
    session = session_for(sequence, rate_point)
    for key, value in claimed.items():
        if key not in SESSION_KEYS:
            raise UlvrError(f"{method}: session key '{key}' is not allowed (allowed: "
                            f"{', '.join(SESSION_KEYS)}); anything else the decoder needs must "
                            "be a counted stream")
        if json.loads(json.dumps(value)) != session[key]:
            raise UlvrError(f"{method}: session '{key}' = {value!r} differs from the harness's "
                            f"{session[key]!r}; the session is the harness's, not the method's")
    return session


def session_rate_point(session: dict) -> RatePoint:
    """The rate point a session names."""
    point = session["rate_point"]
    return RatePoint(point["label"], dict(point.get("params", {})))
