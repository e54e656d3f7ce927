"""A text encoder aligned with motion: WordLlama word vectors through a small Transformer,
trained contrastively against single-person and two-person motion (TMR-style), then frozen.

Why: WordLlama's vectors place paraphrases near each other ("strolls" near "walks") but also
carry much that motion does not care about; a denoiser fed them learns the training wordings
and does not carry a new wording to its motion. This encoder maps each sentence to one unit
vector in a space where sentences describing the same motion lie close, so a denoiser
conditioned on it sees a new phrasing as (nearly) the trained one.

Features (`text_encoder="aligned"`, `text_path=` the trained file): one token per sentence,
that sentence's aligned embedding, in order (an interleaved caption joins its segments'
captions as sentences); `pooled` is the normalised mean of a caption's sentence embeddings.
The file is written by `intersyn text-encoder train`, separately from the evaluators (their
weights never condition the generator, so the metrics do not grade their own encoder).
"""

from __future__ import annotations

import dataclasses
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import torch
import torch.nn.functional as F
from torch import nn

from intersyn.errors import InterSynError
from intersyn.text.base import TextFeatures, sentence_tokens, validate_captions

KIND = "intersyn-aligned-text"
WORD_UNITS = "words"  # the WordLlama unit the sentence tower reads


@dataclass(frozen=True)
class AlignedTextConfig:
    """Sizes and schedule of the aligned text encoder and its training-only motion towers."""

    width: int = 256
    layers: int = 2
    heads: int = 4
    ff_size: int = 512
    embed_dim: int = 256  # the feature width the denoiser reads (its text_dim)
    max_words: int = 24  # per sentence
    dropout: float = 0.1
    word_dropout: float = 0.15  # training only: drop words so no single word decides
    # training only: move each word vector by Gaussian noise of this size relative to its norm,
    # so that a word's neighbours in WordLlama's space (its synonyms) embed alike
    word_noise: float = 0.0
    # training only: in `synonym_variants` extra copies of every caption, each verb WordNet
    # knows other words for (`WordNetReader.alternatives`: same sense or a kind of it) is
    # swapped for one at random with this probability; each step reads the caption or a copy
    synonym_swap: float = 0.0
    synonym_variants: int = 4
    motion_layers: int = 2
    solo_stride: int = 2  # keep every 2nd feature row of solo clips (20 -> 10 fps)
    pair_stride: int = 3  # and every 3rd of pairs (30 -> 10 fps)
    max_motion_rows: int = 101
    epochs: int = 6  # ~7 min on 2 CPU cores; longer fits the templates, not new wordings
    batch_size: int = 64
    lr: float = 5e-4
    logit_scale: float = 14.0  # InfoNCE temperature 0.07
    seed: int = 0


def _encoder_stack(config: AlignedTextConfig, layers: int) -> nn.TransformerEncoder:
    layer = nn.TransformerEncoderLayer(
        config.width,
        config.heads,
        config.ff_size,
        config.dropout,
        activation="gelu",
        batch_first=True,
        norm_first=True,
    )
    return nn.TransformerEncoder(layer, layers, enable_nested_tensor=False)


def _masked_mean(h: torch.Tensor, mask: torch.Tensor) -> torch.Tensor:
    """Mean of `h (B, L, W)` over the True positions of `mask (B, L)` → `(B, W)`."""
    weights = mask.to(h.dtype)[..., None]
    return (h * weights).sum(1) / weights.sum(1).clamp(min=1.0)


class SentenceTower(nn.Module):
    """Word vectors `(B, L, C)` of one sentence each → unit embeddings `(B, embed_dim)`."""

    def __init__(self, config: AlignedTextConfig, word_dim: int) -> None:
        super().__init__()
        self.word_in = nn.Linear(word_dim, config.width)
        if config.layers:  # words in context, in order
            self.positions = nn.Parameter(torch.randn(config.max_words, config.width) * 0.02)
            self.encoder = _encoder_stack(config, config.layers)
        else:  # a bag of words, each mapped on its own: a smooth map of WordLlama's space
            self.word_mlp = nn.Sequential(
                nn.LayerNorm(config.width),
                nn.Linear(config.width, config.ff_size),
                nn.GELU(),
                nn.Linear(config.ff_size, config.width),
            )
        self.norm = nn.LayerNorm(config.width)
        self.out = nn.Linear(config.width, config.embed_dim)

    def forward(self, words: torch.Tensor, mask: torch.Tensor) -> torch.Tensor:
        h = self.word_in(words)
        if hasattr(self, "encoder"):
            h = self.encoder(h + self.positions[: words.shape[1]], src_key_padding_mask=~mask)
        else:
            h = h + self.word_mlp(h)
        return F.normalize(self.out(_masked_mean(self.norm(h), mask)), dim=-1)


