"""INS losses (Eq. 7–8): masked reconstruction of x0 and smoothness at segment boundaries.

Every loss returns one value per sample, `(B,)`, so callers can weight or mask samples; the
masked reductions here are shared by the other loss modules.
"""

from __future__ import annotations

import torch

from intersyn.errors import InterSynError


def check_mask(mask: torch.Tensor, shape: tuple[int, ...], name: str = "mask") -> None:
    """Raise unless `mask` is a bool tensor of exactly `shape`."""
    if not isinstance(mask, torch.Tensor) or mask.dtype != torch.bool or tuple(mask.shape) != shape:
        got = f"{mask.dtype} {tuple(mask.shape)}" if isinstance(mask, torch.Tensor) else type(mask)
        raise InterSynError(f"{name}: expected a bool tensor of shape {shape}, got {got}")


def check_pair(pred: torch.Tensor, target: torch.Tensor, names: str = "pred/target") -> None:
    """Raise unless `pred` and `target` are floating tensors of one shape with a batch axis."""
    for tensor in (pred, target):
        if (
            not isinstance(tensor, torch.Tensor)
            or not tensor.is_floating_point()
            or tensor.dim() < 2
        ):
            raise InterSynError(f"{names}: expected floating tensors (B, …), got {tensor!r:.60}")
    if pred.shape != target.shape:
        raise InterSynError(f"{names}: shapes differ, {tuple(pred.shape)} vs {tuple(target.shape)}")


def masked_mean(values: torch.Tensor, mask: torch.Tensor) -> torch.Tensor:
    """Mean of `values (B, …)` over the entries where `mask` (broadcastable, bool) is True, `(B,)`.

    Masked-out entries are replaced (not multiplied) by 0, so NaN or inf there cannot leak; a
    sample with no valid entry gets 0.
    """
    mask = mask.expand_as(values)
    total = torch.where(mask, values, 0.0).flatten(1).sum(1)
    count = mask.flatten(1).sum(1).clamp(min=1)
    return total / count.to(values.dtype)


def masked_mse(pred: torch.Tensor, target: torch.Tensor, mask: torch.Tensor) -> torch.Tensor:
    """Squared error of `pred, target (B, …, D)` averaged over D, then over valid `mask (B, …)`, `(B,)`."""
    diff = torch.where(mask[..., None], pred - target, 0.0)  # masked before squaring: no inf·0
    return masked_mean(diff.pow(2).mean(-1), mask)


def reconstruction_loss(
    pred: torch.Tensor,
    target: torch.Tensor,
    mask: torch.Tensor,
    placement_weight: float = 1.0,
    placement_dim: int = 4,
    root_weight: float = 1.0,
    root_dim: int = 4,
) -> torch.Tensor:
    """L_rec (Eq. 7): masked MSE of normalised x0 features, `(B,)`.

    Args:
        pred: predicted x0 `(B, P, T, D)`.
        target: clean features `(B, P, T, D)`.
        mask: `(B, P, T)` bool, presence × padding; False entries contribute nothing.
        placement_weight: weight of each of the last `placement_dim` channels (the pair
            feature's placement, cos ψ, sin ψ, x, z) relative to a pose channel; the channel
            weights are normalised to sum to D, so 1 is the plain mean.
        root_weight: the same for each of the first `root_dim` channels (HumanML3D's root
            rotation velocity, x/z linear velocity and height).
    """
    check_pair(pred, target)
    if pred.dim() != 4:
        raise InterSynError(f"pred: expected (B, P, T, D), got {tuple(pred.shape)}")
    check_mask(mask, tuple(pred.shape[:-1]))
    D = pred.shape[-1]
    weights = torch.ones(D, dtype=pred.dtype, device=pred.device)
    weights[D - placement_dim :] = placement_weight
    weights[:root_dim] = root_weight
    weights = weights * (D / weights.sum())  # same scale as the plain mean
    return masked_mse(pred * weights.sqrt(), target * weights.sqrt(), mask)


def boundary_window(boundaries: torch.Tensor, frames: int, window: int) -> torch.Tensor:
    """Frames within ±`window` of any boundary, `(B, S)` long (−1 = none) → `(B, frames)` bool."""
    if boundaries.dtype not in (torch.int64, torch.int32, torch.int16) or boundaries.dim() != 2:
        raise InterSynError(
            f"boundaries: expected an integer tensor (B, S), got {boundaries.dtype} "
            f"{tuple(boundaries.shape)}"
        )
    if boundaries.numel() and (int(boundaries.min()) < -1 or int(boundaries.max()) >= frames):
        raise InterSynError(
            f"boundaries: frame indices must lie in [0, {frames - 1}] or be -1 (padding), got "
            f"[{int(boundaries.min())}, {int(boundaries.max())}]"
        )
    if window < 0:
        raise InterSynError(f"window={window} must be >= 0")
    frame = torch.arange(frames, device=boundaries.device)
    near = (frame[None, None, :] - boundaries[..., None]).abs() <= window  # (B, S, T)
    return (near & (boundaries[..., None] >= 0)).any(1)


def smoothness_loss(
    joints: torch.Tensor, boundaries: torch.Tensor, mask: torch.Tensor, window: int = 5
) -> torch.Tensor:
    """L_smooth (Eq. 8): mean squared acceleration of joints near segment boundaries, `(B,)`.

    The acceleration at frame t is p_{t+1} − 2 p_t + p_{t−1} (metres per frame²); its squared
    norm is averaged over joints, then over every (person, frame) with t within ±`window` of a
    boundary and frames t−1, t, t+1 all valid. Eq. 8 sums over the window; the mean keeps λ2
    independent of the number of boundaries and people. No boundary or no valid frame → 0.

    Args:
        joints: predicted joint positions `(B, P, T, J, 3)`, metres.
        boundaries: `(B, S)` long, first frame of each new segment (t_i, t_s), −1 = padding.
        mask: `(B, P, T)` bool, presence × padding.
        window: half-width of the window in frames (5 in the paper).
    """
    if not isinstance(joints, torch.Tensor) or joints.dim() != 5 or joints.shape[-1] != 3:
        raise InterSynError(f"joints: expected (B, P, T, J, 3), got {tuple(joints.shape)}")
    B, P, T = joints.shape[:3]
    check_mask(mask, (B, P, T))
    if boundaries.shape[:1] != (B,):
        raise InterSynError(f"boundaries: expected ({B}, S), got {tuple(boundaries.shape)}")
    near = boundary_window(boundaries, T, window)  # (B, T)
    if T < 3:
        return joints.new_zeros(B)
    valid = mask[:, :, 2:] & mask[:, :, 1:-1] & mask[:, :, :-2]  # (B, P, T−2), centred frames
    counted = valid & near[:, None, 1:-1]
    acc = joints[:, :, 2:] - 2.0 * joints[:, :, 1:-1] + joints[:, :, :-2]  # (B, P, T−2, J, 3)
    acc = torch.where(counted[..., None, None], acc, 0.0)
    return masked_mean(acc.pow(2).sum(-1).mean(-1), counted)
