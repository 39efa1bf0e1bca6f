"""The one error type the CLI turns into a clear one-line message and a non-zero exit."""


class UlvrError(Exception):
    """A user-facing error: names the thing that is wrong and what to do about it."""
