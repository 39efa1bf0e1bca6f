"""The `ulvr` command line: one module per command (run, report, list, regress, dataset);
command groups of plugins come through the `ulvr.commands` entry points, so building the
parser imports no method's code beyond the small module that adds its commands.

May import: anything.
"""

from __future__ import annotations

import argparse
import sys

from benchmark.analysis.matched import DEFAULT_TARGETS
from benchmark.cli import dataset, listing, regress, report, run
from benchmark.cli.common import bpp_list
from benchmark.core.errors import UlvrError
from benchmark.core.plugins import Registry
from benchmark.study.cli import add_commands as study_commands

COMMAND_GROUP = "ulvr.commands"   # name = "module:function"; function(subparsers) adds commands


COMMANDS = Registry("command", COMMAND_GROUP)   # plugins' command groups, by name


def build_parser() -> argparse.ArgumentParser:
    """The ulvr parser: the harness's own commands, then each command group declared under the
    `ulvr.commands` entry points (the proposed method's `cdm`, `train-codec`), loaded by name."""
    parser = argparse.ArgumentParser(prog="ulvr", description="ULVR-Bench: video reconstruction "
                                     "from ultra-low-bitrate representations")
    sub = parser.add_subparsers(dest="command", required=True)
    for module in (run, report, listing, regress, dataset):
        module.add_commands(sub)
    study_commands(sub, bpp_list, DEFAULT_TARGETS)
    skipped: list[str] = []
    for name in COMMANDS.names(skipped):
        COMMANDS.entries[name](sub)
    for error in skipped:   # a broken plugin costs its own commands, not the whole CLI
        print(f"ulvr: warning: {error}", file=sys.stderr)
    return parser


def main(argv: list[str] | None = None) -> int:
    """Entry point: run a subcommand; user errors become one line on stderr and exit 2."""
    from benchmark.core.alloc import reuse_freed_memory

    reuse_freed_memory()
    args = build_parser().parse_args(argv)
    try:
        return args.func(args)
    except UlvrError as exc:
        print(f"ulvr: error: {exc}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:   # Ctrl-C: a stop, never a failure or a traceback
        print("ulvr: interrupted", file=sys.stderr)
        return 130


if __name__ == "__main__":
    sys.exit(main())