class MotionTower(nn.Module):
    """Motion features `(B, T, D)` with lengths → unit embeddings `(B, embed_dim)`.

    Only used to train the sentence tower; features are standardised with the training split's
    mean and std, which are kept as buffers.
    """

    def __init__(self, config: AlignedTextConfig, feature_dim: int) -> None:
        super().__init__()
        self.register_buffer("mean", torch.zeros(feature_dim))
        self.register_buffer("std", torch.ones(feature_dim))
        self.frame_in = nn.Linear(feature_dim, config.width)
        self.positions = nn.Parameter(torch.randn(config.max_motion_rows, config.width) * 0.02)
        self.encoder = _encoder_stack(config, config.motion_layers)
        self.norm = nn.LayerNorm(config.width)
        self.out = nn.Linear(config.width, config.embed_dim)

    def forward(self, motion: torch.Tensor, lengths: torch.Tensor) -> torch.Tensor:
        length = motion.shape[1]
        mask = torch.arange(length, device=motion.device) < lengths[:, None]  # (B, T)
        x = (motion - self.mean) / self.std
        h = self.frame_in(x) + self.positions[:length]
        h = self.norm(self.encoder(h, src_key_padding_mask=~mask))
        return F.normalize(self.out(_masked_mean(h, mask)), dim=-1)


class AlignedTextEncoder:
    """The trained sentence tower as a `TextEncoder` (one token per sentence; see the module)."""

    def __init__(
        self,
        source: str | Path | Mapping[str, Any],
        device: torch.device | str = "cpu",
        max_tokens: int = 8,
    ) -> None:
        """`source`: a `text_encoder.pt` path, or the `weights()` a generator checkpoint keeps."""
        from intersyn.text.wordllama import WordLlamaEncoder
        from intersyn.training.checkpoint import load_checkpoint

        if isinstance(max_tokens, bool) or not isinstance(max_tokens, int) or max_tokens < 1:
            raise InterSynError(f"max_tokens={max_tokens!r}; expected an int >= 1")
        if isinstance(source, Mapping):
            payload, where = dict(source), "text encoder weights in the checkpoint"
        else:
            payload, where = load_checkpoint(source), f"text encoder file {source}"
        if payload.get("kind") != KIND or not isinstance(payload.get("sha256"), str):
            raise InterSynError(
                f"{where}: kind {payload.get('kind')!r}; expected {KIND!r} "
                "(written by `intersyn text-encoder train`)"
            )
        config = aligned_config(payload.get("config"), where)
        self._words = WordLlamaEncoder(max_tokens=config.max_words, units=WORD_UNITS)
        self.tower = SentenceTower(config, self._words.dim)
        load_tower(self.tower, payload.get("text_tower"), where)
        self.device = torch.device(device)
        self.tower.eval().to(self.device)
        self.config = config
        self.sha256 = payload["sha256"]  # of the file it was trained into
        self.max_tokens = max_tokens
        self.dim = self.pooled_dim = config.embed_dim
        self.name = f"aligned:{self.sha256[:16]}:max{max_tokens}"

    def weights(self) -> dict[str, Any]:
        """What rebuilds this encoder without its file: generator checkpoints keep it."""
        return {
            "kind": KIND,
            "sha256": self.sha256,
            "config": dataclasses.asdict(self.config),
            "text_tower": {k: v.detach().cpu() for k, v in self.tower.state_dict().items()},
        }

    def __repr__(self) -> str:
        return f"AlignedTextEncoder(name={self.name!r}, device={self.device})"

    @torch.no_grad()  # not inference_mode: a training denoiser saves these for its backward
    def embed_sentences(self, sentences: Sequence[str]) -> torch.Tensor:
        """Unit embeddings `(S, embed_dim)` of single sentences."""
        words = self._words.encode(sentences).to(self.device)
        return self.tower(words.tokens, words.token_mask)

    def encode(self, captions: Sequence[str]) -> TextFeatures:
        """Encode B captions: `tokens (B, L, E)` one per sentence, `pooled (B, E)`."""
        captions = validate_captions(captions)
        tokens, mask = sentence_tokens(captions, self.max_tokens, self.embed_sentences)
        pooled = F.normalize(tokens.sum(1), dim=-1)  # padding rows are zero
        return TextFeatures(tokens.clone(), mask, pooled)


def aligned_config(raw: Any, where: str) -> AlignedTextConfig:
    """`AlignedTextConfig` from a saved dict, or a one-line error starting with `where`."""
    fields = {f.name for f in dataclasses.fields(AlignedTextConfig)}
    if not isinstance(raw, dict) or not set(raw) <= fields:
        raise InterSynError(
            f"{where}: config {raw!r:.80}; expected the fields of AlignedTextConfig"
        )
    return AlignedTextConfig(**raw)


def load_tower(module: nn.Module, state: Any, where: str) -> None:
    """Load `state` into `module` strictly, or raise a one-line error starting with `where`."""
    if not isinstance(state, dict):
        raise InterSynError(f"{where}: no weights; expected a state dict")
    try:
        module.load_state_dict(state)
    except RuntimeError as exc:
        first = str(exc).strip().splitlines()
        raise InterSynError(
            f"{where}: weights do not fit its config "
            f"({first[1].strip() if len(first) > 1 else first[0]})"
        ) from None
