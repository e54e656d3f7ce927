"""The SMPL 22-joint body skeleton as HumanML3D and InterHuman use it (REFERENCE.md §1.3).

Y is up, metres; at rest the body faces +Z, so its left is +X.
"""

from __future__ import annotations

import torch

NUM_JOINTS = 22

JOINT_NAMES: tuple[str, ...] = (
    "pelvis", "left_hip", "right_hip", "spine1", "left_knee", "right_knee", "spine2",
    "left_ankle", "right_ankle", "spine3", "left_foot", "right_foot", "neck", "left_collar",
    "right_collar", "head", "left_shoulder", "right_shoulder", "left_elbow", "right_elbow",
    "left_wrist", "right_wrist",
)  # fmt: skip
JOINT_INDEX: dict[str, int] = {name: i for i, name in enumerate(JOINT_NAMES)}

# Parent of each joint; -1 for the root. Follows from the kinematic chains below.
PARENTS: tuple[int, ...] = (-1, 0, 0, 0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 9, 9, 12, 13, 14, 16, 17, 18, 19)  # fmt: skip

# Order matters: inverse kinematics walks each chain from its first joint (HML paramUtil).
KINEMATIC_CHAINS: tuple[tuple[int, ...], ...] = (
    (0, 2, 5, 8, 11),  # right leg
    (0, 1, 4, 7, 10),  # left leg
    (0, 3, 6, 9, 12, 15),  # spine and head
    (9, 14, 17, 19, 21),  # right arm
    (9, 13, 16, 18, 20),  # left arm
)

# Unit rest direction of the bone ending at each joint (HML t2m_raw_offsets): idealised T-less pose
# with limbs straight down, collars sideways, feet and head forward.
RAW_OFFSETS: tuple[tuple[float, float, float], ...] = (
    (0, 0, 0), (1, 0, 0), (-1, 0, 0), (0, 1, 0), (0, -1, 0), (0, -1, 0), (0, 1, 0), (0, -1, 0),
    (0, -1, 0), (0, 1, 0), (0, 0, 1), (0, 0, 1), (0, 1, 0), (1, 0, 0), (-1, 0, 0), (0, 0, 1),
    (0, -1, 0), (0, -1, 0), (0, -1, 0), (0, -1, 0), (0, -1, 0), (0, -1, 0),
)  # fmt: skip

# Bone length (metres) of the bone ending at each joint, measured on HumanML3D clip 012314
# (`../shared/data/humanml3d_sample/new_joints`, constant over frames to 2.4e-7). These are the
# dataset's reference skeleton (clip 000021) that every HumanML3D clip is normalised to.
REFERENCE_BONE_LENGTHS: tuple[float, ...] = (
    0.0, 0.103074, 0.109883, 0.131568, 0.393623, 0.390188, 0.143190, 0.432433, 0.425643,
    0.057365, 0.143382, 0.149419, 0.219360, 0.137487, 0.143383, 0.103039, 0.131614, 0.122984,
    0.256840, 0.263092, 0.266012, 0.269876,
)  # fmt: skip

# Foot joints in the feature's contact order: (l_ankle, l_foot, r_ankle, r_foot).
FOOT_JOINTS: tuple[int, ...] = (7, 10, 8, 11)
LEFT_FOOT: tuple[int, int] = (7, 10)
RIGHT_FOOT: tuple[int, int] = (8, 11)
# Joints that define facing: (right_hip, left_hip, right_shoulder, left_shoulder).
FACE_JOINTS: tuple[int, int, int, int] = (2, 1, 17, 16)
# Bones whose summed length measures leg length for skeleton scaling (right knee, right ankle).
LEG_SCALE_JOINTS: tuple[int, int] = (5, 8)
HAND_JOINTS: tuple[int, int] = (20, 21)  # left wrist, right wrist

# Mirror pairs for left/right flips (InterGen's swap lists).
RIGHT_CHAIN: tuple[int, ...] = (2, 5, 8, 11, 14, 17, 19, 21)
LEFT_CHAIN: tuple[int, ...] = (1, 4, 7, 10, 13, 16, 18, 20)
MIRROR_INDEX: tuple[int, ...] = tuple(
    {
        **{r: l for r, l in zip(RIGHT_CHAIN, LEFT_CHAIN)},
        **{l: r for r, l in zip(RIGHT_CHAIN, LEFT_CHAIN)},
    }.get(i, i)
    for i in range(NUM_JOINTS)
)


def raw_offsets(
    dtype: torch.dtype = torch.float64, device: torch.device | str | None = None
) -> torch.Tensor:
    """Unit rest directions of every bone, `(22, 3)`."""
    return torch.tensor(RAW_OFFSETS, dtype=dtype, device=device)


def reference_offsets(
    dtype: torch.dtype = torch.float64, device: torch.device | str | None = None
) -> torch.Tensor:
    """Rest offsets of the HumanML3D reference skeleton: direction × bone length, `(22, 3)` metres."""
    lengths = torch.tensor(REFERENCE_BONE_LENGTHS, dtype=dtype, device=device)
    return raw_offsets(dtype, device) * lengths[:, None]


def scaled_offsets(
    scale: float | torch.Tensor = 1.0,
    limb_scale: float | torch.Tensor | None = None,
    dtype: torch.dtype = torch.float64,
) -> torch.Tensor:
    """Reference offsets scaled uniformly by `scale`, limbs (arms, legs) additionally by `limb_scale`.

    Used to make bodies of other proportions (the procedural interaction part, tests of Eq. 5).
    """
    offsets = reference_offsets(dtype) * torch.as_tensor(scale, dtype=dtype)
    if limb_scale is not None:
        limbs = torch.tensor([4, 5, 7, 8, 18, 19, 20, 21])
        offsets[limbs] = offsets[limbs] * torch.as_tensor(limb_scale, dtype=dtype)
    return offsets


def bone_lengths(joints: torch.Tensor) -> torch.Tensor:
    """Length of the bone ending at each non-root joint, `(..., 22, 3)` → `(..., 21)`."""
    parents = torch.tensor(PARENTS[1:], device=joints.device)
    return torch.linalg.norm(joints[..., 1:, :] - joints[..., parents, :], dim=-1)


def offsets_to_lengths(offsets: torch.Tensor) -> torch.Tensor:
    """Bone lengths of rest offsets `(..., 22, 3)` → `(..., 22)` (root entry 0)."""
    return torch.linalg.norm(offsets, dim=-1)
