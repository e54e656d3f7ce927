"""Two-person representations (REFERENCE.md §2; SPEC.md §2.1).

1. InterHuman's per-person 262-dim "global" feature as InterGen loads it, both directions, plus
   the raw processed-file layout (Z-up, 30 fps) and InterGen's two-person canonicalisation.
2. InterSyn's pair feature, `(P, T, 267)`: each person's HumanML3D 263-dim feature computed in
   that person's own canonical frame, followed by 4 placement channels
   `(cos ψ, sin ψ, x, z)` that place that frame inside person x's (person 0's) canonical frame.
   Solo and interaction data share it (a solo person has placement (1, 0, 0, 0)), the
   placement is repeated on every frame so a frame-wise model can predict it, and decoding
   averages it over the frames where the person is present. Converting a pair to features and
   back returns every person in one world frame, exactly.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import torch
import torch.nn.functional as F

from intersyn._arrays import ArrayLike, as_motion_tensor, to_output
from intersyn.errors import InterSynError
from intersyn.kinematics import rotations as rot
from intersyn.kinematics.fk import inverse_kinematics
from intersyn.kinematics.representation import (
    FEATURE_DIM,
    _features_from_canonical,
    canonicalize,
    facing_root_rotation,
    recover_joints,
    run_start_index,
)
from intersyn.kinematics.skeleton import FOOT_JOINTS, NUM_JOINTS

INTERHUMAN_DIM = 262
INTERHUMAN_FPS = 30
INTERHUMAN_RAW_MIN_COLUMNS = 312  # 62 joints' positions (186) + 21 joints' 6D rotations (126)
INTERHUMAN_CONTACT_THRESHOLD = 0.001  # m² per frame of squared displacement
INTERHUMAN_CONTACT_HEIGHTS = (0.12, 0.05, 0.12, 0.05)  # (l_ankle, l_foot, r_ankle, r_foot), metres
PLACEMENT_DIM = 4
PAIR_FEATURE_DIM = FEATURE_DIM + PLACEMENT_DIM  # 267


class IH_SLICES:
    """Named column ranges of InterHuman's 262-dim per-person feature (REFERENCE.md §2.3)."""

    positions = slice(0, 66)  # joints 0..21, canonical frame, metres
    velocities = slice(66, 132)  # p_{t+1} − p_t, same frame, m/frame (30 fps)
    rotations_6d = slice(132, 258)  # joints 1..21, InterHuman row-by-row 6D layout
    foot_contacts = slice(258, 262)  # (l_ankle, l_foot, r_ankle, r_foot)


# ---------------------------------------------------------------------------------------------
# Raw InterHuman files
# ---------------------------------------------------------------------------------------------


def zup_to_yup(points: ArrayLike) -> ArrayLike:
    """`(..., 3)` points from InterHuman's Z-up to Y-up: (x, y, z) → (x, z, −y) (−90° about X).

    A permutation of axes, so numpy and torch inputs both stay in their own library (loaders
    call it per item, where torch's thread pool would cost more than the work).
    """
    stack = torch.stack if isinstance(points, torch.Tensor) else np.stack
    return stack((points[..., 0], points[..., 2], -points[..., 1]), -1)


def yup_to_zup(points: ArrayLike) -> ArrayLike:
    """`(..., 3)` points from Y-up back to InterHuman's Z-up: (x, y, z) → (x, −z, y)."""
    stack = torch.stack if isinstance(points, torch.Tensor) else np.stack
    return stack((points[..., 0], -points[..., 2], points[..., 1]), -1)


