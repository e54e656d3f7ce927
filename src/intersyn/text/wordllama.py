"""The default offline text encoder: WordLlama token embeddings, whose weights ship in its wheel."""

from __future__ import annotations

import hashlib
import logging
import string
from collections.abc import Callable, Sequence
from contextlib import ExitStack
from importlib import resources
from pathlib import Path
from typing import Any

import numpy as np
import torch

from intersyn.errors import InterSynError
from intersyn.text.base import TextFeatures, split_sentences, validate_captions, warn_truncated

# The one configuration whose files are inside the wordllama wheel (no download needed).
WEIGHTS_FILE = ("weights", "l2_supercat_256.safetensors")
TOKENIZER_FILE = ("tokenizers", "l2_supercat_tokenizer_config.json")
WEIGHTS_KEY = "embedding.weight"
# What one token feature stands for: a subword of the tokenizer, a word, or a whole sentence.
UNITS = ("subwords", "words", "sentences")
WORD_START = "\u2581"  # the tokenizer's mark of a piece that begins a word


def _import_wordllama() -> tuple[Any, Any]:
    """Import `WordLlama` and `WordLlamaInference` without keeping wordllama's logging setup."""
    # wordllama calls logging.basicConfig(level=INFO) at import time, which would switch on the
    # INFO logs of every library in the user's process; put the root logger back as it was.
    root = logging.getLogger()
    handlers, level = list(root.handlers), root.level
    try:
        from wordllama import WordLlama
        from wordllama.inference import WordLlamaInference
    except ImportError as exc:
        raise InterSynError(
            f"text encoder 'wordllama': cannot import the wordllama package ({exc}); "
            "expected it installed (pip install wordllama)"
        ) from None
    finally:
        root.handlers[:] = handlers
        root.setLevel(level)
    return WordLlama, WordLlamaInference


