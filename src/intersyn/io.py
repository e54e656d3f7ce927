"""Atomic file writes: everything goes to a temporary file in the target directory, then a rename.

A killed process never leaves a half-written file under the final name, and an existing file
is replaced in one step.
"""

from __future__ import annotations

import contextlib
import json
import os
import tempfile
from collections.abc import Iterator
from pathlib import Path
from typing import IO, Any

import numpy as np

_UMASK = os.umask(0)
os.umask(_UMASK)


@contextlib.contextmanager
def atomic_path(path: str | os.PathLike[str], suffix: str = ".tmp") -> Iterator[Path]:
    """A temporary sibling path to write (by any means); renamed over `path` on success.

    For writers that need a file name rather than a handle (ffmpeg, PIL). The file gets the
    usual mode (0666 minus the umask), not mkstemp's 0600.
    """
    target = Path(path)
    target.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp_name = tempfile.mkstemp(prefix=f".{target.name}.", suffix=suffix, dir=target.parent)
    os.close(fd)
    os.chmod(tmp_name, 0o666 & ~_UMASK)
    try:
        yield Path(tmp_name)
        os.replace(tmp_name, target)
    except BaseException:
        with contextlib.suppress(FileNotFoundError):
            os.unlink(tmp_name)
        raise


@contextlib.contextmanager
def atomic_open(
    path: str | os.PathLike[str], mode: str = "wb", *, sync: bool = True
) -> Iterator[IO[Any]]:
    """Open a temporary sibling of `path` for writing; rename it over `path` on success.

    `sync=False` skips the fsync, for files that can be recomputed or that live in a staging
    folder flushed as a whole before it is renamed into place.
    """
    encoding = None if "b" in mode else "utf-8"
    with atomic_path(path) as tmp, open(tmp, mode, encoding=encoding) as handle:
        yield handle
        handle.flush()
        if sync:
            os.fsync(handle.fileno())


def write_bytes(path: str | os.PathLike[str], data: bytes, *, sync: bool = True) -> None:
    """Write bytes atomically."""
    with atomic_open(path, "wb", sync=sync) as handle:
        handle.write(data)


def save_npy(path: str | os.PathLike[str], array: np.ndarray) -> None:
    """Write `array` to a `.npy` file atomically."""
    with atomic_open(path, "wb") as handle:
        np.save(handle, np.asarray(array), allow_pickle=False)


def write_text(path: str | os.PathLike[str], text: str) -> None:
    """Write UTF-8 text atomically."""
    with atomic_open(path, "w") as handle:
        handle.write(text)


def write_json(path: str | os.PathLike[str], data: Any) -> None:
    """Write JSON (indented, UTF-8, keys in insertion order) atomically."""
    write_text(path, json.dumps(data, indent=2, ensure_ascii=False) + "\n")
