"""Two-person interactions without contact: bowing, circling, following, punch and dodge, waving."""

from __future__ import annotations

import numpy as np

from intersyn.data.procedural.body import (
    LEFT,
    RIGHT,
    SIDE_SIGN,
    apply,
)
from intersyn.data.procedural.gait import (
    make_gait,
    step_to_stances,
    turtle_path,
    walk_path,
)
from intersyn.data.procedural.gestures import add_wave
from intersyn.data.procedural.person import local_vector, shoulder_target
from intersyn.data.procedural.pose import ArmTarget
from intersyn.data.procedural.sampling import PairResult, pair_interaction, pick
from intersyn.data.procedural.scene import (
    Scene,
    place,
    role_captions,
    setup,
    walkers,
)
from intersyn.data.procedural.timing import envelope, ramp


@pair_interaction("bow_to_each_other")
def _bow_to_each_other(scene: Scene, rng: np.random.Generator, budget: float) -> PairResult:
    k = scene.scale
    final = rng.uniform(1.2, 1.9) * k
    mode = pick(rng, ("together", "in_turn"))
    actor = int(rng.integers(2))
    down, hold, up = rng.uniform(0.6, 0.9), rng.uniform(0.3, 0.8), rng.uniform(0.6, 0.9)
    delay = rng.uniform(0.6, 1.2) if mode == "in_turn" else rng.uniform(0.0, 0.15)
    who = pick(rng, ("both", "first", "second"), (0.5, 0.25, 0.25))
    t = scene.t
    t_r = setup(scene, rng, budget, final, down + hold + up + delay, who) + rng.uniform(0.1, 0.4)
    order = (actor, 1 - actor)
    for rank, i in enumerate(order):
        p = scene.people[i]
        t0 = t_r + rank * delay
        env = envelope(t, t0, t0 + down, t0 + down + hold, t0 + down + hold + up)
        depth = rng.uniform(0.5, 1.0)
        p.channels.add("chest_pitch", 0.6 * depth * env)
        p.channels.add("pelvis_pitch", 0.4 * depth * env)
        p.channels.add("pelvis_forward", -0.1 * depth * k * env)
        p.channels.add("head_pitch", 0.2 * env)
        scene.end_time = max(scene.end_time, t0 + down + hold + up)
    if mode == "together":
        templates = [
            (
                "{app}two people bow to each other",
                "{who} {app_a}bows to the other person",
                "{who} {app_b}bows to the other person",
            ),
            (
                "{app}two people bow to each other at the same time",
                "{who} {app_a}bows at the same time as the other",
                "{who} {app_b}bows together with the other person",
            ),
            (
                "{app}the two people face each other and bow politely",
                "{who} {app_a}faces someone and bows",
                "{who} {app_b}faces someone and bows",
            ),
            (
                "{app}two people greet each other with a bow",
                "{who} {app_a}greets the other person with a bow",
                "{who} {app_b}greets the other person with a bow",
            ),
        ]
    else:
        templates = role_captions(
            actor,
            [
                (
                    "{app}one person bows and the other bows back",
                    "{who} {app_a}bows to the other person first",
                    "{who} {app_b}bows back to the other person",
                ),
                (
                    "{app}two people take turns bowing to each other",
                    "{who} {app_a}bows first",
                    "{who} {app_b}returns the bow",
                ),
                (
                    "{app}a person bows to another, who then returns the bow",
                    "{who} {app_a}bows to someone",
                    "{who} {app_b}waits and then bows in return",
                ),
                (
                    "{app}one person bows and the other answers with a bow",
                    "{who} {app_a}bows politely",
                    "{who} {app_b}answers the bow with a bow",
                ),
            ],
        )
    return {"mode": mode, "actor": actor, "approach": who, "distance": final}, templates, {}