def raw_interhuman_to_joints(raw: ArrayLike) -> tuple[ArrayLike, ArrayLike]:
    """Split a processed InterHuman file `(T, ≥312)` into Y-up joints `(T, 22, 3)` and 6D `(T, 21, 6)`."""
    tensor, from_numpy = as_motion_tensor(raw, "raw InterHuman motion", (), min_frames=None)
    if tensor.dim() != 2 or tensor.shape[1] < INTERHUMAN_RAW_MIN_COLUMNS:
        raise InterSynError(
            f"raw InterHuman motion: expected shape (T, >= {INTERHUMAN_RAW_MIN_COLUMNS}), "
            f"got {tuple(tensor.shape)}"
        )
    joints = zup_to_yup(tensor[:, :66].reshape(-1, NUM_JOINTS, 3))
    rot6d = tensor[:, 186:312].reshape(-1, 21, 6)
    return to_output(joints, from_numpy, raw), to_output(rot6d, from_numpy, raw)


def joints_to_raw_interhuman(joints: ArrayLike, rotations_6d: ArrayLike | None = None) -> ArrayLike:
    """Write Y-up joints `(T, 22, 3)` as an InterHuman processed-file array `(T, 312)` (Z-up).

    Columns 66–185 (hand and finger-tip positions in the real files) repeat the wrist positions,
    since a 22-joint body has no hands. Without `rotations_6d` the chain-local swing rotations
    of our inverse kinematics relative to each frame's facing are stored (InterHuman 6D
    layout), not SMPL pose parameters.
    """
    tensor, from_numpy = as_motion_tensor(
        joints, "joints", (NUM_JOINTS, 3), min_frames=1, expected="(T, 22, 3)"
    )
    if tensor.dim() != 3:
        raise InterSynError(f"joints: expected shape (T, 22, 3), got {tuple(tensor.shape)}")
    frames = tensor.shape[0]
    if rotations_6d is None:
        rot6d = _swing_rotations_6d(tensor)
    else:
        rot6d, _ = as_motion_tensor(rotations_6d, "rotations_6d", (21, 6))
        rot6d = rot6d.to(tensor).reshape(frames, 21, 6)
    zup = yup_to_zup(tensor)
    hands = zup[:, [20, 21]].repeat(1, 20, 1)  # 40 placeholder joints = 120 columns
    raw = torch.cat(
        [zup.reshape(frames, 66), hands.reshape(frames, 120), rot6d.reshape(frames, 126)], 1
    )
    return to_output(raw, from_numpy, joints)


# ---------------------------------------------------------------------------------------------
# InterHuman 262-dim per-person feature
# ---------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Placement:
    """A rigid yaw + floor translation: `canonical = rotate(R_y(−heading), world − origin)`."""

    heading: torch.Tensor  # (B,) radians: the frame's forward direction in world coordinates
    origin: torch.Tensor  # (B, 3) metres

    def to_world(self, points: torch.Tensor) -> torch.Tensor:
        """Map canonical points `(B, ..., 3)` back to world coordinates."""
        shape = (-1,) + (1,) * (points.dim() - 2)
        q = rot.yaw_quat(self.heading.to(points)).reshape(*shape, 4)
        return rot.quat_rotate(q, points) + self.origin.to(points).reshape(*shape, 3)

    def to_local(self, points: torch.Tensor) -> torch.Tensor:
        """Map world points `(B, ..., 3)` into this frame (the inverse of `to_world`)."""
        shape = (-1,) + (1,) * (points.dim() - 2)
        q = rot.yaw_quat(-self.heading.to(points)).reshape(*shape, 4)
        return rot.quat_rotate(q, points - self.origin.to(points).reshape(*shape, 3))


def _interhuman_canonicalize(joints: torch.Tensor) -> tuple[torch.Tensor, Placement]:
    """InterGen's per-person canonical frame: own floor, frame-0 root at origin, hips face +Z."""
    origin = torch.zeros(joints.shape[0], 3, dtype=joints.dtype, device=joints.device)
    origin[:, 1] = joints[..., 1].amin(dim=(1, 2))
    origin[:, 0] = joints[:, 0, 0, 0]
    origin[:, 2] = joints[:, 0, 0, 2]
    across = joints[:, 0, 2] - joints[:, 0, 1]  # right hip − left hip (hips only)
    forward = torch.stack((across[:, 2], torch.zeros_like(across[:, 0]), -across[:, 0]), -1)
    heading = rot.heading_angle(F.normalize(forward, dim=-1))
    placement = Placement(heading, origin)
    return placement.to_local(joints), placement


