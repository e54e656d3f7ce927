"""Checked, atomic checkpoints.

File layout: an 8-byte magic, the SHA-256 of the payload (32 bytes), then the payload (a
`torch.save` archive). Loading verifies the digest before unpickling anything (with
`weights_only=True`), so a truncated, corrupted or foreign file raises `InterSynError` instead
of loading half a model. Writes go through a temporary file and a rename.
"""

from __future__ import annotations

import hashlib
import io
import os
import random
from pathlib import Path
from typing import Any

import numpy as np
import torch

from intersyn.errors import InterSynError
from intersyn.io import atomic_open

MAGIC = b"ISYNCKP1"
FORMAT_VERSION = 1


def save_checkpoint(path: str | os.PathLike[str], payload: dict[str, Any]) -> str:
    """Write `payload` (tensors, numbers, strings, lists and dicts of them) atomically.

    Returns the payload's SHA-256 hex digest (recorded in outputs as the checkpoint hash).
    """
    buffer = io.BytesIO()
    torch.save({"format_version": FORMAT_VERSION, **payload}, buffer)
    data = buffer.getvalue()
    digest = hashlib.sha256(data).digest()
    with atomic_open(path, "wb") as handle:
        handle.write(MAGIC)
        handle.write(digest)
        handle.write(data)
    return digest.hex()


def read_checkpoint_bytes(path: str | os.PathLike[str]) -> tuple[bytes, str]:
    """The verified payload bytes of a checkpoint file and its digest, or a one-line error."""
    target = Path(path).expanduser()
    if target.is_dir():
        raise InterSynError(
            f"checkpoint {target}: is a directory; expected a checkpoint file written by "
            "`intersyn train` (e.g. RUN/checkpoints/final.pt)"
        )
    if not target.is_file():
        raise InterSynError(f"checkpoint {target}: file not found")
    raw = target.read_bytes()
    if len(raw) < len(MAGIC) + 32 or raw[: len(MAGIC)] != MAGIC:
        raise InterSynError(
            f"checkpoint {target}: not an InterSyn checkpoint (missing header); expected a file "
            "written by `intersyn train`"
        )
    digest, data = raw[len(MAGIC) : len(MAGIC) + 32], raw[len(MAGIC) + 32 :]
    if hashlib.sha256(data).digest() != digest:
        raise InterSynError(
            f"checkpoint {target}: corrupted or truncated (checksum mismatch); refusing to load it"
        )
    return data, digest.hex()


def load_checkpoint(
    path: str | os.PathLike[str], map_location: str | torch.device = "cpu"
) -> dict[str, Any]:
    """Load and verify a checkpoint; the result carries its digest under `"sha256"`."""
    data, digest = read_checkpoint_bytes(path)
    try:
        payload = torch.load(io.BytesIO(data), map_location=map_location, weights_only=True)
    except Exception as exc:  # a valid digest over a payload torch cannot read
        raise InterSynError(f"checkpoint {path}: unreadable payload ({exc})") from None
    if not isinstance(payload, dict) or payload.get("format_version") != FORMAT_VERSION:
        raise InterSynError(
            f"checkpoint {path}: format version {payload.get('format_version')!r}, expected "
            f"{FORMAT_VERSION}"
        )
    payload["sha256"] = digest
    return payload


def checkpoint_digest(path: str | os.PathLike[str]) -> str:
    """SHA-256 of a checkpoint's payload (verified)."""
    return read_checkpoint_bytes(path)[1]


def rng_state() -> dict[str, Any]:
    """Python, numpy-global and torch RNG states (CUDA too when present), checkpoint-safe types."""
    version, state, gauss = random.getstate()
    numpy_state = np.random.get_state()
    out: dict[str, Any] = {
        "python": [version, list(state), gauss],
        "numpy": [
            numpy_state[0],
            torch.from_numpy(numpy_state[1].astype(np.int64)),
            int(numpy_state[2]),
            int(numpy_state[3]),
            float(numpy_state[4]),
        ],
        "torch": torch.get_rng_state(),
    }
    if torch.cuda.is_available():
        out["cuda"] = torch.cuda.get_rng_state_all()
    return out


def set_rng_state(state: dict[str, Any]) -> None:
    """Restore what `rng_state` captured."""
    version, values, gauss = state["python"]
    random.setstate((version, tuple(values), gauss))
    name, keys, pos, has_gauss, cached = state["numpy"]
    np.random.set_state((name, keys.numpy().astype(np.uint32), pos, has_gauss, cached))
    torch.set_rng_state(state["torch"])
    if "cuda" in state and torch.cuda.is_available():
        torch.cuda.set_rng_state_all(state["cuda"])


class EMA:
    """Exponential moving average of a module's floating-point parameters and buffers.

    With `warmup` the decay ramps up as min(decay, (1 + n) / (10 + n)) after n updates, so a
    short run's average is not dominated by the random initial weights (0.998 ** 1000 still
    leaves 13.5 % of them after 1000 steps).
    """

    def __init__(self, module: torch.nn.Module, decay: float = 0.999, warmup: bool = True) -> None:
        if not 0.0 <= decay < 1.0:
            raise InterSynError(f"ema decay={decay}: expected 0 <= decay < 1")
        self.decay = decay
        self.warmup = warmup
        self.updates = 0
        self.shadow = {
            name: value.detach().clone()
            for name, value in module.state_dict().items()
            if value.dtype.is_floating_point
        }

    def current_decay(self) -> float:
        """The decay the next update uses."""
        if not self.warmup:
            return self.decay
        return min(self.decay, (1.0 + self.updates) / (10.0 + self.updates))

    @torch.no_grad()
    def update(self, module: torch.nn.Module) -> None:
        """shadow ← decay · shadow + (1 − decay) · current."""
        weight = 1.0 - self.current_decay()
        for name, value in module.state_dict().items():
            if name in self.shadow:
                self.shadow[name].lerp_(value.detach(), weight)
        self.updates += 1

    @torch.no_grad()
    def copy_to(self, module: torch.nn.Module) -> None:
        """Load the averaged weights into `module`."""
        module.load_state_dict({**module.state_dict(), **self.shadow})

    def state_dict(self) -> dict[str, Any]:
        return {
            "decay": self.decay,
            "warmup": self.warmup,
            "updates": self.updates,
            "shadow": self.shadow,
        }

    def load_state_dict(self, state: dict[str, Any]) -> None:
        self.decay = float(state["decay"])
        # Checkpoints from before the warm-up averaged with the constant decay throughout.
        self.warmup = bool(state.get("warmup", False))
        self.updates = int(state.get("updates", 0))
        # Keep each average on the device of the module it tracks (a checkpoint loads on the
        # CPU; a CUDA run resumed from it must not mix devices).
        devices = {k: v.device for k, v in self.shadow.items()}
        self.shadow = {
            k: v.to(devices.get(k, v.device), copy=True) for k, v in state["shadow"].items()
        }