@pair_interaction("circle_around", 3.5)
def _circle_around(scene: Scene, rng: np.random.Generator, budget: float) -> PairResult:
    k = scene.scale
    direction = pick(rng, ("clockwise", "counterclockwise"))
    final = rng.uniform(1.2, 2.0) * k
    step_time = rng.uniform(0.3, 0.4)
    step_len = rng.uniform(0.24, 0.34) * k
    setup(scene, rng, budget, final, budget, "none")
    t0 = rng.uniform(0.2, 0.6)
    per_stance = 2 * step_time + 0.1
    n = max(2, int((budget - t0 - 0.5) / per_stance))
    sign = 1.0 if direction == "counterclockwise" else -1.0
    (c0, _), (c1, _) = scene.people[0].feet.stance(), scene.people[1].feet.stance()
    centre = 0.5 * (c0 + c1)
    radius = 0.5 * float(np.linalg.norm(c1 - c0))
    dtheta = step_len / radius
    lead = RIGHT if direction == "counterclockwise" else LEFT
    end = t0
    for p, c in zip(scene.people, (c0, c1)):
        theta0 = float(np.arctan2(c[0] - centre[0], c[1] - centre[1]))
        thetas = theta0 + sign * dtheta * np.arange(1, n + 1)
        centres = centre + radius * np.stack([np.sin(thetas), np.cos(thetas)], -1)
        start = t0 + rng.uniform(0.0, 0.15)
        end = max(
            end,
            step_to_stances(
                p.feet, centres, thetas + np.pi, start, step_time, lead, p.feet.half_width
            ),
        )
    scene.end_time = end
    for p in scene.people:
        p.channels.add(
            "pelvis_up", -0.04 * k * ramp(scene.t, t0 - 0.3, t0)
        )  # slightly crouched stance
    side = "right" if direction == "counterclockwise" else "left"
    words = {"dir": direction, "side": side}
    templates = [
        (
            "two people circle around each other {dir}",
            "{who} steps sideways to the {side}, circling the other person",
            "{who} steps sideways to the {side}, circling the other person",
        ),
        (
            "two people face each other and move in a {dir} circle",
            "{who} faces someone and side steps to the {side} in a circle",
            "{who} faces someone and side steps to the {side} in a circle",
        ),
        (
            "facing each other, two people circle {dir} around a common center",
            "{who} keeps facing the other person while moving around them to the {side}",
            "{who} keeps facing the other person while moving around them to the {side}",
        ),
        (
            "two people side step {dir} around each other",
            "{who} circles {dir} around another person",
            "{who} circles {dir} around another person",
        ),
    ]
    return {"direction": direction, "distance": final, "steps": n}, templates, words


@pair_interaction("follow", 4.0)
def _follow(scene: Scene, rng: np.random.Generator, budget: float) -> PairResult:
    k = scene.scale
    leader = int(rng.integers(2))
    gap = rng.uniform(1.0, 1.6) * k
    turn = pick(rng, ("none", "left", "right"), (0.5, 0.25, 0.25))
    pace = rng.uniform(0.85, 1.1)
    delay = rng.uniform(0.3, 0.9)
    scene.people[:] = place(rng, scene.geoms, scene.t, scene.fps, gap, facing="same", front=leader)
    lead_p, follow_p = scene.people[leader], scene.people[1 - leader]
    gait = make_gait("walk", lead_p.geom, pace)
    gait_f = make_gait("walk", follow_p.geom, pace)
    t0 = rng.uniform(0.2, 0.5)
    total = max(2.0, (budget - t0 - delay - 1.3) * gait.speed)
    (cl, yl) = lead_p.feet.stance()
    if turn == "none":
        pieces = [(total, 0.0)]
    else:
        angle = rng.uniform(np.pi / 3, np.pi / 2) * (1.0 if turn == "left" else -1.0)
        arc = min(rng.uniform(0.9, 1.5) * k * abs(angle), 0.4 * total)
        first = (total - arc) * rng.uniform(0.2, 0.4)
        pieces = [(first, 0.0), (arc, angle), (total - arc - first, 0.0)]
    path, heads = turtle_path(cl, yl, pieces)
    end_l = walk_path(lead_p.feet, path, heads, t0, gait, first_foot=int(rng.integers(2)))
    (cf, yf) = follow_p.feet.stance()
    last = pieces[-1]
    f_pieces = (
        [(gap, 0.0)] + pieces[:-1] + ([(last[0] - gap, last[1])] if last[0] > gap + 0.3 else [])
    )
    path_f, heads_f = turtle_path(cf, yf, f_pieces)
    end_f = walk_path(
        follow_p.feet, path_f, heads_f, t0 + delay, gait_f, first_foot=int(rng.integers(2))
    )
    scene.end_time = max(end_l, end_f)
    follow_p.look_weight = np.full_like(scene.t, 0.6)
    words = {"dir": turn}
    if turn == "none":
        templates = [
            (
                "one person walks forward and the other follows behind",
                "{who} walks forward",
                "{who} follows the other person, walking behind them",
            ),
            (
                "a person walks ahead while another person follows",
                "{who} walks ahead of someone",
                "{who} walks after the person in front",
            ),
            (
                "two people walk one behind the other",
                "{who} leads the way, walking forward",
                "{who} trails behind the other person",
            ),
            (
                "one person leads and the other follows",
                "{who} walks straight ahead",
                "{who} follows right behind the other",
            ),
        ]
    else:
        templates = [
            (
                "one person walks forward and turns {dir}, and the other follows",
                "{who} walks forward and turns {dir}",
                "{who} follows the other person and turns {dir} too",
            ),
            (
                "a person walks and veers {dir} while another person follows behind",
                "{who} walks ahead and veers to the {dir}",
                "{who} walks after the person in front, turning {dir}",
            ),
            (
                "two people walk one behind the other and turn {dir}",
                "{who} leads the way and turns {dir}",
                "{who} trails behind the other person and turns {dir}",
            ),
            (
                "one person leads, turning to the {dir}, and the other follows",
                "{who} walks and curves to the {dir}",
                "{who} follows the other and curves to the {dir}",
            ),
        ]
    return (
        {"leader": leader, "turn": turn, "gap": gap, "delay": delay},
        role_captions(leader, templates),
        words,
    )