def _interhuman_features(glob: torch.Tensor, rot6d: torch.Tensor) -> torch.Tensor:
    """Assemble `(B, T-1, 262)` from canonical joints `(B, T, 22, 3)` and 6D `(B, T, 21, 6)`."""
    batch, frames = glob.shape[:2]
    positions = glob[:, :-1].reshape(batch, frames - 1, 66)
    velocities = (glob[:, 1:] - glob[:, :-1]).reshape(batch, frames - 1, 66)
    feet = glob[:, :, list(FOOT_JOINTS)]
    moving = ((feet[:, 1:] - feet[:, :-1]) ** 2).sum(-1)
    heights = torch.tensor(INTERHUMAN_CONTACT_HEIGHTS, dtype=glob.dtype, device=glob.device)
    contacts = (moving < INTERHUMAN_CONTACT_THRESHOLD) & (feet[:, :-1, :, 1] < heights)
    return torch.cat(
        [positions, velocities, rot6d[:, :-1].reshape(batch, frames - 1, 126), contacts.to(glob)],
        -1,
    )


def _swing_rotations_6d(joints: torch.Tensor) -> torch.Tensor:
    """IK swing rotations of joints 1–21 in each frame's own facing frame, InterHuman 6D layout.

    Expressing every frame in its facing frame first makes the rotations independent of where
    the person faces in the world (swings from a fixed rest direction are not yaw-equivariant).
    """
    flat = joints.reshape(-1, *joints.shape[-3:])
    facing = facing_root_rotation(flat, smooth_sigma=0.0, identity_first=False)  # world → facing
    body = rot.quat_rotate(facing[..., None, :], flat - flat[..., :1, :])
    identity = torch.zeros_like(facing)
    identity[..., 0] = 1.0
    local = inverse_kinematics(body, identity)[..., 1:, :]
    six = rot.cont6d_hml_to_interhuman(rot.quat_to_cont6d(local))
    return six.reshape(*joints.shape[:-2], 21, 6)


def interhuman_joints_to_features(
    joints: ArrayLike, rotations_6d: ArrayLike | None = None
) -> ArrayLike:
    """InterHuman's 262-dim per-person feature of one person's Y-up joints (REFERENCE.md §2.3).

    Args:
        joints: `(..., T, 22, 3)` metres, Y up, T ≥ 2.
        rotations_6d: `(..., T, 21, 6)` InterHuman-layout rotations copied into the feature (as
            InterGen does with the file's SMPL rotations); default our IK swing rotations.

    Returns:
        `(..., T-1, 262)`.
    """
    tensor, from_numpy = as_motion_tensor(
        joints, "joints", (NUM_JOINTS, 3), min_frames=2, expected="(..., T, 22, 3) with T >= 2"
    )
    lead = tensor.shape[:-3]
    flat = tensor.reshape(-1, *tensor.shape[-3:])
    if rotations_6d is None:
        rot6d = _swing_rotations_6d(flat)
    else:
        rot6d, _ = as_motion_tensor(rotations_6d, "rotations_6d", (21, 6))
        if rot6d.shape[:-2] != tensor.shape[:-2]:
            raise InterSynError(
                f"rotations_6d: expected shape {tuple(tensor.shape[:-2]) + (21, 6)}, "
                f"got {tuple(rot6d.shape)}"
            )
        rot6d = rot6d.to(flat).reshape(*flat.shape[:2], 21, 6)
    glob, _ = _interhuman_canonicalize(flat)
    out = _interhuman_features(glob, rot6d)
    return to_output(out.reshape(*lead, *out.shape[1:]), from_numpy, joints)


def interhuman_features_to_joints(features: ArrayLike) -> ArrayLike:
    """Joint positions `(..., T, 22, 3)` stored in InterHuman features `(..., T, 262)`."""
    tensor, from_numpy = as_motion_tensor(
        features, "features", (INTERHUMAN_DIM,), min_frames=1, expected="(..., T, 262)"
    )
    joints = tensor[..., IH_SLICES.positions].reshape(*tensor.shape[:-1], NUM_JOINTS, 3)
    return to_output(joints, from_numpy, features)


