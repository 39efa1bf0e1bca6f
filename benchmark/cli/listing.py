"""`ulvr list`: methods, metrics, datasets, suites and rate points, with why one is unavailable."""

from __future__ import annotations

import argparse
import sys

from benchmark.cli.common import (
    add_command,
)


def _shown(path: str) -> str:
    """A path relative to the working folder when it lies under it (as the README writes it)."""
    import os

    full = os.path.abspath(path)
    return os.path.relpath(full) if full.startswith(os.getcwd() + os.sep) else full


def cmd_list(args: argparse.Namespace) -> int:
    """List methods, metrics, datasets or suites (methods with availability)."""
    if args.what == "methods":
        import textwrap

        from benchmark.protocol import create_method, method_names

        skipped: list[str] = []
        names = method_names(skipped)
        for line in skipped:
            print(f"ulvr: warning: {line}", file=sys.stderr)
        width = max(16, *(len(name) for name in names))
        for name in names:
            method = create_method(name)
            avail = method.availability()
            state = "available" if avail.ok else "unavailable:"
            print(f"{name:{width}s} {method.kind.value:11s} causal={str(method.causal):5s} "
                  f"{len(method.rate_points())} rate points  {state}")
            checkpoint = getattr(method, "checkpoint", None)
            if checkpoint:   # the shipped weights a --checkpoint replaces
                print(f"    checkpoint: {_shown(checkpoint)}")
            if not avail.ok:    # the reason on its own lines, wrapped
                print(textwrap.fill(avail.reason, 96, initial_indent=" " * 4,
                                    subsequent_indent=" " * 4))
    elif args.what == "metrics":
        from benchmark.metrics.base import metric_class
        from benchmark.metrics.table import METRIC_TABLE

        for spec in METRIC_TABLE:
            avail = metric_class(spec.name).availability()
            state = "available" if avail.ok else f"unavailable: {avail.reason}"
            direction = "lower is better" if spec.lower_is_better else "higher is better"
            level = "set" if spec.set_level else "seq"
            print(f"{spec.name:12s} {direction:17s} {spec.colour:4s} {level} "
                  f"outputs={','.join(spec.outputs)}{' (default)' if spec.default else ''}"
                  f"  {state}\n{'':12s} {spec.description}")
    elif args.what == "rate-points":
        from benchmark.protocol import create_method, method_names

        for name in [args.method] if args.method else method_names():
            method = create_method(name)
            print(f"{name}:")
            for rp in method.rate_points():
                params = ", ".join(f"{k}={v}" for k, v in rp.params.items())
                print(f"  {rp.label:26s} {params}")
    elif args.what == "suites":
        from benchmark.execution.suites import SUITES

        for name, suite in SUITES.items():
            print(f"{name}: {suite.description}")
            for method, labels in suite.methods.items():
                print(f"  {method:20s} {','.join(labels) if labels else 'all default points'}")
    else:
        from benchmark.data.manifest import available_datasets, load_manifest

        for name in available_datasets():
            manifest = load_manifest(name)
            print(f"{name:10s} {len(manifest['sequences']):3d} sequences  "
                  f"{manifest.get('description', '')}")
    return 0


def add_commands(sub: argparse._SubParsersAction) -> None:
    """Add `list` to the ulvr parser."""
    lst = add_command(sub, "list", cmd_list)
    lst.add_argument("what", choices=("methods", "metrics", "datasets", "suites", "rate-points"))
    lst.add_argument("method", nargs="?", help="rate-points: only this method's")
