"""Solo whole-body actions that shape the pelvis and the free foot: kick, jump, squat, sit, bow."""

from __future__ import annotations

from dataclasses import replace

import numpy as np

from intersyn.data.procedural import captions as cap
from intersyn.data.procedural.body import LEFT, RIGHT, SIDE_SIGN, apply, euler_frames
from intersyn.data.procedural.feet import StepStyle
from intersyn.data.procedural.gait import (
    jump,
    stance_point,
)
from intersyn.data.procedural.person import Person, arc_target, local_vector, shoulder_target
from intersyn.data.procedural.pose import ArmTarget, Torso
from intersyn.data.procedural.sampling import SoloResult, pick, solo_action
from intersyn.data.procedural.timing import bump, envelope

# Putting a kicking foot back down: toes first, short roll onto the flat foot.
_KICK_RETURN = StepStyle(clearance=0.0, toe_off_pitch=0.0, land_pitch=0.12, heel_off=0.0, roll=0.12)


@solo_action("kick")
def _kick(p: Person, rng: np.random.Generator, duration: float) -> SoloResult:
    leg = pick(rng, ("left", "right"))
    height = pick(rng, ("low", "high"))
    n = int(pick(rng, (1, 2, 3), (0.5, 0.35, 0.15)))
    s = LEFT if leg == "left" else RIGHT
    support = 1 - s
    t, k, geom = p.t, p.geom.scale, p.geom
    t_cur = rng.uniform(0.2, 0.6)
    shift_t, out_t, hold_t, back_t = (
        rng.uniform(0.3, 0.45),
        rng.uniform(0.25, 0.35),
        rng.uniform(0.05, 0.15),
        rng.uniform(0.3, 0.45),
    )
    period = shift_t + out_t + hold_t + back_t + 0.25
    n = max(1, min(n, int((duration - t_cur - 0.3) / period)))
    centre, yaw = p.feet.stance()
    home = p.feet.ankle_xz(s)
    elevation = rng.uniform(1.0, 1.35) if height == "high" else rng.uniform(0.55, 0.85)
    weight_all = np.zeros_like(t)
    for _ in range(n):
        t_lift = t_cur + shift_t
        t_ext = t_lift + out_t
        t_ret = t_ext + hold_t
        t_down = t_ret + back_t
        env = envelope(t, t_cur, t_lift, t_ret, t_down + 0.2)
        weight_all = np.maximum(weight_all, env)
        # Predicted hip of the kicking leg: with the pelvis shifted over the support foot it
        # sits about above the stance centre, a little below standing height.
        hip = np.array([centre[0], geom.stand_height - 0.1 * k, centre[1]])
        fwd = np.array([np.sin(yaw), 0.0, np.cos(yaw)])
        leg_len = 0.93 * geom.leg[s]
        ankle = hip + leg_len * (
            np.sin(elevation) * fwd - np.cos(elevation) * np.array([0.0, 1.0, 0.0])
        )
        pitch = -0.25 if height == "low" else -0.5
        fyaw = yaw + SIDE_SIGN[s] * p.feet.toe_out
        toe = ankle - apply(
            euler_frames(np.array(fyaw), np.array(pitch), np.array(0.0)), geom.ankle_local[s]
        )
        p.feet.lift(s, toe, yaw, pitch, t_lift, t_ext, heel_off=0.12, toe_off_pitch=0.4)
        p.feet.step(s, home, yaw, t_ret, t_down, _KICK_RETURN, gesture=True)
        p.end_time = t_down + 0.2
        t_cur = t_down + rng.uniform(0.2, 0.4)
    p.channels.add("pelvis_left", SIDE_SIGN[support] * 0.045 * k * weight_all)
    p.channels.add("chest_pitch", -(0.12 + 0.1 * (height == "high")) * weight_all)
    p.channels.add("pelvis_pitch", -0.05 * weight_all)

    def arms(torso: Torso) -> list[ArmTarget]:
        return [
            ArmTarget(
                a,
                weight_all,
                shoulder_target(torso, a, local_vector(a, 0.3 * k, -0.3 * k, 0.2 * k)),
            )
            for a in (LEFT, RIGHT)
        ]

    p.arm_functions.append(arms)
    words = {
        "leg": leg,
        "times": cap.times(n),
        "high": "[high|up high]" if height == "high" else "[low|at knee height]",
    }
    templates = [
        "{who} kicks [forward ]with the {leg} [leg|foot] {times}",
        "{who} [does|performs] a {high} kick with the {leg} leg {times}"
        if n == 1
        else "{who} kicks {high} with the {leg} leg {times}",
        "{who} [lifts|swings] the {leg} leg [up ]and kicks [forward|in front] {times}",
        "{who} kicks the {leg} foot {high} {times}",
    ]
    return {"leg": leg, "height": height, "kicks": n, "elevation": elevation}, cap.compose(
        rng, templates, words
    )


