"""Physical plausibility measures of joint motions: foot contact and skating, floor, bones, jerk, two-body overlap.

Input joints are `(..., T, 22, 3)` metres with Y up and the floor at y = 0 (HumanML3D and
InterHuman both put each clip's lowest point on the floor), numpy or torch. Per-clip measures
return a float for one clip `(T, 22, 3)` and one value per clip `(...)` otherwise (numpy in →
numpy out, torch in → torch out). Velocities are finite differences between consecutive frames.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any, NamedTuple

import numpy as np
import torch

from intersyn._arrays import ArrayLike, as_motion_tensor
from intersyn.errors import InterSynError
from intersyn.kinematics.skeleton import FOOT_JOINTS, NUM_JOINTS, PARENTS, bone_lengths

# Contact heights per FOOT_JOINTS entry (l_ankle, l_foot, r_ankle, r_foot): InterGen's 0.12 m
# ankle / 0.05 m toe thresholds (REFERENCE.md §2.3).
CONTACT_HEIGHTS: tuple[float, float, float, float] = (0.12, 0.05, 0.12, 0.05)
# Contact speed limit, m/s: HumanML3D's ‖Δp‖² < 0.002 m² per frame at 20 fps is 0.894 m/s and
# InterGen's 0.001 at 30 fps is 0.949 m/s; 0.9 m/s sits between the two.
CONTACT_SPEED = 0.9
# Skating reads the toe joints (SMPL left_foot, right_foot): they stay on the floor through the
# whole stance, while ankles rise at heel-off.
SKATING_JOINTS: tuple[int, int] = (10, 11)
SKATING_HEIGHT = 0.05  # m, toe "on the floor" (GMD / FreeMotion skating ratio)
SKATING_SPEED = 0.5  # m/s, = 2.5 cm per frame at 20 fps (GMD / FreeMotion skating ratio)
CAPSULE_RADIUS = 0.05  # m, a limb-sized radius for the two-body overlap test

_BONE_CHILDREN = torch.arange(1, NUM_JOINTS)
_BONE_PARENTS = torch.tensor(PARENTS[1:])


class FootSkating(NamedTuple):
    """Foot skating: mean horizontal speed (m/s) in contact and fraction of contact samples sliding."""

    speed: ArrayLike | float
    ratio: ArrayLike | float


class FloorPenetration(NamedTuple):
    """Depth of the lowest joint below y = 0 (metres): mean and max over frames."""

    mean: ArrayLike | float
    max: ArrayLike | float


class Interpenetration(NamedTuple):
    """Two-body capsule overlap depth (metres): mean and max over frames, fraction of frames overlapping."""

    mean_depth: ArrayLike | float
    max_depth: ArrayLike | float
    ratio: ArrayLike | float


def _joints(value: Any, name: str = "joints", min_frames: int = 1) -> tuple[torch.Tensor, bool]:
    return as_motion_tensor(
        value, name, (NUM_JOINTS, 3), min_frames=min_frames, expected="(..., T, 22, 3)"
    )


def _out(value: torch.Tensor, from_numpy: bool) -> ArrayLike | float:
    """A per-clip value: float for one clip, numpy or torch array `(...)` for a batch."""
    if value.dim() == 0:
        return float(value)
    return value.detach().cpu().numpy() if from_numpy else value


def _positive(value: Any, name: str) -> float:
    if isinstance(value, bool) or not isinstance(value, (int, float, np.integer, np.floating)):
        raise InterSynError(f"{name}: expected a positive number, got {value!r}")
    if not np.isfinite(value) or value <= 0:
        raise InterSynError(f"{name}: expected a finite positive number, got {value!r}")
    return float(value)


def _joint_indices(value: Sequence[int], name: str) -> list[int]:
    indices = [int(i) for i in value]
    if not indices or any(i < 0 or i >= NUM_JOINTS for i in indices):
        raise InterSynError(
            f"{name}: expected joint indices in [0, {NUM_JOINTS}), got {list(value)}"
        )
    return indices


def _masked_mean(values: torch.Tensor, mask: torch.Tensor, dims: tuple[int, ...]) -> torch.Tensor:
    """Mean of `values` where `mask`, over `dims`; 0 where nothing is selected."""
    count = mask.sum(dim=dims)
    total = torch.where(mask, values, torch.zeros_like(values)).sum(dim=dims)
    return total / count.clamp(min=1)


# ------------------------------------------------------------------------------- feet and floor


def foot_contacts(
    joints: ArrayLike,
    fps: float,
    height_thresh: float | Sequence[float] = CONTACT_HEIGHTS,
    speed_thresh: float | None = CONTACT_SPEED,
) -> ArrayLike:
    """Foot contact flags `(..., T, 4)` for joints (7, 10, 8, 11) = (l_ankle, l_foot, r_ankle, r_foot).

    A joint is in contact at frame t when its height is below `height_thresh` (metres; one value or
    one per joint, default 0.12 ankle / 0.05 toe) and, unless `speed_thresh` is None, its 3-D speed
    ‖p_{t+1} − p_t‖·fps is below `speed_thresh` (m/s, default 0.9); the last frame reuses the last
    interval's speed.
    """
    tensor, from_numpy = _joints(joints, min_frames=2 if speed_thresh is not None else 1)
    fps = _positive(fps, "fps")
    heights = torch.as_tensor(height_thresh, dtype=tensor.dtype, device=tensor.device)
    if heights.dim() > 1 or (heights.dim() == 1 and heights.numel() != len(FOOT_JOINTS)):
        raise InterSynError(f"height_thresh: expected one value or 4 values, got {height_thresh!r}")
    feet = tensor[..., list(FOOT_JOINTS), :]  # (..., T, 4, 3)
    contact = feet[..., 1] < heights
    if speed_thresh is not None:
        speed_thresh = _positive(speed_thresh, "speed_thresh")
        speed = torch.linalg.norm(feet[..., 1:, :, :] - feet[..., :-1, :, :], dim=-1) * fps
        speed = torch.cat([speed, speed[..., -1:, :]], dim=-2)  # (..., T, 4)
        contact = contact & (speed < speed_thresh)
    return contact.cpu().numpy() if from_numpy else contact


def foot_skating(
    joints: ArrayLike,
    fps: float,
    *,
    foot_joints: Sequence[int] = SKATING_JOINTS,
    height_thresh: float = SKATING_HEIGHT,
    skate_speed: float = SKATING_SPEED,
) -> FootSkating:
    """Horizontal foot speed while on the floor (m/s) and the skating ratio, per clip.

    Contact is by height only, so a sliding foot still counts: a joint is on the floor during the
    interval (t, t+1) when its height is below `height_thresh` (default 0.05 m) at both ends. Over all
    such (interval, joint) samples: `speed` is the mean horizontal speed ‖Δp_xz‖·fps and `ratio` the
    fraction faster than `skate_speed` (default 0.5 m/s = 2.5 cm/frame at 20 fps). Both are 0 when the
    feet never touch the floor. Default joints are the toes (10, 11).
    """
    tensor, from_numpy = _joints(joints, min_frames=2)
    fps = _positive(fps, "fps")
    height_thresh = _positive(height_thresh, "height_thresh")
    skate_speed = _positive(skate_speed, "skate_speed")
    feet = tensor[..., _joint_indices(foot_joints, "foot_joints"), :]  # (..., T, F, 3)
    low = feet[..., 1] < height_thresh
    on_floor = low[..., 1:, :] & low[..., :-1, :]  # (..., T-1, F)
    step = feet[..., 1:, :, :] - feet[..., :-1, :, :]
    speed = torch.linalg.norm(step[..., [0, 2]], dim=-1) * fps  # horizontal only
    mean_speed = _masked_mean(speed, on_floor, (-2, -1))
    ratio = _masked_mean((speed > skate_speed).to(speed.dtype), on_floor, (-2, -1))
    return FootSkating(_out(mean_speed, from_numpy), _out(ratio, from_numpy))


def floor_penetration(joints: ArrayLike) -> FloorPenetration:
    """Depth (metres) of the lowest joint below the floor y = 0 per frame, 0 when above: mean and max over frames."""
    tensor, from_numpy = _joints(joints)
    depth = torch.relu(-tensor[..., 1].amin(dim=-1))  # (..., T)
    return FloorPenetration(
        _out(depth.mean(dim=-1), from_numpy), _out(depth.amax(dim=-1), from_numpy)
    )


def floating(joints: ArrayLike) -> ArrayLike | float:
    """Mean over frames of the lowest joint's height above the floor (metres, 0 when below): a hovering body.

    Airborne phases (jumps) count too, so compare clips of similar content.
    """
    tensor, from_numpy = _joints(joints)
    return _out(torch.relu(tensor[..., 1].amin(dim=-1)).mean(dim=-1), from_numpy)


# ------------------------------------------------------------------------------- body and timing


def bone_length_variation(joints: ArrayLike) -> ArrayLike | float:
    """Largest change of any bone's length over the clip: max over the 21 bones of (max − min) length, metres."""
    tensor, from_numpy = _joints(joints)
    lengths = bone_lengths(tensor)  # (..., T, 21)
    spread = lengths.amax(dim=-2) - lengths.amin(dim=-2)
    return _out(spread.amax(dim=-1), from_numpy)


