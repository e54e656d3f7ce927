"""`intersyn dataset`: build datasets in the official layouts (one function per sub-subcommand)."""

from __future__ import annotations

import argparse
from pathlib import Path

from intersyn.errors import InterSynError


def add_parser(subparsers: argparse._SubParsersAction) -> None:
    parser = subparsers.add_parser(
        "dataset",
        help="build datasets (procedural motions, interleaved samples)",
        description="Build datasets in the official HumanML3D / InterHuman layouts.",
    )
    commands = parser.add_subparsers(dest="dataset_command", metavar="DATASET_COMMAND")
    add_procedural_parser(commands)
    parser.set_defaults(func=lambda args: _missing_command(commands))


def _missing_command(commands: argparse._SubParsersAction) -> int:
    raise InterSynError(f"no dataset command given; expected one of: {', '.join(commands.choices)}")


# ---------------------------------------------------------------------------------------------
# intersyn dataset procedural
# ---------------------------------------------------------------------------------------------


def add_procedural_parser(commands: argparse._SubParsersAction) -> None:
    parser = commands.add_parser(
        "procedural",
        help="generate text-labelled solo clips and two-person interactions",
        description="Generate procedural solo clips (HumanML3D layout, 20 fps) and two-person "
        "interactions (InterHuman layout, 30 fps, varied body sizes) into OUT/HumanML3D and "
        "OUT/InterHuman. The output is identical for any number of workers.",
    )
    parser.add_argument("--out", type=Path, required=True, help="output folder (absent or empty)")
    parser.add_argument("--seed", type=int, default=0, help="base seed (default 0)")
    parser.add_argument(
        "--solo", type=int, default=4000, help="number of solo clips (default 4000)"
    )
    parser.add_argument(
        "--pairs", type=int, default=3000, help="number of interactions (default 3000)"
    )
    parser.add_argument(
        "--workers", type=int, default=None, help="worker processes (default: all cores)"
    )
    parser.add_argument("--overwrite", action="store_true", help="replace an existing OUT")
    # Values are checked by the library so that bad ones give one InterSynError line (exit 2).
    parser.add_argument("--no-progress", action="store_true", help="no progress bar")
    parser.set_defaults(func=run_procedural)


def run_procedural(args: argparse.Namespace) -> int:
    from intersyn.data.build_procedural import build_procedural_dataset, summary_line

    summary = build_procedural_dataset(
        args.out,
        seed=args.seed,
        solo=args.solo,
        pairs=args.pairs,
        workers=args.workers,
        progress=not args.no_progress,
        overwrite=args.overwrite,
    )
    print(summary_line(summary))
    if summary["untagged_words"]:
        print(f"note: words the tagger does not know (tagged OTHER): {summary['untagged_words']}")
    return 0