@solo_action("jump")
def _jump(p: Person, rng: np.random.Generator, duration: float) -> SoloResult:
    kind = pick(rng, ("in_place", "forward"))
    n = int(pick(rng, (1, 2, 3), (0.5, 0.35, 0.15)))
    t, k = p.t, p.geom.scale
    height = rng.uniform(0.1, 0.28) * k
    flight = 2.0 * np.sqrt(2.0 * height / 9.81) + 0.05
    dist = rng.uniform(0.3, 0.7) * k if kind == "forward" else 0.0
    crouch_t, land_t = rng.uniform(0.35, 0.5), rng.uniform(0.35, 0.5)
    period = crouch_t + flight + land_t + rng.uniform(0.1, 0.4)
    t_cur = rng.uniform(0.2, 0.6)
    n = max(1, min(n, int((duration - t_cur - 0.2) / period)))
    p.style = replace(p.style, pelvis_smoothing=0.08, sway=0.0)
    depth = rng.uniform(0.1, 0.16) * k
    swing = np.zeros_like(t)
    for _ in range(n):
        centre, yaw = p.feet.stance()
        t_off = t_cur + crouch_t
        t_land = t_off + flight
        jump(p.feet, stance_point(centre, yaw, dist, 0.0), yaw, t_off, flight, height)
        u = np.clip((t - t_off) / flight, 0.0, 1.0)
        airborne = 4.0 * u * (1.0 - u)
        p.channels.add("pelvis_up", -depth * envelope(t, t_cur, t_off - 0.12, t_off - 0.12, t_off))
        p.channels.add(
            "pelvis_up", 0.05 * k * envelope(t, t_off - 0.12, t_off, t_land, t_land + 0.05)
        )
        p.channels.add("pelvis_up", height * airborne)
        p.channels.add(
            "pelvis_up",
            -1.1 * depth * envelope(t, t_land, t_land + 0.15, t_land + 0.15, t_land + land_t),
        )
        p.channels.add(
            "chest_pitch", 0.35 * envelope(t, t_cur, t_off - 0.1, t_off - 0.1, t_off + 0.1)
        )
        p.channels.add(
            "chest_pitch", 0.3 * envelope(t, t_land, t_land + 0.15, t_land + 0.15, t_land + land_t)
        )
        swing += -envelope(t, t_cur, t_off - 0.12, t_off - 0.12, t_off) + envelope(
            t, t_off - 0.12, t_off + 0.1, t_land - 0.1, t_land + 0.3
        )
        p.end_time = t_land + land_t
        t_cur = t_land + land_t + rng.uniform(0.1, 0.4)

    def arms(torso: Torso) -> list[ArmTarget]:
        out = []
        for s in (LEFT, RIGHT):
            arm = p.geom.arm[s]
            back = local_vector(s, 0.08 * k, -0.8 * arm, -0.35 * arm)
            up = local_vector(s, 0.1 * k, -0.05 * arm, 0.8 * arm)
            local = np.where((swing < 0)[:, None], back * (-swing)[:, None], up * swing[:, None])
            hang = local_vector(s, 0.045 * k, -0.95 * arm, 0.02)
            target = shoulder_target(torso, s, hang * (1 - np.abs(swing))[:, None] + local)
            out.append(ArmTarget(s, np.ones_like(t), target, None))
        return out

    p.arm_functions.append(arms)
    words = {
        "times": cap.times(n),
        "dist": "forward" if kind == "forward" else "[in place|on the spot|up and down]",
    }
    templates = [
        "{who} jumps {dist} {times}",
        "{who} [hops|leaps] {dist} {times}",
        "{who} bends [the|their] knees and jumps {dist} {times}",
        "{who} [does|makes] a jump {dist} {times}"
        if n == 1
        else "{who} jumps {dist} {times} in a row",
    ]
    return {"kind": kind, "jumps": n, "height": height, "distance": dist}, cap.compose(
        rng, templates, words
    )