def jerk(joints: ArrayLike, fps: float) -> ArrayLike | float:
    """Mean magnitude of the third time derivative of joint positions (m/s³), third differences × fps³.

    Averaged over all joints and the T − 3 difference frames; needs T ≥ 4.
    """
    tensor, from_numpy = _joints(joints, min_frames=4)
    fps = _positive(fps, "fps")
    third = torch.diff(tensor, n=3, dim=-3) * fps**3  # (..., T-3, 22, 3)
    return _out(torch.linalg.norm(third, dim=-1).mean(dim=(-2, -1)), from_numpy)


def motion_quality_report(joints: ArrayLike, fps: float) -> dict[str, float]:
    """All single-person measures of `(..., T, 22, 3)` joints as floats (batches: mean over clips).

    Keys and units: foot_contact_fraction (of the 4 foot joints × frames), foot_skating_speed (m/s),
    foot_skating_ratio, floor_penetration_mean / _max (m), floating (m), bone_length_variation (m),
    jerk (m/s³).
    """
    tensor, _ = _joints(joints, min_frames=4)
    skating = foot_skating(tensor, fps)
    penetration = floor_penetration(tensor)
    values = {
        "foot_contact_fraction": foot_contacts(tensor, fps).to(tensor.dtype).mean(dim=(-2, -1)),
        "foot_skating_speed": skating.speed,
        "foot_skating_ratio": skating.ratio,
        "floor_penetration_mean": penetration.mean,
        "floor_penetration_max": penetration.max,
        "floating": floating(tensor),
        "bone_length_variation": bone_length_variation(tensor),
        "jerk": jerk(tensor, fps),
    }
    return {key: float(torch.as_tensor(v).double().mean()) for key, v in values.items()}


