"""REC losses (Eq. 11–12): relative coordination and InterGen's masked joint distance map.

Joint positions are metres, `(B, T, J, 3)` per person (any extra axes between B and T are
allowed as long as both people and `mask` share them); `mask (B, T)` marks the frames where
both people are present and not padding.
"""

from __future__ import annotations

import torch

from intersyn.errors import InterSynError
from intersyn.losses.reconstruction import check_mask, check_pair, masked_mean, masked_mse

_TINY = 1e-12  # floor under squared distances so sqrt has a finite gradient at 0


def safe_norm(vectors: torch.Tensor) -> torch.Tensor:
    """Euclidean norm over the last axis with gradient 0 (not NaN) at the zero vector, `(…)`."""
    squared = vectors.pow(2).sum(-1)
    positive = squared > 0
    # clamp inside where: the unused branch's gradient must also be finite.
    return torch.where(positive, squared.clamp(min=_TINY).sqrt(), 0.0)


def pair_distances(joints_a: torch.Tensor, joints_b: torch.Tensor) -> torch.Tensor:
    """Distances between every joint of A and every joint of B, `(…, J, 3)` × 2 → `(…, J, J)`."""
    return safe_norm(joints_a[..., :, None, :] - joints_b[..., None, :, :])


def relation_loss(phi_y: torch.Tensor, u_y: torch.Tensor, mask: torch.Tensor) -> torch.Tensor:
    """L_rela (Eq. 11): ‖φ_y − û_y‖² as a masked MSE, `(B,)`.

    Args:
        phi_y: the coordinator's refined partner motion `(B, …, D)` (e.g. `(B, T, D)` features).
        u_y: the reference motion û_y, same shape.
        mask: `(B, …)` bool (e.g. `(B, T)`), False entries contribute nothing.
    """
    check_pair(phi_y, u_y, "phi_y/u_y")
    check_mask(mask, tuple(phi_y.shape[:-1]))
    return masked_mse(phi_y, u_y, mask)


def _check_joints(tensors: tuple[torch.Tensor, ...], mask: torch.Tensor) -> None:
    shape = tensors[0].shape
    for tensor in tensors:
        if not isinstance(tensor, torch.Tensor) or tensor.dim() < 4 or tensor.shape[-1] != 3:
            raise InterSynError(f"joints: expected (B, T, J, 3), got {tuple(tensor.shape)}")
        if tensor.shape != shape:
            raise InterSynError(
                f"joints: all four joint tensors must share one shape, got {tuple(shape)} "
                f"and {tuple(tensor.shape)}"
            )
    check_mask(mask, tuple(shape[:-2]))


def _map_frame_mean(
    values: torch.Tensor, entries: torch.Tensor, mask: torch.Tensor
) -> torch.Tensor:
    """Mean of `values (B, …, T, J, J)` over `entries` per frame, then masked mean over frames."""
    per_frame = masked_mean(values.flatten(-2).flatten(0, -2), entries.flatten(-2).flatten(0, -2))
    return masked_mean(per_frame.view(mask.shape), mask)


def distance_map_loss(
    joints_a: torch.Tensor,
    joints_b: torch.Tensor,
    target_a: torch.Tensor,
    target_b: torch.Tensor,
    mask: torch.Tensor,
    threshold: float = 1.0,
) -> torch.Tensor:
    """L_dm (Eq. 12), InterGen's DM: masked MSE of A–B joint distance maps, `(B,)`.

    Per frame the J × J distances between A's and B's joints are compared, predicted vs ground
    truth, over the pairs whose PREDICTED distance is below `threshold` metres (the pairs close
    enough to interact); frames with no such pair score 0. Then a masked mean over frames.

    Args:
        joints_a, joints_b: predicted joints of both people `(B, T, J, 3)`, metres.
        target_a, target_b: their ground truth, same shape.
        mask: `(B, T)` bool, frames where both are present and valid.
        threshold: distance threshold in metres (InterGen: 1.0).
    """
    _check_joints((joints_a, joints_b, target_a, target_b), mask)
    pred = pair_distances(joints_a, joints_b)
    true = pair_distances(target_a, target_b)
    near = pred.detach() < threshold
    return _map_frame_mean((pred - true).pow(2), near & mask[..., None, None], mask)


def joint_affinity_loss(
    joints_a: torch.Tensor,
    joints_b: torch.Tensor,
    target_a: torch.Tensor,
    target_b: torch.Tensor,
    mask: torch.Tensor,
    threshold: float = 0.1,
) -> torch.Tensor:
    """InterGen's JA: where GT joints of A and B touch (< `threshold` m), predicted distance → 0, `(B,)`.

    Per frame, the mean squared predicted distance over the pairs whose GROUND-TRUTH distance is
    below `threshold`; frames without contact score 0; then a masked mean over frames. Shapes as
    in `distance_map_loss`.
    """
    _check_joints((joints_a, joints_b, target_a, target_b), mask)
    pred = pair_distances(joints_a, joints_b)
    contact = pair_distances(target_a, target_b) < threshold
    return _map_frame_mean(pred.pow(2), contact & mask[..., None, None], mask)
