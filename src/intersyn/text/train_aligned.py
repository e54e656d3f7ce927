"""`intersyn text-encoder train`: fit the aligned text encoder (see `intersyn.text.aligned`).

One sentence tower is trained against two motion towers with symmetric InfoNCE: each step
pairs a batch of single-person clips (HumanML3D layout) with one of their captions, and a batch
of interactions (InterHuman layout) with one of theirs. No labels are used, so any data root the
loaders read works. Saved: `text_encoder.pt` (all three towers + config; generation needs only
the sentence tower) and `metrics.json` (test-split R-precision of both kinds, batches of 32).
"""

from __future__ import annotations

import dataclasses
import re
import time
from collections.abc import Sequence
from itertools import chain
from pathlib import Path

import numpy as np
import torch
from torch import nn
from torch.nn.utils.rnn import pad_sequence
from tqdm.auto import tqdm

from intersyn.errors import InterSynError
from intersyn.evaluation.evaluators import contrastive_loss
from intersyn.evaluation.train_evaluator import (
    _batch,
    _swap,
    load_pair_motions,
    one_cycle,
    optimiser_step,
    score_real,
    start_training,
)
from intersyn.evaluation.train_evaluator_1p import load_solo_motions
from intersyn.io import write_json
from intersyn.text.aligned import (
    KIND,
    WORD_UNITS,
    AlignedTextConfig,
    MotionTower,
    SentenceTower,
)
from intersyn.training.checkpoint import save_checkpoint


class _WordTable:
    """Every caption's WordLlama word vectors, encoded once: `(n_words, C)` float32 each."""

    def __init__(self, captions: Sequence[str], max_words: int) -> None:
        from intersyn.text.wordllama import WordLlamaEncoder

        self.encoder = WordLlamaEncoder(max_tokens=max_words, units=WORD_UNITS)
        unique = sorted(set(captions))
        self.rows: dict[str, torch.Tensor] = {}
        for start in range(0, len(unique), 512):
            chunk = unique[start : start + 512]
            for caption, item in zip(chunk, self.encoder.encode(chunk).unbatch(), strict=True):
                self.rows[caption] = item.tokens.clone()

    def batch(
        self,
        captions: Sequence[str],
        drop: float = 0.0,
        noise: float = 0.0,
        generator: torch.Generator | None = None,
    ) -> tuple[torch.Tensor, torch.Tensor]:
        """Padded word vectors `(B, L, C)` and mask `(B, L)`; with `drop`, each word is left
        out with that probability (a caption keeps at least its first word); with `noise`,
        each vector moves by Gaussian noise of `noise` times its norm."""
        words = pad_sequence([self.rows[c] for c in captions], batch_first=True)
        lengths = torch.tensor([len(self.rows[c]) for c in captions])
        mask = torch.arange(words.shape[1]) < lengths[:, None]
        if noise > 0:
            scale = noise * words.norm(dim=-1, keepdim=True) / words.shape[-1] ** 0.5
            words = words + scale * torch.randn(words.shape, generator=generator)
        if drop > 0:
            kept = mask & (torch.rand(mask.shape, generator=generator) >= drop)
            kept[:, 0] |= ~kept.any(1)  # never drop every word
            mask = kept
        return words, mask


def synonym_variants(
    captions: Sequence[str], swap: float, copies: int, rng: np.random.Generator
) -> dict[str, list[str]]:
    """Each caption and `copies` rewordings of it in which every verb with WordNet
    alternatives is replaced by a random one with probability `swap` (the caption first)."""
    from intersyn.text.vocabulary import WORD
    from intersyn.text.wordnet import WordNetReader

    reader = WordNetReader(())
    options: dict[str, list[str]] = {}

    def reword(match: re.Match[str]) -> str:
        word = match.group(0)
        key = word.lower()
        if key not in options:
            options[key] = reader.alternatives(key)
        if not options[key] or rng.random() >= swap:
            return word
        choice = options[key][int(rng.integers(len(options[key])))]
        return choice.capitalize() if word[0].isupper() else choice

    return {c: [c, *(WORD.sub(reword, c) for _ in range(copies))] for c in sorted(set(captions))}


class _Scorer:
    """Embeds one motion kind and texts for `score_real` (R-precision of the test split)."""

    def __init__(self, text: SentenceTower, motion: MotionTower, words: _WordTable) -> None:
        self.text, self.motion, self.words = text, motion, words

    @torch.inference_mode()
    def embed_motions(self, motions: list[np.ndarray]) -> np.ndarray:
        return torch.cat(
            [self.motion(*_batch(motions[i : i + 256])) for i in range(0, len(motions), 256)]
        ).numpy()

    @torch.inference_mode()
    def embed_texts(self, captions: list[str]) -> np.ndarray:
        return torch.cat(
            [
                self.text(*self.words.batch(captions[i : i + 256]))
                for i in range(0, len(captions), 256)
            ]
        ).numpy()


def _standardise(tower: MotionTower, motions: list[np.ndarray]) -> None:
    """Set the tower's feature mean and std from `motions` (std floored at 1e-2)."""
    rows = np.concatenate(motions)
    tower.mean.copy_(torch.from_numpy(rows.mean(0)))
    tower.std.copy_(torch.from_numpy(np.maximum(rows.std(0), 1e-2)))


