"""Solo locomotion: walking, jogging, running (straight, curving, in a circle, backwards), turning, side steps."""

from __future__ import annotations

from dataclasses import replace

import numpy as np

from intersyn.data.procedural import captions as cap
from intersyn.data.procedural.body import LEFT, RIGHT
from intersyn.data.procedural.gait import (
    make_gait,
    stance_point,
    step_to_stances,
    turn_in_place,
    turtle_path,
    walk_path,
)
from intersyn.data.procedural.person import Person
from intersyn.data.procedural.sampling import SoloResult, pick, solo_action
from intersyn.data.procedural.timing import ramp

_PACE = {"slow": 0.8, "normal": 1.0, "fast": 1.22}
_PACE_WORDS = {
    "slow": "[slowly|at a slow pace|leisurely]",
    "normal": "",
    "fast": "[quickly|briskly|fast|at a brisk pace]",
}


def _gait_style(p: Person, kind: str) -> None:
    k = p.geom.scale
    if kind == "jog":
        p.style = replace(
            p.style,
            arm_bend=0.75,
            arm_swing=0.45,
            flight_lift=0.025 * k,
            pelvis_smoothing=0.14,
            lean_per_speed=0.04,
        )
    elif kind == "run":
        p.style = replace(
            p.style,
            arm_bend=0.9,
            arm_swing=0.5,
            flight_lift=0.04 * k,
            pelvis_smoothing=0.12,
            lean_per_speed=0.045,
        )


def _steps_that_fit(gait, seconds: float) -> int:
    """Number of steps whose walk (with the closing step) fits in `seconds`."""
    closing = 0.95 * gait.step_time + 0.1 + gait.step.roll
    return max(2, int((seconds - gait.swing_time - closing) / gait.step_time) + 1)


def _locomote(
    p: Person, rng: np.random.Generator, duration: float, kind: str
) -> tuple[dict, tuple[str, ...]]:
    pace_name = pick(rng, ("slow", "normal", "fast")) if kind == "walk" else "normal"
    pace = _PACE[pace_name] * rng.uniform(0.94, 1.06)
    gait = make_gait(kind, p.geom, pace)
    _gait_style(p, kind)
    turn = pick(rng, ("none", "left", "right"), (0.5, 0.25, 0.25))
    t0 = rng.uniform(0.15, 0.6)
    n = _steps_that_fit(gait, duration - t0 - rng.uniform(0.25, 0.6))
    total = n * gait.step_length
    centre, yaw = p.feet.stance()
    if turn == "none":
        pieces = [(total, 0.0)]
    else:
        angle = rng.uniform(np.pi / 3, np.pi / 2) * (1.0 if turn == "left" else -1.0)
        radius = rng.uniform(0.6, 1.2) * p.geom.scale * (1.0 if kind == "walk" else 2.0)
        arc = min(radius * abs(angle), 0.6 * total)
        lead = (total - arc) * rng.uniform(0.3, 0.7)
        pieces = [(lead, 0.0), (arc, angle), (total - arc - lead, 0.0)]
        pieces = [pc for pc in pieces if pc[0] > 1e-3]
    path, heads = turtle_path(centre, yaw, pieces)
    walk_path(p.feet, path, heads, t0, gait, first_foot=int(rng.integers(2)))
    verb = {"walk": "walks", "jog": "jogs", "run": "runs"}[kind]
    gerund = {"walk": "walking", "jog": "jogging", "run": "running"}[kind]
    words = {"pace": _PACE_WORDS[pace_name], "verb": verb, "gerund": gerund, "dir": turn}
    if turn == "none":
        templates = [
            "{who} {verb} forward {pace}",
            "{who} {verb} [straight ahead|in a straight line] {pace}",
            "{who} [is {gerund}|keeps {gerund}] forward {pace}",
            "{who} {verb} [a few|several] steps forward {pace}",
        ]
        if kind == "walk":
            templates.append("{who} [takes|makes] [a few|several] steps forward {pace}")
    else:
        templates = [
            "{who} {verb} forward {pace} and [then ]turns {dir}",
            "{who} {verb} {pace} and [curves|veers|bends] to the {dir}",
            "{who} {verb} forward {pace}, [then ][turning|heading] {dir}",
            "{who} {verb} ahead {pace} [before turning|and then turns] to the {dir}",
        ]
    return {"pace": pace_name, "turn": turn, "steps": n, "speed": gait.speed}, cap.compose(
        rng, templates, words
    )


