"""Keeping generated people out of each other: a minimum distance between their pelvises.

Two captured people never stand inside each other: across the procedural interactions the
closest any pair's pelvises come (horizontally) is 0.32 m, in hugs. Generated pairs do: hugs
close to 0.26 m, and under guidance "one person pushes the other, who stumbles backwards"
has both people walk backwards 1.5 m each, through each other (`bench/push_guidance.py`).

`keep_apart` moves a sample's root channels (root rotation and linear velocity, and the
placement channels) until every two present people's pelvises are at least `min_distance`
apart on every frame where both are present. It takes Gauss-Newton-like steps on the
shortfalls r = max(0, d_min + margin − d) through the differentiable pair decoding: per
sample, along Jᵀr (the gradient of ½|r|²), as far as minimises the linearised
shortfalls. Applied to each x0 prediction while sampling, the model re-plans the rest of the
motion (poses, steps) around the corrected root at the next step, instead of the roots alone
being moved after the fact. Samples already apart are returned unchanged.
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
    frozen: torch.Tensor | None = None,
) -> torch.Tensor:
    """`x (N, P, T, D)` (any scaling `decode` reads) with its root and placement channels
    moved so that `decode(x, presence)` (joints `(N, P, T, 22, 3)`) keeps every two people
    present on a frame (`presence (N, P, T)`) at least `min_distance` metres apart, pelvis to
    pelvis on the floor. Each of up to `iterations` steps aims `margin` beyond it; stops once
    no sample falls short. Only samples that fall short are decoded with gradients; entries
    of `frozen` (bool, broadcastable to `x`: rows a sampler holds fixed by in-painting) are
    never moved. Works under `torch.inference_mode` (the gradients are taken outside it);
    returns a new tensor, or `x` itself where nothing was too close."""
    if min_distance <= 0 or x.shape[1] < 2:
        return x
    with torch.no_grad():  # the usual case, everyone apart, costs one plain decoding
        gaps = pelvis_gaps(decode(x, presence), presence)
        close = torch.nonzero((gaps < min_distance).flatten(1).any(1)).squeeze(1)
    if len(close) == 0:
        return x
    editable = torch.zeros(x.shape[-1], dtype=x.dtype, device=x.device)
    editable[list(ROOT_CHANNELS + PLACEMENT_CHANNELS)] = 1.0
    if frozen is not None:
        editable = editable * ~torch.broadcast_to(frozen, x.shape)[close]
    with torch.inference_mode(False), torch.enable_grad():
        # Only the samples that fall short; copies made here are tensors autograd may record.
        current, present = x[close].clone(), presence[close].clone()
        editable = editable.clone()
        for _ in range(iterations):
            current = current.detach().requires_grad_(True)
            gaps = pelvis_gaps(decode(current, present), present)
            if not bool((gaps < min_distance).any()):
                break
            shortfall = torch.relu(min_distance + margin - gaps)  # r
            (grad,) = torch.autograd.grad(0.5 * shortfall.square().sum(), current)
            direction = (grad * editable).detach()  # g: Jᵀr on the channels that may move
            with torch.no_grad():
                current = current.detach()
                step = _least_squares_step(current, direction, gaps, shortfall, present, decode)
                current = current - step * direction
    out = x.clone()
    out[close] = current.detach()
    return out


def _least_squares_step(
    x: torch.Tensor,
    direction: torch.Tensor,
    gaps: torch.Tensor,
    shortfall: torch.Tensor,
    presence: torch.Tensor,
    decode: Decode,
) -> torch.Tensor:
    """Per sample, the step α along −`direction` g that minimises the linearised shortfalls
    |r − α J g|², α = |g|² / |J g|² (as g = Jᵀr); J g from a finite difference of the gaps
    (one plain decoding). The previous rule, the step |r|² / |g|² (exact where one frame
    falls short), overshoots where many fall short together (a pair walking through each
    other was thrown 0.8 m apart to make 0.3 m)."""
    dims = tuple(range(1, x.dim()))
    squared = direction.square().sum(dims)  # |g|² (n,)
    scale = (1e-3 / squared.sqrt().clamp_min(1e-12)).reshape(-1, *([1] * (x.dim() - 1)))
    moved = pelvis_gaps(decode(x + scale * direction, presence), presence)
    active = shortfall > 0
    # r rises as the gaps shrink: J g = −(∂gaps/∂x) g, on the frames that fall short.
    change = (
        torch.where(active, gaps - moved, torch.zeros_like(gaps)) / scale.flatten()[:, None, None]
    )
    along = change.square().flatten(1).sum(1).clamp_min(1e-12)  # |J g|²
    # Never beyond |r|² / |g|², its bound in exact arithmetic (a poor difference stays safe).
    bound = shortfall.square().flatten(1).sum(1) / squared.clamp_min(1e-12)
    return torch.minimum(squared / along, bound).reshape(-1, *([1] * (x.dim() - 1)))
