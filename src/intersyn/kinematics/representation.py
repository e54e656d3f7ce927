"""HumanML3D's 263-dim motion feature, both directions (REFERENCE.md §1.6–1.7).

The conversion reproduces the shipped dataset, quirks included: the per-frame heading comes from
(left hip − right hip) + (right shoulder − left shoulder), smoothed with a Gaussian of σ = 20
frames, and the root rotation of frame 0 is the identity. Matching the data (and models trained
on it) matters more than the "corrected" formula.

Notation (REFERENCE → code): G = `glob` canonical world positions, r_t = `root_quat` (world →
facing), θ_t = `theta` (half the yaw; q_t = (cos θ, 0, sin θ, 0)).
"""

from __future__ import annotations

import torch
import torch.nn.functional as F

from intersyn._arrays import ArrayLike, as_motion_tensor, to_output
from intersyn.kinematics import rotations as rot
from intersyn.kinematics.fk import forward_kinematics, inverse_kinematics, leg_length
from intersyn.kinematics.skeleton import (
    FACE_JOINTS,
    FOOT_JOINTS,
    NUM_JOINTS,
    PARENTS,
    raw_offsets,
    reference_offsets,
)

FEATURE_DIM = 263
HEADING_SMOOTH_SIGMA = 20.0  # frames; the dataset's Gaussian on the forward vector
CONTACT_THRESHOLD = 0.002  # m² per frame of squared foot-joint displacement


class SLICES:
    """Named column ranges of the 263-dim feature (REFERENCE.md §1.6 step 8)."""

    root_angular_velocity = slice(0, 1)  # half yaw increment, rad/frame
    root_linear_velocity = slice(1, 3)  # (x, z) in the next frame's facing frame, m/frame
    root_height = slice(3, 4)  # metres
    ric_positions = slice(4, 67)  # joints 1..21 relative to the root's ground point, facing frame
    rotations_6d = slice(67, 193)  # joints 1..21, (col0, col1)
    local_velocities = slice(193, 259)  # joints 0..21, facing frame, m/frame
    foot_contacts = slice(259, 263)  # (l_ankle, l_foot, r_ankle, r_foot)


_STD_GROUPS = (slice(0, 1), slice(1, 3), slice(3, 4), slice(4, 67), slice(67, 193),
               slice(193, 259), slice(259, 263))  # fmt: skip


def gaussian_smoothing_matrix(
    frames: int,
    sigma: float,
    dtype: torch.dtype = torch.float64,
    device: torch.device | None = None,
) -> torch.Tensor:
    """`(T, T)` matrix W with `W @ x` = SciPy's `gaussian_filter1d(x, sigma, mode='nearest')`.

    Radius 4σ as SciPy's default truncation; the 'nearest' edge is folded into the border
    columns, so one matmul smooths every clip and channel at once.
    """
    radius = int(4.0 * sigma + 0.5)
    offsets = torch.arange(-radius, radius + 1, dtype=dtype, device=device)
    kernel = torch.exp(-0.5 * (offsets / sigma) ** 2)
    kernel = kernel / kernel.sum()
    rows = torch.arange(frames, device=device)[:, None].expand(frames, 2 * radius + 1)
    cols = (rows + offsets.long()[None, :]).clamp(0, frames - 1)
    weights = torch.zeros(frames, frames, dtype=dtype, device=device)
    weights.index_put_((rows.reshape(-1), cols.reshape(-1)), kernel.repeat(frames), accumulate=True)
    return weights


def _gaussian_smooth_time(x: torch.Tensor, sigma: float) -> torch.Tensor:
    """Gaussian filter along the time axis of `(B, T, C)` (SciPy 'nearest' edges, radius 4σ)."""
    weights = gaussian_smoothing_matrix(x.shape[1], sigma, x.dtype, x.device)
    return torch.matmul(weights, x)  # (T, T) @ (B, T, C), broadcast over the batch


