"""How often does an interleaved training caption exceed the text encoder's token limit?

U(·) joins its segments' captions into one text, so longer organisations give longer texts;
the denoiser reads at most `--max-tokens` tokens (the pooled vector covers the whole text).
Prints the share of truncated captions per organisation, over `--samples` drawn samples.

    python bench/caption_truncation.py data/procedural [--samples 200] [--max-tokens 64]
"""

from __future__ import annotations

import argparse
import warnings
from pathlib import Path

from intersyn.data.loaders import InterleavedDataset, SourceBank
from intersyn.text.base import CaptionTruncatedWarning
from intersyn.text.wordllama import WordLlamaEncoder
from intersyn.training.config import train_preset
from intersyn.training.loop import load_training_items

LAYOUTS = (
    ("s-i-s", "ts0-random-ti"),
    ("s-i", "ts0-random-ti"),
    ("i-s", "ti0-random-ts"),
    ("i", "ti0-random-ts"),
    ("i-s-i", "ti0-random-ts"),
    ("s-i-s-i", "ts0-random-ti"),
    ("i-s-i-s", "ti0-random-ts"),
    ("s-i-s-i-s", "ts0-random-ti"),
    ("i-s-i-s-i", "ti0-random-ts"),
)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("data_root", type=Path)
    parser.add_argument("--samples", type=int, default=200)
    parser.add_argument("--max-tokens", type=int, default=64)
    args = parser.parse_args()
    cfg = train_preset("cpu")
    bank = SourceBank.from_items(*load_training_items(args.data_root, cfg))
    encoder = WordLlamaEncoder(max_tokens=args.max_tokens)
    for organisation, timing in LAYOUTS:
        dataset = InterleavedDataset(
            bank, cfg.data.interleave, seed=0, layouts=[(organisation, timing)]
        )
        captions = [dataset[i].caption for i in range(args.samples)]
        with warnings.catch_warnings(record=True) as caught:
            warnings.simplefilter("always")
            encoder.encode(captions)
        truncated = sum(issubclass(w.category, CaptionTruncatedWarning) for w in caught)
        print(f"{organisation:10s} {truncated / len(captions):4.0%} of captions truncated")


if __name__ == "__main__":
    main()
