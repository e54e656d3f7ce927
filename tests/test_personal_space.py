"""Personal space: people's pelvises kept apart, on pair features and in generated motion."""

import numpy as np
import pytest
import torch

from intersyn import InterSynPipeline
from intersyn.kinematics.pair import decode_pair, pair_to_features
from intersyn.kinematics.personal_space import (
    PLACEMENT_CHANNELS,
    ROOT_CHANNELS,
    keep_apart,
    pelvis_gaps,
)

from .conftest import yaw_and_shift

FRAMES = 61
ANCHOR = "run_end"


def decode(x: torch.Tensor, presence: torch.Tensor) -> torch.Tensor:
    return decode_pair(x, presence, ANCHOR)


def walk(real_joints: np.ndarray, start: float, end: float, angle: float) -> np.ndarray:
    """The real clip's poses with their own root path removed, walked along x from `start` to
    `end` (metres) turned by `angle`: `(FRAMES, 22, 3)`."""
    poses = real_joints[:FRAMES].astype(np.float64).copy()
    poses[..., [0, 2]] -= poses[:, :1, [0, 2]]
    turned = yaw_and_shift(poses, angle, (0.0, 0.0, 0.0))
    turned[..., 0] += np.linspace(start, end, FRAMES)[:, None]
    return turned


def pair_features(real_joints: np.ndarray, people: list[np.ndarray]) -> torch.Tensor:
    joints = torch.from_numpy(np.stack(people))[None]  # (1, P, T, 22, 3)
    return pair_to_features(joints, anchor=ANCHOR).float()


def min_gap(x: torch.Tensor) -> float:
    presence = torch.ones(x.shape[:3], dtype=torch.bool)
    return float(pelvis_gaps(decode(x, presence), presence).min())


def test_walkers_passing_through_each_other_are_kept_apart(real_joints):
    through = pair_features(
        real_joints, [walk(real_joints, -1, 1, 0.0), walk(real_joints, 1, -1, np.pi)]
    )
    presence = torch.ones(through.shape[:3], dtype=torch.bool)
    assert min_gap(through) < 0.05  # the two pelvises meet mid-way
    with torch.inference_mode():  # as while sampling
        apart = keep_apart(through, presence, decode, 0.3)
    assert 0.3 - 1e-3 <= min_gap(apart) <= 0.35  # kept apart, not thrown apart
    moved = decode(apart, presence)[..., 0, :] - decode(through, presence)[..., 0, :]
    assert float(moved.norm(dim=-1).max()) < 0.35  # a pelvis moves no more than the gap needs
    edited = list(ROOT_CHANNELS + PLACEMENT_CHANNELS)
    untouched = torch.ones(through.shape[-1], dtype=torch.bool)
    untouched[edited] = False
    assert torch.equal(apart[..., untouched], through[..., untouched])  # poses as they were
    assert not torch.equal(apart, through)
    # Nothing to do: a pair that stays apart comes back as it was, the same tensor.
    side_by_side = pair_features(
        real_joints, [walk(real_joints, -1, 1, 0.0), walk(real_joints, -1, 1, 0.0) + [0, 0, 1]]
    )
    assert min_gap(side_by_side) > 0.9
    assert keep_apart(side_by_side, presence, decode, 0.3) is side_by_side
    assert keep_apart(through, presence, decode, 0.0) is through  # 0: off


