"""Timed footstep plans: planted feet locked at their footprints, swing feet on smooth arcs.

A foot is a rigid body placed by its toe joint (SMPL `left_foot`/`right_foot`, on the floor when
the sole is flat) and a yaw-pitch frame. Each plan segment moves a pivot point P from P0 to P1
with minimum-jerk timing while yaw and pitch blend; the toe joint is `P − R q` and the ankle
`P + R (a − q)`, where q is the pivot in foot coordinates (the toe joint itself, or the heel
during heel strike). So a stance foot never slides: during heel-off the toe joint is the fixed
pivot, during heel strike the heel is.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import NamedTuple

import numpy as np

from intersyn.data.procedural.body import (
    SIDE_SIGN,
    BodyGeometry,
    apply,
    euler_frames,
    forward_of,
    left_of,
    yaw_frames,
)
from intersyn.data.procedural.timing import min_jerk, wrap_angle


@dataclass(frozen=True)
class StepStyle:
    """How one step looks: lift, heel-strike and toe-off pitch, and the stance roll phases."""

    clearance: float = 0.06  # m, extra lift of the toe joint at mid-swing
    toe_off_pitch: float = 0.55  # rad, heel raised about the toe joint just before lift-off
    land_pitch: float = -0.35  # rad, <0: toes up, lands on the heel; >0: lands on the forefoot
    heel_off: float = 0.18  # s, heel rising before lift-off
    roll: float = 0.1  # s, from touch-down to the flat foot
    # Swing shape as fractions of the swing: the toe rises until `lift_end`, travels from `lag` to
    # `travel_end` and comes down from `descent_start`; travel ends while the toe is still high,
    # so it never drags along the floor at lift-off or touch-down.
    lift_end: float = 0.25
    lag: float = 0.15
    travel_end: float = 0.8
    descent_start: float = 0.75


MIN_CLEARANCE = 0.065  # m: a swinging toe clears the floor by this much while it travels
FLAT_STEP = StepStyle(
    clearance=0.05, toe_off_pitch=0.15, land_pitch=-0.08, heel_off=0.08, roll=0.06
)
_NO_SHAPE = (0.25, 0.0, 1.0, 0.75)  # swing shape of segments that do not leave the floor


class Segment(NamedTuple):
    """One timed piece of a foot's motion: the pivot moves P0 → P1 while yaw and pitch blend."""

    t0: float
    t1: float
    p0: np.ndarray  # (3,) pivot at t0
    p1: np.ndarray  # (3,) pivot at t1
    yaw0: float
    yaw1: float
    pitch0: float
    pitch1: float
    home: np.ndarray  # (2,) ankle ground point of the footprint the foot left
    heel_pivot: bool = False  # pivot is the heel (heel strike) rather than the toe joint
    clearance: float = 0.0  # m, extra lift at mid-swing
    air_during: bool = False  # off the ground while the segment runs
    air_after: bool = False  # still off the ground once it ended (a raised, kicking foot)
    gesture: bool = False  # the pelvis stays balanced over `home`
    shape: tuple[float, float, float, float] = (
        _NO_SHAPE  # (lift_end, lag, travel_end, descent_start)
    )


@dataclass(frozen=True)
class FootTrack:
    """Evaluated feet, index 0 = left, 1 = right; arrays over T frames, world metres."""

    toe: np.ndarray  # (2, T, 3) toe joints
    ankle: np.ndarray  # (2, T, 3) ankle targets for the leg IK
    frames: np.ndarray  # (2, T, 3, 3) foot frames
    body_yaw: np.ndarray  # (2, T) foot yaw minus toe-out: where the body means to face
    grounded: np.ndarray  # (2, T) bool, foot bearing weight
    support: np.ndarray  # (2, T, 2) ground point (x, z) the pelvis balances over