def interhuman_pair_features(joints_a: ArrayLike, joints_b: ArrayLike) -> ArrayLike:
    """InterGen's two-person canonicalisation: both 262-dim features, B in A's frame, `(2, T-1, 262)`.

    Each person keeps its own floor (as InterGen); person B's positions and velocities are
    rotated and translated into A's canonical frame, its rotations and contacts are untouched.
    """
    a, from_numpy = as_motion_tensor(
        joints_a, "joints_a", (NUM_JOINTS, 3), min_frames=2, expected="(T, 22, 3)"
    )
    b, _ = as_motion_tensor(
        joints_b, "joints_b", (NUM_JOINTS, 3), min_frames=2, expected="(T, 22, 3)"
    )
    if a.dim() != 3 or a.shape != b.shape:
        raise InterSynError(
            f"joints_a/joints_b: expected two (T, 22, 3) arrays of equal shape, "
            f"got {tuple(a.shape)} and {tuple(b.shape)}"
        )
    b = b.to(a)
    both = torch.stack([a, b])
    feats = torch.stack([_interhuman_features(*_one(both[i : i + 1])) for i in range(2)])[:, 0]
    _, place = _interhuman_canonicalize(both)
    rel_heading = place.heading[1] - place.heading[0]
    q_a_inv = rot.yaw_quat(-place.heading[0])
    shift = rot.quat_rotate(q_a_inv, place.origin[1] - place.origin[0])
    shift[1] = 0.0  # each person keeps its own floor height
    q_rel = rot.yaw_quat(rel_heading)
    frames = feats.shape[1]
    pos_b = rot.quat_rotate(q_rel, feats[1, :, :66].reshape(frames, 22, 3)) + shift
    vel_b = rot.quat_rotate(q_rel, feats[1, :, 66:132].reshape(frames, 22, 3))
    feats[1, :, :66] = pos_b.reshape(frames, 66)
    feats[1, :, 66:132] = vel_b.reshape(frames, 66)
    return to_output(feats, from_numpy, joints_a)


