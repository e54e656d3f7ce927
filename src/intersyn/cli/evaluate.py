"""`intersyn evaluate`: measure the paper's Table 1, 2 or 3 for real data and trained models."""

from __future__ import annotations

import argparse
from pathlib import Path

from intersyn.cli.contrastive import seed

QUICK = {"replications": 2, "steps": 4, "samples": 12, "mm_samples": 0, "batch_size": 16}


def add_parser(subparsers: argparse._SubParsersAction) -> None:
    parser = subparsers.add_parser(
        "evaluate",
        help="measure a benchmark table (FID, R-precision, MM Dist, Diversity, MModality)",
        description="Measure the paper's Table 1 (two-person test set), Table 2 (interleaved "
        "benchmark) or Table 3 (ablations, Table 2 protocol) for the Real data and each --row. "
        "Writes OUT/<table>.results.json (read by `intersyn report`) and OUT/<table>.state.json; "
        "rerunning the same command continues a killed evaluation.",
    )
    parser.add_argument("--table", required=True, choices=["1", "2", "3"])
    parser.add_argument("--data-root", required=True, type=Path)
    parser.add_argument("--evaluator-2p", required=True, type=Path, help="two-person evaluator.pt")
    parser.add_argument(
        "--evaluator-1p", type=Path, help="single-person evaluator.pt (Tables 2, 3)"
    )
    parser.add_argument(
        "--row",
        action="append",
        default=[],
        metavar="NAME=CHECKPOINT[,coordinator=off][,interaction_text=caption] | NAME=missing:NOTE",
        help="a table row (repeatable); the Real row is always measured",
    )
    parser.add_argument("--out", required=True, type=Path)
    parser.add_argument("--replications", type=int, default=None, help="default 20")
    parser.add_argument(
        "--samples", type=int, default=None, help="benchmark items (default all / 256)"
    )
    parser.add_argument("--steps", type=int, default=None, help="DDIM steps (default 50)")
    parser.add_argument("--guidance", type=float, default=None, help="default 2.5")
    parser.add_argument(
        "--mm-samples",
        type=int,
        default=None,
        help="MultiModality: test captions (Table 1) or sequences (Tables 2, 3: per segment "
        "kind) generated --mm-repeats times each (0 = skip)",
    )
    parser.add_argument("--mm-repeats", type=int, default=None, help="generations per caption (10)")
    parser.add_argument("--batch-size", type=int, default=None, help="generation batch (64)")
    parser.add_argument("--seed", type=seed, default=0)
    parser.add_argument("--quick", action="store_true", help="tiny settings for smoke tests")
    parser.add_argument("--no-progress", action="store_true")
    parser.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    from intersyn.evaluation.benchmark import (
        BenchmarkConfig,
        RowSpec,
        load_evaluators,
        run_benchmark,
    )

    settings = dict(QUICK) if args.quick else {}
    for name in (
        "replications",
        "samples",
        "steps",
        "guidance",
        "mm_samples",
        "mm_repeats",
        "batch_size",
    ):
        value = getattr(args, name)
        if value is not None:
            settings[name] = value
    config = BenchmarkConfig(
        table=f"table{args.table}", seed=args.seed, quick=args.quick, **settings
    )
    rows = [RowSpec.parse(text) for text in args.row]
    evaluators = load_evaluators(args.evaluator_2p, args.evaluator_1p)
    path = run_benchmark(
        config, args.data_root, args.out, rows, evaluators, progress=not args.no_progress
    )
    print(f"wrote {path}; make the report with `intersyn report {path} --out DIR`")
    return 0
