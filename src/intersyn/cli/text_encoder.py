"""`intersyn text-encoder train`: train the motion-aligned text encoder the generator can read."""

from __future__ import annotations

import argparse
from pathlib import Path

from intersyn.cli.contrastive import add_schedule_flags, require_command, with_epochs
from intersyn.errors import InterSynError


def add_parser(subparsers: argparse._SubParsersAction) -> None:
    parser = subparsers.add_parser(
        "text-encoder",
        help="train a text encoder aligned with motion (for text_encoder=aligned)",
        description="Train the sentence encoder that maps texts describing the same motion close "
        "together (contrastively, against solo clips under DATA_ROOT/HumanML3D and interactions "
        "under DATA_ROOT/InterHuman). Writes OUT/text_encoder.pt and OUT/metrics.json; train a "
        "generator on it with --set text_encoder=aligned --set text_path=OUT/text_encoder.pt.",
    )
    commands = parser.add_subparsers(dest="text_encoder_command", metavar="TEXT_ENCODER_COMMAND")
    train = commands.add_parser(
        "train",
        help="train the aligned text encoder on a data root",
        description="Train the aligned text encoder on the train splits under --data-root and "
        "score test-split R-precision (batches of 32).",
    )
    train.add_argument("--data-root", type=Path, required=True)
    train.add_argument("--out", type=Path, required=True)
    add_schedule_flags(train)
    train.add_argument(
        "--synonym-swap",
        type=float,
        default=0.0,
        metavar="P",
        help="swap each verb WordNet knows other words for (same sense or a kind of it) with "
        "probability P in extra reworded copies of the captions (default 0: captions as written)",
    )
    train.set_defaults(func=run_train)
    parser.set_defaults(func=lambda args: require_command(commands, "text-encoder"))


def run_train(args: argparse.Namespace) -> int:
    from intersyn.text.aligned import AlignedTextConfig
    from intersyn.text.train_aligned import train_aligned_text_encoder

    if not 0.0 <= args.synonym_swap <= 1.0:
        raise InterSynError(f"--synonym-swap {args.synonym_swap}: expected a probability in [0, 1]")
    config = with_epochs(
        AlignedTextConfig(seed=args.seed, synonym_swap=args.synonym_swap), args.epochs
    )
    metrics = train_aligned_text_encoder(
        args.data_root, args.out, config, progress=not args.no_progress
    )
    tops = "; ".join(
        f"{kind} " + ", ".join(f"{v:.3f}" for v in score["r_precision"])
        for kind, score in metrics["real_test"].items()
    )
    print(f"wrote {args.out}/text_encoder.pt; test R-precision top-1/2/3 (batches of 32): {tops}")
    return 0
