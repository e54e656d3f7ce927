"""Footstep planners: walking along a path, stepping between stances, turning, jumping.

Each planner appends timed steps to a `FootPlan` and returns the time (s) both feet are flat.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from intersyn.data.procedural.body import BodyGeometry
from intersyn.data.procedural.feet import FLAT_STEP, FootPlan, StepStyle, side_point
from intersyn.data.procedural.timing import wrap_angle


@dataclass(frozen=True)
class Gait:
    """A walking or running pattern; lengths already scaled to the body."""

    name: str  # "walk", "jog", "run"
    step_length: float  # m between successive footprints along the path
    step_time: float  # s between successive touch-downs
    stance: float  # fraction of the two-step cycle each foot is on the ground
    half_width: float  # m, lateral offset of each footprint from the path
    step: StepStyle

    @property
    def swing_time(self) -> float:
        return 2.0 * (1.0 - self.stance) * self.step_time

    @property
    def speed(self) -> float:
        return self.step_length / self.step_time


def make_gait(kind: str, geom: BodyGeometry, pace: float = 1.0, backwards: bool = False) -> Gait:
    """A gait of `kind` ("walk", "jog", "run") for this body; `pace` > 1 is quicker and longer."""
    k = geom.scale
    if kind == "walk":
        tau = 0.56 / pace**0.5
        length = (0.62 if not backwards else 0.42) * k * pace**0.6
        stance, width = 0.62, 0.075 * k
        style = StepStyle(
            clearance=0.05 * k,
            toe_off_pitch=0.6,
            land_pitch=-0.32 if not backwards else 0.12,
            heel_off=0.3 * tau,
            roll=0.18 * tau,
        )
    elif kind == "jog":
        tau = 0.35 / pace**0.3
        length = 0.8 * k * pace**0.7
        stance, width = 0.36, 0.06 * k
        style = StepStyle(
            clearance=0.11 * k,
            toe_off_pitch=0.7,
            land_pitch=-0.12,
            heel_off=0.25 * tau,
            roll=0.1 * tau,
            lift_end=0.3,
            lag=0.1,
            travel_end=0.85,
            descent_start=0.55,
        )
    elif kind == "run":
        tau = 0.3 / pace**0.3
        length = 0.95 * k * pace**0.7
        stance, width = 0.3, 0.055 * k
        style = StepStyle(
            clearance=0.15 * k,
            toe_off_pitch=0.8,
            land_pitch=-0.05,
            heel_off=0.22 * tau,
            roll=0.08 * tau,
            lift_end=0.3,
            lag=0.1,
            travel_end=0.85,
            descent_start=0.55,
        )
    else:
        raise ValueError(f"unknown gait {kind!r}")
    if backwards:
        # Backwards: the toes touch first and the heel lifts late.
        style = StepStyle(
            clearance=style.clearance,
            toe_off_pitch=0.25,
            land_pitch=0.15,
            heel_off=0.15 * tau,
            roll=0.2 * tau,
        )
    return Gait(kind, length, tau, stance, width, style)


def turtle_path(
    start: np.ndarray, yaw: float, pieces: list[tuple[float, float]], spacing: float = 0.02
) -> tuple[np.ndarray, np.ndarray]:
    """Sampled path `(N, 2)` x-z and headings `(N,)` from (length m, turn rad) pieces.

    Each piece turns by its angle at a constant rate over its length (0 = straight); turning
    left (counterclockwise seen from above) is a positive angle.
    """
    points = [np.asarray(start, dtype=np.float64)[None]]
    headings = [np.array([yaw])]
    pos, cur = points[0][0], yaw
    for length, turn in pieces:
        m = max(2, int(np.ceil(length / spacing)))
        s = np.arange(1, m + 1) / m
        ang = cur + turn * s
        if abs(turn) < 1e-9:
            offs = np.stack([np.sin(cur) * length * s, np.cos(cur) * length * s], -1)
        else:
            r = length / turn
            # Integral of (sin a, cos a) da / curvature from the start heading.
            offs = np.stack([r * (np.cos(cur) - np.cos(ang)), r * (np.sin(ang) - np.sin(cur))], -1)
        points.append(pos + offs)
        headings.append(ang)
        pos, cur = points[-1][-1], cur + turn
    return np.concatenate(points), np.concatenate(headings)


def walk_path(
    plan: FootPlan,
    path: np.ndarray,
    headings: np.ndarray,
    t_start: float,
    gait: Gait,
    *,
    first_foot: int = 1,
    facing_offset: float = 0.0,
    end_yaw: float | None = None,
) -> float:
    """Walk along `path` `(N, 2)` from the current stance; the last step closes the feet.

    `facing_offset` (rad) turns the body relative to the travel direction (π = backwards).
    Returns the time both feet are flat at the end.
    """
    seg = np.linalg.norm(np.diff(path, axis=0), axis=1)
    arc = np.concatenate([[0.0], np.cumsum(seg)])
    total = float(arc[-1])
    n = max(1, int(round(total / gait.step_length)))
    sig = np.arange(1, n + 1) * (total / n)
    xs, zs = np.interp(sig, arc, path[:, 0]), np.interp(sig, arc, path[:, 1])
    yaws = np.interp(sig, arc, np.unwrap(headings)) + facing_offset
    if end_yaw is not None:
        yaws[-1] = yaws[-1] + wrap_angle(end_yaw - yaws[-1])
    tau, swing = gait.step_time, gait.swing_time
    foot = first_foot
    t_flat = t_start
    land = t_start
    for k in range(n):
        land = t_start + swing + k * tau
        ankle = side_point(np.array([xs[k], zs[k]]), yaws[k], foot, gait.half_width)
        t_flat = max(t_flat, plan.step(foot, ankle, float(yaws[k]), land - swing, land, gait.step))
        foot = 1 - foot
    # Closing step: the trailing foot comes alongside with a shorter, slower swing.
    land_c = land + 0.95 * tau + 0.1
    ankle = side_point(np.array([xs[-1], zs[-1]]), yaws[-1], foot, gait.half_width)
    close = StepStyle(
        clearance=0.7 * gait.step.clearance,
        toe_off_pitch=0.5 * gait.step.toe_off_pitch,
        land_pitch=gait.step.land_pitch * 0.5,
        heel_off=gait.step.heel_off,
        roll=gait.step.roll,
    )
    t_flat = max(
        t_flat, plan.step(foot, ankle, float(yaws[-1]), land_c - 0.9 * swing - 0.1, land_c, close)
    )
    return t_flat


def step_to_stances(
    plan: FootPlan,
    centres: np.ndarray,
    yaws: np.ndarray,
    t_start: float,
    step_time: float,
    lead: int,
    half_width: float,
    style: StepStyle = FLAT_STEP,
) -> float:
    """Move through stances (`centres` `(n, 2)`, `yaws` `(n,)`): lead foot first, then the other.

    Used for turning on the spot and side steps; the trailing foot lifts as the lead lands.
    """
    t = t_start
    for c, y in zip(centres, yaws):
        for foot in (lead, 1 - lead):
            ankle = side_point(c, float(y), foot, half_width)
            t_flat = plan.step(foot, ankle, float(y), t, t + step_time, style)
            t = t_flat
    return t


def turn_in_place(
    plan: FootPlan, target_yaw: float, t_start: float, step_time: float = 0.4, max_turn: float = 0.9
) -> float:
    """Turn on the spot to `target_yaw` (rad) in stepping pairs of at most `max_turn` rad each."""
    centre, yaw = plan.stance()
    delta = float(wrap_angle(target_yaw - yaw))
    if abs(delta) < 1e-3:
        return t_start
    pairs = max(1, int(np.ceil(abs(delta) / max_turn)))
    yaws = yaw + delta * np.arange(1, pairs + 1) / pairs
    lead = 0 if delta > 0 else 1
    centres = np.repeat(centre[None], pairs, axis=0)
    return step_to_stances(plan, centres, yaws, t_start, step_time, lead, plan.half_width)


def walk_to(
    plan: FootPlan,
    centre: np.ndarray,
    yaw: float,
    t_start: float,
    gait: Gait,
    *,
    first_foot: int = 1,
    turn_step_time: float = 0.4,
) -> float:
    """Walk (turning first when needed) to a stance at `centre` `(2,)` facing `yaw`."""
    cur, cur_yaw = plan.stance()
    delta = np.asarray(centre, dtype=np.float64) - cur
    dist = float(np.linalg.norm(delta))
    t = t_start
    if dist < 0.3 * gait.step_length:
        if dist > 0.02 or abs(wrap_angle(yaw - cur_yaw)) > 0.05:
            lead = 0 if (delta @ np.array([np.cos(cur_yaw), -np.sin(cur_yaw)])) > 0 else 1
            t = step_to_stances(
                plan,
                np.asarray(centre)[None],
                np.array([yaw]),
                t,
                turn_step_time,
                lead,
                plan.half_width,
            )
        return t
    travel = float(np.arctan2(delta[0], delta[1]))
    if abs(wrap_angle(travel - cur_yaw)) > 0.5:
        t = turn_in_place(plan, travel, t, turn_step_time)
    path, heads = turtle_path(cur, travel, [(dist, 0.0)])
    t = walk_path(plan, path, heads, t, gait, first_foot=first_foot)
    if abs(wrap_angle(yaw - travel)) > 0.15:
        t = turn_in_place(plan, yaw, t, turn_step_time)
    return t


def jump(
    plan: FootPlan,
    centre: np.ndarray,
    yaw: float,
    t_off: float,
    flight: float,
    height: float,
) -> float:
    """Both feet leave the floor at `t_off` and land together at `centre` after `flight` s."""
    style = StepStyle(
        clearance=0.85 * height, toe_off_pitch=0.75, land_pitch=0.35, heel_off=0.22, roll=0.16
    )
    t_flat = t_off
    for foot in (0, 1):
        ankle = side_point(centre, yaw, foot, plan.half_width)
        t_flat = max(t_flat, plan.step(foot, ankle, yaw, t_off, t_off + flight, style))
    return t_flat


def stance_point(centre: np.ndarray, yaw: float, forward: float, left: float) -> np.ndarray:
    """Ground point `(2,)` offset from `centre` by `forward` and `left` metres at heading `yaw`."""
    return np.asarray(centre, dtype=np.float64) + np.array(
        [forward * np.sin(yaw) + left * np.cos(yaw), forward * np.cos(yaw) - left * np.sin(yaw)]
    )