def _forward_from_across(across: torch.Tensor) -> torch.Tensor:
    """Horizontal forward direction Y × across, `(..., 3)`."""
    return torch.stack((across[..., 2], torch.zeros_like(across[..., 0]), -across[..., 0]), dim=-1)


def canonicalize(
    joints: torch.Tensor, *, floor: bool = True
) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
    """Put a clip on the floor, its frame-0 root at the origin and its frame-0 facing along +Z.

    Args:
        joints: `(B, T, 22, 3)`.
        floor: subtract the clip's lowest joint height (steps 2–4 of REFERENCE §1.6).

    Returns:
        `(glob, facing_quat, origin)`: canonical joints `(B, T, 22, 3)`, the rotation applied
        `(B, 4)` and the translation removed before it `(B, 3)`, so that
        `glob = rotate(facing_quat, joints − origin)`.
    """
    origin = torch.zeros(joints.shape[0], 3, dtype=joints.dtype, device=joints.device)
    if floor:
        origin[:, 1] = joints[..., 1].amin(dim=(1, 2))
    origin[:, 0] = joints[:, 0, 0, 0]
    origin[:, 2] = joints[:, 0, 0, 2]
    r_hip, l_hip, r_sh, l_sh = FACE_JOINTS
    first = joints[:, 0]
    across = (first[:, r_hip] - first[:, l_hip]) + (first[:, r_sh] - first[:, l_sh])
    forward = _forward_from_across(F.normalize(across, dim=-1))
    target = torch.zeros_like(forward)
    target[:, 2] = 1.0
    facing = rot.quat_between(forward, target)
    glob = rot.quat_rotate(facing[:, None, None, :], joints - origin[:, None, None, :])
    return glob, facing, origin


def facing_root_rotation(
    glob: torch.Tensor,
    *,
    smooth_sigma: float = HEADING_SMOOTH_SIGMA,
    identity_first: bool = True,
) -> torch.Tensor:
    """The dataset's per-frame root rotation r_t (world → facing), `(B, T, 22, 3)` → `(B, T, 4)`.

    Uses the as-coded across vector (left hip − right hip) + (right shoulder − left shoulder),
    a Gaussian-smoothed forward direction, and r_0 = identity (REFERENCE.md §1.6 step 5);
    `smooth_sigma=0` and `identity_first=False` give the plain per-frame facing.
    """
    r_hip, l_hip, r_sh, l_sh = FACE_JOINTS
    across = (glob[..., l_hip, :] - glob[..., r_hip, :]) + (glob[..., r_sh, :] - glob[..., l_sh, :])
    forward = _forward_from_across(F.normalize(across, dim=-1))
    if smooth_sigma > 0:
        forward = _gaussian_smooth_time(forward, smooth_sigma)
    forward = F.normalize(forward, dim=-1)
    target = torch.zeros_like(forward)
    target[..., 2] = 1.0
    root_quat = rot.quat_between(forward, target)
    if identity_first:
        root_quat[:, 0] = torch.tensor([1.0, 0.0, 0.0, 0.0], dtype=glob.dtype, device=glob.device)
    return root_quat


def foot_contacts(glob: torch.Tensor, threshold: float = CONTACT_THRESHOLD) -> torch.Tensor:
    """Contact flags of joints (7, 10, 8, 11) from squared per-frame displacement, `(B, T-1, 4)`."""
    feet = glob[:, :, list(FOOT_JOINTS)]
    return ((feet[:, 1:] - feet[:, :-1]) ** 2).sum(-1) < threshold