def test_every_pair_of_three_people_and_absent_frames(real_joints):
    people = [
        walk(real_joints, -1, 1, 0.0),
        walk(real_joints, 1, -1, np.pi),
        walk(real_joints, 0.5, -0.5, np.pi) + [0, 0, 0.05],
    ]
    x = pair_features(real_joints, people)
    presence = torch.ones(x.shape[:3], dtype=torch.bool)
    gaps = pelvis_gaps(decode(x, presence), presence)
    assert gaps.shape == (1, 3, FRAMES - 1) and float(gaps.amin(-1).max()) < 0.3
    apart = keep_apart(x, presence, decode, 0.25)
    assert float(pelvis_gaps(decode(apart, presence), presence).min()) >= 0.25 - 1e-3
    # A person absent on a frame is never too close to anyone there (pairs 0-1, 0-2, 1-2).
    presence[:, 1, 20:] = False
    gaps = pelvis_gaps(decode(x, presence), presence)
    assert torch.isinf(gaps[:, [0, 2], 20:]).all() and torch.isfinite(gaps[:, 1]).all()
    apart = keep_apart(x, presence, decode, 0.25)
    assert float(pelvis_gaps(decode(apart, presence), presence).min()) >= 0.25 - 1e-3
    # Frozen entries (rows a sampler in-paints) never move: here all of person 0.
    frozen = torch.zeros(x.shape, dtype=torch.bool)
    frozen[:, 0] = True
    held = keep_apart(x, presence, decode, 0.25, frozen=frozen)
    assert torch.equal(held[:, 0], x[:, 0]) and not torch.equal(held, x)
    assert float(pelvis_gaps(decode(held, presence), presence).min()) >= 0.25 - 1e-3


@pytest.fixture(scope="module")
def pipe(tiny_checkpoint):
    return InterSynPipeline.from_pretrained(tiny_checkpoint)


def test_generated_people_keep_their_distance(pipe):
    request = dict(interaction="two people hug", seed=0, steps=4, cleanup=None, candidates=1)
    gaps = {}
    for distance in (0.0, 1.0):
        result = pipe(**request, num_samples=3, min_distance=distance)
        assert result.meta["min_distance"] == distance
        pelvis = result.joints[:, :, :, 0][..., [0, 2]]
        gaps[distance] = np.linalg.norm(pelvis[:, 1] - pelvis[:, 0], axis=-1).min()
    # The tiny model alone puts the pair closer than a metre; kept apart, never.
    assert gaps[0.0] < 1.0 <= gaps[1.0] + 2e-3
    assert pipe(**request).meta["min_distance"] == 0.3  # the default
    # Batches of layouts of different lengths: the padding is no one's position.
    layouts = [pipe.plan(None, "two people hug", None, None, n, None, None) for n in (40, 64)]
    for joints in pipe.sample_layouts(layouts, steps=4, min_distance=1.0):
        pelvis = joints[:, :, 0][..., [0, 2]]
        assert np.linalg.norm(pelvis[1] - pelvis[0], axis=-1).min() >= 1.0 - 2e-3
    # Three people: every pair, partners included (the coordinator's output is corrected too).
    trio = pipe(**request, people=3, min_distance=1.0).joints[0]
    pelvis = torch.from_numpy(trio[None])
    gaps = pelvis_gaps(pelvis, torch.ones(pelvis.shape[:3], dtype=torch.bool))
    assert gaps.shape == (1, 3, trio.shape[1]) and float(gaps.min()) >= 1.0 - 2e-3


def test_long_motions_are_corrected_as_a_whole(pipe, real_joints):
    # Beyond the window, continuing partners are moved onto where they were and the windows
    # are cross-faded, which can walk people into each other again; the whole motion is
    # corrected after (`_keep_world_apart`), in the world it is in.
    through = np.stack([walk(real_joints, -1, 1, 0.0), walk(real_joints, 1, -1, np.pi)])[None]
    world = yaw_and_shift(through, 0.7, (3.0, 0.0, -2.0))  # anywhere in the world
    presence = np.ones((2, FRAMES), dtype=bool)
    kept = pipe._keep_world_apart(world, presence, 0.3)
    gaps = np.linalg.norm(kept[0, 1, :, 0, [0, 2]] - kept[0, 0, :, 0, [0, 2]], axis=0)
    assert kept.shape == world.shape and gaps.min() >= 0.3 - 2e-3
    assert np.abs(kept[0, 0, 0] - world[0, 0, 0]).max() < 1e-4  # person x starts where it did
    apart = world.copy()
    apart[:, 1, ..., 2] += 1.0
    assert pipe._keep_world_apart(apart, presence, 0.3) is apart
    assert pipe._keep_world_apart(world, presence, 0.0) is world
