"""Names that become paths (datasets, sequences, methods, rate points): one pattern, checked
where each enters, so that no name can place a file outside the store."""

from __future__ import annotations

import re

from benchmark.core.errors import UlvrError

# letters, digits and -_. (':' in a method name, as in external:NAME, becomes '_' in paths);
# never '..', never a leading '.' or '-'
SAFE_NAME = re.compile(r"(?!.*\.\.)[A-Za-z0-9_][A-Za-z0-9_.:-]{0,127}")


def check_name(what: str, name: str, where: str = "") -> str:
    """`name` when it matches SAFE_NAME; else a one-line error naming it, and where it came from."""
    if not isinstance(name, str) or not SAFE_NAME.fullmatch(name) or \
            (":" in name and what != "method"):
        origin = f" (from {where})" if where else ""
        raise UlvrError(f"{what} name {name!r}{origin} is not allowed: use letters, digits and "
                        "-_. only (at most 128, no '..', not starting with '.' or '-')")
    return name