class WordLlamaEncoder:
    """WordLlama `l2_supercat` 256-d encoder, deterministic, CPU-cheap and never online.

    `pooled (B, 256)` is WordLlama's own sentence embedding of the whole caption (mean of all
    its token embeddings, before truncation), L2-normalised. `tokens (B, L, 256)`, L <=
    `max_tokens`, depend on `units`:
    - "subwords": the caption's subword tokens' embedding rows;
    - "words": one token per word, the mean of its subwords' rows (a one-piece word keeps its
      row; each punctuation mark is a word of its own);
    - "sentences": one token per sentence, that sentence's own pooled embedding.
    Subword rows carry little meaning alone ("walks" is `▁wal`+`ks`, "strolls" `▁st`+`roll`+`s`),
    while WordLlama is trained so that mean-pooled vectors of paraphrases lie close: a denoiser
    reading word or sentence vectors can carry a wording it never saw to the motion of a nearby
    one. An interleaved caption joins its segments' captions as sentences, in order.
    """

    def __init__(
        self, max_tokens: int = 32, device: torch.device | str = "cpu", units: str = "subwords"
    ) -> None:
        if isinstance(max_tokens, bool) or not isinstance(max_tokens, int) or max_tokens < 1:
            raise InterSynError(f"max_tokens={max_tokens!r}; expected an int >= 1")
        if units not in UNITS:
            raise InterSynError(f"units={units!r}; expected one of {', '.join(UNITS)}")
        word_llama, inference_cls = _import_wordllama()
        package = resources.files("wordllama")
        with ExitStack() as stack:
            weights = Path(stack.enter_context(resources.as_file(package.joinpath(*WEIGHTS_FILE))))
            tokenizer_file = Path(
                stack.enter_context(resources.as_file(package.joinpath(*TOKENIZER_FILE)))
            )
            for path in (weights, tokenizer_file):
                if not path.is_file():
                    raise InterSynError(
                        f"text encoder 'wordllama': packaged file {path} is missing; expected the "
                        "wordllama wheel to ship it (reinstall wordllama)"
                    )
            # No Hugging Face id is passed, so a missing file raises instead of downloading.
            tokenizer = word_llama.load_tokenizer(tokenizer_file)
            from safetensors import safe_open

            with safe_open(str(weights), framework="np") as handle:
                table = handle.get_tensor(WEIGHTS_KEY)  # (32000, 256) float16
            digest = hashlib.sha256(weights.read_bytes()).hexdigest()[:16]
        # WordLlama's inference object owns the tokenizer settings (padding on, no truncation,
        # no special tokens), so our token ids are exactly the ones its own embed() uses.
        self._inference = inference_cls(table, tokenizer)
        self.device = torch.device(device)
        self.max_tokens = max_tokens
        self.dim = int(self._inference.embedding.shape[1])
        self.pooled_dim = self.dim
        self.units = units
        if units == "words":  # which vocabulary pieces begin a word or are punctuation
            pieces = [tokenizer.id_to_token(i) or "" for i in range(table.shape[0])]
            self._starts_word = np.array([p.startswith(WORD_START) for p in pieces])  # (V,)
            self._is_punctuation = np.array(
                [
                    bool(p.strip(WORD_START)) and not p.strip(WORD_START + string.punctuation)
                    for p in pieces
                ]
            )  # (V,)
        suffix = "" if units == "subwords" else f":{units}"  # subword names predate `units`
        self.name = f"wordllama:l2_supercat_256:{digest}:max{max_tokens}{suffix}"

    def __repr__(self) -> str:
        return f"WordLlamaEncoder(name={self.name!r}, device={self.device})"

    def encode(self, captions: Sequence[str]) -> TextFeatures:
        """Encode B captions into `tokens (B, L, 256)`, `token_mask (B, L)`, `pooled (B, 256)`."""
        captions = validate_captions(captions)
        ids, mask = self._token_ids(captions)  # (B, L_all), (B, L_all)
        rows = self._rows(ids, mask)  # (B, L_all, C)
        pooled = _mean_normalised(rows, mask)  # (B, C)
        if self.units == "words":
            rows, mask = self._word_means(ids, mask, rows)
        elif self.units == "sentences":
            sentences = [split_sentences(c) for c in captions]
            flat = [s for caption in sentences for s in caption]
            flat_ids, flat_mask = self._token_ids(flat)
            sentence_pooled = _mean_normalised(self._rows(flat_ids, flat_mask), flat_mask)  # (S, C)
            counts = np.array([len(s) for s in sentences])  # (B,)
            rows = np.zeros((len(captions), counts.max(), self.dim), np.float32)
            mask = np.arange(counts.max()) < counts[:, None]  # (B, L_all)
            rows[mask] = sentence_pooled  # row-major order of the mask = caption, then sentence
        lengths = mask.sum(axis=1)  # (B,)
        for index in np.flatnonzero(lengths > self.max_tokens).tolist():
            warn_truncated(index, captions[index], int(lengths[index]), self.max_tokens)
        length = min(rows.shape[1], self.max_tokens)
        tokens = torch.from_numpy(np.ascontiguousarray(rows[:, :length])).to(self.device)
        token_mask = torch.from_numpy(np.ascontiguousarray(mask[:, :length])).to(self.device)
        pooled_t = torch.from_numpy(pooled.astype(np.float32)).to(self.device)
        return TextFeatures(tokens, token_mask, pooled_t)

    def _token_ids(self, captions: Sequence[str]) -> tuple[np.ndarray, np.ndarray]:
        """Subword ids `(B, L_all)` int64 and mask `(B, L_all)`, padded to the longest caption."""
        encodings = self._inference.tokenize(list(captions))
        ids = np.array([e.ids for e in encodings], dtype=np.int64)
        mask = np.array([e.attention_mask for e in encodings], dtype=bool)
        empty = np.flatnonzero(mask.sum(axis=1) == 0)
        if empty.size:
            index = int(empty[0])
            raise InterSynError(
                f"caption {index} ({captions[index]!r:.60}) gives no tokens; expected readable text"
            )
        return np.clip(ids, 0, self._inference.embedding.shape[0] - 1), mask

    def _rows(self, ids: np.ndarray, mask: np.ndarray) -> np.ndarray:
        """Embedding rows `(B, L_all, C)` float32 of `ids`, padding rows exactly zero."""
        # numpy, single-threaded: these arrays are small, and torch's intra-op threads cost more
        # in synchronisation than they save here (10x slower on a busy 2-core machine).
        rows = self._inference.embedding[ids]  # (B, L_all, C)
        rows *= mask[..., None]
        return rows

    def _word_means(
        self, ids: np.ndarray, mask: np.ndarray, rows: np.ndarray
    ) -> tuple[np.ndarray, np.ndarray]:
        """Per-word means of `rows` `(B, W, C)` float32 and the word mask `(B, W)`."""
        punctuation = self._is_punctuation[ids]  # (B, L_all)
        after_punctuation = np.pad(punctuation[:, :-1], ((0, 0), (1, 0)), constant_values=True)
        starts = (self._starts_word[ids] | punctuation | after_punctuation) & mask
        starts[:, 0] = mask[:, 0]  # a caption's first piece begins its first word
        word = np.cumsum(starts, axis=1) - 1  # (B, L_all) word index of each piece
        # (B, W, L_all) one-hot of piece -> word: a batched matmul sums each word's rows (in
        # float64, exactly: the rows hold float16 values), far faster than np.add.at.
        assign = (word[:, None, :] == np.arange(int(word.max()) + 1)[None, :, None]) & mask[:, None]
        counts = assign.sum(axis=2)  # (B, W)
        word_mask = counts > 0
        means = (assign @ rows.astype(np.float64)) / np.maximum(counts, 1)[..., None]
        return means.astype(np.float32), word_mask


def _mean_normalised(rows: np.ndarray, mask: np.ndarray) -> np.ndarray:
    """L2-normalised mean of each caption's rows `(B, L, C)` over its tokens → `(B, C)` float64."""
    # The table holds float16 values, so a float64 sum is exact in any order: the pooled
    # vector does not depend on batch composition or padding length.
    pooled = rows.sum(axis=1, dtype=np.float64) / mask.sum(axis=1)[:, None]
    return pooled / np.maximum(np.linalg.norm(pooled, axis=1, keepdims=True), 1e-12)


def word_vectors() -> Callable[[list[str]], np.ndarray]:
    """Embeds single words: WordLlama's pooled vector of each word, `(W, 256)` L2-normalised.

    For unseen-word substitution (`intersyn.text.vocabulary`), whatever encoder the model uses.
    """
    encoder = WordLlamaEncoder(max_tokens=16)
    return lambda words: encoder.encode(words).pooled.cpu().numpy()
