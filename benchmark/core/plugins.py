"""Plugin loading: the one registry class behind methods, metrics, executors and commands.

Every pluggable thing is found by name: first among those already registered (a module's
decorator ran), then under its entry-point group (`ulvr.methods`, `ulvr.metrics`,
`ulvr.executors`, `ulvr.commands`), whose module is imported only when that name is asked for,
so a run of the codecs never imports torch. Options are checked by one validator: the keyword
arguments a constructor takes are the only options a user may pass it.
"""

from __future__ import annotations

import importlib
import inspect
import os
from collections.abc import Callable, Iterable
from typing import Any

from benchmark.core.errors import UlvrError

PLUGIN_MODULES_ENV = "ULVR_PLUGINS"   # comma-separated modules whose import registers methods
_imported_modules: set[str] = set()
_modules_override: list[str] | None = None   # a sandboxed worker's modules (set_plugin_modules)


def entry_points(group: str) -> dict:
    """The entry points of an `ulvr.*` group by name (read from installed metadata, not
    loaded)."""
    from importlib.metadata import entry_points as installed

    return {ep.name: ep for ep in installed(group=group)}


def package_of(ep) -> str:
    """The distribution that declares an entry point, for error messages."""
    return ep.dist.name if getattr(ep, "dist", None) else "an installed package"


def load_entry_point(ep, kind: str) -> object:
    """Load one entry point; a failure is a one-line error naming it and its package."""
    try:
        return ep.load()
    except Exception as exc:   # any error of a third party's import: name the plugin
        raise UlvrError(f"{kind} plugin '{ep.name}' ({ep.value}, from {package_of(ep)}) failed "
                        f"to import: {type(exc).__name__}: {exc}") from exc


def plugin_modules() -> list[str]:
    """The plugin modules to import: $ULVR_PLUGINS's comma-separated names, or those a
    sandboxed worker was given."""
    if _modules_override is not None:
        return list(_modules_override)
    return [m.strip() for m in os.environ.get(PLUGIN_MODULES_ENV, "").split(",") if m.strip()]


def set_plugin_modules(modules: list[str]) -> None:
    """Fix the plugin modules of this process (a sandboxed worker, whose environment is not
    the runner's)."""
    global _modules_override
    _modules_override = list(modules)


BROKEN_MODULES: dict[str, str] = {}   # plugin module -> why it did not import (one line)


def load_plugin_modules() -> None:
    """Import the plugin modules (once each); their decorators register. A module that fails
    to import is named and skipped (a warning on stderr, once): the other methods still work,
    and asking for one of its methods says why it is missing (`broken_plugins_note`)."""
    import sys

    for module in plugin_modules():
        if module in _imported_modules:
            continue
        _imported_modules.add(module)
        try:
            importlib.import_module(module)
        except Exception as exc:   # a third party's import: name it, skip it, go on
            if isinstance(exc, ModuleNotFoundError) and exc.name == module.split(".")[0]:
                why = (f"plugin module '{module}' ({PLUGIN_MODULES_ENV}) was not found: put its "
                       "folder on PYTHONPATH (PYTHONPATH=. when it is in this folder), or "
                       "install it with an entry point in the group ulvr.methods")
            else:
                why = (f"plugin module '{module}' ({PLUGIN_MODULES_ENV}) failed to import, "
                       f"skipped: {type(exc).__name__}: {exc}")
            BROKEN_MODULES[module] = " ".join(why.split())
            print(f"ulvr: warning: {BROKEN_MODULES[module]}", file=sys.stderr)


def broken_plugins_note() -> str:
    """What an 'unknown name' error adds when a plugin module did not import."""
    return "".join(f"; {why}" for why in BROKEN_MODULES.values())


def constructor_options(cls: type, stop: type = object,
                        skip: Iterable[str] = ()) -> tuple[str, ...]:
    """The options a class takes: the named keyword arguments of its constructor and of the
    constructors it passes `**options` on to, up to (not including) `stop`'s."""
    names: list[str] = []
    skipped = {"self", *skip}
    for klass in cls.__mro__:
        if klass is stop or klass is object:
            break
        if "__init__" not in vars(klass):
            continue
        params = inspect.signature(klass.__init__).parameters.values()
        names += [p.name for p in params if p.name not in skipped and p.kind in
                  (p.POSITIONAL_OR_KEYWORD, p.KEYWORD_ONLY) and p.name not in names]
        if not any(p.kind == p.VAR_KEYWORD for p in params):
            break
    return tuple(names)