@pair_interaction("punch_dodge", 3.0)
def _punch_dodge(scene: Scene, rng: np.random.Generator, budget: float) -> PairResult:
    k = scene.scale
    actor = int(rng.integers(2))
    hand = pick(rng, ("right", "left"))
    dodge = pick(rng, ("lean_back", "duck", "lean_left", "lean_right"))
    s = RIGHT if hand == "right" else LEFT
    final = rng.uniform(0.8, 0.95) * k
    guard_t, out_t, back_t = rng.uniform(0.4, 0.6), rng.uniform(0.14, 0.2), rng.uniform(0.3, 0.4)
    walk_who = walkers(pick(rng, ("both", "actor", "none"), (0.3, 0.3, 0.4)), actor)
    t = scene.t
    t_r = setup(scene, rng, budget, final, guard_t + out_t + back_t + 1.2, walk_who) + rng.uniform(
        0.0, 0.3
    )
    t_p = t_r + guard_t + rng.uniform(0.1, 0.3)
    a, b = scene.people[actor], scene.people[1 - actor]
    guard = envelope(t, t_r, t_r + guard_t, t_p + out_t + back_t, t_p + out_t + back_t + 0.5)
    strike = envelope(t, t_p, t_p + out_t, t_p + out_t + 0.05, t_p + out_t + 0.05 + back_t)
    a.channels.add("chest_yaw", -SIDE_SIGN[s] * 0.3 * strike)
    a.channels.add("chest_pitch", 0.1 * strike)
    t_react = t_p + rng.uniform(0.04, 0.1)
    evade = envelope(t, t_react, t_react + 0.22, t_react + 0.45, t_react + 0.95)
    if dodge == "lean_back":
        b.channels.add("chest_pitch", -0.4 * evade)
        b.channels.add("pelvis_forward", -0.08 * k * evade)
    elif dodge == "duck":
        b.channels.add("pelvis_up", -0.25 * k * evade)
        b.channels.add("chest_pitch", 0.45 * evade)
        b.channels.add("pelvis_forward", -0.06 * k * evade)
    else:
        sign = 1.0 if dodge == "lean_right" else -1.0  # roll > 0 leans right
        b.channels.add("chest_roll", 0.35 * sign * evade)
        b.channels.add("pelvis_left", -0.06 * k * sign * evade)
    frame_p = int(min(len(t) - 1, round(t_p * scene.fps)))

    def arms(torsos):
        out: list[list[ArmTarget]] = [[], []]
        ta, tb = torsos[actor], torsos[1 - actor]
        face = tb.joints[frame_p, 15]
        for side in (LEFT, RIGHT):
            guard_pos = shoulder_target(ta, side, local_vector(side, -0.1 * k, 0.02 * k, 0.24 * k))
            out[actor].append(
                ArmTarget(
                    side, guard, guard_pos, apply(ta.facing, local_vector(side, 0.5, -1.0, -0.2))
                )
            )
        out[actor].append(
            ArmTarget(
                s, strike, np.broadcast_to(face, (len(t), 3)).copy(), None, follow_shoulder=False
            )
        )
        for side in (LEFT, RIGHT):
            cover = shoulder_target(tb, side, local_vector(side, -0.08 * k, 0.0, 0.22 * k))
            out[1 - actor].append(
                ArmTarget(side, evade, cover, apply(tb.facing, local_vector(side, 0.5, -1.0, -0.2)))
            )
        return out

    scene.arm_functions.append(arms)
    scene.end_time = max(t_react + 0.95, t_p + out_t + back_t + 0.5)
    dodge_words = {
        "lean_back": "leans back",
        "duck": "ducks",
        "lean_left": "leans to the left",
        "lean_right": "leans to the right",
    }[dodge]
    words = {"hand": hand, "dodge": dodge_words}
    templates = [
        (
            "one person throws a punch and the other {dodge} to dodge it",
            "{who} punches at the other person with the {hand} fist",
            "{who} {dodge} to dodge a punch",
        ),
        (
            "a person swings a {hand} punch at another person, who {dodge} to avoid it",
            "{who} swings a {hand}-handed punch at someone",
            "{who} avoids a punch and {dodge}",
        ),
        (
            "one person attacks with a {hand} punch and the other person dodges",
            "{who} attacks with the {hand} hand",
            "{who} dodges the punch: the person {dodge}",
        ),
        (
            "two people spar: one punches with the {hand} hand, the other {dodge}",
            "{who} throws a {hand} jab at the other",
            "{who} evades the jab, {dodge_ing}",
        ),
    ]
    words["dodge_ing"] = {
        "lean_back": "leaning back",
        "duck": "ducking",
        "lean_left": "leaning to the left",
        "lean_right": "leaning to the right",
    }[dodge]
    return (
        {"actor": actor, "hand": hand, "dodge": dodge, "approach": walk_who, "distance": final},
        role_captions(actor, templates),
        words,
    )


