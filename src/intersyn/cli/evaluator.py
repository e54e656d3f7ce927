"""`intersyn evaluator train`: train a text–motion evaluator for the metrics."""

from __future__ import annotations

import argparse
from pathlib import Path


def add_parser(subparsers: argparse._SubParsersAction) -> None:
    parser = subparsers.add_parser(
        "evaluator",
        help="train text–motion evaluators (for FID, R-precision, ...)",
        description="Train the evaluator networks that the metrics embed motions and texts with.",
    )
    commands = parser.add_subparsers(dest="evaluator_command", metavar="EVALUATOR_COMMAND")
    train = commands.add_parser(
        "train",
        help="train the two-person evaluator (InterCLIP architecture) contrastively",
        description="Train the two-person evaluator on the InterHuman-layout data under "
        "--data-root (train split), then score the real test split (R-precision, MM Dist). "
        "Writes OUT/evaluator.pt and OUT/metrics.json.",
    )
    train.add_argument("--data-root", type=Path, required=True)
    train.add_argument("--out", type=Path, required=True)
    train.add_argument(
        "--persons",
        type=int,
        default=2,
        choices=[2],
        help="2: the InterCLIP-style evaluator (the single-person one is not available yet)",
    )
    train.add_argument("--epochs", type=int, default=None)
    train.add_argument("--seed", type=int, default=0)
    train.add_argument("--no-progress", action="store_true")
    train.set_defaults(func=run_train)
    parser.set_defaults(func=lambda args: _missing(commands))


def _missing(commands: argparse._SubParsersAction) -> int:
    from intersyn.errors import InterSynError

    raise InterSynError(
        f"no evaluator command given; expected one of: {', '.join(commands.choices)}"
    )


def run_train(args: argparse.Namespace) -> int:
    from dataclasses import replace

    from intersyn.errors import InterSynError
    from intersyn.evaluation.train_evaluator import EvaluatorTrainConfig, train_two_person_evaluator

    config = EvaluatorTrainConfig(seed=args.seed)
    if args.epochs is not None:
        if args.epochs < 1:
            raise InterSynError(f"--epochs {args.epochs}: expected at least 1")
        config = replace(config, epochs=args.epochs)
    metrics = train_two_person_evaluator(
        args.data_root, args.out, config, progress=not args.no_progress
    )
    top = ", ".join(f"{v:.3f}" for v in metrics["real_test"]["r_precision"])
    print(
        f"wrote {args.out}/evaluator.pt; real test R-precision top-1/2/3: {top} "
        f"(chance {metrics['real_test']['chance_top1']:.3f})"
    )
    return 0
