"""The method registry: names to adapters, found through the `ulvr.methods` entry points.

Every method, built-in or not, is declared under the entry-point group `ulvr.methods` (the
harness's own in its pyproject.toml; a user's package in its own, see `examples/plugin/`) and
its module is imported only when the method is asked for. Modules named in $ULVR_PLUGINS
(comma-separated) register methods too. A family of methods is declared by a name ending in ':'
(`external:` for `external:<name>`, see `baselines/external.py`).
"""

from __future__ import annotations

from collections.abc import Callable

from benchmark.core.errors import UlvrError
from benchmark.core.plugins import (
    Registry,
    broken_plugins_note,
    check_options,
    load_plugin_modules,
)
from benchmark.protocol.method import Method

ENTRY_POINT_GROUP = "ulvr.methods"   # [project.entry-points."ulvr.methods"] name = "mod:Class"
METHODS = Registry("method", ENTRY_POINT_GROUP, base=Method)


def register(name: str) -> Callable:
    """Class decorator (or factory decorator) adding a method to the registry under `name`."""
    return METHODS.register(name)


def register_prefix(prefix: str, names: Callable[[], list[str]]) -> Callable:
    """Class decorator for a family of methods named `prefix` + anything: create_method calls
    factory(rest_of_name, **options); `names()` lists the full names found on this machine."""
    return METHODS.register_family(prefix, names)


def method_names(skipped: list[str] | None = None) -> list[str]:
    """Names of all declared methods and of prefixed families' members found here (every
    module imported); a plugin that fails to load is left out (its error in `skipped`)."""
    load_plugin_modules()
    return METHODS.names(skipped)


def create_method(name: str, **options: object) -> Method:
    """Instantiate a method by name, importing only the module that declares it."""
    load_plugin_modules()
    factory, prefix = METHODS.find(name)
    if factory is None:
        raise UlvrError(f"unknown method '{name}': 'ulvr list methods' shows the available "
                        f"ones{broken_plugins_note()}")
    declared = getattr(factory, "option_names", None)   # plain factories declare none
    if declared is not None:
        check_options(f"method '{name}'", options, declared())
    method = factory(**options) if prefix is None else factory(name[len(prefix):], **options)
    method.name = name
    return method