@solo_action("walk")
def _walk(p: Person, rng: np.random.Generator, duration: float) -> SoloResult:
    return _locomote(p, rng, duration, "walk")


@solo_action("jog")
def _jog(p: Person, rng: np.random.Generator, duration: float) -> SoloResult:
    return _locomote(p, rng, duration, "jog")


@solo_action("run")
def _run(p: Person, rng: np.random.Generator, duration: float) -> SoloResult:
    return _locomote(p, rng, duration, "run")


@solo_action("walk_circle", 5.0)
def _walk_circle(p: Person, rng: np.random.Generator, duration: float) -> SoloResult:
    kind = pick(rng, ("walk", "jog"), (0.8, 0.2))
    direction = pick(rng, ("clockwise", "counterclockwise"))
    gait = make_gait(kind, p.geom, rng.uniform(0.85, 1.1))
    _gait_style(p, kind)
    t0 = rng.uniform(0.15, 0.5)
    n = _steps_that_fit(gait, duration - t0 - rng.uniform(0.2, 0.5))
    total = n * gait.step_length
    radius = float(np.clip(total / (2 * np.pi * rng.uniform(0.8, 1.05)), 0.7, 3.0) * p.geom.scale)
    angle = total / radius * (1.0 if direction == "counterclockwise" else -1.0)
    centre, yaw = p.feet.stance()
    # Enter the circle smoothly: a short straight lead-in, then constant curvature.
    lead = min(0.4 * gait.step_length, 0.2 * total)
    path, heads = turtle_path(
        centre, yaw, [(lead, 0.0), (total - lead, angle * (1 - lead / total))]
    )
    walk_path(p.feet, path, heads, t0, gait, first_foot=0 if direction == "clockwise" else 1)
    verb = "walks" if kind == "walk" else "jogs"
    side = "left" if direction == "counterclockwise" else "right"
    words = {"verb": verb, "dir": direction, "side": side}
    templates = [
        "{who} {verb} in a {dir} circle",
        "{who} {verb} around in a circle {dir}",
        "{who} {verb} in a [circle|loop], [turning|curving] to the {side} the whole time",
        "{who} {verb} [a full circle|in a circle] going {dir}",
    ]
    return (
        {"gait": kind, "direction": direction, "radius": radius, "steps": n},
        cap.compose(rng, templates, words),
    )


@solo_action("walk_backwards")
def _walk_backwards(p: Person, rng: np.random.Generator, duration: float) -> SoloResult:
    pace_name = pick(rng, ("slow", "normal"))
    gait = make_gait("walk", p.geom, _PACE[pace_name] * rng.uniform(0.9, 1.05), backwards=True)
    t0 = rng.uniform(0.2, 0.6)
    n = _steps_that_fit(gait, duration - t0 - rng.uniform(0.3, 0.6))
    centre, yaw = p.feet.stance()
    path, heads = turtle_path(centre, yaw + np.pi, [(n * gait.step_length, 0.0)])
    walk_path(p.feet, path, heads, t0, gait, first_foot=int(rng.integers(2)), facing_offset=np.pi)
    p.channels.add("chest_pitch", -0.05 * ramp(p.t, t0, t0 + 0.5))
    words = {"pace": _PACE_WORDS[pace_name]}
    templates = [
        "{who} walks backwards {pace}",
        "{who} [takes|makes] [a few|several] steps backward {pace}",
        "{who} [moves|goes] backward {pace}",
        "{who} backs up {pace}",
        "{who} walks backward {pace} without turning around",
    ]
    return {"pace": pace_name, "steps": n}, cap.compose(rng, templates, words)


