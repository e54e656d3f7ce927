"""Whole-body assembly: pelvis from the feet, legs by IK, spine and head from frames, arms by IK.

An action fills a `FootPlan`, adds per-frame `Channels` (offsets of the pelvis, chest and head)
and, once the torso exists, wrist targets (`ArmTarget`). `build_torso` then `finish_body`
turn them into joints `(T, 22, 3)`.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

from intersyn.data.procedural.body import (
    ANKLE,
    COLLAR,
    COLLAR_DIR,
    ELBOW,
    FOOT,
    HEAD_DIR,
    HIP,
    HIP_DIR,
    KNEE,
    NECK_DIR,
    SHOULDER,
    SHOULDER_DIR,
    SIDE_SIGN,
    SPINE1_DIR,
    SPINE2_DIR,
    SPINE3_DIR,
    UP,
    WRIST,
    BodyGeometry,
    apply,
    euler_frames,
    forward_of,
    heading,
    mirror,
    normalize,
    two_bone_ik,
    yaw_frames,
)
from intersyn.data.procedural.feet import FootPlan, FootTrack
from intersyn.data.procedural.timing import smooth, smooth_upper, wrap_angle

CHANNEL_NAMES: tuple[str, ...] = (
    "pelvis_up",
    "pelvis_forward",
    "pelvis_left",
    "pelvis_yaw",
    "pelvis_pitch",
    "pelvis_roll",
    "chest_yaw",
    "chest_pitch",
    "chest_roll",
    "head_yaw",
    "head_pitch",
    "head_roll",
)


class Channels:
    """Additive per-frame offsets `(T,)` (metres in the body's yaw frame, radians) set by actions."""

    def __init__(self, frames: int) -> None:
        self.values = {name: np.zeros(frames) for name in CHANNEL_NAMES}

    def add(self, name: str, values: np.ndarray | float) -> None:
        self.values[name] = self.values[name] + values

    def __getitem__(self, name: str) -> np.ndarray:
        return self.values[name]


@dataclass(frozen=True)
class BodyStyle:
    """Clip-level constants of how the body carries itself."""

    pelvis_smoothing: float = 0.25  # s, Gaussian σ over the feet's support points
    sway: float = 0.55  # fraction of the half stance width the pelvis shifts over one support foot
    flight_lift: float = 0.0  # m, pelvis rise while both feet are off the ground (running)
    lean_per_speed: float = 0.035  # rad of forward lean per m/s
    twist: float = 0.3  # rad of pelvis yaw per metre of front-back foot separation
    arm_bend: float = 0.0  # 0 = arms hang nearly straight, 1 = elbows bent (running)
    arm_swing: float = 0.35  # wrist swing per metre of foot separation
    posture: float = 0.04  # rad, chest pitch in a neutral stance
    head_pitch: float = 0.08  # rad, gaze slightly down
    leg_reach: float = 0.99  # fraction of the leg length the pelvis may stretch to


@dataclass
class Torso:
    """Everything but the arms, plus the frames the arms are placed from."""

    geom: BodyGeometry
    style: BodyStyle
    t: np.ndarray  # (T,) seconds
    joints: np.ndarray  # (T, 22, 3), elbows and wrists not yet placed
    chest: np.ndarray  # (T, 3, 3) chest frame
    chest_yaw: np.ndarray  # (T,) rad
    pelvis_yaw: np.ndarray  # (T,) rad
    foot_forward: np.ndarray  # (2, T) ankle offsets ahead of the pelvis, m
    look_yaw: np.ndarray  # (T,) rad

    @property
    def facing(self) -> np.ndarray:
        """Yaw-only frames of the chest `(T, 3, 3)`: gravity-aligned, turned with the chest."""
        return yaw_frames(self.chest_yaw)

    def shoulder(self, side: int) -> np.ndarray:
        """Shoulder joint positions `(T, 3)` of `side` (0 left, 1 right)."""
        return self.joints[:, SHOULDER[side]]

    def facing_point(self, origin: np.ndarray, local: np.ndarray) -> np.ndarray:
        """`origin` `(T, 3)` plus a (left, up, forward) offset in the gravity-aligned chest frame."""
        return origin + apply(self.facing, local)


@dataclass
class ArmTarget:
    """A wrist target for one arm: blended over the default pose by `weight` `(T,)` in [0, 1]."""

    side: int
    weight: np.ndarray  # (T,)
    target: np.ndarray  # (T, 3) world
    pole: np.ndarray | None = None  # (T, 3) world direction the elbow bends toward
    follow_shoulder: bool = True  # False for world contacts: a shrug must not move the target


@dataclass
class PersonPlan:
    """The drivers of one body: feet, channels, style, and what the head looks at."""

    feet: FootPlan
    channels: Channels
    style: BodyStyle = field(default_factory=BodyStyle)
    look_at: np.ndarray | None = None  # (T, 3) world point, or None to look along the way
    look_weight: np.ndarray | None = None  # (T,) in [0, 1]


def build_torso(
    geom: BodyGeometry, plan: PersonPlan, track: FootTrack, t: np.ndarray, fps: int
) -> Torso:
    """Pelvis, legs, spine, head, collars and shoulders `(T, 22, 3)` from feet and channels."""
    style, ch = plan.style, plan.channels
    n = t.shape[0]
    sigma = style.pelvis_smoothing * fps
    # 1. Pelvis facing the feet's mean yaw; sideways over the midpoint of the two support points,
    # fore-aft over the feet that bear weight (so it passes over each stance foot mid-stance).
    yaw_feet = np.unwrap(
        np.arctan2(
            smooth(np.sin(track.body_yaw).sum(0), sigma),
            smooth(np.cos(track.body_yaw).sum(0), sigma),
        )
    )
    ground = track.grounded.astype(np.float64)
    total = ground.sum(0)
    weights = ground + 0.05
    loaded = (weights[..., None] * track.support).sum(0) / weights.sum(0)[:, None]
    plain = 0.5 * (track.support[0] + track.support[1])
    heading_xz = np.stack([np.sin(yaw_feet), np.cos(yaw_feet)], -1)
    along = ((loaded - plain) * heading_xz).sum(-1, keepdims=True)
    mid = smooth(plain + along * heading_xz, sigma)
    balance = np.where(total > 0, (ground[0] - ground[1]) / np.maximum(total, 1.0), 0.0)
    balance = smooth(balance, 0.12 * fps)
    flight = smooth((total == 0).astype(np.float64), 0.06 * fps)
    half_width = np.linalg.norm(track.support[0] - track.support[1], axis=-1).mean() * 0.5
    fwd = forward_of(yaw_feet)
    left = np.stack([fwd[:, 2], np.zeros(n), -fwd[:, 0]], axis=-1)
    # Ankle offsets ahead of the pelvis drive pelvis twist and arm swing.
    rel = track.ankle[:, :, [0, 2]] - mid[None]
    foot_forward = (rel * fwd[None][:, :, [0, 2]]).sum(-1)
    twist = -style.twist * (foot_forward[0] - foot_forward[1])
    side_shift = balance * style.sway * min(half_width, 0.12 * geom.scale) + ch["pelvis_left"]
    pelvis = np.zeros((n, 3))
    pelvis[:, [0, 2]] = mid
    pelvis += left * side_shift[:, None] + fwd * ch["pelvis_forward"][:, None]
    pelvis[:, 1] = geom.stand_height + ch["pelvis_up"] + style.flight_lift * flight
    velocity = np.gradient(pelvis[:, [0, 2]], axis=0) * fps
    speed = (velocity * fwd[:, [0, 2]]).sum(-1)
    pelvis_yaw = yaw_feet + twist + ch["pelvis_yaw"]
    pelvis_pitch = style.lean_per_speed * smooth(speed, 0.2 * fps) + ch["pelvis_pitch"]
    pelvis_roll = -0.04 * balance + ch["pelvis_roll"]
    rp = euler_frames(pelvis_yaw, pelvis_pitch, pelvis_roll)
    hips = np.stack([pelvis + apply(rp, mirror(HIP_DIR, s) * geom.lengths[HIP[s]]) for s in (0, 1)])
    # 2. Lower the pelvis (smoothly) wherever a leg could not reach its ankle target.
    excess = np.zeros(n)
    for s in (0, 1):
        reach = style.leg_reach * geom.leg[s]
        horiz = np.linalg.norm(hips[s][:, [0, 2]] - track.ankle[s][:, [0, 2]], axis=-1)
        vert_max = np.sqrt(np.maximum(reach * reach - horiz * horiz, 0.0))
        above = hips[s][:, 1] - track.ankle[s][:, 1]
        excess = np.maximum(excess, np.maximum(above - vert_max, 0.0))
    drop = smooth_upper(excess, 0.08 * fps)
    pelvis[:, 1] -= drop
    hips[:, :, 1] -= drop[None]
    joints = np.zeros((n, 22, 3))
    joints[:, 0] = pelvis
    # 3. Legs: knees bend toward the foot's forward direction.
    for s in (0, 1):
        pole = forward_of(heading(apply(track.frames[s], np.array([0.0, 0.0, 1.0])))) + fwd
        knee, ankle = two_bone_ik(hips[s], track.ankle[s], geom.thigh[s], geom.shin[s], pole)
        joints[:, HIP[s]] = hips[s]
        joints[:, KNEE[s]] = knee
        joints[:, ANKLE[s]] = ankle
        joints[:, FOOT[s]] = ankle - apply(track.frames[s], geom.ankle_local[s][None])
    # 4. Spine: chest counter-rotates the pelvis twist; angles blend along the spine.
    chest_yaw = yaw_feet - 0.7 * twist + ch["pelvis_yaw"] + ch["chest_yaw"]
    chest_pitch = pelvis_pitch + style.posture + ch["chest_pitch"]
    chest_roll = pelvis_roll + ch["chest_roll"]
    rc = euler_frames(chest_yaw, chest_pitch, chest_roll)
    rm = euler_frames(
        0.5 * (pelvis_yaw + chest_yaw),
        0.5 * (pelvis_pitch + chest_pitch),
        0.5 * (pelvis_roll + chest_roll),
    )
    L = geom.lengths
    joints[:, 3] = pelvis + apply(rp, SPINE1_DIR * L[3])
    joints[:, 6] = joints[:, 3] + apply(rm, SPINE2_DIR * L[6])
    joints[:, 9] = joints[:, 6] + apply(rc, SPINE3_DIR * L[9])
    # 5. Head: looks along the way (slightly ahead in time) or at a target, within neck limits.
    look_yaw = np.interp(t + 0.3, t, yaw_feet)
    if plan.look_at is not None:
        to_target = plan.look_at - joints[:, 9]
        target_yaw = chest_yaw + wrap_angle(heading(to_target) - chest_yaw)
        w = np.ones(n) if plan.look_weight is None else plan.look_weight
        look_yaw = look_yaw + w * wrap_angle(target_yaw - look_yaw)
    head_yaw = chest_yaw + np.clip(wrap_angle(look_yaw - chest_yaw), -1.1, 1.1) + ch["head_yaw"]
    # The head follows most of a forward bend (a bow looks down) and keeps a slight downward gaze.
    head_pitch = style.head_pitch + 0.7 * (chest_pitch - style.posture) + ch["head_pitch"]
    head_roll = 0.3 * chest_roll + ch["head_roll"]
    rh = euler_frames(head_yaw, head_pitch, head_roll)
    rn = euler_frames(
        0.5 * (chest_yaw + head_yaw),
        0.5 * (chest_pitch + head_pitch),
        0.5 * (chest_roll + head_roll),
    )
    joints[:, 12] = joints[:, 9] + apply(rn, NECK_DIR * L[12])
    joints[:, 15] = joints[:, 12] + apply(rh, HEAD_DIR * L[15])
    torso = Torso(
        geom=geom,
        style=style,
        t=t,
        joints=joints,
        chest=rc,
        chest_yaw=chest_yaw,
        pelvis_yaw=pelvis_yaw,
        foot_forward=foot_forward,
        look_yaw=look_yaw,
    )
    _place_shoulders(torso, np.zeros((2, n)))
    return torso


def _place_shoulders(torso: Torso, shrug: np.ndarray) -> None:
    """Collars and shoulders from the chest frame; `shrug` `(2, T)` rad lifts each collar."""
    L = torso.geom.lengths
    for s in (0, 1):
        ang = SIDE_SIGN[s] * shrug[s]
        c, si = np.cos(ang), np.sin(ang)
        d = mirror(COLLAR_DIR, s)
        # Rotation about the chest's forward axis lifts the collar's outer end.
        local = np.stack([c * d[0] - si * d[1], si * d[0] + c * d[1], np.full_like(c, d[2])], -1)
        collar = torso.joints[:, 9] + apply(torso.chest, local * L[COLLAR[s]])
        torso.joints[:, COLLAR[s]] = collar
        sd = mirror(SHOULDER_DIR, s)
        local_s = np.stack(
            [c * sd[0] - si * sd[1], si * sd[0] + c * sd[1], np.full_like(c, sd[2])], -1
        )
        torso.joints[:, SHOULDER[s]] = collar + apply(torso.chest, local_s * L[SHOULDER[s]])


def default_arms(torso: Torso) -> tuple[np.ndarray, np.ndarray]:
    """Resting wrist targets and elbow poles `(2, T, 3)`: hanging arms swinging against the legs."""
    geom, style = torso.geom, torso.style
    facing = torso.facing
    bend = style.arm_bend
    targets, poles = [], []
    for s in (0, 1):
        other = 1 - s
        swing = style.arm_swing * 0.5 * (torso.foot_forward[other] - torso.foot_forward[s])
        arm = geom.arm[s]
        local = np.stack(
            [
                np.full_like(swing, SIDE_SIGN[s] * (0.045 + 0.04 * bend) * geom.scale),
                np.full_like(swing, -(0.95 - 0.5 * bend) * arm),
                0.02 + (0.28 * bend) * arm + swing,
            ],
            axis=-1,
        )
        targets.append(torso.shoulder(s) + apply(facing, local))
        poles.append(apply(facing, np.array([SIDE_SIGN[s] * 0.3, -0.2, -1.0])))
    return np.stack(targets), np.stack(poles)


def finish_body(
    torso: Torso, overrides: list[ArmTarget], noise: np.ndarray | None = None
) -> np.ndarray:
    """Blend wrist targets over the default arms, lift collars for raised arms, solve the arms.

    `noise` `(2, T, 3)` is added to the final wrist targets (small smooth jitter).
    """
    targets, poles = default_arms(torso)
    follow = np.ones(targets.shape[:2])  # how much each target moves with a shrugging shoulder
    for o in overrides:
        w = np.clip(o.weight, 0.0, 1.0)
        targets[o.side] = targets[o.side] + w[:, None] * (o.target - targets[o.side])
        follow[o.side] = follow[o.side] * (1.0 - w) + w * float(o.follow_shoulder)
        if o.pole is not None:
            poles[o.side] = (
                normalize(poles[o.side]) * (1.0 - w[:, None]) + normalize(o.pole) * w[:, None]
            )
    if noise is not None:
        targets = targets + noise * follow[..., None]  # world contacts stay exact
    geom = torso.geom
    before = torso.joints[:, SHOULDER].transpose(1, 0, 2).copy()
    elevation = np.stack([((targets[s] - torso.shoulder(s)) @ UP) / geom.arm[s] for s in (0, 1)])
    _place_shoulders(torso, 0.3 * np.clip(elevation + 0.1, 0.0, 1.0))
    targets = targets + follow[..., None] * (torso.joints[:, SHOULDER].transpose(1, 0, 2) - before)
    joints = torso.joints
    for s in (0, 1):
        elbow, wrist = two_bone_ik(
            joints[:, SHOULDER[s]], targets[s], geom.upper_arm[s], geom.forearm[s], poles[s]
        )
        joints[:, ELBOW[s]] = elbow
        joints[:, WRIST[s]] = wrist
    return joints
