"""Forward and inverse kinematics on the SMPL-22 skeleton, and bone-length retargeting (Eq. 5).

Local-rotation convention (HumanML3D's, REFERENCE.md §1.6 step 5): the rotation stored at joint k
orients the bone that ENDS at k, relative to the rotation of the previous bone in its kinematic
chain; every chain restarts from the root rotation stored at joint 0, so the collars (13, 14)
are relative to the root, not to spine3. The rest direction of the bone ending at k is
`offsets[k]`. Rotations from `inverse_kinematics` are pure swings (no twist about the bone).
"""

from __future__ import annotations

import torch

from intersyn._arrays import ArrayLike, as_motion_tensor, to_output
from intersyn.errors import InterSynError
from intersyn.kinematics import rotations as rot
from intersyn.kinematics.skeleton import LEG_SCALE_JOINTS, NUM_JOINTS, PARENTS, raw_offsets

# Parent in the IK/FK chain sense: the collars hang off the root's rotation (chain restart).
_CHAIN_PARENTS: tuple[int, ...] = tuple(0 if j in (13, 14) else p for j, p in enumerate(PARENTS))


def _depth_levels(parents: tuple[int, ...]) -> list[list[int]]:
    depth = [0] * len(parents)
    for j in range(1, len(parents)):
        depth[j] = depth[parents[j]] + 1
    return [[j for j in range(len(parents)) if depth[j] == d] for d in range(1, max(depth) + 1)]


# Joints grouped by tree depth: FK loops over these 7 levels, vectorised over the joints in each.
_POSITION_LEVELS = _depth_levels(PARENTS)
_ROTATION_LEVELS = _depth_levels(_CHAIN_PARENTS)


def global_bone_rotations(local_quat: torch.Tensor) -> torch.Tensor:
    """Compose chain-local rotations `(..., 22, 4)` into each bone's world rotation `(..., 22, 4)`."""
    glob = local_quat.clone()
    for level in _ROTATION_LEVELS:
        parents = [_CHAIN_PARENTS[j] for j in level]
        glob[..., level, :] = rot.quat_mul(glob[..., parents, :], local_quat[..., level, :])
    return glob


def forward_kinematics(
    local_quat: torch.Tensor, root_position: torch.Tensor, offsets: torch.Tensor
) -> torch.Tensor:
    """Joint positions from chain-local rotations, the root position and rest offsets.

    Args:
        local_quat: `(..., 22, 4)` unit quaternions (w, x, y, z); index 0 is the root rotation.
        root_position: `(..., 3)` metres.
        offsets: `(22, 3)` or `(..., 22, 3)` rest offsets (direction × bone length), metres.

    Returns:
        `(..., 22, 3)` joint positions, metres.
    """
    glob = global_bone_rotations(local_quat)
    offsets = offsets.to(local_quat.dtype).expand(*local_quat.shape[:-1], 3)
    bones = rot.quat_rotate(glob, offsets)  # (..., 22, 3) world bone vectors
    joints = torch.zeros_like(bones)
    joints[..., 0, :] = root_position
    for level in _POSITION_LEVELS:
        parents = [PARENTS[j] for j in level]
        joints[..., level, :] = joints[..., parents, :] + bones[..., level, :]
    return joints


def inverse_kinematics(
    joints: torch.Tensor, root_quat: torch.Tensor, offsets: torch.Tensor | None = None
) -> torch.Tensor:
    """Chain-local swing rotations that rebuild `joints` by `forward_kinematics`.

    Args:
        joints: `(..., 22, 3)` positions, metres.
        root_quat: `(..., 4)` root rotation (any convention the caller keeps for FK; HumanML3D
            uses the world→facing rotation of the smoothed heading).
        offsets: rest offsets `(22, 3)` whose directions are the bones' rest directions; default
            the raw HumanML3D directions.

    Returns:
        `(..., 22, 4)` quaternions; index 0 holds `root_quat`.
    """
    rest = raw_offsets(joints.dtype, joints.device) if offsets is None else offsets.to(joints)
    parents = torch.tensor(PARENTS[1:], device=joints.device)
    bone_dirs = joints[..., 1:, :] - joints[..., parents, :]
    swing = rot.quat_between(rest[1:].expand_as(bone_dirs), bone_dirs)  # world rotation per bone
    glob = torch.cat([root_quat[..., None, :].to(swing), swing], dim=-2)
    chain_parents = torch.tensor(_CHAIN_PARENTS[1:], device=joints.device)
    local_rest = rot.quat_mul(rot.quat_conjugate(glob[..., chain_parents, :]), glob[..., 1:, :])
    return torch.cat([glob[..., :1, :], local_rest], dim=-2)


def _offsets_tensor(value: ArrayLike, name: str, like: torch.Tensor) -> torch.Tensor:
    tensor, _ = as_motion_tensor(value, name, (NUM_JOINTS, 3), expected="(22, 3)")
    lengths = torch.linalg.norm(tensor[..., 1:, :], dim=-1)
    if bool((lengths <= 1e-8).any()):
        raise InterSynError(
            f"{name}: every non-root bone needs a non-zero rest offset; got a zero one"
        )
    return tensor.to(dtype=like.dtype, device=like.device)


def leg_length(offsets: torch.Tensor) -> torch.Tensor:
    """Right knee + right ankle bone lengths of rest offsets `(..., 22, 3)` (skeleton scale)."""
    return torch.linalg.norm(offsets[..., list(LEG_SCALE_JOINTS), :], dim=-1).sum(-1)


def retarget(
    joints: ArrayLike,
    source_offsets: ArrayLike,
    target_offsets: ArrayLike,
    *,
    scale_root: bool = False,
) -> ArrayLike:
    """Move a motion onto another skeleton's bone lengths (paper Eq. 5).

    Inverse kinematics on the source skeleton gives per-joint rotations relative to the source
    rest pose; forward kinematics re-applies them to the target rest offsets, so each bone keeps
    its rotation relative to the rest pose (the per-joint rotation difference of Eq. 5 when the
    two rest directions differ) and takes the target's length. The root position is preserved;
    `scale_root=True` instead scales the root trajectory by the leg-length ratio (as HumanML3D's
    skeleton normalisation does) so feet stay on the floor when body size changes.

    Args:
        joints: `(..., T, 22, 3)` or `(..., 22, 3)` metres, numpy or torch.
        source_offsets: `(22, 3)` rest offsets of the skeleton the motion was recorded on.
        target_offsets: `(22, 3)` rest offsets of the skeleton to move it to.

    Returns:
        Joints of the same shape and type, with the target's bone lengths in every frame.
    """
    tensor, from_numpy = as_motion_tensor(joints, "joints", (NUM_JOINTS, 3))
    src = _offsets_tensor(source_offsets, "source_offsets", tensor)
    tgt = _offsets_tensor(target_offsets, "target_offsets", tensor)
    identity = torch.zeros(*tensor.shape[:-2], 4, dtype=tensor.dtype, device=tensor.device)
    identity[..., 0] = 1.0
    local = inverse_kinematics(tensor, identity, src)
    root = tensor[..., 0, :]
    if scale_root:
        root = root * (leg_length(tgt) / leg_length(src))
    out = forward_kinematics(local, root, tgt)
    return to_output(out, from_numpy, joints)
