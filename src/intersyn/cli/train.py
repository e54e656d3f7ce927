"""`intersyn train`: two-stage training on a data root (one process, or many under torchrun)."""

from __future__ import annotations

import argparse
from pathlib import Path

from intersyn.cli.contrastive import seed


def add_parser(subparsers: argparse._SubParsersAction) -> None:
    parser = subparsers.add_parser(
        "train",
        help="train INS (stage 1) and the coordinator (stage 2)",
        description="Train the CMDM denoiser (stage 1, INS) and the coordinator (stage 2, REC) "
        "on a data root holding HumanML3D/ and/or InterHuman/ in the official layouts. "
        "For several processes launch with torchrun: "
        "`torchrun --nproc_per_node 2 -m intersyn train ...`.",
    )
    parser.add_argument(
        "--config",
        default=None,
        help="preset: tiny, cpu or paper (default: the --init or --resume model's own training "
        "config, else cpu)",
    )
    parser.add_argument("--data-root", required=True, type=Path, help="folder with the datasets")
    parser.add_argument("--out", required=True, type=Path, help="run directory")
    parser.add_argument("--stage", default="all", choices=["all", "ins", "rec"])
    parser.add_argument("--max-steps", type=int, default=None, help="steps per stage (overrides)")
    parser.add_argument("--resume", type=Path, default=None, help="checkpoint to continue from")
    parser.add_argument(
        "--init",
        type=Path,
        default=None,
        help="start from this trained model's INS (final.pt/ins.pt, or `default` for the shipped "
        "model): with --stage rec, stage 2 on it frozen; with --stage ins, a stage-1 fine-tune; "
        "a trained text encoder and a ranker it carries are used unless text_path is set",
    )
    parser.add_argument(
        "--reanchor",
        action="store_true",
        help="with --init and --stage ins: the --init model may use another placement anchor "
        "(model.placement_anchor); the fine-tune relearns the partner placements whose meaning "
        "changes (sequence <-> run: partners who appear mid-sequence; run_end: every partner)",
    )
    parser.add_argument(
        "--set",
        action="append",
        default=[],
        metavar="KEY=VALUE",
        help="override a config entry by its dotted path, e.g. loss.lambda_rela=0 or "
        "data.interleave.organisation=s-i-s-i (repeatable; VALUE is JSON or plain text)",
    )
    parser.add_argument("--seed", type=seed, default=None, help="overrides the config's seed")
    parser.add_argument("--device", default="auto", help="auto (CUDA if present), cpu, cuda:N")
    parser.add_argument("--batch-size", type=int, default=None, help="global batch (overrides)")
    parser.add_argument(
        "--text-path",
        type=Path,
        default=None,
        help="local CLIP ViT-L/14 folder (open_clip or transformers) for configs using CLIP",
    )
    parser.add_argument(
        "--skip-bad",
        action="store_true",
        help="log and skip unreadable or malformed clips (partial dataset copies)",
    )
    parser.add_argument("--no-progress", action="store_true", help="hide the progress bar")
    parser.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    from dataclasses import replace

    from intersyn.errors import InterSynError
    from intersyn.training.config import apply_overrides
    from intersyn.training.loop import train

    if args.init is not None and str(args.init) == "default":
        from intersyn.pipeline import default_checkpoint_path

        args.init = default_checkpoint_path()
    cfg = apply_overrides(base_config(args.config, args.init or args.resume), args.set)
    if args.seed is not None:
        cfg = cfg.replace(seed=args.seed)
    if args.batch_size is not None:
        if args.batch_size < 1:
            raise InterSynError(f"--batch-size {args.batch_size}: expected a positive number")
        cfg = cfg.replace(data=replace(cfg.data, batch_size=args.batch_size))
    if args.text_path is not None:
        cfg = cfg.replace(text_path=str(args.text_path))
    if args.skip_bad:
        cfg = cfg.replace(data=replace(cfg.data, skip_bad=True))
    if args.out.exists() and not args.out.is_dir():
        raise InterSynError(f"--out {args.out}: exists and is not a directory")
    result = train(
        cfg,
        args.data_root,
        args.out,
        stage=args.stage,
        max_steps=args.max_steps,
        resume=args.resume,
        init=args.init,
        reanchor=args.reanchor,
        device=args.device,
        progress=not args.no_progress,
    )
    steps = ", ".join(f"{k} {v}" for k, v in result.steps.items())
    print(f"trained ({steps} steps); checkpoints in {result.run_dir / 'checkpoints'}")
    return 0


def base_config(preset: str | None, start: Path | None):
    """The config a run starts from before `--set`: the named preset, else the training config
    of the model it starts from (so fine-tuning or resuming needs none of that model's
    overrides repeated), else `cpu`."""
    from intersyn.errors import InterSynError
    from intersyn.training.checkpoint import load_checkpoint
    from intersyn.training.config import TrainConfig, train_preset

    if preset is not None or start is None:
        return train_preset(preset or "cpu")
    saved = load_checkpoint(start).get("config")
    if not isinstance(saved, dict):
        raise InterSynError(f"{start}: carries no training config; pass --config")
    return TrainConfig.from_dict(saved)
