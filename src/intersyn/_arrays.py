"""Boundary checks shared by every public array function: numpy or torch in, the same type out."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np
import torch

from intersyn.errors import InterSynError

ArrayLike = np.ndarray | torch.Tensor


def _shape_text(shape: Sequence[Any]) -> str:
    return "(" + ", ".join(str(s) for s in shape) + ")"


def numeric_array(value: Any, name: str, expected: str) -> np.ndarray:
    """`value` (array-like or torch tensor) as a float64 numpy array, or a one-line error.

    Rejects what cannot be read as an array and non-numeric dtypes (strings, objects, bools);
    shape and finiteness are the caller's to check. `expected` describes the wanted shape.
    """
    if isinstance(value, torch.Tensor):
        value = value.detach().cpu().numpy()
    try:
        array = np.asarray(value)
    except Exception as exc:  # ragged lists and similar
        raise InterSynError(
            f"{name}: could not read as an array ({exc}); expected {expected}"
        ) from None
    if array.dtype == object or not (
        np.issubdtype(array.dtype, np.floating) or np.issubdtype(array.dtype, np.integer)
    ):
        raise InterSynError(
            f"{name}: expected a numeric array of shape {expected}, got dtype {array.dtype}"
        )
    return np.ascontiguousarray(array, dtype=np.float64)


def as_motion_tensor(
    value: Any,
    name: str,
    trailing: Sequence[int],
    *,
    min_frames: int | None = None,
    expected: str | None = None,
) -> tuple[torch.Tensor, bool]:
    """Validate `value` and return it as a floating tensor plus whether it came in as numpy.

    `trailing` are the required sizes of the last dimensions; when `min_frames` is given the
    dimension just before them is the time axis and must hold at least that many frames.
    numpy input is computed in float64 (the reference data is float32, and float64 keeps
    round trips at the 1e-7 level); torch input keeps its dtype and device.
    """
    want = expected or "(..., " + ", ".join(str(t) for t in trailing) + ")"
    if isinstance(value, torch.Tensor):
        tensor, from_numpy = value, False
    else:
        tensor, from_numpy = torch.from_numpy(numeric_array(value, name, want)), True
    if not tensor.is_floating_point():
        if tensor.dtype == torch.bool or tensor.is_complex():
            raise InterSynError(f"{name}: expected a real numeric array, got dtype {tensor.dtype}")
        tensor = tensor.double()
    n_tail = len(trailing)
    needed_dims = n_tail + (1 if min_frames is not None else 0)
    shape = tuple(tensor.shape)
    if tensor.dim() < needed_dims or tuple(shape[tensor.dim() - n_tail :]) != tuple(trailing):
        raise InterSynError(f"{name}: expected shape {want}, got {_shape_text(shape)}")
    if min_frames is not None and shape[-n_tail - 1] < min_frames:
        raise InterSynError(
            f"{name}: expected at least {min_frames} frames on axis {-n_tail - 1} of shape {want}, "
            f"got shape {_shape_text(shape)}"
        )
    if not bool(torch.isfinite(tensor).all()):
        bad = int((~torch.isfinite(tensor)).sum())
        raise InterSynError(f"{name}: contains {bad} NaN/inf value(s); expected finite numbers")
    return tensor, from_numpy


def to_output(tensor: torch.Tensor, from_numpy: bool, like: Any = None) -> ArrayLike:
    """Return `tensor` as numpy (dtype of `like` when given, else float32) or as-is for torch input."""
    if not from_numpy:
        return tensor
    dtype = np.float32
    if like is not None:
        like_dtype = np.asarray(like).dtype if not isinstance(like, np.ndarray) else like.dtype
        if np.issubdtype(like_dtype, np.floating):
            dtype = like_dtype
    return tensor.detach().cpu().numpy().astype(dtype, copy=False)
