"""Normalisation statistics: compute, save, load and apply (REFERENCE.md §1.8, §2.7).

- HumanML3D (`Mean.npy`, `Std.npy`, 263 dims): mean per dimension over every frame of every clip;
  std per dimension, then replaced by its average within each of the feature's 7 slices.
- InterHuman (`global_mean.npy`, `global_std.npy`, 262 dims, InterGen convention): per-dimension
  mean and std over both persons of every interaction, person 2 expressed in person 1's
  canonical frame (what InterGen's model sees), rotations as stored in the files.
Files holding NaN/inf are skipped, as the HumanML3D script does. A dimension that never varies
(std < MIN_STD: float32 round-off of a constant) gets std 1, so normalising maps it to 0 instead
of blowing round-off up.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import torch

from intersyn.data.humanml3d import FEATURE_DIM, humanml3d_dir
from intersyn.data.interhuman import interhuman_dir
from intersyn.data.schema import PairItem, SoloItem
from intersyn.errors import InterSynError
from intersyn.io import save_npy
from intersyn.kinematics.pair import INTERHUMAN_DIM, interhuman_pair_features
from intersyn.kinematics.representation import std_slice_average

MIN_STD = 1e-5  # below this a dimension is constant up to float32 round-off (values ~1)
HUMANML3D_FILES = ("Mean.npy", "Std.npy")
INTERHUMAN_FILES = ("global_mean.npy", "global_std.npy")


@dataclass(frozen=True)
class Moments:
    """Count, mean and sum of squared deviations (M2) per dimension, float64 `(D,)`.

    Blocks merge with Chan et al.'s pairwise update, so statistics gathered per clip (in worker
    processes) and merged in a fixed order give the same result for any number of workers.
    """

    count: int
    mean: np.ndarray
    m2: np.ndarray

    @staticmethod
    def empty(dim: int) -> Moments:
        """No data yet."""
        return Moments(0, np.zeros(dim), np.zeros(dim))

    @staticmethod
    def of(block: np.ndarray) -> Moments:
        """Moments of rows `(N, D)`."""
        block = np.asarray(block, np.float64)
        mean = block.mean(0)
        return Moments(block.shape[0], mean, ((block - mean) ** 2).sum(0))

    def merge(self, other: Moments) -> Moments:
        """Moments of the union of both sets of rows."""
        if other.count == 0:
            return self
        if self.count == 0:
            return other
        count = self.count + other.count
        delta = other.mean - self.mean
        mean = self.mean + delta * (other.count / count)
        m2 = self.m2 + other.m2 + delta**2 * (self.count * other.count / count)
        return Moments(count, mean, m2)

    def mean_std(self) -> tuple[np.ndarray, np.ndarray]:
        """Mean and population std `(D,)` float64."""
        if self.count == 0:
            raise InterSynError("normalisation statistics: no finite frames; expected data")
        return self.mean, np.sqrt(self.m2 / self.count)


def finite_moments(block: np.ndarray, dim: int) -> Moments:
    """Moments of rows `(N, dim)`, or empty ones if the block holds NaN/inf (skipped, as HumanML3D)."""
    block = np.asarray(block, np.float64).reshape(-1, dim)
    if block.shape[0] == 0 or not np.isfinite(block).all():
        return Moments.empty(dim)
    return Moments.of(block)


def humanml3d_stats_from_moments(moments: Moments) -> tuple[np.ndarray, np.ndarray]:
    """HumanML3D Mean/Std `(263,)` float32: per-dimension mean, std averaged within each slice."""
    mean, std = moments.mean_std()
    std = std_slice_average(torch.from_numpy(std)).numpy()
    return mean.astype(np.float32), guard_std(std).astype(np.float32)


def interhuman_moments(joints: np.ndarray, rotations: np.ndarray) -> Moments:
    """Moments of InterGen's pair-canonical 262-dim features of both persons of one interaction.

    Args:
        joints: `(2, T, 22, 3)` metres, Y up. rotations: `(2, T, 21, 6)` InterHuman 6D.
    """
    joints = np.asarray(joints, np.float64)
    feats = np.asarray(interhuman_pair_features(joints[0], joints[1]))
    # InterGen copies the file's rotations into the feature (rows 0..T-2).
    feats[..., 132:258] = np.asarray(rotations)[:, :-1].reshape(2, -1, 126)
    return finite_moments(feats, INTERHUMAN_DIM)


def guard_std(std: np.ndarray) -> np.ndarray:
    """Std with constant dimensions (< MIN_STD) set to 1."""
    return np.where(std < MIN_STD, 1.0, std)


def compute_humanml3d_stats(
    clips: Iterable[SoloItem | np.ndarray],
) -> tuple[np.ndarray, np.ndarray]:
    """HumanML3D Mean/Std `(263,)` float32 of clips `(T, 263)` (std averaged within slices)."""
    moments = Moments.empty(FEATURE_DIM)
    for clip in clips:
        features = clip.load_features() if isinstance(clip, SoloItem) else np.asarray(clip)
        if features.ndim != 2 or features.shape[1] != FEATURE_DIM:
            raise InterSynError(f"features {features.shape}: expected (T, 263)")
        moments = moments.merge(finite_moments(features, FEATURE_DIM))
    return humanml3d_stats_from_moments(moments)


def compute_interhuman_stats(items: Iterable[PairItem]) -> tuple[np.ndarray, np.ndarray]:
    """Per-dimension mean/std `(262,)` float32 of InterGen's pair-canonical features, both persons."""
    moments = Moments.empty(INTERHUMAN_DIM)
    for item in items:
        moments = moments.merge(interhuman_moments(*item.load()))
    mean, std = moments.mean_std()
    return mean.astype(np.float32), guard_std(std).astype(np.float32)