def _features_from_canonical(glob: torch.Tensor) -> torch.Tensor:
    """Steps 5–8 of REFERENCE §1.6 on canonical joints `(B, T, 22, 3)` → `(B, T-1, 263)`."""
    batch, frames = glob.shape[:2]
    root_quat = facing_root_rotation(glob)  # (B, T, 4)
    local = inverse_kinematics(glob, root_quat)  # (B, T, 22, 4)

    # Root angular velocity: asin of the y part of r_{t+1} r_t⁻¹, sign-fixed to the short way.
    delta = rot.quat_mul(root_quat[:, 1:], rot.quat_conjugate(root_quat[:, :-1]))
    delta = torch.where(delta[..., :1] < 0, -delta, delta)
    root_ang_vel = torch.asin(delta[..., 2:3].clamp(-1.0, 1.0))

    root = glob[:, :, 0]
    root_lin_vel = rot.quat_rotate(root_quat[:, 1:], root[:, 1:] - root[:, :-1])[..., [0, 2]]
    root_height = root[:, :-1, 1:2]

    ground = root.clone()
    ground[..., 1] = 0.0
    ric = rot.quat_rotate(root_quat[:, :, None, :], glob - ground[:, :, None, :])
    ric = ric[:, :-1, 1:].reshape(batch, frames - 1, 63)

    rot6d = rot.quat_to_cont6d(local[:, :-1, 1:]).reshape(batch, frames - 1, 126)
    local_vel = rot.quat_rotate(root_quat[:, :-1, None, :], glob[:, 1:] - glob[:, :-1])
    local_vel = local_vel.reshape(batch, frames - 1, 66)
    contacts = foot_contacts(glob).to(glob.dtype)
    return torch.cat(
        [root_ang_vel, root_lin_vel, root_height, ric, rot6d, local_vel, contacts], dim=-1
    )


def joints_to_features(joints: ArrayLike, *, target_offsets: ArrayLike | None = None) -> ArrayLike:
    """HumanML3D 263-dim features of joint positions.

    Args:
        joints: `(..., T, 22, 3)` metres, Y up, T ≥ 2; numpy or torch.
        target_offsets: optional `(22, 3)` rest offsets; when given the motion is first moved
            onto that skeleton with the root trajectory scaled by the leg-length ratio (the
            dataset's skeleton normalisation, e.g. `skeleton.reference_offsets()`).

    Returns:
        `(..., T-1, 263)`, same array type as the input (numpy float32 unless float64 came in).
    """
    tensor, from_numpy = as_motion_tensor(
        joints, "joints", (NUM_JOINTS, 3), min_frames=2, expected="(..., T, 22, 3) with T >= 2"
    )
    lead = tensor.shape[:-3]
    flat = tensor.reshape(-1, *tensor.shape[-3:])
    if target_offsets is not None:
        flat = _retarget_batch(flat, _measured_offsets(flat), target_offsets)
    glob, _, _ = canonicalize(flat)
    features = _features_from_canonical(glob)
    out = features.reshape(*lead, features.shape[-2], FEATURE_DIM)
    return to_output(out, from_numpy, joints)


def run_start_index(run_start: torch.Tensor) -> torch.Tensor:
    """For each frame, the index of the latest run start at or before it, `(B, T)` bool → `(B, T)` long.

    Frame 0 always starts a run.
    """
    frames = torch.arange(run_start.shape[-1], device=run_start.device)
    starts = run_start.clone()
    starts[..., 0] = True
    return torch.cummax(torch.where(starts, frames, torch.zeros_like(frames)), dim=-1).values