def _one(joints: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
    glob, _ = _interhuman_canonicalize(joints)
    return glob, _swing_rotations_6d(joints)


# ---------------------------------------------------------------------------------------------
# InterSyn pair feature (263 + placement) in person x's frame
# ---------------------------------------------------------------------------------------------


def _reference_frame(joints: torch.Tensor, presence: torch.Tensor | None = None) -> Placement:
    """Person 0's HumanML3D canonical frame over the common floor of all present people.

    `joints (B, P, T, 22, 3)`, `presence (B, P, T)` bool or None (everyone present).
    """
    frame = frame_pose(joints[:, 0, 0])
    heights = joints[..., 1].amin(dim=-1)  # (B, P, T) lowest joint per frame
    if presence is not None:
        heights = torch.where(
            presence.to(joints.device), heights, torch.full_like(heights, torch.inf)
        )
    frame.origin[:, 1] = heights.amin(dim=(1, 2))
    return frame


def presence_runs(presence: np.ndarray) -> list[tuple[int, int]]:
    """Contiguous runs `[start, end)` of True in a 1-D bool array."""
    padded = np.concatenate([[False], np.asarray(presence, dtype=bool), [False]])
    edges = np.flatnonzero(padded[1:] != padded[:-1])
    return list(zip(edges[0::2].tolist(), edges[1::2].tolist()))


ANCHORS = ("sequence", "run", "run_end")


def _check_anchor(anchor: str) -> str:
    if anchor not in ANCHORS:
        raise InterSynError(f"anchor: expected one of {ANCHORS}, got {anchor!r}")
    return anchor


def frame_pose(joints: torch.Tensor) -> Placement:
    """The HumanML3D canonical frame of single poses `(N, 22, 3)`: heading and root on the floor."""
    _, facing, origin = canonicalize(joints[:, None], floor=False)
    forward = rot.quat_rotate(rot.quat_conjugate(facing), torch.tensor([0.0, 0.0, 1.0]).to(joints))
    origin = origin * torch.tensor([1.0, 0.0, 1.0]).to(origin)
    return Placement(rot.heading_angle(forward), origin)


def pair_to_features(
    joints: ArrayLike,
    *,
    presence: ArrayLike | None = None,
    return_frame: bool = False,
    anchor: str = "sequence",
):
    """InterSyn pair features of P people sharing one world, person 0 as the reference (person x).

    Args:
        joints: `(..., P, T, 22, 3)` metres, Y up, T ≥ 2; all people in one world frame.
        presence: optional bool `(..., P, T)` over joint frames; each contiguous run of present
            frames is encoded on its own (its own canonical frame and placement), absent rows
            are zero. Feature row t is present when joint frames t and t+1 both are; person 0
            must be present at frame 0 (it defines the reference frame).
        return_frame: also return the `Placement` of person 0's canonical frame in the input
            world, so `features_to_pair(..., frame=...)` restores the original coordinates.
        anchor: where a partner's placement is measured from: "sequence" (person 0's canonical
            frame at frame 0) or "run" (person 0's canonical frame at the first frame of that
            partner's run, so a partner who appears mid-sequence is placed relative to where
            person 0 is then, not to how far it walked before), or "run_end": the partner's pose
            at the last frame of its run (its last feature row's frame) in person 0's pose then.
            With "run_end" what the placement fixes is where the two people stand when the
            interaction ends, and the partner's own walk (its 263 channels) decides where it
            came from: a walk generated too short starts the partner too close instead of
            leaving the pair apart. Person 0 is the same in every anchor.

    Returns:
        `(..., P, T-1, 267)`: per person the 263-dim HumanML3D feature in its own canonical
        frame, then `(cos ψ, sin ψ, x, z)` of that frame inside person 0's canonical frame.
        With `presence`, a tuple `(features, feature_presence (..., P, T-1))`.
    """
    _check_anchor(anchor)
    tensor, from_numpy = as_motion_tensor(
        joints, "joints", (NUM_JOINTS, 3), min_frames=2, expected="(..., P, T, 22, 3) with T >= 2"
    )
    if tensor.dim() < 4:
        raise InterSynError(
            f"joints: expected shape (..., P, T, 22, 3) with a person axis, got {tuple(tensor.shape)}"
        )
    lead = tensor.shape[:-4]
    people, frames = tensor.shape[-4], tensor.shape[-3]
    flat = tensor.reshape(-1, people, frames, NUM_JOINTS, 3)
    if presence is not None:
        mask = np.asarray(presence.cpu() if isinstance(presence, torch.Tensor) else presence)
        if mask.shape != tuple(tensor.shape[:-2]):
            raise InterSynError(
                f"presence: expected shape {tuple(tensor.shape[:-2])}, got {mask.shape}"
            )
        mask = mask.reshape(flat.shape[0], people, frames).astype(bool)
        if not mask[:, 0, 0].all():
            raise InterSynError(
                "presence: person 0 must be present at frame 0 (it is the reference)"
            )
    frame = _reference_frame(flat, None if presence is None else torch.from_numpy(mask))
    in_ref = frame.to_local(flat)
    if presence is None:
        persons = in_ref.reshape(-1, frames, NUM_JOINTS, 3)
        feats = _encode_persons(persons).reshape(-1, people, frames - 1, PAIR_FEATURE_DIM)
        if anchor == "run_end" and people > 1:
            feats[:, 1:, :, FEATURE_DIM:] = _end_placements(in_ref)[:, :, None]
        feature_presence = None
    else:
        feats = torch.zeros(*flat.shape[:3], PAIR_FEATURE_DIM, dtype=flat.dtype, device=flat.device)
        feats = feats[:, :, : frames - 1]
        rows = mask[..., :-1] & mask[..., 1:]
        for sample in range(flat.shape[0]):
            for person in range(people):
                for start, end in presence_runs(mask[sample, person]):
                    if end - start < 2:
                        continue
                    run = in_ref[sample, person, start:end][None]
                    if person > 0 and anchor != "sequence":
                        at = start if anchor == "run" else end - 2  # the run's last feature row
                        if not mask[sample, 0, at]:
                            raise InterSynError(
                                f"presence: with anchor={anchor!r} person 0 must be present "
                                f"where person {person}'s run {'starts' if anchor == 'run' else 'ends'} "
                                f"(frame {at})"
                            )
                        run = frame_pose(in_ref[sample, 0, at][None]).to_local(run)
                    encoded = _encode_persons(run)[0]
                    if person > 0 and anchor == "run_end":  # `run` is in person 0's pose then
                        encoded[:, FEATURE_DIM:] = _placement_channels(frame_pose(run[:, -2]))
                    feats[sample, person, start : end - 1] = encoded
        feature_presence = rows
    out = feats.reshape(*lead, people, frames - 1, PAIR_FEATURE_DIM)
    out = to_output(out, from_numpy, joints)
    result = (
        out
        if feature_presence is None
        else (out, feature_presence.reshape(*lead, people, frames - 1))
    )
    if return_frame:
        return (*result, frame) if isinstance(result, tuple) else (result, frame)
    return result


def _end_placements(in_ref: torch.Tensor) -> torch.Tensor:
    """ "run_end" placement channels `(B, P-1, 4)` of every partner of people present on all
    frames, `in_ref (B, P, T, 22, 3)`: its pose at the last feature row's frame in person 0's."""
    partners = frame_pose(in_ref[:, 0, -2]).to_local(in_ref[:, 1:, -2])
    B, others = partners.shape[:2]
    end = frame_pose(partners.reshape(-1, NUM_JOINTS, 3))
    return _placement_channels(end).reshape(B, others, PLACEMENT_DIM)


def _placement_channels(pose: Placement) -> torch.Tensor:
    """`(cos ψ, sin ψ, x, z)` `(N, 4)` of poses `(N,)`."""
    heading = pose.heading
    return torch.stack(
        (torch.cos(heading), torch.sin(heading), pose.origin[:, 0], pose.origin[:, 2]), -1
    )


def _placement_pose(placement: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
    """Heading `(...)` and floor origin `(..., 3)` of placement channels `(..., 4)` (the
    inverse of `_placement_channels`; averaged channels need not be unit)."""
    heading = torch.atan2(placement[..., 1], placement[..., 0])
    origin = torch.stack((placement[..., 2], torch.zeros_like(heading), placement[..., 3]), -1)
    return heading, origin


def _encode_persons(persons: torch.Tensor) -> torch.Tensor:
    """263-dim features + placement of clips `(N, T, 22, 3)` given in the reference frame."""
    frames = persons.shape[1]
    glob, facing, origin = canonicalize(persons, floor=False)
    feats = _features_from_canonical(glob)  # (N, T-1, 263)
    forward = rot.quat_rotate(rot.quat_conjugate(facing), torch.tensor([0.0, 0.0, 1.0]).to(glob))
    placement = _placement_channels(Placement(rot.heading_angle(forward), origin))
    return torch.cat([feats, placement[:, None, :].expand(-1, frames - 1, -1)], -1)


def _run_placements(
    features: torch.Tensor, present: torch.Tensor
) -> tuple[torch.Tensor, torch.Tensor]:
    """Each row's run-mean placement channels `(N, T, 4)` (the model predicts them on every
    row) and where runs start `(N, T)` bool, for rows `(N, T, 267)` and `present (N, T)`."""
    frames = features.shape[1]
    previous = torch.zeros_like(present)
    previous[:, 1:] = present[:, :-1]
    run_start = present & ~previous
    run_id = torch.cumsum(run_start.long(), dim=1).clamp_min(1) - 1  # (N, T)
    weights = present.to(features.dtype)
    index = run_id[..., None].expand(-1, -1, PLACEMENT_DIM)
    sums = torch.zeros(
        features.shape[0], frames, PLACEMENT_DIM, dtype=features.dtype, device=features.device
    )
    sums = sums.scatter_add(1, index, features[..., FEATURE_DIM:] * weights[..., None])
    counts = torch.zeros(features.shape[0], frames, dtype=features.dtype, device=features.device)
    counts = counts.scatter_add(1, run_id, weights)
    return (sums / counts.clamp_min(1.0)[..., None]).gather(1, index), run_start


def decode_pair_rows(
    features: torch.Tensor,
    present: torch.Tensor,
    teacher: torch.Tensor | None = None,
    teacher_position: bool = True,
) -> torch.Tensor:
    """Differentiable core of `features_to_pair`: rows `(N, T, 267)` → joints `(N, T, 22, 3)`.

    `present (N, T)` bool; each run of present rows is decoded on its own, absent rows are 0.
    `teacher (N, T, 267)`: roots follow the teacher's trajectory (or only its heading, with
    `teacher_position=False`) plus one-step deviations (`features_to_root`). No validation:
    for training losses on already-checked tensors.
    """
    placement, run_start = _run_placements(features, present)
    heading, origin = _placement_pose(placement)
    taught = None if teacher is None else teacher[..., :FEATURE_DIM]
    # Each run in its own frame.
    local = recover_joints(features[..., :FEATURE_DIM], run_start, taught, teacher_position)
    joints = rot.quat_rotate(rot.yaw_quat(heading)[:, :, None, :], local) + origin[:, :, None, :]
    return joints * present[..., None, None].to(joints.dtype)


def decode_pair(
    features: torch.Tensor,
    present: torch.Tensor,
    anchor: str,
    teacher: torch.Tensor | None = None,
    teacher_position: bool = True,
) -> torch.Tensor:
    """Differentiable pair decoding: features `(B, P, T, 267)`, `present (B, P, T)` → joints
    `(B, P, T, 22, 3)` in person 0's frame. With `anchor="run"` each partner run is placed
    relative to person 0's decoded pose at the run's first frame; with "run_end" the partner's
    own decoded pose at the run's last frame is put where the placement says, relative to
    person 0's pose then (see `pair_to_features`).
    `teacher (B, P, T, 267)`: roots follow the teacher's trajectories or headings
    (`decode_pair_rows`)."""
    B, P, T, D = features.shape
    _check_anchor(anchor)
    placement = None
    if anchor == "run_end" and P > 1:  # partners decoded in their own frame, placed below
        placement, _ = _run_placements(
            features[:, 1:].reshape(-1, T, D), present[:, 1:].reshape(-1, T)
        )
        identity = torch.tensor([1.0, 0.0, 0.0, 0.0], dtype=features.dtype, device=features.device)
        unplaced = torch.cat(
            [features[:, 1:, :, :FEATURE_DIM], identity.expand(B, P - 1, T, PLACEMENT_DIM)], -1
        )
        features = torch.cat([features[:, :1], unplaced], 1)
    taught = None if teacher is None else teacher.reshape(B * P, T, D)
    joints = decode_pair_rows(
        features.reshape(B * P, T, D), present.reshape(B * P, T), taught, teacher_position
    )
    joints = joints.reshape(B, P, T, NUM_JOINTS, 3)
    if anchor == "sequence" or P == 1:
        return joints
    pose = frame_pose(joints[:, 0].reshape(B * T, NUM_JOINTS, 3))
    heading, origin = pose.heading.reshape(B, 1, T), pose.origin.reshape(B, 1, T, 3)
    others = present[:, 1:]
    if anchor == "run":
        previous = torch.zeros_like(others)
        previous[..., 1:] = others[..., :-1]
        at = run_start_index(others & ~previous)  # first frame of each row's run
    else:  # last frame of each row's run: the first of the run read backwards
        following = torch.zeros_like(others)
        following[..., :-1] = others[..., 1:]
        at = T - 1 - run_start_index((others & ~following).flip(-1)).flip(-1)
    heading = torch.gather(heading.expand(-1, P - 1, -1), 2, at)
    origin = torch.gather(origin.expand(-1, P - 1, -1, -1), 2, at[..., None].expand(-1, -1, -1, 3))
    partners = joints[:, 1:]
    if placement is not None:
        # Move each partner run so that its own pose at the run's last frame lands where the
        # placement puts it in person x's pose then.
        ends = torch.gather(partners, 2, at[..., None, None].expand(-1, -1, -1, NUM_JOINTS, 3))
        # Absent rows hold zeros, whose heading is undefined: person x stands in for them.
        ends = torch.where(others[..., None, None], ends, joints[:, :1].expand_as(ends))
        own = frame_pose(ends.reshape(-1, NUM_JOINTS, 3))
        own_heading, own_origin = (
            own.heading.reshape(B, P - 1, T),
            own.origin.reshape(B, P - 1, T, 3),
        )
        turn, offset = _placement_pose(placement.reshape(B, P - 1, T, PLACEMENT_DIM))
        origin = origin + rot.quat_rotate(rot.yaw_quat(heading), offset)
        heading = heading + turn - own_heading
        partners = partners - own_origin[..., None, :]
    placed = rot.quat_rotate(rot.yaw_quat(heading)[..., None, :], partners) + origin[..., None, :]
    placed = placed * others[..., None, None].to(placed.dtype)
    return torch.cat([joints[:, :1], placed], 1)


def features_to_pair(
    features: ArrayLike,
    *,
    presence: ArrayLike | None = None,
    frame: Placement | None = None,
    anchor: str = "sequence",
) -> ArrayLike:
    """Decode pair features `(..., P, T, 267)` to joints `(..., P, T, 22, 3)` in one frame.

    Args:
        features: pair features as `pair_to_features` (or U(·)) makes them.
        presence: optional bool `(..., P, T)`. Each contiguous run of present frames is decoded
            on its own: its root integration starts at that run's first frame and its placement
            is the average over the run's frames (a partner who appears in two interaction
            segments has two placements). Absent frames come out as zeros. Default: all present.
        frame: optional `Placement` (from `pair_to_features(..., return_frame=True)`) to map the
            result back to the original world; default person 0's canonical frame.
        anchor: as the features were made with (`pair_to_features`).
    """
    tensor, from_numpy = as_motion_tensor(
        features, "features", (PAIR_FEATURE_DIM,), min_frames=1, expected="(..., P, T, 267)"
    )
    if tensor.dim() < 3:
        raise InterSynError(f"features: expected shape (..., P, T, 267), got {tuple(tensor.shape)}")
    lead = tensor.shape[:-2]
    frames = tensor.shape[-2]
    flat = tensor.reshape(-1, frames, PAIR_FEATURE_DIM)
    if presence is None:
        present = torch.ones(flat.shape[:2], dtype=torch.bool, device=flat.device)
    else:
        mask = torch.as_tensor(
            np.asarray(presence) if not isinstance(presence, torch.Tensor) else presence
        )
        if tuple(mask.shape) != tuple(tensor.shape[:-1]):
            raise InterSynError(
                f"presence: expected shape {tuple(tensor.shape[:-1])}, got {tuple(mask.shape)}"
            )
        present = mask.reshape(flat.shape[:2]).to(device=flat.device, dtype=torch.bool)
    people = tensor.shape[-3]
    joints = decode_pair(
        flat.reshape(-1, people, frames, PAIR_FEATURE_DIM),
        present.reshape(-1, people, frames),
        anchor,
    ).reshape(flat.shape[0], frames, NUM_JOINTS, 3)
    if frame is not None:
        samples = frame.heading.shape[0]
        joints = frame.to_world(joints.reshape(samples, -1, 3)).reshape(joints.shape)
        joints = joints * present[..., None, None].to(joints.dtype)
    return to_output(joints.reshape(*lead, frames, NUM_JOINTS, 3), from_numpy, features)
