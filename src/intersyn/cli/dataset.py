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
    add_interleave_parser(commands)
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


# ---------------------------------------------------------------------------------------------
# intersyn dataset interleave
# ---------------------------------------------------------------------------------------------


def add_interleave_parser(commands: argparse._SubParsersAction) -> None:
    from intersyn.data.interleave import CROPS, ORGANISATIONS, TIMING_MODES

    parser = commands.add_parser(
        "interleave",
        help="build interleaved two-person samples with U(·)",
        description="Interleave single-person clips (HumanML3D layout) with interactions "
        "(InterHuman layout) by U(·) (paper Eq. 4–5) and write the samples with a manifest "
        "(manifest.jsonl: sources, segment frames, t_i, t_s, captions) and sharded joints.",
    )
    parser.add_argument("--solo-root", type=Path, required=True, help="HumanML3D data root")
    parser.add_argument("--pair-root", type=Path, required=True, help="InterHuman data root")
    parser.add_argument("--out", type=Path, required=True, help="output folder (absent or empty)")
    parser.add_argument(
        "--organisation", default="s-i-s", help=f"one of {', '.join(ORGANISATIONS)} (default s-i-s)"
    )
    parser.add_argument(
        "--timing",
        default=None,
        help=f"one of {', '.join(TIMING_MODES)} (default ts0-random-ti, or ti0-random-ts when "
        "the organisation starts with an interaction)",
    )
    parser.add_argument("--count", type=int, default=1000, help="number of samples (default 1000)")
    parser.add_argument("--frames", type=int, default=196, help="sequence length (default 196)")
    parser.add_argument(
        "--crop",
        default="random",
        choices=CROPS,
        help="where a segment's window starts in a longer source clip: anywhere (random, the "
        "default), at the clip's first frame (start: the caption's beginning, e.g. an "
        "approach, stays in the segment), or anywhere but the last segment's window ends at "
        "its clip's end (end_last: the sequence ends as the clip does, at rest)",
    )
    parser.add_argument(
        "--person-caption-share",
        type=float,
        default=0.0,
        help="share of interaction segments whose caption is joined with the two people's own "
        "captions, as --person-text/--partner-text join them in generation (default 0)",
    )
    parser.add_argument("--split", default="train", help="source split (default train)")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--workers", type=int, default=2)
    parser.add_argument("--skip-bad", action="store_true", help="log and skip malformed clips")
    parser.add_argument("--overwrite", action="store_true", help="replace an existing OUT")
    parser.add_argument("--no-progress", action="store_true", help="no progress bar")
    parser.set_defaults(func=run_interleave)


def run_interleave(args: argparse.Namespace) -> int:
    from intersyn.data.build_interleaved import build_interleaved_dataset
    from intersyn.data.interleave import InterleaveConfig

    timing = args.timing or (
        "ti0-random-ts" if args.organisation.startswith("i") else "ts0-random-ti"
    )
    config = InterleaveConfig(
        organisation=args.organisation,
        timing=timing,
        frames=args.frames,
        crop=args.crop,
        person_caption_share=args.person_caption_share,
    )
    summary = build_interleaved_dataset(
        args.solo_root,
        args.pair_root,
        args.out,
        config,
        count=args.count,
        seed=args.seed,
        split=args.split,
        workers=args.workers,
        overwrite=args.overwrite,
        progress=not args.no_progress,
        skip_bad=args.skip_bad,
    )
    print(
        f"wrote {args.out}: {summary['count']} samples ({config.organisation}, {timing}) "
        f"in {summary['seconds']} s"
    )
    return 0