def check_options(owner: str, options: Iterable[str], valid: Iterable[str],
                  spell: Callable[[str], str] = str) -> None:
    """Refuse an option `owner` does not take, in one line that names the ones it does
    (`spell` writes a name as the user typed it, e.g. as a command-line flag)."""
    valid = list(valid)
    unknown = sorted(set(options) - set(valid))
    if unknown:
        raise UlvrError(f"{owner} has no option '{spell(unknown[0])}': its options are "
                        f"{', '.join(spell(v) for v in valid) or 'none'}")


class Registry:
    """Names to factories of one kind of plugin, filled by decorators and, lazily, from an
    entry-point group. A name ending in ':' declares a family (`external:` for
    `external:<name>`): its factory takes the rest of the name."""

    def __init__(self, kind: str, group: str, base: type | None = None,
                 adopt: Callable[[str, Any], None] | None = None) -> None:
        self.kind, self.group, self.base = kind, group, base
        self.entries: dict[str, Any] = {}
        self.families: dict[str, tuple[Any, Callable[[], list[str]]]] = {}
        self._adopt = adopt

    def register(self, name: str) -> Callable[[Any], Any]:
        """Decorator adding a factory under `name`; a second one of the same name is a bug."""

        def wrap(factory: Any) -> Any:
            if name in self.entries:
                raise ValueError(f"{self.kind} '{name}' is registered twice")
            self.entries[name] = factory
            return factory

        return wrap

    def register_family(self, prefix: str, names: Callable[[], list[str]]) -> Callable:
        """Decorator for a family named `prefix` + anything; `names()` lists its members here."""

        def wrap(factory: Any) -> Any:
            if prefix in self.families:
                raise ValueError(f"{self.kind} prefix '{prefix}' is registered twice")
            self.families[prefix] = (factory, names)
            return factory

        return wrap

    def declared(self) -> dict:
        """The entry points of this registry's group, by name (not loaded)."""
        return entry_points(self.group)

    def load(self, name: str) -> bool:
        """Register what the entry point `name` (or the family whose prefix starts it) declares:
        a class, or a module whose import registers it; False when nothing declares it."""
        points = self.declared()
        ep = points.get(name) or next((ep for key, ep in points.items()
                                       if key.endswith(":") and name.startswith(key)), None)
        if ep is None:
            return False
        if ep.name in self.entries or ep.name in self.families:
            return True
        loaded = load_entry_point(ep, self.kind)
        if ep.name in self.entries or ep.name in self.families:
            return True
        if self.base is not None and not (isinstance(loaded, type)
                                          and issubclass(loaded, self.base)
                                          and not ep.name.endswith(":")):
            raise UlvrError(f"{self.kind} plugin '{ep.name}' ({ep.value}, from {package_of(ep)}) "
                            f"is not a {self.base.__name__} subclass and did not register itself")
        if self._adopt is not None:
            self._adopt(ep.name, loaded)
        else:
            self.register(ep.name)(loaded)
        return True

    def names(self, skipped: list[str] | None = None) -> list[str]:
        """Every name registered or declared (each declared one loaded, families' members
        listed); a plugin that fails to load is left out, its error added to `skipped`."""
        for name in self.declared():
            try:
                self.load(name)
            except UlvrError as exc:
                if skipped is None:
                    raise
                skipped.append(str(exc))
        return sorted({*self.entries, *(n for _, names in self.families.values() for n in names())})

    def declared_names(self) -> list[str]:
        """Names registered or declared, without loading anything."""
        return sorted({*self.entries, *self.declared()})

    def find(self, name: str) -> tuple[Any, str | None]:
        """(factory, family prefix or None) of `name`, loading its entry point if needed; None
        as the factory when nothing declares it."""
        if name not in self.entries:
            self.load(name)
        if name in self.entries:
            return self.entries[name], None
        prefix = next((p for p in self.families if name.startswith(p)), None)
        if prefix is not None:
            return self.families[prefix][0], prefix
        return None, None
