"""`intersyn report`: benchmark results (`<table>.results.json`) → Markdown, JSON and PNG."""

from __future__ import annotations

import argparse
from pathlib import Path

from intersyn.errors import InterSynError

RESULTS_PATTERN = "*.results.json"


def add_parser(subparsers: argparse._SubParsersAction) -> None:
    parser = subparsers.add_parser(
        "report",
        help="write the paper's tables (Markdown, JSON, PNG) from benchmark results",
        description="Read the results files that `intersyn evaluate` writes "
        f"(<table>.results.json; a directory stands for the {RESULTS_PATTERN} files in it) and "
        "write OUT/<table>.md (tables with mean ± 95% CI, motion quality, the checkpoint, "
        "config and seed of every row), OUT/<table>.json (normalised copy) and OUT/<table>.png "
        "(one bar chart per metric).",
    )
    parser.add_argument(
        "results", nargs="*", type=Path, metavar="RESULTS", help="results files or directories"
    )
    parser.add_argument(
        "--runs",
        nargs="+",
        type=Path,
        default=[],
        metavar="DIR",
        help="more results files or directories (same as RESULTS)",
    )
    parser.add_argument("--out", type=Path, required=True, help="output directory")
    parser.set_defaults(func=run)


def collect_results(paths: list[Path]) -> list[Path]:
    """Expand directories to their `*.results.json` files (sorted); files are kept as given."""
    if not paths:
        raise InterSynError(
            "no results given; expected results files or directories (RESULTS or --runs)"
        )
    found: list[Path] = []
    for path in paths:
        if path.is_dir():
            matches = sorted(path.glob(RESULTS_PATTERN))
            if not matches:
                raise InterSynError(f"results directory {path}: no {RESULTS_PATTERN} files in it")
            found += matches
        elif path.is_file():
            found.append(path)
        else:
            raise InterSynError(f"results {path}: not found; expected a file or a directory")
    unique: dict[Path, Path] = {}  # a file named twice (as a file and via its folder): once
    for path in found:
        unique.setdefault(path.resolve(), path)
    return list(unique.values())


def run(args: argparse.Namespace) -> int:
    from intersyn.evaluation.report import write_report

    if args.out.exists() and not args.out.is_dir():
        raise InterSynError(f"--out {args.out} is a file; expected a directory")
    for path in write_report(collect_results([*args.results, *args.runs]), args.out):
        print(f"wrote {path}")
    return 0