def features_to_root(
    features: torch.Tensor,
    run_start: torch.Tensor | None = None,
    teacher: torch.Tensor | None = None,
    teacher_position: bool = True,
) -> tuple[torch.Tensor, torch.Tensor]:
    """Root rotation quaternions and positions from features `(B, T, 263)` (REFERENCE §1.7 steps 1–2).

    `run_start (B, T)` bool restarts the integration (heading 0, root at x = z = 0) at the
    marked frames, so one row can hold several separately recorded runs (a partner who appears
    in two interaction segments).

    `teacher (B, T, 263)`: integrate along the teacher's root trajectory instead, adding only
    each frame's own one-step deviation (its previous row's rotation and linear velocity
    against the teacher's). A training loss on joints decoded this way sees every frame's root
    error once, where plain integration carries an early error into every later frame: such
    losses weight a clip's first frames by its length and swamp what the reconstruction loss
    teaches the root channels (the shipped model, trained so, barely turns).
    `teacher_position=False`: only the heading follows the teacher (plus one-step deviations);
    the position integrates the features' own linear velocities along that heading, so a
    velocity error still moves every later frame but a rotation error no longer swings them.

    Returns `(root_quat (B, T, 4) world→facing, root_position (B, T, 3))`.
    """
    starts = None if run_start is None else run_start_index(run_start)
    if teacher is None:
        theta, position, _ = _integrate_root(features, starts)
    else:
        first = torch.zeros_like(features[..., 0], dtype=torch.bool)
        first[:, 0] = True
        if run_start is not None:
            first = first | run_start
        deviation = torch.zeros_like(features[..., 0])
        deviation[:, 1:] = features[:, :-1, 0] - teacher[:, :-1, 0]
        theta = _integrate_heading(teacher, starts) + deviation.masked_fill(first, 0.0)
        own = _root_increments(features, theta)
        if teacher_position:
            _, taught_position, taught = _integrate_root(teacher, starts)
            position = taught_position + (own - taught).masked_fill(first[..., None], 0.0)
        else:
            position = _cumulate(own, starts)
    position[..., 1] = features[..., 3]
    return _yaw_quat(theta), position


def _integrate_root(
    features: torch.Tensor, starts: torch.Tensor | None
) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
    """Root angle θ `(B, T)` and ground position `(B, T, 3)` (y = 0) integrated from the
    features' velocities, restarted at each run's first frame `starts (B, T)` (None: frame 0),
    and the per-frame steps `(B, T, 3)` summed into that position (`_root_increments`)."""
    theta = _integrate_heading(features, starts)
    increments = _root_increments(features, theta)
    return theta, _cumulate(increments, starts), increments


def _integrate_heading(features: torch.Tensor, starts: torch.Tensor | None) -> torch.Tensor:
    """Root angle θ `(B, T)` summed from the rotation velocities, 0 at each run's first frame."""
    exclusive = torch.zeros_like(features[..., 0])
    exclusive[:, 1:] = torch.cumsum(features[:, :-1, 0], dim=1)
    return exclusive if starts is None else exclusive - exclusive.gather(1, starts)


def _cumulate(increments: torch.Tensor, starts: torch.Tensor | None) -> torch.Tensor:
    """Positions `(B, T, 3)` summed from per-frame steps, restarted at each run's first frame."""
    position = torch.cumsum(increments, dim=1)
    if starts is not None:
        position = position - position.gather(1, starts[..., None].expand(-1, -1, 3))
    return position


def _root_increments(features: torch.Tensor, theta: torch.Tensor) -> torch.Tensor:
    """Each frame's root step `(B, T, 3)`: the previous row's (x, z) linear velocity, turned
    from the facing frame of root angle θ into the world (frame 0: none)."""
    step = torch.zeros(*features.shape[:2], 3, dtype=features.dtype, device=features.device)
    step[:, 1:, 0] = features[:, :-1, 1]
    step[:, 1:, 2] = features[:, :-1, 2]
    return rot.quat_rotate(rot.quat_conjugate(_yaw_quat(theta)), step)


def _yaw_quat(theta: torch.Tensor) -> torch.Tensor:
    """HumanML3D's root quaternion `(cos θ, 0, sin θ, 0)` (world→facing) of angles `(B, T)`."""
    zeros = torch.zeros_like(theta)
    return torch.stack((torch.cos(theta), zeros, torch.sin(theta), zeros), dim=-1)


def recover_joints(
    features: torch.Tensor,
    run_start: torch.Tensor | None = None,
    teacher: torch.Tensor | None = None,
    teacher_position: bool = True,
) -> torch.Tensor:
    """`recover_from_ric` on a flat batch `(B, T, 263)` → `(B, T, 22, 3)`, optionally run-wise
    and along a teacher's root trajectory or heading (`features_to_root`)."""
    root_quat, root_pos = features_to_root(features, run_start, teacher, teacher_position)
    ric = features[..., SLICES.ric_positions].reshape(*features.shape[:2], 21, 3)
    body = rot.quat_rotate(rot.quat_conjugate(root_quat)[:, :, None, :], ric)
    body[..., 0] += root_pos[:, :, None, 0]
    body[..., 2] += root_pos[:, :, None, 2]
    return torch.cat([root_pos[:, :, None, :], body], dim=2)


