"""Geometric losses on joint positions (MDM's and InterGen's position/velocity/foot/bone terms).

Joints are `(B, …, T, J, 3)` metres, Y up (e.g. `(B, P, T, 22, 3)`), `mask (B, …, T)` bool.
Velocities are per frame (metres per frame), like the features they come from.
"""

from __future__ import annotations

import torch

from intersyn.errors import InterSynError
from intersyn.kinematics.representation import CONTACT_THRESHOLD
from intersyn.kinematics.skeleton import FOOT_JOINTS, PARENTS
from intersyn.losses.reconstruction import check_mask, check_pair, masked_mean, masked_mse
from intersyn.losses.relation import safe_norm


def _check(pred: torch.Tensor, target: torch.Tensor, mask: torch.Tensor) -> None:
    check_pair(pred, target)
    if pred.dim() < 4 or pred.shape[-1] != 3:
        raise InterSynError(f"pred: expected joints (B, …, T, J, 3), got {tuple(pred.shape)}")
    check_mask(mask, tuple(pred.shape[:-2]))


def _velocity(joints: torch.Tensor) -> torch.Tensor:
    """p_{t+1} − p_t along the time axis, `(…, T, J, 3)` → `(…, T−1, J, 3)`."""
    return joints[..., 1:, :, :] - joints[..., :-1, :, :]


def _pair_mask(mask: torch.Tensor) -> torch.Tensor:
    """Both frames of each step valid, `(…, T)` → `(…, T−1)`."""
    return mask[..., 1:] & mask[..., :-1]


def position_loss(pred: torch.Tensor, target: torch.Tensor, mask: torch.Tensor) -> torch.Tensor:
    """MSE of joint positions (mean over joints and xyz), masked mean over frames, `(B,)` m²."""
    _check(pred, target, mask)
    return masked_mse(pred.flatten(-2), target.flatten(-2), mask)


def velocity_loss(pred: torch.Tensor, target: torch.Tensor, mask: torch.Tensor) -> torch.Tensor:
    """MSE of joint velocities p_{t+1} − p_t over steps whose two frames are valid, `(B,)`."""
    _check(pred, target, mask)
    return masked_mse(_velocity(pred).flatten(-2), _velocity(target).flatten(-2), _pair_mask(mask))


def foot_contacts_from_joints(
    joints: torch.Tensor, threshold: float = CONTACT_THRESHOLD
) -> torch.Tensor:
    """Contact of joints (7, 10, 8, 11): squared step ‖p_{t+1} − p_t‖² < threshold, `(…, T−1, 4)` bool.

    The same rule (0.002 m² per frame at 20 fps) as the contact channels of the 263-dim feature.
    """
    feet = joints[..., list(FOOT_JOINTS), :]
    return _velocity(feet).pow(2).sum(-1) < threshold


def foot_contact_loss(
    pred: torch.Tensor,
    target: torch.Tensor,
    mask: torch.Tensor,
    contacts: torch.Tensor | None = None,
    threshold: float = CONTACT_THRESHOLD,
) -> torch.Tensor:
    """Foot skating: predicted foot velocity pushed to 0 where the GT foot is in contact, `(B,)`.

    Contact is taken from the GROUND TRUTH (MDM's choice; InterGen uses the prediction): by
    default `foot_contacts_from_joints(target)`, or the given `contacts`, `(…, T−1, 4)` or
    `(…, T, 4)` bool/0-1 (the feature's contact channels; the last frame's flag is unused).
    Each (step, foot) scores contact · mean_xyz(v_pred²); the mean runs over all 4 feet of every
    step whose two frames are valid, so non-contact entries count as 0 (as in MDM and InterGen).
    """
    _check(pred, target, mask)
    steps = pred.shape[-3] - 1
    if contacts is None:
        contacts = foot_contacts_from_joints(target, threshold)
    else:
        want = (*pred.shape[:-3], steps, len(FOOT_JOINTS))
        if (
            tuple(contacts.shape[:-2]) != want[:-2]
            or contacts.shape[-2] not in (steps, steps + 1)
            or contacts.shape[-1] != want[-1]
        ):
            raise InterSynError(
                f"contacts: expected shape {want} (or T = {steps + 1} rows), got {tuple(contacts.shape)}"
            )
        rows = contacts[..., :steps, :]
        contacts = rows > 0.5 if rows.is_floating_point() else rows.bool()
    vel = _velocity(pred[..., list(FOOT_JOINTS), :])  # (…, T−1, 4, 3)
    valid = _pair_mask(mask)[..., None].expand_as(contacts)  # (…, T−1, 4)
    moving = torch.where(contacts & valid, vel.pow(2).mean(-1), 0.0)
    return masked_mean(moving, valid)


def bone_length_loss(pred: torch.Tensor, target: torch.Tensor, mask: torch.Tensor) -> torch.Tensor:
    """MSE of the 21 SMPL-22 bone lengths (child − parent), masked mean over frames, `(B,)` m².

    Needs the 22-joint skeleton (`J = 22`).
    """
    _check(pred, target, mask)
    if pred.shape[-2] != len(PARENTS):
        raise InterSynError(f"pred: bone lengths need {len(PARENTS)} joints, got {pred.shape[-2]}")
    parents = torch.tensor(PARENTS[1:], device=pred.device)
    lengths_pred = safe_norm(pred[..., 1:, :] - pred[..., parents, :])  # (…, T, 21)
    lengths_true = safe_norm(target[..., 1:, :] - target[..., parents, :])
    return masked_mse(lengths_pred, lengths_true, mask)