class FootPlan:
    """Builds the timed segments of both feet of one body, in time order per foot."""

    def __init__(
        self,
        geom: BodyGeometry,
        centre: np.ndarray,
        yaw: float,
        half_width: float,
        toe_out: float = 0.12,
    ) -> None:
        self.geom = geom
        self.toe_out = toe_out  # rad each foot turns outward from the body's heading
        self.half_width = half_width  # m, ankle offset from the stance centre
        self._segments: list[list[Segment]] = [[], []]
        self._toe = [np.zeros(3), np.zeros(3)]
        self._yaw = [0.0, 0.0]
        self._pitch = [0.0, 0.0]
        self._free = [-1e9, -1e9]
        self._airborne = [False, False]
        self._home = [np.zeros(2), np.zeros(2)]
        for foot in (0, 1):
            ankle = side_point(np.asarray(centre, dtype=np.float64), yaw, foot, half_width)
            self._toe[foot] = self.toe_of(foot, ankle, yaw)
            self._yaw[foot] = self._foot_yaw(foot, yaw)
            self._home[foot] = ankle
            # A segment far in the past holds the initial stance.
            self._segments[foot] = [self._hold(foot, -1e9, -1e9 + 1.0, 0.0, 0.0, False)]

    # --- state ------------------------------------------------------------------------------
    def _foot_yaw(self, foot: int, body_yaw: float) -> float:
        return body_yaw + SIDE_SIGN[foot] * self.toe_out

    def toe_of(self, foot: int, ankle_xz: np.ndarray, body_yaw: float) -> np.ndarray:
        """Toe joint `(3,)` of a flat foot whose ankle stands over `ankle_xz`."""
        fyaw = self._foot_yaw(foot, body_yaw)
        back = -self.geom.ankle_local[foot, 2]
        return np.array([ankle_xz[0], 0.0, ankle_xz[1]]) + back * forward_of(np.array(fyaw))

    def free_time(self, foot: int) -> float:
        """Time (s) from which `foot` has no planned motion."""
        return self._free[foot]

    def ankle_xz(self, foot: int) -> np.ndarray:
        """Ground point under the ankle of the foot's current footprint, `(2,)`."""
        return self._home[foot].copy()

    def stance(self) -> tuple[np.ndarray, float]:
        """Centre `(2,)` between the two current footprints and the mean body yaw (rad)."""
        centre = 0.5 * (self._home[0] + self._home[1])
        yaws = [self._yaw[f] - SIDE_SIGN[f] * self.toe_out for f in (0, 1)]
        mean = float(np.arctan2(np.sin(yaws).sum(), np.cos(yaws).sum()))
        return centre, mean

    def _hold(
        self, foot: int, t0: float, t1: float, pitch0: float, pitch1: float, gesture: bool
    ) -> Segment:
        """A segment that pivots about the planted toe joint (heel rising or resting)."""
        toe, yaw = self._toe[foot], self._yaw[foot]
        return Segment(
            t0, t1, toe, toe, yaw, yaw, pitch0, pitch1, self._home[foot], gesture=gesture
        )

    def _add(self, foot: int, seg: Segment) -> None:
        self._segments[foot].append(seg)
        self._free[foot] = seg.t1

    def _heel_off(
        self, foot: int, t_off: float, duration: float, pitch: float, gesture: bool
    ) -> float:
        """Raise the heel about the planted toe before lift-off; returns the foot pitch at `t_off`."""
        if self._airborne[foot] or duration <= 0.0:
            return self._pitch[foot]
        start = max(self._free[foot], t_off - duration)
        if t_off - start <= 1e-3:
            return self._pitch[foot]
        self._add(foot, self._hold(foot, start, t_off, self._pitch[foot], pitch, gesture))
        return pitch

    # --- actions ------------------------------------------------------------------------------
    def step(
        self,
        foot: int,
        ankle_xz: np.ndarray,
        body_yaw: float,
        t_off: float,
        t_land: float,
        style: StepStyle,
        *,
        gesture: bool = False,
    ) -> float:
        """Lift `foot` at `t_off` and put it down flat over `ankle_xz` facing `body_yaw`.

        Returns the time the foot is flat again. `gesture` keeps the pelvis balanced over the old
        footprint (the foot returns from a kick rather than travelling).
        """
        geom = self.geom
        t_off = max(t_off, self._free[foot])
        t_land = max(t_land, t_off + 0.05)
        home = self._home[foot]
        pitch = self._heel_off(foot, t_off, style.heel_off, style.toe_off_pitch, gesture)
        yaw1 = self._yaw[foot] + float(wrap_angle(self._foot_yaw(foot, body_yaw) - self._yaw[foot]))
        toe1 = self.toe_of(foot, np.asarray(ankle_xz, dtype=np.float64), body_yaw)
        heel_pivot = style.land_pitch < 0.0
        if heel_pivot:  # touch down on the heel with the toes up, then roll onto the sole
            pivot1 = toe1 + apply(euler_frames(yaw1, 0.0, 0.0), geom.heel_local[foot])
            land = pivot1 - apply(euler_frames(yaw1, style.land_pitch, 0.0), geom.heel_local[foot])
        else:  # touch down on the forefoot, then lower the heel
            pivot1 = land = toe1
        shape = (style.lift_end, style.lag, style.travel_end, style.descent_start)
        clearance = max(style.clearance, MIN_CLEARANCE * geom.scale)
        self._add(foot, Segment(
            t_off, t_land, self._toe[foot], land, self._yaw[foot], yaw1, pitch, style.land_pitch,
            home, clearance=clearance, air_during=True, gesture=gesture, shape=shape,
        ))  # fmt: skip
        t_flat = t_land
        if abs(style.land_pitch) > 1e-6 and style.roll > 0.0:
            t_flat = t_land + style.roll
            self._add(foot, Segment(
                t_land, t_flat, pivot1, pivot1, yaw1, yaw1, style.land_pitch, 0.0, home,
                heel_pivot=heel_pivot, gesture=gesture,
            ))  # fmt: skip
        self._toe[foot], self._yaw[foot], self._pitch[foot] = toe1, yaw1, 0.0
        self._airborne[foot] = False
        self._home[foot] = np.asarray(ankle_xz, dtype=np.float64).copy()
        return t_flat

    def lift(
        self,
        foot: int,
        toe: np.ndarray,
        body_yaw: float,
        pitch: float,
        t0: float,
        t1: float,
        *,
        heel_off: float = 0.1,
        toe_off_pitch: float = 0.3,
    ) -> None:
        """Raise `foot` (a gesture, e.g. a kick) so its toe joint reaches `toe` `(3,)` at `t1`."""
        t0 = max(t0, self._free[foot])
        start_pitch = self._heel_off(foot, t0, heel_off, toe_off_pitch, True)
        yaw1 = self._yaw[foot] + float(wrap_angle(self._foot_yaw(foot, body_yaw) - self._yaw[foot]))
        toe = np.asarray(toe, dtype=np.float64)
        default = StepStyle()
        shape = (default.lift_end, default.lag, default.travel_end, default.descent_start)
        self._add(foot, Segment(
            t0, max(t1, t0 + 0.05), self._toe[foot], toe, self._yaw[foot], yaw1, start_pitch, pitch,
            self._home[foot], air_during=True, air_after=True, gesture=True, shape=shape,
        ))  # fmt: skip
        self._toe[foot], self._yaw[foot], self._pitch[foot] = toe, yaw1, pitch
        self._airborne[foot] = True

    # --- evaluation ---------------------------------------------------------------------------
    def evaluate(self, t: np.ndarray) -> FootTrack:
        """Both feet on the time grid `t` `(T,)` seconds."""
        geom = self.geom
        out: dict[str, list[np.ndarray]] = {k: [] for k in FootTrack.__dataclass_fields__}
        for foot in (0, 1):
            table = Segment(*(np.array(column) for column in zip(*self._segments[foot])))
            idx = np.maximum(np.searchsorted(table.t0, t, side="right") - 1, 0)
            s = Segment(*(column[idx] for column in table))  # each field per frame
            u = np.clip((t - s.t0) / (s.t1 - s.t0), 0.0, 1.0)
            m = min_jerk(u)
            lift_end, lag, travel_end, descent = s.shape.T
            # Airborne feet rise before they travel and travel before they come down, so the toe
            # never drags along the floor; a foot coming down from the air (a kick) descends late.
            m_travel = np.where(s.air_during, min_jerk((u - lag) / (travel_end - lag)), m)
            descending = s.air_during & (s.p1[:, 1] < s.p0[:, 1])
            m_vert = np.where(descending, min_jerk((u - 0.3) / 0.7), m)
            pivot = s.p0 + (s.p1 - s.p0) * m_travel[:, None]
            pivot[:, 1] = s.p0[:, 1] + (s.p1[:, 1] - s.p0[:, 1]) * m_vert
            pivot[:, 1] += s.clearance * (
                min_jerk(u / lift_end) - min_jerk((u - descent) / (1.0 - descent))
            )
            yaw = s.yaw0 + (s.yaw1 - s.yaw0) * m_travel
            pitch = s.pitch0 + (s.pitch1 - s.pitch0) * m
            frames = euler_frames(yaw, pitch, np.zeros_like(yaw))
            q = np.where(s.heel_pivot[:, None], geom.heel_local[foot][None], 0.0)
            toe = pivot - apply(frames, q)
            flat_ankle = toe + apply(yaw_frames(yaw), geom.ankle_local[foot])
            out["toe"].append(toe)
            out["ankle"].append(pivot + apply(frames, geom.ankle_local[foot][None] - q))
            out["frames"].append(frames)
            out["body_yaw"].append(yaw - SIDE_SIGN[foot] * self.toe_out)
            out["grounded"].append(~np.where(u < 1.0, s.air_during, s.air_after))
            out["support"].append(np.where(s.gesture[:, None], s.home, flat_ankle[:, [0, 2]]))
        return FootTrack(**{k: np.stack(v) for k, v in out.items()})


def side_point(centre: np.ndarray, yaw: float, foot: int, half_width: float) -> np.ndarray:
    """Ground point `(2,)` of `foot`'s ankle in a stance at `centre` `(2,)` facing `yaw`."""
    left = left_of(np.array(yaw))
    return np.asarray(centre, dtype=np.float64) + SIDE_SIGN[foot] * half_width * left[[0, 2]]
