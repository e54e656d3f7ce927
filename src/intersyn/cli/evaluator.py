"""`intersyn evaluator train`: train a text–motion evaluator for the metrics (1 or 2 persons)."""

from __future__ import annotations

import argparse
from pathlib import Path

from intersyn.cli.contrastive import add_schedule_flags, require_command, with_epochs


def add_parser(subparsers: argparse._SubParsersAction) -> None:
    parser = subparsers.add_parser(
        "evaluator",
        help="train text–motion evaluators (for FID, R-precision, ...)",
        description="Train the evaluator networks that the metrics embed motions and texts with.",
    )
    commands = parser.add_subparsers(dest="evaluator_command", metavar="EVALUATOR_COMMAND")
    train = commands.add_parser(
        "train",
        help="train a text–motion evaluator contrastively (2 persons: InterCLIP, 1: T2M style)",
        description="Train the two-person evaluator (--persons 2, InterHuman-layout data) or the "
        "single-person one (--persons 1, HumanML3D-layout data) on the train split under "
        "--data-root, then score the real test split (R-precision, MM Dist). "
        "Writes OUT/evaluator.pt and OUT/metrics.json.",
    )
    train.add_argument("--data-root", type=Path, required=True)
    train.add_argument("--out", type=Path, required=True)
    train.add_argument(
        "--persons",
        type=int,
        default=2,
        choices=[1, 2],
        help="2: the InterCLIP-style evaluator (InterGen protocol); 1: the Guo et al. (T2M) "
        "style evaluator (T2M protocol) (default: 2)",
    )
    add_schedule_flags(train)
    train.set_defaults(func=run_train)
    parser.set_defaults(func=lambda args: require_command(commands, "evaluator"))


def run_train(args: argparse.Namespace) -> int:
    if args.persons == 1:
        from intersyn.evaluation import train_evaluator_1p as one

        config, train = (
            one.SoloEvaluatorTrainConfig(seed=args.seed),
            one.train_single_person_evaluator,
        )
    else:
        from intersyn.evaluation import train_evaluator as two

        config, train = two.EvaluatorTrainConfig(seed=args.seed), two.train_two_person_evaluator

    config = with_epochs(config, args.epochs)
    metrics = train(args.data_root, args.out, config, progress=not args.no_progress)
    scores = [metrics[key] for key in ("real_test", "real_test_batch32") if key in metrics]
    tops = "; ".join(
        ", ".join(f"{v:.3f}" for v in s["r_precision"])
        + f" (batches of {s['batch']}, chance {s['chance_top1']:.3f})"
        for s in scores
    )
    print(f"wrote {args.out}/evaluator.pt; real test R-precision top-1/2/3: {tops}")
    return 0
