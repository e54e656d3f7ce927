"""Loss functions of InterSyn (Eq. 7–13): pure functions of tensors and masks, `(B,)` per sample."""

from intersyn.losses.combine import LossConfig, total_ins_loss, total_rec_loss
from intersyn.losses.geometric import (
    bone_length_loss,
    foot_contact_loss,
    foot_contacts_from_joints,
    position_loss,
    velocity_loss,
)
from intersyn.losses.reconstruction import (
    boundary_window,
    masked_mean,
    masked_mse,
    reconstruction_loss,
    smoothness_loss,
)
from intersyn.losses.relation import (
    distance_map_loss,
    joint_affinity_loss,
    pair_distances,
    relation_loss,
    safe_norm,
)

__all__ = [
    "LossConfig",
    "bone_length_loss",
    "boundary_window",
    "distance_map_loss",
    "foot_contact_loss",
    "foot_contacts_from_joints",
    "joint_affinity_loss",
    "masked_mean",
    "masked_mse",
    "pair_distances",
    "position_loss",
    "reconstruction_loss",
    "relation_loss",
    "safe_norm",
    "smoothness_loss",
    "total_ins_loss",
    "total_rec_loss",
    "velocity_loss",
]
