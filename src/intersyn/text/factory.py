"""Build a text encoder by name: the offline `wordllama` (three token units) and `minilm`, a
trained `aligned` one, or a local `clip`."""

from __future__ import annotations

import os
from collections.abc import Mapping
from typing import Any

import torch

from intersyn.errors import InterSynError
from intersyn.text.base import TextEncoder

# The offline encoder's names and the unit of their token features.
WORDLLAMA_UNITS = {
    "wordllama": "subwords",
    "wordllama-words": "words",
    "wordllama-sentences": "sentences",
}
MINILM_UNITS = {"minilm": "tokens", "minilm-sentences": "sentences"}
TEXT_ENCODERS = (*WORDLLAMA_UNITS, *MINILM_UNITS, "aligned", "clip")


def build_text_encoder(
    name: str = "wordllama",
    path: str | os.PathLike[str] | None = None,
    device: torch.device | str = "cpu",
    max_tokens: int | None = None,
    cache_dir: str | os.PathLike[str] | None = None,
    weights: Mapping[str, Any] | None = None,
) -> TextEncoder:
    """Return the encoder `name`, cached if `cache_dir`; nothing is ever downloaded.

    "wordllama" gives one token per subword, "wordllama-words" one per word and
    "wordllama-sentences" one per sentence (see `WordLlamaEncoder`); "minilm" runs the contextual
    sentence encoder all-MiniLM-L6-v2 from its PyPI wheel or a local folder `path` (see
    `MiniLMEncoder`), "minilm-sentences" the same model with one token per sentence; "aligned"
    reads a text encoder trained on motion (`intersyn text-encoder train`) from `path`, one
    token per sentence; "clip" reads CLIP ViT-L/14 from the local `path`. `max_tokens`
    defaults to 32 for wordllama, 64 for minilm, 8 (sentences) for minilm-sentences and
    aligned, and 77 for CLIP. `weights`: an aligned encoder's
    `weights()` as a generator checkpoint keeps them; used instead of `path` when given.
    """
    encoder: TextEncoder
    if name in WORDLLAMA_UNITS:
        if path is not None:
            raise InterSynError(
                f"text encoder {name!r} got path={str(path)!r}; expected no path (its weights "
                "ship inside the wordllama package)"
            )
        from intersyn.text.wordllama import WordLlamaEncoder

        encoder = WordLlamaEncoder(
            max_tokens=32 if max_tokens is None else max_tokens,
            device=device,
            units=WORDLLAMA_UNITS[name],
        )
    elif name in MINILM_UNITS:
        from intersyn.text.minilm import MiniLMEncoder

        units = MINILM_UNITS[name]
        default_tokens = 64 if units == "tokens" else 8
        encoder = MiniLMEncoder(
            path,
            max_tokens=default_tokens if max_tokens is None else max_tokens,
            device=device,
            units=units,
        )
    elif name == "aligned":
        if path is None and weights is None:
            raise InterSynError(
                "text encoder 'aligned' needs the path of a trained text_encoder.pt (made by "
                "`intersyn text-encoder train`); got none"
            )
        from intersyn.text.aligned import AlignedTextEncoder

        encoder = AlignedTextEncoder(
            weights if weights is not None else os.fspath(path),
            device=device,
            max_tokens=8 if max_tokens is None else max_tokens,
        )
    elif name == "clip":
        if path is None:
            raise InterSynError(
                "text encoder 'clip' needs a local path to CLIP ViT-L/14 weights (transformers or "
                "open_clip format); got none, and nothing is downloaded"
            )
        from intersyn.text.clip import CLIP_CONTEXT, ClipTextEncoder

        encoder = ClipTextEncoder(
            os.fspath(path),
            device=device,
            max_tokens=CLIP_CONTEXT if max_tokens is None else max_tokens,
        )
    else:
        raise InterSynError(
            f"text encoder {name!r} is unknown; expected one of {', '.join(TEXT_ENCODERS)}"
        )
    if cache_dir is not None:
        from intersyn.text.cache import CachedTextEncoder

        encoder = CachedTextEncoder(encoder, cache_dir)
    return encoder
