"""The text-encoder interface: captions in, token features + token mask + pooled vector out."""

from __future__ import annotations

import bisect
import itertools
import re
import warnings
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any, Protocol, runtime_checkable

import torch
from torch.nn.utils.rnn import pad_sequence

from intersyn.errors import InterSynError, NoTokensError

_SENTENCE_END = re.compile(r"(?<=[.!?;])\s+")
_PUNCTUATION = " \t\n.!?;"


def split_sentences(caption: str) -> list[str]:
    """The caption's sentences without their final punctuation (the whole caption if none)."""
    pieces = [p.strip().rstrip(_PUNCTUATION) for p in _SENTENCE_END.split(caption.strip())]
    return [p for p in pieces if p.strip(_PUNCTUATION)] or [caption]


def sentence_tokens(
    captions: Sequence[str],
    max_sentences: int,
    embed: Callable[[list[str]], torch.Tensor],
) -> tuple[torch.Tensor, torch.Tensor]:
    """One token per sentence: `tokens (B, L, C)` (padding zero) and `token_mask (B, L)`.

    `embed` maps S single sentences to `(S, C)` vectors; only each caption's first
    `max_sentences` sentences are embedded, and captions with more get a warning.
    """
    sentences = [split_sentences(c) for c in captions]
    for index, caption in enumerate(sentences):
        if len(caption) > max_sentences:
            warn_truncated(index, captions[index], len(caption), max_sentences)
    kept = [caption[:max_sentences] for caption in sentences]
    try:
        vectors = embed([s for caption in kept for s in caption])  # (S, C)
    except NoTokensError as exc:  # name the caption, not the position in the flat sentence list
        ends = list(itertools.accumulate(len(caption) for caption in kept))
        index = bisect.bisect_right(ends, exc.index)
        number = exc.index - (ends[index - 1] if index else 0)
        raise InterSynError(
            f"caption {index} ({captions[index]!r:.60}): sentence {number + 1} ({exc.text!r:.30}) "
            "gives no tokens; expected readable text"
        ) from None
    lengths = torch.tensor([len(caption) for caption in kept], device=vectors.device)  # (B,)
    mask = torch.arange(int(lengths.max()), device=vectors.device) < lengths[:, None]  # (B, L)
    tokens = vectors.new_zeros(len(captions), mask.shape[1], vectors.shape[1])
    tokens[mask] = vectors  # row-major order of the mask = caption, then sentence
    return tokens, mask


@dataclass(frozen=True)
class CaptionFeatures:
    """One caption's features without padding: `tokens (n, C)` float32, `pooled (C',)` float32."""

    tokens: torch.Tensor
    pooled: torch.Tensor


@dataclass(frozen=True)
class TextFeatures:
    """A batch of encoded captions: `tokens (B, L, C)`, `token_mask (B, L)` bool, `pooled (B, C')`.

    L is the longest caption of the batch (at most the encoder's `max_tokens`); padded positions
    are False in `token_mask` and exactly zero in `tokens`, so features do not depend on which
    other captions share the batch.
    """

    tokens: torch.Tensor
    token_mask: torch.Tensor
    pooled: torch.Tensor

    def __post_init__(self) -> None:
        b, length = self.token_mask.shape
        if self.tokens.shape[:2] != (b, length) or self.pooled.shape[0] != b:
            raise InterSynError(
                f"TextFeatures: tokens {tuple(self.tokens.shape)}, token_mask "
                f"{tuple(self.token_mask.shape)} and pooled {tuple(self.pooled.shape)} disagree; "
                "expected (B, L, C), (B, L) and (B, C')"
            )

    def __len__(self) -> int:
        return self.token_mask.shape[0]

    @property
    def lengths(self) -> torch.Tensor:
        """Number of real tokens per caption, `(B,)` int64."""
        return self.token_mask.sum(dim=1)

    def to(self, device: torch.device | str) -> TextFeatures:
        """Return the same features on `device`."""
        return TextFeatures(
            self.tokens.to(device), self.token_mask.to(device), self.pooled.to(device)
        )

    def unbatch(self) -> list[CaptionFeatures]:
        """Split into one unpadded `CaptionFeatures` per caption (views of this batch)."""
        lengths = self.lengths.tolist()
        return [CaptionFeatures(self.tokens[i, :n], self.pooled[i]) for i, n in enumerate(lengths)]

    @classmethod
    def collate(cls, items: Sequence[CaptionFeatures]) -> TextFeatures:
        """Pad per-caption features to the longest one and stack them into a batch."""
        tokens = pad_sequence([item.tokens for item in items], batch_first=True)  # (B, L, C)
        lengths = torch.tensor([item.tokens.shape[0] for item in items], device=tokens.device)
        mask = torch.arange(tokens.shape[1], device=tokens.device) < lengths[:, None]  # (B, L)
        return cls(tokens, mask, torch.stack([item.pooled for item in items]))


@runtime_checkable
class TextEncoder(Protocol):
    """Anything that turns captions into `TextFeatures`; `name` identifies encoder and weights."""

    name: str  # identity used as the cache key: encoder kind, weights hash or path, max_tokens
    dim: int  # C, width of the token features
    pooled_dim: int  # C', width of the pooled vector
    max_tokens: int  # longer captions are truncated (with a warning)
    device: torch.device  # where `encode` returns its tensors

    def encode(self, captions: Sequence[str]) -> TextFeatures:
        """Encode B captions into `TextFeatures` with `tokens (B, L, dim)`."""
        ...


def validate_captions(captions: Any) -> list[str]:
    """Return `captions` as a list of non-empty strings, or raise `InterSynError` naming the bad one."""
    if isinstance(captions, str):
        raise InterSynError(
            "captions: got a single str; expected a sequence of str (wrap one caption in a list)"
        )
    if not isinstance(captions, Sequence):
        raise InterSynError(f"captions: got {type(captions).__name__}; expected a sequence of str")
    if len(captions) == 0:
        raise InterSynError("captions: got an empty sequence; expected at least one caption")
    for i, caption in enumerate(captions):
        if not isinstance(caption, str):
            raise InterSynError(
                f"caption {i} is {type(caption).__name__} ({caption!r:.40}); expected a str"
            )
        if not caption.strip():
            raise InterSynError(f"caption {i} is empty; expected non-empty text")
    return list(captions)


class CaptionTruncatedWarning(UserWarning):
    """A caption was longer than the encoder's token limit; only its first tokens are kept."""


def warn_truncated(index: int, caption: str, n_tokens: int, max_tokens: int) -> None:
    """Warn that caption `index` had `n_tokens` tokens and only the first `max_tokens` are kept."""
    shown = caption if len(caption) <= 80 else caption[:77] + "..."
    warnings.warn(
        f"caption {index} ({shown!r}) has {n_tokens} tokens; truncated to the first {max_tokens}",
        CaptionTruncatedWarning,
        stacklevel=3,
    )