@solo_action("squat")
def _squat(p: Person, rng: np.random.Generator, duration: float) -> SoloResult:
    n = int(rng.integers(1, 5))
    t, k, geom = p.t, p.geom.scale, p.geom
    down, up, hold = rng.uniform(0.6, 1.0), rng.uniform(0.6, 0.9), rng.uniform(0.1, 0.4)
    t_cur = rng.uniform(0.2, 0.7)
    period = down + up + hold + rng.uniform(0.1, 0.3)
    n = max(1, min(n, int((duration - t_cur - 0.2) / period)))
    depth = float(rng.uniform(0.28, 0.42) * geom.leg.mean())
    env = np.zeros_like(t)
    for _ in range(n):
        env += envelope(t, t_cur, t_cur + down, t_cur + down + hold, t_cur + down + hold + up)
        p.end_time = t_cur + down + hold + up
        t_cur += period
    p.channels.add("pelvis_up", -depth * env)
    p.channels.add("pelvis_forward", -0.35 * depth * env)
    p.channels.add("pelvis_pitch", 0.35 * env * depth / 0.3)
    p.channels.add("chest_pitch", 0.1 * env)
    p.channels.add("head_pitch", -0.25 * env)
    arms_forward = bool(rng.random() < 0.7)

    def arms(torso: Torso) -> list[ArmTarget]:
        out = []
        for s in (LEFT, RIGHT):
            arm = geom.arm[s]
            if arms_forward:
                goal = local_vector(s, 0.02 * k, -0.05 * arm, 0.95 * arm)
                out.append(arc_target(torso, s, goal, env, pole=local_vector(s, 0.6, -0.6, -0.5)))
            else:  # hands on the hips
                hip = torso.joints[:, (1, 2)[s]]
                target = hip + apply(torso.facing, local_vector(s, 0.12 * k, 0.06 * k, 0.0))
                out.append(
                    ArmTarget(
                        s,
                        np.clip(3.0 * env, 0.0, 1.0),
                        target,
                        apply(torso.facing, local_vector(s, 1.0, 0.0, -0.3)),
                    )
                )
        return out

    p.arm_functions.append(arms)
    words = {"times": cap.times(n), "n": cap.count_word(n)}
    templates = [
        "{who} squats [down ]{times}",
        "{who} does {n} squat" + ("s" if n > 1 else ""),
        "{who} bends [the|their] knees and squats [down ]{times}",
        "{who} [crouches|squats] down and stands back up {times}",
    ]
    return {
        "squats": n,
        "depth": depth,
        "arms": "forward" if arms_forward else "hips",
    }, cap.compose(rng, templates, words)