# ------------------------------------------------------------------------------- two people


def contact_distance(
    joints_a: ArrayLike,
    joints_b: ArrayLike,
    pairs: Sequence[tuple[int, int]],
    frames: Sequence[int] | None = None,
) -> ArrayLike:
    """Distances (metres) between joint i of person A and joint j of person B for each (i, j) in `pairs`.

    Joints `(..., T, 22, 3)` of both people with equal shapes; returns `(..., F, len(pairs))` for the
    given frame indices (all T frames when `frames` is None; negative indices count from the end).
    """
    a, from_numpy = _joints(joints_a, "joints_a")
    b, _ = _joints(joints_b, "joints_b")
    if a.shape != b.shape:
        raise InterSynError(
            f"joints_b: expected the same shape as joints_a {tuple(a.shape)}, got {tuple(b.shape)}"
        )
    pair_list = [tuple(p) for p in pairs]
    if not pair_list or any(len(p) != 2 for p in pair_list):
        raise InterSynError(
            f"pairs: expected a non-empty sequence of (joint_a, joint_b), got {pairs!r}"
        )
    first = _joint_indices([p[0] for p in pair_list], "pairs")
    second = _joint_indices([p[1] for p in pair_list], "pairs")
    if frames is not None:
        n_frames = a.shape[-3]
        index = [int(f) for f in frames]
        if not index or any(f < -n_frames or f >= n_frames for f in index):
            raise InterSynError(
                f"frames: expected indices within the {n_frames}-frame motion, got {list(frames)}"
            )
        a, b = a[..., index, :, :], b[..., index, :, :]
    dist = torch.linalg.norm(a[..., first, :] - b[..., second, :], dim=-1)  # (..., F, P)
    return dist.cpu().numpy() if from_numpy else dist