Clips = tuple[list[np.ndarray], list[tuple[str, ...]]]  # motions (T, D) and their captions


def _training_data(data_root: str | Path, config: AlignedTextConfig) -> dict[str, dict[str, Clips]]:
    """`{"solo" | "pair": {"train" | "test": clips}}`: solo features `(T, 263)` keep every
    `solo_stride`-th row, pairs `(T, 524)` (person B in A's frame) every `pair_stride`-th;
    both are cut to `max_motion_rows`."""
    rows = config.max_motion_rows
    data: dict[str, dict[str, Clips]] = {"solo": {}, "pair": {}}
    for split in ("train", "test"):
        solo = load_solo_motions(data_root, split)
        data["solo"][split] = (
            [m[:: config.solo_stride][:rows] for m in solo.motions],
            solo.captions,
        )
        pair = load_pair_motions(data_root, split, config.pair_stride)
        data["pair"][split] = ([m[:rows] for m in pair.motions], pair.captions)
    return data


def train_aligned_text_encoder(
    data_root: str | Path,
    out: str | Path,
    config: AlignedTextConfig | None = None,
    *,
    progress: bool = True,
) -> dict:
    """Train, save `out/text_encoder.pt` and `out/metrics.json`, and return the metrics."""
    config = config or AlignedTextConfig()
    out, rng = start_training(out, config.seed)
    generator = torch.Generator().manual_seed(config.seed)
    started = time.perf_counter()
    data = _training_data(data_root, config)
    captions = [c for splits in data.values() for _, cs in splits.values() for c in chain(*cs)]
    variants = (
        synonym_variants(
            [c for _, cs in (s["train"] for s in data.values()) for c in chain(*cs)],
            config.synonym_swap,
            config.synonym_variants,
            rng,
        )
        if config.synonym_swap > 0
        else {}
    )
    words = _WordTable(
        [*captions, *(v for vs in variants.values() for v in vs[1:])], config.max_words
    )
    model = nn.ModuleDict({"text": SentenceTower(config, words.encoder.dim)})
    for kind, splits in data.items():
        model[kind] = MotionTower(config, splits["train"][0][0].shape[-1])
        _standardise(model[kind], splits["train"][0])
    batch = config.batch_size
    kinds = {kind: splits["train"] for kind, splits in data.items()}
    if min(len(m) for m, _ in kinds.values()) < 2:
        raise InterSynError(
            f"data root {data_root}: needs at least 2 training clips of each kind (solo and pair)"
        )
    steps_per_epoch = max(1, max(len(m) for m, _ in kinds.values()) // batch)
    total = steps_per_epoch * config.epochs
    optimizer, scheduler = one_cycle(model, config.lr, total)
    bar = tqdm(total=total, disable=not progress, desc="text encoder", unit="step")
    losses: list[float] = []
    orders = {kind: np.empty(0, np.int64) for kind in kinds}
    model.train()
    for _ in range(total):
        loss = torch.zeros(())
        for kind, (motions, texts) in kinds.items():
            if len(orders[kind]) < min(batch, len(motions)):  # cycle the smaller dataset
                orders[kind] = np.concatenate([orders[kind], rng.permutation(len(motions))])
            index, orders[kind] = orders[kind][:batch], orders[kind][batch:]
            chosen = [motions[i] for i in index]
            if kind == "pair":  # either person may be listed first, as InterGen augments
                chosen = [_swap(m) if rng.random() < 0.5 else m for m in chosen]
            lines = [texts[i][int(rng.integers(len(texts[i])))] for i in index]
            if variants:  # the caption or one of its WordNet rewordings
                lines = [variants[c][int(rng.integers(len(variants[c])))] for c in lines]
            text_emb = model["text"](
                *words.batch(lines, config.word_dropout, config.word_noise, generator)
            )
            loss = loss + contrastive_loss(
                text_emb, model[kind](*_batch(chosen)), config.logit_scale
            )
        optimiser_step(loss, model, optimizer, scheduler, losses, bar)
    bar.close()
    model.eval()
    payload = {
        "kind": KIND,
        "config": dataclasses.asdict(config),
        "word_encoder": words.encoder.name,
        "text_tower": model["text"].state_dict(),
        "solo_tower": model["solo"].state_dict(),
        "pair_tower": model["pair"].state_dict(),
    }
    digest = save_checkpoint(out / "text_encoder.pt", payload)
    metrics = {
        "text_encoder": f"aligned:{digest[:16]}",
        "word_encoder": words.encoder.name,
        "train_clips": {kind: len(m) for kind, (m, _) in kinds.items()},
        "epochs": config.epochs,
        "steps": total,
        "first_loss": float(np.mean(losses[:10])),
        "last_loss": float(np.mean(losses[-10:])),
        "train_seconds": round(time.perf_counter() - started, 1),
        "real_test": {
            kind: score_real(_Scorer(model["text"], model[kind], words), *splits["test"], "t2m")
            for kind, splits in data.items()
        },
    }
    write_json(out / "metrics.json", metrics)
    return metrics
