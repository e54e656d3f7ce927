"""Flags and checks shared by the contrastive trainers' subcommands (evaluator, text-encoder), and
the seed type every training or measuring subcommand takes."""

from __future__ import annotations

import argparse
import dataclasses
from typing import TypeVar

from intersyn.errors import InterSynError

Config = TypeVar("Config")


def seed(text: str) -> int:
    """An argparse type: a seed a run takes (`intersyn.training.config.SEEDS`: beyond 2^63
    torch failed with "Overflow when unpacking long long" after the data had loaded)."""
    from intersyn.training.config import SEEDS

    try:
        value = int(text)
    except ValueError:
        value = -1
    if not 0 <= value < SEEDS:
        raise argparse.ArgumentTypeError(f"{text!r}: expected an integer from 0 to 2^32 - 1")
    return value


def add_schedule_flags(train: argparse.ArgumentParser) -> None:
    """`--epochs` (default: the config's), `--seed`, `--no-progress`."""
    train.add_argument("--epochs", type=int, default=None)
    train.add_argument("--seed", type=seed, default=0)
    train.add_argument("--no-progress", action="store_true")


def require_command(commands: argparse._SubParsersAction, noun: str) -> None:
    """Raise the one-line error for `intersyn NOUN` given without its command."""
    raise InterSynError(f"no {noun} command given; expected one of: {', '.join(commands.choices)}")


def with_epochs(config: Config, epochs: int | None) -> Config:
    """`config` with `epochs` replaced when given (at least 1)."""
    if epochs is None:
        return config
    if epochs < 1:
        raise InterSynError(f"--epochs {epochs}: expected at least 1")
    return dataclasses.replace(config, epochs=epochs)