def _features_tensor(features: ArrayLike) -> tuple[torch.Tensor, bool, tuple[int, ...]]:
    tensor, from_numpy = as_motion_tensor(
        features, "features", (FEATURE_DIM,), min_frames=1, expected="(..., T, 263)"
    )
    lead = tuple(tensor.shape[:-2])
    return tensor.reshape(-1, *tensor.shape[-2:]), from_numpy, lead


def features_to_joints(features: ArrayLike) -> ArrayLike:
    """Joint positions from HumanML3D features through the RIC positions (`recover_from_ric`).

    Args:
        features: `(..., T, 263)`, numpy or torch.

    Returns:
        `(..., T, 22, 3)` metres, Y up, frame-0 root at x = z = 0; same array type as the input.
    """
    flat, from_numpy, lead = _features_tensor(features)
    joints = recover_joints(flat)
    return to_output(joints.reshape(*lead, *joints.shape[1:]), from_numpy, features)


def features_to_joints_fk(features: ArrayLike, offsets: ArrayLike | None = None) -> ArrayLike:
    """Joint positions from the features' 6D rotations by forward kinematics (`recover_from_rot`).

    Args:
        features: `(..., T, 263)`.
        offsets: `(22, 3)` rest offsets; default the HumanML3D reference skeleton.
    """
    flat, from_numpy, lead = _features_tensor(features)
    root_quat, root_pos = features_to_root(flat)
    rot6d = flat[..., SLICES.rotations_6d].reshape(*flat.shape[:2], 21, 6)
    local = rot.matrix_to_quat(rot.cont6d_to_matrix(rot6d))
    local = torch.cat([root_quat[:, :, None, :], local], dim=2)
    if offsets is None:
        rest = reference_offsets(flat.dtype, flat.device)
    else:
        rest, _ = as_motion_tensor(offsets, "offsets", (NUM_JOINTS, 3), expected="(22, 3)")
        rest = rest.to(flat)
    joints = forward_kinematics(local, root_pos, rest)
    return to_output(joints.reshape(*lead, *joints.shape[1:]), from_numpy, features)


def _measured_offsets(joints: torch.Tensor) -> torch.Tensor:
    """Rest offsets (raw direction × frame-0 bone length) of clips `(B, T, 22, 3)` → `(B, 22, 3)`."""
    parents = torch.tensor(PARENTS[1:], device=joints.device)
    lengths = torch.linalg.norm(joints[:, 0, 1:] - joints[:, 0, parents], dim=-1)
    lengths = torch.cat([torch.zeros_like(lengths[:, :1]), lengths], dim=1)
    return raw_offsets(joints.dtype, joints.device) * lengths[..., None]


def _retarget_batch(joints: torch.Tensor, source: torch.Tensor, target: ArrayLike) -> torch.Tensor:
    """Retarget a batch of clips, each with its own source offsets, onto one target skeleton."""
    tgt, _ = as_motion_tensor(target, "target_offsets", (NUM_JOINTS, 3), expected="(22, 3)")
    tgt = tgt.to(joints)
    identity = torch.zeros(*joints.shape[:-2], 4, dtype=joints.dtype, device=joints.device)
    identity[..., 0] = 1.0
    local = inverse_kinematics(joints, identity, None)
    scale = (leg_length(tgt) / leg_length(source))[:, None, None]
    return forward_kinematics(local, joints[..., 0, :] * scale, tgt)


def std_slice_average(std: torch.Tensor) -> torch.Tensor:
    """Replace a per-dimension std `(263,)` by its average within each feature slice (HumanML3D)."""
    out = std.clone()
    for part in _STD_GROUPS:
        out[part] = std[part].mean()
    return out
