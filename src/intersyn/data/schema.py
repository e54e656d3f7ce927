"""Items the dataset loaders return: captions, single-person clips, two-person interactions.

Motion arrays may be held in memory or as a lazy reference to rows of a `.npy` file
(`NpyRows`), so that listing a few thousand clips does not read them all; `SoloItem.load_features`
and `PairItem.load` always return arrays.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path
from typing import Generic, TypeVar

import numpy as np

from intersyn.errors import InterSynError
from intersyn.kinematics.pair import zup_to_yup

T = TypeVar("T")


@dataclass(frozen=True)
class Caption:
    """One caption: text, HumanML3D `word/POS` tokens, and the seconds it covers (0, 0 = whole clip)."""

    text: str
    tokens: tuple[str, ...] = ()
    start: float = 0.0
    end: float = 0.0

    @property
    def whole_clip(self) -> bool:
        """True when the caption describes the whole clip (HumanML3D's start = end = 0)."""
        return self.start == 0.0 and self.end == 0.0


@dataclass(frozen=True)
class NpyRows:
    """A lazy row range `[start, stop)` of a `.npy` file whose validated shape is `shape`."""

    path: Path
    start: int
    stop: int
    shape: tuple[int, ...]  # shape of the selected rows

    def load(self) -> np.ndarray:
        """Read the rows as a float32 array (memory-mapped read, then copied)."""
        data = np.load(self.path, mmap_mode="r", allow_pickle=False)
        return np.array(data[self.start : self.stop], dtype=np.float32)

    def __len__(self) -> int:
        return self.shape[0]

    def __array__(self, dtype: np.dtype | None = None, copy: bool | None = None) -> np.ndarray:
        array = self.load()
        return array if dtype is None else array.astype(dtype, copy=False)


@dataclass(frozen=True)
class SoloItem:
    """One HumanML3D clip or caption-tagged sub-clip: `features (T, 263)` float32 at `fps` (20).

    `features` is an array or an `NpyRows` reference; `load_features()` returns the array.
    `captions` are the captions that describe exactly these frames.
    """

    id: str
    features: np.ndarray | NpyRows
    captions: tuple[Caption, ...]
    fps: int = 20
    source: str = ""  # the file id the rows come from (differs from `id` for sub-clips)

    @property
    def num_frames(self) -> int:
        """Number of feature rows T."""
        return len(self.features)

    def load_features(self) -> np.ndarray:
        """The `(T, 263)` float32 feature array."""
        if isinstance(self.features, NpyRows):
            return self.features.load()
        return np.asarray(self.features, dtype=np.float32)


@dataclass(frozen=True)
class RawPair:
    """Lazy reference to the two processed InterHuman files of one interaction (`(T, ≥312)`, Z-up)."""

    person1: Path
    person2: Path
    num_frames: int

    def __len__(self) -> int:
        return self.num_frames


@dataclass(frozen=True)
class PairItem:
    """One two-person interaction at `fps` (30).

    `joints` is `(2, T, 22, 3)` float32 metres, Y up, both people in one world frame, with
    `rotations (2, T, 21, 6)` InterHuman-layout 6D (as stored in the files); or `joints` is a
    `RawPair` reference and `rotations` None, read and converted by `load()`.
    `person_captions` are per-person captions line-aligned with `captions` (FreeMotion's
    separate annotations) or None when the dataset has none.
    """

    id: str
    joints: np.ndarray | RawPair
    rotations: np.ndarray | None
    captions: tuple[str, ...]
    person_captions: tuple[tuple[str, ...], tuple[str, ...]] | None = None
    fps: int = 30

    @property
    def num_frames(self) -> int:
        """Number of frames T."""
        if isinstance(self.joints, RawPair):
            return self.joints.num_frames
        return int(self.joints.shape[1])

    def load(self) -> tuple[np.ndarray, np.ndarray]:
        """Joints `(2, T, 22, 3)` Y up and 6D rotations `(2, T, 21, 6)`, float32."""
        if not isinstance(self.joints, RawPair):
            rotations = self.rotations
            if rotations is None:
                raise InterSynError(
                    f"pair {self.id}: in-memory joints without rotations; expected (2, T, 21, 6)"
                )
            return np.asarray(self.joints, np.float32), np.asarray(rotations, np.float32)
        frames = self.joints.num_frames
        raw = np.stack(
            [
                np.load(path, allow_pickle=False)[:, :312]
                for path in (self.joints.person1, self.joints.person2)
            ]
        ).astype(np.float32, copy=False)  # (2, T, 312), Z up
        joints = zup_to_yup(raw[..., :66].reshape(2, frames, 22, 3))
        rotations = np.ascontiguousarray(raw[..., 186:312].reshape(2, frames, 21, 6))
        return joints, rotations

    def load_joints(self) -> np.ndarray:
        """Joints `(2, T, 22, 3)` float32, metres, Y up."""
        return self.load()[0]


@dataclass(frozen=True)
class LoadReport:
    """What a loader left out: items skipped as bad (with one reason each) and items filtered by length."""

    skipped: int = 0
    reasons: tuple[str, ...] = ()
    filtered: int = 0  # valid items outside the frame-count range (not errors)


class LoadedItems(list, Generic[T]):
    """A plain list of items that also carries the loader's `report: LoadReport`."""

    def __init__(self, items: Iterable[T] = (), report: LoadReport | None = None) -> None:
        super().__init__(items)
        self.report = report if report is not None else LoadReport()


__all__ = [
    "Caption",
    "LoadReport",
    "LoadedItems",
    "NpyRows",
    "PairItem",
    "RawPair",
    "SoloItem",
]
