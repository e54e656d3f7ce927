"""Skeleton constants, forward/inverse kinematics and retargeting (Eq. 5)."""

import numpy as np
import pytest
import torch

from intersyn import InterSynError, retarget
from intersyn.kinematics import rotations as rot
from intersyn.kinematics.fk import forward_kinematics, inverse_kinematics
from intersyn.kinematics.skeleton import (
    JOINT_NAMES,
    KINEMATIC_CHAINS,
    MIRROR_INDEX,
    NUM_JOINTS,
    PARENTS,
    REFERENCE_BONE_LENGTHS,
    bone_lengths,
    reference_offsets,
    scaled_offsets,
)


def test_skeleton_tables_are_consistent(real_joints):
    assert len(JOINT_NAMES) == len(PARENTS) == NUM_JOINTS == 22
    for chain in KINEMATIC_CHAINS:
        for parent, child in zip(chain[:-1], chain[1:]):
            assert PARENTS[child] == parent
    assert sorted({j for chain in KINEMATIC_CHAINS for j in chain}) == list(range(22))
    assert [MIRROR_INDEX[MIRROR_INDEX[j]] for j in range(22)] == list(range(22))
    assert JOINT_NAMES[MIRROR_INDEX[JOINT_NAMES.index("left_wrist")]] == "right_wrist"
    measured = bone_lengths(torch.from_numpy(real_joints.astype(np.float64))).mean(0)
    assert np.allclose(measured.numpy(), REFERENCE_BONE_LENGTHS[1:], atol=1e-6)


def test_rest_pose_faces_plus_z_with_left_on_plus_x():
    identity = torch.zeros(NUM_JOINTS, 4, dtype=torch.float64)
    identity[:, 0] = 1.0
    rest = forward_kinematics(
        identity, torch.tensor([0.0, 1.0, 0.0], dtype=torch.float64), reference_offsets()
    )
    assert rest[JOINT_NAMES.index("left_hip"), 0] > 0 > rest[JOINT_NAMES.index("right_hip"), 0]
    assert rest[JOINT_NAMES.index("left_foot"), 2] > rest[JOINT_NAMES.index("left_ankle"), 2]
    # HumanML3D's idealised rest: limbs straight down, feet and head pointing forward (+Z).
    assert rest[JOINT_NAMES.index("head"), 2] > rest[JOINT_NAMES.index("neck"), 2]
    assert rest[JOINT_NAMES.index("neck"), 1] > rest[JOINT_NAMES.index("pelvis"), 1]
    assert rest[JOINT_NAMES.index("left_wrist"), 1] < rest[JOINT_NAMES.index("left_shoulder"), 1]


def test_ik_then_fk_rebuilds_real_motion(real_joints):
    joints = torch.from_numpy(real_joints.astype(np.float64))
    root = rot.yaw_quat(torch.linspace(0, 3, joints.shape[0], dtype=torch.float64))
    local = inverse_kinematics(joints, root)
    rebuilt = forward_kinematics(local, joints[:, 0], reference_offsets())
    assert (rebuilt - joints).abs().max() < 1e-5  # bone lengths in the file agree to 2e-7
    assert torch.allclose(local[:, 0], root)


def test_fk_of_random_rotations_keeps_bone_lengths():
    g = torch.Generator().manual_seed(1)
    local = rot.quat_normalize(torch.randn(3, 7, NUM_JOINTS, 4, generator=g, dtype=torch.float64))
    joints = forward_kinematics(
        local, torch.zeros(3, 7, 3, dtype=torch.float64), reference_offsets()
    )
    lengths = bone_lengths(joints)
    assert torch.allclose(
        lengths, torch.tensor(REFERENCE_BONE_LENGTHS[1:], dtype=torch.float64).expand_as(lengths)
    )
    # IK recovers a pose that FK maps back to the same joints (swing-only rotations).
    rebuilt = forward_kinematics(
        inverse_kinematics(joints, local[..., 0, :]), joints[..., 0, :], reference_offsets()
    )
    assert (rebuilt - joints).abs().max() < 1e-10


@pytest.mark.parametrize("scale,limb", [(1.15, None), (0.8, 1.1), (1.0, 0.9)])
def test_retarget_gives_target_bone_lengths_and_keeps_root(real_joints, scale, limb):
    target = scaled_offsets(scale, limb)
    moved = retarget(real_joints, reference_offsets().numpy(), target.numpy())
    assert moved.shape == real_joints.shape and moved.dtype == real_joints.dtype
    lengths = bone_lengths(torch.from_numpy(moved.astype(np.float64)))
    want = torch.linalg.norm(target, dim=-1)[1:]
    assert (lengths - want).abs().max() < 1e-5
    assert np.abs(moved[:, 0] - real_joints[:, 0]).max() < 1e-6

    # Bone directions are kept when the rest directions agree.
    def directions(j):
        parents = np.array(PARENTS[1:])
        d = j[:, 1:] - j[:, parents]
        return d / np.linalg.norm(d, axis=-1, keepdims=True)

    assert np.abs(directions(moved) - directions(real_joints)).max() < 1e-4


def test_retarget_identity_and_scaled_root(real_joints):
    offsets = reference_offsets().numpy()
    same = retarget(real_joints.astype(np.float64), offsets, offsets)
    assert np.abs(same - real_joints).max() < 1e-5
    big = retarget(real_joints.astype(np.float64), offsets, offsets * 1.2, scale_root=True)
    assert np.allclose(big[:, 0], real_joints[:, 0] * 1.2, atol=1e-9)
    # A uniformly scaled body with a scaled root is the whole motion scaled (feet stay grounded).
    assert np.abs(big - real_joints * 1.2).max() < 1e-4


def test_retarget_applies_rest_direction_difference():
    # Source rest pose: arms straight down; target: arms sideways (T-pose). The same local
    # rotations must then point the target's arms sideways (Eq. 5's per-joint rotation).
    source = reference_offsets()
    target = source.clone()
    target[[16, 18, 20], :] = torch.tensor([1.0, 0, 0], dtype=torch.float64) * source[
        [16, 18, 20]
    ].norm(dim=-1, keepdim=True)
    identity = torch.zeros(NUM_JOINTS, 4, dtype=torch.float64)
    identity[:, 0] = 1.0
    rest = forward_kinematics(identity, torch.zeros(3, dtype=torch.float64), source)
    moved = torch.as_tensor(retarget(rest, source, target))
    left_forearm = moved[20] - moved[18]
    assert left_forearm[0] > 0.25 and abs(left_forearm[1]) < 1e-6


def test_retarget_bad_offsets(real_joints):
    with pytest.raises(InterSynError, match="target_offsets: expected shape \\(22, 3\\)"):
        retarget(real_joints, reference_offsets().numpy(), np.ones((21, 3)))
    zero = reference_offsets().numpy().copy()
    zero[5] = 0.0
    with pytest.raises(InterSynError, match="source_offsets"):
        retarget(real_joints, zero, reference_offsets().numpy())