def save_normalization(
    directory: Path, mean: np.ndarray, std: np.ndarray, names: tuple[str, str] = HUMANML3D_FILES
) -> None:
    """Write mean and std `.npy` files (float32) into `directory` atomically."""
    save_npy(directory / names[0], np.asarray(mean, np.float32))
    save_npy(directory / names[1], np.asarray(std, np.float32))


def _read_stat(path: Path, dim: int) -> np.ndarray:
    if not path.is_file():
        raise InterSynError(f"normalisation file {path}: not found; expected a ({dim},) .npy array")
    try:
        array = np.load(path, allow_pickle=False)
    except Exception as exc:  # truncated or not an .npy file
        raise InterSynError(
            f"normalisation file {path}: not a readable .npy array ({type(exc).__name__}); "
            f"expected a ({dim},) .npy array"
        ) from None
    if array.shape != (dim,) or not np.issubdtype(array.dtype, np.number):
        raise InterSynError(
            f"normalisation file {path}: shape {array.shape} dtype {array.dtype}; expected ({dim},) numbers"
        )
    if not np.isfinite(array).all():
        raise InterSynError(
            f"normalisation file {path}: contains NaN or inf; expected finite values"
        )
    return array.astype(np.float32)


def load_normalization(
    root: str | Path, dataset: str = "humanml3d"
) -> tuple[np.ndarray, np.ndarray]:
    """Mean and std of a dataset folder: `humanml3d` → `Mean.npy`/`Std.npy` `(263,)`,
    `interhuman` → `global_mean.npy`/`global_std.npy` `(262,)`; float32; std must be > 0."""
    if dataset == "humanml3d":
        base, names, dim = humanml3d_dir(root), HUMANML3D_FILES, FEATURE_DIM
    elif dataset == "interhuman":
        base, names, dim = interhuman_dir(root), INTERHUMAN_FILES, INTERHUMAN_DIM
    else:
        raise InterSynError(f"dataset {dataset!r}: expected 'humanml3d' or 'interhuman'")
    mean = _read_stat(base / names[0], dim)
    std = _read_stat(base / names[1], dim)
    if (std <= 0).any():
        raise InterSynError(
            f"normalisation file {base / names[1]}: std ≤ 0 in {int((std <= 0).sum())} dims; expected > 0"
        )
    return mean, std


def normalize(features: np.ndarray | torch.Tensor, mean: np.ndarray, std: np.ndarray):
    """`(x − mean) / std` over the last dimension; numpy or torch, same type out."""
    if isinstance(features, torch.Tensor):
        m = torch.as_tensor(mean, dtype=features.dtype, device=features.device)
        s = torch.as_tensor(std, dtype=features.dtype, device=features.device)
        return (features - m) / s
    return ((np.asarray(features) - mean) / std).astype(np.asarray(features).dtype, copy=False)


def denormalize(features: np.ndarray | torch.Tensor, mean: np.ndarray, std: np.ndarray):
    """`x · std + mean` over the last dimension; numpy or torch, same type out."""
    if isinstance(features, torch.Tensor):
        m = torch.as_tensor(mean, dtype=features.dtype, device=features.device)
        s = torch.as_tensor(std, dtype=features.dtype, device=features.device)
        return features * s + m
    return (np.asarray(features) * std + mean).astype(np.asarray(features).dtype, copy=False)
