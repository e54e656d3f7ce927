"""Keeping generated people out of each other: a minimum distance between their pelvises.

Two captured people never stand inside each other: across the procedural interactions the
closest any pair's pelvises come (horizontally) is 0.32 m, in hugs. Generated pairs do: hugs
close to 0.26 m, and under guidance "one person pushes the other, who stumbles backwards"
has both people walk backwards 1.5 m each, through each other (`bench/push_guidance.py`).

`keep_apart` moves a sample's root channels (root rotation and linear velocity, and the
placement channels) until every two present people's pelvises are at least `min_distance`
apart on every frame where both are present. It takes Gauss-Newton-like steps on the
shortfalls r = max(0, d_min + margin − d) through the differentiable pair decoding: per
sample, along Jᵀr, sized |r|² / |Jᵀr|², which for a single short pair closes its linearised
shortfall exactly. Applied to each x0 prediction while sampling, the model re-plans the rest of
the motion (poses, steps) around the corrected root at the next step, instead of the roots
alone being moved after the fact. Samples already apart are returned unchanged.
"""

from __future__ import annotations

from collections.abc import Callable

import torch

from intersyn.kinematics.representation import FEATURE_DIM

MIN_DISTANCE = 0.3  # m: no captured pair comes closer (procedural hugs: 0.32 m at the closest)
ROOT_CHANNELS = (0, 1, 2)  # root rotation velocity, root linear velocity (x, z)
PLACEMENT_CHANNELS = tuple(range(FEATURE_DIM, FEATURE_DIM + 4))  # (cos ψ, sin ψ, x, z)

Decode = Callable[[torch.Tensor, torch.Tensor], torch.Tensor]  # (x, presence) -> joints


def pelvis_gaps(joints: torch.Tensor, presence: torch.Tensor) -> torch.Tensor:
    """Horizontal pelvis distance of every pair of people, `(N, pairs, T)` for joints
    `(N, P, T, 22, 3)` and `presence (N, P, T)` bool; +inf where one of the two is absent."""
    people = joints.shape[1]
    first, second = torch.triu_indices(people, people, offset=1, device=joints.device)
    pelvis = joints[:, :, :, 0][..., [0, 2]]  # (N, P, T, 2)
    gaps = (pelvis[:, first] - pelvis[:, second]).norm(dim=-1)
    both = presence[:, first] & presence[:, second]
    return torch.where(both, gaps, torch.full_like(gaps, float("inf")))


def keep_apart(
    x: torch.Tensor,
    presence: torch.Tensor,
    decode: Decode,
    min_distance: float = MIN_DISTANCE,
    *,
    iterations: int = 20,
    margin: float = 0.01,
) -> torch.Tensor:
    """`x (N, P, T, D)` (any scaling `decode` reads) with its root and placement channels
    moved so that `decode(x, presence)` (joints `(N, P, T, 22, 3)`) keeps every two people present on a
    frame (`presence (N, P, T)`) at least `min_distance` metres apart, pelvis to pelvis on the
    floor. Each of up to `iterations` steps aims `margin` beyond it (a linear step falls a
    little short of a curved decoding); stops once no sample falls short. Only samples that
    fall short are decoded with gradients. Works under `torch.inference_mode` (the gradients
    are taken outside it); returns a new tensor, or `x` itself where nothing was too close."""
    if min_distance <= 0 or x.shape[1] < 2:
        return x
    with torch.no_grad():  # the usual case, everyone apart, costs one plain decoding
        gaps = pelvis_gaps(decode(x, presence), presence)
        close = torch.nonzero((gaps < min_distance).flatten(1).any(1)).squeeze(1)
    if len(close) == 0:
        return x
    edited = torch.zeros(x.shape[-1], dtype=x.dtype, device=x.device)
    edited[list(ROOT_CHANNELS + PLACEMENT_CHANNELS)] = 1.0
    with torch.inference_mode(False), torch.enable_grad():
        # Only the samples that fall short; copies made here are tensors autograd may record.
        current, present = x[close].clone(), presence[close].clone()
        for step_index in range(iterations):
            current = current.detach().requires_grad_(True)
            gaps = pelvis_gaps(decode(current, present), present)
            if step_index > 0 and not bool((gaps < min_distance).any()):
                break
            shortfall = torch.relu(min_distance + margin - gaps)
            squared = shortfall.square().flatten(1).sum(1)  # (n,)
            (grad,) = torch.autograd.grad(0.5 * squared.sum(), current)  # Jᵀ r per sample
            grad = grad * edited
            # |r|² / |Jᵀ r|² along Jᵀ r: for a single short pair the Gauss-Newton step, which
            # closes the linearised shortfall exactly.
            norm = grad.square().flatten(1).sum(1).clamp_min(1e-12)
            step = (squared / norm).reshape(-1, *([1] * (x.dim() - 1)))
            current = current - step * grad
    out = x.clone()
    out[close] = current.detach()
    return out
