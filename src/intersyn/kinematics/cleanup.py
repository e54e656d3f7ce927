"""Post-processing of generated joints: smoothing, one rigid skeleton, foot locking, hand contact.

A diffusion sample decodes every frame's joint positions on its own, so small per-frame errors
show as jitter (jerk far above captured motion) and as toes sliding on the floor (a toe that
shakes by 3 cm a frame "skates" at 0.6 m/s at 20 fps). Two standard clean-ups fix what a viewer
sees without touching the model:

1. Gaussian smoothing of joint positions over time (`sigma` frames; 1 removes frame-to-frame
   jitter and keeps a 2 Hz gesture).
2. One rigid skeleton per person. The model predicts joint positions, so its bones stretch
   and shrink from frame to frame (and the hips, spine and collars shift against each other),
   while a BVH file, and any rig, has one set of bone lengths. Each person's motion is
   re-posed on its own median-length skeleton (`intersyn.export.bvh`'s rotation fit and
   forward kinematics), so that the steps below fix feet and hands on the skeleton that is
   exported: before, writing the BVH moved toes by up to 10 cm and wrists by up to 30 cm, and
   the files' feet skated again (0.96 m/s in generated walks, 0.0000002 m/s before export).
   Fixed lengths turn the model's stretching into motion (a forearm that stretches from 27 to
   35 cm and back moves the fitted wrist by 11 cm within a few frames), so the fitted motion
   is smoothed once more by `sigma` and fitted again: arm jerk then ends below the unfitted
   motion's instead of 50 % above it.
3. Foot locking. A toe is *planted* while it is on the floor (below `floor_height`, as the
   foot-skating measure counts it) and slow (below `plant_speed`); its horizontal position is
   pinned to the mean of that stance. The model draws motion in 4-frame patches, so its
   jogs and runs plant a foot for one patch between swings; smoothing blurs such a stance
   into a slow slide (1-1.5 m/s). A run of low frames slower than `stance_speed` that stays
   within `stance_radius` of its mean, and holds at most one stance found by `plant_speed`
   (two would be merged into one pin, erasing a step), is therefore planted too (by
   `plant_speed` alone, generated runs kept a toe on the floor in 21 % of frames against
   the data's 60 %: the feet hovered at the swing clearance). A toe that is low but fast is a
   foot the model slid along the floor instead of stepping: it is lifted to `swing_clearance`
   (a step) instead of pinned (pinning it would drag the foot back by up to a metre and
   over-stretch the leg). The leg is re-solved with analytic two-bone IK (hip fixed, bone
   lengths kept, knee bent towards where it was). The horizontal pin eases out over
   `blend_frames` around each stance.
4. Hand contact (motions of two or more people). The model brings hands *near* each other
   in a handshake or a high five but lands them 5-20 cm apart, where captured hands touch
   (2 cm). A wrist within `hand_radius` of another present person's wrist is pulled towards
   it: below half the radius the two close to `hand_gap`, and from there to the full radius
   the pull fades to nothing. The pull is a continuous function of the distance, so hands
   glide together and apart as they approach and part, without snapping (the pull is also
   smoothed over time by `sigma`); the arm is re-solved with the same two-bone IK (shoulder
   fixed, elbow bent as it was). Hands farther apart than the radius stay where they are
   (but for the few frames where the smoothed pull eases out), and absent people's hands
   neither move nor pull.

Everything is vectorised over people and frames.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from intersyn.errors import InterSynError

# (hip, knee, ankle, toe) of the left and right leg, SMPL-22.
LEGS: tuple[tuple[int, int, int, int], ...] = ((1, 4, 7, 10), (2, 5, 8, 11))
# (shoulder, elbow, wrist) of the left and right arm, SMPL-22.
ARMS: tuple[tuple[int, int, int], ...] = ((16, 18, 20), (17, 19, 21))


@dataclass(frozen=True)
class CleanupConfig:
    """What `clean_motion` does; `CleanupConfig(sigma=0, rigid_skeleton=False,
    foot_lock=False, hand_contact=False)` changes nothing."""

    sigma: float = 1.0  # frames of Gaussian temporal smoothing (0: none)
    rigid_skeleton: bool = True  # re-pose each person on one set of bone lengths
    foot_lock: bool = True
    floor_height: float = 0.05  # m: a toe lower than this is on the floor (quality.SKATING_HEIGHT)
    blend_frames: int = 3  # frames over which a pin eases in and out around a stance
    plant_speed: float = 0.5  # m/s: a low toe slower than this is planted, a faster one swings
    # m/s (>= plant_speed): low toes slower than this are planted too where ...
    stance_speed: float = 1.5
    stance_radius: float = 0.1  # m: ... their run of frames stays this near its mean position
    swing_clearance: float = 0.06  # m: a swinging toe is raised to at least this (> floor_height)
    fps: float = 20.0  # frame rate of the joints (the model's)
    hand_contact: bool = True  # (motions of several people)
    hand_radius: float = 0.25  # m: wrists of two people nearer than this are pulled together
    hand_gap: float = 0.02  # m: ... to this distance (captured handshakes: 2 cm)

    def __post_init__(self) -> None:
        if self.hand_contact and not 0 <= 2 * self.hand_gap < self.hand_radius:
            raise InterSynError(
                f"hand_gap={self.hand_gap}, hand_radius={self.hand_radius}: expected "
                "0 <= hand_gap < hand_radius / 2, so the pull fades out beyond the gap"
            )
        if self.foot_lock and not self.swing_clearance > self.floor_height:
            raise InterSynError(
                f"swing_clearance={self.swing_clearance}: expected more than "
                f"floor_height={self.floor_height}, so a swinging toe is off the floor"
            )
        if self.foot_lock and not (
            self.stance_speed >= self.plant_speed and self.stance_radius >= 0
        ):
            raise InterSynError(
                f"stance_speed={self.stance_speed}, stance_radius={self.stance_radius}: expected "
                f"stance_speed >= plant_speed={self.plant_speed} and stance_radius >= 0"
            )
        if self.fps <= 0 or self.plant_speed <= 0:
            raise InterSynError(
                f"fps={self.fps}, plant_speed={self.plant_speed}: expected positive values"
            )


def smooth(joints: np.ndarray, sigma: float) -> np.ndarray:
    """Gaussian-smooth `(..., T, J, 3)` along time (edges reflected)."""
    if sigma <= 0:
        return joints
    radius = int(np.ceil(3 * sigma))
    taps = np.exp(-0.5 * (np.arange(-radius, radius + 1) / sigma) ** 2)
    taps /= taps.sum()
    T = joints.shape[-3]
    index = np.arange(T)[:, None] + np.arange(-radius, radius + 1)[None, :]  # (T, taps)
    index = np.abs(index)  # reflect at the start ...
    index = np.where(index > T - 1, 2 * (T - 1) - index, index)  # ... and at the end
    index = np.clip(index, 0, T - 1)  # clips shorter than the filter
    return np.einsum("...tkjc,k->...tjc", joints[..., index, :, :], taps)


def rigid_skeleton(joints: np.ndarray) -> np.ndarray:
    """`joints (..., T, 22, 3)` re-posed on one skeleton per motion: the rest offsets of
    `skeleton_offsets_from_motion` (median bone lengths), the BVH rotation fit, and forward
    kinematics; a BVH written from the result reproduces it to the file's precision."""
    from intersyn.export.bvh import (  # (the BVH writer's own fit, so the two agree)
        MIN_BONE_LENGTH,
        fit_rotations,
        local_rotations_to_joints,
        median_bone_lengths,
        skeleton_offsets_from_motion,
    )

    flat = joints.reshape(-1, *joints.shape[-3:])
    out = flat.copy()
    for index, motion in enumerate(flat):  # one fit per person and sample, vectorised in time
        if not (median_bone_lengths(motion) > MIN_BONE_LENGTH).all():
            continue  # no body (a person absent from the whole clip is all zeros): kept as is
        rest = skeleton_offsets_from_motion(motion)
        root, local = fit_rotations(motion, rest)
        out[index] = local_rotations_to_joints(root, local, rest)
    return out.reshape(joints.shape)