@pair_interaction("wave_to_each_other")
def _wave_to_each_other(scene: Scene, rng: np.random.Generator, budget: float) -> PairResult:
    k = scene.scale
    actor = int(rng.integers(2))
    hands = [pick(rng, ("right", "left"), (0.7, 0.3)) for _ in range(2)]
    setup(scene, rng, budget, rng.uniform(2.0, 4.0) * k, budget, "none")
    t0 = rng.uniform(0.2, 0.7)
    delay = rng.uniform(0.4, 1.0)
    for rank, i in enumerate((actor, 1 - actor)):
        side = RIGHT if hands[i] == "right" else LEFT
        end = add_wave(scene.people[i], rng, (side,), t0 + rank * delay, int(rng.integers(2, 5)))
        scene.end_time = max(scene.end_time, end)
    words = {"ha": hands[actor], "hb": hands[1 - actor]}
    templates = [
        (
            "two people wave to each other",
            "{who} waves to the other person with the {ha} hand",
            "{who} waves back with the {hb} hand",
        ),
        (
            "one person waves and the other waves back",
            "{who} waves the {ha} hand at someone",
            "{who} answers the wave with the {hb} hand",
        ),
        (
            "two people standing apart greet each other by waving",
            "{who} greets someone from a distance with the {ha} hand",
            "{who} returns the greeting, waving the {hb} hand",
        ),
        (
            "a person waves at another person, who waves in return",
            "{who} raises the {ha} hand and waves",
            "{who} raises the {hb} hand and waves back",
        ),
    ]
    params = {
        "actor": actor,
        "hands": tuple(hands),
        "distance": float(
            np.linalg.norm(scene.people[0].feet.stance()[0] - scene.people[1].feet.stance()[0])
        ),
    }
    return params, role_captions(actor, templates), words
