"""Body geometry, yaw-pitch-roll frames and analytic two-bone IK for procedural motion.

Axes follow REFERENCE.md §1.4: Y up, a body at yaw 0 faces +Z and its left is +X. A frame
`R = R_y(yaw) R_x(pitch) R_z(roll)` maps body-local (left, up, forward) vectors to the world;
pitch > 0 leans forward, roll > 0 leans to the body's right. Bone lengths come from the rest
offsets; every joint is placed as parent + unit direction × length, so lengths are exact.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np

from intersyn.errors import InterSynError
from intersyn.kinematics.skeleton import NUM_JOINTS, REFERENCE_BONE_LENGTHS

LEFT, RIGHT = 0, 1
SIDE_SIGN = np.array([1.0, -1.0])  # body-local x of the left / right side
# Joint indices per side (left, right).
HIP, KNEE, ANKLE, FOOT = (1, 2), (4, 5), (7, 8), (10, 11)
COLLAR, SHOULDER, ELBOW, WRIST = (13, 14), (16, 17), (18, 19), (20, 21)
UP = np.array([0.0, 1.0, 0.0])

REFERENCE_LEG = REFERENCE_BONE_LENGTHS[4] + REFERENCE_BONE_LENGTHS[7]  # left thigh + shin, m
FOOT_FLAT_SIN = 0.36  # sine of the ankle→toe bone's downward slope with the sole flat


def _unit(v: list[float]) -> np.ndarray:
    a = np.asarray(v, dtype=np.float64)
    return a / np.linalg.norm(a)


# Rest directions (left side; the right side mirrors x) in the frame that carries each bone,
# shaped after the SMPL template: hips below the pelvis, spine slightly S-shaped, head forward.
HIP_DIR = _unit([0.56, -0.82, -0.06])
SPINE1_DIR = _unit([0.0, 0.96, -0.26])
SPINE2_DIR = _unit([0.0, 0.98, 0.18])
SPINE3_DIR = _unit([0.0, 1.0, 0.06])
NECK_DIR = _unit([0.0, 0.99, -0.08])
HEAD_DIR = _unit([0.0, 0.87, 0.49])
COLLAR_DIR = _unit([0.48, 0.86, -0.14])
SHOULDER_DIR = _unit([0.97, -0.12, -0.10])


def mirror(v: np.ndarray, side: int) -> np.ndarray:
    """Left-side local vector(s) `(..., 3)` mirrored to `side` (x negated for the right)."""
    return v * np.array([SIDE_SIGN[side], 1.0, 1.0])


@dataclass(frozen=True)
class BodyGeometry:
    """Bone lengths and derived body measures of one skeleton (metres)."""

    lengths: np.ndarray  # (22,) length of the bone ending at each joint (root 0)
    thigh: np.ndarray  # (2,) left, right
    shin: np.ndarray  # (2,)
    upper_arm: np.ndarray  # (2,)
    forearm: np.ndarray  # (2,)
    ankle_local: np.ndarray  # (2, 3) ankle relative to the toe joint, foot frame, sole flat
    heel_local: np.ndarray  # (2, 3) heel point (on the sole) relative to the toe joint
    stand_height: float  # pelvis height standing with nearly straight legs
    scale: float  # leg length relative to the reference skeleton

    @property
    def leg(self) -> np.ndarray:
        return self.thigh + self.shin

    @property
    def arm(self) -> np.ndarray:
        return self.upper_arm + self.forearm

    @classmethod
    def from_offsets(cls, offsets: Any = None) -> BodyGeometry:
        """Geometry from rest offsets `(22, 3)` (numpy or torch; None = the reference skeleton)."""
        if offsets is None:
            lengths = np.asarray(REFERENCE_BONE_LENGTHS, dtype=np.float64)
        else:
            if hasattr(offsets, "detach"):
                offsets = offsets.detach().cpu().numpy()
            arr = np.asarray(offsets, dtype=np.float64)
            if arr.shape != (NUM_JOINTS, 3) or not np.isfinite(arr).all():
                raise InterSynError(
                    f"offsets: expected finite rest offsets of shape (22, 3), got shape {arr.shape}"
                )
            lengths = np.linalg.norm(arr, axis=1)
            lengths[0] = 0.0
            if (lengths[1:] <= 1e-4).any():
                raise InterSynError(
                    f"offsets: every non-root bone needs a positive length, got {lengths[1:].min():.3g}"
                )
        foot = lengths[[10, 11]]
        cos = np.sqrt(1.0 - FOOT_FLAT_SIN**2)
        ankle_local = np.stack([np.zeros(2), foot * FOOT_FLAT_SIN, -foot * cos], axis=1)
        heel_local = np.stack([np.zeros(2), np.zeros(2), -foot * (cos + 0.32)], axis=1)
        thigh, shin = lengths[[4, 5]], lengths[[7, 8]]
        hip_drop = lengths[[1, 2]] * -HIP_DIR[1]
        stand = float(np.min(ankle_local[:, 1] + 0.985 * (thigh + shin) + hip_drop))
        return cls(
            lengths=lengths,
            thigh=thigh,
            shin=shin,
            upper_arm=lengths[[18, 19]],
            forearm=lengths[[20, 21]],
            ankle_local=ankle_local,
            heel_local=heel_local,
            stand_height=stand,
            scale=float((thigh + shin).mean() / REFERENCE_LEG),
        )


def euler_frames(yaw: np.ndarray, pitch: np.ndarray, roll: np.ndarray) -> np.ndarray:
    """Frames `R_y(yaw) R_x(pitch) R_z(roll)` for angle arrays `(...)` → `(..., 3, 3)`."""
    cy, sy = np.cos(yaw), np.sin(yaw)
    cp, sp = np.cos(pitch), np.sin(pitch)
    cr, sr = np.cos(roll), np.sin(roll)
    out = np.empty(np.shape(yaw) + (3, 3))
    # Product of the three elementary matrices written out (column vectors).
    out[..., 0, 0] = cy * cr + sy * sp * sr
    out[..., 0, 1] = -cy * sr + sy * sp * cr
    out[..., 0, 2] = sy * cp
    out[..., 1, 0] = cp * sr
    out[..., 1, 1] = cp * cr
    out[..., 1, 2] = -sp
    out[..., 2, 0] = -sy * cr + cy * sp * sr
    out[..., 2, 1] = sy * sr + cy * sp * cr
    out[..., 2, 2] = cy * cp
    return out


def yaw_frames(yaw: np.ndarray) -> np.ndarray:
    """Pure yaw frames `(..., 3, 3)`."""
    zero = np.zeros_like(yaw)
    return euler_frames(yaw, zero, zero)


def apply(frames: np.ndarray, local: np.ndarray) -> np.ndarray:
    """Frames `(..., 3, 3)` applied to local vectors `(3,)` or `(..., 3)` → `(..., 3)`."""
    return np.einsum("...ij,...j->...i", frames, local)


def forward_of(yaw: np.ndarray) -> np.ndarray:
    """Horizontal forward unit vectors `(..., 3)` of headings `yaw` (rad)."""
    return np.stack([np.sin(yaw), np.zeros_like(yaw), np.cos(yaw)], axis=-1)


def left_of(yaw: np.ndarray) -> np.ndarray:
    """Horizontal left unit vectors `(..., 3)` of headings `yaw` (rad)."""
    return np.stack([np.cos(yaw), np.zeros_like(yaw), -np.sin(yaw)], axis=-1)


def heading(v: np.ndarray) -> np.ndarray:
    """Yaw (rad) that faces the horizontal part of `v` `(..., 3)`."""
    return np.arctan2(v[..., 0], v[..., 2])


def normalize(v: np.ndarray) -> np.ndarray:
    """Unit vectors along the last axis (zero vectors stay zero)."""
    n = np.linalg.norm(v, axis=-1, keepdims=True)
    return v / np.maximum(n, 1e-12)


def two_bone_ik(
    root: np.ndarray,
    target: np.ndarray,
    upper: float,
    lower: float,
    pole: np.ndarray,
    max_reach: float = 0.9995,
) -> tuple[np.ndarray, np.ndarray]:
    """Analytic two-bone IK: middle and end joints `(T, 3)` reaching for `target` from `root`.

    The middle joint bends toward `pole` (a direction); bone lengths `upper`, `lower` are exact.
    A target out of reach is approached along the same line (end at `max_reach` × full length).
    """
    delta = target - root
    dist = np.linalg.norm(delta, axis=-1)
    u = delta / np.maximum(dist, 1e-9)[:, None]
    d = np.clip(dist, abs(upper - lower) + 1e-4, (upper + lower) * max_reach)
    along = (upper * upper - lower * lower + d * d) / (2.0 * d)
    height = np.sqrt(np.maximum(upper * upper - along * along, 0.0))
    bend = pole - (pole * u).sum(-1, keepdims=True) * u
    # A pole parallel to the limb leaves no bend plane: fall back to any perpendicular.
    weak = np.linalg.norm(bend, axis=-1) < 1e-6
    if weak.any():
        alt = np.cross(u[weak], np.array([1.0, 0.0, 0.0]))
        alt[np.linalg.norm(alt, axis=-1) < 1e-6] = np.array([0.0, 0.0, 1.0])
        bend[weak] = alt
    bend = normalize(bend)
    middle = root + u * along[:, None] + bend * height[:, None]
    end = root + u * d[:, None]
    return middle, end
