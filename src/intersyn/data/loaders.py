"""Training data: interleaved and single-person samples in one layout, batched (paper §5.1).

Both kinds of sample are pair features `(2, T, 267)` (`intersyn.kinematics.pair`) padded to
a fixed T with masks, so one model sees both:
- `InterleavedDataset` builds samples on the fly with U(·) from a `SourceBank` (a new sample
  for every index and epoch, reproducible from the seed);
- `SoloDataset` serves plain single-person clips (HumanML3D-style), partner absent;
- `AlternatingBatches` interleaves batches of the two in a configurable ratio.
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from dataclasses import dataclass

import numpy as np
import torch
from torch.utils.data import DataLoader, Dataset

from intersyn.data.interleave import (
    InterleaveConfig,
    PairSource,
    SoloSource,
    interleave,
    prepare_pair,
    prepare_solo,
)
from intersyn.data.schema import PairItem, SoloItem
from intersyn.errors import InterSynError
from intersyn.kinematics.pair import PAIR_FEATURE_DIM
from intersyn.kinematics.representation import FEATURE_DIM, features_to_joints

NO_SEGMENT = -1  # t_i or t_s of a sample without that kind of segment


@dataclass(frozen=True)
class MotionSample:
    """One training sample: features `(2, T, 267)`, `presence (2, T)`, `valid (T,)` over feature rows."""

    features: np.ndarray
    presence: np.ndarray
    valid: np.ndarray
    interaction_start: int  # t_i, NO_SEGMENT if none
    solo_start: int  # t_s, NO_SEGMENT if none
    boundaries: tuple[int, ...]  # frames where a segment starts (excluding 0)
    caption: str
    kind: str  # "interleaved" or "solo"


@dataclass(frozen=True)
class Batch:
    """A collated batch; tensors on CPU until `to(device)`.

    motion `(B, 2, T, 267)` float32 (unnormalised), presence `(B, 2, T)` bool, valid `(B, T)`
    bool, interaction_start/solo_start `(B,)` long, boundaries `(B, S)` long padded with −1.
    """

    motion: torch.Tensor
    presence: torch.Tensor
    valid: torch.Tensor
    interaction_start: torch.Tensor
    solo_start: torch.Tensor
    boundaries: torch.Tensor
    captions: tuple[str, ...]
    kinds: tuple[str, ...]

    def to(self, device: torch.device | str) -> Batch:
        """The same batch with every tensor moved to `device`."""
        return Batch(
            self.motion.to(device),
            self.presence.to(device),
            self.valid.to(device),
            self.interaction_start.to(device),
            self.solo_start.to(device),
            self.boundaries.to(device),
            self.captions,
            self.kinds,
        )

    def __len__(self) -> int:
        return int(self.motion.shape[0])


def collate_samples(samples: Sequence[MotionSample]) -> Batch:
    """Stack samples of equal length T into a `Batch` (boundaries padded with −1)."""
    widest = max((len(s.boundaries) for s in samples), default=0)
    boundaries = torch.full((len(samples), max(widest, 1)), -1, dtype=torch.long)
    for row, sample in enumerate(samples):
        if sample.boundaries:
            boundaries[row, : len(sample.boundaries)] = torch.tensor(sample.boundaries)
    return Batch(
        motion=torch.from_numpy(np.stack([s.features for s in samples])),
        presence=torch.from_numpy(np.stack([s.presence for s in samples])),
        valid=torch.from_numpy(np.stack([s.valid for s in samples])),
        interaction_start=torch.tensor([s.interaction_start for s in samples], dtype=torch.long),
        solo_start=torch.tensor([s.solo_start for s in samples], dtype=torch.long),
        boundaries=boundaries,
        captions=tuple(s.caption for s in samples),
        kinds=tuple(s.kind for s in samples),
    )


# ---------------------------------------------------------------------------------------------
# Sources for U(·)
# ---------------------------------------------------------------------------------------------


def solo_source(item: SoloItem) -> SoloSource:
    """A HumanML3D item as a U(·) source (joints recovered from its features)."""
    joints = np.asarray(features_to_joints(item.load_features().astype(np.float64)))
    return SoloSource(item.id, joints, tuple(c.text for c in item.captions), fps=item.fps)


def pair_source(item: PairItem) -> PairSource:
    """An InterHuman item as a U(·) source."""
    return PairSource(
        item.id, item.load_joints(), item.captions, item.person_captions, fps=item.fps
    )


class SourceBank:
    """Solo and pair sources prepared once for U(·) (20 fps, reference skeleton, float32)."""

    def __init__(self, solo: Sequence[SoloSource], pairs: Sequence[PairSource]) -> None:
        if not solo and not pairs:
            raise InterSynError("source bank: no solo clips and no interaction clips were given")
        self.solo = list(solo)
        self.pairs = list(pairs)
        self.solo_joints = [prepare_solo(s).astype(np.float32) for s in self.solo]
        self.pair_joints = [prepare_pair(p).astype(np.float32) for p in self.pairs]

    @classmethod
    def from_items(cls, solo: Sequence[SoloItem], pairs: Sequence[PairItem]) -> SourceBank:
        """Build from loader items (see `intersyn.data.humanml3d` / `interhuman`)."""
        return cls([solo_source(i) for i in solo], [pair_source(i) for i in pairs])

    def sample(self, rng: np.random.Generator, config: InterleaveConfig):
        """One U(·) sample drawn with `rng`."""
        return interleave(
            self.solo, self.pairs, rng, config, prepared=(self.solo_joints, self.pair_joints)
        )


class InterleavedDataset(Dataset):
    """On-the-fly interleaved samples: index i of epoch e is U(·) with seed (seed, e, i)."""

    def __init__(
        self, bank: SourceBank, config: InterleaveConfig, length: int, seed: int = 0
    ) -> None:
        if length < 1:
            raise InterSynError(f"interleaved dataset length={length}: expected at least 1")
        self.bank, self.config, self.length, self.seed = bank, config, length, seed
        self.epoch = 0

    def set_epoch(self, epoch: int) -> None:
        """Draw fresh samples for a new epoch (call before iterating)."""
        self.epoch = epoch

    def __len__(self) -> int:
        return self.length

    def __getitem__(self, index: int) -> MotionSample:
        rng = np.random.default_rng([self.seed, self.epoch, index])
        sample = self.bank.sample(rng, self.config)
        features, rows = sample.features()
        return MotionSample(
            features=features,
            presence=rows,
            valid=sample.valid.copy(),
            interaction_start=sample.interaction_start,
            solo_start=sample.solo_start,
            boundaries=tuple(sample.boundaries()),
            caption=sample.caption,
            kind="interleaved",
        )


class SoloDataset(Dataset):
    """Single-person clips in the pair layout: person x only, a random window of ≤ `frames` rows.

    Window lengths follow MDM's loader (a multiple of 4 frames); the partner is absent, t_s = 0
    and t_i = −1. Items are read lazily; `seed`/`set_epoch` make the crops reproducible.
    """

    def __init__(
        self, items: Sequence[SoloItem], frames: int = 196, seed: int = 0, min_frames: int = 8
    ) -> None:
        kept = [item for item in items if item.num_frames >= min_frames]
        if not kept:
            raise InterSynError(
                f"solo dataset: none of the {len(items)} clips has at least {min_frames} frames"
            )
        self.items, self.frames, self.seed = kept, frames, seed
        self.epoch = 0

    def set_epoch(self, epoch: int) -> None:
        self.epoch = epoch

    def __len__(self) -> int:
        return len(self.items)

    def __getitem__(self, index: int) -> MotionSample:
        rng = np.random.default_rng([self.seed, self.epoch, index, 1])
        item = self.items[index]
        features = item.load_features()
        length = min(len(features), self.frames)
        length = max(4, (length // 4) * 4) if length >= 4 else length
        start = int(rng.integers(0, len(features) - length + 1))
        out = np.zeros((2, self.frames, PAIR_FEATURE_DIM), dtype=np.float32)
        out[0, :length, :FEATURE_DIM] = features[start : start + length]
        out[0, :length, FEATURE_DIM] = 1.0  # placement (cos ψ, sin ψ, x, z) = identity
        presence = np.zeros((2, self.frames), dtype=bool)
        presence[0, :length] = True
        caption = item.captions[int(rng.integers(len(item.captions)))].text if item.captions else ""
        return MotionSample(
            features=out,
            presence=presence,
            valid=presence[0].copy(),
            interaction_start=NO_SEGMENT,
            solo_start=0,
            boundaries=(),
            caption=caption,
            kind="solo",
        )


def make_loader(
    dataset: Dataset,
    batch_size: int,
    *,
    shuffle: bool = True,
    workers: int = 0,
    seed: int = 0,
    drop_last: bool = True,
    sampler: torch.utils.data.Sampler | None = None,
) -> DataLoader:
    """A DataLoader that collates `MotionSample`s into `Batch`es, reproducible from `seed`."""
    generator = torch.Generator().manual_seed(seed)
    return DataLoader(
        dataset,
        batch_size=batch_size,
        shuffle=shuffle and sampler is None,
        sampler=sampler,
        num_workers=workers,
        collate_fn=collate_samples,
        drop_last=drop_last,
        generator=generator,
        persistent_workers=workers > 0,
    )


class AlternatingBatches:
    """Endless batches alternating between interleaved and solo loaders (paper §5.1).

    `interleaved_fraction` is the share of interleaved batches (0.5 = strictly alternating);
    the order is deterministic (an even spread, not random). A loader that runs out starts a
    new epoch (its dataset's `set_epoch` is called when it has one).
    """

    def __init__(
        self,
        interleaved: DataLoader | None,
        solo: DataLoader | None,
        interleaved_fraction: float = 0.5,
    ) -> None:
        if not 0.0 <= interleaved_fraction <= 1.0:
            raise InterSynError(
                f"interleaved_fraction={interleaved_fraction}: expected a value in [0, 1]"
            )
        if (interleaved is None and interleaved_fraction > 0) or (
            solo is None and interleaved_fraction < 1
        ):
            raise InterSynError(
                f"interleaved_fraction={interleaved_fraction} needs "
                f"{'an interleaved' if interleaved is None else 'a solo'} loader"
            )
        self.loaders = {"interleaved": interleaved, "solo": solo}
        self.fraction = interleaved_fraction
        self.epochs = {"interleaved": 0, "solo": 0}
        self._iters: dict[str, Iterator[Batch]] = {}
        self.step = 0

    def kind_at(self, step: int) -> str:
        """Which loader batch number `step` comes from (an even spread of the fraction)."""
        take = int(np.floor((step + 1) * self.fraction)) - int(np.floor(step * self.fraction))
        return "interleaved" if take else "solo"

    def _next(self, kind: str) -> Batch:
        loader = self.loaders[kind]
        assert loader is not None
        if kind not in self._iters:
            self._start(kind)
        try:
            return next(self._iters[kind])
        except StopIteration:
            self.epochs[kind] += 1
            self._start(kind)
            return next(self._iters[kind])

    def _start(self, kind: str) -> None:
        loader = self.loaders[kind]
        set_epoch = getattr(loader.dataset, "set_epoch", None)
        if set_epoch is not None:
            set_epoch(self.epochs[kind])
        sampler_epoch = getattr(loader.sampler, "set_epoch", None)
        if sampler_epoch is not None:
            sampler_epoch(self.epochs[kind])
        self._iters[kind] = iter(loader)

    def state_dict(self) -> dict:
        """Position to resume from: batches drawn so far and each loader's epoch."""
        return {"step": self.step, "epochs": dict(self.epochs)}

    def load_state_dict(self, state: dict) -> None:
        """Continue after `state`: the next batch has the kind and epoch it would have had."""
        self.step = int(state["step"])
        self.epochs = {k: int(v) for k, v in state["epochs"].items()}
        self._iters.clear()

    def __iter__(self) -> Iterator[Batch]:
        return self

    def __next__(self) -> Batch:
        batch = self._next(self.kind_at(self.step))
        self.step += 1
        return batch
