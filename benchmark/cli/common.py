"""What every command shares: argument types, option parsing, and the default method set and
results folder of a run."""

from __future__ import annotations

import argparse
from collections.abc import Callable
from pathlib import Path

from benchmark.core.errors import UlvrError

DEFAULT_OUT = "results/embedded"


def csv_list(text: str) -> list[str]:
    return [t.strip() for t in text.split(",") if t.strip()]


def bpp_list(text: str) -> list[float]:
    """Comma-separated positive bpp values (argparse type: a bad value is a usage error)."""
    try:
        values = [float(t) for t in csv_list(text)]
    except ValueError:
        raise argparse.ArgumentTypeError(f"'{text}' is not a list of numbers") from None
    if not values or min(values) <= 0:
        raise argparse.ArgumentTypeError(f"'{text}': give positive bpp values, e.g. 0.001,0.01")
    return sorted(values)


def bounded(convert: Callable[[str], float], noun: str, lowest: float,
             strict: bool = False) -> Callable[[str], float]:
    """An argparse type: `convert`ed text that is at least `lowest` (above it when strict)."""

    def parse(text: str) -> float:
        try:
            value = convert(text)
        except ValueError:
            raise argparse.ArgumentTypeError(f"'{text}' is not {noun}") from None
        if value < lowest or (strict and value == lowest):
            bound = "above" if strict else "at least"
            raise argparse.ArgumentTypeError(f"must be {bound} {lowest:g}, not {text}")
        return value

    return parse


positive_int = bounded(int, "a whole number", 1)      # a count of frames or workers


nonnegative_int = bounded(int, "a whole number", 0)             # e.g. --retries


positive_float = bounded(float, "a number", 0, strict=True)   # a time in seconds
nonnegative_float = bounded(float, "a number", 0)   # a size, 0 for none


def executor_from_args(args: argparse.Namespace):
    """The executor `ulvr run` asked for, with only the options the user gave (an option the
    executor does not take is refused)."""
    from benchmark.execution.executor import create_executor

    given = {"jobs": args.jobs, "timeout": args.timeout, "address": args.address,
             "retries": args.retries, "store_on_workers": args.store_on_workers or None}
    return create_executor(args.executor, **{k: v for k, v in given.items() if v is not None})


def dotted_options(items: list[str] | None, flag: str = "--option",
                    example: str = "causal-diffusion.steps=2") -> dict[str, dict]:
    """Parse repeated `FLAG NAME.KEY=VALUE` into {name: {key: value}} (YAML scalars); a
    checkpoint path is made absolute here, since workers run in folders of their own."""
    import yaml

    options: dict[str, dict] = {}
    for item in items or []:
        head, sep, value = item.partition("=")
        name, dot, key = head.partition(".")
        if not (sep and dot and name and key):
            raise UlvrError(f"bad {flag} '{item}': write NAME.KEY=VALUE, e.g. {example}")
        value = yaml.safe_load(value)
        if key == "checkpoint" and isinstance(value, str):
            value = absolute_path(value)
        options.setdefault(name, {})[key] = value
    return options


def absolute_path(path: str) -> str:
    """`path` from where ulvr was started, as every worker must read it."""
    return str(Path(path).expanduser().absolute())


def check_out_folder(out: str) -> None:
    """Refuse, before anything else is checked, a results folder that is a file or lies under
    one."""
    path = Path(out)
    for part in (path, *path.parents):
        if part.exists():
            if not part.is_dir():
                where = "is a file" if part == path else f"lies under the file '{part}'"
                raise UlvrError(f"--out '{out}' {where}: give a folder (created if missing)")
            return


def make_out_folder(out: str) -> None:
    """Create the results folder and prove it writable (a probe file written and removed),
    once everything else is checked and before any job runs."""
    import tempfile

    path = Path(out)
    try:
        path.mkdir(parents=True, exist_ok=True)
        for folder in (path, path / "records"):
            if folder.is_dir():
                tempfile.TemporaryFile(dir=folder).close()
    except OSError as exc:
        raise UlvrError(f"--out '{out}' cannot be written ({exc.strerror or exc}): give a "
                        "folder you can write") from None


def parse_metric_names(text: str) -> tuple[str, ...]:
    """Comma-separated metric names; `default` stands for the metric table's default set."""
    from benchmark.metrics.table import default_metrics

    names: list[str] = []
    for name in csv_list(text):
        names += default_metrics() if name == "default" else [name]
    return tuple(dict.fromkeys(names))


DEFAULT_METHODS = "x264,x265,vvenc,svtav1,aom"


def methods_and_points(args: argparse.Namespace) -> tuple[list[str], dict[str, list | None]]:
    """The run's methods and each one's rate point labels (None: all): from --suite (with
    --methods: only those of its methods, at its points, e.g. to regenerate one method's jobs
    of a reference), or from --methods and --rate-points (the same labels for every method)."""
    if args.suite is None:
        methods = csv_list(args.methods or DEFAULT_METHODS)
        return methods, rate_points_per_method(args.rate_points, methods)
    from benchmark.execution.suites import get_suite

    if args.rate_points:
        raise UlvrError("--suite sets the rate points: drop --rate-points, or drop --suite")
    suite = get_suite(args.suite)
    methods = csv_list(args.methods) if args.methods else list(suite.methods)
    outside = [m for m in methods if m not in suite.methods]
    if outside:
        raise UlvrError(f"--methods {','.join(outside)}: not in suite '{args.suite}' (its "
                        f"methods: {', '.join(suite.methods)}); drop --suite to run them")
    return methods, {name: suite.rate_points(name) for name in methods}


def rate_points_per_method(text: str | None, methods: list[str]) -> dict[str, list | None]:
    """`--rate-points`: bare labels apply to every method without labels of its own;
    `METHOD=LABEL` items give one method its labels (repeat the method for several)."""
    shared: list[str] = []
    own: dict[str, list[str]] = {}
    for item in csv_list(text) if text else []:
        method, sep, label = item.rpartition("=")
        if not sep:
            shared.append(item)
            continue
        if method not in methods or not label:
            raise UlvrError(f"--rate-points '{item}': write METHOD=LABEL with METHOD one of "
                            f"--methods ({', '.join(methods)})")
        own.setdefault(method, []).append(label)
    return {name: own.get(name) or shared or None for name in methods}


def add_command(sub: argparse._SubParsersAction, name: str,
                func: Callable[[argparse.Namespace], int]) -> argparse.ArgumentParser:
    """A subcommand whose help is its function's docstring and which runs that function."""
    parser = sub.add_parser(name, help=func.__doc__)
    parser.set_defaults(func=func)
    return parser
