"""The default offline text encoder: WordLlama token embeddings, whose weights ship in its wheel."""

from __future__ import annotations

import hashlib
import logging
from collections.abc import Sequence
from contextlib import ExitStack
from importlib import resources
from pathlib import Path
from typing import Any

import numpy as np
import torch

from intersyn.errors import InterSynError
from intersyn.text.base import TextFeatures, validate_captions, warn_truncated

# The one configuration whose files are inside the wordllama wheel (no download needed).
WEIGHTS_FILE = ("weights", "l2_supercat_256.safetensors")
TOKENIZER_FILE = ("tokenizers", "l2_supercat_tokenizer_config.json")
WEIGHTS_KEY = "embedding.weight"


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
    """WordLlama `l2_supercat` 256-d encoder: token features are the tokens' embedding rows.

    `tokens (B, L, 256)` with L <= `max_tokens`; `pooled (B, 256)` is WordLlama's own sentence
    embedding (mean of all the caption's token embeddings, before truncation), L2-normalised.
    Deterministic, CPU-cheap and never touches the network.
    """

    def __init__(self, max_tokens: int = 32, device: torch.device | str = "cpu") -> None:
        if isinstance(max_tokens, bool) or not isinstance(max_tokens, int) or max_tokens < 1:
            raise InterSynError(f"max_tokens={max_tokens!r}; expected an int >= 1")
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
        self.name = f"wordllama:l2_supercat_256:{digest}:max{max_tokens}"

    def __repr__(self) -> str:
        return f"WordLlamaEncoder(name={self.name!r}, device={self.device})"

    def encode(self, captions: Sequence[str]) -> TextFeatures:
        """Encode B captions into `tokens (B, L, 256)`, `token_mask (B, L)`, `pooled (B, 256)`."""
        captions = validate_captions(captions)
        encodings = self._inference.tokenize(captions)  # padded to the longest caption
        ids = np.array([e.ids for e in encodings], dtype=np.int64)  # (B, L_all)
        mask = np.array([e.attention_mask for e in encodings], dtype=bool)  # (B, L_all)
        lengths = mask.sum(axis=1)  # (B,)
        if (lengths == 0).any():
            index = int(np.flatnonzero(lengths == 0)[0])
            raise InterSynError(
                f"caption {index} ({captions[index]!r:.60}) gives no tokens; expected readable text"
            )
        for index in np.flatnonzero(lengths > self.max_tokens).tolist():
            warn_truncated(index, captions[index], int(lengths[index]), self.max_tokens)

        # numpy, single-threaded: these arrays are small, and torch's intra-op threads cost more
        # in synchronisation than they save here (10x slower on a busy 2-core machine).
        table = self._inference.embedding  # (V, C) float32
        rows = table[np.clip(ids, 0, table.shape[0] - 1)]  # (B, L_all, C)
        rows *= mask[..., None]  # padding rows exactly zero
        # The table holds float16 values, so a float64 sum is exact in any order: the pooled
        # vector does not depend on batch composition or padding length.
        pooled = rows.sum(axis=1, dtype=np.float64) / lengths[:, None]  # (B, C)
        pooled /= np.maximum(np.linalg.norm(pooled, axis=1, keepdims=True), 1e-12)
        length = min(ids.shape[1], self.max_tokens)
        tokens = torch.from_numpy(np.ascontiguousarray(rows[:, :length])).to(self.device)
        token_mask = torch.from_numpy(np.ascontiguousarray(mask[:, :length])).to(self.device)
        pooled_t = torch.from_numpy(pooled.astype(np.float32)).to(self.device)
        return TextFeatures(tokens, token_mask, pooled_t)
