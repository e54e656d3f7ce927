"""`intersyn` console script: one subcommand per job, each in its own module under `intersyn.cli`.

A subcommand module exposes `add_parser(subparsers)` which registers its flags and sets
`func=<handler(args) -> int>`. Errors a user can fix (`InterSynError`, missing files) print one
line on stderr and exit with code 2; no traceback.
"""

from __future__ import annotations

import argparse
import importlib
import os
import sys
import warnings
from collections.abc import Sequence

from intersyn.errors import InterSynError

# Module names under intersyn.cli, in the order `--help` lists them.
SUBCOMMAND_MODULES: tuple[str, ...] = (
    "generate",
    "train",
    "dataset",
    "evaluator",
    "text_encoder",
    "evaluate",
    "report",
    "convert",
)


def build_parser() -> argparse.ArgumentParser:
    """The full argument parser (subcommand modules that are not installed yet are skipped)."""
    parser = argparse.ArgumentParser(
        prog="intersyn",
        description="Text-driven motion synthesis interleaving solo actions and interactions.",
    )
    from intersyn import __version__

    parser.add_argument("--version", action="version", version=f"intersyn {__version__}")
    subparsers = parser.add_subparsers(dest="command", metavar="COMMAND")
    for name in SUBCOMMAND_MODULES:
        try:
            module = importlib.import_module(f"intersyn.cli.{name}")
        except ModuleNotFoundError as exc:
            if exc.name == f"intersyn.cli.{name}":
                continue
            raise
        module.add_parser(subparsers)
    return parser


def _one_line_warning(message, category, filename, lineno, file=None, line=None) -> None:
    print(f"intersyn: warning: {message}", file=file or sys.stderr)


def main(argv: Sequence[str] | None = None) -> int:
    """Parse `argv`, run the subcommand, map user errors to exit code 2 with one stderr line."""
    warnings.showwarning = _one_line_warning
    parser = build_parser()
    args = parser.parse_args(argv)
    if not getattr(args, "func", None):
        parser.print_help()
        return 2
    try:
        return int(args.func(args) or 0)
    except InterSynError as exc:
        print(f"intersyn {args.command}: error: {exc}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        print(f"intersyn {args.command}: interrupted", file=sys.stderr)
        return 130
    except BrokenPipeError:
        # The reader of our output went away (`intersyn ... | head -1`): stop quietly, as Unix
        # tools do; point stdout at /dev/null so the interpreter's final flush cannot fail again.
        devnull = os.open(os.devnull, os.O_WRONLY)
        os.dup2(devnull, sys.stdout.fileno())
        return 141  # 128 + SIGPIPE, what a shell reports for a tool killed by the closed pipe
    except OSError as exc:  # a missing or unwritable path, a full disk: the system's own words
        print(f"intersyn {args.command}: error: {exc}", file=sys.stderr)
        return 2


if __name__ == "__main__":
    sys.exit(main())
