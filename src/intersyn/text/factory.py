"""Build a text encoder by name: the offline default `wordllama` or a local `clip`."""

from __future__ import annotations

import os

import torch

from intersyn.errors import InterSynError
from intersyn.text.base import TextEncoder

TEXT_ENCODERS = ("wordllama", "clip")


def build_text_encoder(
    name: str = "wordllama",
    path: str | os.PathLike[str] | None = None,
    device: torch.device | str = "cpu",
    max_tokens: int | None = None,
    cache_dir: str | os.PathLike[str] | None = None,
) -> TextEncoder:
    """Return the encoder `name` ("wordllama" or "clip" from local `path`), cached if `cache_dir`.

    `max_tokens` defaults to 32 for wordllama and 77 for CLIP. Nothing is ever downloaded.
    """
    encoder: TextEncoder
    if name == "wordllama":
        if path is not None:
            raise InterSynError(
                f"text encoder 'wordllama' got path={str(path)!r}; expected no path (its weights "
                "ship inside the wordllama package)"
            )
        from intersyn.text.wordllama import WordLlamaEncoder

        encoder = WordLlamaEncoder(
            max_tokens=32 if max_tokens is None else max_tokens, device=device
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
