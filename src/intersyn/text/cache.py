"""Persistent per-caption embedding cache: one checksummed safetensors file per (encoder, caption).

Layout: `<cache_dir>/<sha256(encoder name)[:16]>/<key[:2]>/<key>.safetensors` with
`key = sha256(encoder name + NUL + caption)`, plus `encoder.json` naming the encoder. Each file
holds the caption's unpadded `tokens (n, C)` and `pooled (C',)`, and its metadata repeats the
encoder name, the caption and a SHA-256 of the tensor bytes, so a stale or damaged file is
detected and recomputed instead of used. An in-memory LRU sits in front of the disk.
"""

from __future__ import annotations

import contextlib
import hashlib
import json
import os
import warnings
from collections import OrderedDict
from collections.abc import Sequence
from pathlib import Path

import torch

from intersyn.errors import InterSynError
from intersyn.io import write_bytes
from intersyn.text.base import CaptionFeatures, TextEncoder, TextFeatures, validate_captions

CACHE_FORMAT = "1"  # bump when the file layout changes; older entries are then recomputed


def caption_key(encoder_name: str, caption: str) -> str:
    """Cache key of `caption` under the encoder called `encoder_name` (hex SHA-256)."""
    return hashlib.sha256(f"{encoder_name}\x00{caption}".encode()).hexdigest()


def _checksum(tokens: torch.Tensor, pooled: torch.Tensor) -> str:
    digest = hashlib.sha256(tokens.contiguous().numpy().tobytes())
    digest.update(pooled.contiguous().numpy().tobytes())
    return digest.hexdigest()


def _write_bytes_atomic(path: Path, data: bytes) -> None:
    """Write `data` to `path` through a temporary sibling and `os.replace`."""
    # No fsync: an entry can always be recomputed, and its checksum catches a torn write.
    write_bytes(path, data, sync=False)


class CachedTextEncoder:
    """Wrap any `TextEncoder` with a persistent per-caption cache; returns identical features.

    Only captions missing from memory and disk reach the wrapped encoder, in one batch per call.
    `hits` and `misses` count captions served from the cache and encoded afresh.
    """

    def __init__(
        self, encoder: TextEncoder, cache_dir: str | os.PathLike[str], memory_items: int = 4096
    ) -> None:
        if isinstance(memory_items, bool) or not isinstance(memory_items, int) or memory_items < 0:
            raise InterSynError(f"memory_items={memory_items!r}; expected an int >= 0")
        self.encoder = encoder
        self.name, self.dim, self.pooled_dim = encoder.name, encoder.dim, encoder.pooled_dim
        self.max_tokens, self.device = encoder.max_tokens, encoder.device
        self.root = (
            Path(cache_dir).expanduser() / hashlib.sha256(self.name.encode()).hexdigest()[:16]
        )
        try:
            self.root.mkdir(parents=True, exist_ok=True)
        except OSError as exc:
            raise InterSynError(
                f"text cache dir {cache_dir}: cannot create it ({exc.strerror}); expected a "
                "writable directory"
            ) from None
        info = self.root / "encoder.json"
        if not info.exists():
            record = {"name": self.name, "dim": self.dim, "pooled_dim": self.pooled_dim}
            _write_bytes_atomic(info, (json.dumps(record, indent=2) + "\n").encode())
        self.memory_items = memory_items
        self._memory: OrderedDict[str, CaptionFeatures] = OrderedDict()
        self.hits = 0
        self.misses = 0

    def __repr__(self) -> str:
        return f"CachedTextEncoder({self.encoder!r}, cache_dir={str(self.root.parent)!r})"

    def path_for(self, caption: str) -> Path:
        """File that holds (or would hold) the cached features of `caption`."""
        key = caption_key(self.name, caption)
        return self.root / key[:2] / f"{key}.safetensors"

    def encode(self, captions: Sequence[str]) -> TextFeatures:
        """Encode B captions like the wrapped encoder, reading and filling the cache."""
        captions = validate_captions(captions)
        found: dict[str, CaptionFeatures] = {}
        missing: list[str] = []
        for caption in dict.fromkeys(captions):  # unique captions, first-seen order
            item = self._lookup(caption)
            if item is None:
                missing.append(caption)
            else:
                found[caption] = item
        if missing:
            fresh = self.encoder.encode(missing).to("cpu").unbatch()
            for caption, item in zip(missing, fresh, strict=True):
                # Own storage, so a cached entry does not pin the whole batch in memory.
                item = CaptionFeatures(item.tokens.clone(), item.pooled.clone())
                self._save(caption, item)
                self._remember(caption, item)
                found[caption] = item
        self.misses += len(missing)
        self.hits += len(captions) - len(missing)
        return TextFeatures.collate([found[c] for c in captions]).to(self.device)

    def _remember(self, caption: str, item: CaptionFeatures) -> None:
        if self.memory_items == 0:
            return
        self._memory[caption] = item
        self._memory.move_to_end(caption)
        while len(self._memory) > self.memory_items:
            self._memory.popitem(last=False)

    def _lookup(self, caption: str) -> CaptionFeatures | None:
        item = self._memory.get(caption)
        if item is not None:
            self._memory.move_to_end(caption)
            return item
        path = self.path_for(caption)
        if not path.is_file():
            return None
        try:
            item = self._load(path, caption)
        except Exception as exc:  # damaged file: any parse or validation failure
            warnings.warn(f"text cache entry {path} is unusable ({exc}); recomputing", stacklevel=3)
            with contextlib.suppress(OSError):
                path.unlink()
            return None
        self._remember(caption, item)
        return item

    def _load(self, path: Path, caption: str) -> CaptionFeatures:
        """Read one entry and check that it is complete and belongs to this encoder and caption."""
        from safetensors import safe_open

        with safe_open(str(path), framework="pt") as handle:
            meta = handle.metadata() or {}
            tokens, pooled = handle.get_tensor("tokens"), handle.get_tensor("pooled")
        if meta.get("format") != CACHE_FORMAT:
            raise ValueError(f"format {meta.get('format')!r}, expected {CACHE_FORMAT!r}")
        if meta.get("encoder") != self.name or meta.get("caption") != caption:
            raise ValueError("written for another encoder or caption")
        if (
            tokens.dtype != torch.float32
            or pooled.dtype != torch.float32
            or tokens.dim() != 2
            or not 1 <= tokens.shape[0] <= self.max_tokens
            or tokens.shape[1] != self.dim
            or tuple(pooled.shape) != (self.pooled_dim,)
        ):
            raise ValueError(f"tokens {tuple(tokens.shape)} / pooled {tuple(pooled.shape)} shapes")
        if _checksum(tokens, pooled) != meta.get("sha256"):
            raise ValueError("checksum mismatch")
        return CaptionFeatures(tokens, pooled)

    def _save(self, caption: str, item: CaptionFeatures) -> None:
        from safetensors.torch import save

        path = self.path_for(caption)
        path.parent.mkdir(exist_ok=True)
        meta = {
            "format": CACHE_FORMAT,
            "encoder": self.name,
            "caption": caption,
            "sha256": _checksum(item.tokens, item.pooled),
        }
        _write_bytes_atomic(path, save({"tokens": item.tokens, "pooled": item.pooled}, meta))
