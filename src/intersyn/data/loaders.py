"""Training data: interleaved and single-person samples in one layout, batched (paper §5.1).

Both kinds of sample are pair features `(2, T, 267)` (`intersyn.kinematics.pair`) padded to
a fixed T with masks, so one model sees both:
- `InterleavedDataset` builds samples on the fly with U(·) from a `SourceBank` (a new sample
  for every index and epoch, reproducible from the seed);
- `SoloDataset` serves plain single-person clips (HumanML3D-style), partner absent;
- `AlternatingBatches` interleaves batches of the two in a configurable ratio.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Iterator, Sequence
from dataclasses import dataclass

import numpy as np
import torch
from torch.utils.data import DataLoader, Dataset

from intersyn.data.interleave import (
    InterleaveConfig,
    InterleavedSample,
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
    sample_id: int = 0  # unique per drawn sample; seeds its diffusion noise in training
    ends: bool = False  # the motion ends at the last valid frame (not cut from a longer clip)
    # Each person's own caption of the interaction, "" for none (`person_texts_of`).
    person_texts: tuple[str, str] = ("", "")


@dataclass(frozen=True)
class Batch:
    """A collated batch; tensors on CPU until `to(device)`.

    motion `(B, 2, T, 267)` float32 (unnormalised), presence `(B, 2, T)` bool, valid `(B, T)`
    bool, interaction_start/solo_start `(B,)` long, boundaries `(B, S)` long padded with −1,
    ends `(B,)` bool (`MotionSample.ends`).
    """

    motion: torch.Tensor
    presence: torch.Tensor
    valid: torch.Tensor
    interaction_start: torch.Tensor
    solo_start: torch.Tensor
    boundaries: torch.Tensor
    captions: tuple[str, ...]
    kinds: tuple[str, ...]
    sample_ids: torch.Tensor | None = None  # (B,) long
    ends: torch.Tensor | None = None  # (B,) bool
    person_texts: tuple[tuple[str, str], ...] | None = None  # per sample, per person ("": none)

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
            self.sample_ids,
            None if self.ends is None else self.ends.to(device),
            self.person_texts,
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
        sample_ids=torch.tensor([s.sample_id for s in samples], dtype=torch.long),
        ends=torch.tensor([s.ends for s in samples], dtype=torch.bool),
        person_texts=tuple(s.person_texts for s in samples),
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
    """On-the-fly interleaved samples: index i is U(·) drawn with seed (seed, i).

    `length` is virtual (how many distinct samples an epoch holds); step-indexed sampling
    (`StepBatchSampler`) uses ever-new indices, so no two training batches repeat.
    """

    def __init__(
        self,
        bank: SourceBank,
        config: InterleaveConfig,
        length: int = 2**40,
        seed: int = 0,
        layouts: Sequence[tuple[str, str]] = (),
        anchor: str = "sequence",
    ) -> None:
        if length < 1:
            raise InterSynError(f"interleaved dataset length={length}: expected at least 1")
        self.bank, self.config, self.length, self.seed = bank, config, length, seed
        self.anchor = anchor  # where partner placements are measured from (pair_to_features)
        # Each sample draws its (organisation, timing) from `layouts` when given.
        self.configs = [
            dataclasses.replace(config, organisation=o, timing=t) for o, t in layouts
        ] or [config]

    def __len__(self) -> int:
        return self.length

    def __getitem__(self, index: int) -> MotionSample:
        rng = np.random.default_rng([self.seed, int(index)])
        # One layout is used as given (it is not necessarily `self.config`'s own).
        config = (
            self.configs[int(rng.integers(len(self.configs)))]
            if len(self.configs) > 1
            else self.configs[0]
        )
        sample = self.bank.sample(rng, config)
        features, rows = sample.features(self.anchor)
        return MotionSample(
            features=features,
            presence=rows,
            valid=sample.valid.copy(),
            interaction_start=sample.interaction_start,
            solo_start=sample.solo_start,
            boundaries=tuple(sample.boundaries()),
            caption=sample.caption,
            kind="interleaved",
            sample_id=int(index),
            ends=sample.ends,
            person_texts=person_texts_of(sample, config, (self.seed, int(index))),
        )


def person_texts_of(
    sample: InterleavedSample, config: InterleaveConfig, seed: tuple[int, int]
) -> tuple[str, str]:
    """The per-person captions a sample is conditioned on: its (only) interaction segment's, in a
    `config.person_text_share` of samples, each left out with `person_text_leave_out`; ("", "")
    otherwise. Drawn from a generator of their own, so the sample's other draws do not change."""
    interactions = [s for s in sample.segments if s.kind == "interaction"]
    # One interaction only: a second has its own clip and swap, which one pair of texts
    # for the whole sequence would contradict.
    if config.person_text_share <= 0 or len(interactions) != 1:
        return ("", "")
    (segment,) = interactions
    if segment.person_caption is None:
        return ("", "")
    rng = np.random.default_rng([*seed, 3])
    if rng.random() >= config.person_text_share:
        return ("", "")
    kept = rng.random(2) >= config.person_text_leave_out
    texts = (segment.person_caption or "", segment.partner_caption or "")
    return (texts[0] if kept[0] else "", texts[1] if kept[1] else "")