@solo_action("turn")
def _turn(p: Person, rng: np.random.Generator, duration: float) -> SoloResult:
    direction = pick(rng, ("left", "right"))
    degrees = int(pick(rng, (90, 180, 360), (0.4, 0.45, 0.15)))
    step_time = rng.uniform(0.33, 0.45)
    pairs = int(np.ceil(np.radians(degrees) / 0.85))
    t0 = rng.uniform(0.2, 0.6)
    # Shorten the steps when the clip is short.
    step_time = min(step_time, max(0.22, (duration - t0 - 0.4) / (2 * pairs + 0.5)))
    centre, yaw = p.feet.stance()
    target = yaw + np.radians(degrees) * (1.0 if direction == "left" else -1.0)
    yaws = yaw + (target - yaw) * np.arange(1, pairs + 1) / pairs
    lead = LEFT if direction == "left" else RIGHT
    step_to_stances(
        p.feet, np.repeat(centre[None], pairs, 0), yaws, t0, step_time, lead, p.feet.half_width
    )
    words = {"dir": direction}
    if degrees == 90:
        templates = [
            "{who} turns to the {dir}",
            "{who} [rotates|turns] ninety degrees to the {dir}",
            "{who} [turns|pivots] [in place|on the spot] to face {dir}",
            "[standing in place|on the spot], {who} turns {dir}",
        ]
    elif degrees == 180:
        templates = [
            "{who} turns around to the {dir}",
            "{who} turns [around|to face the other way], turning {dir}",
            "{who} turns around over the {dir} shoulder",
            "{who} [turns|rotates] a half circle to the {dir} [in place|on the spot]",
        ]
    else:
        templates = [
            "{who} [spins|turns] all the way around to the {dir}",
            "{who} turns in a full circle to the {dir}",
            "{who} makes a complete turn to the {dir} [on the spot|in place]",
            "{who} [rotates|turns] three hundred sixty degrees to the {dir}",
        ]
    return {"direction": direction, "degrees": degrees, "steps": 2 * pairs}, cap.compose(
        rng, templates, words
    )


@solo_action("side_step")
def _side_step(p: Person, rng: np.random.Generator, duration: float) -> SoloResult:
    direction = pick(rng, ("left", "right"))
    steps = int(rng.integers(2, 5))
    step_time = rng.uniform(0.3, 0.42)
    t0 = rng.uniform(0.2, 0.5)
    steps = max(1, min(steps, int((duration - t0 - 0.3) / (2 * step_time + 0.15))))
    dist = rng.uniform(0.22, 0.36) * p.geom.scale
    centre, yaw = p.feet.stance()
    sign = 1.0 if direction == "left" else -1.0
    centres = np.stack(
        [stance_point(centre, yaw, 0.0, sign * dist * (i + 1)) for i in range(steps)]
    )
    lead = LEFT if direction == "left" else RIGHT
    step_to_stances(p.feet, centres, np.full(steps, yaw), t0, step_time, lead, p.feet.half_width)
    words = {"dir": direction, "n": cap.count_word(steps), "times": cap.times(steps)}
    templates = [
        "{who} [side steps|steps sideways] to the {dir} {times}",
        "{who} [shuffles|moves] sideways to the {dir}",
        "{who} takes {n} [side steps|steps sideways] to the {dir}",
        "{who} steps to the {dir} side {times}",
    ]
    return {"direction": direction, "steps": steps, "step_length": dist}, cap.compose(
        rng, templates, words
    )


@solo_action("walk_and_turn_back", 5.0)
def _walk_and_turn_back(p: Person, rng: np.random.Generator, duration: float) -> SoloResult:
    direction = pick(rng, ("left", "right"))
    gait = make_gait("walk", p.geom, rng.uniform(0.85, 1.15))
    t0 = rng.uniform(0.15, 0.4)
    turn_time = 2 * 0.38 * 3 + 0.2
    per_leg = (duration - t0 - turn_time - 0.3) / 2
    n = _steps_that_fit(gait, per_leg)
    centre, yaw = p.feet.stance()
    path, heads = turtle_path(centre, yaw, [(n * gait.step_length, 0.0)])
    t = walk_path(p.feet, path, heads, t0, gait, first_foot=int(rng.integers(2)))
    back = yaw + np.pi * (1.0 if direction == "left" else -1.0)
    t = turn_in_place(p.feet, back, t + 0.05, 0.38, max_turn=1.1)
    centre2, yaw2 = p.feet.stance()
    path, heads = turtle_path(centre2, yaw2, [(n * gait.step_length, 0.0)])
    walk_path(p.feet, path, heads, t + 0.05, gait, first_foot=int(rng.integers(2)))
    words = {"dir": direction}
    templates = [
        "{who} walks forward, turns around to the {dir} and walks back",
        "{who} walks [ahead|forward] then turns {dir} and [comes|walks] back",
        "{who} [goes|walks] forward a few steps, turns around [to the|on the] {dir} and returns",
        "{who} walks away, turns {dir} [all the way around|around] and walks back to the start",
    ]
    return {"direction": direction, "steps": n}, cap.compose(rng, templates, words)
