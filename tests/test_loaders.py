"""Training data path: interleaved and solo samples in one padded layout, alternating batches."""

import numpy as np
import pytest
import torch

from intersyn import InterSynError, joints_to_features
from intersyn.data.interleave import InterleaveConfig, PairSource, SoloSource, resample
from intersyn.data.loaders import (
    NO_SEGMENT,
    AlternatingBatches,
    InterleavedDataset,
    SoloDataset,
    SourceBank,
)
from intersyn.data.schema import Caption, SoloItem
from intersyn.kinematics.pair import features_to_pair

from .conftest import yaw_and_shift


@pytest.fixture(scope="module")
def solo_items(real_joints):
    clip = real_joints.astype(np.float64)
    return [
        SoloItem("a", joints_to_features(clip).astype(np.float32), (Caption("a person serves"),)),
        SoloItem("b", joints_to_features(clip[:60]).astype(np.float32), (Caption("a short move"),)),
    ]


@pytest.fixture(scope="module")
def bank(real_joints):
    clip = real_joints.astype(np.float64)
    solo = [SoloSource("a", clip, ("a person serves",))]
    other = yaw_and_shift(clip, np.pi, (0.0, 0.0, 1.2))
    pairs = [PairSource("1", resample(np.stack([clip, other]), 20, 30), ("two people mirror",))]
    return SourceBank(solo, pairs)


def test_interleaved_dataset_items(bank):
    dataset = InterleavedDataset(bank, InterleaveConfig(), seed=3)
    sample = dataset[0]
    assert sample.features.shape == (2, 196, 267) and sample.features.dtype == np.float32
    assert sample.presence.shape == (2, 196) and sample.valid.shape == (196,)
    assert sample.solo_start == 0 and sample.interaction_start > 0
    assert sample.boundaries and sample.boundaries[0] == sample.interaction_start
    # The partner is present exactly in the interaction rows; absent rows are zero.
    assert not sample.presence[1, : sample.interaction_start].any()
    assert np.all(sample.features[1][~sample.presence[1]] == 0)
    # Same index → same sample; another index → another one.
    assert np.array_equal(dataset[0].features, sample.features)
    assert not np.array_equal(dataset[1].features, sample.features)


def test_solo_dataset_layout(solo_items):
    dataset = SoloDataset(solo_items, frames=196, seed=0)
    # Draws 0 and 1 are the first epoch: each clip exactly once, in a seeded order.
    first_epoch = [dataset[0], dataset[1]]
    assert sorted(int(s.presence[0].sum()) for s in first_epoch) == [56, 168]
    sample = min(first_epoch, key=lambda s: s.presence[0].sum())
    assert sample.kind == "solo" and sample.interaction_start == NO_SEGMENT
    length = int(sample.presence[0].sum())
    assert length == 56 and length % 4 == 0  # 59 rows rounded down to a multiple of 4
    # The whole clip but the trim: it ends with the motion (what end positions are told).
    assert sample.ends and all(s.ends for s in first_epoch)
    short = SoloDataset(solo_items, frames=40, seed=0)  # 40-row crops of 59 and 168 rows
    assert not all(short[i].ends for i in range(8))
    assert not sample.presence[1].any() and np.all(sample.features[:, length:] == 0)
    assert np.allclose(sample.features[0, :length, 263:], [1, 0, 0, 0])
    decoded = features_to_pair(
        sample.features[:1, :length].astype(np.float64), presence=sample.presence[:1, :length]
    )
    assert np.isfinite(decoded).all() and decoded[0, :, :, 1].max() > 1.0  # a standing body


def test_alternating_batches_ratio_and_masks(bank, solo_items):
    inter = InterleavedDataset(bank, InterleaveConfig())
    solo = SoloDataset(solo_items)
    batches = AlternatingBatches(inter, solo, 2, interleaved_fraction=0.5)
    kinds = [next(batches).kinds[0] for _ in range(6)]
    assert kinds == ["solo", "interleaved"] * 3
    batch = next(AlternatingBatches(inter, None, 2, interleaved_fraction=1.0))
    assert batch.motion.shape == (2, 2, 196, 267) and batch.presence.dtype == torch.bool
    assert batch.boundaries.shape[0] == 2 and (batch.boundaries[:, 0] > 0).all()
    assert batch.sample_ids.tolist() == [0, 1]
    third = AlternatingBatches(inter, solo, 2, interleaved_fraction=1 / 3)
    assert [third.kind_at(i) for i in range(6)].count("interleaved") == 2


def test_resume_gives_the_same_batches(bank, solo_items):
    inter = InterleavedDataset(bank, InterleaveConfig())
    solo = SoloDataset(solo_items)
    first = AlternatingBatches(inter, solo, 2, seed=4)
    straight = [next(first) for _ in range(6)]
    resumed = AlternatingBatches(inter, solo, 2, seed=4, start=3)
    for expected in straight[3:]:
        got = next(resumed)
        assert got.kinds == expected.kinds and torch.equal(got.motion, expected.motion)


def test_ranks_split_the_global_batch(bank, solo_items):
    inter = InterleavedDataset(bank, InterleaveConfig())
    whole = next(AlternatingBatches(inter, None, 4, interleaved_fraction=1.0))
    parts = [
        next(AlternatingBatches(inter, None, 4, interleaved_fraction=1.0, rank=r, world=2))
        for r in range(2)
    ]
    ids = sorted(parts[0].sample_ids.tolist() + parts[1].sample_ids.tolist())
    assert ids == sorted(whole.sample_ids.tolist())
    with pytest.raises(InterSynError, match="multiple of the 3 processes"):
        AlternatingBatches(inter, None, 4, interleaved_fraction=1.0, world=3)


def test_bad_arguments(bank, solo_items):
    with pytest.raises(InterSynError, match="interleaved_fraction=1.5"):
        AlternatingBatches(None, None, 2, interleaved_fraction=1.5)
    with pytest.raises(InterSynError, match="needs interleaved data"):
        AlternatingBatches(None, SoloDataset(solo_items), 2, interleaved_fraction=0.5)
    with pytest.raises(InterSynError, match="at least 8 frames"):
        SoloDataset([SoloItem("x", np.zeros((3, 263), np.float32), ())])
    with pytest.raises(InterSynError, match="no solo clips and no interaction clips"):
        SourceBank([], [])


def test_layout_mix(bank):
    layouts = [("s-i-s", "ts0-random-ti"), ("i-s", "ti0-random-ts"), ("i", "ti0-random-ts")]
    dataset = InterleavedDataset(bank, InterleaveConfig(), layouts=layouts)
    seen = set()
    for index in range(30):
        sample = dataset[index]
        seen.add((sample.solo_start == NO_SEGMENT, sample.interaction_start == 0))
        if sample.solo_start == NO_SEGMENT:  # interaction only: both people everywhere
            assert sample.presence[:, sample.valid].all()
    assert seen == {(False, False), (False, True), (True, True)}


@pytest.mark.parametrize(
    ("layout", "segments", "interaction_first"),
    [(("s-i-s-i", "ts0-random-ti"), 4, False), (("i", "ti0-random-ts"), 1, True)],
)
def test_a_single_layout_is_used_not_the_base_config(bank, layout, segments, interaction_first):
    # Regression: with one layout the dataset fell back to the base config (s-i-s), so Table 3's
    # single-organisation models all trained on s-i-s.
    dataset = InterleavedDataset(bank, InterleaveConfig(), layouts=[layout])
    for index in range(5):
        sample = dataset[index]
        assert len(sample.boundaries) == segments - 1
        assert (sample.interaction_start == 0) == interaction_first