class SoloDataset(Dataset):
    """Single-person clips in the pair layout: person x only, a random window of ≤ `frames` rows.

    Index i is the i-th draw: a seeded shuffle of the clips per epoch (n draws), with a crop
    drawn from seed (seed, i), so step-indexed sampling sees new crops every epoch. Window lengths follow MDM's loader (a multiple of 4
    frames); the partner is absent, t_s = 0 and t_i = −1. Items are read lazily.
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

    def __len__(self) -> int:
        return len(self.items)

    def __getitem__(self, index: int) -> MotionSample:
        rng = np.random.default_rng([self.seed, int(index), 1])
        # Index i is draw number i: epoch i // n visits every clip once in a seeded order.
        epoch, position = divmod(int(index), len(self.items))
        order = np.random.default_rng([self.seed, epoch, 2]).permutation(len(self.items))
        item = self.items[int(order[position])]
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
            sample_id=int(index),
            # The crop reaches the clip's end, but for the < 4 rows the multiple-of-4 trim drops.
            ends=len(features) - (start + length) < 4,
        )


class StepBatchSampler(torch.utils.data.Sampler):
    """Endless index batches that are a pure function of (seed, batch number).

    Batch n holds `global_batch` indices; with several processes, rank r takes every
    `world`-th of them. Starting at `start` (batches already drawn) resumes exactly where a
    killed run stopped, and any number of processes sees the same global batches.
    """

    def __init__(
        self,
        dataset_size: int,
        global_batch: int,
        seed: int,
        *,
        start: int = 0,
        rank: int = 0,
        world: int = 1,
        fresh: bool = False,
    ) -> None:
        if global_batch % world:
            raise InterSynError(
                f"batch size {global_batch}: expected a multiple of the {world} processes"
            )
        self.size, self.batch, self.seed = dataset_size, global_batch, seed
        self.start, self.rank, self.world, self.fresh = start, rank, world, fresh

    def indices(self, number: int) -> list[int]:
        """Global indices of batch `number` (before the per-rank split)."""
        if self.fresh:  # an endless stream of new samples: consecutive ids
            first = number * self.batch
            return list(range(first, first + self.batch))
        rng = np.random.default_rng([self.seed, number, 7])
        return rng.integers(0, self.size, self.batch).tolist()

    def __iter__(self) -> Iterator[list[int]]:
        number = self.start
        while True:
            yield self.indices(number)[self.rank :: self.world]
            number += 1


def step_loader(
    dataset: Dataset,
    global_batch: int,
    seed: int,
    *,
    start: int = 0,
    rank: int = 0,
    world: int = 1,
    workers: int = 0,
    fresh: bool = False,
) -> DataLoader:
    """An endless DataLoader over `StepBatchSampler` batches, collated into `Batch`es."""
    sampler = StepBatchSampler(
        len(dataset), global_batch, seed, start=start, rank=rank, world=world, fresh=fresh
    )
    return DataLoader(
        dataset,
        batch_sampler=sampler,
        num_workers=workers,
        collate_fn=collate_samples,
        worker_init_fn=_single_thread_worker,
        prefetch_factor=2 if workers else None,
    )


def _single_thread_worker(_: int) -> None:
    # Sample building is many tiny tensor ops: one thread per worker is fastest.
    torch.set_num_threads(1)


class AlternatingBatches:
    """Endless batches alternating between interleaved and solo data (paper §5.1).

    `interleaved_fraction` is the share of interleaved batches (0.5 = strictly alternating);
    which kind batch n is depends only on n, and each kind's batches are step-indexed, so a
    run resumed at step n (`start=n`) continues with exactly the batches it would have had.
    """

    def __init__(
        self,
        interleaved: Dataset | None,
        solo: Dataset | None,
        global_batch: int,
        *,
        interleaved_fraction: float = 0.5,
        seed: int = 0,
        start: int = 0,
        rank: int = 0,
        world: int = 1,
        workers: int = 0,
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
                f"{'interleaved' if interleaved is None else 'solo'} data"
            )
        self.fraction = interleaved_fraction
        self.step = start
        done = self.counts(start)
        self._iters: dict[str, Iterator[Batch]] = {}
        for kind, dataset, offset in (("interleaved", interleaved, 0), ("solo", solo, 1)):
            if dataset is None or (kind == "interleaved" and self.fraction == 0):
                continue
            if kind == "solo" and self.fraction == 1:
                continue
            loader = step_loader(
                dataset,
                global_batch,
                seed * 2 + offset,
                start=done[kind],
                rank=rank,
                world=world,
                workers=workers,
                fresh=True,
            )
            self._iters[kind] = iter(loader)

    def kind_at(self, step: int) -> str:
        """Which kind batch number `step` is (an even spread of the fraction)."""
        take = int(np.floor((step + 1) * self.fraction)) - int(np.floor(step * self.fraction))
        return "interleaved" if take else "solo"

    def counts(self, steps: int) -> dict[str, int]:
        """How many batches of each kind the first `steps` batches contain."""
        interleaved = int(np.floor(steps * self.fraction))
        return {"interleaved": interleaved, "solo": steps - interleaved}

    def __iter__(self) -> Iterator[Batch]:
        return self

    def __next__(self) -> Batch:
        batch = next(self._iters[self.kind_at(self.step)])
        self.step += 1
        return batch