@solo_action("sit_down_stand_up", 3.5)
def _sit(p: Person, rng: np.random.Generator, duration: float) -> SoloResult:
    t, k, geom = p.t, p.geom.scale, p.geom
    t0 = rng.uniform(0.2, 0.6)
    down, up = rng.uniform(1.0, 1.4), rng.uniform(1.0, 1.4)
    stay = rng.uniform(0.8, 2.5)
    scale = min(1.0, (duration - t0 - 0.3) / (down + up + stay))
    down, up, stay = down * scale, up * scale, stay * scale
    t1, t2, t3 = t0 + down, t0 + down + stay, t0 + down + stay + up
    seated = envelope(t, t0, t1, t2, t3)
    p.end_time = t3
    seat = rng.uniform(0.46, 0.55) * k
    p.channels.add("pelvis_up", -(geom.stand_height - seat) * seated)
    p.channels.add("pelvis_forward", -rng.uniform(0.22, 0.3) * k * seated)
    lean = bump(t, t0, t1 + 0.2) + bump(t, t2 - 0.2, t3)
    p.channels.add("chest_pitch", 0.55 * lean - 0.05 * seated)
    p.channels.add("pelvis_pitch", 0.3 * lean - 0.15 * seated)

    def arms(torso: Torso) -> list[ArmTarget]:
        out = []
        for s in (LEFT, RIGHT):
            knee, hip = torso.joints[:, (4, 5)[s]], torso.joints[:, (1, 2)[s]]
            target = knee + 0.3 * (hip - knee) + np.array([0.0, 0.07 * k, 0.0])
            out.append(
                ArmTarget(s, seated, target, apply(torso.facing, local_vector(s, 0.8, 0.0, -1.0)))
            )
        return out

    p.arm_functions.append(arms)
    templates = [
        "{who} sits down [on a chair|on a seat|] and [then ]stands [back ]up",
        "{who} [takes a seat|sits down], [stays seated|waits] for a moment, and gets [back ]up",
        "{who} lowers [themselves|their body] [into a seated position|onto a chair] and then rises [again|back up]",
        "{who} sits down and gets up again",
    ]
    return {"seat_height": seat, "seated_seconds": stay}, cap.compose(rng, templates, {})


@solo_action("bow")
def _bow(p: Person, rng: np.random.Generator, duration: float) -> SoloResult:
    depth_name = pick(rng, ("slight", "deep"))
    n = int(pick(rng, (1, 2), (0.7, 0.3)))
    t = p.t
    depth = rng.uniform(0.3, 0.5) if depth_name == "slight" else rng.uniform(0.75, 1.05)
    down, hold, up = rng.uniform(0.6, 0.9), rng.uniform(0.2, 0.8), rng.uniform(0.6, 0.9)
    t_cur = rng.uniform(0.2, 0.7)
    period = down + hold + up + rng.uniform(0.2, 0.5)
    n = max(1, min(n, int((duration - t_cur - 0.2) / period)))
    env = np.zeros_like(t)
    for _ in range(n):
        env += envelope(t, t_cur, t_cur + down, t_cur + down + hold, t_cur + down + hold + up)
        p.end_time = t_cur + down + hold + up
        t_cur += period
    p.channels.add("chest_pitch", 0.6 * depth * env)
    p.channels.add("pelvis_pitch", 0.4 * depth * env)
    p.channels.add("pelvis_forward", -0.1 * depth * p.geom.scale * env)
    p.channels.add("head_pitch", 0.2 * env)
    words = {
        "times": cap.times(n) if n > 1 else "",
        "adv": "[slightly|a little|politely]" if depth_name == "slight" else "[deeply|low]",
        "adj": "[slight|small|polite]" if depth_name == "slight" else "[deep|low]",
    }
    templates = [
        "{who} bows {adv} {times}",
        "{who} [bends forward|bows] at the waist {adv} {times}",
        "{who} [gives|makes] a {adj} bow {times}",
        "{who} bows {adv} and [stands|straightens] back up {times}",
    ]
    return {"depth": depth_name, "bows": n, "angle": depth}, cap.compose(rng, templates, words)