def segment_distance(
    p0: torch.Tensor, p1: torch.Tensor, q0: torch.Tensor, q1: torch.Tensor, eps: float = 1e-12
) -> torch.Tensor:
    """Closest distance between segments [p0, p1] and [q0, q1], all `(..., 3)`, broadcasting → `(...)`.

    Minimises ‖p0 + s·d1 − q0 − t·d2‖ over s, t ∈ [0, 1] in closed form (clamped normal equations,
    Ericson, Real-Time Collision Detection §5.1.9); zero-length segments act as points.
    """
    d1, d2, r = p1 - p0, q1 - q0, p0 - q0
    a = (d1 * d1).sum(-1)
    e = (d2 * d2).sum(-1)
    b = (d1 * d2).sum(-1)
    c = (d1 * r).sum(-1)
    f = (d2 * r).sum(-1)
    a_safe, e_safe = a.clamp(min=eps), e.clamp(min=eps)
    denom = a * e - b * b
    # Closest s on the infinite lines (0 when parallel), then t for that s, clamped with s re-solved.
    s = torch.where(
        denom > eps * a_safe * e_safe, ((b * f - c * e) / denom.clamp(min=eps)).clamp(0, 1), 0
    )
    t = (b * s + f) / e_safe
    s = torch.where(
        t < 0, (-c / a_safe).clamp(0, 1), torch.where(t > 1, ((b - c) / a_safe).clamp(0, 1), s)
    )
    t = t.clamp(0, 1)
    # Degenerate segments: a point against a segment, or two points.
    s = torch.where(a <= eps, torch.zeros_like(s), s)
    t = torch.where((a <= eps) & (e > eps), (f / e_safe).clamp(0, 1), t)
    t = torch.where(e <= eps, torch.zeros_like(t), t)
    s = torch.where((e <= eps) & (a > eps), (-c / a_safe).clamp(0, 1), s)
    closest = (p0 + s[..., None] * d1) - (q0 + t[..., None] * d2)
    return torch.linalg.norm(closest, dim=-1)


def interpenetration(
    joints_a: ArrayLike, joints_b: ArrayLike, radius: float = CAPSULE_RADIUS
) -> Interpenetration:
    """How deeply two bodies overlap when every bone is a capsule of `radius` metres (default 0.05).

    Per frame, the overlap depth is max(0, 2·radius − d_min) with d_min the smallest distance between
    any bone segment of A and any bone segment of B (21 × 21 pairs, exact segment distances).
    Returns the mean and max depth over frames and the fraction of frames with any overlap. A single
    limb radius undercounts torso thickness; touching interactions (hand shakes, hugs) give depths of
    a few centimetres, bodies passing through each other give more.
    """
    a, from_numpy = _joints(joints_a, "joints_a")
    b, _ = _joints(joints_b, "joints_b")
    if a.shape != b.shape:
        raise InterSynError(
            f"joints_b: expected the same shape as joints_a {tuple(a.shape)}, got {tuple(b.shape)}"
        )
    radius = _positive(radius, "radius")
    children, parents = _BONE_CHILDREN.to(a.device), _BONE_PARENTS.to(a.device)
    # Segments (..., T, 21, 1, 3) of A against (..., T, 1, 21, 3) of B.
    dist = segment_distance(
        a[..., parents, :].unsqueeze(-2),
        a[..., children, :].unsqueeze(-2),
        b[..., parents, :].unsqueeze(-3),
        b[..., children, :].unsqueeze(-3),
    )
    depth = torch.relu(2 * radius - dist.flatten(-2).amin(dim=-1))  # (..., T)
    return Interpenetration(
        _out(depth.mean(dim=-1), from_numpy),
        _out(depth.amax(dim=-1), from_numpy),
        _out((depth > 0).to(depth.dtype).mean(dim=-1), from_numpy),
    )
