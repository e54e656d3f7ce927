"""One procedural body: its foot plan, channels, arm targets and the helpers actions use."""

from __future__ import annotations

from collections.abc import Callable

import numpy as np

from intersyn.data.procedural.body import SIDE_SIGN, BodyGeometry, apply, normalize
from intersyn.data.procedural.feet import FootPlan, FootTrack
from intersyn.data.procedural.pose import (
    ArmTarget,
    BodyStyle,
    Channels,
    PersonPlan,
    Torso,
    build_torso,
    finish_body,
)
from intersyn.data.procedural.timing import smooth_noise

ArmFunction = Callable[[Torso], list[ArmTarget]]


class Person:
    """Collects everything an action sets for one body, then produces its joints `(T, 22, 3)`."""

    def __init__(
        self,
        geom: BodyGeometry,
        rng: np.random.Generator,
        t: np.ndarray,
        fps: int,
        centre: np.ndarray,
        yaw: float,
        *,
        half_width: float | None = None,
        noise: float = 1.0,
    ) -> None:
        self.geom, self.rng, self.t, self.fps = geom, rng, t, fps
        k = geom.scale
        width = half_width if half_width is not None else rng.uniform(0.075, 0.1) * k
        self.feet = FootPlan(
            geom, np.asarray(centre, dtype=np.float64), yaw, width, toe_out=rng.uniform(0.04, 0.2)
        )
        self.channels = Channels(t.shape[0])
        self.style = BodyStyle(posture=rng.uniform(0.0, 0.08), head_pitch=rng.uniform(0.0, 0.15))
        self.arm_functions: list[ArmFunction] = []
        self.look_at: np.ndarray | None = None
        self.look_weight: np.ndarray | None = None
        self._track: FootTrack | None = None
        self.end_time = 0.0  # s, when the action (beyond the feet's last step) is over
        self._add_noise(noise)

    def _add_noise(self, amount: float) -> None:
        """Small smooth sway of pelvis, chest, head and hands so no two clips are identical."""
        rng, t, k = self.rng, self.t, self.geom.scale
        for name, amp in (
            ("pelvis_left", 0.008 * k),
            ("pelvis_forward", 0.008 * k),
            ("pelvis_up", 0.004 * k),
            ("chest_pitch", 0.02),
            ("chest_roll", 0.015),
            ("chest_yaw", 0.025),
            ("head_yaw", 0.06),
            ("head_pitch", 0.04),
        ):
            self.channels.add(name, smooth_noise(rng, t, amount * amp))
        self.hand_noise = np.stack(
            [
                np.stack([smooth_noise(rng, t, amount * 0.012 * k, 0.7) for _ in range(3)], -1)
                for _ in range(2)
            ]
        )

    # --- evaluation ---------------------------------------------------------------------------
    def track(self) -> FootTrack:
        if self._track is None:
            self._track = self.feet.evaluate(self.t)
        return self._track

    def support_centre(self) -> np.ndarray:
        """Midpoint between the feet over time `(T, 3)` on the floor."""
        mid = self.track().support.mean(0)
        return np.stack([mid[:, 0], np.zeros(len(self.t)), mid[:, 1]], -1)

    def torso(self) -> Torso:
        plan = PersonPlan(self.feet, self.channels, self.style, self.look_at, self.look_weight)
        return build_torso(self.geom, plan, self.track(), self.t, self.fps)

    def finish(self, torso: Torso, extra: list[ArmTarget] | None = None) -> np.ndarray:
        overrides = [o for fn in self.arm_functions for o in fn(torso)] + list(extra or [])
        return finish_body(torso, overrides, self.hand_noise)


def local_vector(side: int, outward: float, up: float, forward: float) -> np.ndarray:
    """A (left, up, forward) body vector from side-relative components (outward = away from the midline)."""
    return np.array([SIDE_SIGN[side] * outward, up, forward])


def shoulder_target(torso: Torso, side: int, local: np.ndarray) -> np.ndarray:
    """World wrist targets `(T, 3)`: the shoulder plus `local` `(3,)`/`(T, 3)` in the facing frame."""
    return torso.shoulder(side) + apply(torso.facing, local)


def _slerp(a: np.ndarray, b: np.ndarray, w: np.ndarray) -> np.ndarray:
    """Spherical blend of unit vectors `(T, 3)` by `w` `(T,)`."""
    dot = np.clip((a * b).sum(-1), -1.0, 1.0)
    omega = np.arccos(dot)
    so = np.sin(omega)
    small = so < 1e-4
    wa = np.where(small, 1.0 - w, np.sin((1.0 - w) * omega) / np.where(small, 1.0, so))
    wb = np.where(small, w, np.sin(w * omega) / np.where(small, 1.0, so))
    return normalize(wa[:, None] * a + wb[:, None] * b)


def arc_target(
    torso: Torso,
    side: int,
    goal: np.ndarray,
    weight: np.ndarray,
    via: np.ndarray | None = None,
    pole: np.ndarray | None = None,
) -> ArmTarget:
    """Raise the wrist on an arc around the shoulder from the hanging arm to `goal` (facing frame).

    `goal` and `via` are (left, up, forward) offsets from the shoulder, `(3,)` or `(T, 3)`;
    `via` is a direction the arm passes through halfway (e.g. forward on the way overhead).
    """
    geom = torso.geom
    n = torso.t.shape[0]
    hang = np.broadcast_to(
        local_vector(side, 0.045 * geom.scale, -0.95 * geom.arm[side], 0.02), (n, 3)
    )
    goal = np.broadcast_to(goal, (n, 3))
    w = np.clip(weight, 0.0, 1.0)
    d0, d1 = normalize(hang), normalize(goal)
    if via is None:
        direction = _slerp(d0, d1, w)
    else:
        dv = normalize(np.broadcast_to(via, (n, 3)))
        first = _slerp(d0, dv, np.clip(2.0 * w, 0.0, 1.0))
        direction = np.where(
            (w < 0.5)[:, None], first, _slerp(dv, d1, np.clip(2.0 * w - 1.0, 0.0, 1.0))
        )
    length = np.linalg.norm(hang, axis=-1) * (1.0 - w) + np.linalg.norm(goal, axis=-1) * w
    target = shoulder_target(torso, side, direction * length[:, None])
    world_pole = None if pole is None else apply(torso.facing, np.broadcast_to(pole, (n, 3)))
    # Full weight early: the arc itself already starts at the hanging pose.
    return ArmTarget(side, np.clip(3.0 * w, 0.0, 1.0), target, world_pole)