def _nearest_stance(contact: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """For every frame of `(..., T)` bool: index of the nearest contact frame and its distance."""
    T = contact.shape[-1]
    frames = np.broadcast_to(np.arange(T), contact.shape)
    big = 10 * T
    before = np.maximum.accumulate(np.where(contact, frames, -big), axis=-1)
    after = np.flip(
        np.minimum.accumulate(np.flip(np.where(contact, frames, 2 * big), -1), axis=-1), -1
    )
    use_after = (after - frames) < (frames - before)
    nearest = np.where(use_after, after, before)
    return np.clip(nearest, 0, T - 1), np.abs(nearest - frames)


def _starts(contact: np.ndarray) -> np.ndarray:
    """Frames of `(..., T)` bool where a run of consecutive contact frames begins."""
    return contact & ~np.concatenate([np.zeros_like(contact[..., :1]), contact[..., :-1]], -1)


Runs = tuple[np.ndarray, np.ndarray]  # each frame's run (1, 2, ...; 0 outside) and its one-hot


def _runs(contact: np.ndarray) -> Runs:
    """Runs of consecutive contact frames in `(..., T)` bool: each frame's run (1, 2, ...;
    0 outside runs) and the one-hot `(..., T, runs + 1)` of it (column 0 always False)."""
    run = np.cumsum(_starts(contact), axis=-1) * contact
    one_hot = run[..., None] == np.arange(int(run.max(initial=0)) + 1)
    one_hot[..., 0] = False
    return run, one_hot


def _run_mean(values: np.ndarray, runs: Runs) -> np.ndarray:
    """Mean of `values (..., T, C)` over each frame's run, `(..., T, C)`."""
    run, one_hot = runs
    sums = np.einsum("...tr,...tc->...rc", one_hot, values)
    means = sums / np.maximum(one_hot.sum(-2)[..., None], 1)
    return np.take_along_axis(means, run[..., None].repeat(values.shape[-1], -1), axis=-2)


def _stance_anchors(toe_xz: np.ndarray, contact: np.ndarray) -> np.ndarray:
    """Mean horizontal toe position of each frame's stance (run of contact frames), `(..., T, 2)`."""
    return _run_mean(toe_xz, _runs(contact))


def _run_max(values: np.ndarray, runs: Runs) -> np.ndarray:
    """Largest of `values (..., T)` over each frame's run (−inf outside runs)."""
    run, one_hot = runs
    largest = np.where(one_hot, values[..., None], -np.inf).max(-2, initial=-np.inf)
    return np.where(run > 0, np.take_along_axis(largest, run, axis=-1), -np.inf)


def _run_sum(values: np.ndarray, runs: Runs) -> np.ndarray:
    """Sum of `values (..., T)` over each frame's run (0 outside runs)."""
    run, one_hot = runs
    totals = np.einsum("...tr,...t->...r", one_hot, values)
    return np.where(run > 0, np.take_along_axis(totals, run, axis=-1), 0.0)


def _two_bone_ik(
    hip: np.ndarray, knee: np.ndarray, ankle: np.ndarray, target: np.ndarray
) -> tuple[np.ndarray, np.ndarray]:
    """New (knee, ankle) putting the ankle at `target` (or as near as the leg reaches)."""
    upper = np.linalg.norm(knee - hip, axis=-1, keepdims=True)
    lower = np.linalg.norm(ankle - knee, axis=-1, keepdims=True)
    reach = target - hip
    length = np.linalg.norm(reach, axis=-1, keepdims=True)
    axis = reach / np.maximum(length, 1e-8)
    d = np.clip(length, np.abs(upper - lower) + 1e-4, upper + lower - 1e-4)
    along = (upper**2 + d**2 - lower**2) / (2 * d)
    side = np.sqrt(np.maximum(upper**2 - along**2, 0.0))
    pole = knee - hip
    pole = pole - np.sum(pole * axis, -1, keepdims=True) * axis  # the knee's old bend direction
    pole = pole / np.maximum(np.linalg.norm(pole, axis=-1, keepdims=True), 1e-8)
    return hip + along * axis + side * pole, hip + d * axis


def _toe_speed(toe_xz: np.ndarray, fps: float) -> np.ndarray:
    """Horizontal speed per frame `(..., T)`: the slower of the two intervals around the frame,
    so both ends of a stance count as planted."""
    step = np.linalg.norm(np.diff(toe_xz, axis=-2), axis=-1) * fps  # (..., T-1)
    if step.shape[-1] == 0:
        return np.zeros(toe_xz.shape[:-1])
    after = np.concatenate([step, step[..., -1:]], -1)
    before = np.concatenate([step[..., :1], step], -1)
    return np.minimum(after, before)


def lock_feet(joints: np.ndarray, config: CleanupConfig | None = None) -> np.ndarray:
    """Pin planted toes, lift sliding ones, and re-solve the legs, `(..., T, 22, 3)`; the
    thresholds come from `config` (its `sigma` and `foot_lock` are not used here)."""
    config = config or CleanupConfig()
    floor_height, blend_frames = config.floor_height, config.blend_frames
    out = joints.copy()
    for hip, knee, ankle, toe in LEGS:
        toe_pos = out[..., toe, :]
        low = toe_pos[..., 1] < floor_height  # (..., T)
        if not low.any():
            continue
        toe_xz = toe_pos[..., [0, 2]]
        speed = _toe_speed(toe_xz, config.fps)
        planted = low & (speed < config.plant_speed)
        # A short stance blurred by smoothing: low frames slower than stance_speed whose
        # whole run stays within stance_radius of its mean and holds at most one stance
        # found above (two joined by a slow slide are two steps, not one).
        steady = low & (speed < config.stance_speed)
        runs = _runs(steady)
        spread = np.linalg.norm(toe_xz - _run_mean(toe_xz, runs), axis=-1)
        one_stance = _run_sum(_starts(planted).astype(np.float64), runs) <= 1
        planted |= steady & one_stance & (_run_max(spread, runs) <= config.stance_radius)
        has_stance = planted.any(-1)[..., None]
        shift = np.zeros_like(toe_pos)
        shift[..., [0, 2]] = _stance_anchors(toe_xz, planted) - toe_xz
        # Outside a stance the shift of the nearest stance frame fades out over blend_frames.
        nearest, distance = _nearest_stance(planted)
        weight = np.where(has_stance, np.clip(1.0 - distance / (blend_frames + 1), 0.0, 1.0), 0.0)
        shift = np.take_along_axis(shift, nearest[..., None].repeat(3, -1), axis=-2)
        shift = shift * weight[..., None]
        # A low toe that is not planted swings: raised to the clearance (higher ones stay).
        shift[..., 1] = np.where(
            planted, 0.0, np.maximum(config.swing_clearance - toe_pos[..., 1], 0.0)
        )
        new_knee, new_ankle = _two_bone_ik(
            out[..., hip, :], out[..., knee, :], out[..., ankle, :], out[..., ankle, :] + shift
        )
        out[..., toe, :] = out[..., toe, :] + (new_ankle - out[..., ankle, :])
        out[..., knee, :], out[..., ankle, :] = new_knee, new_ankle
    return out


def _contact_pull(distance: np.ndarray, radius: float, gap: float) -> np.ndarray:
    """How much nearer two hands `distance` apart are brought: all the way to `gap` below
    half the radius, fading linearly to nothing at the radius (continuous in the distance,
    and the new distance still grows with the old one, so hands keep their order of
    approach)."""
    distance = np.minimum(distance, radius)  # (no partner: inf)
    weight = np.clip(2.0 - 2.0 * distance / radius, 0.0, 1.0)
    return weight * np.maximum(distance - gap, 0.0)


def join_hands(
    joints: np.ndarray, config: CleanupConfig | None = None, presence: np.ndarray | None = None
) -> np.ndarray:
    """Bring near wrists of different people together and re-solve their arms.

    `joints (..., P, T, 22, 3)`; `presence (..., P, T)` bool (broadcast against the joints'
    leading axes; default: everyone present). Each wrist is pulled towards the nearest wrist
    of another person present in the same frame by half of `_contact_pull`, so a mutual pair
    closes the whole amount between them.
    """
    config = config or CleanupConfig()
    if joints.ndim < 4 or joints.shape[-4] < 2:
        return joints
    people, frames = joints.shape[-4], joints.shape[-3]
    present = np.ones((people, frames), bool) if presence is None else np.asarray(presence, bool)
    try:
        present = np.broadcast_to(present, joints.shape[:-2])  # (..., P, T)
    except ValueError:
        raise InterSynError(
            f"presence: shape {present.shape} does not fit joints {joints.shape}; expected "
            "(..., P, T) people x frames"
        ) from None
    wrists = np.moveaxis(joints[..., [arm[2] for arm in ARMS], :], -4, -3)  # (..., T, P, 2, 3)
    hands = wrists.reshape(*wrists.shape[:-3], 2 * people, 3)  # (..., T, 2P, 3)
    hand_present = np.repeat(np.moveaxis(present, -2, -1), 2, axis=-1)  # (..., T, 2P)
    owner = np.repeat(np.arange(people), 2)
    towards = hands[..., None, :, :] - hands[..., :, None, :]  # (..., T, 2P, 2P, 3): j - i
    distance = np.linalg.norm(towards, axis=-1)
    allowed = (owner[:, None] != owner[None, :]) & hand_present[..., :, None]
    allowed = allowed & hand_present[..., None, :]
    distance = np.where(allowed, distance, np.inf)
    nearest = distance.argmin(-1)[..., None]  # (..., T, 2P, 1)
    gap = np.take_along_axis(distance, nearest, -1)[..., 0]  # (..., T, 2P)
    direction = np.take_along_axis(towards, nearest[..., None], -2)[..., 0, :]
    pull = 0.5 * _contact_pull(gap, config.hand_radius, config.hand_gap)
    if not (pull > 0).any():
        return joints
    move = direction / np.maximum(gap, 1e-8)[..., None] * pull[..., None]  # (..., T, 2P, 3)
    move = np.moveaxis(move.reshape(*wrists.shape), -3, -4)  # (..., P, T, 2, 3)
    # Smoothed over time like the joints: the distance still jitters a little from frame to
    # frame, and the pull's slope would pass that on to the wrists (jerk +50 % without).
    move = smooth(move, float(config.sigma))
    moving = np.abs(move).max(-1) > 0  # (..., P, T, 2)
    out = joints.copy()
    for side, (shoulder, elbow, wrist) in enumerate(ARMS):
        new_elbow, new_wrist = _two_bone_ik(
            out[..., shoulder, :],
            out[..., elbow, :],
            out[..., wrist, :],
            out[..., wrist, :] + move[..., side, :],
        )
        arm_moves = moving[..., side, None]
        out[..., elbow, :] = np.where(arm_moves, new_elbow, out[..., elbow, :])
        out[..., wrist, :] = np.where(arm_moves, new_wrist, out[..., wrist, :])
    return out


def clean_motion(
    joints: np.ndarray, config: CleanupConfig | None = None, presence: np.ndarray | None = None
) -> np.ndarray:
    """Smoothed, rigid, foot-locked copy of joints `(..., T, 22, 3)` (metres, Y up, floor y = 0).

    With a people axis, `(..., P, T, 22, 3)` and P >= 2, hands of different people that come
    near each other are also joined (`join_hands`, only where both are present in
    `presence (..., P, T)`; default: everyone always)."""
    config = config or CleanupConfig()
    joints = np.asarray(joints)
    if joints.ndim < 3 or joints.shape[-2:] != (22, 3):
        raise InterSynError(f"joints: expected shape (..., T, 22, 3), got {joints.shape}")
    if not np.isfinite(joints).all():
        raise InterSynError("joints: contains NaN or infinite values")
    out = smooth(joints.astype(np.float64), float(config.sigma))
    if config.rigid_skeleton:
        out = rigid_skeleton(smooth(rigid_skeleton(out), float(config.sigma)))
    if config.foot_lock:
        out = lock_feet(out, config)
    if config.hand_contact:  # (a no-op without a people axis of two or more)
        out = join_hands(out, config, presence)
    return out.astype(joints.dtype)
